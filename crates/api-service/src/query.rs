//! Query-string conventions: array parameters as `x[0]=a&x[1]=b`, `x[]=a` or repeated `x=a`,
//! single values, and the shared list parameters (`limit`, `dir`, `next`/`prev`).

use crate::error::ApiError;
use outpost_core::cursor;
use outpost_core::ports::page::{Dir, PageCursor};

/// A parsed query string.
#[derive(Debug, Clone, Default)]
pub struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    /// Parses a raw query string (`None` = no query).
    pub fn parse(raw: Option<&str>) -> Self {
        Self {
            pairs: form_urlencoded::parse(raw.unwrap_or("").as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        }
    }

    /// Every (name, value) pair in order.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// All values of array parameter `name` in any of the three notations.
    pub fn array(&self, name: &str) -> Vec<String> {
        let mut indexed: Vec<(usize, String)> = Vec::new();
        let mut plain: Vec<String> = Vec::new();
        for (k, v) in &self.pairs {
            if let Some(rest) = k.strip_prefix(name).and_then(|r| r.strip_prefix('[')) {
                if let Some(idx) = rest.strip_suffix(']') {
                    if idx.is_empty() {
                        plain.push(v.clone());
                    } else if let Ok(i) = idx.parse::<usize>() {
                        indexed.push((i, v.clone()));
                    }
                }
            } else if k == name {
                plain.push(v.clone());
            }
        }
        indexed.sort_by_key(|(i, _)| *i);
        let mut out: Vec<String> = indexed.into_iter().map(|(_, v)| v).collect();
        out.extend(plain);
        out.retain(|v| !v.is_empty());
        out
    }

    /// `dir`: `asc` or `desc` (default `desc`).
    pub fn dir(&self) -> Result<Dir, ApiError> {
        match self.get("dir") {
            None | Some("") | Some("desc") => Ok(Dir::Desc),
            Some("asc") => Ok(Dir::Asc),
            Some(_) => Err(ApiError::query("query.dir", "must be 'asc' or 'desc'")),
        }
    }

    /// `next` / `prev` decoded as a cursor of `resource`, data parsed by `parse`.
    pub fn cursor<K>(
        &self,
        resource: &str,
        parse: impl Fn(&str) -> Option<K>,
    ) -> Result<Option<PageCursor<K>>, ApiError> {
        let next = self.get("next").filter(|v| !v.is_empty());
        let prev = self.get("prev").filter(|v| !v.is_empty());
        let decode = |c: &str| -> Result<K, ApiError> {
            let data = cursor::decode(resource, "01", c)
                .map_err(|e| ApiError::bad_request(e.to_string()))?;
            parse(&data).ok_or_else(|| ApiError::bad_request("invalid cursor"))
        };
        match (next, prev) {
            (Some(_), Some(_)) => Err(ApiError::bad_request(
                "cannot specify both 'next' and 'prev' cursors",
            )),
            (Some(n), None) => Ok(Some(PageCursor::Next(decode(n)?))),
            (None, Some(p)) => Ok(Some(PageCursor::Prev(decode(p)?))),
            (None, None) => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn array_notations() {
        let q = Query::parse(Some(
            "type[1]=b&type[0]=a&topics[]=x&topics[]=y&id=1&id=2&other=z",
        ));
        assert_eq!(q.array("type"), vec!["a", "b"]);
        assert_eq!(q.array("topics"), vec!["x", "y"]);
        assert_eq!(q.array("id"), vec!["1", "2"]);
        assert!(q.array("missing").is_empty());
        assert!(Query::parse(Some("dir=up")).dir().is_err());
        assert!(
            Query::parse(Some("next=a&prev=b"))
                .cursor("tnt", |s| Some(s.to_string()))
                .is_err()
        );
    }
}
