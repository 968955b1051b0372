//! The publish body: any bytes are an event or a clear refusal; an accepted event serialises
//! and reads back unchanged (its `data` byte for byte).
#![no_main]

use libfuzzer_sys::fuzz_target;
use outpost_core::event::Event;
use outpost_core::ids::IdGen;
use outpost_core::topic::TopicRules;

fuzz_target!(|data: &[u8]| {
    let rules = TopicRules {
        topics: vec!["user.created".into(), "order.*".into()],
        allow_wildcards: true,
    };
    let now = outpost_core::time::from_unix_ms(1_700_000_000_000);
    for rules in [TopicRules::default(), rules] {
        let Ok(event) = outpost_core::publish::parse(data, &rules, &IdGen::default(), now) else {
            continue;
        };
        let json = serde_json::to_vec(&event).expect("an accepted event serialises");
        let back: Event = serde_json::from_slice(&json).expect("and reads back");
        assert_eq!(back.data.get(), event.data.get());
        assert_eq!(back.id, event.id);
        assert_eq!(back.metadata, event.metadata);
    }
});
