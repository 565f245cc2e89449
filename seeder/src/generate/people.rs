//! Users and teacher profiles.
//!
//! Staff are 1.5 % of users, spread evenly over the id range (hired over the platform's
//! life). Users register more often as the platform grows: the registration time has a
//! density that rises linearly over the four years of history.

use fake::{
    Fake,
    faker::{
        company::en::CompanyName,
        name::en::{FirstName, LastName},
        phone_number::en::PhoneNumber,
    },
    rand::RngExt,
};

use super::{DEACTIVATED_DOMAIN, RowSink, World, text};
use crate::{
    accounts::Position,
    copy::{RowWriter, Stopped},
    plan::{Counts, DAY, Timeline},
    rng::{SeedRng, shuffle},
};

/// What other tables need to know about a user.
#[derive(Debug, Clone, Copy)]
pub struct User {
    pub created: i64,
    pub position: Option<Position>,
}

/// Users in id order (`id = index + 1`) with registration times ascending.
pub(super) fn build_users(counts: &Counts, time: &Timeline, rng: &mut SeedRng) -> Vec<User> {
    let n = counts.users as usize;
    let span = (time.now - time.start - DAY) as f64;
    let mut created: Vec<i64> = (0..n)
        .map(|_| time.start + (span * rng.random::<f64>().sqrt()) as i64)
        .collect();
    created.sort_unstable();

    let mut positions = Vec::with_capacity(counts.staff() as usize);
    for (position, count) in [
        (Position::Teacher, counts.teachers),
        (Position::Mentor, counts.mentors),
        (Position::Reviewer, counts.reviewers),
        (Position::Support, counts.support),
        (Position::Smm, counts.smm),
        (Position::Admin, counts.admins),
    ] {
        positions.extend(std::iter::repeat_n(position, count as usize));
    }
    shuffle(rng, &mut positions);
    let mut users: Vec<User> = created
        .into_iter()
        .map(|created| User {
            created,
            position: None,
        })
        .collect();
    let staff = positions.len();
    for (j, position) in positions.into_iter().enumerate() {
        users[j * n / staff].position = Some(position);
    }
    users
}

pub(super) const USER_COLUMNS: &[&str] = &[
    "id",
    "email",
    "password_hash",
    "first_name",
    "last_name",
    "birth_date",
    "phone",
    "photo_url",
    "national_id",
    "role",
    "staff_position",
    "created_at",
    "updated_at",
    "tokens_valid_from",
    "deactivated_at",
];

pub(super) fn write_users<S: RowSink>(
    world: &World,
    rng: &mut SeedRng,
    out: &mut RowWriter<S>,
) -> Result<(), Stopped> {
    let time = &world.time;
    let known: std::collections::HashMap<u32, usize> = world
        .known
        .iter()
        .enumerate()
        .map(|(i, k)| (k.user_id, i))
        .collect();
    const DOMAINS: [&str; 3] = ["example.com", "example.net", "example.org"];
    let mut email = String::with_capacity(64);
    for (i, (user, life)) in world.users.iter().zip(&world.lifecycle).enumerate() {
        let id = i as u32 + 1;
        let first: String = FirstName().fake_with_rng(rng);
        let last: String = LastName().fake_with_rng(rng);
        let (hash, address) = match known.get(&id) {
            Some(&k) => (
                world.password_hashes[world.known[k].password].as_str(),
                world.known[k].email.as_str(),
            ),
            None => {
                email.clear();
                push_slug(&mut email, &first);
                email.push('.');
                push_slug(&mut email, &last);
                email.push_str(&id.to_string());
                email.push('@');
                let domain = DOMAINS[rng.random_range(0..DOMAINS.len())];
                // Kept out of the load generator's `%@example.%` (see `lifecycle`).
                email.push_str(match life.deactivated {
                    Some(_) => DEACTIVATED_DOMAIN,
                    None => domain,
                });
                (world.password_hashes[0].as_str(), email.as_str())
            }
        };
        let age_years = match user.position {
            Some(_) => rng.random_range(23.0..62.0),
            // Students: mostly in their twenties and thirties, a long tail up to 65.
            None => 17.0 + (-rng.random::<f64>().max(1e-9).ln() * 11.0).min(48.0),
        };
        let birth = time.now_day() - (age_years * 365.25) as i32 - rng.random_range(0..365);
        let phone: Option<String> = rng
            .random_bool(0.7)
            .then(|| PhoneNumber().fake_with_rng(rng));
        let photo = rng
            .random_bool(0.6)
            .then(|| format!("https://cdn.lyceum.test/avatars/{id}.jpg"));
        // A bijection on 0..10^9 (3^18 is coprime with 10^9): unique, yet not sequential.
        let national = rng
            .random_bool(0.7)
            .then(|| format!("{:09}", (u64::from(id) * 387_420_489) % 1_000_000_000));
        let updated = user.created + rng.random_range(0..=(time.now - user.created) / 3);
        // The `users_set_updated_at` trigger stamps a password change or a deactivation too
        // (`tokens_valid_from` is one second after either).
        let updated = updated.max(life.tokens_valid_from.map_or(i64::MIN, |t| t - 1));
        out.begin()
            .i64(i64::from(id))
            .text(address)
            .text(hash)
            .text(&first)
            .text(&last)
            .date(birth)
            .opt_text(phone.as_deref())
            .opt_text(photo.as_deref())
            .opt_text(national.as_deref())
            .text(if user.position.is_some() {
                "staff"
            } else {
                "student"
            })
            .opt_text(user.position.map(Position::code))
            .ts(user.created)
            .ts(updated)
            .opt_ts(life.tokens_valid_from)
            .opt_ts(life.deactivated);
        out.end()?;
    }
    Ok(())
}

/// Lowercase ASCII letters and digits of `name` (drops apostrophes, spaces, accents).
fn push_slug(out: &mut String, name: &str) {
    out.extend(
        name.chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase()),
    );
}

pub(super) const TEACHER_PROFILE_COLUMNS: &[&str] = &[
    "user_id",
    "specialization_id",
    "workplace",
    "years_experience",
    "years_in_specialization",
    "photo_url",
    "created_at",
    "updated_at",
];

pub(super) fn write_teacher_profiles<S: RowSink>(
    world: &World,
    rng: &mut SeedRng,
    out: &mut RowWriter<S>,
) -> Result<(), Stopped> {
    for &(user_id, spec) in &world.teachers {
        let user = &world.users[user_id as usize - 1];
        let workplace: String = if rng.random_bool(0.2) {
            text::STAFF_WORKPLACE.to_string()
        } else {
            CompanyName().fake_with_rng(rng)
        };
        let years = rng.random_range(2..=30);
        let in_spec = rng.random_range(1..=years);
        // One profile in twenty is not classified yet.
        let spec = (!rng.random_bool(0.05)).then_some(i32::from(spec) + 1);
        let created = (user.created + rng.random_range(0..=7 * DAY)).min(world.time.now);
        let updated = created + rng.random_range(0..=(world.time.now - created) / 2);
        out.begin().i64(i64::from(user_id));
        match spec {
            Some(s) => out.i32(s),
            None => out.null(),
        };
        out.text(&workplace)
            .i32(years)
            .i32(in_spec)
            .opt_text(
                rng.random_bool(0.9)
                    .then(|| format!("https://cdn.lyceum.test/teachers/{user_id}.jpg"))
                    .as_deref(),
            )
            .ts(created)
            .ts(updated);
        out.end()?;
    }
    Ok(())
}
