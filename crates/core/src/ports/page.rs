//! Keyset pagination as Outpost does it: fetch `limit + 1` in scan order after a cursor key,
//! set `next`/`prev` from the boundary items; backward pages scan in reverse and flip back.

/// Sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Dir {
    /// Ascending.
    Asc,
    /// Descending (the default).
    #[default]
    Desc,
}

impl Dir {
    /// The opposite direction.
    pub fn reverse(self) -> Self {
        match self {
            Dir::Asc => Dir::Desc,
            Dir::Desc => Dir::Asc,
        }
    }

    /// `asc` or `desc`.
    pub fn as_str(self) -> &'static str {
        match self {
            Dir::Asc => "asc",
            Dir::Desc => "desc",
        }
    }
}

/// A decoded cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageCursor<K> {
    /// Items after this key (in the page direction).
    Next(K),
    /// Items before this key.
    Prev(K),
}

/// What the caller asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest<K> {
    /// Sort direction of the page.
    pub dir: Dir,
    /// Page size.
    pub limit: usize,
    /// Position to continue from.
    pub cursor: Option<PageCursor<K>>,
}

/// One page of items with the keys for the neighbouring pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T, K> {
    /// Items in page order.
    pub items: Vec<T>,
    /// Key to pass as `next`, if there is a following page.
    pub next: Option<K>,
    /// Key to pass as `prev`, if there is a preceding page.
    pub prev: Option<K>,
}

impl<K: Clone> PageRequest<K> {
    /// The order to scan in and the exclusive start key; fetch `limit + 1` items.
    pub fn scan(&self) -> (Dir, Option<&K>) {
        match &self.cursor {
            None => (self.dir, None),
            Some(PageCursor::Next(k)) => (self.dir, Some(k)),
            Some(PageCursor::Prev(k)) => (self.dir.reverse(), Some(k)),
        }
    }

    /// Builds the page from up to `limit + 1` items fetched in [`Self::scan`] order.
    pub fn build<T>(&self, mut items: Vec<T>, key: impl Fn(&T) -> K) -> Page<T, K> {
        let more = items.len() > self.limit;
        items.truncate(self.limit);
        match &self.cursor {
            None => Page {
                next: if more { items.last().map(&key) } else { None },
                prev: None,
                items,
            },
            Some(PageCursor::Next(_)) => Page {
                next: if more { items.last().map(&key) } else { None },
                prev: items.first().map(&key),
                items,
            },
            Some(PageCursor::Prev(_)) => {
                items.reverse();
                Page {
                    next: items.last().map(&key),
                    prev: if more { items.first().map(&key) } else { None },
                    items,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pages through 0..n forward then backward using only the pagination helper.
    fn fetch(all: &[i32], req: &PageRequest<i32>) -> Page<i32, i32> {
        let (dir, after) = req.scan();
        let mut v: Vec<i32> = all.to_vec();
        if dir == Dir::Desc {
            v.reverse();
        }
        let items: Vec<i32> = v
            .into_iter()
            .filter(|x| match (after, dir) {
                (None, _) => true,
                (Some(a), Dir::Asc) => x > a,
                (Some(a), Dir::Desc) => x < a,
            })
            .take(req.limit + 1)
            .collect();
        req.build(items, |x| *x)
    }

    #[test]
    fn forward_and_back() {
        let all: Vec<i32> = (0..7).collect();
        let p1 = fetch(
            &all,
            &PageRequest {
                dir: Dir::Desc,
                limit: 3,
                cursor: None,
            },
        );
        assert_eq!(p1.items, vec![6, 5, 4]);
        assert_eq!((p1.next, p1.prev), (Some(4), None));
        let p2 = fetch(
            &all,
            &PageRequest {
                dir: Dir::Desc,
                limit: 3,
                cursor: Some(PageCursor::Next(4)),
            },
        );
        assert_eq!(p2.items, vec![3, 2, 1]);
        assert_eq!((p2.next, p2.prev), (Some(1), Some(3)));
        let p3 = fetch(
            &all,
            &PageRequest {
                dir: Dir::Desc,
                limit: 3,
                cursor: Some(PageCursor::Next(1)),
            },
        );
        assert_eq!(p3.items, vec![0]);
        assert_eq!((p3.next, p3.prev), (None, Some(0)));
        let back = fetch(
            &all,
            &PageRequest {
                dir: Dir::Desc,
                limit: 3,
                cursor: Some(PageCursor::Prev(3)),
            },
        );
        assert_eq!(back.items, vec![6, 5, 4]);
        assert_eq!((back.next, back.prev), (Some(4), None));
        let asc = fetch(
            &all,
            &PageRequest {
                dir: Dir::Asc,
                limit: 10,
                cursor: None,
            },
        );
        assert_eq!(asc.items, all);
        assert_eq!((asc.next, asc.prev), (None, None));
    }
}
