//! What the customer wrote about the order.

/// The order description, trimmed; may be empty when files say it all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderText(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderTextError {
    #[error("The order description can be at most 10,000 characters long; this one has {0}.")]
    TooLong(usize),
}

impl OrderText {
    /// Long enough for any brief; short enough to show on one staff screen.
    pub const MAX_CHARS: usize = 10_000;

    pub fn parse(input: &str) -> Result<OrderText, OrderTextError> {
        let text = input.trim();
        let length = text.chars().count();
        if length > OrderText::MAX_CHARS {
            return Err(OrderTextError::TooLong(length));
        }
        Ok(OrderText(text.to_owned()))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_and_may_be_empty() {
        assert_eq!(
            OrderText::parse("  Translate 3 pages\n").unwrap().as_str(),
            "Translate 3 pages"
        );
        assert!(OrderText::parse(" \n ").unwrap().is_empty());
    }

    #[test]
    fn the_limit_counts_characters_not_bytes() {
        assert!(OrderText::parse(&"ї".repeat(OrderText::MAX_CHARS)).is_ok());
        assert_eq!(
            OrderText::parse(&"ї".repeat(OrderText::MAX_CHARS + 1)),
            Err(OrderTextError::TooLong(OrderText::MAX_CHARS + 1))
        );
    }
}
