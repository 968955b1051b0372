//! Tests of the filter: upstream's examples, operator semantics, validation, and properties
//! checked against a direct port of upstream's matcher.

use super::*;
use proptest::prelude::*;
use serde_json::json;

/// Upstream's `Match` without the empty/null shortcut of [`matches`].
fn upstream_match(input: &Value, schema: &Value) -> bool {
    let mut matcher = Matcher::default();
    let matched = matcher.schema(input, schema);
    matched && !matcher.aborted
}

fn parse_table(raw: &str) -> Vec<(u64, Value, Value, bool)> {
    let rows: Vec<Value> = serde_json::from_str(raw).expect("table is valid JSON");
    rows.into_iter()
        .map(|row| {
            let Value::Array(cols) = row else {
                panic!("row is not an array")
            };
            let [idx, input, schema, expected] =
                <[Value; 4]>::try_from(cols).expect("row has four columns");
            (
                idx.as_u64().expect("index"),
                input,
                schema,
                expected.as_bool().expect("expected is a bool"),
            )
        })
        .collect()
}

/// Upstream `TestMatch` table (`internal/simplejsonmatch/match_test.go`, itself generated from
/// simple-json-match's `index.test.ts`): `[original_index, input, schema, expected]`.
/// The `$ref` cases (61-72, 85) are omitted: `$ref` is not implemented upstream either.
const UPSTREAM_CASES: &str = r#"[
[0,{"type":"created"},{"type":"created"},true],
[1,{},{"type":"created"},false],
[2,{"type":"updated"},{"type":"created"},false],
[3,{"type":1},{"type":"created"},false],
[4,{"type":1},{"type":1},true],
[5,{"count":1,"type":"created"},{"count":1},true],
[6,{"count":1,"type":"created"},{"count":1,"type":"created"},true],
[7,{"count":1},{"count":1,"type":"created"},false],
[8,{"count":0},{"count":{"$lt":1}},true],
[9,{"count":2},{"count":{"$lt":1}},false],
[10,{"count":2},{"count":{"$eq":2}},true],
[11,{"count":2},{"count":{"$neq":2}},false],
[12,{"count":2},{"count":{"$gt":1,"$lt":3}},true],
[13,{"count":4},{"count":{"$gt":1,"$lt":3}},false],
[14,{"title":"a"},{"title":{"$gt":"b"}},false],
[15,{"title":"c"},{"title":{"$gt":"b"}},true],
[16,{"type":"created"},{"type":{"$neq":"created"}},false],
[17,{"type":"created"},{"type":{"$eq":"created"}},true],
[18,{"type":{"something":"created"}},{"type":{"something":"created"}},true],
[19,{"type":{"something":"created"}},{"type":{"something":"updated"}},false],
[20,{"type":{"something":"created"}},{"type":1},false],
[21,{"tags":["test","other"]},{"tags":"test"},true],
[22,{"tags":["test","other"]},{"tags":"nope"},false],
[23,{"items":[{"sku":"test"}]},{"items":{"sku":"test"}},true],
[24,{"items":[{"sku":"test"}]},{"items":{"sku":"1"}},false],
[25,{"items":[{"inventory":9},{"inventory":11}]},{"items":{"inventory":{"$lte":10}}},true],
[26,{"items":[{"inventory":12},{"inventory":11}]},{"items":{"inventory":{"$lte":10}}},false],
[27,{"tags":["test","other","more"]},{"tags":["test","other"]},true],
[28,{"tags":["test","other","more"]},{"tags":["test","whatever"]},false],
[29,{"tags":["test","other"]},{"tags":{"$eq":["test","other"]}},true],
[30,{"tags":["test","other","more"]},{"tags":{"$eq":["test","other"]}},false],
[31,[1,2,3],3,true],
[32,[1,2,3],4,false],
[33,[1,2,3],[{"$eq":3}],true],
[34,[1,2,3],[{"$eq":4}],false],
[35,[1,2,3],{"$eq":3},false],
[36,{"exist":true},{"exist":true},true],
[37,{"exist":true},{"exist":false},false],
[38,{"exist":null},{"exist":null},true],
[39,{"exist":null},{"exist":false},false],
[40,{"exist":null},{"exist":{"$eq":null}},true],
[41,{"exist":null},{"exist":{"$neq":null}},false],
[42,"created","created",true],
[43,1,2,false],
[44,10,{"$gte":5},true],
[45,{"test":true},true,false],
[46,{"test":"some-text"},{"test":{"$startsWith":"some"}},true],
[47,{"test":"some-text"},{"test":{"$endsWith":"some"}},false],
[48,{"test":"some-text"},{"test":{"$endsWith":"text"}},true],
[49,{"test":"some-text"},{"test":{"something":"text"}},false],
[50,{"test":{"more":true}},{"test":{"$startsWith":"text"}},false],
[51,{"test":"some-text"},{"test":{"$startsWith":["some","else"]}},true],
[52,{"test":"some-text"},{"test":{"$startsWith":["something","else"]}},false],
[53,{"test":"some-text"},{"test":{"$endsWith":["some","else"]}},false],
[54,{"test":"some-text"},{"test":{"$endsWith":["text","else"]}},true],
[55,{"test":"some-text","id":123},{"test":{"$in":"text"},"id":{"$in":[123,456]}},true],
[56,{"test":"some-text","id":123},{"test":{"$in":["some-text","other-text"]},"id":{"$in":[123,456]}},true],
[57,{"test":"some-text","id":123},{"test":{"$in":["some","text"]},"id":{"$nin":[123,456]}},false],
[58,{"test":"some-text"},{"test":{"$in":"text"}},true],
[59,{"test":"some-text"},{"test":{"$nin":"some"}},false],
[60,{"tags":["test","something"]},{"tags":{"$nin":"test"}},false],
[73,{"test":1},{"test":{"$gt":[1,2,3]}},false],
[74,{"test":true},{"$or":[{"test":true}]},true],
[75,{"test":true},{"$or":[{"test":false}]},false],
[76,{"test":{"something":"else"}},{"test":{"$or":[{"something":true},{"something":{"$in":"else"}}]}},true],
[77,{"test":{"something":"else"}},{"test":{"$or":[{"something":true},{"something":{"$in":"no"}}]}},false],
[78,1,{"$or":[1,2]},true],
[79,1,{"$or":[2,3]},false],
[80,{"test":true},{"$and":[{"test":true}]},true],
[81,{"test":true},{"$or":[{"test":false}]},false],
[82,{"test":{"something":"else"}},{"test":{"$and":[{"something":{"$neq":null}},{"something":{"$in":"else"}}]}},true],
[83,{"test":{"something":null}},{"test":{"$and":[{"something":{"$neq":null}},{"something":{"$in":"else"}}]}},false],
[84,1,{"$and":[1,2]},false],
[86,{"test":"else"},{"test":{"$exist":true}},true],
[87,{"test":"else"},{"test":{"$exist":false}},false],
[88,{"test1":"else"},{"test":{"$exist":true}},false],
[89,{"test1":"else"},{"test":{"$exist":false}},true],
[90,"/test","/test",true],
[91,"/test","/test2",false],
[92,1,1,true],
[93,1,2,false],
[94,1,{},false],
[95,{"test":{"test1":"else"}},{"test":{"test1":{"$exist":true,"$or":["else","not"]}}},true],
[96,{"test":{"test1":"else1"}},{"test":{"test1":{"$exist":true,"$or":["else","not"]}}},false],
[97,{"test":{"test1":"else"}},{"test":{"test1":{"$exist":true,"$in":"el"}}},true],
[98,{"test":{"test1":"else"}},{"test":{"test1":{"$exist":true,"$in":"no"}}},false],
[99,{"test":{"test1":"else","test2":"not"}},{"test":{"test1":{"$exist":true,"$or":["else","not"]},"$and":[{"test1":"else"},{"test2":"not"}]}},true],
[100,{"test":{"test1":"else","test2":"not"}},{"test":{"test1":{"$exist":true,"$or":["else1","not1"]},"$and":[{"test1":"else1"},{"test2":"not1"}]}},false],
[101,{"test":{"test1":{"test2":"else"}}},{"test":{"test1":{"test2":{"$exist":true}}}},true],
[102,{"test":{"test1":{"test2":"else"}}},{"test":{"test1":{"test2":{"$exist":false}}}},false],
[103,{"test":{"test1":{"test3":"else"}}},{"test":{"test1":{"test2":{"$exist":false}}}},true],
[104,{"test":{"test1":{"test3":"else"}}},{"test":{"test1":{"test2":{"$exist":true}}}},false],
[105,{"test":{"test1":"else"}},{"$or":[{"test":{"test1":{"$exist":true}}},{"test":{"test1":"else1"}}]},true],
[106,{"test":{"test1":"else"}},{"$or":[{"test":{"test1":{"$exist":false}}},{"test":{"test1":"else"}}]},true],
[107,{"test":{"test2":"else"}},{"$or":[{"test":{"test1":{"$exist":true}}},{"test":{"test2":"else"}}]},true],
[108,{"test":{"test2":"else"}},{"$or":[{"test":{"test1":{"$exist":true}}},{"test":{"test2":"else1"}}]},false],
[109,{"test":{"test1":"else","test2":"not"}},{"$or":[{"test":{"test1":{"$exist":true}}},{"test":{"test2":"else1"}}]},true],
[110,{"test":{"test1":"else","test2":"not"}},{"$and":[{"test":{"test1":{"$exist":true}}},{"test":{"test2":"not"}}]},true],
[111,{"test":{"test1":"else","test2":"not"}},{"$and":[{"test":{"test1":{"$exist":true}}},{"test":{"test2":"not1"}}]},false],
[112,{"test":{"test1":"else","test2":"not"}},{"$and":[{"test":{"test1":{"$exist":true}}},{"test":{"test1":"else"}}]},true],
[113,{"test":{"test1":"else","test2":"not"}},{"$and":[{"test":{"test1":{"$exist":true}}},{"test":{"test1":"else1"}}]},false],
[114,{"test":{"test1":"else","test2":"not"}},{"$and":[{"test":{"test1":{"$exist":true,"$eq":"else"}}}]},true],
[115,{"test":{"test2":"not"}},{"$and":[{"test":{"test1":{"$exist":true,"$eq":"not"}}}]},false],
[116,{"test":{"test1":"else","test2":"not"}},{"$and":[{"test":{"test1":{"$exist":true}}},{"test":{"test2":{"$exist":true}}}]},true],
[117,{"test":{"test1":"else","test2":"not"}},{"$and":[{"test":{"test1":{"$exist":true}}},{"test":{"test2":{"$exist":false}}}]},false],
[118,{"test":{"test1":"else"}},{"$and":[{"test":{"test1":{"$exist":true}}},{"test":{"test2":{"$exist":false}}}]},true],
[119,{"test":{"test1":"else"}},{"$or":[{"test":{"test1":{"$exist":true}}},{"test":{"test2":{"$exist":false}}}]},true],
[120,{"test":{"test3":"else"}},{"$or":[{"test":{"test1":{"$exist":true}}},{"test":{"test2":{"$exist":false}}}]},true]
]"#;

