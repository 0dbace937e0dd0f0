//! The catalogue service an order is for, as the page sends it (`translation.legal`).

/// The `orders.service_code` column width.
const MAX_LENGTH: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceCode(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("A service code is at most {MAX_LENGTH} lowercase letters, digits, '.', '_' or '-'.")]
pub struct ServiceCodeError;

impl ServiceCode {
    /// A blank code means "no particular service".
    pub fn parse(input: &str) -> Result<Option<ServiceCode>, ServiceCodeError> {
        let code = input.trim();
        if code.is_empty() {
            return Ok(None);
        }
        let valid = code.len() <= MAX_LENGTH
            && code
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
        if valid {
            Ok(Some(ServiceCode(code.to_owned())))
        } else {
            Err(ServiceCodeError)
        }
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
    fn codes_are_plain_identifiers() {
        assert_eq!(ServiceCode::parse(" "), Ok(None));
        assert_eq!(
            ServiceCode::parse("translation.legal")
                .unwrap()
                .unwrap()
                .into_string(),
            "translation.legal"
        );
        assert_eq!(ServiceCode::parse("Print A4"), Err(ServiceCodeError));
        assert_eq!(ServiceCode::parse(&"a".repeat(101)), Err(ServiceCodeError));
    }
}
