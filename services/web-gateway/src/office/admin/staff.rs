//! Staff accounts (admins only): the list with role, state and last sign-in; inviting someone
//! (a one-time set-password link instead of a password typed by the admin); changing a role;
//! deactivating (which ends the person's sessions and live pages at once) and reactivating;
//! resetting a password with the same kind of link. And the page the link opens, where the
//! person sets their password under the policy, its errors next to the field.
//!
//! The link is e-mailed to the person ([`deliver_link`]), in the language the admin chose
//! when inviting them (kept as `web_accounts.language` for later resets), and the admin is
//! told it went. The link itself is shown to the admin only when it could not be mailed —
//! the server has no `[mail]` settings, or the mail server refused or did not answer — so
//! the admin can hand it over another way; a mailed link is seen by its owner alone.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use bureau_accounts::Role;
use bureau_accounts::staff::{self as accounts, LinkPurpose, LinkToken, StaffError};
use bureau_mail::staff::{StaffLink, StaffLinkMail};
use chrono::Utc;
use serde::Deserialize;
use uuid::Uuid;

use super::{FieldError, frame, refusal};
use crate::account_mail::Sent;
use crate::http::{AppState, Error};
use crate::office::i18n::Lang;
use crate::office::permissions::Act;
use crate::office::views::{self, Chrome, Opt, When};
use crate::office::{Client, Desk, PageError};

/// How long a set-password link works.
const LINK_TTL_HOURS: i64 = 72;

pub struct StaffRow {
    pub id: String,
    pub name: String,
    pub email: String,
    pub role: &'static str,
    pub active: bool,
    pub last_sign_in: Option<When>,
    pub link_pending: bool,
    pub is_me: bool,
    pub roles: Vec<Opt>,
}

#[derive(Template)]
#[template(path = "office/admin/staff.html")]
pub struct StaffPage {
    pub chrome: Chrome,
    pub a: &'static super::i18n::AdminTexts,
    pub rows: Vec<StaffRow>,
    pub notice: Option<&'static str>,
    pub form_name: String,
    pub form_email: String,
    pub form_roles: Vec<Opt>,
    pub form_languages: Vec<Opt>,
    pub name_error: FieldError,
    pub email_error: FieldError,
}

#[derive(Template)]
#[template(path = "office/admin/link.html")]
pub struct LinkPage {
    pub chrome: Chrome,
    pub a: &'static super::i18n::AdminTexts,
    pub heading: &'static str,
    pub person: String,
    pub email: String,
    /// The link, shown only when it was not mailed.
    pub link: Option<String>,
    /// Whether it was mailed: `None` mailed; else why the admin hands it over.
    pub not_mailed: Option<String>,
    /// The language of the mail, in words.
    pub language: &'static str,
    pub expires: When,
}

#[derive(Template)]
#[template(path = "office/admin/set_password.html")]
pub struct SetPasswordPage {
    pub chrome: Chrome,
    pub a: &'static super::i18n::AdminTexts,
    pub valid: bool,
    pub email: String,
    pub name: String,
    pub errors: Vec<String>,
    pub saved: bool,
}

fn language_options(a: &super::i18n::AdminTexts, selected: Lang) -> Vec<Opt> {
    [(Lang::Uk, a.language_uk), (Lang::En, a.language_en)]
        .into_iter()
        .map(|(lang, label)| Opt::new(lang.code(), label, lang == selected))
        .collect()
}

fn role_options(a: &super::i18n::AdminTexts, selected: &str) -> Vec<Opt> {
    ["executor", "manager", "admin"]
        .into_iter()
        .map(|role| Opt::new(role, a.role(role), role == selected))
        .collect()
}

pub async fn page(State(state): State<AppState>, desk: Desk) -> Result<Response, PageError> {
    if let Some(refused) = refusal(&desk, Act::ManageStaff) {
        return Ok(refused);
    }
    render(&state, &desk, StatusCode::OK, None, ("", ""), (None, None)).await
}

async fn render(
    state: &AppState,
    desk: &Desk,
    status: StatusCode,
    notice: Option<&'static str>,
    (name, email): (&str, &str),
    (name_error, email_error): (FieldError, FieldError),
) -> Result<Response, PageError> {
    let (chrome, a) = frame(desk, "/office/staff", desk.lang_texts().staff);
    let lines = accounts::list(&state.pool)
        .await
        .map_err(|e| desk.fail(Error::from(e)))?;
    let rows = lines
        .into_iter()
        .map(|line| {
            let role = Role::parse(&line.role).unwrap_or(Role::Executor).as_str();
            StaffRow {
                id: line.id.to_string(),
                name: line.display_name,
                email: line.email,
                role,
                active: line.active,
                last_sign_in: line.last_sign_in.map(When::of),
                link_pending: line.link_pending,
                is_me: line.id == desk.account.id,
                roles: role_options(a, role),
            }
        })
        .collect();
    Ok(views::html(
        status,
        &StaffPage {
            chrome,
            a,
            rows,
            notice,
            form_name: name.to_owned(),
            form_email: email.to_owned(),
            form_roles: role_options(a, "executor"),
            form_languages: language_options(a, desk.lang),
            name_error,
            email_error,
        },
    ))
}

