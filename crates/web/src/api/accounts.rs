//! Public account requests: a password reset link, and sign-up where the
//! installation allows it. Both answer the same whether or not the address
//! has an account, so neither tells anyone who has one.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use schemars::JsonSchema;
use serde::Deserialize;

use super::wire::accounts::Accepted;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::AppState;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
    pub email: String,
}

pub const RESET_ANSWER: &str =
    "If an account has this address, a link to choose a new password is on its way; it works once, for one hour.";
pub const SIGNUP_ANSWER: &str =
    "Check your mail: the link in it creates your account and organization; nothing exists until you follow it.";

pub async fn request_reset(
    State(s): State<AppState>,
    ApiJson(b): ApiJson<ResetRequest>,
) -> ApiResult<(StatusCode, Json<Accepted>)> {
    s.accounts().request_password_reset(&b.email).await?;
    s.job_waker.notify_one();
    Ok((
        StatusCode::ACCEPTED,
        Json(Accepted {
            message: RESET_ANSWER,
        }),
    ))
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SignupRequest {
    pub email: String,
    /// Short unique name of the new organization: a-z, 0-9 and '-'.
    pub org_slug: String,
    pub org_name: String,
}

pub async fn request_signup(
    State(s): State<AppState>,
    ApiJson(b): ApiJson<SignupRequest>,
) -> ApiResult<(StatusCode, Json<Accepted>)> {
    if !s.config.allow_signup {
        return Err(ApiError::NotFound("route"));
    }
    s.accounts()
        .request_signup(&b.email, &b.org_slug, &b.org_name)
        .await?;
    s.job_waker.notify_one();
    Ok((
        StatusCode::ACCEPTED,
        Json(Accepted {
            message: SIGNUP_ANSWER,
        }),
    ))
}
