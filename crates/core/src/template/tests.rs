//! Tests for the template interpreter. Expected outputs were cross-checked against Go's
//! `text/template` (with sprig-equivalent functions).

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;

/// 2024-06-01 08:23:36 UTC
const TS: i64 = 1_717_230_216;

fn sig_payload() -> Value {
    Value::map([
        ("EventID", Value::from("evt_123")),
        ("Topic", "user.created".into()),
        ("Timestamp", TimeValue::from_unix(TS, 0).into()),
        ("Body", r#"{"hello":"world"}"#.into()),
    ])
}

fn header_payload(sigs: &[&str]) -> Value {
    Value::map([
        ("EventID", Value::from("evt_123")),
        ("Topic", "user.created".into()),
        ("Timestamp", TimeValue::from_unix(TS, 0).into()),
        ("Signatures", Value::from(sigs)),
    ])
}

fn secret_data() -> Value {
    Value::map([
        ("RandomHex", "deadbeef"),
        ("RandomBase64", "3q2+7w=="),
        ("RandomAlphanumeric", "AbC123"),
    ])
}

fn render(src: &str, data: &Value) -> String {
    match Template::parse(src) {
        Ok(t) => match t.render(data) {
            Ok(s) => s,
            Err(e) => panic!("render {src:?}: {e}"),
        },
        Err(e) => panic!("parse {src:?}: {e}"),
    }
}

fn hdr(src: &str) -> String {
    render(src, &header_payload(&["abc", "def", "ghi"]))
}

fn parse_err(src: &str) -> String {
    match Template::parse(src) {
        Ok(_) => panic!("expected parse error for {src:?}"),
        Err(e) => {
            assert!(matches!(e, TemplateError::Parse { .. }), "{e:?}");
            e.to_string()
        }
    }
}

fn render_err(src: &str, data: &Value) -> String {
    let t = Template::parse(src).expect("parses");
    match t.render(data) {
        Ok(s) => panic!("expected render error for {src:?}, got {s:?}"),
        Err(e) => {
            assert!(matches!(e, TemplateError::Render { .. }), "{e:?}");
            e.to_string()
        }
    }
}

// ---- the three default templates -------------------------------------------------------

#[test]
fn default_signature_content_template() {
    assert_eq!(render("{{.Body}}", &sig_payload()), r#"{"hello":"world"}"#);
}

#[test]
fn default_signature_header_template() {
    let tpl = r#"v0={{.Signatures | join ","}}"#;
    assert_eq!(render(tpl, &header_payload(&["abc"])), "v0=abc");
    assert_eq!(render(tpl, &header_payload(&["abc", "def"])), "v0=abc,def");
    assert_eq!(render(tpl, &header_payload(&[])), "v0=");
}

#[test]
fn default_signing_secret_template() {
    assert_eq!(
        render("whsec_{{.RandomHex}}", &secret_data()),
        "whsec_deadbeef"
    );
    assert_eq!(render("{{.RandomBase64}}", &secret_data()), "3q2+7w==");
    assert_eq!(
        render("{{.RandomAlphanumeric | upper}}", &secret_data()),
        "ABC123"
    );
    assert_eq!(render("{{.RandomHex | upper}}", &secret_data()), "DEADBEEF");
}

// ---- fields and time -------------------------------------------------------------------

#[test]
fn simple_fields() {
    let d = sig_payload();
    assert_eq!(
        render(
            "ts={{.Timestamp.Unix}};id={{.EventID}};topic={{.Topic}};data={{.Body}}",
            &d
        ),
        r#"ts=1717230216;id=evt_123;topic=user.created;data={"hello":"world"}"#
    );
}

#[test]
fn time_methods() {
    let d = Value::map([("T", TimeValue::from_unix(TS, 123_400_000))]);
    assert_eq!(render("{{.T.Unix}}", &d), "1717230216");
    assert_eq!(render("{{.T.UnixMilli}}", &d), "1717230216123");
    assert_eq!(render("{{.T.UnixMicro}}", &d), "1717230216123400");
    assert_eq!(render("{{.T.UnixNano}}", &d), "1717230216123400000");
    assert_eq!(render("{{.T.UTC.Unix}}", &d), "1717230216");
    assert_eq!(
        render(
            "{{.T.Year}}-{{.T.YearDay}}-{{.T.Day}} {{.T.Hour}}:{{.T.Minute}}:{{.T.Second}}.{{.T.Nanosecond}}",
            &d
        ),
        "2024-153-1 8:23:36.123400000"
    );
}

#[test]
fn time_prints_like_go_string() {
    let whole = Value::map([("T", TimeValue::from_unix(TS, 0))]);
    assert_eq!(render("{{.T}}", &whole), "2024-06-01 08:23:36 +0000 UTC");
    let frac = Value::map([("T", TimeValue::from_unix(TS, 123_400_000))]);
    assert_eq!(
        render("{{.T}}", &frac),
        "2024-06-01 08:23:36.1234 +0000 UTC"
    );
    assert_eq!(
        render("{{.T.String}}", &frac),
        "2024-06-01 08:23:36.1234 +0000 UTC"
    );
    let before_epoch = Value::map([("T", TimeValue::from_unix(-86_400 * 400, 5))]);
    assert_eq!(
        render("{{.T}} {{.T.Unix}}", &before_epoch),
        "1968-11-27 00:00:00.000000005 +0000 UTC -34560000"
    );
    assert_eq!(
        TimeValue::from_unix(0, 0).to_string(),
        "1970-01-01 00:00:00 +0000 UTC"
    );
}

#[test]
fn time_format_layouts() {
    let d = Value::map([("T", TimeValue::from_unix(TS, 123_400_000))]);
    assert_eq!(
        render(r#"{{.T.Format "2006-01-02T15:04:05Z07:00"}}"#, &d),
        "2024-06-01T08:23:36Z"
    );
    assert_eq!(
        render(r#"{{.T.Format "2006-01-02T15:04:05.000Z07:00"}}"#, &d),
        "2024-06-01T08:23:36.123Z"
    );
    assert_eq!(
        render(r#"{{.T.Format "Mon Jan _2 15:04:05 MST 2006"}}"#, &d),
        "Sat Jun  1 08:23:36 UTC 2024"
    );
    assert_eq!(
        render(
            r#"{{.T.Format "3:04PM pm __2 002 -0700 -07:00 -07 Z0700 ,000 .9 January 1 01 _2006"}}"#,
            &d
        ),
        "8:23AM am 153 153 +0000 +00:00 +00 Z ,123 .1 June 6 06 _2024"
    );
    assert_eq!(render(r#"{{"2006" | .T.Format}}"#, &d), "2024");
}

#[test]
fn time_method_errors() {
    let d = sig_payload();
    assert!(
        render_err("{{.Timestamp.Nope}}", &d)
            .contains("can't evaluate field Nope in type time.Time")
    );
    assert!(
        render_err("{{.Timestamp.Unix 1}}", &d)
            .contains("wrong number of args for Unix: want 0 got 1")
    );
    assert!(render_err("{{.Timestamp.Format 1}}", &d).contains("expected string; got int"));
}

// ---- missing fields: Go struct semantics ----------------------------------------------

#[test]
fn missing_field_is_a_render_error() {
    let err = render_err(
        r#"v1:{{.Timestamp.Unix}}:{{.Signatures | join ","}}"#,
        &sig_payload(),
    );
    assert!(err.contains("can't evaluate field Signatures"), "{err}");
    assert!(err.contains("<.Signatures>"), "{err}");
    assert!(err.starts_with("template: 1:26:"), "{err}");
    let err = render_err("v0={{.Body}}", &header_payload(&["abc"]));
    assert!(err.contains("can't evaluate field Body"), "{err}");
    let err = render_err("{{.EventID.Nope}}", &sig_payload());
    assert!(
        err.contains("can't evaluate field Nope in type string"),
        "{err}"
    );
}

// ---- pipelines and functions -----------------------------------------------------------

#[test]
fn join_both_forms() {
    assert_eq!(hdr(r#"{{join "," .Signatures}}"#), "abc,def,ghi");
    assert_eq!(hdr(r#"{{.Signatures | join ", "}}"#), "abc, def, ghi");
    // sprig's join accepts a non-list and treats it as a one-element list.
    assert_eq!(
        render(r#"{{.Body | join ","}}"#, &sig_payload()),
        r#"{"hello":"world"}"#
    );
    assert_eq!(hdr(r#"{{list 1 "a" true | join "-"}}"#), "1-a-true");
}

#[test]
fn index_function() {
    assert_eq!(hdr("{{index .Signatures 0}}"), "abc");
    assert_eq!(
        hdr("v0={{index .Signatures 0}},v0={{index .Signatures 1}}"),
        "v0=abc,v0=def"
    );
    let err = render_err("{{index .Signatures 3}}", &header_payload(&["a", "b", "c"]));
    assert!(
        err.contains("error calling index: index out of range: 3"),
        "{err}"
    );
    assert!(
        render_err(r#"{{index .Signatures "a"}}"#, &header_payload(&["a"]))
            .contains("cannot index slice/array with type string")
    );
    assert_eq!(render("{{index .B 1}}", &Value::map([("B", "AB")])), "66");
    let nested = Value::map([(
        "M",
        Value::map([("k", Value::from(vec![Value::from("x"), "y".into()]))]),
    )]);
    assert_eq!(render(r#"{{index .M "k" 1}}"#, &nested), "y");
}

#[test]
fn slice_function() {
    assert_eq!(
        hdr("{{range slice .Signatures 1}}<{{.}}>{{end}}"),
        "<def><ghi>"
    );
    assert_eq!(hdr("{{slice .Signatures 1 2}}"), "[def]");
    assert_eq!(hdr("{{slice .Signatures}}"), "[abc def ghi]");
    assert_eq!(render("{{slice .Body 2 7}}", &sig_payload()), "hello");
    let h = header_payload(&["a", "b", "c"]);
    assert!(render_err("{{slice .Signatures 2 1}}", &h).contains("invalid slice index: 2 > 1"));
    assert!(render_err("{{slice .Signatures 4}}", &h).contains("index out of range: 4"));
    assert!(render_err(r#"{{slice "abc" 1 2 3}}"#, &h).contains("cannot 3-index slice a string"));
}

#[test]
fn printf_basic_verbs() {
    assert_eq!(
        hdr(r#"{{printf "%s.%d" .EventID .Timestamp.Unix}}"#),
        "evt_123.1717230216"
    );
    assert_eq!(
        hdr(r#"{{printf "%v|%v|%v|%v" .Signatures 3 true .Timestamp}}"#),
        "[abc def ghi]|3|true|2024-06-01 08:23:36 +0000 UTC"
    );
    assert_eq!(hdr(r#"{{.EventID | printf "%s-%s" "a"}}"#), "a-evt_123");
}

#[test]
fn printf_flags_and_errors() {
    assert_eq!(
        hdr(
            r#"{{printf "%q|%x|%X|%5s|%-5s|%05d|%+d|% d|%.2s|%8.3d|%x|%o|%b|%c|%U|%%" "a\"b" "hi" "hi" "ab" "ab" -42 5 7 "héllo" 7 255 8 5 65 65}}"#
        ),
        r#""a\"b"|6869|6869|   ab|ab   |-0042|+5| 7|hé|     007|ff|10|101|A|U+0041|%"#
    );
    assert_eq!(
        hdr(r#"{{printf "%#x %#o %O %t" 255 8 8 true}}"#),
        "0xff 010 0o10 true"
    );
    assert_eq!(hdr(r#"{{printf "%*d|%-*d|" 5 1 4 2}}"#), "    1|2   |");
    assert_eq!(hdr(r#"{{printf "%d" "x"}}"#), "%!d(string=x)");
    assert_eq!(hdr(r#"{{printf "%s"}}"#), "%!s(MISSING)");
    assert_eq!(hdr(r#"{{printf "%s" 1 2}}"#), "%!s(int=1)%!(EXTRA int=2)");
    assert_eq!(hdr(r#"{{printf "%"}}"#), "%!(NOVERB)");
    assert_eq!(
        hdr(r#"{{printf "%d" .Signatures}}"#),
        "[%!d(string=abc) %!d(string=def) %!d(string=ghi)]"
    );
}

#[test]
fn print_and_println() {
    assert_eq!(
        hdr(r#"{{print 1 2 "a" "b" 3 .Signatures}}"#),
        "1 2ab3 [abc def ghi]"
    );
    assert_eq!(hdr(r#"{{println 1 "a" 2}}"#), "1 a 2\n");
}

#[test]
fn sprig_string_functions() {
    let d = sig_payload();
    assert_eq!(render("{{.Topic | upper}}", &d), "USER.CREATED");
    assert_eq!(render(r#"{{lower "HeLLo"}}"#, &d), "hello");
    assert_eq!(render(r#"{{trim "  x y \n"}}"#, &d), "x y");
    assert_eq!(render("{{quote .Body}}", &d), r#""{\"hello\":\"world\"}""#);
    assert_eq!(
        render(r#"{{quote "a" 1}}|{{squote "a" 1}}"#, &d),
        r#""a" "1"|'a' '1'"#
    );
    assert_eq!(
        render(r#"{{quote "tab\there\u00a0\x01"}}"#, &d),
        r#""tab\there\u00a0\x01""#
    );
    assert_eq!(render("{{.Body | b64enc}}", &d), "eyJoZWxsbyI6IndvcmxkIn0=");
    assert_eq!(
        render(
            r#"{{b64enc ""}}|{{b64enc "a"}}|{{b64enc "ab"}}|{{b64enc "abc"}}"#,
            &d
        ),
        "|YQ==|YWI=|YWJj"
    );
    assert_eq!(
        render(
            r#"{{b64dec "aGVsbG8="}}|{{b64dec "aGVsbG8"}}|{{b64dec "!!"}}"#,
            &d
        ),
        "hello|illegal base64 data at input byte 4|illegal base64 data at input byte 0"
    );
    assert_eq!(
        render(
            r#"{{trimPrefix "whsec_" "whsec_abc"}}|{{trimSuffix "c" "abc"}}|{{trimAll "x" "xxaxx"}}"#,
            &d
        ),
        "abc|ab|a"
    );
    assert_eq!(
        render(
            r#"{{replace "a" "b" "banana"}}|{{contains "ell" "hello"}}|{{hasPrefix "he" "hello"}}|{{hasSuffix "x" "hello"}}"#,
            &d
        ),
        "bbnbnb|true|true|false"
    );
    assert_eq!(
        render(r#"{{splitList "," "a,b,,c" | join "|"}}"#, &d),
        "a|b||c"
    );
    assert_eq!(
        render(r#"{{toString 12}}|{{cat "a" 1 true}}"#, &d),
        "12|a 1 true"
    );
    assert!(
        render_err("{{upper 1}}", &d).contains("wrong type for value; expected string; got int")
    );
    assert!(render_err("{{upper}}", &d).contains("wrong number of args for upper: want 1 got 0"));
}

#[test]
fn default_and_empty() {
    let d = header_payload(&[]);
    assert_eq!(render(r#"{{default "none" .Signatures}}"#, &d), "none");
    assert_eq!(render(r#"{{.EventID | default "dflt"}}"#, &d), "evt_123");
    assert_eq!(render(r#"{{"" | default "dflt"}}"#, &d), "dflt");
    assert_eq!(
        render("{{empty .Signatures}}|{{empty .Timestamp}}|{{empty 0}}", &d),
        "true|false|true"
    );
}

#[test]
fn comparisons_and_logic() {
    assert_eq!(
        hdr(r#"{{if eq .Topic "user.created"}}match{{end}}"#),
        "match"
    );
    assert_eq!(
        hdr(r#"{{if eq .Topic "a" "b" "user.created"}}any{{end}}"#),
        "any"
    );
    assert_eq!(hdr(r#"{{if ne .Topic "x"}}ne{{end}}"#), "ne");
    assert_eq!(
        hdr(
            r#"{{if lt 1 2}}lt{{end}}{{if le 2 2}}le{{end}}{{if gt "b" "a"}}gt{{end}}{{if ge 1 2}}ge{{end}}"#
        ),
        "ltlegt"
    );
    assert_eq!(
        hdr(r#"{{and 1 0 2}}|{{and 1 2}}|{{or 0 "" "x"}}|{{or 0 ""}}|{{not 0}}|{{not "a"}}"#),
        "0|2|x||true|false"
    );
    assert!(
        render_err(r#"{{if eq .Topic 1}}x{{end}}"#, &header_payload(&[]))
            .contains("incompatible types for comparison")
    );
    assert!(
        render_err("{{lt true false}}", &header_payload(&[]))
            .contains("invalid type for comparison")
    );
    assert!(
        render_err("{{eq 1}}", &header_payload(&[])).contains("missing argument for comparison")
    );
}

#[test]
fn and_or_short_circuit() {
    // The second operand would fail; `and`/`or` must not evaluate it.
    let d = Value::map([("E", ""), ("F", "x")]);
    assert_eq!(render("{{and .E .Missing}}|{{or .F .Missing}}", &d), "|x");
    assert!(render_err("{{and .F .Missing}}", &d).contains("can't evaluate field Missing"));
}

#[test]
fn len_function() {
    assert_eq!(
        hdr(r#"{{len .Signatures}}|{{len "héllo"}}|{{len (slice .Signatures 1)}}"#),
        "3|6|2"
    );
    assert!(
        render_err("{{len 3}}", &header_payload(&[]))
            .contains("error calling len: len of type int")
    );
}

#[test]
fn parenthesized_pipelines_and_chains() {
    assert_eq!(
        hdr("{{(.EventID)}}|{{(index .Signatures 0) | upper}}|{{(.Timestamp).Unix}}"),
        "evt_123|ABC|1717230216"
    );
    assert_eq!(hdr(r#"{{.EventID | eq "evt_123" | not}}"#), "false");
    assert_eq!(hdr("{{0 | index .Signatures}}"), "abc");
}

// ---- control structures ----------------------------------------------------------------

#[test]
fn range_over_list() {
    assert_eq!(
        hdr("{{range .Signatures}}[{{.}}]{{end}}"),
        "[abc][def][ghi]"
    );
    assert_eq!(
        hdr("{{range $s := .Signatures}}{{$s}};{{end}}"),
        "abc;def;ghi;"
    );
    assert_eq!(
        render(
            "{{range .Signatures}}x{{else}}none{{end}}",
            &header_payload(&[])
        ),
        "none"
    );
}

#[test]
fn range_with_index_and_value() {
    assert_eq!(
        hdr("{{range $i, $s := .Signatures}}{{if $i}},{{end}}v1={{$s}}{{end}}"),
        "v1=abc,v1=def,v1=ghi"
    );
    assert_eq!(
        hdr("{{range $i, $s := .Signatures}}{{if gt $i 0}} {{end}}v1,{{$s}}{{end}}"),
        "v1,abc v1,def v1,ghi"
    );
}

#[test]
fn range_over_map_and_int() {
    let d = Value::map([("M", Value::map([("b", 2i64), ("a", 1i64)]))]);
    assert_eq!(
        render("{{range $k, $v := .M}}{{$k}}={{$v}};{{end}}", &d),
        "a=1;b=2;"
    );
    assert_eq!(render("{{range .M}}{{.}}{{end}}", &d), "12");
    assert_eq!(render("{{range 3}}{{.}}{{end}}", &d), "012");
    assert_eq!(render("{{range $i := 2}}<{{$i}}>{{end}}", &d), "<0><1>");
    assert_eq!(render("{{range 0}}x{{else}}empty{{end}}", &d), "empty");
    assert!(
        render_err("{{range $i, $v := 3}}{{end}}", &d)
            .contains("can't use 3 to iterate over more than one variable")
    );
    assert!(render_err(r#"{{range "abc"}}{{end}}"#, &d).contains("range can't iterate over abc"));
}

#[test]
fn range_break_continue() {
    assert_eq!(
        hdr(r#"{{range .Signatures}}{{if eq . "def"}}{{break}}{{end}}{{.}}{{end}}"#),
        "abc"
    );
    assert_eq!(
        hdr(r#"{{range .Signatures}}{{if eq . "def"}}{{continue}}{{end}}{{.}}{{end}}"#),
        "abcghi"
    );
    assert!(parse_err("{{break}}").contains("{{break}} outside {{range}}"));
    assert!(parse_err("{{range .X}}{{else}}{{continue}}{{end}}").contains("outside {{range}}"));
}

#[test]
fn nested_range_and_if() {
    assert_eq!(
        hdr("{{range .Signatures}}{{range $.Signatures}}{{.}}{{end}};{{end}}"),
        "abcdefghi;abcdefghi;abcdefghi;"
    );
    assert_eq!(
        hdr(
            "{{range $i, $a := .Signatures}}{{range $j, $b := $.Signatures}}{{if eq $i $j}}{{$a}}{{else if lt $i $j}}<{{else}}>{{end}}{{end}}|{{end}}"
        ),
        "abc<<|>def<|>>ghi|"
    );
    assert_eq!(
        hdr("{{range .Signatures}}{{$.EventID}}{{end}}"),
        "evt_123evt_123evt_123"
    );
}

#[test]
fn if_else_chains() {
    let empty = header_payload(&[]);
    assert_eq!(
        render("{{if .Signatures}}yes{{else}}no{{end}}", &empty),
        "no"
    );
    assert_eq!(hdr("{{if .Signatures}}yes{{else}}no{{end}}"), "yes");
    let d = Value::map([("A", ""), ("B", "b")]);
    assert_eq!(render("{{if .A}}a{{else if .B}}b{{else}}c{{end}}", &d), "b");
    assert_eq!(render("{{if .A}}a{{else if .A}}b{{else}}c{{end}}", &d), "c");
    assert_eq!(render("{{if $x := .B}}{{$x}}{{else}}no{{end}}", &d), "b");
}

#[test]
fn truthiness_like_go() {
    let d = Value::map([
        ("S", Value::from("")),
        ("I", 0i64.into()),
        ("B", false.into()),
        ("L", Value::List(vec![])),
        ("M", Value::Map(BTreeMap::new())),
        ("T", TimeValue::from_unix(0, 0).into()),
    ]);
    assert_eq!(
        render(
            "{{if .S}}1{{end}}{{if .I}}2{{end}}{{if .B}}3{{end}}{{if .L}}4{{end}}{{if .M}}5{{end}}{{if .T}}6{{end}}",
            &d
        ),
        "6"
    );
}

#[test]
fn with_and_else_with() {
    let d = Value::map([("A", ""), ("B", "bee")]);
    assert_eq!(
        render("{{with .B}}[{{.}}]{{else}}empty{{end}}", &d),
        "[bee]"
    );
    assert_eq!(
        render("{{with .A}}[{{.}}]{{else}}empty{{end}}", &d),
        "empty"
    );
    assert_eq!(
        render("{{with .A}}a{{else with .B}}{{.}}{{end}}", &d),
        "bee"
    );
    assert_eq!(render("{{with $v := .B}}{{$v}}{{.}}{{end}}", &d), "beebee");
}

#[test]
fn variables_and_assignment() {
    assert_eq!(
        hdr(r#"{{$x := .EventID}}{{$x}}{{$x = "changed"}}{{$x}}"#),
        "evt_123changed"
    );
    assert_eq!(hdr("{{$x := 1}}{{if true}}{{$x = 2}}{{end}}{{$x}}"), "2");
    assert!(hdr("{{$}}").starts_with("map["));
    assert_eq!(hdr("{{$.EventID}}"), "evt_123");
    assert!(parse_err("{{if true}}{{$y := 1}}{{end}}{{$y}}").contains("undefined variable \"$y\""));
    assert!(parse_err("{{$x = 1}}").contains("undefined variable \"$x\""));
}

// ---- literals, whitespace and comments -------------------------------------------------

#[test]
fn literals() {
    assert_eq!(
        hdr(
            r#"{{"abc"}}|{{`raw\n`}}|{{'a'}}|{{"\u00e9\x41\101\t"}}|{{0x1F}}|{{0o17}}|{{0b101}}|{{017}}|{{1_000}}|{{-5}}|{{+5}}|{{true}}"#
        ),
        "abc|raw\\n|97|éAA\t|31|15|5|15|1000|-5|5|true"
    );
    assert_eq!(hdr(r#"{{"}}"}}"#), "}}");
    assert_eq!(
        hdr("{{9223372036854775807}}|{{-9223372036854775808}}"),
        "9223372036854775807|-9223372036854775808"
    );
}

#[test]
fn whitespace_trimming() {
    assert_eq!(hdr("  {{- .EventID -}}  \n x"), "evt_123x");
    assert_eq!(hdr("a  {{- /* c */ -}}  b"), "ab");
    assert_eq!(hdr("a {{/* c */}} b"), "a  b");
    assert_eq!(
        hdr("x\n{{- if .EventID }}\n  yes\n{{- end }}\n"),
        "x\n  yes\n"
    );
    assert_eq!(
        hdr("{{- range .Signatures }}\n  {{ . }}\n{{- end }}"),
        "\n  abc\n  def\n  ghi"
    );
    // `{{-3}}` is the number -3, not a trim marker.
    assert_eq!(hdr("a {{-3}} b"), "a -3 b");
    assert_eq!(hdr("a {{3 -}} b"), "a 3b");
}

// ---- parse errors ----------------------------------------------------------------------

#[test]
fn parse_errors_name_construct_and_position() {
    assert_eq!(
        parse_err("ab{{nosuchfunc 1}}"),
        "template: 1:5: function \"nosuchfunc\" not defined"
    );
    assert_eq!(
        parse_err("x\n  {{$undefined}}"),
        "template: 2:5: undefined variable \"$undefined\""
    );
    assert!(parse_err("{{.Timestamp.{{.Body}}").contains("1:14: bad character '{'"));
    assert!(parse_err("t={{.Timestamp},v0={{.Signatures}").contains("template: 1:"));
    assert!(
        parse_err(r#"{{.Timestamp.Unix}}.{{.Body | join \",\"}}"#)
            .contains("unexpected character '\\\\'")
    );
    assert!(parse_err("{{if .X}}").contains("unclosed {{if}}: missing {{end}}"));
    assert!(parse_err("{{end}}").contains("unexpected {{end}}"));
    assert!(parse_err("{{else}}").contains("unexpected {{else}}"));
    assert!(
        parse_err("{{if 1}}a{{else}}b{{else}}c{{end}}")
            .contains("expected {{end}}; found {{else}}")
    );
    assert!(
        parse_err("{{range .X}}a{{else if 1}}b{{end}}")
            .contains("{{else if}} is only allowed inside {{if}}")
    );
    assert!(parse_err("{{.X").contains("unclosed action"));
    assert!(parse_err("{{/* x").contains("unclosed comment"));
    assert!(parse_err("{{/* x */ }}").contains("comment ends before closing delimiter"));
    assert!(parse_err(r#"{{"abc}}"#).contains("unterminated quoted string"));
    assert!(parse_err(r#"{{"\q"}}"#).contains("invalid escape sequence"));
    assert!(parse_err("{{`abc}}").contains("unterminated raw quoted string"));
    assert!(parse_err("{{}}").contains("missing value for command"));
    assert!(parse_err("{{if}}{{end}}").contains("missing value for if"));
    assert!(parse_err(r#"{{"a" | "b"}}"#).contains("non executable command in pipeline stage 2"));
    assert!(parse_err("{{upper(.X)}}").contains("unexpected \"(\" in operand"));
    assert!(parse_err("{{(.X}}").contains("unclosed left paren"));
    assert!(parse_err("{{.X)}}").contains("unexpected right paren"));
    assert!(parse_err("{{.Event-ID}}").contains("bad character '-'"));
    assert!(parse_err("{{1.5}}").contains("floating-point"));
    assert!(parse_err("{{9223372036854775808}}").contains("overflows int64"));
    assert!(parse_err("{{nil}}").contains("nil is not supported"));
    assert!(parse_err(r#"{{define "x"}}a{{end}}"#).contains("{{define}} is not supported"));
    assert!(parse_err(r#"{{template "x"}}"#).contains("{{template}} is not supported"));
    assert!(parse_err("{{$x, $y := 1}}").contains("too many declarations"));
    assert!(parse_err("{{3-}}").contains("unexpected \"-\" in operand"));
    assert!(parse_err("{{0x}}").contains("bad number syntax: \"0x\""));
    assert!(parse_err("{{1x}}").contains("bad number syntax"));
}

#[test]
fn parse_error_reports_line_and_column() {
    match Template::parse("line1\nline2 {{ bogus }}") {
        Err(TemplateError::Parse { line, col, message }) => {
            assert_eq!((line, col), (2, 10));
            assert_eq!(message, "function \"bogus\" not defined");
        }
        other => panic!("{other:?}"),
    }
}

// ---- render errors and limits ----------------------------------------------------------

#[test]
fn render_error_fields() {
    let t = Template::parse("abc\n  {{index .Signatures 5}}").expect("parses");
    match t.render(&header_payload(&["a"])) {
        Err(TemplateError::Render {
            line,
            col,
            context,
            message,
        }) => {
            assert_eq!((line, col), (2, 5));
            assert_eq!(context, "index .Signatures 5");
            assert_eq!(message, "error calling index: index out of range: 5");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn non_function_with_arguments() {
    let d = header_payload(&["a"]);
    assert!(render_err("{{. 1}}", &d).contains("can't give argument to non-function ."));
    assert!(
        render_err("{{.EventID | .Topic}}", &d).contains("Topic is not a method but has arguments")
    );
}

#[test]
fn range_iteration_limit() {
    let err = render_err("{{range 100000000}}{{end}}", &Value::Int(0));
    assert!(err.contains("range iteration limit"), "{err}");
}

#[test]
fn nesting_limit() {
    let deep = format!("{}1{}", "(".repeat(150), ")".repeat(150));
    assert!(parse_err(&format!("{{{{{deep}}}}}")).contains("nesting too deep"));
    let ifs = "{{if 1}}".repeat(150) + &"{{end}}".repeat(150);
    assert!(parse_err(&ifs).contains("nesting too deep"));
    let ok = format!("{{{{{}1{}}}}}", "(".repeat(99), ")".repeat(99));
    assert_eq!(render(&ok, &Value::Int(0)), "1");
}

#[test]
fn replace_output_is_bounded() {
    let big = "x".repeat(1 << 20);
    let d = Value::map([("B", big)]);
    let err = render_err(r#"{{replace "" .B .B}}"#, &d);
    assert!(err.contains("result exceeds"), "{err}");
}

#[test]
fn value_display_and_conversions() {
    let v = Value::map([
        ("a", Value::from(vec![Value::from(1i64), "x".into()])),
        ("b", true.into()),
    ]);
    assert_eq!(v.to_string(), "map[a:[1 x] b:true]");
    assert_eq!(
        Value::from(vec!["p".to_owned()]),
        Value::List(vec![Value::Str("p".into())])
    );
    let t: Template = "{{.}}".parse().expect("parses");
    assert_eq!(t.source(), "{{.}}");
    assert_eq!(t.render(&Value::Int(5)).expect("renders"), "5");
}

#[test]
fn template_is_reusable_and_shareable() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Template>();
    let t = Template::parse(r#"v0={{.Signatures | join ","}}"#).expect("parses");
    assert_eq!(t.render(&header_payload(&["a"])).expect("renders"), "v0=a");
    assert_eq!(
        t.render(&header_payload(&["b", "c"])).expect("renders"),
        "v0=b,c"
    );
}

// ---- fuzz-like properties --------------------------------------------------------------

const VOCAB: &[&str] = &[
    "{{",
    "}}",
    "{{- ",
    " -}}",
    "{{/* c */}}",
    " ",
    "\n",
    ".",
    ".EventID",
    ".Signatures",
    ".Timestamp",
    ".Timestamp.Unix",
    ".Nope",
    "$",
    "$x",
    "$i",
    ":=",
    "=",
    ",",
    "|",
    "(",
    ")",
    "\"a\"",
    "\"\\x41\"",
    "`r`",
    "'c'",
    "1",
    "-2",
    "0x1f",
    "1.5",
    "if",
    "else",
    "end",
    "range",
    "with",
    "break",
    "continue",
    "join",
    "\",\"",
    "index",
    "slice",
    "len",
    "printf",
    "\"%d %s %q\"",
    "upper",
    "quote",
    "b64enc",
    "eq",
    "and",
    "or",
    "not",
    "default",
    "x",
    "\\",
    "'",
    "\"",
];

fn sample_data() -> Value {
    Value::map([
        ("EventID", Value::from("evt_1")),
        ("Signatures", Value::from(&["a", "b"][..])),
        ("Timestamp", TimeValue::from_unix(TS, 5).into()),
    ])
}

proptest! {
    #[test]
    fn parse_never_panics_on_arbitrary_strings(s in any::<String>()) {
        let _ = Template::parse(&s);
    }

    #[test]
    fn parse_never_panics_on_template_like_strings(s in "[{}\\-. |$a-zA-Z0-9\"`'():=,/*\\\\\n\t%é]{0,80}") {
        if let Ok(t) = Template::parse(&s) {
            let _ = t.render(&sample_data());
        }
    }

    #[test]
    fn parse_and_render_never_panic_on_token_soup(parts in prop::collection::vec(prop::sample::select(VOCAB), 0..40)) {
        let src = parts.concat();
        if let Ok(t) = Template::parse(&src) {
            let _ = t.render(&sample_data());
        }
    }

    #[test]
    fn plain_text_renders_verbatim(s in "[^{]*") {
        let t = Template::parse(&s).expect("plain text parses");
        prop_assert_eq!(t.render(&Value::Int(0)).expect("renders"), s);
    }

    #[test]
    fn string_literals_round_trip(s in "[^\"\\\\\n]{0,40}") {
        let src = format!("{{{{{}}}}}", super::gofmt::go_quote(&s));
        prop_assert_eq!(render(&src, &Value::Int(0)), s);
    }

    #[test]
    fn printf_never_panics(fmt in "[%a-z0-9.*+# -]{0,20}", n in any::<i64>(), s in ".{0,10}") {
        let src = format!("{{{{printf {} {} {}}}}}", super::gofmt::go_quote(&fmt), n, super::gofmt::go_quote(&s));
        if let Ok(t) = Template::parse(&src) {
            let _ = t.render(&Value::Int(0));
        }
    }

    #[test]
    fn time_format_never_panics(nanos in any::<i128>(), layout in ".{0,30}") {
        let t = TimeValue::from_unix_nanos(nanos);
        let _ = t.format(&layout);
        let _ = t.to_string();
        let _ = (t.unix(), t.unix_milli(), t.unix_micro(), t.unix_nano());
    }
}
