//! Topics: glob matching of destination subscriptions against event topics, validation of a
//! destination's topic list against the configured `TOPICS`, normalisation on save, and the
//! publish-time topic rule.

/// The configured topic universe (`TOPICS`, `TOPICS_ALLOW_WILDCARDS`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TopicRules {
    /// Allowed topics; empty means any topic is accepted.
    pub topics: Vec<String>,
    /// Whether destinations may subscribe with patterns containing `*`.
    pub allow_wildcards: bool,
}

/// Why a destination's topic list was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TopicError {
    /// Topics was neither `"*"` nor an array of strings.
    #[error("validation failed: invalid topics format")]
    Format,
    /// An entry is unknown, empty, or a pattern that is not allowed.
    #[error("validation failed: invalid topics")]
    Invalid,
}

/// Glob match where `*` matches any run of characters (including `.` and nothing).
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p = pattern.as_bytes();
    let t = text.as_bytes();
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<usize> = None;
    let mut mark = 0usize;
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some(pi);
            pi += 1;
            mark = ti;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

/// Whether a destination subscribed to `subscribed` receives an event with `topic`.
/// An event topic of `""` or `"*"` reaches every destination.
pub fn matches_topic(subscribed: &[String], topic: &str) -> bool {
    if topic.is_empty() || topic == "*" {
        return true;
    }
    subscribed.iter().any(|p| p == "*" || glob_match(p, topic))
}

/// Most topics one destination may subscribe to.
pub const MAX_DESTINATION_TOPICS: usize = 500;
/// Longest topic or pattern, in bytes.
pub const MAX_TOPIC_LEN: usize = 256;

impl TopicRules {
    /// Validates a destination's topics (already parsed into a list): at most
    /// [`MAX_DESTINATION_TOPICS`] entries of at most [`MAX_TOPIC_LEN`] bytes.
    pub fn validate(&self, topics: &[String]) -> Result<(), TopicError> {
        if topics.is_empty()
            || topics.len() > MAX_DESTINATION_TOPICS
            || topics.iter().any(|t| t.len() > MAX_TOPIC_LEN)
        {
            return Err(TopicError::Invalid);
        }
        if topics.len() == 1 && topics[0] == "*" {
            return Ok(());
        }
        for t in topics {
            if t.trim().is_empty() {
                return Err(TopicError::Invalid);
            }
            let wildcard = t.contains('*');
            if self.topics.is_empty() {
                if wildcard && !self.allow_wildcards {
                    return Err(TopicError::Invalid);
                }
                continue;
            }
            if t == "*" {
                // A bare "*" must stand alone when a topic list is configured.
                return Err(TopicError::Invalid);
            }
            if wildcard {
                if !self.allow_wildcards || !self.topics.iter().any(|a| glob_match(t, a)) {
                    return Err(TopicError::Invalid);
                }
            } else if !self.topics.iter().any(|a| a == t) {
                return Err(TopicError::Invalid);
            }
        }
        Ok(())
    }

    /// Checks a publish topic: with `TOPICS` configured it must be one of them or `"*"`.
    pub fn validate_publish(&self, topic: &str) -> Result<(), &'static str> {
        if self.topics.is_empty() {
            return Ok(());
        }
        if topic.is_empty() {
            return Err("topic is required");
        }
        if topic == "*" || self.topics.iter().any(|t| t == topic) {
            Ok(())
        } else {
            Err("topic is invalid")
        }
    }
}

/// Parses the JSON `topics` field: the string `"*"` or an array of strings.
pub fn parse_topics(v: &serde_json::Value) -> Result<Vec<String>, TopicError> {
    match v {
        serde_json::Value::String(s) if s == "*" => Ok(vec!["*".to_string()]),
        serde_json::Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().map(str::to_string).ok_or(TopicError::Format))
            .collect(),
        _ => Err(TopicError::Format),
    }
}

/// Normalises a topic list for storage: drops exact duplicates and entries covered by a sibling
/// pattern (`["user.*", "user.created"]` becomes `["user.*"]`). Order is otherwise kept.
pub fn normalize(topics: &[String]) -> Vec<String> {
    let mut unique: Vec<&String> = Vec::with_capacity(topics.len());
    for t in topics {
        if !unique.contains(&t) {
            unique.push(t);
        }
    }
    let mut out: Vec<String> = Vec::with_capacity(unique.len());
    for (i, t) in unique.iter().enumerate() {
        let covered = unique.iter().enumerate().any(|(j, p)| {
            j != i && p.contains('*') && glob_match(p, t) && {
                // Two patterns covering each other: keep the first one.
                let mutual = glob_match(t, p);
                !mutual || j < i
            }
        });
        if !covered {
            out.push((*t).clone());
        }
    }
    out
}

