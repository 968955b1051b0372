//! Byte-for-byte tests of the webhook request builder. Every signature is recomputed here
//! independently with the `hmac`/`sha2`/`sha1`/`base64`/`hex` crates (and a few are pinned as
//! literals computed with Python's `hmac`).

use super::*;
use chrono::{TimeZone, Utc};
use std::collections::BTreeMap;

const BODY: &str = r#"{"hello": "world",  "n":[1, 2]}"#;
const SECRET: &str = "whsec_abc";
const PREV: &str = "old-secret";
/// 2024-06-01T08:23:36Z
const NOW_SECS: i64 = 1_717_230_216;

fn now() -> Timestamp {
    Utc.timestamp_opt(NOW_SECS, 0).unwrap()
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn event_with(id: &str, body: &str, meta: &[(&str, &str)]) -> Event {
    let json = format!(
        r#"{{"id":{},"tenant_id":"t1","topic":"user.created","eligible_for_retry":true,"time":"2024-01-01T00:00:00Z","metadata":{},"data":{body}}}"#,
        serde_json::to_string(id).unwrap(),
        serde_json::to_string(&map(meta)).unwrap(),
    );
    serde_json::from_str(&json).unwrap()
}

fn event() -> Event {
    event_with("evt_123", BODY, &[])
}

fn dest(config: &[(&str, &str)], creds: &[(&str, &str)]) -> Destination {
    let mut c = map(&[("url", "https://example.com/hook")]);
    c.extend(map(config));
    Destination {
        id: "des_1".into(),
        tenant_id: "t1".into(),
        kind: "webhook".into(),
        topics: vec!["*".into()],
        filter: None,
        config: c,
        credentials: map(creds),
        delivery_metadata: None,
        metadata: None,
        created_at: now(),
        updated_at: now(),
        disabled_at: None,
    }
}

fn with_secret() -> Destination {
    dest(&[], &[("secret", SECRET)])
}

fn rotating(invalid_at: &str) -> Destination {
    dest(
        &[],
        &[
            ("secret", SECRET),
            ("previous_secret", PREV),
            ("previous_secret_invalid_at", invalid_at),
        ],
    )
}

fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn sha256_hex(key: &str, msg: &str) -> String {
    let mut m = Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).unwrap();
    m.update(msg.as_bytes());
    hex::encode(m.finalize().into_bytes())
}

fn sha1_b64(key: &str, msg: &str) -> String {
    let mut m = Hmac::<sha1::Sha1>::new_from_slice(key.as_bytes()).unwrap();
    m.update(msg.as_bytes());
    B64.encode(m.finalize().into_bytes())
}

fn standard_sig(secret: &str, msg: &str) -> String {
    let key = B64.decode(secret.strip_prefix("whsec_").unwrap()).unwrap();
    let mut m = Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    m.update(msg.as_bytes());
    B64.encode(m.finalize().into_bytes())
}

/// Default-mode settings whose system header names follow `prefix` (as the config resolves
/// them when no name is pinned).
fn prefixed(prefix: &str) -> WebhookSettings {
    WebhookSettings {
        header_prefix: prefix.to_string(),
        event_id_header: Some(format!("{prefix}event-id")),
        signature_header: Some(format!("{prefix}signature")),
        timestamp_header: Some(format!("{prefix}timestamp")),
        topic_header: Some(format!("{prefix}topic")),
        ..WebhookSettings::outpost_defaults()
    }
}

#[test]
fn default_mode_defaults() {
    let req = build(
        &WebhookSettings::outpost_defaults(),
        &with_secret(),
        &event(),
        now(),
    )
    .unwrap();
    assert_eq!(req.url, "https://example.com/hook");
    assert_eq!(req.body, BODY.as_bytes());
    let sig = sha256_hex(SECRET, BODY);
    assert_eq!(
        req.headers,
        h(&[
            ("Content-Type", "application/json"),
            ("X-Outpost-Event-Id", "evt_123"),
            ("X-Outpost-Timestamp", "2024-06-01T08:23:36Z"),
            ("X-Outpost-Topic", "user.created"),
            ("X-Outpost-Signature", &format!("v0={sig}")),
        ])
    );
    assert_eq!(
        req.header("x-outpost-signature"),
        Some(&*format!("v0={sig}"))
    );
}