/// Upstream `TestMatchNot` table: `$not` combined with sibling keys.
const UPSTREAM_NOT_CASES: &str = r#"[
[0,{"test":{"test1":"else","test2":"not"}},{"$not":{"test":{"test1":"else2"}},"$and":[{"test":{"test1":"else"}},{"test":{"test2":"not"}}]},true],
[1,{"test":{"test1":"else","test2":"not"}},{"$not":{"test":{"test1":"else"}},"$and":[{"test":{"test1":"else"}},{"test":{"test2":"not"}}]},false],
[2,{"test":{"test1":"else","test2":"not"}},{"$not":{"test":{"test1":{"$exist":true}}},"$and":[{"test":{"test1":"else"}},{"test":{"test2":"not"}}]},false],
[3,{"test":{"test1":"else","test2":"not"}},{"$not":{"test":{"test1":{"$exist":false}}},"$and":[{"test":{"test1":"else"}},{"test":{"test2":"not"}}]},true],
[4,{"test":{"test1":"else","test2":"not"}},{"$not":{"test":{"test1":{"$exist":false}}},"$and":[{"test":{"test3":{"$exist":false}}},{"test":{"test2":"not"}}]},true],
[5,{"test":{"test1":"else","test2":"not"}},{"$not":{"test":{"test1":{"$exist":false}}},"$and":[{"test":{"test3":{"$exist":true}}},{"test":{"test2":"not"}}]},false],
[6,{"test":{"test1":"else","test2":"not"}},{"$not":{"test":{"test1":"else2"}},"$or":[{"test":{"test3":{"$exist":true}}},{"test":{"test2":"not"}}]},true],
[7,{"test":{"test1":"else","test2":"not"}},{"$not":{"test":{"test1":"else"}},"$or":[{"test":{"test3":{"$exist":true}}},{"test":{"test2":"not"}}]},false],
[8,{"test":{"test1":"else","test2":"not"}},{"$not":{"test":{"test1":"else"}},"$or":[{"test":{"test3":{"$exist":false}}},{"test":{"test2":"not"}}]},false],
[9,{"test":{"test1":"else","test2":"not"}},{"$not":{"test":{"test1":"else"}},"$or":[{"test":{"test3":{"$exist":false}}},{"test":{"test2":"not2"}}]},false],
[10,{"test":{"test1":"else","test2":"not"}},{"$not":{"test":{"test1":"else2"}},"$or":[{"test":{"test3":{"$exist":true}}},{"test":{"test2":"not2"}}]},false],
[11,{"test":{"test1":"else","test2":"not"}},{"$not":{"test":{"test1":"else2"}},"$or":[{"test":{"test3":{"$exist":false}}},{"test":{"test2":"not"}}]},true]
]"#;

