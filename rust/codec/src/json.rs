//! Raw JSON: an RFC 8259 validator that builds nothing, and for the tencent
//! `BucketId`/`Object` fields a top-level member lookup plus a compact
//! re-writer (no whitespace, numbers as their source text, strings re-escaped by
//! the JSON rules, a repeated key keeping its first position and last value, as
//! a Python `dict` from `json.loads` does).
//!
//! Nothing here recurses on the input's nesting, so arbitrarily deep documents
//! cannot overflow the stack.

use std::collections::HashMap;
use std::fmt;

use crate::escape::{json_str_body, next_json_special};

/// Why raw bytes are not one JSON value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JsonError {
    /// Byte offset of the problem.
    pub pos: usize,
    pub what: &'static str,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.what, self.pos)
    }
}

fn err<T>(pos: usize, what: &'static str) -> Result<T, JsonError> {
    Err(JsonError { pos, what })
}

#[inline]
fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

#[inline(always)]
fn skip_ws(s: &[u8], mut i: usize) -> usize {
    while s.get(i).is_some_and(|&b| is_ws(b)) {
        i += 1;
    }
    i
}

/// Checks that `s` is exactly one JSON value, optionally surrounded by
/// whitespace, in UTF-8.
pub(crate) fn validate(s: &[u8]) -> Result<(), JsonError> {
    check_utf8(s)?;
    let i = skip_ws(s, 0);
    let i = skip_value(s, i)?;
    let i = skip_ws(s, i);
    if i != s.len() {
        return err(i, "trailing characters after the JSON value");
    }
    Ok(())
}

/// A stack of container kinds (true = object) that stays off the heap for the
/// first 256 levels.
struct Nesting {
    inline: [u64; 4],
    spill: Vec<bool>,
    depth: usize,
}

impl Nesting {
    fn new() -> Self {
        Nesting {
            inline: [0; 4],
            spill: Vec::new(),
            depth: 0,
        }
    }

    #[inline(always)]
    fn push(&mut self, is_object: bool) {
        if let Some(word) = self.inline.get_mut(self.depth / 64) {
            let bit = 1u64 << (self.depth % 64);
            if is_object {
                *word |= bit;
            } else {
                *word &= !bit;
            }
        } else {
            self.spill.push(is_object);
        }
        self.depth += 1;
    }

    /// Removes and returns the kind on top (`false` when empty).
    #[inline(always)]
    fn pop(&mut self) -> bool {
        let Some(d) = self.depth.checked_sub(1) else {
            return false;
        };
        self.depth = d;
        match self.inline.get(d / 64) {
            Some(word) => word & (1u64 << (d % 64)) != 0,
            None => self.spill.pop().unwrap_or(false),
        }
    }
}

/// Skips a string whose opening quote is at `i`; returns the index after the
/// closing quote. (UTF-8 is checked once for the whole document.)
#[inline(always)]
fn skip_string(s: &[u8], i: usize) -> Result<usize, JsonError> {
    let mut i = i + 1;
    loop {
        i = next_json_special(s, i);
        match s.get(i) {
            None => return err(i, "unterminated string"),
            Some(b'"') => return Ok(i + 1),
            Some(b'\\') => match s.get(i + 1) {
                Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => i += 2,
                Some(b'u') => {
                    let hex = s.get(i + 2..i + 6);
                    if !hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
                        return err(i, "invalid \\u escape");
                    }
                    i += 6;
                }
                _ => return err(i, "invalid escape"),
            },
            Some(_) => return err(i, "control character in string"),
        }
    }
}

#[cold]
#[inline(never)]
fn utf8_error<T>(pos: usize) -> Result<T, JsonError> {
    err(pos, "invalid UTF-8")
}

/// Checks the whole document's UTF-8 at once (SIMD; the exact position is
/// looked up only for an invalid document).
#[inline]
fn check_utf8(s: &[u8]) -> Result<(), JsonError> {
    if simdutf8::basic::from_utf8(s).is_ok() {
        return Ok(());
    }
    match std::str::from_utf8(s) {
        Ok(_) => Ok(()),
        Err(e) => utf8_error(e.valid_up_to()),
    }
}

