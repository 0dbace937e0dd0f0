//! The account mails the web gateway sends itself: the link that verifies a new
//! customer's address, the link that resets a forgotten password, and the note to an
//! address someone registers again.
//!
//! These are not order events: nothing else reacts to them and the person is waiting, so
//! the gateway makes the token (`bureau_accounts::tokens`, stored hashed) and hands the
//! mail to SMTP itself, in the background — the HTTP answer never waits for the mail
//! server, and never tells by its timing whether an address has an account. A mail the
//! server cannot take now is tried again with backoff (`bureau_kit::retry`) for a few
//! minutes; one refused for good (5xx) marks the address bouncing (the profile and the
//! staff card show it; order notices stop until it is verified again). Lost after that, the person asks again
//! ("send the link again", "forgot password"), which is what they would do anyway.
//!
//! Staff set-password links (an admin's invitation or reset, `office::admin::staff`) are
//! sent here too, but while the admin waits ([`AccountMail::send_now`]): the page then says
//! whether the mail went, and shows the link to hand over when it did not.
//!
//! Order notices are e-mailed by the notifier, with its journal's guarantees.

use std::sync::Arc;
use std::time::Duration;

use bureau_accounts::tokens::{self, IssuedToken, TokenPurpose};
use bureau_kit::retry::Backoff;
use bureau_mail::account::AccountTexts;
use bureau_mail::staff::{StaffLinkMail, StaffTexts};
use bureau_mail::{Mail, MailError, Mailer};
use bureau_platform::Settings;
use sqlx::MySqlPool;
use uuid::Uuid;

/// Tries of one account mail: about five minutes of backoff in all.
const TRIES: u32 = 8;
const BACKOFF: Backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));
/// How long a person (an admin inviting staff) waits for the SMTP server's answer at most.
const WAIT_FOR_SERVER: Duration = Duration::from_secs(15);

/// What became of a mail sent while someone waits for the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    /// No `[mail] host`: nothing is sent.
    Off,
    /// The SMTP server took it.
    Sent,
    /// Not sent, and why (refused, unreachable, too slow).
    Failed(String),
}

/// Sends account mails; off (sends nothing, issues no token) without `[mail] host`.
#[derive(Clone)]
pub struct AccountMail {
    mailer: Option<Mailer>,
    texts: Arc<AccountTexts>,
    staff_texts: Arc<StaffTexts>,
    public_url: String,
    verify_ttl: Duration,
    reset_ttl: Duration,
}

impl AccountMail {
    pub fn from_settings(settings: &Settings) -> anyhow::Result<AccountMail> {
        Ok(AccountMail {
            mailer: Mailer::from_settings(&settings.mail)?,
            texts: Arc::new(AccountTexts::new(&settings.business.name)),
            staff_texts: Arc::new(StaffTexts::new()),
            public_url: settings
                .web_gateway
                .public_url
                .trim_end_matches('/')
                .to_owned(),
            verify_ttl: Duration::from_secs(settings.mail.verify_ttl_secs.max(60)),
            reset_ttl: Duration::from_secs(settings.mail.reset_ttl_secs.max(60)),
        })
    }

    pub fn enabled(&self) -> bool {
        self.mailer.is_some()
    }

    /// Sends `account_id` a link that verifies its address, in `language`.
    pub async fn send_verification(
        &self,
        pool: &MySqlPool,
        account_id: Uuid,
        language: &str,
    ) -> Result<(), sqlx::Error> {
        if !self.enabled() {
            return Ok(());
        }
        let issued =
            tokens::issue_for_account(pool, account_id, TokenPurpose::VerifyEmail, self.verify_ttl)
                .await?;
        if let Some(issued) = issued {
            let link = self.link("/account/verify", &issued, language);
            let mail = self.texts.verify_email(
                language,
                &issued.email,
                &issued.display_name,
                &link,
                self.verify_ttl.as_secs(),
            );
            self.dispatch(pool, issued.account_id, mail);
        }
        Ok(())
    }

