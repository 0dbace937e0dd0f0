//! `GET`, `PATCH /api/accounts/me`: the signed-in customer's profile as JSON, the same data
//! and the same rules as the portal's profile page (`portal::account`): name, phone,
//! language, and where to be told (`notify_by`, the one `bureau_platform::notify_by` type
//! and rule the notifier follows), with what the rule makes of it right now
//! (`notices_go_to`) and the address's state (verified, bouncing).

use axum::extract::State;
use axum::routing::get;
use axum::{Json as JsonBody, Router};
use bureau_accounts as accounts;
use bureau_platform::notify_by::{Channel, NotifyBy};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::Customer;
use super::extract::Json;
use super::openapi::ErrorBody;
use super::{AppState, Error};
use crate::office::i18n::Lang;
use crate::queries::portal::{self as reads, ProfileChange};

pub fn router() -> Router<AppState> {
    Router::new().route("/api/accounts/me", get(me).patch(change_me))
}

/// `notify_by`: where the customer prefers to hear about their orders.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)] // Documentation of `NotifyBy`'s JSON form.
pub(crate) enum NotifyByValue {
    /// Telegram when there is a reachable chat, otherwise e-mail.
    Auto,
    /// Telegram only, never e-mail.
    Telegram,
    /// E-mail while the address is verified and takes our mail; Telegram otherwise.
    Email,
}

/// Where the next notice would go, by the rule.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)] // Documentation of `Channel`'s JSON form.
pub(crate) enum ChannelValue {
    Telegram,
    Email,
    /// Neither is usable: only the order pages show the notice.
    Nowhere,
}

/// The customer's profile.
#[derive(Serialize, ToSchema)]
pub(crate) struct ProfileView {
    display_name: String,
    email: String,
    /// The owner followed a verification link.
    email_verified: bool,
    /// A mail server refused the address for good: no order notice is e-mailed to it until
    /// it is verified again.
    email_bouncing: bool,
    phone: Option<String>,
    /// `uk` or `en`.
    language: String,
    #[schema(value_type = NotifyByValue)]
    notify_by: NotifyBy,
    #[schema(value_type = ChannelValue)]
    notices_go_to: Channel,
    telegram_linked: bool,
}

/// What to change; absent fields stay as they are.
#[derive(Deserialize, ToSchema)]
pub(crate) struct ProfilePatch {
    display_name: Option<String>,
    /// 7 to 15 digits with spaces, dashes, dots, brackets and a leading `+`; `""` removes it.
    phone: Option<String>,
    /// `uk` or `en`.
    language: Option<String>,
    /// `auto`, `telegram` or `email`; anything else is refused (422 `invalid_notify_by`).
    notify_by: Option<String>,
}

async fn load(state: &AppState, account_id: uuid::Uuid) -> Result<reads::Profile, Error> {
    reads::profile(&state.pool, account_id)
        .await?
        .ok_or(Error::NotFound("No profile for this account."))
}

fn view(state: &AppState, profile: reads::Profile) -> ProfileView {
    ProfileView {
        notices_go_to: profile.notices_go_to(state.account_mail.enabled()),
        notify_by: profile.notify_by(),
        telegram_linked: profile.telegram_user_id.is_some(),
        email_verified: profile.email_verified_at.is_some(),
        email_bouncing: profile.email_bouncing_at.is_some(),
        display_name: profile.display_name,
        email: profile.email,
        phone: profile.phone,
        language: profile.language,
    }
}

/// The signed-in customer's profile.
#[utoipa::path(
    get,
    path = "/api/accounts/me",
    tag = "accounts",
    security(("session" = [])),
    responses(
        (status = 200, description = "The profile", body = ProfileView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "A staff account", body = ErrorBody),
    )
)]
pub(crate) async fn me(
    State(state): State<AppState>,
    Customer(account): Customer,
) -> Result<JsonBody<ProfileView>, Error> {
    let profile = load(&state, account.id).await?;
    Ok(JsonBody(view(&state, profile)))
}

/// Change the profile: name, phone, language, where to be told.
#[utoipa::path(
    patch,
    path = "/api/accounts/me",
    tag = "accounts",
    security(("session" = [])),
    request_body = ProfilePatch,
    responses(
        (status = 200, description = "Changed; the profile as it is now", body = ProfileView),
        (status = 422, description = "A value that breaks its rule (`invalid_display_name`, `invalid_phone`, `invalid_language`, `invalid_notify_by`)", body = ErrorBody),
        (status = 400, description = "The body is not JSON", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "A staff account", body = ErrorBody),
    )
)]
pub(crate) async fn change_me(
    State(state): State<AppState>,
    Customer(account): Customer,
    Json(patch): Json<ProfilePatch>,
) -> Result<JsonBody<ProfileView>, Error> {
    let current = load(&state, account.id).await?;
    let display_name = match &patch.display_name {
        Some(name) => accounts::DisplayName::parse(name)
            .map_err(|e| Error::unprocessable("invalid_display_name", e))?
            .as_str()
            .to_owned(),
        None => current.display_name.clone(),
    };
    let phone = match &patch.phone {
        Some(phone) => crate::portal::phone(phone).map_err(|()| {
            Error::unprocessable(
                "invalid_phone",
                "A phone number has 7 to 15 digits; spaces, dashes, brackets and a leading + are fine.",
            )
        })?,
        None => current.phone.clone(),
    };
    let language = match &patch.language {
        Some(code) => Lang::parse(code)
            .ok_or_else(|| Error::unprocessable("invalid_language", "The language is uk or en."))?
            .code()
            .to_owned(),
        None => current.language.clone(),
    };
    let notify_by = match &patch.notify_by {
        Some(value) => NotifyBy::parse(value).ok_or_else(|| {
            Error::unprocessable(
                "invalid_notify_by",
                "notify_by is one of auto, telegram or email.",
            )
        })?,
        None => current.notify_by(),
    };
    reads::update_profile(
        &state.pool,
        account.id,
        ProfileChange {
            display_name: &display_name,
            phone: phone.as_deref(),
            language: &language,
            notify_by,
        },
    )
    .await?;
    let profile = load(&state, account.id).await?;
    Ok(JsonBody(view(&state, profile)))
}
