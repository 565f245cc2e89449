//! Admin edits of the lookup tables (specializations, difficulty levels): the valid new and
//! changed rows and the rules their fields follow, the same rules the table's CHECKs state.

use super::{
    ValidationErrors,
    catalog::CODE_MAX,
    validation::{FieldError, in_range, long_text, text},
};

/// Specialization and difficulty names (characters, trimmed).
pub const LOOKUP_NAME_MAX: usize = 100;
/// A specialization's description (characters; may be empty).
pub const LOOKUP_DESCRIPTION_MAX: usize = 2_000;
/// Difficulty `sort_order`: 1 (easiest) up to this.
pub const SORT_ORDER_MAX: i16 = 1_000;
/// `specializations_slug_format`: lowercase words of letters and digits joined by single hyphens.
pub const SLUG_PATTERN: &str = "^[a-z0-9]+(-[a-z0-9]+)*$";
/// `difficulty_levels_code_format`: a lowercase letter, then lowercase letters, digits, `_`.
pub const LEVEL_CODE_PATTERN: &str = "^[a-z][a-z0-9_]*$";

/// The two lookup tables admins edit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LookupTable {
    Specialization,
    DifficultyLevel,
}

/// A valid new specialization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecializationForCreate {
    pub slug: String,
    pub name: String,
    pub description: String,
}

/// Specialization changes; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpecializationForUpdate {
    pub slug: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
}

impl SpecializationForUpdate {
    /// Whether courses' pages show something this change touches (their specialization's
    /// slug and name).
    pub fn changes_course_pages(&self) -> bool {
        self.slug.is_some() || self.name.is_some()
    }
}

/// A valid new difficulty level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DifficultyForCreate {
    pub code: String,
    pub name: String,
    pub sort_order: i16,
}

/// Difficulty level changes; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DifficultyForUpdate {
    pub code: Option<String>,
    pub name: Option<String>,
    pub sort_order: Option<i16>,
}

impl DifficultyForUpdate {
    /// Whether course pages or list orders show something this change touches.
    pub fn changes_course_pages(&self) -> bool {
        self.code.is_some() || self.name.is_some() || self.sort_order.is_some()
    }
}

impl SpecializationForCreate {
    pub fn parse(slug: &str, name: &str, description: &str) -> Result<Self, ValidationErrors> {
        let mut e = ValidationErrors::default();
        let slug = e.take(specialization_slug(slug));
        let name = e.take(lookup_name(name));
        let description = e.take(lookup_description(description));
        match (slug, name, description) {
            (Some(slug), Some(name), Some(description)) => Ok(Self {
                slug,
                name,
                description,
            }),
            _ => Err(e),
        }
    }
}

impl SpecializationForUpdate {
    pub fn parse(
        slug: Option<&str>,
        name: Option<&str>,
        description: Option<&str>,
    ) -> Result<Self, ValidationErrors> {
        let mut e = ValidationErrors::default();
        let slug = e.take_opt(slug, specialization_slug);
        let name = e.take_opt(name, lookup_name);
        let description = e.take_opt(description, lookup_description);
        e.finish(|| Self {
            slug,
            name,
            description,
        })
    }
}

impl DifficultyForCreate {
    pub fn parse(code: &str, name: &str, sort_order: i64) -> Result<Self, ValidationErrors> {
        let mut e = ValidationErrors::default();
        let code = e.take(level_code(code));
        let name = e.take(lookup_name(name));
        let sort_order = e.take(self::sort_order(sort_order));
        match (code, name, sort_order) {
            (Some(code), Some(name), Some(sort_order)) => Ok(Self {
                code,
                name,
                sort_order,
            }),
            _ => Err(e),
        }
    }
}

impl DifficultyForUpdate {
    pub fn parse(
        code: Option<&str>,
        name: Option<&str>,
        sort_order: Option<i64>,
    ) -> Result<Self, ValidationErrors> {
        let mut e = ValidationErrors::default();
        let code = e.take_opt(code, level_code);
        let name = e.take_opt(name, lookup_name);
        let sort_order = e.take_opt(sort_order, self::sort_order);
        e.finish(|| Self {
            code,
            name,
            sort_order,
        })
    }
}

/// [`SLUG_PATTERN`], at most [`CODE_MAX`] characters; not trimmed (a slug is an identifier).
pub fn specialization_slug(input: &str) -> Result<String, FieldError> {
    let words_ok = input.split('-').all(|w| {
        !w.is_empty()
            && w.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    });
    if input.is_empty() || input.len() > CODE_MAX || !words_ok {
        return Err(FieldError::new(
            "slug",
            format!(
                "must be lowercase letters and digits in words joined by single hyphens, \
                 at most {CODE_MAX} characters (like data-science)"
            ),
        ));
    }
    Ok(input.to_owned())
}

/// [`LEVEL_CODE_PATTERN`], at most [`CODE_MAX`] characters.
pub fn level_code(input: &str) -> Result<String, FieldError> {
    let mut bytes = input.bytes();
    let first_ok = bytes.next().is_some_and(|b| b.is_ascii_lowercase());
    let rest_ok = bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !first_ok || !rest_ok || input.len() > CODE_MAX {
        return Err(FieldError::new(
            "code",
            format!(
                "must start with a lowercase letter followed by lowercase letters, digits or _, \
                 at most {CODE_MAX} characters (like intermediate)"
            ),
        ));
    }
    Ok(input.to_owned())
}

pub fn lookup_name(input: &str) -> Result<String, FieldError> {
    text("name", input, LOOKUP_NAME_MAX)
}

pub fn lookup_description(input: &str) -> Result<String, FieldError> {
    long_text("description", input, LOOKUP_DESCRIPTION_MAX)
}

pub fn sort_order(v: i64) -> Result<i16, FieldError> {
    let v = in_range("sort_order", v, 1, i64::from(SORT_ORDER_MAX))?;
    i16::try_from(v).map_err(|_| FieldError::new("sort_order", "out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_follow_the_table_check() {
        assert!(specialization_slug("data-science").is_ok());
        assert!(specialization_slug("web3").is_ok());
        for bad in [
            "",
            "-a",
            "a-",
            "a--b",
            "Data",
            "a_b",
            "a b",
            &"a".repeat(101),
        ] {
            assert!(specialization_slug(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn level_codes_follow_the_table_check() {
        assert!(level_code("expert_2").is_ok());
        for bad in ["", "2x", "_a", "Expert", "a-b", &"a".repeat(101)] {
            assert!(level_code(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn every_field_error_is_reported_at_once() {
        let err = DifficultyForCreate::parse("", " ", 0).expect_err("invalid");
        assert_eq!(err.0.len(), 3);
        assert!(DifficultyForUpdate::parse(None, None, Some(1_001)).is_err());
        assert!(
            !SpecializationForUpdate::parse(None, None, Some("x"))
                .expect("valid")
                .changes_course_pages()
        );
    }
}