#[derive(Deserialize)]
pub struct InviteForm {
    name: String,
    email: String,
    role: String,
    /// The language of the invitation mail (`uk`, `en`); the admin's own when missing.
    #[serde(default)]
    language: String,
}

pub async fn invite(
    State(state): State<AppState>,
    desk: Desk,
    Form(form): Form<InviteForm>,
) -> Result<Response, PageError> {
    if let Some(refused) = refusal(&desk, Act::ManageStaff) {
        return Ok(refused);
    }
    let a = super::i18n::texts(desk.lang);
    let role = Role::parse(&form.role)
        .ok()
        .filter(|r| r.is_staff())
        .unwrap_or(Role::Executor);
    let invited = accounts::invite(
        &state.pool,
        &form.email,
        &form.name,
        role,
        desk.account.id,
        chrono::Duration::hours(LINK_TTL_HOURS),
    )
    .await;
    let errors = match invited {
        Ok((account_id, token)) => {
            desk.audit(
                &state,
                "staff_invite",
                None,
                Some(&account_id.to_string()),
                Some(&format!(
                    "{} <{}> as {}",
                    form.name.trim(),
                    form.email.trim(),
                    role
                )),
            )
            .await?;
            let language = Lang::parse(&form.language).unwrap_or(desk.lang);
            accounts::set_language(&state.pool, account_id, language.code())
                .await
                .map_err(|e| desk.fail(Error::from(e)))?;
            return link_page(&state, &desk, LinkPurpose::Invite, account_id, token).await;
        }
        Err(StaffError::Email(_)) => (None, Some(a.bad_email)),
        Err(StaffError::EmailTaken) => (None, Some(a.email_taken)),
        Err(StaffError::DisplayName(_)) => (Some(a.bad_name), None),
        Err(other) => return Err(desk.fail(staff_error(other))),
    };
    render(
        &state,
        &desk,
        StatusCode::UNPROCESSABLE_ENTITY,
        None,
        (&form.name, &form.email),
        errors,
    )
    .await
}

/// The link page: the link mailed to the person, and the admin told so; or, when it could
/// not be mailed, the link shown once for the admin to hand over, with the reason.
async fn link_page(
    state: &AppState,
    desk: &Desk,
    purpose: LinkPurpose,
    account_id: Uuid,
    token: LinkToken,
) -> Result<Response, PageError> {
    let fail = |e: sqlx::Error| desk.fail(Error::from(e));
    let (email, name, role, _) = accounts::find(&state.pool, account_id)
        .await
        .map_err(fail)?
        .ok_or_else(|| desk.fail(super::super::Failure::NotFound))?;
    let language = accounts::language(&state.pool, account_id)
        .await
        .map_err(fail)?
        .and_then(|code| Lang::parse(&code))
        .unwrap_or(desk.lang);
    let business = bureau_platform::business::details(&state.pool, &state.settings.business)
        .await
        .map_err(fail)?
        .name;
    let public_url = state.settings.web_gateway.public_url.trim_end_matches('/');
    let path = format!("/office/set-password/{}", token.expose());
    let sent = deliver_link(
        state,
        &StaffLinkMail {
            kind: match purpose {
                LinkPurpose::Invite => StaffLink::Invitation,
                LinkPurpose::Reset => StaffLink::Reset,
            },
            language: language.code(),
            to: &email,
            name: &name,
            admin: &desk.account.display_name,
            role: super::i18n::texts(language).role(role.as_str()),
            business: &business,
            // Through the language switch, so the page opens in the mail's language.
            link: &format!(
                "{public_url}/office/language/{}?back={path}",
                language.code()
            ),
            ttl_hours: LINK_TTL_HOURS as u64,
        },
    )
    .await;
    let (chrome, a) = frame(desk, "/office/staff", desk.lang_texts().staff);
    let not_mailed = match &sent {
        Sent::Sent => None,
        Sent::Off => Some(a.link_mail_off.to_owned()),
        Sent::Failed(reason) => Some(format!("{} {reason}", a.link_not_mailed)),
    };
    let detail = format!("{} {}", purpose.as_str(), language.code());
    match &sent {
        Sent::Sent => {
            desk.audit(
                state,
                "staff_link_mailed",
                None,
                Some(&account_id.to_string()),
                Some(&detail),
            )
            .await?
        }
        Sent::Failed(reason) => {
            desk.audit(
                state,
                "staff_link_mail_failed",
                None,
                Some(&account_id.to_string()),
                Some(&format!("{detail}: {reason}")),
            )
            .await?
        }
        Sent::Off => {}
    }
    let heading = match purpose {
        LinkPurpose::Invite => a.link_title_invite,
        LinkPurpose::Reset => a.link_title_reset,
    };
    Ok(views::html(
        StatusCode::OK,
        &LinkPage {
            chrome,
            a,
            heading,
            person: name,
            email,
            link: not_mailed.is_some().then(|| format!("{public_url}{path}")),
            not_mailed,
            language: match language {
                Lang::Uk => a.language_uk,
                Lang::En => a.language_en,
            },
            expires: When::of(Utc::now() + chrono::Duration::hours(LINK_TTL_HOURS)),
        },
    ))
}

