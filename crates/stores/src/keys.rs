//! Redis key layout (Outpost's, with literal hash-tag braces) under the `DEPLOYMENT_ID` prefix.

/// Builds keys for one deployment.
#[derive(Debug, Clone, Default)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    /// Keys prefixed with `<deployment_id>:` when a deployment id is set.
    pub fn new(deployment_id: Option<&str>) -> Self {
        Self {
            prefix: deployment_id.map(|d| format!("{d}:")).unwrap_or_default(),
        }
    }

    /// The prefix (`""` or `"<id>:"`).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// `{dp}tenant:{<id>}:tenant`
    pub fn tenant(&self, id: &str) -> String {
        format!("{}tenant:{{{id}}}:tenant", self.prefix)
    }

    /// `{dp}tenant:{<id>}:destinations` (summary hash)
    pub fn summaries(&self, id: &str) -> String {
        format!("{}tenant:{{{id}}}:destinations", self.prefix)
    }

    /// `{dp}tenant:{<id>}:destination:<dest>`
    pub fn destination(&self, tenant: &str, id: &str) -> String {
        format!("{}tenant:{{{tenant}}}:destination:{id}", self.prefix)
    }

    /// Our tenant list index (a lexicographic sorted set; not in upstream, rebuilt from the
    /// tenant hashes when missing).
    pub fn tenant_index(&self) -> String {
        format!("{}outpost:tenant_index", self.prefix)
    }

    /// Pattern matching every tenant hash, for index rebuilds.
    pub fn tenant_pattern(&self) -> String {
        format!("{}tenant:*:tenant", self.prefix)
    }
}

/// Index member of a tenant: zero-padded creation ms, then the id, so lexicographic order is
/// (created_at, id) order.
pub fn index_member(created_ms: i64, id: &str) -> String {
    format!("{:016}:{id}", created_ms.max(0))
}

/// Parses an index member.
pub fn parse_index_member(m: &str) -> Option<(i64, String)> {
    let (ms, id) = m.split_once(':')?;
    Some((ms.parse().ok()?, id.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_matches_outpost() {
        let k = Keys::new(Some("acme"));
        assert_eq!(
            k.destination("org_42", "des_1"),
            "acme:tenant:{org_42}:destination:des_1"
        );
        assert_eq!(Keys::new(None).tenant("t"), "tenant:{t}:tenant");
        assert_eq!(Keys::new(None).summaries("t"), "tenant:{t}:destinations");
        let m = index_member(1_700_000_000_000, "a:b");
        assert!(index_member(999, "z") < m);
        assert_eq!(
            parse_index_member(&m),
            Some((1_700_000_000_000, "a:b".into()))
        );
    }
}
