//! E-mail to customers through SMTP, with `lettre` (tokio, rustls), set up by `[mail]`
//! (`bureau_platform::settings::MailSettings`).
//!
//! - [`Mailer`]: one connection pool to the SMTP server and one send, whose failure says
//!   whether to try again ([`MailError::Transient`]: the server is down, busy or answered
//!   4xx) or never ([`MailError::Permanent`]: a 5xx answer such as "550 no such user", or
//!   an address that is not one), so callers can retry the one and dead-letter the other.
//! - [`account`]: the words of the account mails (verify the address, reset a password,
//!   "this address already has an account") in Ukrainian and English.
//! - [`staff`]: the words of the staff mails an admin's action sends (an invitation to the
//!   back office, a link for a new password) in Ukrainian and English.
//!
//! The order notices' words are the notifier's (`services/notifier/locales`).

pub mod account;
pub mod staff;

use std::time::Duration;

use bureau_platform::settings::{MailSettings, SmtpTls};
use lettre::message::header::{ContentType, Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, Message};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

/// One e-mail: plain text, UTF-8 (lettre picks the transfer encoding).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub text: String,
    /// The `Content-Language` of the text (`uk`, `en`).
    pub language: String,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum MailError {
    /// Will not work however often it is tried: the server refused the address or the
    /// message for good (a 5xx reply), or the address is not an address.
    #[error("refused for good: {0}")]
    Permanent(String),
    /// May work later: the server is unreachable, timed out, or answered 4xx.
    #[error("not sent, try again later: {0}")]
    Transient(String),
}

impl MailError {
    pub fn is_permanent(&self) -> bool {
        matches!(self, MailError::Permanent(_))
    }
}

/// `Content-Language: uk`: lettre has no typed header for it.
#[derive(Debug, Clone)]
struct ContentLanguage(String);

impl Header for ContentLanguage {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Content-Language")
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ContentLanguage(s.to_owned()))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// Sends e-mail through the configured SMTP server. Cheap to clone (a shared pool).
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    sender: Mailbox,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("sender", &self.sender.to_string())
            .finish_non_exhaustive()
    }
}

impl Mailer {
    /// `None` when `[mail]` has no host: e-mail is switched off.
    pub fn from_settings(settings: &MailSettings) -> anyhow::Result<Option<Mailer>> {
        if !settings.enabled() {
            return Ok(None);
        }
        let host = settings.host.trim();
        let builder = match settings.tls {
            SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
            SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)?,
            SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host)?,
        };
        let mut builder = builder
            .port(settings.port)
            .timeout(Some(Duration::from_secs(settings.timeout_secs.max(1))));
        if !settings.username.is_empty() {
            builder = builder.credentials(Credentials::new(
                settings.username.clone(),
                settings.password.expose().to_owned(),
            ));
        }
        let sender: Mailbox = settings.sender.parse().map_err(|e| {
            anyhow::anyhow!("mail.sender {:?} is not an address: {e}", settings.sender)
        })?;
        Ok(Some(Mailer {
            transport: builder.build(),
            sender,
        }))
    }

    /// Hands `mail` to the SMTP server; `Ok` once the server accepted it (250 after DATA).
    pub async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        let to: Mailbox = mail
            .to
            .parse()
            .map_err(|e| MailError::Permanent(format!("not an e-mail address: {e}")))?;
        let language = ContentLanguage(mail.language.clone());
        let message = Message::builder()
            .from(self.sender.clone())
            .to(to)
            .subject(mail.subject.clone())
            .header(ContentType::TEXT_PLAIN)
            .header(language)
            .body(mail.text.clone())
            .map_err(|e| MailError::Permanent(format!("the message cannot be built: {e}")))?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(error) if error.is_permanent() => Err(MailError::Permanent(error.to_string())),
            Err(error) => Err(MailError::Transient(error.to_string())),
        }
    }
}
