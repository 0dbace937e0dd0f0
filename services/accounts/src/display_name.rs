//! The name we show for an account: to staff in lists, to the person in greetings.

use std::fmt;

/// The `web_accounts.display_name` and `customers.display_name` column width.
const MAX_LENGTH: usize = 200;

/// A trimmed, non-empty name without control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DisplayNameError {
    #[error("Enter your name.")]
    Empty,
    #[error("A name can be at most {MAX_LENGTH} characters long.")]
    TooLong,
    #[error("A name cannot contain control characters such as line breaks.")]
    ControlCharacters,
}

impl DisplayName {
    pub fn parse(input: &str) -> Result<DisplayName, DisplayNameError> {
        let name = input.trim();
        if name.is_empty() {
            return Err(DisplayNameError::Empty);
        }
        if name.chars().count() > MAX_LENGTH {
            return Err(DisplayNameError::TooLong);
        }
        if name.chars().any(char::is_control) {
            return Err(DisplayNameError::ControlCharacters);
        }
        Ok(DisplayName(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DisplayName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed() {
        assert_eq!(
            DisplayName::parse("  Олена Коваль ").unwrap().as_str(),
            "Олена Коваль"
        );
    }

    #[test]
    fn blank_long_and_control_names_are_refused() {
        assert_eq!(DisplayName::parse(" \t "), Err(DisplayNameError::Empty));
        assert_eq!(
            DisplayName::parse(&"я".repeat(201)),
            Err(DisplayNameError::TooLong)
        );
        assert!(DisplayName::parse(&"я".repeat(200)).is_ok());
        assert_eq!(
            DisplayName::parse("Olena\nDROP"),
            Err(DisplayNameError::ControlCharacters)
        );
    }
}