/// **The mail seam.** Called with every set-password link made (invitation or reset):
/// mails it to the person now, in their language, and says whether it went (never logging
/// the link itself). Without `[mail]` settings nothing is sent ([`Sent::Off`]) and the admin
/// hands the link over from the page.
async fn deliver_link(state: &AppState, mail: &StaffLinkMail<'_>) -> Sent {
    let sent = state.account_mail.send_staff_link(mail).await;
    if sent == Sent::Off {
        tracing::info!(
            kind = ?mail.kind,
            "set-password link made; no mailer configured, the admin hands it over"
        );
    }
    sent
}

#[derive(Deserialize)]
pub struct RoleForm {
    role: String,
}

pub async fn role(
    State(state): State<AppState>,
    desk: Desk,
    Path(account_id): Path<String>,
    Form(form): Form<RoleForm>,
) -> Result<Response, PageError> {
    if let Some(refused) = refusal(&desk, Act::ManageStaff) {
        return Ok(refused);
    }
    let account_id = parse_id(&desk, &account_id)?;
    let role = Role::parse(&form.role)
        .ok()
        .filter(|r| r.is_staff())
        .ok_or_else(|| desk.fail(Error::unprocessable("invalid_role", "Unknown role.")))?;
    change(&state, &desk, account_id, Some(role), None).await
}

#[derive(Deserialize)]
pub struct ActiveForm {
    active: String,
}

pub async fn active(
    State(state): State<AppState>,
    desk: Desk,
    Path(account_id): Path<String>,
    Form(form): Form<ActiveForm>,
) -> Result<Response, PageError> {
    if let Some(refused) = refusal(&desk, Act::ManageStaff) {
        return Ok(refused);
    }
    let account_id = parse_id(&desk, &account_id)?;
    let active = matches!(form.active.as_str(), "1" | "true" | "on");
    change(&state, &desk, account_id, None, Some(active)).await
}

async fn change(
    state: &AppState,
    desk: &Desk,
    account_id: Uuid,
    role: Option<Role>,
    active: Option<bool>,
) -> Result<Response, PageError> {
    match accounts::update(&state.pool, account_id, role, active).await {
        Ok(before) => {
            if active == Some(false) {
                // Sessions are gone from MySQL already; this process's live pages of the
                // person end now (other gateway replicas notice at their next session check).
                state.live.end_account(account_id);
            }
            let (action, detail) = match (role, active) {
                (Some(role), _) => ("staff_role", format!("{} → {}", before.role_before, role)),
                (None, Some(false)) => ("staff_deactivate", String::new()),
                (None, _) => ("staff_reactivate", String::new()),
            };
            desk.audit(
                state,
                action,
                None,
                Some(&account_id.to_string()),
                (!detail.is_empty()).then_some(detail.as_str()),
            )
            .await?;
            Ok(Redirect::to("/office/staff").into_response())
        }
        Err(StaffError::LastAdmin) => {
            let a = super::i18n::texts(desk.lang);
            render(
                state,
                desk,
                StatusCode::CONFLICT,
                Some(a.last_admin),
                ("", ""),
                (None, None),
            )
            .await
        }
        Err(other) => Err(desk.fail(staff_error(other))),
    }
}

pub async fn reset(
    State(state): State<AppState>,
    desk: Desk,
    Path(account_id): Path<String>,
) -> Result<Response, PageError> {
    if let Some(refused) = refusal(&desk, Act::ManageStaff) {
        return Ok(refused);
    }
    let account_id = parse_id(&desk, &account_id)?;
    let token = accounts::reset_link(
        &state.pool,
        account_id,
        desk.account.id,
        chrono::Duration::hours(LINK_TTL_HOURS),
    )
    .await
    .map_err(|e| desk.fail(staff_error(e)))?;
    desk.audit(
        &state,
        "staff_password_reset",
        None,
        Some(&account_id.to_string()),
        None,
    )
    .await?;
    link_page(&state, &desk, LinkPurpose::Reset, account_id, token).await
}

