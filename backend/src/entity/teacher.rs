//! Teacher profiles as written: workplace, experience, photo, and who may write one.

use super::{
    ValidationErrors,
    catalog::lookup_code,
    user::{Principal, StaffPosition, photo_url},
    validation::{in_range, text},
};

pub const WORKPLACE_MAX: usize = 200;
/// Most years of experience a profile states.
pub const YEARS_MAX: i32 = 80;

/// A valid teacher profile, replacing the stored one (or created).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeacherProfileForUpsert {
    /// The specialization `years_in_specialization` counts, by slug; `None`: not classified.
    pub specialization: Option<String>,
    pub workplace: String,
    pub years_experience: i32,
    pub years_in_specialization: i32,
    /// An absolute http(s) URL; `None` shows the account's own photo.
    pub photo_url: Option<String>,
}

impl TeacherProfileForUpsert {
    pub fn parse(
        specialization: Option<&str>,
        workplace: &str,
        years_experience: i64,
        years_in_specialization: i64,
        photo: Option<&str>,
    ) -> Result<Self, ValidationErrors> {
        let mut e = ValidationErrors::default();
        let specialization = e.take_opt(specialization, |s| lookup_code("specialization", s));
        let workplace = e.take(text("workplace", workplace, WORKPLACE_MAX));
        let years = |field: &str, v: i64| {
            in_range(field, v, 0, i64::from(YEARS_MAX)).map(|v| i32::try_from(v).unwrap_or(0))
        };
        let total = e.take(years("years_experience", years_experience));
        let in_spec = e.take(years("years_in_specialization", years_in_specialization));
        let photo_url = e.take_opt(photo, photo_url);
        if let (Some(total), Some(in_spec)) = (total, in_spec)
            && in_spec > total
        {
            e.push(
                "years_in_specialization",
                "must not exceed years_experience",
            );
        }
        e.finish(|| Self {
            specialization,
            workplace: workplace.unwrap_or_default(),
            years_experience: total.unwrap_or_default(),
            years_in_specialization: in_spec.unwrap_or_default(),
            photo_url,
        })
    }
}

/// Admins write any teacher's profile; a teacher writes their own.
pub fn may_write_profile(who: &Principal, teacher_id: i64) -> bool {
    who.can_manage_accounts()
        || (who.is_staff()
            && who.position == Some(StaffPosition::Teacher)
            && who.user_id == teacher_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(
        total: i64,
        in_spec: i64,
        photo: Option<&str>,
    ) -> Result<TeacherProfileForUpsert, ValidationErrors> {
        TeacherProfileForUpsert::parse(Some("backend"), "Acme", total, in_spec, photo)
    }

    #[test]
    fn years_are_bounded_and_consistent() {
        assert!(parse(10, 5, None).is_ok());
        assert!(parse(5, 10, None).is_err());
        assert!(parse(-1, 0, None).is_err());
        assert!(parse(81, 0, None).is_err());
    }

    #[test]
    fn photos_are_http_urls() {
        assert!(parse(1, 1, Some("https://cdn.example/p.png")).is_ok());
        assert!(parse(1, 1, Some("ftp://cdn.example/p.png")).is_err());
        assert!(parse(1, 1, Some("javascript:alert(1)")).is_err());
    }
}
