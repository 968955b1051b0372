//! Tests of webhook validation and secret handling.

use super::*;
use outpost_core::time::now_ms;

fn dest(creds: &[(&str, &str)]) -> Destination {
    Destination {
        id: "d1".into(),
        tenant_id: "t1".into(),
        kind: "webhook".into(),
        topics: vec!["*".into()],
        filter: None,
        config: [("url".to_string(), "https://example.com/hook".to_string())].into(),
        credentials: creds
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        delivery_metadata: None,
        metadata: None,
        created_at: now_ms(),
        updated_at: now_ms(),
        disabled_at: None,
    }
}

fn tpl() -> Template {
    Template::parse("whsec_{{.RandomHex}}").unwrap()
}

#[test]
fn custom_headers_rules() {
    assert!(parse_custom_headers(r#"{"X-Team":"a"}"#).is_ok());
    assert_eq!(
        parse_custom_headers("nope"),
        Err(DestError::field(
            "config.custom_headers failed invalid validation"
        ))
    );
    let Err(DestError::Validation(e)) =
        parse_custom_headers(r#"{"-bad":"a","Host":"h","X-Empty":" "}"#)
    else {
        panic!("expected errors");
    };
    assert!(e.contains(&"config.custom_headers.-bad failed pattern validation".to_string()));
    assert!(e.contains(&"config.custom_headers.Host is forbidden".to_string()));
    assert!(e.contains(&"config.custom_headers.X-Empty is required".to_string()));
}

#[test]
fn credential_rules() {
    assert!(validate(&dest(&[]), false).is_empty());
    assert_eq!(
        validate(&dest(&[("previous_secret", "x")]), false),
        vec!["credentials.secret is required".to_string()]
    );
    let e = validate(
        &dest(&[("secret", "s"), ("previous_secret_invalid_at", "soon")]),
        false,
    );
    assert!(
        e.contains(&"credentials.previous_secret_invalid_at failed pattern validation".to_string())
    );
    assert!(e.contains(&"credentials.previous_secret is required".to_string()));
    assert_eq!(
        validate(&dest(&[("secret", "plain")]), true),
        vec!["credentials.secret failed pattern validation".to_string()]
    );
    assert!(validate(&dest(&[("secret", "whsec_c2VjcmV0")]), true).is_empty());
}

#[test]
fn secret_generated_on_create() {
    let mut d = dest(&[]);
    preprocess(&mut d, None, Role::Tenant, false, &tpl()).unwrap();
    let s = &d.credentials["secret"];
    assert!(s.starts_with("whsec_") && s.len() == 6 + 64, "{s}");
    let mut d = dest(&[]);
    preprocess(&mut d, None, Role::Admin, true, &tpl()).unwrap();
    assert!(is_standard_secret(&d.credentials["secret"]));
}

#[test]
fn rotate_rules() {
    let mut d = dest(&[("rotate_secret", "true")]);
    assert_eq!(
        preprocess(&mut d, None, Role::Admin, false, &tpl()),
        Err(DestError::field(
            "credentials.rotate_secret failed invalid validation"
        ))
    );
    let original = dest(&[("secret", "old-secret")]);
    let mut d = dest(&[("secret", "old-secret"), ("rotate_secret", "yes")]);
    preprocess(&mut d, Some(&original), Role::Tenant, false, &tpl()).unwrap();
    assert_eq!(d.credentials["previous_secret"], "old-secret");
    assert_ne!(d.credentials["secret"], "old-secret");
    let at = parse_rfc3339(&d.credentials["previous_secret_invalid_at"]).unwrap();
    let hours = (at - now_ms()).num_minutes() as f64 / 60.0;
    assert!((23.9..=24.1).contains(&hours), "{hours}");
    assert!(!d.credentials.contains_key("rotate_secret"));
}

#[test]
fn tenants_cannot_set_secrets() {
    let mut d = dest(&[("secret", "mine")]);
    assert_eq!(
        preprocess(&mut d, None, Role::Tenant, false, &tpl()),
        Err(DestError::Validation(vec![
            "credentials.secret is forbidden".into()
        ]))
    );
    let original = dest(&[("secret", "kept")]);
    let mut d = dest(&[("secret", "other")]);
    assert!(preprocess(&mut d, Some(&original), Role::Tenant, false, &tpl()).is_err());
    // Admins may set any secret; unknown keys are dropped.
    let mut d = dest(&[("secret", "mine"), ("junk", "x")]);
    preprocess(&mut d, None, Role::Admin, false, &tpl()).unwrap();
    assert_eq!(d.credentials.len(), 1);
    assert_eq!(d.credentials["secret"], "mine");
}
