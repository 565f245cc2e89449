//! A newcomer: registers, reads and edits their profile, renews the session with the refresh
//! token, sometimes changes the password, and logs out. Each lifecycle is a new account, so no
//! other journey's session is ended by it.
//!
//! The log out and the password change go into the ledger ([`Change::LoggedOut`],
//! [`Change::PasswordChanged`]): after the run the token must still be revoked.
//!
//! The API limits registrations per client address (`auth.registrations_per_address`), and this
//! generator is one address: past the limit a registration answers 429, which counts as a normal
//! answer here and ends that lifecycle. Benchmarks raise or lift the limit (docs/LOADTEST.md).

use std::sync::Arc;

use goose::prelude::*;
use rand::Rng;
use serde_json::{Value, json};

use super::{Context, StepFuture, think, transaction};
use crate::{
    api::{self, Call, Reply},
    ledger::Change,
};

pub fn scenario(
    ctx: &Arc<Context>,
    weight: usize,
    think_scale: f64,
) -> Result<Scenario, GooseError> {
    Ok(
        super::scenario(ctx, "account", weight, think(2000, 6000, think_scale))?
            .register_transaction(transaction(ctx, "account: lifecycle", lifecycle)),
    )
}

const FIRST_NAMES: &[&str] = &["Ada", "Grace", "Alan", "Edsger", "Barbara", "Ken", "Radia"];
const LAST_NAMES: &[&str] = &[
    "Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Perlman",
];

/// A session as the newcomer holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tokens {
    pub access: String,
    pub refresh: String,
    pub user_id: i64,
}

/// The tokens of a login, registration, refresh or password change answer.
pub fn tokens(body: &Value) -> Option<Tokens> {
    Some(Tokens {
        access: body.get("access_token")?.as_str()?.to_owned(),
        refresh: body.get("refresh_token")?.as_str()?.to_owned(),
        user_id: body.get("user")?.get("id")?.as_i64()?,
    })
}

/// The JWT's signature part: the name `revoked_tokens` gives it.
pub fn signature(access_token: &str) -> &str {
    access_token.rsplit('.').next().unwrap_or_default()
}

fn unix_now() -> f64 {
    chrono::Utc::now().timestamp_micros() as f64 / 1e6
}

/// Sends one request of the lifecycle with the session's access token.
async fn as_me(
    user: &mut GooseUser,
    ctx: &Context,
    me: &Tokens,
    call: Call<'_>,
) -> Result<Reply, Box<TransactionError>> {
    api::send(user, &ctx.recorder, call.token(&me.access)).await
}

fn lifecycle<'u>(user: &'u mut GooseUser, ctx: Arc<Context>) -> StepFuture<'u> {
    Box::pin(async move {
        let (email, first, last, year, change_password) = {
            let mut rng = rand::rng();
            (
                format!("newcomer.{:016x}@load.lyceum.test", rng.random::<u64>()),
                FIRST_NAMES[rng.random_range(0..FIRST_NAMES.len())],
                LAST_NAMES[rng.random_range(0..LAST_NAMES.len())],
                rng.random_range(1960..2006),
                rng.random_bool(0.3),
            )
        };
        let password = "newcomer-password";
        // 429: the per-address registration limit (one generator stands for many visitors).
        let registered = api::send(
            user,
            &ctx.recorder,
            Call::write(
                "account: register",
                GooseMethod::Post,
                "/api/v1/auth/register",
            )
            .json(json!({
                "email": email,
                "password": password,
                "first_name": first,
                "last_name": last,
                "birth_date": format!("{year}-04-17"),
            }))
            .expect(&[429]),
        )
        .await?;
        let Some(mut me) = tokens(&registered.body) else {
            return Ok(());
        };

        as_me(user, &ctx, &me, Call::get("account: profile", "/api/v1/me")).await?;
        let photo_url = format!("https://img.lyceum.test/u/{}.png", me.user_id);
        let edited = as_me(
            user,
            &ctx,
            &me,
            Call::write("account: edit profile", GooseMethod::Patch, "/api/v1/me")
                .json(json!({"photo_url": photo_url})),
        )
        .await?;
        if edited.is_success() {
            ctx.ledger.changed(Change::ProfileEdited {
                user_id: me.user_id,
                photo_url,
            });
        }

        // A refresh token works once: the answer carries the next one. An answer lost to a
        // failover leaves the session unknown, and the lifecycle ends there (a client logs in
        // again).
        let refreshed = api::send(
            user,
            &ctx.recorder,
            Call::write(
                "account: refresh",
                GooseMethod::Post,
                "/api/v1/auth/refresh",
            )
            .json(json!({"refresh_token": me.refresh})),
        )
        .await?;
        let Some(next) = tokens(&refreshed.body) else {
            return Ok(());
        };
        me = next;

        if change_password {
            let sent_at = unix_now();
            let changed = as_me(
                user,
                &ctx,
                &me,
                Call::write(
                    "account: change password",
                    GooseMethod::Post,
                    "/api/v1/me/password",
                )
                .json(json!({"current_password": password, "new_password": "newcomer-password-2"})),
            )
            .await?;
            let Some(next) = tokens(&changed.body) else {
                return Ok(());
            };
            ctx.ledger.changed(Change::PasswordChanged {
                user_id: me.user_id,
                sent_at,
            });
            me = next;
        }

        let out = as_me(
            user,
            &ctx,
            &me,
            Call::write("account: log out", GooseMethod::Post, "/api/v1/auth/logout"),
        )
        .await?;
        if out.is_success() {
            ctx.ledger.changed(Change::LoggedOut {
                user_id: me.user_id,
                signature: signature(&me.access).to_owned(),
                refresh_token: me.refresh.clone(),
            });
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_need_both_tokens_and_the_user() {
        let body = json!({"access_token": "h.p.s", "refresh_token": "r", "user": {"id": 4}});
        assert_eq!(
            tokens(&body),
            Some(Tokens {
                access: "h.p.s".into(),
                refresh: "r".into(),
                user_id: 4
            })
        );
        assert_eq!(
            tokens(&json!({"access_token": "h.p.s", "user": {"id": 4}})),
            None
        );
    }

    #[test]
    fn the_signature_is_the_last_part() {
        assert_eq!(signature("header.payload.sig-nature"), "sig-nature");
    }
}