#[test]
fn upstream_table() {
    let cases = parse_table(UPSTREAM_CASES);
    assert_eq!(cases.len(), 108);
    for (idx, input, schema, expected) in cases {
        assert_eq!(
            upstream_match(&input, &schema),
            expected,
            "case {idx}: input {input} schema {schema}"
        );
        // Upstream runs every case a second time wrapped in `$not`.
        let negated = json!({ "$not": schema });
        assert_eq!(
            upstream_match(&input, &negated),
            !expected,
            "case {idx} with $not: input {input} schema {negated}"
        );
        // The public API agrees, except that it short-circuits empty filters.
        let empty = schema.as_object().is_some_and(Map::is_empty);
        if !empty {
            assert_eq!(matches(&schema, &input), expected, "matches(), case {idx}");
        }
    }
}

#[test]
fn upstream_not_table() {
    let cases = parse_table(UPSTREAM_NOT_CASES);
    assert_eq!(cases.len(), 12);
    for (idx, input, schema, expected) in cases {
        assert_eq!(
            matches(&schema, &input),
            expected,
            "not case {idx}: input {input} schema {schema}"
        );
    }
}

fn event() -> Value {
    json!({
        "id": "evt_123",
        "topic": "order.created",
        "time": "2024-01-15T09:30:00Z",
        "metadata": {"source": "shopify", "region": "eu-west-1"},
        "data": {
            "amount": 42,
            "price": 9.5,
            "currency": "EUR",
            "paid": true,
            "coupon": null,
            "tags": ["vip", "first-order"],
            "items": [
                {"sku": "A-1", "qty": 1},
                {"sku": "B-2", "qty": 3}
            ],
            "customer": {"email": "jane@example.com", "address": {"country": "FR"}}
        }
    })
}

fn check(filter: Value, expected: bool) {
    assert_eq!(matches(&filter, &event()), expected, "filter {filter}");
}

#[test]
fn empty_object_filter_matches_everything() {
    assert!(matches(&json!({}), &event()));
    assert!(matches(&json!({}), &json!({})));
    assert!(matches(&json!({}), &json!(1)));
    assert!(matches(&json!({}), &json!(null)));
}

#[test]
fn null_filter_matches_everything() {
    assert!(matches(&Value::Null, &event()));
    assert!(matches(&Value::Null, &json!([1, 2])));
}

#[test]
fn top_level_field_equality() {
    check(json!({"topic": "order.created"}), true);
    check(json!({"topic": "order.updated"}), false);
    check(json!({"id": "evt_123"}), true);
}

#[test]
fn implicit_and_over_keys() {
    check(
        json!({"topic": "order.created", "data": {"currency": "EUR"}}),
        true,
    );
    check(
        json!({"topic": "order.created", "data": {"currency": "USD"}}),
        false,
    );
    check(
        json!({"data": {"currency": "EUR", "paid": true, "amount": 42}}),
        true,
    );
    check(json!({"data": {"currency": "EUR", "paid": false}}), false);
}

#[test]
fn nested_objects_recurse() {
    check(
        json!({"data": {"customer": {"address": {"country": "FR"}}}}),
        true,
    );
    check(
        json!({"data": {"customer": {"address": {"country": "DE"}}}}),
        false,
    );
    check(json!({"metadata": {"source": "shopify"}}), true);
}

#[test]
fn object_schema_against_primitive_fails() {
    check(json!({"topic": {"name": "order.created"}}), false);
    check(json!({"data": {"amount": {}}}), false);
}

#[test]
fn empty_nested_object_matches_any_object() {
    check(json!({"data": {"customer": {}}}), true);
    check(json!({"data": {}}), true);
}

#[test]
fn missing_key_fails() {
    check(json!({"data": {"nope": "x"}}), false);
    check(json!({"data": {"nope": null}}), false);
    check(json!({"data": {"nope": {"$neq": "x"}}}), false);
    check(json!({"data": {"nope": {"$nin": ["x"]}}}), false);
}

#[test]
fn missing_key_passes_with_exist_false() {
    check(json!({"data": {"nope": {"$exist": false}}}), true);
    // Upstream only looks for a literal `"$exist": false`; other operators beside it are
    // not evaluated for a missing key.
    check(json!({"data": {"nope": {"$exist": false, "$eq": 1}}}), true);
    // ...and a negated `$exist: true` is not recognised (quirk).
    check(json!({"data": {"nope": {"$not": {"$exist": true}}}}), false);
    check(json!({"$not": {"data": {"nope": {"$exist": true}}}}), true);
}

#[test]
fn exist_on_present_keys() {
    check(json!({"data": {"amount": {"$exist": true}}}), true);
    check(json!({"data": {"amount": {"$exist": false}}}), false);
    // A key holding null is present.
    check(json!({"data": {"coupon": {"$exist": true}}}), true);
    check(json!({"data": {"coupon": {"$exist": false}}}), false);
    check(json!({"data": {"nope": {"$exist": true}}}), false);
    // Arrays are present too.
    check(json!({"data": {"tags": {"$exist": true}}}), true);
}

#[test]
fn exist_with_non_bool_operand_never_matches() {
    check(json!({"data": {"amount": {"$exist": "yes"}}}), false);
    check(json!({"data": {"amount": {"$exist": 1}}}), false);
    check(json!({"data": {"nope": {"$exist": 0}}}), false);
}

