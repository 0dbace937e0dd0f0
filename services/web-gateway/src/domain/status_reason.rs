//! Why staff moved an order: shown to the customer and kept in the status history.

/// The `order_status_history.reason` column width.
const MAX_CHARS: usize = 1000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusReason(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("A reason can be at most {MAX_CHARS} characters long.")]
pub struct StatusReasonError;

impl StatusReason {
    /// A missing or blank reason is no reason; the state machine decides if one is needed.
    pub fn parse(input: Option<&str>) -> Result<Option<StatusReason>, StatusReasonError> {
        match input.map(str::trim).filter(|r| !r.is_empty()) {
            None => Ok(None),
            Some(reason) if reason.chars().count() > MAX_CHARS => Err(StatusReasonError),
            Some(reason) => Ok(Some(StatusReason(reason.to_owned()))),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_reasons_are_none_and_long_ones_refused() {
        assert_eq!(StatusReason::parse(None), Ok(None));
        assert_eq!(StatusReason::parse(Some("  ")), Ok(None));
        assert_eq!(
            StatusReason::parse(Some(" late "))
                .unwrap()
                .unwrap()
                .as_str(),
            "late"
        );
        assert_eq!(
            StatusReason::parse(Some(&"x".repeat(1001))),
            Err(StatusReasonError)
        );
    }
}