    /// Sends the account with address `email`, if there is one, a link that resets its
    /// password. Nothing tells the caller whether there was.
    pub async fn send_reset(
        &self,
        pool: &MySqlPool,
        email: &str,
        language: &str,
    ) -> Result<(), sqlx::Error> {
        if !self.enabled() {
            return Ok(());
        }
        let issued =
            tokens::issue_for_email(pool, email, TokenPurpose::ResetPassword, self.reset_ttl)
                .await?;
        if let Some(issued) = issued {
            let link = self.link("/account/reset", &issued, language);
            let mail =
                self.texts
                    .reset_password(language, &issued.email, &link, self.reset_ttl.as_secs());
            self.dispatch(pool, issued.account_id, mail);
        }
        Ok(())
    }

    /// Someone registered `email`, which has an account: its owner hears of it, with a
    /// reset link in case they forgot the password.
    pub async fn send_already_registered(
        &self,
        pool: &MySqlPool,
        email: &str,
        language: &str,
    ) -> Result<(), sqlx::Error> {
        if !self.enabled() {
            return Ok(());
        }
        let issued =
            tokens::issue_for_email(pool, email, TokenPurpose::ResetPassword, self.reset_ttl)
                .await?;
        if let Some(issued) = issued {
            let link = self.link("/account/reset", &issued, language);
            let mail = self
                .texts
                .already_registered(language, &issued.email, &link);
            self.dispatch(pool, issued.account_id, mail);
        }
        Ok(())
    }

    /// Sends a staff member their set-password link now, and says whether the SMTP server
    /// took it (waiting `WAIT_FOR_SERVER` at most; one try: the admin is shown the link
    /// to hand over if it did not go).
    pub async fn send_staff_link(&self, mail: &StaffLinkMail<'_>) -> Sent {
        self.send_now(&self.staff_texts.link(mail)).await
    }

    /// Hands `mail` to SMTP while the caller waits for the outcome.
    pub async fn send_now(&self, mail: &Mail) -> Sent {
        let Some(mailer) = &self.mailer else {
            return Sent::Off;
        };
        match tokio::time::timeout(WAIT_FOR_SERVER, mailer.send(mail)).await {
            Ok(Ok(())) => {
                tracing::info!(subject = %mail.subject, "mail sent");
                Sent::Sent
            }
            Ok(Err(error)) => {
                tracing::warn!(%error, subject = %mail.subject, "mail not sent");
                Sent::Failed(error.to_string())
            }
            Err(_) => {
                tracing::warn!(subject = %mail.subject, "mail not sent: the server did not answer in time");
                Sent::Failed(format!(
                    "the mail server did not answer within {} s",
                    WAIT_FOR_SERVER.as_secs()
                ))
            }
        }
    }

    fn link(&self, path: &str, issued: &IssuedToken, language: &str) -> String {
        let language = bureau_platform::texts::Catalog::language_for(Some(language));
        format!(
            "{}{path}?token={}&lang={language}",
            self.public_url, issued.token
        )
    }

    /// Hands `mail` to SMTP in the background, retrying what may pass.
    fn dispatch(&self, pool: &MySqlPool, account_id: Uuid, mail: Mail) {
        let Some(mailer) = self.mailer.clone() else {
            return;
        };
        let pool = pool.clone();
        tokio::spawn(async move {
            let mut pauses = BACKOFF.with_jitter().pauses();
            for attempt in 1..=TRIES {
                match mailer.send(&mail).await {
                    Ok(()) => {
                        tracing::info!(%account_id, subject = %mail.subject, "account mail sent");
                        return;
                    }
                    Err(MailError::Permanent(reason)) => {
                        tracing::warn!(%account_id, %reason, "the address refused an account mail for good");
                        // The profile and the staff card say so; order notices stop.
                        if let Err(error) =
                            tokens::mark_email_bouncing(&pool, account_id, &mail.to, &reason).await
                        {
                            tracing::warn!(%account_id, %error, "the bouncing address was not recorded");
                        }
                        return;
                    }
                    Err(MailError::Transient(reason)) if attempt < TRIES => {
                        let pause = pauses.next_pause();
                        tracing::warn!(%account_id, %reason, retry_in = ?pause, "account mail not sent yet; retrying");
                        tokio::time::sleep(pause).await;
                    }
                    Err(MailError::Transient(reason)) => {
                        tracing::error!(%account_id, %reason, "account mail not sent; gave up (the person can ask again)");
                    }
                }
            }
        });
    }
}
