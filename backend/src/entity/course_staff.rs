//! Course staff: the teachers, mentors and reviewers of a course, and who may assign them.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::user::{Principal, StaffPosition};

/// What a person does on one course. Each role needs the staff position of the same name:
/// only a teacher teaches, only a mentor mentors, only a reviewer reviews.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CourseRole {
    Teacher,
    Mentor,
    Reviewer,
}

impl CourseRole {
    pub const ALL: [Self; 3] = [Self::Teacher, Self::Mentor, Self::Reviewer];

    /// The name stored in `course_staff.role`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Teacher => "teacher",
            Self::Mentor => "mentor",
            Self::Reviewer => "reviewer",
        }
    }

    /// The staff position a person needs to hold this role.
    pub fn position(self) -> StaffPosition {
        match self {
            Self::Teacher => StaffPosition::Teacher,
            Self::Mentor => StaffPosition::Mentor,
            Self::Reviewer => StaffPosition::Reviewer,
        }
    }

    /// The course role a staff position may hold, if any (support, smm and admins hold none).
    pub fn for_position(position: StaffPosition) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.position() == position)
    }
}

/// Who may assign or remove people in `role` on a course: admins for every role; the
/// course's own teachers (`teaches_course`) for its mentors and reviewers, whom they work
/// with, but not for its teachers.
pub fn may_manage(who: &Principal, teaches_course: bool, role: CourseRole) -> bool {
    if who.can_manage_course_staff() {
        return true;
    }
    teaches_course && who.position == Some(StaffPosition::Teacher) && role != CourseRole::Teacher
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entity::user::Role;

    fn staff(position: StaffPosition) -> Principal {
        Principal {
            user_id: 1,
            role: Role::Staff,
            position: Some(position),
        }
    }

    #[test]
    fn roles_need_their_own_position() {
        for role in CourseRole::ALL {
            assert_eq!(CourseRole::for_position(role.position()), Some(role));
        }
        for other in [
            StaffPosition::Admin,
            StaffPosition::Support,
            StaffPosition::Smm,
        ] {
            assert_eq!(CourseRole::for_position(other), None);
        }
    }

    #[test]
    fn admins_manage_every_role_teachers_only_their_courses_helpers() {
        let admin = staff(StaffPosition::Admin);
        let teacher = staff(StaffPosition::Teacher);
        for role in CourseRole::ALL {
            assert!(may_manage(&admin, false, role));
            assert!(!may_manage(&teacher, false, role), "not their course");
            assert!(!may_manage(&staff(StaffPosition::Mentor), true, role));
            assert!(!may_manage(&staff(StaffPosition::Support), true, role));
        }
        assert!(may_manage(&teacher, true, CourseRole::Mentor));
        assert!(may_manage(&teacher, true, CourseRole::Reviewer));
        assert!(!may_manage(&teacher, true, CourseRole::Teacher));
        let student = Principal {
            user_id: 2,
            role: Role::Student,
            position: None,
        };
        assert!(!may_manage(&student, true, CourseRole::Mentor));
    }
}
