//! Validation of config and credentials against a type's metadata fields: required, pattern,
//! length and numeric bounds. Messages follow Outpost: `config.url is required`,
//! `config.url failed pattern validation`.

use crate::metadata::{Field, TypeMetadata};
use outpost_core::destination::Destination;
use outpost_core::patch::StringMap;

/// Checks every declared field of `meta` against the destination's maps.
pub fn against_metadata(meta: &TypeMetadata, dest: &Destination) -> Vec<String> {
    let mut errors = Vec::new();
    check_fields("config", &meta.config_fields, &dest.config, &mut errors);
    check_fields(
        "credentials",
        &meta.credential_fields,
        &dest.credentials,
        &mut errors,
    );
    errors
}

fn check_fields(prefix: &str, fields: &[Field], values: &StringMap, errors: &mut Vec<String>) {
    for f in fields {
        let value = values.get(&f.key).map(String::as_str).unwrap_or("");
        if value.is_empty() {
            if f.required {
                errors.push(format!("{prefix}.{} is required", f.key));
            }
            continue;
        }
        if let Some(p) = &f.pattern {
            // Metadata patterns are fixed strings of ours; an invalid one is a bug, reported as
            // a failed validation rather than a panic.
            let ok = regex::Regex::new(p)
                .map(|re| re.is_match(value))
                .unwrap_or(false);
            if !ok {
                errors.push(format!("{prefix}.{} failed pattern validation", f.key));
                continue;
            }
        }
        let len = value.chars().count();
        if f.minlength.is_some_and(|m| len < m) {
            errors.push(format!("{prefix}.{} failed minlength validation", f.key));
        }
        if f.maxlength.is_some_and(|m| len > m) {
            errors.push(format!("{prefix}.{} failed maxlength validation", f.key));
        }
        if f.min.is_some() || f.max.is_some() {
            match value.parse::<f64>() {
                Ok(n) => {
                    if f.min.is_some_and(|m| n < m) {
                        errors.push(format!("{prefix}.{} failed min validation", f.key));
                    }
                    if f.max.is_some_and(|m| n > m) {
                        errors.push(format!("{prefix}.{} failed max validation", f.key));
                    }
                }
                Err(_) => errors.push(format!("{prefix}.{} failed number validation", f.key)),
            }
        }
    }
}

/// Whether `v` is an absolute http(s) URL with a host.
pub fn is_http_url(v: &str) -> bool {
    let rest = v
        .strip_prefix("https://")
        .or_else(|| v.strip_prefix("http://"));
    match rest {
        Some(r) => {
            let host = r.split(['/', '?', '#']).next().unwrap_or("");
            !host.is_empty() && !v.chars().any(char::is_whitespace)
        }
        None => false,
    }
}

/// Whether a JMESPath expression compiles.
pub fn jmespath_compiles(expr: &str) -> bool {
    jmespath::compile(expr).is_ok()
}
