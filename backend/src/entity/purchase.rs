//! Purchases: what a buyer asks for, the idempotency key that makes the request safe to
//! retry, and the status machine (pending → paid → refunded, pending → cancelled).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{FieldError, ValidationErrors};

/// A plan, by the code the `plans` table gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PlanCode {
    Basic,
    CareerTrack,
    Discounted,
}

impl PlanCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Basic => "basic",
            Self::CareerTrack => "career_track",
            Self::Discounted => "discounted",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "basic" => Self::Basic,
            "career_track" => Self::CareerTrack,
            "discounted" => Self::Discounted,
            _ => return None,
        })
    }
}

/// Where a purchase stands. Pending and paid hold a seat; cancelled and refunded gave it back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PurchaseStatus {
    Pending,
    Paid,
    Cancelled,
    Refunded,
}

impl PurchaseStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Paid => "paid",
            Self::Cancelled => "cancelled",
            Self::Refunded => "refunded",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => Self::Pending,
            "paid" => Self::Paid,
            "cancelled" => Self::Cancelled,
            "refunded" => Self::Refunded,
            _ => return None,
        })
    }

    pub fn holds_seat(self) -> bool {
        matches!(self, Self::Pending | Self::Paid)
    }
}

/// A move of the status machine a client can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    Pay,
    Cancel,
    Refund,
}

/// What asking for a transition from a given status means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransitionOutcome {
    /// Move to this status.
    MoveTo(PurchaseStatus),
    /// Already there (a retried request): answer with the purchase as it is.
    AlreadyDone,
    /// Not a legal move from the current status.
    Illegal,
}

impl Transition {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pay => "pay",
            Self::Cancel => "cancel",
            Self::Refund => "refund",
        }
    }

    pub fn target(self) -> PurchaseStatus {
        match self {
            Self::Pay => PurchaseStatus::Paid,
            Self::Cancel => PurchaseStatus::Cancelled,
            Self::Refund => PurchaseStatus::Refunded,
        }
    }

    /// The status machine: pending → paid | cancelled, paid → refunded. Asking again for the
    /// status a purchase is already in is not an error, so every transition is safe to retry.
    pub fn from_status(self, current: PurchaseStatus) -> TransitionOutcome {
        use PurchaseStatus as S;
        if current == self.target() {
            return TransitionOutcome::AlreadyDone;
        }
        match (self, current) {
            (Self::Pay | Self::Cancel, S::Pending) | (Self::Refund, S::Paid) => {
                TransitionOutcome::MoveTo(self.target())
            }
            _ => TransitionOutcome::Illegal,
        }
    }

    /// Whether completing this move gives the run its seat back.
    pub fn releases_seat(self) -> bool {
        matches!(self, Self::Cancel | Self::Refund)
    }
}

/// The client's `Idempotency-Key`: 1 to 255 visible ASCII characters. Keys are scoped per
/// user, so one client can never collide with another's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub const MAX_LEN: usize = 255;

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let field = "Idempotency-Key";
        if raw.is_empty() || raw.len() > Self::MAX_LEN {
            return Err(FieldError::new(
                field,
                format!("must be 1 to {} characters", Self::MAX_LEN),
            ));
        }
        if !raw.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(FieldError::new(
                field,
                "must be visible ASCII characters without spaces (a UUID works well)",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A valid purchase request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurchaseOrder {
    pub course_run_id: i64,
    pub plan: PlanCode,
}

impl PurchaseOrder {
    pub fn parse(course_run_id: i64, plan: &str) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        if course_run_id < 1 {
            errors.push("course_run_id", "must be a positive id");
        }
        let plan = PlanCode::parse(plan);
        if plan.is_none() {
            errors.push("plan", "must be one of basic, career_track, discounted");
        }
        errors.finish(|| Self {
            course_run_id,
            plan: plan.unwrap_or(PlanCode::Basic),
        })
    }

    /// What identifies the request body behind an idempotency key: a replay must carry the
    /// same one. Stored in `purchases.request_fingerprint` as readable text.
    pub fn fingerprint(&self) -> String {
        format!(
            "course_run_id={};plan={}",
            self.course_run_id,
            self.plan.as_str()
        )
    }
}

/// A purchase as its buyer (and staff) see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Purchase {
    pub id: i64,
    pub user_id: i64,
    pub course_run_id: i64,
    pub course_id: i64,
    pub course_title: String,
    pub plan: PlanCode,
    /// What was charged, in minor units, fixed at purchase time.
    pub final_price: i64,
    pub status: PurchaseStatus,
    pub created_at: DateTime<Utc>,
    pub paid_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub refunded_at: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_machine_moves_forward_and_tolerates_repeats() {
        use PurchaseStatus as S;
        use TransitionOutcome as O;
        assert_eq!(Transition::Pay.from_status(S::Pending), O::MoveTo(S::Paid));
        assert_eq!(Transition::Pay.from_status(S::Paid), O::AlreadyDone);
        assert_eq!(Transition::Pay.from_status(S::Cancelled), O::Illegal);
        assert_eq!(Transition::Pay.from_status(S::Refunded), O::Illegal);
        assert_eq!(
            Transition::Cancel.from_status(S::Pending),
            O::MoveTo(S::Cancelled)
        );
        assert_eq!(Transition::Cancel.from_status(S::Paid), O::Illegal);
        assert_eq!(Transition::Cancel.from_status(S::Cancelled), O::AlreadyDone);
        assert_eq!(
            Transition::Refund.from_status(S::Paid),
            O::MoveTo(S::Refunded)
        );
        assert_eq!(Transition::Refund.from_status(S::Pending), O::Illegal);
        assert_eq!(Transition::Refund.from_status(S::Refunded), O::AlreadyDone);
        assert!(Transition::Cancel.releases_seat() && Transition::Refund.releases_seat());
        assert!(!Transition::Pay.releases_seat());
    }

    #[test]
    fn idempotency_keys_are_bounded_visible_ascii() {
        assert!(IdempotencyKey::parse("8f14e45f-ceea-467f-a0e6-0d9a9b1c2d3e").is_ok());
        assert!(IdempotencyKey::parse("").is_err());
        assert!(IdempotencyKey::parse(&"k".repeat(255)).is_ok());
        assert!(IdempotencyKey::parse(&"k".repeat(256)).is_err());
        assert!(IdempotencyKey::parse("has space").is_err());
        assert!(IdempotencyKey::parse("tab\there").is_err());
        assert!(IdempotencyKey::parse("ключ").is_err());
    }

    #[test]
    fn orders_validate_and_fingerprint_their_body() {
        let order = PurchaseOrder::parse(7, "discounted").expect("valid");
        assert_eq!(order.fingerprint(), "course_run_id=7;plan=discounted");
        assert_ne!(
            order.fingerprint(),
            PurchaseOrder::parse(7, "basic")
                .expect("valid")
                .fingerprint()
        );
        let err = PurchaseOrder::parse(0, "gold").expect_err("invalid");
        assert_eq!(err.0.len(), 2);
    }
}