#[test]
fn numbers_compare_as_f64() {
    check(json!({"data": {"amount": 42.0}}), true);
    check(json!({"data": {"amount": 4.2e1}}), true);
    check(json!({"data": {"price": 9.5}}), true);
    check(json!({"data": {"amount": 43}}), false);
    assert!(matches(&json!({"n": -3}), &json!({"n": -3.0})));
    assert!(matches(
        &json!({"n": u64::MAX}),
        &json!({"n": 1.8446744073709552e19})
    ));
    let parsed: Value = serde_json::from_str(r#"{"n": 100}"#).expect("json");
    assert!(matches(&json!({"n": 1e2}), &parsed));
}

#[test]
fn primitive_equality_is_type_strict() {
    check(json!({"data": {"amount": "42"}}), false);
    check(json!({"data": {"paid": 1}}), false);
    check(json!({"data": {"paid": "true"}}), false);
    check(json!({"data": {"coupon": false}}), false);
    check(json!({"data": {"coupon": ""}}), false);
    check(json!({"data": {"coupon": 0}}), false);
}

#[test]
fn null_equals_null() {
    check(json!({"data": {"coupon": null}}), true);
    check(json!({"data": {"amount": null}}), false);
    check(json!({"data": {"coupon": {"$eq": null}}}), true);
    check(json!({"data": {"coupon": {"$neq": null}}}), false);
}

#[test]
fn primitive_schema_against_array_matches_any_element() {
    check(json!({"data": {"tags": "vip"}}), true);
    check(json!({"data": {"tags": "first-order"}}), true);
    check(json!({"data": {"tags": "nope"}}), false);
    assert!(!matches(&json!({"a": 1}), &json!({"a": []})));
}

#[test]
fn primitive_schema_flattens_nested_arrays() {
    assert!(matches(&json!({"a": 3}), &json!({"a": [[1, 2], [3]]})));
    assert!(!matches(&json!({"a": 4}), &json!({"a": [[1, 2], [3]]})));
    // Objects inside the array never equal a primitive.
    assert!(!matches(&json!({"a": 3}), &json!({"a": [{"b": 3}]})));
}

#[test]
fn array_schema_requires_every_element() {
    check(json!({"data": {"tags": ["vip"]}}), true);
    check(json!({"data": {"tags": ["first-order", "vip"]}}), true);
    check(json!({"data": {"tags": ["vip", "other"]}}), false);
    // Vacuously true for an empty schema array.
    check(json!({"data": {"tags": []}}), true);
    // Elements may be sub-schemas.
    check(
        json!({"data": {"items": [{"sku": "B-2"}, {"qty": {"$gte": 3}}]}}),
        true,
    );
    check(
        json!({"data": {"items": [{"sku": "B-2"}, {"qty": {"$gt": 3}}]}}),
        false,
    );
}

#[test]
fn array_schema_against_non_array_fails() {
    check(json!({"data": {"currency": ["EUR"]}}), false);
    check(json!({"data": {"customer": []}}), false);
    check(json!({"data": {"currency": []}}), false);
}

#[test]
fn object_schema_against_array_of_objects_matches_any() {
    check(json!({"data": {"items": {"sku": "A-1"}}}), true);
    check(json!({"data": {"items": {"sku": "A-1", "qty": 3}}}), false);
    check(json!({"data": {"items": {"qty": {"$gt": 2}}}}), true);
    check(json!({"data": {"items": {"qty": {"$gt": 5}}}}), false);
}

#[test]
fn eq_on_primitives_is_loose() {
    check(json!({"data": {"amount": {"$eq": 42.0}}}), true);
    check(json!({"data": {"currency": {"$eq": "EUR"}}}), true);
    check(json!({"data": {"currency": {"$eq": "eur"}}}), false);
    check(json!({"data": {"amount": {"$eq": "42"}}}), false);
}

#[test]
fn eq_is_deep_for_containers() {
    check(
        json!({"data": {"tags": {"$eq": ["vip", "first-order"]}}}),
        true,
    );
    check(
        json!({"data": {"tags": {"$eq": ["first-order", "vip"]}}}),
        false,
    );
    check(json!({"data": {"tags": {"$eq": ["vip"]}}}), false);
    check(
        json!({"data": {"customer": {"$eq": {"address": {"country": "FR"}, "email": "jane@example.com"}}}}),
        true,
    );
    check(
        json!({"data": {"customer": {"$eq": {"email": "jane@example.com"}}}}),
        false,
    );
    // Numbers inside containers compare by value, as Go serialises float64s.
    assert!(matches(
        &json!({"a": {"$eq": [1.0, {"b": 2}]}}),
        &json!({"a": [1, {"b": 2.0}]})
    ));
    // Container vs primitive is never equal.
    assert!(!matches(&json!({"a": {"$eq": [1]}}), &json!({"a": 1})));
    assert!(!matches(&json!({"a": {"$eq": 1}}), &json!({"a": [1]})));
}

#[test]
fn neq_negates_eq() {
    check(json!({"data": {"currency": {"$neq": "USD"}}}), true);
    check(json!({"data": {"currency": {"$neq": "EUR"}}}), false);
    // Different types are "not equal".
    check(json!({"data": {"amount": {"$neq": "42"}}}), true);
    check(json!({"data": {"tags": {"$neq": ["vip"]}}}), true);
    check(
        json!({"data": {"tags": {"$neq": ["vip", "first-order"]}}}),
        false,
    );
}

#[test]
fn numeric_comparisons() {
    check(json!({"data": {"amount": {"$gt": 41}}}), true);
    check(json!({"data": {"amount": {"$gt": 42}}}), false);
    check(json!({"data": {"amount": {"$gte": 42}}}), true);
    check(json!({"data": {"amount": {"$gte": 42.5}}}), false);
    check(json!({"data": {"amount": {"$lt": 42.5}}}), true);
    check(json!({"data": {"amount": {"$lt": 42}}}), false);
    check(json!({"data": {"amount": {"$lte": 42}}}), true);
    check(json!({"data": {"amount": {"$lte": -1}}}), false);
    check(json!({"data": {"price": {"$gt": 9, "$lt": 10}}}), true);
}

#[test]
fn string_comparisons_are_bytewise() {
    check(json!({"time": {"$gte": "2024-01-01T00:00:00Z"}}), true);
    check(json!({"time": {"$lt": "2024-01-15T00:00:00Z"}}), false);
    assert!(matches(&json!({"s": {"$lt": "a"}}), &json!({"s": "B"})));
    assert!(matches(&json!({"s": {"$lt": "9"}}), &json!({"s": "10"})));
    assert!(matches(&json!({"s": {"$gt": "z"}}), &json!({"s": "é"})));
    assert!(matches(
        &json!({"s": {"$lte": "abc"}}),
        &json!({"s": "abc"})
    ));
}

#[test]
fn comparisons_with_mismatched_types_never_match() {
    check(json!({"data": {"amount": {"$gt": "1"}}}), false);
    check(json!({"data": {"currency": {"$lt": 5}}}), false);
    check(json!({"data": {"paid": {"$gte": false}}}), false);
    check(json!({"data": {"coupon": {"$lte": null}}}), false);
    check(json!({"data": {"amount": {"$gt": [1]}}}), false);
    // ...and the `$not` of those does match.
    check(json!({"$not": {"data": {"amount": {"$gt": "1"}}}}), true);
}

#[test]
fn operators_apply_to_whole_array_value() {
    // `$gt` on an array is a type error, not "any element".
    check(json!({"data": {"tags": {"$gt": "a"}}}), false);
    assert!(!matches(&json!({"a": {"$gt": 1}}), &json!({"a": [5, 6]})));
    // `$eq` compares the array itself.
    assert!(!matches(&json!({"a": {"$eq": 5}}), &json!({"a": [5, 6]})));
    assert!(matches(
        &json!({"a": {"$eq": [5, 6]}}),
        &json!({"a": [5, 6]})
    ));
    // Non-operator keys next to operators are ignored.
    assert!(matches(
        &json!({"a": {"$exist": true, "zzz": 1}}),
        &json!({"a": [5]})
    ));
}

#[test]
fn multiple_operators_are_anded() {
    check(
        json!({"data": {"amount": {"$gte": 40, "$lte": 50, "$neq": 41}}}),
        true,
    );
    check(
        json!({"data": {"amount": {"$gte": 40, "$lte": 50, "$neq": 42}}}),
        false,
    );
    check(
        json!({"data": {"currency": {"$startsWith": "E", "$endsWith": "R", "$in": "U"}}}),
        true,
    );
    check(
        json!({"data": {"currency": {"$startsWith": "E", "$endsWith": "X"}}}),
        false,
    );
}

#[test]
fn in_with_array_operand() {
    check(json!({"data": {"currency": {"$in": ["USD", "EUR"]}}}), true);
    check(
        json!({"data": {"currency": {"$in": ["USD", "GBP"]}}}),
        false,
    );
    check(json!({"data": {"amount": {"$in": [1, 42.0]}}}), true);
    check(json!({"data": {"coupon": {"$in": [null]}}}), true);
    check(json!({"data": {"currency": {"$in": []}}}), false);
    // A container value with an array operand is a type error.
    check(
        json!({"data": {"customer": {"$in": [{"email": "jane@example.com"}]}}}),
        false,
    );
}

#[test]
fn in_with_string_operand_is_substring() {
    check(json!({"topic": {"$in": "created"}}), true);
    check(json!({"topic": {"$in": "order."}}), true);
    check(json!({"topic": {"$in": ""}}), true);
    check(json!({"topic": {"$in": "deleted"}}), false);
    // Non-string operand against a string value is a type error.
    check(json!({"topic": {"$in": 1}}), false);
    // Non-string, non-array value with scalar operand is a type error.
    check(json!({"data": {"amount": {"$in": 42}}}), false);
}

#[test]
fn in_with_array_value_is_contains() {
    check(json!({"data": {"tags": {"$in": "vip"}}}), true);
    check(json!({"data": {"tags": {"$in": "vi"}}}), false);
    assert!(matches(
        &json!({"a": {"$in": 2.0}}),
        &json!({"a": [1, 2, 3]})
    ));
    assert!(!matches(
        &json!({"a": {"$in": {"b": 1}}}),
        &json!({"a": [{"b": 1}]})
    ));
    // An array operand against an array value: the value is not a primitive → type error.
    assert!(!matches(&json!({"a": {"$in": [1, 2]}}), &json!({"a": [1]})));
}

#[test]
fn nin_negates_in_but_type_errors_never_match() {
    check(
        json!({"data": {"currency": {"$nin": ["USD", "GBP"]}}}),
        true,
    );
    check(
        json!({"data": {"currency": {"$nin": ["USD", "EUR"]}}}),
        false,
    );
    check(json!({"topic": {"$nin": "deleted"}}), true);
    check(json!({"topic": {"$nin": "created"}}), false);
    check(json!({"data": {"tags": {"$nin": "vip"}}}), false);
    check(json!({"data": {"tags": {"$nin": "other"}}}), true);
    // Type errors are "no match" for `$nin` too.
    check(json!({"topic": {"$nin": 1}}), false);
    check(json!({"data": {"customer": {"$nin": ["x"]}}}), false);
    check(json!({"data": {"amount": {"$nin": 1}}}), false);
}

#[test]
fn starts_with() {
    check(json!({"topic": {"$startsWith": "order."}}), true);
    check(json!({"topic": {"$startsWith": "user."}}), false);
    check(json!({"topic": {"$startsWith": ["user.", "order."]}}), true);
    check(json!({"topic": {"$startsWith": ["user.", "cart."]}}), false);
    check(json!({"topic": {"$startsWith": []}}), false);
    check(json!({"topic": {"$startsWith": ""}}), true);
}

#[test]
fn ends_with() {
    check(json!({"topic": {"$endsWith": ".created"}}), true);
    check(json!({"topic": {"$endsWith": ".deleted"}}), false);
    check(
        json!({"topic": {"$endsWith": [".deleted", ".created"]}}),
        true,
    );
    check(
        json!({"data": {"customer": {"email": {"$endsWith": "@example.com"}}}}),
        true,
    );
}

#[test]
fn affix_type_errors() {
    // Non-string value.
    check(json!({"data": {"amount": {"$startsWith": "4"}}}), false);
    check(json!({"data": {"tags": {"$startsWith": "v"}}}), false);
    // Non-string operand.
    check(json!({"topic": {"$endsWith": 1}}), false);
    // A non-string element is an error once reached, but an earlier match wins (upstream order).
    check(json!({"topic": {"$startsWith": [1, "order."]}}), false);
    check(json!({"topic": {"$startsWith": ["order.", 1]}}), true);
    check(
        json!({"topic": {"$endsWith": ["x", null, ".created"]}}),
        false,
    );
}

#[test]
fn or_at_top_level() {
    check(
        json!({"$or": [{"topic": "user.created"}, {"topic": "order.created"}]}),
        true,
    );
    check(
        json!({"$or": [{"topic": "user.created"}, {"data": {"amount": {"$gt": 100}}}]}),
        false,
    );
    check(json!({"$or": []}), false);
    check(
        json!({"$or": [{"topic": "order.created"}], "data": {"paid": false}}),
        false,
    );
}

#[test]
fn or_at_value_level() {
    check(json!({"data": {"currency": {"$or": ["USD", "EUR"]}}}), true);
    check(
        json!({"data": {"currency": {"$or": ["USD", {"$startsWith": "G"}]}}}),
        false,
    );
    check(
        json!({"data": {"customer": {"$or": [{"email": "x"}, {"address": {"country": "FR"}}]}}}),
        true,
    );
    // On an array value `$or` is evaluated per element.
    check(json!({"data": {"tags": {"$or": ["nope", "vip"]}}}), true);
}

#[test]
fn and_combinator() {
    check(
        json!({"$and": [{"topic": "order.created"}, {"data": {"paid": true}}]}),
        true,
    );
    check(
        json!({"$and": [{"topic": "order.created"}, {"data": {"paid": false}}]}),
        false,
    );
    check(json!({"$and": []}), true);
    check(
        json!({"data": {"customer": {"$and": [{"email": {"$in": "@"}}, {"address": {"country": "FR"}}]}}}),
        true,
    );
    check(
        json!({"$and": [{"$or": [{"topic": "a"}, {"topic": "order.created"}]}, {"id": "evt_123"}]}),
        true,
    );
}

#[test]
fn not_at_top_level() {
    check(json!({"$not": {"topic": "order.created"}}), false);
    check(json!({"$not": {"topic": "user.created"}}), true);
    check(json!({"$not": {"$not": {"topic": "order.created"}}}), true);
    // Negating a failing missing-key lookup matches.
    check(json!({"$not": {"data": {"nope": 1}}}), true);
}

#[test]
fn not_combined_with_siblings() {
    check(
        json!({"$not": {"data": {"paid": false}}, "topic": "order.created"}),
        true,
    );
    check(
        json!({"$not": {"data": {"paid": true}}, "topic": "order.created"}),
        false,
    );
    check(
        json!({"$not": {"data": {"paid": false}}, "topic": "user.created"}),
        false,
    );
    check(
        json!({"$not": {"topic": "x"}, "$or": [{"id": "y"}, {"id": "evt_123"}]}),
        true,
    );
}

#[test]
fn not_at_value_level_on_objects() {
    check(json!({"data": {"$not": {"currency": "USD"}}}), true);
    check(json!({"data": {"$not": {"currency": "EUR"}}}), false);
    check(
        json!({"data": {"customer": {"$not": {"address": {"country": "DE"}}, "email": {"$exist": true}}}}),
        true,
    );
}

#[test]
fn quirk_value_level_not_and_and_on_primitives_never_match() {
    // Upstream only interprets `$not`/`$and` in whole-object position.
    check(json!({"data": {"currency": {"$not": "USD"}}}), false);
    check(json!({"data": {"currency": {"$not": "EUR"}}}), false);
    check(json!({"data": {"currency": {"$and": ["EUR"]}}}), false);
    // The supported spelling.
    check(json!({"$not": {"data": {"currency": "USD"}}}), true);
    check(json!({"data": {"$not": {"currency": "USD"}}}), true);
}

#[test]
fn quirk_value_level_or_ignores_sibling_operators() {
    check(
        json!({"data": {"currency": {"$or": ["EUR"], "$eq": "USD"}}}),
        true,
    );
    check(
        json!({"data": {"currency": {"$or": ["USD"], "$eq": "EUR"}}}),
        false,
    );
}

#[test]
fn unknown_operators_are_plain_field_names() {
    check(json!({"data": {"currency": {"$regex": "E.*"}}}), false);
    check(json!({"data": {"currency": {"$ref": "topic"}}}), false);
    check(json!({"$foo": 1}), false);
    check(json!({"$not": {"$foo": 1}}), true);
    // ...which do match when the document really has such a key.
    assert!(matches(&json!({"$foo": 1}), &json!({"$foo": 1})));
    assert!(matches(
        &json!({"a": {"$foo": 1}}),
        &json!({"a": {"$foo": 1}})
    ));
    // Known operators mixed with unknown ones: unknown keys are ignored.
    check(json!({"data": {"amount": {"$gt": 1, "$weird": 0}}}), true);
}

#[test]
fn malformed_logical_operands_fall_back_to_field_lookup() {
    check(json!({"$or": {"topic": "order.created"}}), false);
    check(json!({"$and": "x"}), false);
    assert!(matches(&json!({"$or": 1}), &json!({"$or": 1})));
    // Non-array `$or` at value level: not treated as `$or`, no operators → nested match.
    assert!(!matches(&json!({"a": {"$or": 1}}), &json!({"a": 1})));
}

#[test]
fn non_object_filters_use_plain_semantics() {
    assert!(matches(&json!(3), &json!(3)));
    assert!(matches(&json!(3), &json!([1, 3])));
    assert!(!matches(&json!(3), &event()));
    assert!(!matches(&json!([]), &event()));
    assert!(matches(&json!("a"), &json!("a")));
    assert!(!matches(&json!(true), &json!({"test": true})));
}

#[test]
fn metadata_and_topic_filters() {
    check(
        json!({"topic": {"$startsWith": "order."}, "metadata": {"region": {"$in": ["eu-west-1", "eu-central-1"]}}}),
        true,
    );
    check(json!({"metadata": {"source": {"$neq": "shopify"}}}), false);
    check(json!({"metadata": {"missing": {"$exist": false}}}), true);
}

fn nested_arrays(depth: usize) -> Value {
    let mut value = json!(1);
    for _ in 0..depth {
        value = Value::Array(vec![value]);
    }
    value
}

#[test]
fn deep_documents_do_not_overflow() {
    let shallow = json!({"a": nested_arrays(100)});
    assert!(matches(&json!({"a": 1}), &shallow));

    let deep = json!({"a": nested_arrays(1_000)});
    assert!(!matches(&json!({"a": 1}), &deep));
    // An aborted evaluation is "no match" even under negation.
    assert!(!matches(&json!({"$not": {"a": 1}}), &deep));
    assert!(!matches(&json!({"$not": {"a": 2}}), &deep));
}

fn nested_objects(depth: usize) -> Value {
    let mut value = json!(1);
    for _ in 0..depth {
        value = json!({ "k": value });
    }
    value
}

#[test]
fn validate_accepts_null_and_objects() {
    assert_eq!(validate(&Value::Null), Ok(()));
    assert_eq!(validate(&json!({})), Ok(()));
    assert_eq!(validate(&json!({"data": {"amount": {"$gte": 1}}})), Ok(()));
    assert_eq!(
        validate(&json!({"$or": [{"topic": "a"}, {"topic": "b"}]})),
        Ok(())
    );
}

#[test]
fn validate_accepts_what_upstream_accepts() {
    // Upstream stores any JSON object; these never match but are not rejected.
    assert_eq!(validate(&json!({"$regex": "x"})), Ok(()));
    assert_eq!(validate(&json!({"$or": 1})), Ok(()));
    assert_eq!(validate(&json!({"a": {"$in": {"b": 1}}})), Ok(()));
}

#[test]
fn validate_rejects_non_objects() {
    for bad in [
        json!(1),
        json!("x"),
        json!(true),
        json!([]),
        json!([{"a": 1}]),
    ] {
        let err = validate(&bad).expect_err("non-object filter must be rejected");
        assert!(err.contains("must be a JSON object"), "{err}");
    }
}

#[test]
fn validate_limits_depth() {
    assert_eq!(validate(&nested_objects(MAX_FILTER_DEPTH)), Ok(()));
    let err = validate(&nested_objects(MAX_FILTER_DEPTH + 1)).expect_err("too deep");
    assert!(err.contains("maximum depth is 16"), "{err}");
    // Arrays count as a level.
    let mut with_array = json!([1]);
    for _ in 0..MAX_FILTER_DEPTH - 1 {
        with_array = json!({ "$or": with_array });
    }
    assert_eq!(validate(&with_array), Ok(()));
    assert!(validate(&json!({ "x": with_array })).is_err());
    // Depth is the deepest branch, not the total.
    let wide = json!({"a": nested_objects(MAX_FILTER_DEPTH - 1), "b": nested_objects(3)});
    assert_eq!(validate(&wide), Ok(()));
    assert!(validate(&nested_objects(1_000)).is_err());
}

// ---------------------------------------------------------------- property tests

fn arb_primitive() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-3i64..4).prop_map(Value::from),
        prop::sample::select(vec![0.5f64, -1.0, 2.0, 1e300]).prop_map(Value::from),
        prop::sample::select(vec!["", "x", "y", "xy", "yx", "a"]).prop_map(Value::from),
    ]
}

