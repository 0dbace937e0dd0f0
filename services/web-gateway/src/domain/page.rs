//! Which page of a list the client asked for (`?page=`, counted from 1).

/// Deep pages make MySQL skip many rows; nobody pages this far by hand.
const MAX_PAGE: u32 = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page(u32);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`page` must be a whole number from 1 to {MAX_PAGE}.")]
pub struct PageError;

impl Page {
    /// Rows per page in every list.
    pub const SIZE: u32 = 20;

    /// No `page` (or an empty one) means the first page.
    pub fn parse(input: Option<&str>) -> Result<Page, PageError> {
        match input.map(str::trim).filter(|s| !s.is_empty()) {
            None => Ok(Page(1)),
            Some(text) => match text.parse::<u32>() {
                Ok(number) if (1..=MAX_PAGE).contains(&number) => Ok(Page(number)),
                _ => Err(PageError),
            },
        }
    }

    pub fn number(self) -> u32 {
        self.0
    }

    /// Rows to skip before this page.
    pub fn offset(self) -> u32 {
        (self.0 - 1) * Page::SIZE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_count_from_one() {
        assert_eq!(Page::parse(None), Ok(Page(1)));
        assert_eq!(Page::parse(Some("")), Ok(Page(1)));
        assert_eq!(Page::parse(Some("3")).unwrap().offset(), 40);
    }

    #[test]
    fn nonsense_pages_are_refused() {
        for junk in ["0", "-1", "two", "1.5", "10001"] {
            assert_eq!(Page::parse(Some(junk)), Err(PageError), "{junk}");
        }
    }
}
