//! Pagination: the page bounds every list shares, the page a client asks for, and the page a
//! list answers with.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::validation::{ValidationErrors, in_range};

/// Largest page any list returns; larger requests are rejected, not silently cut.
pub const MAX_PAGE_SIZE: u32 = 100;
pub const DEFAULT_PAGE_SIZE: u32 = 20;
/// Deepest page of a list (offset pagination must not turn into a full scan).
pub const MAX_PAGE: u32 = 500;

/// One page of a list, plus whether another page follows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub page: u32,
    pub page_size: u32,
    pub has_more: bool,
}

/// The page parameters of a list's query string.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// 1-based page number (at most 500).
    pub page: Option<u32>,
    /// Items per page, 1 to 100 (default 20).
    pub page_size: Option<u32>,
}

/// A valid page request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub page: u32,
    pub page_size: u32,
}

impl PageRequest {
    pub fn parse(p: PageParams) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let page = Self::take_from(&mut errors, p.page, p.page_size);
        errors.finish(|| page)
    }

    /// Applies the defaults and the hard caps to optional page parameters, recording any
    /// violation in `errors`; the returned value is only meaningful if `errors` stays empty.
    pub fn take_from(
        errors: &mut ValidationErrors,
        page: Option<u32>,
        page_size: Option<u32>,
    ) -> Self {
        let page = errors.take(in_range("page", page.unwrap_or(1), 1, MAX_PAGE));
        let page_size = errors.take(in_range(
            "page_size",
            page_size.unwrap_or(DEFAULT_PAGE_SIZE),
            1,
            MAX_PAGE_SIZE,
        ));
        Self {
            page: page.unwrap_or(1),
            page_size: page_size.unwrap_or(DEFAULT_PAGE_SIZE),
        }
    }

    pub fn offset(&self) -> i64 {
        i64::from(self.page - 1) * i64::from(self.page_size)
    }
}

/// Builds a page from `page_size + 1` fetched rows.
pub fn page_of<T>(mut rows: Vec<T>, page: u32, page_size: u32) -> Page<T> {
    let has_more = rows.len() > page_size as usize;
    rows.truncate(page_size as usize);
    Page {
        items: rows,
        page,
        page_size,
        has_more,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_knows_whether_more_follow() {
        let page = page_of(vec![1, 2, 3], 1, 2);
        assert_eq!(page.items, vec![1, 2]);
        assert!(page.has_more);
        assert!(!page_of(vec![1, 2], 1, 2).has_more);
    }

    #[test]
    fn pages_are_bounded() {
        let ok = |page, page_size| {
            PageRequest::parse(PageParams {
                page: Some(page),
                page_size: Some(page_size),
            })
            .is_ok()
        };
        assert!(ok(1, 1) && ok(MAX_PAGE, MAX_PAGE_SIZE));
        assert!(!ok(0, 20) && !ok(MAX_PAGE + 1, 20) && !ok(1, 0) && !ok(1, MAX_PAGE_SIZE + 1));
        let third = PageRequest::parse(PageParams {
            page: Some(3),
            page_size: Some(20),
        });
        assert_eq!(third.map(|p| p.offset()).ok(), Some(40));
    }
}
