//! JMESPath templates of partition keys (Kinesis, Kafka) and object keys (S3), evaluated as
//! upstream does: strings as they are, numbers as Go's `%g`, booleans as `true`/`false`.

use serde_json::Value;

/// A compiled JMESPath expression.
pub struct KeyTemplate {
    expr: jmespath::Expression<'static>,
}

impl std::fmt::Debug for KeyTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyTemplate({})", self.expr.as_ast())
    }
}

impl KeyTemplate {
    /// Compiles `src`; the error says what is wrong and where.
    pub fn compile(src: &str) -> Result<Self, String> {
        jmespath::compile(src)
            .map(|expr| Self { expr })
            .map_err(|e| format!("invalid JMESPath template {src:?}: {e}"))
    }

    /// Evaluates over `input`: `Ok(None)` when the result is null or an empty string.
    pub fn render(&self, input: &Value) -> Result<Option<String>, String> {
        let var = jmespath::Variable::from_serializable(input)
            .map_err(|e| format!("cannot evaluate the template: {e}"))?;
        let out = self
            .expr
            .search(var)
            .map_err(|e| format!("cannot evaluate the template: {e}"))?;
        let value = serde_json::to_value(&*out).map_err(|e| e.to_string())?;
        Ok(match value {
            Value::Null => None,
            Value::String(s) if s.is_empty() => None,
            Value::String(s) => Some(s),
            Value::Number(n) => n.as_f64().map(go_g),
            Value::Bool(b) => Some(b.to_string()),
            other => Some(other.to_string()),
        })
    }
}

/// A partition key: `template` over `input`, or `fallback` (the event id) when the template is
/// absent, fails, or gives nothing.
pub fn partition_key(template: Option<&KeyTemplate>, input: &Value, fallback: &str) -> String {
    template
        .and_then(|t| t.render(input).ok().flatten())
        .unwrap_or_else(|| fallback.to_string())
}

/// Formats a float as Go's `fmt.Sprintf("%g", f)` does: shortest digits, exponent form when
/// the exponent is below -4 or at least 6 (with two exponent digits at least).
pub fn go_g(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.into();
    }
    let e = format!("{f:e}");
    let (mantissa, exp) = e.split_once('e').unwrap_or((e.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-4..6).contains(&exp) {
        format!("{f}")
    } else {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn go_g_matches_go() {
        for (f, want) in [
            (42.0, "42"),
            (1.5, "1.5"),
            (-3.0, "-3"),
            (100000.0, "100000"),
            (1000000.0, "1e+06"),
            (123456789.0, "1.23456789e+08"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1e21, "1e+21"),
            (1.25e-7, "1.25e-07"),
            (0.0, "0"),
        ] {
            assert_eq!(go_g(f), want, "{f}");
        }
    }

    #[test]
    fn renders_strings_numbers_and_falls_back() {
        let input = json!({"metadata": {"event-id": "evt_1", "topic": "user.created"},
                           "data": {"user": {"id": 7, "name": "ann", "vip": true}}});
        let t = |s: &str| KeyTemplate::compile(s).unwrap();
        assert_eq!(
            t("data.user.name").render(&input).unwrap().as_deref(),
            Some("ann")
        );
        assert_eq!(
            t("data.user.id").render(&input).unwrap().as_deref(),
            Some("7")
        );
        assert_eq!(
            t("data.user.vip").render(&input).unwrap().as_deref(),
            Some("true")
        );
        assert_eq!(
            t("join('-', [metadata.topic, metadata.\"event-id\"])")
                .render(&input)
                .unwrap()
                .as_deref(),
            Some("user.created-evt_1")
        );
        assert_eq!(t("data.missing").render(&input).unwrap(), None);
        assert_eq!(
            partition_key(Some(&t("data.missing")), &input, "evt_1"),
            "evt_1"
        );
        assert_eq!(partition_key(None, &input, "evt_1"), "evt_1");
        // A runtime error (join over numbers) falls back too.
        assert_eq!(
            partition_key(Some(&t("join('', [data.user.id])")), &input, "evt_1"),
            "evt_1"
        );
    }

    #[test]
    fn compile_errors_name_the_template() {
        let e = KeyTemplate::compile("data.[").unwrap_err();
        assert!(e.contains("data.["), "{e}");
    }
}
