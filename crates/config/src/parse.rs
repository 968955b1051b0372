//! Typed readings of raw settings: each failure names the variable and what is wrong with it.

use crate::{ConfigError, RawSettings};

/// A setting's value, `None` when unset or blank.
pub(crate) fn opt(raw: &RawSettings, var: &str) -> Option<String> {
    raw.get(var)
        .map(str::to_string)
        .filter(|v| !v.trim().is_empty())
}

/// A boolean setting (false when unset).
pub(crate) fn parse_bool(raw: &RawSettings, var: &str) -> Result<bool, ConfigError> {
    let v = raw.get(var).unwrap_or("false").trim().to_ascii_lowercase();
    match v.as_str() {
        "" | "false" | "0" | "no" | "off" => Ok(false),
        "true" | "1" | "yes" | "on" => Ok(true),
        _ => Err(ConfigError::new(
            var,
            format!("expected true or false, got {v:?}"),
        )),
    }
}

/// A whole-number setting of at least `min`.
pub(crate) fn parse_num<T>(raw: &RawSettings, var: &str, min: T) -> Result<T, ConfigError>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
{
    let v = raw.get(var).unwrap_or("").trim();
    let n: T = v
        .parse()
        .map_err(|_| ConfigError::new(var, format!("expected a whole number, got {v:?}")))?;
    if n < min {
        return Err(ConfigError::new(
            var,
            format!("must be at least {min}, got {n}"),
        ));
    }
    Ok(n)
}

/// Parses an optional number where an explicitly empty value disables the feature.
pub(crate) fn parse_disableable(
    raw: &RawSettings,
    var: &str,
    min: u64,
) -> Result<Option<u64>, ConfigError> {
    match raw.get(var) {
        Some(v) if v.trim().is_empty() => Ok(None),
        None => Ok(None),
        Some(_) => parse_num::<u64>(raw, var, min).map(Some),
    }
}

/// A comma-separated list, blanks dropped.
pub(crate) fn split_list(v: &str) -> Vec<String> {
    v.split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}