fn skip_digits(s: &[u8], mut i: usize) -> usize {
    while s.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    i
}

/// Skips a number starting at `i`; returns its end.
#[inline(always)]
fn skip_number(s: &[u8], i: usize) -> Result<usize, JsonError> {
    let start = i;
    let mut i = i;
    if s.get(i) == Some(&b'-') {
        i += 1;
    }
    match s.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => i = skip_digits(s, i + 1),
        _ => return err(start, "invalid number"),
    }
    if s.get(i) == Some(&b'.') {
        let j = skip_digits(s, i + 1);
        if j == i + 1 {
            return err(i, "invalid number");
        }
        i = j;
    }
    if matches!(s.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(s.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let j = skip_digits(s, i);
        if j == i {
            return err(i, "invalid number");
        }
        i = j;
    }
    Ok(i)
}

fn skip_literal(s: &[u8], i: usize, lit: &[u8]) -> Result<usize, JsonError> {
    if s.get(i..i + lit.len()) == Some(lit) {
        Ok(i + lit.len())
    } else {
        err(i, "expected a value")
    }
}

/// Skips the object key (a string), whitespace and the colon after it, starting
/// at `i` (whitespace before the key is already skipped).
#[inline(always)]
fn skip_key(s: &[u8], i: usize) -> Result<usize, JsonError> {
    if s.get(i) != Some(&b'"') {
        return err(i, "expected a string key");
    }
    let i = skip_ws(s, skip_string(s, i)?);
    if s.get(i) != Some(&b':') {
        return err(i, "expected ':'");
    }
    Ok(i + 1)
}

/// Skips (and checks) one JSON value starting exactly at `i`; returns its end.
/// The input's UTF-8 validity is checked by the caller.
pub(crate) fn skip_value(s: &[u8], i: usize) -> Result<usize, JsonError> {
    // The kinds of the enclosing containers; the innermost one is kept in
    // `in_object` (meaningful while `depth > 0`).
    let mut outer = Nesting::new();
    let mut depth = 0usize;
    let mut in_object = false;
    let mut i = i;
    'value: loop {
        i = skip_ws(s, i);
        let Some(&b) = s.get(i) else {
            return err(i, "expected a value, found the end");
        };
        match b {
            b'"' => i = skip_string(s, i)?,
            b'{' => {
                i = skip_ws(s, i + 1);
                if s.get(i) == Some(&b'}') {
                    i += 1;
                } else {
                    outer.push(in_object);
                    depth += 1;
                    in_object = true;
                    i = skip_key(s, i)?;
                    continue 'value;
                }
            }
            b'[' => {
                i = skip_ws(s, i + 1);
                if s.get(i) == Some(&b']') {
                    i += 1;
                } else {
                    outer.push(in_object);
                    depth += 1;
                    in_object = false;
                    continue 'value;
                }
            }
            b'-' | b'0'..=b'9' => i = skip_number(s, i)?,
            b't' => i = skip_literal(s, i, b"true")?,
            b'f' => i = skip_literal(s, i, b"false")?,
            b'n' => i = skip_literal(s, i, b"null")?,
            _ => return err(i, "expected a value"),
        }
        // After a complete value: close containers or move to the next element.
        while depth > 0 {
            i = skip_ws(s, i);
            match s.get(i) {
                Some(b',') => {
                    i = if in_object {
                        skip_key(s, skip_ws(s, i + 1))?
                    } else {
                        i + 1
                    };
                    continue 'value;
                }
                Some(b'}') if in_object => {}
                Some(b']') if !in_object => {}
                _ if in_object => return err(i, "expected ',' or '}'"),
                _ => return err(i, "expected ',' or ']'"),
            }
            i += 1;
            depth -= 1;
            in_object = outer.pop();
        }
        return Ok(i);
    }
}

fn hex4(s: &[u8], i: usize) -> Option<u32> {
    let h = s.get(i..i + 4)?;
    let mut v = 0u32;
    for &b in h {
        v = v * 16 + (b as char).to_digit(16)?;
    }
    Some(v)
}

