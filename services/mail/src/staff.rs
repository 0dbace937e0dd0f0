//! The staff mails' words, in the staff member's language: the invitation to the back
//! office and the link for a new password, both made by an admin (the web gateway's
//! `office::admin::staff`). Templates live in `locales/staff.{uk,en}.toml` under `[staff]`;
//! names and the link are filled in after the template (one pass), so nothing a person
//! typed is read as a placeholder.

use bureau_platform::texts::Catalog;

use crate::Mail;

/// Why a set-password link was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaffLink {
    Invitation,
    Reset,
}

/// What a staff mail says besides its kind.
#[derive(Debug, Clone, Copy)]
pub struct StaffLinkMail<'a> {
    pub kind: StaffLink,
    /// `uk` or `en` (anything else reads as the default, `uk`).
    pub language: &'a str,
    pub to: &'a str,
    pub name: &'a str,
    /// The admin who made the link.
    pub admin: &'a str,
    /// The role in words, in `language`.
    pub role: &'a str,
    pub business: &'a str,
    pub link: &'a str,
    pub ttl_hours: u64,
}

/// The staff mails' texts.
#[derive(Debug, Clone)]
pub struct StaffTexts {
    catalog: Catalog,
}

impl Default for StaffTexts {
    fn default() -> Self {
        StaffTexts::new()
    }
}

impl StaffTexts {
    pub fn new() -> StaffTexts {
        StaffTexts {
            catalog: Catalog::new(&[
                ("uk", include_str!("../locales/staff.uk.toml")),
                ("en", include_str!("../locales/staff.en.toml")),
            ]),
        }
    }

    /// The mail carrying a set-password link.
    pub fn link(&self, mail: &StaffLinkMail<'_>) -> Mail {
        let language = Catalog::language_for(Some(mail.language));
        let (subject, body) = match mail.kind {
            StaffLink::Invitation => ("staff.invite_subject", "staff.invite_body"),
            StaffLink::Reset => ("staff.reset_subject", "staff.reset_body"),
        };
        let hours = mail.ttl_hours.max(1).to_string();
        let args = [
            ("name", mail.name),
            ("admin", mail.admin),
            ("role", mail.role),
            ("business", mail.business),
            ("link", mail.link),
            ("hours", hours.as_str()),
        ];
        Mail {
            to: mail.to.to_owned(),
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

    fn mail(kind: StaffLink, language: &str) -> Mail {
        StaffTexts::new().link(&StaffLinkMail {
            kind,
            language,
            to: "ivan@example.com",
            name: "Іван {link}",
            admin: "Ada Admin",
            role: "виконавець",
            business: "Slovo",
            link: "https://desk.example/office/set-password/ab12",
            ttl_hours: 72,
        })
    }

    #[test]
    fn every_text_exists_in_both_languages() {
        assert_eq!(StaffTexts::new().missing_keys(), Vec::<String>::new());
    }

    #[test]
    fn the_link_the_people_and_the_language_are_in_the_mail() {
        let invite = mail(StaffLink::Invitation, "uk");
        assert_eq!(invite.language, "uk");
        assert_eq!(invite.to, "ivan@example.com");
        assert!(invite.subject.contains("Запрошення"), "{}", invite.subject);
        assert!(
            invite
                .text
                .contains("https://desk.example/office/set-password/ab12"),
            "{}",
            invite.text
        );
        assert!(invite.text.contains("Ada Admin"));
        assert!(invite.text.contains("виконавець"));
        assert!(invite.text.contains("72 год"));
        // A name is filled in as typed, never read as a placeholder.
        assert!(invite.text.contains("Іван {link}"));
        let reset = mail(StaffLink::Reset, "en-GB");
        assert_eq!(reset.language, "en");
        assert!(
            reset.subject.starts_with("A new password"),
            "{}",
            reset.subject
        );
        assert!(reset.text.contains("for 72 hours"), "{}", reset.text);
    }
}
