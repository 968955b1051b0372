//! Tenant JWTs: HS256 tokens with issuer `outpost`, subject = tenant id, 24 h lifetime.
//! Verification accepts only HMAC algorithms (HS256/384/512) and refuses `none`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Sha256, Sha384, Sha512};

/// Token lifetime.
pub const TOKEN_TTL_SECS: i64 = 24 * 3600;
/// Required issuer.
pub const ISSUER: &str = "outpost";

/// Claims of a tenant token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Issuer (`outpost`).
    pub iss: String,
    /// Tenant id.
    pub sub: String,
    /// Issued at (unix seconds).
    pub iat: i64,
    /// Expiry (unix seconds).
    pub exp: i64,
    /// Deployment id, when configured (informational).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_id: Option<String>,
}

fn sign(alg: &str, secret: &[u8], input: &[u8]) -> Option<Vec<u8>> {
    macro_rules! mac {
        ($h:ty) => {{
            let mut m = <Hmac<$h>>::new_from_slice(secret).ok()?;
            m.update(input);
            Some(m.finalize().into_bytes().to_vec())
        }};
    }
    match alg {
        "HS256" => mac!(Sha256),
        "HS384" => mac!(Sha384),
        "HS512" => mac!(Sha512),
        _ => None,
    }
}

/// Issues a token for `tenant_id`.
pub fn issue(secret: &str, tenant_id: &str, deployment_id: Option<&str>, now: i64) -> String {
    let header = B64URL.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let claims = Claims {
        iss: ISSUER.into(),
        sub: tenant_id.into(),
        iat: now,
        exp: now + TOKEN_TTL_SECS,
        deployment_id: deployment_id.map(str::to_string),
    };
    let payload = B64URL.encode(serde_json::to_vec(&claims).unwrap_or_default());
    let input = format!("{header}.{payload}");
    let sig = sign("HS256", secret.as_bytes(), input.as_bytes()).unwrap_or_default();
    format!("{input}.{}", B64URL.encode(sig))
}

/// Verifies a token and returns its claims, or `None` when it is invalid in any way.
pub fn verify(secret: &str, token: &str, now: i64) -> Option<Claims> {
    if secret.is_empty() {
        return None;
    }
    let mut parts = token.split('.');
    let (h, p, s) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let header: serde_json::Value = serde_json::from_slice(&B64URL.decode(h).ok()?).ok()?;
    let alg = header.get("alg")?.as_str()?;
    let expected = sign(alg, secret.as_bytes(), format!("{h}.{p}").as_bytes())?;
    let given = B64URL.decode(s).ok()?;
    use subtle::ConstantTimeEq;
    if expected.ct_eq(&given).unwrap_u8() != 1 {
        return None;
    }
    let claims: Claims = serde_json::from_slice(&B64URL.decode(p).ok()?).ok()?;
    (claims.iss == ISSUER && claims.exp > now && !claims.sub.is_empty()).then_some(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_rejections() {
        let t = issue("s3cret", "acme", Some("dep"), 1000);
        let c = verify("s3cret", &t, 1001).unwrap();
        assert_eq!(c.sub, "acme");
        assert_eq!(c.exp, 1000 + TOKEN_TTL_SECS);
        assert_eq!(c.deployment_id.as_deref(), Some("dep"));
        assert!(verify("other", &t, 1001).is_none(), "foreign signature");
        assert!(
            verify("s3cret", &t, 1000 + TOKEN_TTL_SECS).is_none(),
            "expired"
        );
        assert!(verify("", &t, 1001).is_none());
        // alg=none with an empty signature.
        let none_header = B64URL.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let payload = t.split('.').nth(1).unwrap();
        assert!(verify("s3cret", &format!("{none_header}.{payload}."), 1001).is_none());
        // Wrong issuer, correctly signed.
        let bad = B64URL.encode(br#"{"iss":"x","sub":"acme","iat":1,"exp":99999}"#);
        let header = t.split('.').next().unwrap();
        let input = format!("{header}.{bad}");
        let sig = B64URL.encode(sign("HS256", b"s3cret", input.as_bytes()).unwrap());
        assert!(verify("s3cret", &format!("{input}.{sig}"), 1001).is_none());
    }
}