fn to_object(entries: Vec<(String, Value)>) -> Value {
    Value::Object(entries.into_iter().collect())
}

/// Documents: small key space (no `$` keys) so that filters often hit existing fields.
fn arb_doc_value() -> impl Strategy<Value = Value> {
    arb_primitive().prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec(("[a-d]", inner), 0..4).prop_map(to_object),
        ]
    })
}

fn arb_doc() -> impl Strategy<Value = Value> {
    prop::collection::vec(("[a-d]", arb_doc_value()), 0..5).prop_map(to_object)
}

fn arb_operand() -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => arb_primitive(),
        1 => prop::collection::vec(arb_primitive(), 0..3).prop_map(Value::Array),
        1 => arb_doc_value(),
    ]
}

fn arb_operator_object() -> impl Strategy<Value = Value> {
    prop::collection::vec(
        (prop::sample::select(OPERATORS.to_vec()), arb_operand()),
        1..3,
    )
    .prop_map(|ops| to_object(ops.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()))
}

/// Filters made of the real language: fields, operators and logical combinators.
fn arb_filter_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![arb_primitive(), arb_operator_object()];
    leaf.prop_recursive(4, 48, 4, |inner| {
        prop_oneof![
            prop::collection::vec(("[a-d]", inner.clone()), 0..3).prop_map(to_object),
            prop::collection::vec(inner.clone(), 0..3).prop_map(|v| json!({ "$or": v })),
            prop::collection::vec(inner.clone(), 0..3).prop_map(|v| json!({ "$and": v })),
            inner.clone().prop_map(|v| json!({ "$not": v })),
            (inner.clone(), ("[a-d]", inner.clone()))
                .prop_map(|(n, (k, v))| json!({ "$not": n, k: v })),
            prop::collection::vec(inner, 0..3).prop_map(Value::Array),
        ]
    })
}

