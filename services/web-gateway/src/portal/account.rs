//! The customer's account on the portal: registering (the accounts crate's rules, each
//! error next to its field, in the customer's language), signing in and out (the API's
//! sessions and sign-in guard), the profile (name, phone, language, where to be told) and
//! the two links between the web account and Telegram (see `bureau_platform::identity`).
//!
//! Registration answers like the API: the same page whether or not the address already had
//! an account, so it cannot be used to find out who is a customer.

use std::time::Duration;

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use bureau_accounts::{
    self as accounts, AccountError, DisplayNameError, EmailError, PasswordProblem, Role,
};
use bureau_platform::identity::{self, JoinOutcome, LinkToken};
use bureau_platform::notify_by::{Channel, NotifyBy};
use serde::Deserialize;
use uuid::Uuid;

use super::i18n::{Lang, Texts};
use super::views::{
    self, Chrome, FieldErrors, LinkPage, Opt, ProfilePage, RegisterPage, SignInPage, TelegramLink,
};
use super::{Failure, Member, PageError, Visitor};
use crate::http::{AppState, ClientAddress, Error, guarded_authenticate, session_cookie};
use crate::queries::portal::{self as reads, ProfileChange};
use crate::sessions;

fn is_https(state: &AppState) -> bool {
    state
        .settings
        .web_gateway
        .public_url
        .starts_with("https://")
}

fn session_ttl(state: &AppState) -> Duration {
    Duration::from_secs(
        state
            .settings
            .web_gateway
            .session_ttl_hours
            .saturating_mul(3600),
    )
}

/// Opens a session for `account_id` and sends the browser to `to` with its cookie.
async fn signed_in(state: &AppState, account_id: Uuid, to: &str) -> Result<Response, Error> {
    let ttl = session_ttl(state);
    let token = sessions::open(&state.pool, account_id, ttl).await?;
    let cookie = session_cookie(token.expose(), ttl.as_secs(), is_https(state));
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to(to)).into_response())
}

#[derive(Deserialize, Default)]
pub struct RegisterForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    link: String,
}

pub async fn register_form(visitor: Visitor) -> Response {
    register_page(
        visitor.lang,
        StatusCode::OK,
        &RegisterForm::default(),
        FieldErrors::default(),
        None,
    )
}

fn register_page(
    lang: Lang,
    status: StatusCode,
    form: &RegisterForm,
    errors: FieldErrors,
    intro: Option<&'static str>,
) -> Response {
    let t = lang.portal();
    let link = LinkToken::from_presented(&form.link).map(|t| t.expose().to_owned());
    views::html(
        status,
        &RegisterPage {
            chrome: Chrome::new(lang, None, "/portal/register", t.register),
            name: form.name.clone(),
            email: form.email.clone(),
            phone: form.phone.clone(),
            errors,
            link,
            intro,
        },
    )
}

/// A phone as the customer typed it, if it is one: 7 to 15 digits, with spaces, dashes,
/// dots, brackets and one leading `+` allowed. Kept as typed (trimmed).
pub fn phone(input: &str) -> Result<Option<String>, ()> {
    let phone = input.trim();
    if phone.is_empty() {
        return Ok(None);
    }
    let digits = phone.chars().filter(char::is_ascii_digit).count();
    let allowed = phone.char_indices().all(|(i, c)| {
        c.is_ascii_digit() || matches!(c, ' ' | '-' | '.' | '(' | ')') || (c == '+' && i == 0)
    });
    if allowed && (7..=15).contains(&digits) && phone.len() <= 32 {
        Ok(Some(phone.to_owned()))
    } else {
        Err(())
    }
}

fn password_message(t: &Texts, problem: PasswordProblem) -> &'static str {
    match problem {
        PasswordProblem::TooShort => t.password_too_short,
        PasswordProblem::TooLong => t.password_too_long,
        PasswordProblem::EntirelyNumeric => t.password_numeric,
        PasswordProblem::TooSimilarToEmail => t.password_like_email,
        PasswordProblem::TooCommon => t.password_common,
        #[allow(unreachable_patterns)]
        _ => t.password_weak,
    }
}

