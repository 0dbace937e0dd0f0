//! One page of a list, as every list route answers it:
//! `{"page": 1, "per_page": 20, "has_more": false, "orders": [...]}`.

use serde::Serialize;

use crate::domain::Page;

#[derive(Debug, Serialize)]
pub struct Listing<T> {
    pub page: u32,
    pub per_page: u32,
    pub has_more: bool,
    pub orders: Vec<T>,
}

impl<T> Listing<T> {
    /// Queries fetch `Page::SIZE + 1` rows: the extra row is not shown, it only says that
    /// another page exists.
    pub fn from_rows(page: Page, mut rows: Vec<T>) -> Listing<T> {
        let page_size = Page::SIZE as usize;
        let has_more = rows.len() > page_size;
        rows.truncate(page_size);
        Listing {
            page: page.number(),
            per_page: Page::SIZE,
            has_more,
            orders: rows,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_knows_whether_more_follow() {
        let page = Page::parse(None).unwrap();
        let full = Listing::from_rows(page, (0..=Page::SIZE).collect());
        assert!(full.has_more);
        assert_eq!(full.orders.len(), Page::SIZE as usize);
        let last = Listing::from_rows(page, vec![1, 2]);
        assert!(!last.has_more);
        assert_eq!(last.orders, vec![1, 2]);
    }
}