/// A tenant's topics derived from its destinations: `["*"]` if any destination has `*`,
/// otherwise the sorted, de-duplicated union.
pub fn tenant_topics<'a>(lists: impl IntoIterator<Item = &'a [String]>) -> Vec<String> {
    let mut all: Vec<String> = Vec::new();
    for list in lists {
        for t in list {
            if t == "*" {
                return vec!["*".to_string()];
            }
            all.push(t.clone());
        }
    }
    all.sort();
    all.dedup();
    all
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn v(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn glob_basics() {
        assert!(glob_match("user.*", "user.created"));
        assert!(glob_match("user.*", "user."));
        assert!(glob_match("*.created", "order.item.created"));
        assert!(glob_match("a*b*c", "aXXbYYc"));
        assert!(!glob_match("a*b*c", "aXXbYY"));
        assert!(!glob_match("user.created", "user.created2"));
        assert!(glob_match("*", ""));
    }

    #[test]
    fn destination_topic_limits() {
        let rules = TopicRules::default();
        let many: Vec<String> = (0..=MAX_DESTINATION_TOPICS)
            .map(|i| format!("t{i}"))
            .collect();
        assert_eq!(rules.validate(&many), Err(TopicError::Invalid));
        assert_eq!(rules.validate(&many[..MAX_DESTINATION_TOPICS]), Ok(()));
        assert_eq!(
            rules.validate(&["x".repeat(MAX_TOPIC_LEN + 1)]),
            Err(TopicError::Invalid)
        );
        assert_eq!(rules.validate(&["x".repeat(MAX_TOPIC_LEN)]), Ok(()));
    }

    #[test]
    fn event_topic_matching() {
        assert!(matches_topic(&v(&["*"]), "anything"));
        assert!(matches_topic(&v(&["a", "b.*"]), "b.x"));
        assert!(!matches_topic(&v(&["a"]), "b"));
        assert!(matches_topic(&v(&["a"]), ""));
        assert!(matches_topic(&v(&["a"]), "*"));
    }

    #[test]
    fn validation_without_configured_topics() {
        let r = TopicRules::default();
        assert!(r.validate(&v(&["anything"])).is_ok());
        assert!(r.validate(&v(&["*"])).is_ok());
        assert_eq!(r.validate(&v(&["user.*"])), Err(TopicError::Invalid));
        assert_eq!(r.validate(&[]), Err(TopicError::Invalid));
        let r = TopicRules {
            allow_wildcards: true,
            ..Default::default()
        };
        assert!(r.validate(&v(&["user.*"])).is_ok());
    }

    #[test]
    fn validation_with_configured_topics() {
        let r = TopicRules {
            topics: v(&["user.created", "user.deleted", "order.paid"]),
            allow_wildcards: false,
        };
        assert!(r.validate(&v(&["user.created"])).is_ok());
        assert!(r.validate(&v(&["*"])).is_ok());
        assert!(r.validate(&v(&["*", "user.created"])).is_err());
        assert!(r.validate(&v(&["user.updated"])).is_err());
        assert!(r.validate(&v(&["user.*"])).is_err());
        let r = TopicRules {
            allow_wildcards: true,
            ..r
        };
        assert!(r.validate(&v(&["user.*"])).is_ok());
        assert!(r.validate(&v(&["invoice.*"])).is_err());
    }

    #[test]
    fn publish_rule() {
        let r = TopicRules {
            topics: v(&["a"]),
            allow_wildcards: false,
        };
        assert_eq!(r.validate_publish(""), Err("topic is required"));
        assert_eq!(r.validate_publish("b"), Err("topic is invalid"));
        assert!(r.validate_publish("a").is_ok());
        assert!(r.validate_publish("*").is_ok());
        assert!(TopicRules::default().validate_publish("").is_ok());
    }

    #[test]
    fn parse_and_normalize() {
        assert_eq!(parse_topics(&serde_json::json!("*")).unwrap(), v(&["*"]));
        assert_eq!(
            parse_topics(&serde_json::json!("a")),
            Err(TopicError::Format)
        );
        assert_eq!(
            parse_topics(&serde_json::json!([1])),
            Err(TopicError::Format)
        );
        assert_eq!(
            normalize(&v(&["user.*", "user.created", "a", "a"])),
            v(&["user.*", "a"])
        );
        assert_eq!(normalize(&v(&["*"])), v(&["*"]));
        assert_eq!(normalize(&v(&["b", "*"])), v(&["*"]));
        assert_eq!(
            tenant_topics([v(&["b", "a"]).as_slice(), v(&["a"]).as_slice()]),
            v(&["a", "b"])
        );
        assert_eq!(
            tenant_topics([v(&["b"]).as_slice(), v(&["*"]).as_slice()]),
            v(&["*"])
        );
    }

    proptest! {
        #[test]
        fn exact_topic_always_matches_itself(t in "[a-z.]{0,12}") {
            prop_assert!(glob_match(&t, &t));
            prop_assert!(matches_topic(std::slice::from_ref(&t), &t));
        }

        /// The matcher agrees with the plain recursive definition of `*` globbing.
        #[test]
        fn glob_agrees_with_the_reference(pattern in "[ab.*]{0,8}", text in "[ab.]{0,10}") {
            fn reference(p: &[u8], t: &[u8]) -> bool {
                match p.split_first() {
                    None => t.is_empty(),
                    Some((b'*', rest)) => (0..=t.len()).any(|i| reference(rest, &t[i..])),
                    Some((c, rest)) => t.first() == Some(c) && reference(rest, &t[1..]),
                }
            }
            prop_assert_eq!(glob_match(&pattern, &text), reference(pattern.as_bytes(), text.as_bytes()));
        }

        /// A destination receives a topic when any of its patterns matches it, or the event's
        /// topic is empty or `*`; adding patterns never loses a match.
        #[test]
        fn matches_topic_is_any_pattern(
            list in proptest::collection::vec("[ab.*]{1,5}", 0..5),
            extra in "[ab.*]{1,5}",
            topic in "[ab.*]{0,6}",
        ) {
            let want = topic.is_empty() || topic == "*"
                || list.iter().any(|p| p == "*" || glob_match(p, &topic));
            prop_assert_eq!(matches_topic(&list, &topic), want);
            let mut more = list.clone();
            more.push(extra);
            prop_assert!(!want || matches_topic(&more, &topic));
        }

        #[test]
        fn normalized_list_matches_same_topics(
            list in proptest::collection::vec("[ab.*]{1,5}", 1..6),
            topic in "[ab.]{0,6}",
        ) {
            let n = normalize(&list);
            prop_assert!(!n.is_empty());
            prop_assert_eq!(matches_topic(&list, &topic), matches_topic(&n, &topic));
        }
    }
}