fn parse_id(desk: &Desk, id: &str) -> Result<Uuid, PageError> {
    Uuid::parse_str(id).map_err(|_| desk.fail(super::super::Failure::NotFound))
}

fn staff_error(error: StaffError) -> super::super::Failure {
    match error {
        StaffError::NotFound => super::super::Failure::NotFound,
        StaffError::Database(e) => Error::from(e).into(),
        StaffError::Hashing(e) => Error::Internal(anyhow::anyhow!(e)).into(),
        other => Error::unprocessable("staff", other.to_string()).into(),
    }
}

/// `GET /office/set-password/{token}`: the form, if the link still works.
pub async fn set_password_form(
    State(state): State<AppState>,
    client: Client,
    Path(token): Path<String>,
) -> Response {
    let holder = match LinkToken::from_presented(&token) {
        Some(token) => accounts::link_holder(&state.pool, &token).await,
        None => Ok(None),
    };
    match holder {
        Ok(Some((_, email, name, _))) => password_page(
            client.lang,
            StatusCode::OK,
            true,
            email,
            name,
            vec![],
            false,
        ),
        Ok(None) => password_page(
            client.lang,
            StatusCode::NOT_FOUND,
            false,
            String::new(),
            String::new(),
            vec![],
            false,
        ),
        Err(error) => Error::from(error).into_response(),
    }
}

#[derive(Deserialize)]
pub struct PasswordForm {
    password: String,
    repeat: String,
}

/// `POST /office/set-password/{token}`: the policy's sentences next to the field, or the
/// password set (the link spent, every session of the account ended) and "sign in".
pub async fn set_password(
    State(state): State<AppState>,
    client: Client,
    Path(token): Path<String>,
    Form(form): Form<PasswordForm>,
) -> Response {
    let lang = client.lang;
    let a = super::i18n::texts(lang);
    let invalid = || {
        password_page(
            lang,
            StatusCode::NOT_FOUND,
            false,
            String::new(),
            String::new(),
            vec![],
            false,
        )
    };
    let Some(token) = LinkToken::from_presented(&token) else {
        return invalid();
    };
    let holder = match accounts::link_holder(&state.pool, &token).await {
        Ok(Some(holder)) => holder,
        Ok(None) => return invalid(),
        Err(error) => return Error::from(error).into_response(),
    };
    let (account_id, email, name, purpose) = holder;
    if form.password != form.repeat {
        return password_page(
            lang,
            StatusCode::UNPROCESSABLE_ENTITY,
            true,
            email,
            name,
            vec![a.passwords_differ.to_owned()],
            false,
        );
    }
    match accounts::set_password_with_link(&state.pool, &token, &form.password).await {
        Ok(_) => {
            state.live.end_account(account_id);
            let audited = crate::queries::office::audit(
                &state.pool,
                crate::queries::office::Audit {
                    account_id: Some(account_id),
                    action: "password_set",
                    order_id: None,
                    subject: Some(&account_id.to_string()),
                    detail: Some(purpose.as_str()),
                    remote_addr: client.remote.clone(),
                },
            )
            .await;
            if let Err(error) = audited {
                return Error::from(error).into_response();
            }
            password_page(lang, StatusCode::OK, true, email, name, vec![], true)
        }
        Err(StaffError::Password(weak)) => {
            let errors = weak
                .problems
                .iter()
                .map(|p| p.message_in(lang.code()))
                .collect();
            password_page(
                lang,
                StatusCode::UNPROCESSABLE_ENTITY,
                true,
                email,
                name,
                errors,
                false,
            )
        }
        Err(StaffError::LinkInvalid) => invalid(),
        Err(StaffError::Database(error)) => Error::from(error).into_response(),
        Err(other) => Error::Internal(anyhow::anyhow!(other.to_string())).into_response(),
    }
}

fn password_page(
    lang: Lang,
    status: StatusCode,
    valid: bool,
    email: String,
    name: String,
    errors: Vec<String>,
    saved: bool,
) -> Response {
    let a = super::i18n::texts(lang);
    views::html(
        status,
        &SetPasswordPage {
            chrome: Chrome::new(lang, None, "/office/sign-in", a.set_password_title),
            a,
            valid,
            email,
            name,
            errors,
            saved,
        },
    )
}

impl Desk {
    fn lang_texts(&self) -> &'static super::i18n::AdminTexts {
        super::i18n::texts(self.lang)
    }
}
