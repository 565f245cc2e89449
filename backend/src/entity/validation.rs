//! Field-level validation errors, collected so a client learns about every bad field at once.

use serde::Serialize;
use utoipa::ToSchema;

/// One rejected input field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// The field's name as the client sent it (`email`, `page_size`, `topics[1].name`).
    pub field: String,
    /// What is wrong, in words.
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Every rejected field of one request.
#[derive(Debug, Clone, Default, PartialEq, Eq, thiserror::Error)]
#[error("validation failed: {}", .0.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; "))]
pub struct ValidationErrors(pub Vec<FieldError>);

impl ValidationErrors {
    pub fn single(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self(vec![FieldError::new(field, message)])
    }

    /// Keeps the value of a successful parse, records the error of a failed one.
    pub fn take<T>(&mut self, result: Result<T, FieldError>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                self.0.push(e);
                None
            }
        }
    }

    /// Like [`Self::take`] for an optional input: `None` stays `None` without an error.
    pub fn take_opt<T, U>(
        &mut self,
        input: Option<U>,
        parse: impl FnOnce(U) -> Result<T, FieldError>,
    ) -> Option<T> {
        input.and_then(|v| self.take(parse(v)))
    }

    pub fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(value)` when nothing was rejected.
    pub fn finish<T>(self, value: impl FnOnce() -> T) -> Result<T, Self> {
        if self.0.is_empty() {
            Ok(value())
        } else {
            Err(self)
        }
    }
}

/// What `str::trim` removes and `char::is_whitespace` matches: Unicode White_Space, as
/// inclusive ranges. The OpenAPI patterns are built from it ([`whitespace_class`]), so "not
/// blank" and "no whitespace" mean the same to a client's validator as to this module.
const WHITESPACE: &[(char, char)] = &[
    ('\u{9}', '\u{d}'),
    (' ', ' '),
    ('\u{85}', '\u{85}'),
    ('\u{a0}', '\u{a0}'),
    ('\u{1680}', '\u{1680}'),
    ('\u{2000}', '\u{200a}'),
    ('\u{2028}', '\u{2029}'),
    ('\u{202f}', '\u{202f}'),
    ('\u{205f}', '\u{205f}'),
    ('\u{3000}', '\u{3000}'),
];

/// The body of a regex character class matching [`WHITESPACE`], in `\uXXXX` escapes that
/// ECMA-262 (JSON Schema), Python and Rust regexes all read alike.
pub fn whitespace_class() -> String {
    WHITESPACE
        .iter()
        .map(|&(lo, hi)| {
            if lo == hi {
                format!("\\u{:04X}", u32::from(lo))
            } else {
                format!("\\u{:04X}-\\u{:04X}", u32::from(lo), u32::from(hi))
            }
        })
        .collect()
}

/// A trimmed, non-blank text of at most `max` characters.
pub fn text(field: &str, input: &str, max: usize) -> Result<String, FieldError> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err(FieldError::new(field, "must not be blank"));
    }
    if trimmed.chars().count() > max {
        return Err(FieldError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    Ok(trimmed.to_string())
}

/// A possibly empty text of at most `max` characters.
pub fn long_text(field: &str, input: &str, max: usize) -> Result<String, FieldError> {
    if input.chars().count() > max {
        return Err(FieldError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    Ok(input.trim().to_string())
}

/// An integer within `min..=max`.
pub fn in_range<T: PartialOrd + std::fmt::Display + Copy>(
    field: &str,
    value: T,
    min: T,
    max: T,
) -> Result<T, FieldError> {
    if value < min || value > max {
        return Err(FieldError::new(
            field,
            format!("must be between {min} and {max}"),
        ));
    }
    Ok(value)
}

/// What a URL's host (and port) may be: a DNS name or IPv4 address, an optional port. The
/// OpenAPI pattern of URL fields says the same (`controller::contract`).
pub const URL_AUTHORITY_PATTERN: &str = "[A-Za-z0-9.-]+(:[0-9]{1,5})?";

/// Whether `rest` (a URL after its scheme) starts with a host matching [`URL_AUTHORITY_PATTERN`]
/// and then ends or goes on with a path, query or fragment.
fn plausible_authority(rest: &str) -> bool {
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let (host, port) = match authority.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    };
    !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        && port.is_none_or(|p| (1..=5).contains(&p.len()) && p.chars().all(|c| c.is_ascii_digit()))
}

/// Characters in a URL field.
pub const URL_MAX: usize = 2048;

/// An absolute http(s) URL without whitespace.
pub fn url(field: &str, input: &str) -> Result<String, FieldError> {
    let s = input.trim();
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"));
    match rest {
        Some(rest)
            if plausible_authority(rest)
                && !s.chars().any(char::is_whitespace)
                && s.chars().count() <= URL_MAX =>
        {
            Ok(s.to_string())
        }
        _ => Err(FieldError::new(
            field,
            format!("must be an absolute http(s) URL of at most {URL_MAX} characters"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_and_bounded() {
        assert_eq!(text("name", "  Ada ", 10), Ok("Ada".to_string()));
        assert!(text("name", "   ", 10).is_err());
        assert!(text("name", "abcdefghijk", 10).is_err());
    }

    #[test]
    fn urls_must_be_absolute_http() {
        assert!(url("photo_url", "https://cdn.example/p.png").is_ok());
        assert!(url("photo_url", "ftp://x").is_err());
        assert!(url("photo_url", "https://").is_err());
        assert!(url("photo_url", "https://a b").is_err());
        assert!(url("photo_url", "http://[").is_err());
        assert!(url("photo_url", "http://h:x/").is_err());
        assert!(url("photo_url", "http://127.0.0.1:8080/a?b#c").is_ok());
    }

    #[test]
    fn the_whitespace_ranges_are_exactly_what_trim_removes() {
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            let listed = WHITESPACE.iter().any(|&(lo, hi)| (lo..=hi).contains(&c));
            assert_eq!(listed, c.is_whitespace(), "{:04X}", u32::from(c));
        }
        assert!(whitespace_class().starts_with("\\u0009-\\u000D\\u0020"));
    }

    #[test]
    fn errors_are_collected() {
        let mut errors = ValidationErrors::default();
        let a = errors.take(text("a", "", 5));
        let b = errors.take(in_range("b", 7, 1, 5));
        assert!(a.is_none() && b.is_none());
        assert_eq!(errors.0.len(), 2);
    }
}
