//! The client of ClickHouse's HTTP interface, and the SQL literals queries are built from.
//!
//! * Statements go in the POST body; results come back as `JSONEachRow` (or
//!   `JSONCompactEachRow`) lines. Inserts send `INSERT INTO t (cols) FORMAT JSONEachRow` as the
//!   `query` parameter and the rows as the body, as ClickHouse documents.
//! * Credentials travel in `X-ClickHouse-User` / `X-ClickHouse-Key`. No compression is asked
//!   for or sent, and no proxy from the environment is used.
//! * A non-2xx answer becomes [`ChError::Server`] with ClickHouse's error text and code. An
//!   error ClickHouse writes into a 200 answer after streaming began is recognised too.
//! * Values reach SQL as literals built here ([`quote`], [`time`]): strings are escaped for
//!   ClickHouse's quoted-string syntax (`\\`, `\'`, control bytes as `\xHH`), numbers are
//!   formatted by Rust. No caller text is ever spliced in unescaped.
//! * 64-bit integers may come back as JSON strings (`output_format_json_quote_64bit_integers`,
//!   on by default in many ClickHouse versions); [`Num`] reads both.

use crate::{ChError, ChSettings};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::time::Duration;

/// Longest error text kept from a ClickHouse answer.
const MAX_ERROR_TEXT: usize = 4096;
/// Idle pooled connections are dropped sooner than ClickHouse's `keep_alive_timeout` (10 s by
/// default) closes them, so a request never lands on a connection the server just closed.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(2);

/// The HTTP interface of one ClickHouse server.
#[derive(Clone)]
pub(crate) struct Http {
    client: reqwest::Client,
    url: reqwest::Url,
    username: String,
    password: String,
}

impl std::fmt::Debug for Http {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Http").field("url", &self.url).finish()
    }
}

impl Http {
    pub(crate) fn new(s: &ChSettings) -> Result<Self, ChError> {
        let client = reqwest::Client::builder()
            .no_proxy()
            .connect_timeout(Duration::from_secs(10))
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .build()
            .map_err(ChError::Client)?;
        let base = format!("{}/", s.url.trim_end_matches('/'));
        let url = reqwest::Url::parse(&base)
            .map_err(|e| ChError::Config(format!("ClickHouse URL {:?}: {e}", s.url)))?;
        Ok(Self {
            client,
            url,
            username: s.username.clone(),
            password: s.password.clone(),
        })
    }

    /// Sends one request and returns the body of a 2xx answer.
    async fn send(
        &self,
        query: Option<&str>,
        body: Vec<u8>,
        timeout: Duration,
    ) -> Result<String, ChError> {
        let mut url = self.url.clone();
        if let Some(q) = query {
            url.query_pairs_mut().append_pair("query", q);
        }
        let mut req = self
            .client
            .post(url)
            .timeout(timeout)
            .header("X-ClickHouse-User", &self.username)
            .body(body);
        if !self.password.is_empty() {
            req = req.header("X-ClickHouse-Key", &self.password);
        }
        let unreachable = |source| ChError::Unreachable {
            url: self.url.as_str().trim_end_matches('/').to_string(),
            source,
        };
        let resp = req.send().await.map_err(unreachable)?;
        let status = resp.status();
        let header_code = resp
            .headers()
            .get("X-ClickHouse-Exception-Code")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok());
        let text = resp.text().await.map_err(unreachable)?;
        if status.is_success() {
            return Ok(text);
        }
        Err(server_error(status.as_u16(), header_code, &text))
    }

    /// Runs a statement that returns nothing of interest (DDL, `ALTER`, `SELECT 1`).
    pub(crate) async fn execute(&self, sql: &str) -> Result<(), ChError> {
        self.send(
            None,
            sql.as_bytes().to_vec(),
            crate::DEFAULT_REQUEST_TIMEOUT,
        )
        .await
        .map(drop)
    }

    /// Runs a query and decodes its `JSONEachRow` lines.
    pub(crate) async fn rows<T: DeserializeOwned>(&self, sql: &str) -> Result<Vec<T>, ChError> {
        self.lines(sql, "JSONEachRow", crate::DEFAULT_REQUEST_TIMEOUT)
            .await
    }

    /// Runs a query in `format` (a JSON-lines format) within `timeout` and decodes its lines.
    pub(crate) async fn lines<T: DeserializeOwned>(
        &self,
        sql: &str,
        format: &str,
        timeout: Duration,
    ) -> Result<Vec<T>, ChError> {
        let text = self
            .send(
                None,
                format!("{sql}\nFORMAT {format}").into_bytes(),
                timeout,
            )
            .await?;
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|line| {
                serde_json::from_str(line).map_err(|e| {
                    if line.contains("DB::Exception") {
                        // The query failed after the answer's status was sent.
                        server_error(200, None, line)
                    } else {
                        ChError::Decode {
                            what: format!("a {format} row: {}", cut(line, 200)),
                            source: e.into(),
                        }
                    }
                })
            })
            .collect()
    }

    /// Inserts `rows` into `table` (quoted, qualified) as one `INSERT`; `columns` names every
    /// field the rows serialise (others take their defaults).
    pub(crate) async fn insert<T: serde::Serialize>(
        &self,
        table: &str,
        columns: &str,
        rows: &[T],
    ) -> Result<(), ChError> {
        let mut body = Vec::new();
        for row in rows {
            serde_json::to_writer(&mut body, row).map_err(|e| ChError::Decode {
                what: format!("a row for {table}"),
                source: e.into(),
            })?;
            body.push(b'\n');
        }
        let query = format!("INSERT INTO {table} ({columns}) FORMAT JSONEachRow");
        self.send(Some(&query), body, crate::DEFAULT_REQUEST_TIMEOUT)
            .await
            .map(drop)
    }
}

