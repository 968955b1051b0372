//! Identifier generation as configured by `IDGEN_*`: uuidv4 (default), uuidv7 or nanoid, with
//! optional per-entity prefixes.

use rand::Rng;

/// Which algorithm generates ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IdKind {
    /// Random UUID (version 4).
    #[default]
    UuidV4,
    /// Time-ordered UUID (version 7).
    UuidV7,
    /// 26 characters from `0-9A-Za-z`.
    NanoId,
}

impl std::str::FromStr for IdKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "" | "uuidv4" => Ok(Self::UuidV4),
            "uuidv7" => Ok(Self::UuidV7),
            "nanoid" => Ok(Self::NanoId),
            other => Err(format!(
                "unknown id type {other:?}: expected uuidv4, uuidv7 or nanoid"
            )),
        }
    }
}

const NANO_ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const NANO_LEN: usize = 26;

/// Generates ids for events, destinations and attempts.
#[derive(Debug, Clone, Default)]
pub struct IdGen {
    /// Algorithm.
    pub kind: IdKind,
    /// Prefix of event ids.
    pub event_prefix: String,
    /// Prefix of destination ids.
    pub destination_prefix: String,
    /// Prefix of attempt ids.
    pub attempt_prefix: String,
}

impl IdGen {
    fn raw(&self) -> String {
        match self.kind {
            IdKind::UuidV4 => uuid::Uuid::new_v4().to_string(),
            IdKind::UuidV7 => uuid::Uuid::now_v7().to_string(),
            IdKind::NanoId => {
                let mut rng = rand::rng();
                (0..NANO_LEN)
                    .map(|_| char::from(NANO_ALPHABET[rng.random_range(0..NANO_ALPHABET.len())]))
                    .collect()
            }
        }
    }

    /// A new event id.
    pub fn event(&self) -> String {
        format!("{}{}", self.event_prefix, self.raw())
    }

    /// A new destination id.
    pub fn destination(&self) -> String {
        format!("{}{}", self.destination_prefix, self.raw())
    }

    /// A new attempt id.
    pub fn attempt(&self) -> String {
        format!("{}{}", self.attempt_prefix, self.raw())
    }

    /// A new id without prefix (operator events).
    pub fn plain(&self) -> String {
        self.raw()
    }
}

/// The longest id (tenant, destination, event) the API accepts.
pub const MAX_ID_LEN: usize = 256;

/// Checks a user-supplied id: non-empty, at most [`MAX_ID_LEN`] bytes, no whitespace or control
/// characters, and none of the characters that would break Redis key layout (`{`, `}`) or URLs (`/`, `?`, `#`).
pub fn validate_id(id: &str) -> Result<(), String> {
    if id.is_empty() {
        return Err("must not be empty".into());
    }
    if id.len() > MAX_ID_LEN {
        return Err(format!("must be at most {MAX_ID_LEN} characters"));
    }
    if id
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '{' | '}' | '/' | '?' | '#'))
    {
        return Err("must not contain whitespace, control characters or any of { } / ? #".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_prefixes() {
        let g = IdGen {
            kind: IdKind::NanoId,
            event_prefix: "evt_".into(),
            ..Default::default()
        };
        let id = g.event();
        assert!(id.starts_with("evt_"));
        assert_eq!(id.len(), 4 + NANO_LEN);
        assert!(id[4..].bytes().all(|b| b.is_ascii_alphanumeric()));
        let g = IdGen {
            kind: IdKind::UuidV7,
            ..Default::default()
        };
        let u = uuid::Uuid::parse_str(&g.destination()).unwrap();
        assert_eq!(u.get_version_num(), 7);
        assert_eq!("uuidv4".parse::<IdKind>().unwrap(), IdKind::UuidV4);
        assert!("ulid".parse::<IdKind>().is_err());
    }

    #[test]
    fn id_validation() {
        assert!(validate_id("org_42").is_ok());
        assert!(validate_id("").is_err());
        assert!(validate_id("a b").is_err());
        assert!(validate_id("a{b}").is_err());
        assert!(validate_id(&"x".repeat(MAX_ID_LEN + 1)).is_err());
    }
}
