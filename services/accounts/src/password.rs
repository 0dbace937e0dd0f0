//! A new password, checked with the rules people know from Django's validators: long
//! enough, not only digits, not close to the email, not on a list of common passwords.
//! Passwords are never trimmed: every character the person typed counts.

use std::fmt;
use std::sync::LazyLock;

use super::Email;

pub const MIN_CHARS: usize = 10;
/// Hashing cost does not grow with length, but no real password needs more, and a bound
/// keeps pasted documents out.
pub const MAX_CHARS: usize = 256;
/// Django's default: at or above this ratio a password is "too similar".
const MAX_SIMILARITY: f64 = 0.7;

static COMMON_PASSWORDS: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
    include_str!("../assets/common-passwords.txt")
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect()
});

/// A password that passed every rule. `Debug` never shows it.
#[derive(Clone)]
pub struct Password(String);

/// One broken rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordProblem {
    TooShort,
    TooLong,
    EntirelyNumeric,
    TooSimilarToEmail,
    TooCommon,
}

impl PasswordProblem {
    pub fn message(self) -> String {
        match self {
            PasswordProblem::TooShort => {
                format!(
                    "This password is too short. It must contain at least {MIN_CHARS} characters."
                )
            }
            PasswordProblem::TooLong => {
                format!("This password is too long. It can contain at most {MAX_CHARS} characters.")
            }
            PasswordProblem::EntirelyNumeric => "This password is entirely numeric.".to_owned(),
            PasswordProblem::TooSimilarToEmail => {
                "This password is too similar to the email address.".to_owned()
            }
            PasswordProblem::TooCommon => "This password is too common.".to_owned(),
        }
    }
}

/// Every rule the candidate broke, so the person can fix them all at once.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.problems.iter().map(|p| p.message()).collect::<Vec<_>>().join(" "))]
pub struct WeakPassword {
    pub problems: Vec<PasswordProblem>,
}

impl Password {
    pub fn parse(candidate: &str, email: &Email) -> Result<Password, WeakPassword> {
        let length = candidate.chars().count();
        let mut problems = Vec::new();
        if length < MIN_CHARS {
            problems.push(PasswordProblem::TooShort);
        }
        if length > MAX_CHARS {
            problems.push(PasswordProblem::TooLong);
        }
        if !candidate.is_empty() && candidate.chars().all(|c| c.is_ascii_digit()) {
            problems.push(PasswordProblem::EntirelyNumeric);
        }
        if is_similar(candidate, email.local_part()) {
            problems.push(PasswordProblem::TooSimilarToEmail);
        }
        if COMMON_PASSWORDS.contains(&candidate.trim().to_lowercase().as_str()) {
            problems.push(PasswordProblem::TooCommon);
        }
        if problems.is_empty() {
            Ok(Password(candidate.to_owned()))
        } else {
            Err(WeakPassword { problems })
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// Django's `UserAttributeSimilarityValidator`: the attribute and each of its word pieces
/// are compared with `SequenceMatcher.quick_ratio`, skipping pieces far shorter than the
/// password (a long password containing "jo" is not similar to "jo").
fn is_similar(password: &str, attribute: &str) -> bool {
    let password = password.to_lowercase();
    let attribute = attribute.to_lowercase();
    let pieces = attribute
        .split(|c: char| !c.is_alphanumeric() && c != '_')
        .filter(|piece| !piece.is_empty())
        .chain(std::iter::once(attribute.as_str()));
    let password_length = password.chars().count();
    pieces.into_iter().any(|piece| {
        let piece_length = piece.chars().count();
        let far_shorter = password_length >= 10 * piece_length
            && (piece_length as f64) < MAX_SIMILARITY / 2.0 * password_length as f64;
        !far_shorter && quick_ratio(&password, piece) >= MAX_SIMILARITY
    })
}

/// Python's `SequenceMatcher.quick_ratio`: twice the shared characters (as multisets) over
/// the total length. An upper bound on similarity that ignores order.
fn quick_ratio(a: &str, b: &str) -> f64 {
    let total = a.chars().count() + b.chars().count();
    if total == 0 {
        return 1.0;
    }
    let mut remaining: std::collections::HashMap<char, usize> = std::collections::HashMap::new();
    for c in b.chars() {
        *remaining.entry(c).or_default() += 1;
    }
    let shared = a
        .chars()
        .filter(|c| match remaining.get_mut(c) {
            Some(count) if *count > 0 => {
                *count -= 1;
                true
            }
            _ => false,
        })
        .count();
    2.0 * shared as f64 / total as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email() -> Email {
        Email::parse("olena.kovalenko@example.com").unwrap()
    }

    fn problems(candidate: &str) -> Vec<PasswordProblem> {
        Password::parse(candidate, &email())
            .err()
            .map(|e| e.problems)
            .unwrap_or_default()
    }

    #[test]
    fn a_decent_password_passes() {
        assert!(problems("correct horse battery").is_empty());
        assert!(problems("Мій кіт любить 3 рибки").is_empty());
    }

    #[test]
    fn each_rule_names_itself() {
        assert_eq!(problems("short1"), vec![PasswordProblem::TooShort]);
        assert_eq!(
            problems("12345678901"),
            vec![PasswordProblem::EntirelyNumeric]
        );
        assert_eq!(
            problems("KovalenkoOlena"),
            vec![PasswordProblem::TooSimilarToEmail]
        );
        assert_eq!(problems("QwertyUiop"), vec![PasswordProblem::TooCommon]);
        assert_eq!(problems("ЙЦУКЕНГШЩЗ"), vec![PasswordProblem::TooCommon]);
        assert_eq!(
            problems(&"x".repeat(MAX_CHARS + 1)),
            vec![PasswordProblem::TooLong]
        );
    }

    #[test]
    fn all_broken_rules_are_reported_together() {
        let error = Password::parse("1234", &email()).unwrap_err();
        assert_eq!(
            error.problems,
            vec![PasswordProblem::TooShort, PasswordProblem::EntirelyNumeric]
        );
        assert_eq!(
            error.to_string(),
            "This password is too short. It must contain at least 10 characters. This password is entirely numeric."
        );
    }

    #[test]
    fn short_email_pieces_do_not_make_long_passwords_similar() {
        let email = Email::parse("jo@example.com").unwrap();
        assert!(Password::parse("a long phrase with jo in it", &email).is_ok());
    }

    #[test]
    fn quick_ratio_matches_python() {
        // SequenceMatcher(a="abcd", b="bcde").quick_ratio() == 0.75
        assert!((quick_ratio("abcd", "bcde") - 0.75).abs() < 1e-9);
        assert_eq!(quick_ratio("", ""), 1.0);
    }

    #[test]
    fn the_password_never_shows_in_debug_output() {
        let password = Password::parse("correct horse battery", &email()).unwrap();
        assert!(!format!("{password:?}").contains("horse"));
    }
}