/// A ClickHouse error answer: its code from the header, else from the `Code: N.` prefix.
fn server_error(status: u16, header_code: Option<u32>, text: &str) -> ChError {
    let text = text.trim();
    let code = header_code.or_else(|| {
        let rest = text.strip_prefix("Code: ")?;
        rest.split(|c: char| !c.is_ascii_digit())
            .next()?
            .parse()
            .ok()
    });
    ChError::Server {
        status,
        code,
        message: cut(text, MAX_ERROR_TEXT).to_string(),
    }
}

/// At most `max` bytes of `s`, on a character boundary.
fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// A quoted ClickHouse string literal.
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            c if c.is_ascii_control() => out.push_str(&format!("\\x{:02X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// `('a', 'b')`, the right side of `IN`; `values` must not be empty.
pub(crate) fn tuple(values: &[String]) -> String {
    let items: Vec<String> = values.iter().map(|v| quote(v)).collect();
    format!("({})", items.join(", "))
}

/// `['a', 'b']`, an `Array(String)` literal.
pub(crate) fn array(values: &[String]) -> String {
    let items: Vec<String> = values.iter().map(|v| quote(v)).collect();
    format!("[{}]", items.join(", "))
}

/// A `DateTime64(3, 'UTC')` constant for unix milliseconds `ms`.
pub(crate) fn time(ms: i64) -> String {
    format!("fromUnixTimestamp64Milli(toInt64({ms}), 'UTC')")
}

/// An integer ClickHouse may write as a JSON number or a JSON string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Num<T>(pub(crate) T);

impl<'de, T> Deserialize<'de> for Num<T>
where
    T: std::str::FromStr + Deserialize<'de>,
    T::Err: std::fmt::Display,
{
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either<T> {
            Number(T),
            Text(String),
        }
        match Either::<T>::deserialize(d)? {
            Either::Number(n) => Ok(Self(n)),
            Either::Text(s) => s.parse().map(Self).map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_escapes_what_clickhouse_interprets() {
        assert_eq!(quote("plain"), "'plain'");
        assert_eq!(quote(r"it's a \ test"), r"'it\'s a \\ test'");
        assert_eq!(quote("a\nb\0c\u{7f}"), r"'a\x0Ab\x00c\x7F'");
        assert_eq!(quote("é 😀"), "'é 😀'");
        assert_eq!(tuple(&["a".into(), "b'".into()]), r"('a', 'b\'')");
        assert_eq!(array(&["x".into()]), "['x']");
        assert_eq!(array(&[]), "[]");
    }

    #[test]
    fn numbers_read_as_numbers_or_strings() {
        let n: Vec<Num<i64>> = serde_json::from_str(r#"[5, "-7", "170000000000000"]"#).unwrap();
        assert_eq!(n, vec![Num(5), Num(-7), Num(170_000_000_000_000)]);
        let none: Option<Num<u64>> = serde_json::from_str("null").unwrap();
        assert_eq!(none, None);
        assert!(serde_json::from_str::<Num<u64>>(r#""x""#).is_err());
    }

    #[test]
    fn server_errors_keep_code_and_text() {
        let e = server_error(404, None, "Code: 60. DB::Exception: Unknown table\n");
        assert!(matches!(
            e,
            ChError::Server {
                status: 404,
                code: Some(60),
                ..
            }
        ));
        assert_eq!(
            e.to_string(),
            "ClickHouse answered HTTP 404: Code: 60. DB::Exception: Unknown table"
        );
        let e = server_error(500, Some(241), "memory");
        assert_eq!(e.code(), Some(241));
        let long = "é".repeat(MAX_ERROR_TEXT);
        match server_error(500, None, &long) {
            ChError::Server { message, code, .. } => {
                assert!(message.len() <= MAX_ERROR_TEXT);
                assert_eq!(code, None);
            }
            other => panic!("{other:?}"),
        }
    }
}