#[test]
fn default_signature_pinned_literal() {
    // python3: hmac.new(b'whsec_abc', b'{"hello": "world"}', hashlib.sha256).hexdigest()
    let req = build(
        &WebhookSettings::outpost_defaults(),
        &with_secret(),
        &event_with("evt_123", r#"{"hello": "world"}"#, &[]),
        now(),
    )
    .unwrap();
    assert_eq!(
        req.header("X-Outpost-Signature"),
        Some("v0=23abce9b67512b3ca1f06a2b22cf56a6a80bbf341c11353c29b7766c78650660")
    );
}

#[test]
fn pinned_and_omitted_header_names() {
    let settings = WebhookSettings {
        event_id_header: Some("X-Request-ID".into()),
        timestamp_header: None,
        topic_header: Some("x-event-type".into()),
        signature_header: Some("Signature".into()),
        ..WebhookSettings::outpost_defaults()
    };
    let mut d = with_secret();
    d.delivery_metadata = Some(map(&[("env", "prod")]));
    let req = build(&settings, &d, &event(), now()).unwrap();
    assert_eq!(
        req.headers,
        h(&[
            ("Content-Type", "application/json"),
            ("X-Outpost-Env", "prod"),
            ("X-Request-Id", "evt_123"),
            ("X-Event-Type", "user.created"),
            ("Signature", &format!("v0={}", sha256_hex(SECRET, BODY))),
        ])
    );

    // Everything omitted: only Content-Type remains.
    let settings = WebhookSettings {
        event_id_header: None,
        timestamp_header: None,
        topic_header: None,
        signature_header: None,
        ..WebhookSettings::outpost_defaults()
    };
    let req = build(&settings, &with_secret(), &event(), now()).unwrap();
    assert_eq!(req.headers, h(&[("Content-Type", "application/json")]));
}

#[test]
fn disabled_signature_skips_templates() {
    // A template that would fail to render is never executed when the header is omitted.
    let settings = WebhookSettings {
        signature_header: None,
        content_template: Template::parse("{{.Nope}}").unwrap(),
        ..WebhookSettings::outpost_defaults()
    };
    let req = build(&settings, &with_secret(), &event(), now()).unwrap();
    assert_eq!(req.header("X-Outpost-Signature"), None);
}

#[test]
fn custom_prefix() {
    let mut d = with_secret();
    d.delivery_metadata = Some(map(&[("env", "prod")]));
    let req = build(&prefixed("x-acme-"), &d, &event(), now()).unwrap();
    assert_eq!(
        req.headers,
        h(&[
            ("Content-Type", "application/json"),
            ("X-Acme-Env", "prod"),
            ("X-Acme-Event-Id", "evt_123"),
            ("X-Acme-Timestamp", "2024-06-01T08:23:36Z"),
            ("X-Acme-Topic", "user.created"),
            (
                "X-Acme-Signature",
                &format!("v0={}", sha256_hex(SECRET, BODY))
            ),
        ])
    );
    // Surrounding whitespace of the prefix is ignored for metadata keys.
    let settings = WebhookSettings {
        header_prefix: "  x-acme-  ".into(),
        ..prefixed("x-acme-")
    };
    let req2 = build(&settings, &d, &event(), now()).unwrap();
    assert_eq!(req2.headers, req.headers);
}

#[test]
fn empty_prefix() {
    let mut d = with_secret();
    d.delivery_metadata = Some(map(&[("env", "prod")]));
    let req = build(&prefixed(""), &d, &event(), now()).unwrap();
    assert_eq!(
        req.headers,
        h(&[
            ("Content-Type", "application/json"),
            ("Env", "prod"),
            ("Event-Id", "evt_123"),
            ("Timestamp", "2024-06-01T08:23:36Z"),
            ("Topic", "user.created"),
            ("Signature", &format!("v0={}", sha256_hex(SECRET, BODY))),
        ])
    );
}

#[test]
fn custom_content_template() {
    let settings = WebhookSettings {
        content_template: Template::parse("{{.Timestamp.Unix}}.{{.Body}}").unwrap(),
        ..WebhookSettings::outpost_defaults()
    };
    let req = build(&settings, &with_secret(), &event(), now()).unwrap();
    let sig = sha256_hex(SECRET, &format!("{NOW_SECS}.{BODY}"));
    assert_eq!(
        req.header("X-Outpost-Signature"),
        Some(&*format!("v0={sig}"))
    );
    // The other fields: event id and topic come from the event, not from metadata overrides.
    let settings = WebhookSettings {
        content_template: Template::parse("{{.EventID}}|{{.Topic}}|{{.Timestamp.UnixMilli}}")
            .unwrap(),
        ..WebhookSettings::outpost_defaults()
    };
    let e = event_with("evt_123", BODY, &[("event-id", "other"), ("topic", "x")]);
    let req = build(&settings, &with_secret(), &e, now()).unwrap();
    let sig = sha256_hex(SECRET, &format!("evt_123|user.created|{NOW_SECS}000"));
    assert_eq!(
        req.header("X-Outpost-Signature"),
        Some(&*format!("v0={sig}"))
    );
}

#[test]
fn custom_header_template() {
    let settings = WebhookSettings {
        header_template: Template::parse(
            "t={{.Timestamp.Unix}},{{range .Signatures}}v1={{.}}{{end}}",
        )
        .unwrap(),
        ..WebhookSettings::outpost_defaults()
    };
    let req = build(&settings, &with_secret(), &event(), now()).unwrap();
    let sig = sha256_hex(SECRET, BODY);
    assert_eq!(
        req.header("X-Outpost-Signature"),
        Some(&*format!("t={NOW_SECS},v1={sig}"))
    );
    let req = build(
        &settings,
        &rotating("2024-06-02T00:00:00Z"),
        &event(),
        now(),
    )
    .unwrap();
    let prev = sha256_hex(PREV, BODY);
    assert_eq!(
        req.header("X-Outpost-Signature"),
        Some(&*format!("t={NOW_SECS},v1={sig}v1={prev}"))
    );
}

#[test]
fn header_template_rendering_empty_omits_header() {
    let settings = WebhookSettings {
        header_template: Template::parse("{{if false}}x{{end}}").unwrap(),
        ..WebhookSettings::outpost_defaults()
    };
    let req = build(&settings, &with_secret(), &event(), now()).unwrap();
    assert_eq!(req.header("X-Outpost-Signature"), None);
}

#[test]
fn hmac_sha1_and_base64() {
    let settings = WebhookSettings {
        algorithm: SignatureAlgorithm::from_name("hmac-sha1"),
        encoding: SignatureEncoding::from_name("base64"),
        ..WebhookSettings::outpost_defaults()
    };
    let req = build(&settings, &with_secret(), &event(), now()).unwrap();
    let sig = sha1_b64(SECRET, BODY);
    assert_eq!(sig.len(), 28);
    assert_eq!(
        req.header("X-Outpost-Signature"),
        Some(&*format!("v0={sig}"))
    );
    // Unknown names fall back to the defaults, as upstream.
    assert_eq!(
        SignatureAlgorithm::from_name("md5"),
        SignatureAlgorithm::HmacSha256
    );
    assert_eq!(SignatureEncoding::from_name("b32"), SignatureEncoding::Hex);
}

#[test]
fn rotation_signs_with_both_secrets_until_expiry() {
    let settings = WebhookSettings::outpost_defaults();
    let sig = sha256_hex(SECRET, BODY);
    let prev = sha256_hex(PREV, BODY);

    let req = build(
        &settings,
        &rotating("2024-06-02T08:23:36Z"),
        &event(),
        now(),
    )
    .unwrap();
    assert_eq!(
        req.header("X-Outpost-Signature"),
        Some(&*format!("v0={sig},{prev}"))
    );
    // Any RFC 3339 offset is accepted.
    let req = build(
        &settings,
        &rotating("2024-06-01T10:23:37+02:00"),
        &event(),
        now(),
    )
    .unwrap();
    assert_eq!(
        req.header("X-Outpost-Signature"),
        Some(&*format!("v0={sig},{prev}"))
    );
    // Upstream drops the previous secret only once `now` is after the expiry.
    let req = build(
        &settings,
        &rotating("2024-06-01T08:23:36Z"),
        &event(),
        now(),
    )
    .unwrap();
    assert_eq!(
        req.header("X-Outpost-Signature"),
        Some(&*format!("v0={sig},{prev}"))
    );
    // Expired: ignored.
    let req = build(
        &settings,
        &rotating("2024-06-01T08:23:35Z"),
        &event(),
        now(),
    )
    .unwrap();
    assert_eq!(
        req.header("X-Outpost-Signature"),
        Some(&*format!("v0={sig}"))
    );
}

#[test]
fn custom_headers_come_before_metadata_and_lose_to_it() {
    let d = dest(
        &[(
            "custom_headers",
            r#"{"X-Team":"payments","authorization":"Bearer t","X-OUTPOST-TOPIC":"custom"}"#,
        )],
        &[("secret", SECRET)],
    );
    let req = build(&WebhookSettings::outpost_defaults(), &d, &event(), now()).unwrap();
    assert_eq!(
        req.headers,
        h(&[
            ("Content-Type", "application/json"),
            ("X-Team", "payments"),
            ("Authorization", "Bearer t"),
            ("X-Outpost-Event-Id", "evt_123"),
            ("X-Outpost-Timestamp", "2024-06-01T08:23:36Z"),
            // Replaces the custom `X-OUTPOST-TOPIC`, at the position of the later assignment.
            ("X-Outpost-Topic", "user.created"),
            (
                "X-Outpost-Signature",
                &format!("v0={}", sha256_hex(SECRET, BODY))
            ),
        ])
    );
    // Empty or whitespace-only custom_headers means none.
    let d = dest(&[("custom_headers", "  ")], &[("secret", SECRET)]);
    let req = build(&WebhookSettings::outpost_defaults(), &d, &event(), now()).unwrap();
    assert_eq!(req.headers.len(), 5);
}

#[test]
fn delivery_and_event_metadata_override_system_values() {
    let mut d = with_secret();
    d.delivery_metadata = Some(map(&[
        ("topic", "dm-topic"),
        ("env", "prod"),
        ("region", "us"),
    ]));
    let e = event_with(
        "evt_123",
        BODY,
        &[
            ("event-id", "meta-id"),
            ("region", "eu"),
            ("signature", "ignored"),
        ],
    );
    let req = build(&WebhookSettings::outpost_defaults(), &d, &e, now()).unwrap();
    assert_eq!(
        req.headers,
        h(&[
            ("Content-Type", "application/json"),
            ("X-Outpost-Env", "prod"),
            ("X-Outpost-Event-Id", "meta-id"),
            ("X-Outpost-Region", "eu"),
            ("X-Outpost-Timestamp", "2024-06-01T08:23:36Z"),
            ("X-Outpost-Topic", "dm-topic"),
            // The real signature replaces the `signature` metadata key.
            (
                "X-Outpost-Signature",
                &format!("v0={}", sha256_hex(SECRET, BODY))
            ),
        ])
    );
    // Pinned names apply to the overridden values too.
    let settings = WebhookSettings {
        event_id_header: Some("X-Id".into()),
        ..WebhookSettings::outpost_defaults()
    };
    let req = build(&settings, &d, &e, now()).unwrap();
    assert_eq!(req.header("X-Id"), Some("meta-id"));
    assert_eq!(req.header("X-Outpost-Event-Id"), None);
}

#[test]
fn include_millisecond_timestamp() {
    let settings = WebhookSettings {
        include_millisecond_timestamp: true,
        ..WebhookSettings::outpost_defaults()
    };
    let t = Utc.timestamp_opt(NOW_SECS, 120_000_000).unwrap();
    let req = build(&settings, &with_secret(), &event(), t).unwrap();
    assert_eq!(
        req.headers,
        h(&[
            ("Content-Type", "application/json"),
            ("X-Outpost-Event-Id", "evt_123"),
            ("X-Outpost-Timestamp", "2024-06-01T08:23:36Z"),
            ("X-Outpost-Timestamp-Ms", "2024-06-01T08:23:36.12Z"),
            ("X-Outpost-Topic", "user.created"),
            (
                "X-Outpost-Signature",
                &format!("v0={}", sha256_hex(SECRET, BODY))
            ),
        ])
    );
    // Omitting the timestamp header does not omit `timestamp-ms` (it is ordinary metadata).
    let settings = WebhookSettings {
        timestamp_header: None,
        ..settings
    };
    let req = build(&settings, &with_secret(), &event(), t).unwrap();
    assert_eq!(req.header("X-Outpost-Timestamp"), None);
    assert_eq!(
        req.header("X-Outpost-Timestamp-Ms"),
        Some("2024-06-01T08:23:36.12Z")
    );
}

#[test]
fn no_credentials_signs_with_empty_key() {
    // Upstream always signs with the current secret, even when it is the empty string.
    let req = build(
        &WebhookSettings::outpost_defaults(),
        &dest(&[], &[]),
        &event(),
        now(),
    )
    .unwrap();
    assert_eq!(
        req.header("X-Outpost-Signature"),
        Some(&*format!("v0={}", sha256_hex("", BODY)))
    );
}

const STD_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const STD_PREV: &str = "whsec_c2VjcmV0LXByZXZpb3VzLTMyLWJ5dGVzLWxvbmchIQ==";

#[test]
fn standard_webhooks_spec_vector() {
    let e = event_with(
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        r#"{"test": 2432232314}"#,
        &[],
    );
    let d = dest(&[], &[("secret", STD_SECRET)]);
    let t = Utc.timestamp_opt(1_614_265_330, 0).unwrap();
    let req = build(&WebhookSettings::standard_defaults(), &d, &e, t).unwrap();
    assert_eq!(req.body, br#"{"test": 2432232314}"#);
    assert_eq!(
        req.headers,
        h(&[
            ("Content-Type", "application/json"),
            ("Webhook-Id", "msg_p5jXN8AQM9LWM0D4loKWxJek"),
            ("Webhook-Timestamp", "1614265330"),
            (
                "Webhook-Signature",
                "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
            ),
            ("Webhook-Topic", "user.created"),
        ])
    );
}

#[test]
fn standard_mode_with_rotation_and_metadata() {
    let mut d = dest(
        &[("custom_headers", r#"{"X-Team":"payments"}"#)],
        &[
            ("secret", STD_SECRET),
            ("previous_secret", STD_PREV),
            ("previous_secret_invalid_at", "2024-06-02T00:00:00Z"),
        ],
    );
    d.delivery_metadata = Some(map(&[("env", "prod")]));
    let e = event_with("evt_123", BODY, &[("customer", "c_1")]);
    let settings = WebhookSettings {
        include_millisecond_timestamp: true,
        ..WebhookSettings::standard_defaults()
    };
    let t = Utc.timestamp_opt(NOW_SECS, 5_000_000).unwrap();
    let req = build(&settings, &d, &e, t).unwrap();
    let content = format!("evt_123.{NOW_SECS}.{BODY}");
    let sig = format!(
        "v1,{} v1,{}",
        standard_sig(STD_SECRET, &content),
        standard_sig(STD_PREV, &content)
    );
    assert_eq!(
        req.headers,
        h(&[
            ("Content-Type", "application/json"),
            ("X-Team", "payments"),
            ("Webhook-Id", "evt_123"),
            ("Webhook-Timestamp", "1717230216"),
            ("Webhook-Signature", &sig),
            ("Webhook-Customer", "c_1"),
            ("Webhook-Env", "prod"),
            ("Webhook-Timestamp-Ms", "2024-06-01T08:23:36.005Z"),
            ("Webhook-Topic", "user.created"),
            ("Customer", "c_1"),
        ])
    );
    assert_eq!(req.body, BODY.as_bytes());

    // Expired previous secret: one signature.
    d.credentials.insert(
        "previous_secret_invalid_at".into(),
        "2024-06-01T00:00:00Z".into(),
    );
    let req = build(&settings, &d, &e, t).unwrap();
    assert_eq!(
        req.header("webhook-signature"),
        Some(&*format!("v1,{}", standard_sig(STD_SECRET, &content)))
    );
}

#[test]
fn standard_mode_prefix_and_metadata_quirks() {
    // Custom prefix; the default-mode settings (names, templates, algorithm) are ignored.
    let settings = WebhookSettings {
        header_prefix: "x-hook-".into(),
        event_id_header: None,
        signature_header: None,
        content_template: Template::parse("{{.Nope}}").unwrap(),
        algorithm: SignatureAlgorithm::HmacSha1,
        encoding: SignatureEncoding::Hex,
        ..WebhookSettings::standard_defaults()
    };
    let d = dest(&[], &[("secret", STD_SECRET)]);
    // Event metadata: `id` clobbers the id header (prefixed), `event-id` is only sent
    // unprefixed, and `timestamp` overrides nothing prefixed.
    let e = event_with(
        "evt_1",
        "{}",
        &[("id", "meta"), ("event-id", "m2"), ("timestamp", "0")],
    );
    let req = build(&settings, &d, &e, now()).unwrap();
    let sig = standard_sig(STD_SECRET, &format!("evt_1.{NOW_SECS}.{{}}"));
    assert_eq!(
        req.headers,
        h(&[
            ("Content-Type", "application/json"),
            ("X-Hook-Timestamp", "1717230216"),
            ("X-Hook-Signature", &format!("v1,{sig}")),
            ("X-Hook-Id", "meta"),
            ("X-Hook-Topic", "user.created"),
            ("Event-Id", "m2"),
            ("Id", "meta"),
            ("Timestamp", "0"),
        ])
    );

    // Empty prefix: an event metadata key is set twice, under the same name.
    let settings = WebhookSettings {
        header_prefix: String::new(),
        ..WebhookSettings::standard_defaults()
    };
    let e = event_with("evt_1", "{}", &[("region", "eu")]);
    let req = build(&settings, &d, &e, now()).unwrap();
    assert_eq!(
        req.headers,
        h(&[
            ("Content-Type", "application/json"),
            ("Id", "evt_1"),
            ("Timestamp", "1717230216"),
            ("Signature", &format!("v1,{sig}")),
            ("Topic", "user.created"),
            ("Region", "eu"),
        ])
    );
}

#[test]
fn standard_mode_secret_errors() {
    let s = WebhookSettings::standard_defaults();
    let e = event();
    let err = |creds: &[(&str, &str)]| build(&s, &dest(&[], creds), &e, now()).unwrap_err();

    assert!(matches!(
        err(&[]),
        BuildError::InvalidSecret {
            field: "secret",
            reason: "secret must have whsec_ prefix"
        }
    ));
    assert!(matches!(
        err(&[("secret", "whsec_")]),
        BuildError::InvalidSecret {
            field: "secret",
            reason: "secret is empty after prefix"
        }
    ));
    assert!(matches!(
        err(&[("secret", "whsec_not base64!")]),
        BuildError::InvalidSecret {
            field: "secret",
            reason: "secret is not valid base64"
        }
    ));
    assert!(matches!(
        err(&[
            ("secret", STD_SECRET),
            ("previous_secret", "plain"),
            ("previous_secret_invalid_at", "2030-01-01T00:00:00Z"),
        ]),
        BuildError::InvalidSecret {
            field: "previous_secret",
            ..
        }
    ));
    assert_eq!(
        err(&[("secret", "abc")]).to_string(),
        "failed to parse secret: secret must have whsec_ prefix"
    );
    // Like Go's StdEncoding, non-zero trailing bits are tolerated.
    let d = dest(&[], &[("secret", "whsec_YR==")]);
    assert!(build(&s, &d, &e, now()).is_ok());
}

#[test]
fn request_errors() {
    let s = WebhookSettings::outpost_defaults();
    let e = event();
    let build_with = |config: &[(&str, &str)], creds: &[(&str, &str)]| {
        build(&s, &dest(config, creds), &e, now())
    };

    let mut no_url = with_secret();
    no_url.config.remove("url");
    assert!(matches!(
        build(&s, &no_url, &e, now()),
        Err(BuildError::MissingUrl)
    ));
    assert!(matches!(
        build_with(&[("url", "")], &[]),
        Err(BuildError::MissingUrl)
    ));
    for bad in ["ftp://x", "https://", "https://a b", "example.com"] {
        assert!(
            matches!(
                build_with(&[("url", bad)], &[]),
                Err(BuildError::InvalidUrl)
            ),
            "{bad}"
        );
    }
    assert!(build_with(&[("url", "http://localhost:8080/a?b=c")], &[]).is_ok());

    let Err(BuildError::InvalidCustomHeaders(v)) =
        build_with(&[("custom_headers", r#"{"Host":"x"}"#)], &[])
    else {
        panic!("expected invalid custom headers");
    };
    assert_eq!(
        v,
        vec!["config.custom_headers.Host is forbidden".to_string()]
    );
    let Err(e2) = build_with(&[("custom_headers", "nope")], &[]) else {
        panic!("expected invalid custom headers");
    };
    assert_eq!(
        e2.to_string(),
        "invalid custom headers: config.custom_headers failed invalid validation"
    );

    let cred_err = |creds: &[(&str, &str)]| match build_with(&[], creds) {
        Err(BuildError::InvalidCredentials(m)) => m,
        other => panic!("unexpected {other:?}"),
    };
    assert_eq!(
        cred_err(&[("previous_secret", "p")]),
        "credentials.secret is required"
    );
    assert_eq!(
        cred_err(&[
            ("secret", "s"),
            ("previous_secret", "p"),
            ("previous_secret_invalid_at", "tomorrow"),
        ]),
        "credentials.previous_secret_invalid_at failed pattern validation"
    );
    assert_eq!(
        cred_err(&[("secret", "s"), ("previous_secret", "p")]),
        "credentials.previous_secret_invalid_at is required"
    );
    assert_eq!(
        cred_err(&[
            ("secret", "s"),
            ("previous_secret_invalid_at", "2030-01-01T00:00:00Z")
        ]),
        "credentials.previous_secret is required"
    );
}

#[test]
fn template_render_failures() {
    let e = event();
    let settings = WebhookSettings {
        content_template: Template::parse("{{.Signatures}}").unwrap(),
        ..WebhookSettings::outpost_defaults()
    };
    let err = build(&settings, &with_secret(), &e, now()).unwrap_err();
    assert!(matches!(
        err,
        BuildError::Template {
            which: "content",
            ..
        }
    ));
    assert!(
        err.to_string()
            .starts_with("signature content template execution failed: template: 1:")
    );

    let settings = WebhookSettings {
        header_template: Template::parse("{{index .Signatures 1}}").unwrap(),
        ..WebhookSettings::outpost_defaults()
    };
    let err = build(&settings, &with_secret(), &e, now()).unwrap_err();
    assert!(matches!(
        err,
        BuildError::Template {
            which: "header",
            ..
        }
    ));
    // With rotation there is a second signature, so the same template renders.
    let req = build(&settings, &rotating("2030-01-01T00:00:00Z"), &e, now()).unwrap();
    assert_eq!(
        req.header("X-Outpost-Signature"),
        Some(&*sha256_hex(PREV, BODY))
    );
}

#[test]
fn standard_templates_render_the_standard_header_format() {
    // The informational Standard templates, run through the default-mode machinery (which
    // keys the HMAC with the secret string as-is), give the `v1,<a> v1,<b>` layout.
    let settings = WebhookSettings {
        standard: false,
        ..WebhookSettings::standard_defaults()
    };
    let req = build(
        &settings,
        &rotating("2030-01-01T00:00:00Z"),
        &event(),
        now(),
    )
    .unwrap();
    let content = format!("evt_123.{NOW_SECS}.{BODY}");
    let b64 = |key: &str| {
        let mut m = Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).unwrap();
        m.update(content.as_bytes());
        B64.encode(m.finalize().into_bytes())
    };
    assert_eq!(
        req.header("Webhook-Signature"),
        Some(&*format!("v1,{} v1,{}", b64(SECRET), b64(PREV)))
    );
}

#[test]
fn canonical_header_keys() {
    assert_eq!(
        canonical_header_key("x-outpost-event-id"),
        "X-Outpost-Event-Id"
    );
    assert_eq!(canonical_header_key("X-REQUEST-ID"), "X-Request-Id");
    assert_eq!(canonical_header_key("content-type"), "Content-Type");
    assert_eq!(canonical_header_key("x_custom_key"), "X_custom_key");
    assert_eq!(canonical_header_key("a--b"), "A--B");
    assert_eq!(canonical_header_key("1abc-2def"), "1abc-2def");
    assert_eq!(canonical_header_key(""), "");
    // Not a token: unchanged (the transport rejects it).
    assert_eq!(canonical_header_key("bad key"), "bad key");
    assert_eq!(canonical_header_key("ünï"), "ünï");
}

#[test]
fn default_templates_written_out_sign_as_the_template_engine_renders_them() {
    // The same templates spelled with spaces are not recognised as the defaults, so they go
    // through the engine: both must give the same header, for one secret and for two.
    let engine = WebhookSettings {
        content_template: Template::parse("{{ .Body }}").unwrap(),
        header_template: Template::parse(r#"v0={{ .Signatures | join "," }}"#).unwrap(),
        ..WebhookSettings::outpost_defaults()
    };
    let body = r#"{"html": "<a href=\"x\">&amp;</a>", "text": "caf\u00e9 ☕", "n": [1, 2]}"#;
    let e = event_with("evt_<&>", body, &[]);
    for d in [with_secret(), rotating("2030-01-01T00:00:00Z")] {
        let fast = build(&WebhookSettings::outpost_defaults(), &d, &e, now()).unwrap();
        let slow = build(&engine, &d, &e, now()).unwrap();
        let sig = fast.header("X-Outpost-Signature").unwrap().to_string();
        assert!(sig.starts_with("v0=") && sig.contains(&sha256_hex(SECRET, body)));
        assert_eq!(fast, slow);
    }
    let two = build(
        &WebhookSettings::outpost_defaults(),
        &rotating("2030-01-01T00:00:00Z"),
        &e,
        now(),
    )
    .unwrap();
    assert_eq!(
        two.header("X-Outpost-Signature")
            .unwrap()
            .matches(',')
            .count(),
        1,
        "two secrets, two signatures"
    );
}