/// A top-level filter as stored on a destination: always an object.
fn arb_filter() -> impl Strategy<Value = Value> {
    prop_oneof![
        prop::collection::vec(("[a-d]", arb_filter_value()), 0..3).prop_map(to_object),
        arb_filter_value().prop_filter("object", Value::is_object),
    ]
}

/// Completely unconstrained JSON, including operator keys in odd places.
fn arb_any_json() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        "[a-c]",
        prop::sample::select(vec![
            "$eq",
            "$neq",
            "$gt",
            "$gte",
            "$lt",
            "$lte",
            "$in",
            "$nin",
            "$startsWith",
            "$endsWith",
            "$exist",
            "$or",
            "$and",
            "$not",
            "$ref",
            "$",
        ])
        .prop_map(str::to_owned),
    ];
    arb_primitive().prop_recursive(5, 64, 5, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..5).prop_map(to_object),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn prop_never_panics_on_arbitrary_json(filter in arb_any_json(), doc in arb_any_json()) {
        let _ = matches(&filter, &doc);
        let _ = matches(&doc, &filter);
        let _ = validate(&filter);
    }

    #[test]
    fn prop_never_panics_on_language_filters(filter in arb_filter_value(), doc in arb_doc_value()) {
        let _ = matches(&filter, &doc);
        let _ = upstream_match(&doc, &filter);
    }

    #[test]
    fn prop_document_matches_itself(doc in arb_doc()) {
        prop_assert_eq!(matches(&doc, &doc), true);
    }

    #[test]
    fn prop_subset_of_own_fields_matches(doc in arb_doc(), mask in prop::collection::vec(any::<bool>(), 5)) {
        let Value::Object(fields) = &doc else { unreachable!() };
        let filter: Map<String, Value> = fields
            .iter()
            .zip(mask.iter().cycle())
            .filter(|(_, keep)| **keep)
            .map(|((k, v), _)| (k.clone(), v.clone()))
            .collect();
        prop_assert_eq!(matches(&Value::Object(filter), &doc), true);
    }

    #[test]
    fn prop_own_fields_with_operators(doc in arb_doc()) {
        let Value::Object(fields) = &doc else { unreachable!() };
        for (k, v) in fields {
            prop_assert_eq!(matches(&json!({ k: {"$eq": v} }), &doc), true);
            prop_assert_eq!(matches(&json!({ k: {"$exist": true} }), &doc), true);
            prop_assert_eq!(matches(&json!({ k: {"$exist": false} }), &doc), false);
            prop_assert_eq!(matches(&json!({ k: {"$neq": v} }), &doc), false);
            if let Value::String(s) = v {
                prop_assert_eq!(matches(&json!({ k: {"$startsWith": s, "$endsWith": s, "$in": s} }), &doc), true);
            }
            if is_primitive(v) {
                prop_assert_eq!(matches(&json!({ k: {"$in": [v]} }), &doc), true);
                prop_assert_eq!(matches(&json!({ k: {"$nin": [v]} }), &doc), false);
            }
        }
    }

    #[test]
    fn prop_missing_key_only_passes_with_exist_false(doc in arb_doc(), key in "[a-e]") {
        let present = doc.get(&key).is_some();
        prop_assert_eq!(matches(&json!({ &key: {"$exist": false} }), &doc), !present);
        prop_assert_eq!(matches(&json!({ &key: {"$exist": true} }), &doc), present);
    }

    #[test]
    fn prop_not_inverts(filter in arb_filter(), doc in arb_doc()) {
        prop_assert_eq!(matches(&json!({ "$not": filter }), &doc), !matches(&filter, &doc));
    }

    #[test]
    fn prop_not_with_siblings_is_and(negated in arb_filter(), rest in arb_filter(), doc in arb_doc()) {
        let Value::Object(mut combined) = rest.clone() else { unreachable!() };
        prop_assume!(!combined.contains_key(OP_NOT));
        combined.insert(OP_NOT.to_owned(), negated.clone());
        prop_assert_eq!(
            matches(&Value::Object(combined), &doc),
            !matches(&negated, &doc) && matches(&rest, &doc)
        );
    }

    #[test]
    fn prop_single_or_and_are_identity(filter in arb_filter(), doc in arb_doc()) {
        let expected = matches(&filter, &doc);
        prop_assert_eq!(matches(&json!({ "$or": [filter.clone()] }), &doc), expected);
        prop_assert_eq!(matches(&json!({ "$and": [filter] }), &doc), expected);
    }

    #[test]
    fn prop_or_and_are_boolean(f in arb_filter(), g in arb_filter(), doc in arb_doc()) {
        let (mf, mg) = (matches(&f, &doc), matches(&g, &doc));
        prop_assert_eq!(matches(&json!({ "$or": [f.clone(), g.clone()] }), &doc), mf || mg);
        prop_assert_eq!(matches(&json!({ "$and": [f, g] }), &doc), mf && mg);
    }

    #[test]
    fn prop_object_filter_is_and_of_its_keys(filter in arb_filter(), doc in arb_doc()) {
        let Value::Object(map) = &filter else { unreachable!() };
        prop_assume!(!map.contains_key(OP_NOT));
        let all = map.iter().all(|(k, v)| matches(&json!({ k: v }), &doc));
        prop_assert_eq!(matches(&filter, &doc), all);
    }

    #[test]
    fn prop_numeric_operators(a in -1000i64..1000, b in -1000i64..1000, frac in prop::sample::select(vec![0.0f64, 0.25, 0.5])) {
        let bf = b as f64 + frac;
        let doc = json!({ "n": a });
        let af = a as f64;
        prop_assert_eq!(matches(&json!({"n": {"$gt": bf}}), &doc), af > bf);
        prop_assert_eq!(matches(&json!({"n": {"$gte": bf}}), &doc), af >= bf);
        prop_assert_eq!(matches(&json!({"n": {"$lt": bf}}), &doc), af < bf);
        prop_assert_eq!(matches(&json!({"n": {"$lte": bf}}), &doc), af <= bf);
        prop_assert_eq!(matches(&json!({"n": {"$eq": bf}}), &doc), af == bf);
        prop_assert_eq!(matches(&json!({"n": bf}), &doc), af == bf);
        // Integers and floats with the same value are equal.
        prop_assert_eq!(matches(&json!({"n": af}), &doc), true);
        // Numbers never compare with strings.
        prop_assert_eq!(matches(&json!({"n": {"$lt": b.to_string()}}), &doc), false);
        prop_assert_eq!(matches(&json!({"n": b.to_string()}), &doc), false);
    }

    #[test]
    fn prop_string_operators(s in "[a-c]{0,6}", t in "[a-c]{0,3}") {
        let doc = json!({ "s": s.clone() });
        prop_assert_eq!(matches(&json!({"s": {"$gt": t.clone()}}), &doc), s > t);
        prop_assert_eq!(matches(&json!({"s": {"$lte": t.clone()}}), &doc), s <= t);
        prop_assert_eq!(matches(&json!({"s": {"$in": t.clone()}}), &doc), s.contains(&t));
        prop_assert_eq!(matches(&json!({"s": {"$nin": t.clone()}}), &doc), !s.contains(&t));
        prop_assert_eq!(matches(&json!({"s": {"$startsWith": t.clone()}}), &doc), s.starts_with(&t));
        prop_assert_eq!(matches(&json!({"s": {"$endsWith": [t.clone()]}}), &doc), s.ends_with(&t));
    }

    #[test]
    fn prop_array_membership(items in prop::collection::vec("[a-c]{1,2}", 0..5), probe in "[a-c]{1,2}") {
        let doc = json!({ "tags": items.clone() });
        let contained = items.contains(&probe);
        prop_assert_eq!(matches(&json!({"tags": probe.clone()}), &doc), contained);
        prop_assert_eq!(matches(&json!({"tags": {"$in": probe.clone()}}), &doc), contained);
        prop_assert_eq!(matches(&json!({"tags": {"$nin": probe.clone()}}), &doc), !contained);
        prop_assert_eq!(matches(&json!({"tags": [probe.clone()]}), &doc), contained);
        let doc_scalar = json!({ "tag": probe.clone() });
        prop_assert_eq!(matches(&json!({"tag": {"$in": items.clone()}}), &doc_scalar), contained);
        prop_assert_eq!(matches(&json!({"tag": {"$nin": items}}), &doc_scalar), !contained);
    }

    #[test]
    fn prop_validate_accepts_shallow_objects(filter in arb_filter()) {
        let within = !exceeds_depth(&filter, MAX_FILTER_DEPTH);
        prop_assert_eq!(validate(&filter).is_ok(), within);
    }
}
