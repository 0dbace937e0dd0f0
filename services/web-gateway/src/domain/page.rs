//! Which page of a list the client asked for: the first, or the one after a cursor
//! (`?after=`, the `next` the page before gave).
//!
//! Lists are walked by keyset, newest first by `(created_at, id)`: a page starts below the
//! last line of the page before, so a deep page costs what the first does, and orders placed
//! while someone pages do not shift the pages (they appear on the first). A cursor is
//! `{page number}.{created_at in µs since the epoch}.{order id}`; the number is only for
//! showing where one is.

use chrono::{DateTime, Utc};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    number: u32,
    after: Option<Cursor>,
}

/// The last line of the page before: the next page starts below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub created_at: DateTime<Utc>,
    pub id: Uuid,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PageError {
    #[error(
        "`page` can only be 1: later pages are reached with `after`, the `next` of the page before."
    )]
    Number,
    #[error("`after` must be the `next` given with a page of this list.")]
    Cursor,
}

impl Page {
    /// Rows per page in every list.
    pub const SIZE: u32 = 20;

    /// No `after` means the first page; `page`, if given, must be 1 (the one page that
    /// needs no cursor, for clients of the offset lists).
    pub fn parse(page: Option<&str>, after: Option<&str>) -> Result<Page, PageError> {
        if let Some(number) = filled(page)
            && number != "1"
        {
            return Err(PageError::Number);
        }
        match filled(after) {
            None => Ok(Page {
                number: 1,
                after: None,
            }),
            Some(cursor) => Page::from_cursor(cursor).ok_or(PageError::Cursor),
        }
    }

    fn from_cursor(text: &str) -> Option<Page> {
        let mut parts = text.split('.');
        let number: u32 = parts.next()?.parse().ok().filter(|n| *n >= 2)?;
        let micros: i64 = parts.next()?.parse().ok()?;
        let id = Uuid::try_parse(parts.next()?).ok()?;
        if parts.next().is_some() {
            return None;
        }
        let created_at = DateTime::from_timestamp_micros(micros)?;
        Some(Page {
            number,
            after: Some(Cursor { created_at, id }),
        })
    }

    pub fn number(self) -> u32 {
        self.number
    }

    /// Where this page starts: below this line (none for the first page).
    pub fn after(self) -> Option<Cursor> {
        self.after
    }

    /// The cursor of the page after this one, whose last line is `last`.
    pub fn next(self, last: Cursor) -> String {
        format!(
            "{}.{}.{}",
            self.number.saturating_add(1),
            last.created_at.timestamp_micros(),
            last.id.simple()
        )
    }
}

/// The input, unless absent or blank.
fn filled(input: Option<&str>) -> Option<&str> {
    input.map(str::trim).filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_cursor_is_the_first_page() {
        for (page, after) in [(None, None), (Some(""), Some(" ")), (Some("1"), None)] {
            let first = Page::parse(page, after).unwrap();
            assert_eq!((first.number(), first.after()), (1, None));
        }
    }

    #[test]
    fn a_cursor_leads_to_the_page_after_its_line() {
        let last = Cursor {
            created_at: DateTime::from_timestamp_micros(1_765_000_000_123_456).unwrap(),
            id: Uuid::now_v7(),
        };
        let first = Page::parse(None, None).unwrap();
        let cursor = first.next(last);
        let second = Page::parse(None, Some(&cursor)).unwrap();
        assert_eq!((second.number(), second.after()), (2, Some(last)));
        assert!(
            Page::parse(None, Some(&second.next(last)))
                .unwrap()
                .number()
                == 3
        );
    }

    #[test]
    fn offsets_and_forged_cursors_are_refused() {
        for junk in ["0", "-1", "2", "two", "1.5", "10001"] {
            assert_eq!(
                Page::parse(Some(junk), None),
                Err(PageError::Number),
                "{junk}"
            );
        }
        let id = Uuid::now_v7().simple();
        for junk in [
            "x".to_owned(),
            format!("1.1765000000000000.{id}"),
            format!("2.soon.{id}"),
            "2.1765000000000000.not-a-uuid".to_owned(),
            format!("2.1765000000000000.{id}.more"),
            format!("2.99999999999999999999.{id}"),
        ] {
            assert_eq!(
                Page::parse(None, Some(&junk)),
                Err(PageError::Cursor),
                "{junk}"
            );
        }
    }
}