/// Decodes the JSON string whose opening quote is at `i` (already validated)
/// into `out`; returns the index after the closing quote. A lone surrogate
/// escape decodes to U+FFFD.
fn decode_string(s: &[u8], i: usize, out: &mut String) -> usize {
    let mut i = i + 1;
    loop {
        let j = next_json_special(s, i);
        if let Some(run) = s.get(i..j) {
            out.push_str(std::str::from_utf8(run).unwrap_or("\u{FFFD}"));
        }
        match s.get(j) {
            Some(b'\\') => {
                let (c, len) = match s.get(j + 1) {
                    Some(b'b') => ('\u{8}', 2),
                    Some(b'f') => ('\u{c}', 2),
                    Some(b'n') => ('\n', 2),
                    Some(b'r') => ('\r', 2),
                    Some(b't') => ('\t', 2),
                    Some(b'u') => {
                        let hi = hex4(s, j + 2).unwrap_or(0xfffd);
                        if (0xd800..0xdc00).contains(&hi) && s.get(j + 6..j + 8) == Some(b"\\u") {
                            match hex4(s, j + 8) {
                                Some(lo @ 0xdc00..=0xdfff) => {
                                    let c = 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
                                    (char::from_u32(c).unwrap_or('\u{FFFD}'), 12)
                                }
                                _ => ('\u{FFFD}', 6),
                            }
                        } else {
                            (char::from_u32(hi).unwrap_or('\u{FFFD}'), 6)
                        }
                    }
                    Some(&c) => (c as char, 2),
                    None => return j + 1,
                };
                out.push(c);
                i = j + len;
            }
            // A closing quote, or (never for validated input) a control byte / the end.
            _ => return j + 1,
        }
    }
}

/// Whether the (validated) key string from `i` to `end` equals `key`.
fn key_is(s: &[u8], i: usize, end: usize, key: &str, scratch: &mut String) -> bool {
    let body = s.get(i + 1..end.saturating_sub(1)).unwrap_or_default();
    if !body.contains(&b'\\') {
        return body == key.as_bytes();
    }
    scratch.clear();
    decode_string(s, i, scratch);
    scratch == key
}

/// Checks `s` exactly as [`validate`] does, in the same single pass finding the
/// value spans of the top-level members named `keys` when `s` is an object (the
/// last one of a repeated key, as `json.loads` keeps).
pub(crate) fn validate_find(
    s: &[u8],
    keys: [&str; 2],
) -> Result<[Option<(usize, usize)>; 2], JsonError> {
    check_utf8(s)?;
    let mut found = [None, None];
    let mut i = skip_ws(s, 0);
    if s.get(i) == Some(&b'{') {
        i = skip_ws(s, i + 1);
        if s.get(i) == Some(&b'}') {
            i += 1;
        } else {
            let mut scratch = String::new();
            loop {
                if s.get(i) != Some(&b'"') {
                    return err(i, "expected a string key");
                }
                let key_end = skip_string(s, i)?;
                let hits = keys.map(|k| key_is(s, i, key_end, k, &mut scratch));
                i = skip_ws(s, key_end);
                if s.get(i) != Some(&b':') {
                    return err(i, "expected ':'");
                }
                i = skip_ws(s, i + 1);
                let value_end = skip_value(s, i)?;
                for (slot, hit) in found.iter_mut().zip(hits) {
                    if hit {
                        *slot = Some((i, value_end));
                    }
                }
                i = skip_ws(s, value_end);
                match s.get(i) {
                    Some(b',') => i = skip_ws(s, i + 1),
                    Some(b'}') => {
                        i += 1;
                        break;
                    }
                    _ => return err(i, "expected ',' or '}'"),
                }
            }
        }
    } else {
        i = skip_value(s, i)?;
    }
    let i = skip_ws(s, i);
    if i != s.len() {
        return err(i, "trailing characters after the JSON value");
    }
    Ok(found)
}

/// The text a tencent field takes from the JSON value `v` (validated): a string
/// as is, `null` as empty, anything else as its compact JSON text.
pub(crate) fn field_text(v: &[u8]) -> String {
    let mut out = String::new();
    match v.first() {
        Some(b'"') => {
            decode_string(v, 0, &mut out);
        }
        Some(b'n') | None => {}
        Some(_) => {
            let mut bytes = Vec::with_capacity(v.len());
            compact(v, &mut bytes);
            out = String::from_utf8(bytes)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
        }
    }
    out
}

