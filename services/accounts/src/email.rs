//! An account's email address: the login name, unique per account.

use std::fmt;

/// The longest address SMTP allows, and the `web_accounts.email` column's width.
const MAX_LENGTH: usize = 254;
const MAX_LOCAL_PART_LENGTH: usize = 64;

/// A syntactically plausible address, trimmed and lowercased. Lowercased because the
/// unique index compares case-insensitively anyway: one stored spelling keeps lookups and
/// the password similarity check simple. Whether mail arrives is not checked here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("Enter an email address.")]
    Empty,
    #[error("An email address can be at most {MAX_LENGTH} characters long.")]
    TooLong,
    #[error("Enter a valid email address, like name@example.com.")]
    Malformed,
}

impl Email {
    pub fn parse(input: &str) -> Result<Email, EmailError> {
        let address = input.trim().to_lowercase();
        if address.is_empty() {
            return Err(EmailError::Empty);
        }
        if address.chars().count() > MAX_LENGTH {
            return Err(EmailError::TooLong);
        }
        let (local, domain) = address.split_once('@').ok_or(EmailError::Malformed)?;
        if !is_local_part(local) || !is_domain(domain) {
            return Err(EmailError::Malformed);
        }
        Ok(Email(address))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part before `@`, which people often reuse in their passwords.
    pub fn local_part(&self) -> &str {
        self.0
            .split_once('@')
            .map_or(self.0.as_str(), |(local, _)| local)
    }
}

fn is_local_part(local: &str) -> bool {
    !local.is_empty()
        && local.chars().count() <= MAX_LOCAL_PART_LENGTH
        && !local.starts_with('.')
        && !local.ends_with('.')
        && local
            .chars()
            .all(|c| !c.is_whitespace() && !c.is_control() && !"@<>()[],;:\\\"".contains(c))
}

/// A dotted host name: `example.com`, `mail.example.co.uk`, internationalised names too.
fn is_domain(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|label| {
            !label.is_empty()
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_trimmed_and_lowercased() {
        let email = Email::parse("  Olena.K@Example.COM ").unwrap();
        assert_eq!(email.as_str(), "olena.k@example.com");
        assert_eq!(email.local_part(), "olena.k");
    }

    #[test]
    fn international_domains_are_accepted() {
        assert!(Email::parse("друк@приклад.укр").is_ok());
        assert!(Email::parse("a+tag@mail.example.co.uk").is_ok());
    }

    #[test]
    fn junk_is_refused_with_a_reason() {
        assert_eq!(Email::parse("   "), Err(EmailError::Empty));
        for junk in [
            "plainaddress",
            "@example.com",
            "name@",
            "name@localhost",
            "a b@example.com",
            "name@@example.com",
            "name@exa_mple.com",
            "name@-example.com",
            ".name@example.com",
            "name@example..com",
        ] {
            assert_eq!(Email::parse(junk), Err(EmailError::Malformed), "{junk}");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert_eq!(Email::parse(&long), Err(EmailError::TooLong));
    }
}
