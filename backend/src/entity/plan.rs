//! Plans (basic, career track, discounted) and the one price rule: what a plan charges for a
//! course. The purchase charges with [`charge`], and every price the API shows (the plan list,
//! the course page and each of its runs) comes from the same function, so the price shown is
//! the price charged.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::purchase::PlanCode;

/// The share of the base price a plan keeps, in whole percent: 100 less the discount,
/// the discount clamped to 0..=100.
pub fn percent_of_base_price(discount_percent: i16) -> i64 {
    100 - i64::from(discount_percent.clamp(0, 100))
}

/// The price charged for a course on a plan: the course price less the plan's discount,
/// rounded down to a minor unit. Integer arithmetic only.
pub fn charge(base_price: i64, discount_percent: i16) -> i64 {
    base_price * percent_of_base_price(discount_percent) / 100
}

/// A plan as the `plans` table holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Plan {
    pub code: PlanCode,
    pub name: String,
    /// Percent taken off the course price (0–100).
    pub discount_percent: i16,
    /// Whether the plan includes a career track after graduation.
    pub includes_career_support: bool,
    /// What the plan charges, in percent of the course price: a purchase on this plan costs
    /// `floor(price × percent_of_base_price / 100)` minor units.
    pub percent_of_base_price: i64,
}

impl Plan {
    pub fn new(
        code: PlanCode,
        name: String,
        discount_percent: i16,
        includes_career_support: bool,
    ) -> Self {
        Self {
            code,
            name,
            discount_percent,
            includes_career_support,
            percent_of_base_price: percent_of_base_price(discount_percent),
        }
    }

    /// What a purchase of a course of `base_price` on this plan charges.
    pub fn price_of(&self, base_price: i64) -> PlanPrice {
        PlanPrice {
            plan: self.code,
            name: self.name.clone(),
            price: charge(base_price, self.discount_percent),
        }
    }
}

/// What one plan costs for one course, in minor units: exactly what a purchase charges.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PlanPrice {
    pub plan: PlanCode,
    pub name: String,
    pub price: i64,
}

/// Every plan's price for a course of `base_price`, in the plans' order.
pub fn prices(base_price: i64, plans: &[Plan]) -> Vec<PlanPrice> {
    plans.iter().map(|p| p.price_of(base_price)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charge_applies_the_discount_in_integers() {
        assert_eq!(charge(10_000, 0), 10_000);
        assert_eq!(charge(10_000, 20), 8_000);
        assert_eq!(charge(999, 20), 799);
        assert_eq!(charge(999, 100), 0);
        assert_eq!(charge(999, -5), 999);
    }

    #[test]
    fn a_plan_price_is_the_charge() {
        let plan = Plan::new(PlanCode::Discounted, "Discounted".into(), 20, false);
        assert_eq!(plan.percent_of_base_price, 80);
        assert_eq!(plan.price_of(999).price, charge(999, 20));
    }
}