fn name_message(t: &Texts, error: &DisplayNameError) -> String {
    match error {
        DisplayNameError::Empty => t.name_empty,
        DisplayNameError::TooLong => t.name_too_long,
        DisplayNameError::ControlCharacters => t.name_control,
        #[allow(unreachable_patterns)]
        _ => t.name_empty,
    }
    .to_owned()
}

fn email_message(t: &Texts, error: &EmailError) -> String {
    match error {
        EmailError::Empty => t.email_empty,
        EmailError::TooLong => t.email_too_long,
        EmailError::Malformed => t.email_malformed,
        #[allow(unreachable_patterns)]
        _ => t.email_malformed,
    }
    .to_owned()
}

/// Every rule the form breaks, each next to its field, all at once.
fn check_registration(t: &Texts, form: &RegisterForm) -> FieldErrors {
    let mut errors = FieldErrors::default();
    if let Err(error) = accounts::DisplayName::parse(&form.name) {
        errors.name = Some(name_message(t, &error));
    }
    match accounts::Email::parse(&form.email) {
        Err(error) => errors.email = Some(email_message(t, &error)),
        Ok(email) => {
            if let Err(weak) = accounts::Password::parse(&form.password, &email) {
                let text: Vec<&str> = weak
                    .problems
                    .iter()
                    .map(|p| password_message(t, *p))
                    .collect();
                errors.password = Some(text.join(" "));
            }
        }
    }
    if phone(&form.phone).is_err() {
        errors.phone = Some(t.phone_invalid.to_owned());
    }
    errors
}

pub async fn register(
    State(state): State<AppState>,
    visitor: Visitor,
    Form(form): Form<RegisterForm>,
) -> Response {
    let lang = visitor.lang;
    let t = lang.portal();
    let errors = check_registration(t, &form);
    if errors.any() {
        return register_page(lang, StatusCode::UNPROCESSABLE_ENTITY, &form, errors, None);
    }
    // Registration hashes a password: it queues for the sign-in's bounded slots.
    let Ok(_slot) = state.sign_in.hashing.acquire().await else {
        return PageError {
            lang,
            json: false,
            failure: Failure::Api(Error::Busy),
        }
        .into_response();
    };
    let created = accounts::create_account(
        &state.pool,
        &form.email,
        &form.password,
        &form.name,
        Role::Customer,
    )
    .await;
    let account_id = match created {
        Ok(account_id) => account_id,
        Err(AccountError::EmailTaken) => {
            tracing::info!("portal registration for an e-mail address that has an account");
            // Its owner hears that someone tried (with a reset link), as from the API.
            if let Err(error) = state
                .account_mail
                .send_already_registered(&state.pool, &form.email, lang.code())
                .await
            {
                tracing::warn!(%error, "the someone-tried mail was not issued");
            }
            return sign_in_page(lang, StatusCode::OK, &form.email, None, Some(t.registered));
        }
        Err(other) => {
            return PageError {
                lang,
                json: false,
                failure: Failure::Api(other.into()),
            }
            .into_response();
        }
    };
    let phone = phone(&form.phone).ok().flatten();
    if let Err(error) =
        reads::set_contact(&state.pool, account_id, phone.as_deref(), lang.code()).await
    {
        return PageError {
            lang,
            json: false,
            failure: error.into(),
        }
        .into_response();
    }
    tracing::info!(%account_id, "customer registered on the portal");
    // The link that verifies the address, in the language the page was read in (in the
    // background: the page does not wait for the mail server).
    if let Err(error) = state
        .account_mail
        .send_verification(&state.pool, account_id, lang.code())
        .await
    {
        tracing::warn!(%account_id, %error, "the verification mail was not issued");
    }
    // Registered from the bot's `/web` link: the new account is that Telegram customer.
    if let Some(token) = LinkToken::from_presented(&form.link) {
        match identity::join_new_account(&state.pool, &token, account_id).await {
            Ok(JoinOutcome::Joined { .. }) => {
                return signed_in(&state, account_id, "/portal/orders")
                    .await
                    .unwrap_or_else(IntoResponse::into_response);
            }
            Ok(outcome) => tracing::info!(?outcome, "a /web link did not join the new account"),
            Err(error) => tracing::warn!(%error, "joining a new account to Telegram failed"),
        }
    }
    sign_in_page(lang, StatusCode::OK, &form.email, None, Some(t.registered))
}

