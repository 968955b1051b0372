//! Layering of settings: built-in defaults, then an optional config file (YAML, or a `.env`
//! file), then the process environment. Each value remembers where it came from.

use crate::ConfigError;
use crate::vars::{VARS, Var};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Where a setting's value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Built-in default.
    Default,
    /// The config file.
    File,
    /// The environment.
    Env,
}

/// The raw settings: env name to (value, source). Variables with no value are absent.
#[derive(Debug, Clone, Default)]
pub struct RawSettings {
    values: BTreeMap<&'static str, (String, Source)>,
    /// The config file that was read, if any.
    pub file: Option<PathBuf>,
}

/// Files searched when neither `--config` nor `CONFIG` names one (upstream's order).
pub const SEARCH_PATHS: &[&str] = &[
    ".env",
    ".outpost.yaml",
    "config/outpost.yaml",
    "config/outpost/config.yaml",
    "config/outpost/.env",
    "/config/outpost.yaml",
    "/config/outpost/config.yaml",
    "/config/outpost/.env",
];

impl RawSettings {
    /// Loads defaults, then the config file (`flag_path`, else `CONFIG`, else the search paths),
    /// then the variables that `env` returns.
    pub fn load(
        flag_path: Option<&Path>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let mut s = Self::defaults();
        let env_path = env("CONFIG").filter(|p| !p.is_empty()).map(PathBuf::from);
        let path = match (flag_path, env_path) {
            (Some(f), Some(e)) if f != e => {
                return Err(ConfigError::new(
                    "CONFIG",
                    format!(
                        "conflicts with --config ({} vs {})",
                        e.display(),
                        f.display()
                    ),
                ));
            }
            (Some(f), _) => Some(f.to_path_buf()),
            (None, Some(e)) => Some(e),
            (None, None) => SEARCH_PATHS.iter().map(PathBuf::from).find(|p| p.is_file()),
        };
        if let Some(path) = path {
            let text = std::fs::read_to_string(&path).map_err(|e| {
                ConfigError::new("CONFIG", format!("cannot read {}: {e}", path.display()))
            })?;
            let is_env = path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with(".env") || n == ".env");
            let pairs = if is_env {
                parse_env_file(&text)
            } else {
                parse_yaml(&text)
                    .map_err(|e| ConfigError::new("CONFIG", format!("{}: {e}", path.display())))?
            };
            for (k, v) in pairs {
                s.values.insert(k, (v, Source::File));
            }
            s.file = Some(path);
        }
        for v in VARS {
            if let Some(val) = env(v.env) {
                s.values.insert(v.env, (val, Source::Env));
            }
        }
        Ok(s)
    }

    /// Builds settings from explicit pairs on top of the defaults, with no file (tests, embedding).
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Result<Self, ConfigError> {
        let mut s = Self::defaults();
        for (k, v) in pairs {
            let var = crate::vars::find(k)
                .ok_or_else(|| ConfigError::new(k, "unknown setting".to_string()))?;
            s.values.insert(var.env, (v.to_string(), Source::Env));
        }
        Ok(s)
    }

    fn defaults() -> Self {
        let mut s = Self::default();
        for v in VARS {
            if let Some(d) = v.default {
                s.values.insert(v.env, (d.to_string(), Source::Default));
            }
        }
        s
    }

    /// The value of a variable (default included).
    pub fn get(&self, env: &str) -> Option<&str> {
        self.values.get(env).map(|(v, _)| v.as_str())
    }

    /// The value and source of a variable.
    pub fn get_with_source(&self, env: &str) -> Option<(&str, Source)> {
        self.values.get(env).map(|(v, s)| (v.as_str(), *s))
    }

    /// Whether the operator set this variable (file or env), as opposed to a default.
    pub fn is_set(&self, env: &str) -> bool {
        matches!(self.values.get(env), Some((_, Source::File | Source::Env)))
    }

    /// Every variable with its value, for printing.
    pub fn iter(&self) -> impl Iterator<Item = (&'static Var, Option<(&str, Source)>)> + '_ {
        VARS.iter().map(|v| (v, self.get_with_source(v.env)))
    }
}

fn parse_env_file(text: &str) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        if let Some((k, v)) = line.split_once('=') {
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|x| x.strip_suffix('"'))
                .or_else(|| v.strip_prefix('\'').and_then(|x| x.strip_suffix('\'')))
                .unwrap_or(v);
            if let Some(var) = crate::vars::find(k.trim()) {
                out.push((var.env, v.to_string()));
            }
        }
    }
    out
}

fn parse_yaml(text: &str) -> Result<Vec<(&'static str, String)>, String> {
    let doc: serde_yaml::Value = serde_yaml::from_str(text).map_err(|e| e.to_string())?;
    if doc.is_null() {
        return Ok(Vec::new());
    }
    if !doc.is_mapping() {
        return Err("the config file must be a YAML mapping".into());
    }
    let mut out = Vec::new();
    for var in VARS {
        let mut node = &doc;
        let mut found = true;
        for part in var.yaml.split('.') {
            match node.get(part) {
                Some(n) => node = n,
                None => {
                    found = false;
                    break;
                }
            }
        }
        if !found || node.is_null() {
            continue;
        }
        let value = match node {
            serde_yaml::Value::String(s) => s.clone(),
            serde_yaml::Value::Bool(b) => b.to_string(),
            serde_yaml::Value::Number(n) => n.to_string(),
            serde_yaml::Value::Sequence(items) => items
                .iter()
                .map(|i| match i {
                    serde_yaml::Value::String(s) => Ok(s.clone()),
                    serde_yaml::Value::Number(n) => Ok(n.to_string()),
                    _ => Err(format!(
                        "{}: list items must be strings or numbers",
                        var.yaml
                    )),
                })
                .collect::<Result<Vec<_>, _>>()?
                .join(","),
            _ => return Err(format!("{}: expected a scalar or a list", var.yaml)),
        };
        out.push((var.env, value));
    }
    Ok(out)
}
