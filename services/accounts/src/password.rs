//! A new password, checked with the rules people know from Django's validators and NIST
//! SP 800-63B: 12 to 128 characters, not only digits, not close to the email, and not on a
//! list of known-breached passwords. The list is the `passwords` crate's table (about
//! 100,000 passwords most often seen in breaches, SecLists' top 100k) plus our own short
//! list of what Ukrainian speakers type (`assets/common-passwords.txt`: `ЙЦУКЕН…`, the
//! Cyrillic keyboard rows, transliterated favourites). Passwords are never trimmed: every
//! character the person typed counts. Each broken rule has a sentence in Ukrainian and
//! English ([`PasswordProblem::message_in`]).

use std::fmt;
use std::sync::LazyLock;

use super::Email;

pub const MIN_CHARS: usize = 12;
/// Hashing cost does not grow with length, but no real password (or passphrase) needs more,
/// and a bound keeps pasted documents out.
pub const MAX_CHARS: usize = 128;
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
    /// The rule's sentence in `language` (`uk` or `en`; anything else reads English).
    pub fn message_in(self, language: &str) -> String {
        if language != "uk" {
            return self.message();
        }
        match self {
            PasswordProblem::TooShort => {
                format!("Пароль закороткий: потрібно щонайменше {MIN_CHARS} символів.")
            }
            PasswordProblem::TooLong => {
                format!("Пароль задовгий: можна щонайбільше {MAX_CHARS} символів.")
            }
            PasswordProblem::EntirelyNumeric => "Пароль не може складатися лише з цифр.".to_owned(),
            PasswordProblem::TooSimilarToEmail => {
                "Пароль надто схожий на адресу електронної пошти.".to_owned()
            }
            PasswordProblem::TooCommon => {
                "Цей пароль надто поширений: він є у списках зламаних паролів.".to_owned()
            }
        }
    }

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
        if is_breached(candidate) {
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

/// Whether the candidate (as typed, or lowercased) is on the breached lists.
fn is_breached(candidate: &str) -> bool {
    let lowered = candidate.trim().to_lowercase();
    COMMON_PASSWORDS.contains(&lowered.as_str())
        || passwords::analyzer::is_common_password(candidate)
        || passwords::analyzer::is_common_password(&lowered)
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
        assert_eq!(problems("zqv8kw"), vec![PasswordProblem::TooShort]);
        assert_eq!(problems("eleven char"), vec![PasswordProblem::TooShort]);
        assert_eq!(
            problems("8273645190283"),
            vec![PasswordProblem::EntirelyNumeric]
        );
        assert_eq!(
            problems("KovalenkoOlena"),
            vec![PasswordProblem::TooSimilarToEmail]
        );
        assert_eq!(problems("ЙЦУКЕНГШЩЗХЇ"), vec![PasswordProblem::TooCommon]);
        assert_eq!(
            problems(&"x".repeat(MAX_CHARS + 1)),
            vec![PasswordProblem::TooLong]
        );
    }

    #[test]
    fn the_large_breached_list_is_consulted() {
        // From the packaged list of about 100,000, not from our own short one.
        for breached in [
            "Playstation3",
            "a1s2d3f4g5h6",
            "sonnenschein",
            "Howareyou123",
        ] {
            assert!(!COMMON_PASSWORDS.contains(&breached.to_lowercase().as_str()));
            assert_eq!(
                problems(breached),
                vec![PasswordProblem::TooCommon],
                "{breached}"
            );
        }
        assert!(problems("a quiet orchard in Lviv").is_empty());
    }

    #[test]
    fn every_rule_reads_in_ukrainian_and_english() {
        use PasswordProblem::*;
        for problem in [
            TooShort,
            TooLong,
            EntirelyNumeric,
            TooSimilarToEmail,
            TooCommon,
        ] {
            let uk = problem.message_in("uk");
            assert_ne!(uk, problem.message_in("en"));
            assert_eq!(problem.message_in("en"), problem.message());
            assert!(uk.chars().any(|c| ('а'..='я').contains(&c)), "{uk}");
        }
        assert!(TooShort.message_in("uk").contains("12"));
    }

    #[test]
    fn all_broken_rules_are_reported_together() {
        let error = Password::parse("9382716", &email()).unwrap_err();
        assert_eq!(
            error.problems,
            vec![PasswordProblem::TooShort, PasswordProblem::EntirelyNumeric]
        );
        assert_eq!(
            error.to_string(),
            "This password is too short. It must contain at least 12 characters. This password is entirely numeric."
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