pub async fn sign_in_form(State(state): State<AppState>, visitor: Visitor) -> Response {
    if let Some(account) = visitor.account(&state).await
        && account.role == Role::Customer
    {
        return Redirect::to("/portal/orders").into_response();
    }
    sign_in_page(visitor.lang, StatusCode::OK, "", None, None)
}

fn sign_in_page(
    lang: Lang,
    status: StatusCode,
    email: &str,
    error: Option<&'static str>,
    notice: Option<&'static str>,
) -> Response {
    let t = lang.portal();
    views::html(
        status,
        &SignInPage {
            chrome: Chrome::new(lang, None, "/portal/sign-in", t.sign_in),
            email: email.to_owned(),
            error,
            notice,
        },
    )
}

#[derive(Deserialize)]
pub struct Credentials {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

/// Signs in with the API's guard (pauses after repeated failures, bounded hashing).
pub async fn sign_in(
    State(state): State<AppState>,
    visitor: Visitor,
    ClientAddress(address): ClientAddress,
    Form(credentials): Form<Credentials>,
) -> Response {
    let lang = visitor.lang;
    let t = lang.portal();
    let checked =
        guarded_authenticate(&state, address, &credentials.email, &credentials.password).await;
    let account = match checked {
        Ok(account) => account,
        Err(Error::InvalidCredentials) => {
            return sign_in_page(
                lang,
                StatusCode::UNAUTHORIZED,
                &credentials.email,
                Some(t.wrong_credentials),
                None,
            );
        }
        Err(error @ (Error::TooManyRequests { .. } | Error::Busy)) => {
            return sign_in_page(
                lang,
                error.status_code(),
                &credentials.email,
                Some(t.try_later),
                None,
            );
        }
        Err(error) => return error.into_response(),
    };
    if account.role != Role::Customer {
        return sign_in_page(
            lang,
            StatusCode::FORBIDDEN,
            &credentials.email,
            Some(t.staff_account),
            None,
        );
    }
    tracing::info!(account_id = %account.id, "customer signed in to the portal");
    signed_in(&state, account.id, "/portal/orders")
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

pub async fn sign_out(State(state): State<AppState>, visitor: Visitor) -> Response {
    if let Some(token) = crate::http::presented_token(&visitor.headers)
        && let Err(error) = sessions::close(&state.pool, &token).await
    {
        return Error::from(error).into_response();
    }
    (
        [(header::SET_COOKIE, session_cookie("", 0, is_https(&state)))],
        Redirect::to("/portal/sign-in"),
    )
        .into_response()
}

async fn profile_page(
    state: &AppState,
    member: &Member,
    status: StatusCode,
    edited: Option<(&ProfileForm, FieldErrors)>,
    notice: Option<&'static str>,
    link: Option<TelegramLink>,
) -> Result<Response, PageError> {
    let lang = member.lang;
    let t = lang.portal();
    let profile = reads::profile(&state.pool, member.account.id)
        .await
        .map_err(|e| member.fail(e))?
        .ok_or_else(|| member.fail(Error::Internal(anyhow::anyhow!("account without customer"))))?;
    let mail_on = state.account_mail.enabled();
    let notices_now = match profile.notices_go_to(mail_on) {
        Channel::Telegram => t.channel_telegram,
        Channel::Email => t.channel_email,
        Channel::Nowhere => t.channel_nowhere,
    };
    let (name, phone, language, notify, errors) = match edited {
        Some((form, errors)) => (
            form.name.clone(),
            form.phone.clone(),
            form.language.clone(),
            form.notify_by.clone(),
            errors,
        ),
        None => (
            profile.display_name.clone(),
            profile.phone.clone().unwrap_or_default(),
            profile.language.clone(),
            profile.notify_by.clone(),
            FieldErrors::default(),
        ),
    };
    let telegram = profile
        .telegram_user_id
        .map(|id| match &profile.telegram_username {
            Some(username) => format!("@{username}"),
            None => format!("#{id}"),
        });
    Ok(views::html(
        status,
        &ProfilePage {
            chrome: Chrome::new(
                lang,
                Some(&member.account.display_name),
                &member.path,
                t.profile,
            ),
            name,
            phone,
            languages: vec![
                Opt::new("uk", Lang::Uk.portal().language_name, language == "uk"),
                Opt::new("en", Lang::En.portal().language_name, language == "en"),
            ],
            notify: NotifyBy::ALL
                .into_iter()
                .zip([t.notify_auto, t.notify_telegram, t.notify_email])
                .map(|(value, label)| Opt::new(value.as_str(), label, notify == value.as_str()))
                .collect(),
            notices_now,
            errors,
            notice,
            email: profile.email.clone(),
            email_verified: profile.email_verified_at.is_some(),
            email_bouncing: profile.email_bouncing_at.is_some(),
            telegram,
            link,
        },
    ))
}

pub async fn profile(State(state): State<AppState>, member: Member) -> Result<Response, PageError> {
    profile_page(&state, &member, StatusCode::OK, None, None, None).await
}

#[derive(Deserialize)]
pub struct ProfileForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    language: String,
    #[serde(default)]
    notify_by: String,
}

pub async fn save_profile(
    State(state): State<AppState>,
    member: Member,
    Form(form): Form<ProfileForm>,
) -> Result<Response, PageError> {
    let t = member.lang.portal();
    let mut errors = FieldErrors::default();
    let name = accounts::DisplayName::parse(&form.name);
    if let Err(error) = &name {
        errors.name = Some(name_message(t, error));
    }
    let phone = phone(&form.phone);
    if phone.is_err() {
        errors.phone = Some(t.phone_invalid.to_owned());
    }
    let language = Lang::parse(&form.language).unwrap_or(member.lang);
    // The same three values, the same refusal, as `PATCH /api/accounts/me`.
    let notify_by = NotifyBy::parse(&form.notify_by);
    if notify_by.is_none() {
        errors.notify_by = Some(t.notify_invalid.to_owned());
    }
    let (Ok(name), Ok(phone), Some(notify_by)) = (name, phone, notify_by) else {
        return profile_page(
            &state,
            &member,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some((&form, errors)),
            None,
            None,
        )
        .await;
    };
    reads::update_profile(
        &state.pool,
        member.account.id,
        ProfileChange {
            display_name: name.as_str(),
            phone: phone.as_deref(),
            language: language.code(),
            notify_by,
        },
    )
    .await
    .map_err(|e| member.fail(e))?;
    let member = Member {
        account: bureau_accounts::Account {
            display_name: name.as_str().to_owned(),
            ..member.account
        },
        lang: member.lang,
        path: member.path,
        wants_json: member.wants_json,
    };
    profile_page(&state, &member, StatusCode::OK, None, Some(t.saved), None).await
}

/// "Send the confirmation link": a new verification link to the account's address (also
/// how a bouncing address is taken back into use once the customer fixed their mailbox).
pub async fn send_verification(
    State(state): State<AppState>,
    member: Member,
) -> Result<Response, PageError> {
    let t = member.lang.portal();
    state
        .account_mail
        .send_verification(&state.pool, member.account.id, member.lang.code())
        .await
        .map_err(|e| member.fail(e))?;
    profile_page(
        &state,
        &member,
        StatusCode::OK,
        None,
        Some(t.verification_sent),
        None,
    )
    .await
}

/// "Link Telegram": a fresh one-time token, shown once as the bot's start link.
pub async fn link_telegram(
    State(state): State<AppState>,
    member: Member,
) -> Result<Response, PageError> {
    let profile = reads::profile(&state.pool, member.account.id)
        .await
        .map_err(|e| member.fail(e))?
        .ok_or_else(|| member.fail(Failure::NotFound))?;
    let token = identity::issue_telegram_link(&state.pool, profile.id)
        .await
        .map_err(|e| member.fail(e))?;
    let bot = state.settings.telegram.bot_username.trim_start_matches('@');
    let link = TelegramLink {
        url: (!bot.is_empty()).then(|| format!("https://t.me/{bot}?start={}", token.expose())),
        command: format!("/start {}", token.expose()),
    };
    tracing::info!(account_id = %member.account.id, "a Telegram link token was issued");
    profile_page(&state, &member, StatusCode::OK, None, None, Some(link)).await
}

/// `GET /portal/link/{token}` (the bot's `/web`): asks before signing in, so a link preview
/// that fetches the page does not use the token up. A Telegram customer without a web
/// account is offered registration, joined to them.
pub async fn link_page(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(token): Path<String>,
) -> Response {
    let lang = visitor.lang;
    let t = lang.portal();
    let invalid = || views::render_failure(lang, StatusCode::GONE, t.link_title, t.link_invalid);
    let Some(token) = LinkToken::from_presented(&token) else {
        return invalid();
    };
    let found = match identity::peek_web_sign_in(&state.pool, &token).await {
        Ok(Some(found)) => found,
        Ok(None) => return invalid(),
        Err(error) => return Error::from(error).into_response(),
    };
    match found.account_id {
        Some(account_id) => {
            let name: Option<String> =
                sqlx::query_scalar("SELECT display_name FROM web_accounts WHERE id = ?")
                    .bind(account_id)
                    .fetch_optional(&state.pool)
                    .await
                    .ok()
                    .flatten();
            views::html(
                StatusCode::OK,
                &LinkPage {
                    chrome: Chrome::new(lang, None, "/portal", t.link_title),
                    token: token.expose().to_owned(),
                    name: name.unwrap_or_default(),
                },
            )
        }
        None => {
            let form = RegisterForm {
                link: token.expose().to_owned(),
                ..RegisterForm::default()
            };
            register_page(
                lang,
                StatusCode::OK,
                &form,
                FieldErrors::default(),
                Some(t.link_register),
            )
        }
    }
}

/// `POST /portal/link/{token}`: uses the token up and signs the customer's web account in.
pub async fn link_sign_in(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(token): Path<String>,
) -> Response {
    let lang = visitor.lang;
    let t = lang.portal();
    let invalid = || views::render_failure(lang, StatusCode::GONE, t.link_title, t.link_invalid);
    let Some(token) = LinkToken::from_presented(&token) else {
        return invalid();
    };
    match identity::take_web_sign_in(&state.pool, &token).await {
        Ok(Some(found)) => match found.account_id {
            Some(account_id) => {
                tracing::info!(%account_id, "signed in from the bot's /web link");
                signed_in(&state, account_id, "/portal/orders")
                    .await
                    .unwrap_or_else(IntoResponse::into_response)
            }
            None => Redirect::to(&format!("/portal/link/{}", token.expose())).into_response(),
        },
        Ok(None) => invalid(),
        Err(error) => Error::from(error).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_are_digits_with_the_usual_separators() {
        assert_eq!(phone(""), Ok(None));
        assert_eq!(
            phone(" +380 67 123-45-67 "),
            Ok(Some("+380 67 123-45-67".into()))
        );
        assert_eq!(phone("(067) 123 4567"), Ok(Some("(067) 123 4567".into())));
        assert!(phone("12345").is_err());
        assert!(phone("+380 67 abc").is_err());
        assert!(phone("38+067").is_err());
    }

    #[test]
    fn every_broken_rule_is_told_next_to_its_field() {
        let form = RegisterForm {
            name: String::new(),
            email: "ann@example.com".into(),
            phone: "x".into(),
            password: "123".into(),
            link: String::new(),
        };
        let errors = check_registration(Lang::Uk.portal(), &form);
        assert_eq!(errors.name.as_deref(), Some(Lang::Uk.portal().name_empty));
        assert!(errors.email.is_none());
        assert!(errors.phone.is_some());
        let password = errors.password.unwrap();
        assert!(
            password.contains(Lang::Uk.portal().password_too_short),
            "{password}"
        );
        assert!(
            password.contains(Lang::Uk.portal().password_numeric),
            "{password}"
        );
    }
}
