//! String maps as the API receives them: coercion of arbitrary JSON values to strings (as Outpost
//! does for `config`, `credentials`, `metadata`, ...) and RFC 7396 merge-patch on such maps.

use serde_json::Value;
use std::collections::BTreeMap;

/// A map of string to string, serialised with sorted keys.
pub type StringMap = BTreeMap<String, String>;

/// Coerces one JSON value to the string Outpost stores: strings as is, booleans as
/// `true`/`false`, numbers as Go's `%v`, null as the empty string, objects/arrays as JSON text.
pub fn coerce_to_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Null => String::new(),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i.to_string(),
            (_, Some(u), _) => u.to_string(),
            (_, _, Some(f)) if f.fract() == 0.0 && f.abs() < 1e21 => format!("{f:.0}"),
            (_, _, Some(f)) => f.to_string(),
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}

/// Coerces a JSON object to a string map. `null` gives `None`; anything but an object is an error.
pub fn coerce_map(v: &Value) -> Result<Option<StringMap>, NotAnObject> {
    match v {
        Value::Null => Ok(None),
        Value::Object(o) => Ok(Some(
            o.iter()
                .map(|(k, v)| (k.clone(), coerce_to_string(v)))
                .collect(),
        )),
        _ => Err(NotAnObject),
    }
}

/// A string-map field was not a JSON object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("expected a JSON object of strings")]
pub struct NotAnObject;

/// A merge-patch for one string-map field of a PATCH request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum MapPatch {
    /// Field omitted: no change.
    #[default]
    Keep,
    /// `null`: clear the whole map.
    Clear,
    /// Object: set keys with a value, delete keys that are `null`.
    Merge(BTreeMap<String, Option<String>>),
}

impl MapPatch {
    /// Builds a patch from the field's JSON value (`None` when the field was absent).
    pub fn from_json(v: Option<&Value>) -> Result<Self, NotAnObject> {
        match v {
            None => Ok(Self::Keep),
            Some(Value::Null) => Ok(Self::Clear),
            Some(Value::Object(o)) => Ok(Self::Merge(
                o.iter()
                    .map(|(k, v)| {
                        let val = if v.is_null() {
                            None
                        } else {
                            Some(coerce_to_string(v))
                        };
                        (k.clone(), val)
                    })
                    .collect(),
            )),
            Some(_) => Err(NotAnObject),
        }
    }

    /// Whether applying the patch can change anything.
    pub fn is_noop(&self) -> bool {
        match self {
            Self::Keep => true,
            Self::Clear => false,
            Self::Merge(m) => m.is_empty(),
        }
    }

    /// Applies the patch; a map emptied entirely becomes `None`.
    pub fn apply(&self, current: Option<&StringMap>) -> Option<StringMap> {
        match self {
            Self::Keep => current.cloned(),
            Self::Clear => None,
            Self::Merge(changes) => {
                let mut out = current.cloned().unwrap_or_default();
                for (k, v) in changes {
                    match v {
                        Some(v) => {
                            out.insert(k.clone(), v.clone());
                        }
                        None => {
                            out.remove(k);
                        }
                    }
                }
                (!out.is_empty()).then_some(out)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn coercion_like_go() {
        let m = coerce_map(
            &json!({"a": "x", "b": true, "c": 1, "d": 1.5, "e": null, "f": {"k": 1}, "g": 2.0}),
        )
        .unwrap()
        .unwrap();
        assert_eq!(m["a"], "x");
        assert_eq!(m["b"], "true");
        assert_eq!(m["c"], "1");
        assert_eq!(m["d"], "1.5");
        assert_eq!(m["e"], "");
        assert_eq!(m["f"], r#"{"k":1}"#);
        assert_eq!(m["g"], "2");
        assert_eq!(coerce_map(&json!(null)).unwrap(), None);
        assert!(coerce_map(&json!([1])).is_err());
    }

    #[test]
    fn merge_patch_rules() {
        let cur: StringMap = [
            ("a".to_string(), "1".to_string()),
            ("b".to_string(), "2".to_string()),
        ]
        .into();
        let p = MapPatch::from_json(Some(&json!({"a": null, "c": 3}))).unwrap();
        let out = p.apply(Some(&cur)).unwrap();
        assert_eq!(out.len(), 2);
        assert_eq!(out["b"], "2");
        assert_eq!(out["c"], "3");
        assert_eq!(
            MapPatch::from_json(None).unwrap().apply(Some(&cur)),
            Some(cur.clone())
        );
        assert_eq!(
            MapPatch::from_json(Some(&json!({})))
                .unwrap()
                .apply(Some(&cur)),
            Some(cur.clone())
        );
        assert!(MapPatch::from_json(Some(&json!({}))).unwrap().is_noop());
        assert_eq!(
            MapPatch::from_json(Some(&json!(null)))
                .unwrap()
                .apply(Some(&cur)),
            None
        );
        let p = MapPatch::from_json(Some(&json!({"a": null, "b": null}))).unwrap();
        assert_eq!(p.apply(Some(&cur)), None);
        assert!(MapPatch::from_json(Some(&json!("x"))).is_err());
    }

    proptest! {
        /// RFC 7396: applying the same patch twice equals applying it once.
        #[test]
        fn merge_patch_is_idempotent(
            cur in proptest::collection::btree_map("[a-d]", "[a-z]{0,3}", 0..4),
            patch in proptest::collection::btree_map("[a-f]", proptest::option::of("[a-z]{0,3}"), 0..5),
        ) {
            let p = MapPatch::Merge(patch.clone());
            let once = p.apply(Some(&cur));
            let twice = p.apply(once.as_ref());
            prop_assert_eq!(&once, &twice);
            // Every key set by the patch is present with its value; every deleted key is absent.
            let out = once.unwrap_or_default();
            for (k, v) in &patch {
                match v {
                    Some(v) => prop_assert_eq!(out.get(k), Some(v)),
                    None => prop_assert!(!out.contains_key(k)),
                }
            }
            // Keys the patch does not mention are unchanged.
            for (k, v) in &cur {
                if !patch.contains_key(k) {
                    prop_assert_eq!(out.get(k), Some(v));
                }
            }
        }

        /// The result equals RFC 7396's MergePatch algorithm run on the JSON objects.
        #[test]
        fn merge_patch_matches_rfc_7396(
            cur in proptest::collection::btree_map("[a-d]", "[a-z]{0,3}", 0..4),
            patch in proptest::collection::btree_map("[a-f]", proptest::option::of("[a-z]{0,3}"), 0..5),
        ) {
            fn rfc7396(target: &Value, patch: &Value) -> Value {
                let Value::Object(p) = patch else { return patch.clone() };
                let mut t = match target {
                    Value::Object(t) => t.clone(),
                    _ => serde_json::Map::new(),
                };
                for (k, v) in p {
                    if v.is_null() {
                        t.remove(k);
                    } else {
                        let merged = rfc7396(t.get(k).unwrap_or(&Value::Null), v);
                        t.insert(k.clone(), merged);
                    }
                }
                Value::Object(t)
            }
            let target = serde_json::to_value(&cur).unwrap();
            let patch_json: Value = patch
                .iter()
                .map(|(k, v)| (k.clone(), v.clone().map_or(Value::Null, Value::String)))
                .collect::<serde_json::Map<_, _>>()
                .into();
            let want = rfc7396(&target, &patch_json);
            let got = MapPatch::Merge(patch.clone()).apply(Some(&cur)).unwrap_or_default();
            prop_assert_eq!(serde_json::to_value(&got).unwrap(), want);
        }
    }
}
