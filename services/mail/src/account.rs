//! The account mails' words, in the customer's language: the link that verifies an
//! address, the link that resets a forgotten password, and the note to an address that
//! already has an account when someone registers it again.
//!
//! Templates live in `locales/{uk,en}.toml` under `[account]`; the link and the name are
//! filled in after the template (one pass), so nothing a customer typed is read as a
//! placeholder.

use bureau_platform::texts::Catalog;

use crate::Mail;

/// The account mails' texts.
#[derive(Debug, Clone)]
pub struct AccountTexts {
    catalog: Catalog,
    business: String,
}

impl AccountTexts {
    /// `business` is the desk's name as customers know it (`[business] name`).
    pub fn new(business: &str) -> AccountTexts {
        AccountTexts {
            catalog: Catalog::new(&[
                ("uk", include_str!("../locales/uk.toml")),
                ("en", include_str!("../locales/en.toml")),
            ]),
            business: business.to_owned(),
        }
    }

    /// "Confirm your e-mail address", with the one-time `link`, valid `ttl_secs`.
    pub fn verify_email(
        &self,
        language: &str,
        to: &str,
        name: &str,
        link: &str,
        ttl_secs: u64,
    ) -> Mail {
        let hours = ttl_secs.div_ceil(3600).max(1).to_string();
        self.mail(
            language,
            to,
            "account.verify_subject",
            "account.verify_body",
            &[("name", name), ("link", link), ("hours", &hours)],
        )
    }

    /// "Reset your password", with the one-time `link`, valid `ttl_secs`.
    pub fn reset_password(&self, language: &str, to: &str, link: &str, ttl_secs: u64) -> Mail {
        let minutes = ttl_secs.div_ceil(60).max(1).to_string();
        self.mail(
            language,
            to,
            "account.reset_subject",
            "account.reset_body",
            &[("link", link), ("minutes", &minutes)],
        )
    }

    /// Someone registered an address that has an account: its owner hears of it, with a
    /// reset link should they have forgotten the password.
    pub fn already_registered(&self, language: &str, to: &str, link: &str) -> Mail {
        self.mail(
            language,
            to,
            "account.taken_subject",
            "account.taken_body",
            &[("link", link)],
        )
    }

    fn mail(
        &self,
        language: &str,
        to: &str,
        subject: &str,
        body: &str,
        args: &[(&str, &str)],
    ) -> Mail {
        let language = Catalog::language_for(Some(language));
        let mut args = args.to_vec();
        args.push(("business", &self.business));
        Mail {
            to: to.to_owned(),
            subject: self.catalog.format(language, subject, &args),
            text: self.catalog.format(language, body, &args).trim().to_owned() + "\n",
            language: language.to_owned(),
        }
    }

    /// Keys missing in one language: a test keeps this empty.
    pub fn missing_keys(&self) -> Vec<String> {
        self.catalog.missing_keys()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_text_exists_in_both_languages() {
        assert_eq!(
            AccountTexts::new("Slovo").missing_keys(),
            Vec::<String>::new()
        );
    }

    #[test]
    fn the_link_and_the_language_are_in_the_mail() {
        let texts = AccountTexts::new("Slovo");
        let mail = texts.verify_email("uk", "a@b.c", "Олена {link}", "https://d/v?t=1", 172_800);
        assert_eq!(mail.language, "uk");
        assert!(mail.subject.contains("Підтвердьте"), "{}", mail.subject);
        assert!(mail.text.contains("https://d/v?t=1"));
        assert!(mail.text.contains("48 год"), "{}", mail.text);
        // The name is filled in as typed, never read as a placeholder.
        assert!(mail.text.contains("Олена {link}"));
        let mail = texts.reset_password("en-GB", "a@b.c", "https://d/r?t=2", 3600);
        assert_eq!(mail.language, "en");
        assert!(mail.text.contains("60 minutes"), "{}", mail.text);
        assert!(mail.subject.starts_with("Reset your password"));
    }
}