enum Node {
    Null,
    Bool(bool),
    /// A number, as its source text.
    Num(usize, usize),
    Str(String),
    Array(Vec<usize>),
    Object(Members),
}

/// An object's members with Python `dict` semantics: a repeated key keeps its
/// first position and takes the last value.
#[derive(Default)]
struct Members {
    list: Vec<(String, usize)>,
    index: Option<HashMap<String, usize>>,
}

impl Members {
    fn insert(&mut self, key: String, value: usize) {
        let pos = match &self.index {
            Some(index) => index.get(&key).copied(),
            None => self.list.iter().position(|(k, _)| *k == key),
        };
        if let Some(slot) = pos.and_then(|p| self.list.get_mut(p)) {
            slot.1 = value;
            return;
        }
        if let Some(index) = &mut self.index {
            index.insert(key.clone(), self.list.len());
        }
        self.list.push((key, value));
        if self.index.is_none() && self.list.len() > 16 {
            let index = self
                .list
                .iter()
                .enumerate()
                .map(|(p, (k, _))| (k.clone(), p))
                .collect();
            self.index = Some(index);
        }
    }
}

/// Writes the validated JSON value `s` compactly: no whitespace, numbers as
/// written, strings re-escaped, repeated keys merged (first position, last value).
pub(crate) fn compact(s: &[u8], out: &mut Vec<u8>) {
    let nodes = parse_tree(s);
    if !nodes.is_empty() {
        write_tree(s, &nodes, 0, out);
    }
}

/// Parses validated JSON into a flat tree; node 0 is the root.
fn parse_tree(s: &[u8]) -> Vec<Node> {
    let mut nodes: Vec<Node> = Vec::new();
    // Open containers: (node, pending object key).
    let mut stack: Vec<(usize, Option<String>)> = Vec::new();
    let mut i = 0;
    loop {
        i = skip_ws(s, i);
        let Some(&b) = s.get(i) else { return nodes };
        let node = match b {
            b',' | b':' => {
                i += 1;
                continue;
            }
            b'}' | b']' => {
                stack.pop();
                if stack.is_empty() {
                    return nodes;
                }
                i += 1;
                continue;
            }
            b'"' => {
                let mut text = String::new();
                i = decode_string(s, i, &mut text);
                if let Some((top, key @ None)) = stack.last_mut() {
                    if matches!(nodes.get(*top), Some(Node::Object(_))) {
                        *key = Some(text);
                        continue;
                    }
                }
                Node::Str(text)
            }
            b'{' => {
                i += 1;
                Node::Object(Members::default())
            }
            b'[' => {
                i += 1;
                Node::Array(Vec::new())
            }
            b't' => {
                i += 4;
                Node::Bool(true)
            }
            b'f' => {
                i += 5;
                Node::Bool(false)
            }
            b'n' => {
                i += 4;
                Node::Null
            }
            _ => {
                let start = i;
                i = skip_number(s, i).unwrap_or(s.len()).max(i + 1);
                Node::Num(start, i)
            }
        };
        let is_container = matches!(node, Node::Object(_) | Node::Array(_));
        let idx = nodes.len();
        nodes.push(node);
        if let Some((top, key)) = stack.last_mut() {
            match nodes.get_mut(*top) {
                Some(Node::Array(items)) => items.push(idx),
                Some(Node::Object(members)) => members.insert(key.take().unwrap_or_default(), idx),
                _ => {}
            }
        }
        if is_container {
            stack.push((idx, None));
        } else if stack.is_empty() {
            return nodes;
        }
    }
}

