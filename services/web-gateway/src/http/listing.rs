//! One page of a list, as every list route answers it:
//! `{"page": 1, "per_page": 20, "has_more": true, "next": "2.…", "orders": [...]}`;
//! the next page is `?after={next}` (see `domain::page`).

use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::{Cursor, Page};

#[derive(Debug, Serialize, ToSchema)]
pub struct Listing<T> {
    pub page: u32,
    pub per_page: u32,
    pub has_more: bool,
    /// The cursor of the next page, when there is one.
    pub next: Option<String>,
    pub orders: Vec<T>,
}

impl<T> Listing<T> {
    /// Queries fetch `Page::SIZE + 1` rows: the extra row is not shown, it only says that
    /// another page exists, which starts below the last row shown (`key` tells its place).
    pub fn from_rows(page: Page, mut rows: Vec<T>, key: impl Fn(&T) -> Cursor) -> Listing<T> {
        let page_size = Page::SIZE as usize;
        let has_more = rows.len() > page_size;
        rows.truncate(page_size);
        let next = match rows.last() {
            Some(last) if has_more => Some(page.next(key(last))),
            _ => None,
        };
        Listing {
            page: page.number(),
            per_page: Page::SIZE,
            has_more,
            next,
            orders: rows,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};
    use uuid::Uuid;

    fn line(n: u32) -> (DateTime<Utc>, Uuid) {
        let created_at = DateTime::from_timestamp_micros(1_765_000_000_000_000 - i64::from(n));
        (created_at.unwrap(), Uuid::now_v7())
    }

    fn key(line: &(DateTime<Utc>, Uuid)) -> Cursor {
        Cursor {
            created_at: line.0,
            id: line.1,
        }
    }

    #[test]
    fn a_page_knows_whether_more_follow_and_where_they_start() {
        let page = Page::parse(None, None).unwrap();
        let rows: Vec<_> = (0..=Page::SIZE).map(line).collect();
        let last_shown = key(&rows[Page::SIZE as usize - 1]);
        let full = Listing::from_rows(page, rows, key);
        assert!(full.has_more);
        assert_eq!(full.orders.len(), Page::SIZE as usize);
        let next = Page::parse(None, full.next.as_deref()).unwrap();
        assert_eq!((next.number(), next.after()), (2, Some(last_shown)));

        let last = Listing::from_rows(page, vec![line(1), line(2)], key);
        assert!(!last.has_more);
        assert_eq!(last.next, None);
        assert_eq!(last.orders.len(), 2);
    }
}