fn write_tree(s: &[u8], nodes: &[Node], root: usize, out: &mut Vec<u8>) {
    // (node, next child position)
    let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
    while let Some((idx, pos)) = stack.pop() {
        let Some(node) = nodes.get(idx) else { continue };
        match node {
            Node::Null => out.extend_from_slice(b"null"),
            Node::Bool(true) => out.extend_from_slice(b"true"),
            Node::Bool(false) => out.extend_from_slice(b"false"),
            Node::Num(a, b) => out.extend_from_slice(s.get(*a..*b).unwrap_or(b"0")),
            Node::Str(text) => {
                out.push(b'"');
                json_str_body(out, text.as_bytes());
                out.push(b'"');
            }
            Node::Array(items) => {
                if pos == 0 {
                    out.push(b'[');
                }
                match items.get(pos) {
                    Some(&child) => {
                        if pos > 0 {
                            out.push(b',');
                        }
                        stack.push((idx, pos + 1));
                        stack.push((child, 0));
                    }
                    None => out.push(b']'),
                }
            }
            Node::Object(members) => {
                if pos == 0 {
                    out.push(b'{');
                }
                match members.list.get(pos) {
                    Some((key, child)) => {
                        if pos > 0 {
                            out.push(b',');
                        }
                        out.push(b'"');
                        json_str_body(out, key.as_bytes());
                        out.extend_from_slice(b"\":");
                        stack.push((idx, pos + 1));
                        stack.push((*child, 0));
                    }
                    None => out.push(b'}'),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) {
        assert_eq!(validate(s.as_bytes()), Ok(()), "{s:?} should be valid");
    }

    fn bad(s: &[u8]) {
        assert!(
            validate(s).is_err(),
            "{:?} should be invalid",
            String::from_utf8_lossy(s)
        );
    }

    #[test]
    fn accepts_rfc8259() {
        for s in [
            "{}",
            "[]",
            " {} ",
            "\n\t\r {\"a\" : [1, -2.5e+3, 0, -0, 1E2, 0.5e-1, true, false, null, \"x\"]}\n",
            "\"\"",
            "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\uD83D\\uDE00\\ud800\"",
            "0",
            "-0.0",
            "123456789012345678901234567890",
            "\"测试 😀 \u{7f}\u{2028}\"",
            "[[[[[]]]],{\"a\":{\"b\":{}}}]",
            "{\"a\":1,\"a\":2}",
        ] {
            ok(s);
        }
        let deep = "[".repeat(100_000) + &"]".repeat(100_000);
        ok(&deep);
        let deep = "{\"a\":".repeat(1000) + "1" + &"}".repeat(1000);
        ok(&deep);
    }

    #[test]
    fn rejects_non_json() {
        for s in [
            "",
            " ",
            "{",
            "}",
            "[1,]",
            "{\"a\":1,}",
            "{\"a\"}",
            "{a:1}",
            "[1 2]",
            "01",
            "1.",
            ".5",
            "+1",
            "-",
            "1e",
            "1e+",
            "NaN",
            "Infinity",
            "-Infinity",
            "tru",
            "nul",
            "'a'",
            "\"a",
            "\"\\x\"",
            "\"\\u12\"",
            "\"\\u12g4\"",
            "\"\t\"",
            "\"\n\"",
            "{}{}",
            "[] x",
            "\u{feff}{}",
            "{\"a\":1]",
            "[1}",
            "[\"a\":1]",
            "{,}",
            "[,1]",
            "\u{a0}1",
        ] {
            bad(s.as_bytes());
        }
        bad(b"\"\xff\"");
        bad(b"\"\xed\xa0\x80\""); // UTF-8-encoded surrogate
        bad(b"\"\xc3\"");
        bad(&[b'['; 1000]);
        // UTF-8 is checked inside strings of any length, and nothing else may be
        // non-ASCII.
        for n in [0, 3, 7, 8, 15, 16, 17, 40] {
            let mut s = b"{\"k\":\"".to_vec();
            s.extend(std::iter::repeat_n(b'a', n));
            let mut bad_tail = s.clone();
            bad_tail.extend_from_slice(b"\xff\"}");
            bad(&bad_tail);
            let mut truncated = s.clone();
            truncated.extend_from_slice("é".as_bytes());
            truncated.truncate(truncated.len() - 1);
            truncated.extend_from_slice(b"\"}");
            bad(&truncated);
            let mut fine = s.clone();
            fine.extend_from_slice("é测😀\\n".as_bytes());
            fine.extend_from_slice(b"\"}");
            assert_eq!(validate(&fine), Ok(()));
        }
        bad("[é]".as_bytes());
        bad("{\"a\":1}é".as_bytes());
        bad("{é:1}".as_bytes());
    }

    #[test]
    fn errors_say_where() {
        let e = validate(b"{\"a\": tru}").unwrap_err();
        assert_eq!(e.pos, 6);
        let e = validate(b"[1] 2").unwrap_err();
        assert_eq!(
            e.to_string(),
            "trailing characters after the JSON value at byte 4"
        );
    }

    #[test]
    fn top_level_lookup() {
        let s = br#" { "BucketId" : "b-1", "Object":{"k": [1, 2.50]}, "x\u0041": 3, "n": null, "BucketId": "b-2" } "#;
        let get =
            |k: &str| validate_find(s, [k, "none"]).unwrap()[0].map(|(a, b)| field_text(&s[a..b]));
        assert_eq!(get("BucketId").as_deref(), Some("b-2"));
        assert_eq!(get("Object").as_deref(), Some(r#"{"k":[1,2.50]}"#));
        assert_eq!(get("xA").as_deref(), Some("3"));
        assert_eq!(get("n").as_deref(), Some(""));
        assert_eq!(get("missing"), None);
        assert_eq!(validate_find(b"[1]", ["a", "b"]), Ok([None, None]));
        assert_eq!(validate_find(b" {} ", ["a", "b"]), Ok([None, None]));
        // Nested keys are not top-level; both keys may be the same.
        assert_eq!(
            validate_find(br#"{"o":{"a":1}}"#, ["a", "a"]),
            Ok([None, None])
        );
        assert_eq!(
            validate_find(br#"{"a":1,"b":[2]}"#, ["b", "a"]),
            Ok([Some((11, 14)), Some((5, 6))])
        );
    }

    #[test]
    fn validate_find_agrees_with_validate() {
        let cases: &[&[u8]] = &[
            b"{",
            b"{}",
            b"{} x",
            b"{\"a\"}",
            b"{\"a\":}",
            b"{\"a\":1,}",
            b"{\"a\":1 \"b\":2}",
            b"{a:1}",
            b"{\"a\":1}}",
            b" { \"a\" : [ 1 ] , \"b\" : { } } ",
            b"[1,2]",
            b"\"x\"",
            b"",
            b"  ",
            b"{\"\xff\":1}",
            b"{\"a\":\"\xff\"}",
            b"{\"a\":1]",
            b"{\"a\":{\"b\":1}",
        ];
        for case in cases {
            assert_eq!(
                validate(case).is_ok(),
                validate_find(case, ["a", "b"]).is_ok(),
                "{:?}",
                String::from_utf8_lossy(case)
            );
        }
    }

    fn compacted(s: &str) -> String {
        let mut out = Vec::new();
        compact(s.as_bytes(), &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn compact_keeps_numbers_and_merges_keys() {
        assert_eq!(
            compacted(r#" { "a" : [ 1 , true , null ] } "#),
            r#"{"a":[1,true,null]}"#
        );
        assert_eq!(compacted(r#"{"a":1,"b":2,"a":3}"#), r#"{"a":3,"b":2}"#);
        assert_eq!(compacted(r#""\u00e9\/\ud83d\ude00\n""#), "\"é/😀\\n\"");
        assert_eq!(compacted(r#""\ud800x""#), "\"\u{FFFD}x\"");
        assert_eq!(compacted("-0"), "-0");
        assert_eq!(
            compacted("[1E2, 1.50, -0.0, 1e400, 12345678901234567890123]"),
            "[1E2,1.50,-0.0,1e400,12345678901234567890123]"
        );
        assert_eq!(compacted("[]"), "[]");
        assert_eq!(compacted("{}"), "{}");
        assert_eq!(
            compacted(r#"[{}, [], {"x": {"y": []}}]"#),
            r#"[{},[],{"x":{"y":[]}}]"#
        );
        let many: String = (0..40).map(|i| format!("\"k{}\":{},", i % 20, i)).collect();
        let want: String = (20..40)
            .map(|i| format!("\"k{}\":{},", i % 20, i))
            .collect();
        assert_eq!(
            compacted(&format!("{{{}\"z\":0}}", many)),
            format!("{{{}\"z\":0}}", want)
        );
        let deep = "[".repeat(50_000) + &"]".repeat(50_000);
        assert_eq!(compacted(&deep), deep);
    }
}
