//! Byte-level writers for the three text syntaxes the profiles emit: JSON strings
//! (Python `json.dumps(s, ensure_ascii=False)`), XML text (tencent) and
//! `application/x-www-form-urlencoded` (Python `urllib.parse.urlencode`).
//!
//! Every writer appends to a `Vec<u8>` and copies runs of bytes that need no
//! escaping in one `extend_from_slice`.

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// High bit set in each byte of `v` that is below `n` (exact for the lowest such
/// byte; `n <= 128`).
#[inline(always)]
const fn bytes_below(v: u64, n: u8) -> u64 {
    v.wrapping_sub(LO * n as u64) & !v & HI
}

/// High bit set in each byte of `v` equal to `b` (exact for the lowest such byte).
#[inline(always)]
const fn bytes_equal(v: u64, b: u8) -> u64 {
    let x = v ^ (LO * b as u64);
    x.wrapping_sub(LO) & !x & HI
}

/// Bit `k` set when byte `k` of the 16 is below U+0020 or one of `stops`.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[allow(unsafe_code)]
#[inline(always)]
fn stop_mask16(chunk: &[u8; 16], stops: &[u8]) -> u32 {
    use std::arch::x86_64::{
        _mm_cmpeq_epi8, _mm_loadu_si128, _mm_max_epu8, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8,
    };
    // SAFETY: SSE2 is statically enabled (the cfg above; it is part of the x86_64
    // baseline), and the unaligned load reads exactly the 16 bytes of `chunk`.
    unsafe {
        let v = _mm_loadu_si128(chunk.as_ptr().cast());
        // Unsigned v <= 0x1f exactly when max(v, 0x1f) == 0x1f.
        let limit = _mm_set1_epi8(0x1f);
        let mut m = _mm_cmpeq_epi8(_mm_max_epu8(v, limit), limit);
        for &b in stops {
            m = _mm_or_si128(m, _mm_cmpeq_epi8(v, _mm_set1_epi8(b as i8)));
        }
        _mm_movemask_epi8(m) as u32
    }
}

/// Index of the first byte at or after `from` that is below U+0020 or one of
/// `stops` (a short constant list), or `s.len()` if none: 16 bytes at a time,
/// then a word, then bytes.
#[inline(always)]
fn next_stop(s: &[u8], from: usize, stops: &[u8]) -> usize {
    let mut i = from;
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    while let Some(chunk) = s.get(i..i + 16).and_then(|c| <&[u8; 16]>::try_from(c).ok()) {
        let m = stop_mask16(chunk, stops);
        if m != 0 {
            return i + m.trailing_zeros() as usize;
        }
        i += 16;
    }
    while let Some(chunk) = s.get(i..i + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let v = u64::from_le_bytes(word);
        let m = stops
            .iter()
            .fold(bytes_below(v, 0x20), |m, &b| m | bytes_equal(v, b));
        if m != 0 {
            return i + (m.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while let Some(&b) = s.get(i) {
        if b < 0x20 || stops.contains(&b) {
            return i;
        }
        i += 1;
    }
    s.len()
}

/// Index of the first byte at or after `from` that is `"`, `\` or below U+0020
/// (the bytes a JSON string cannot hold raw), or `s.len()` if none.
#[inline(always)]
pub(crate) fn next_json_special(s: &[u8], from: usize) -> usize {
    next_stop(s, from, b"\"\\")
}

const HEX_LOWER: &[u8; 16] = b"0123456789abcdef";
const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// Appends `s` as a quoted JSON string.
#[inline]
pub(crate) fn json_str(out: &mut Vec<u8>, s: &str) {
    out.reserve(s.len() + 2);
    out.push(b'"');
    json_str_body(out, s.as_bytes());
    out.push(b'"');
}

/// Appends the escaped body of a JSON string (no quotes). `s` must be UTF-8.
pub(crate) fn json_str_body(out: &mut Vec<u8>, s: &[u8]) {
    let mut start = 0;
    loop {
        let j = next_json_special(s, start);
        out.extend_from_slice(s.get(start..j).unwrap_or_default());
        let Some(&b) = s.get(j) else { return };
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            _ => out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX_LOWER[(b >> 4) as usize],
                HEX_LOWER[(b & 0xf) as usize],
            ]),
        }
        start = j + 1;
    }
}

/// `1` for bytes that XML text cannot hold raw: `&`, `<`, `>`, CR, the C0
/// controls other than TAB and LF, and 0xEF (the lead byte of U+FFFE/U+FFFF,
/// checked further).
static XML_SPECIAL: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        t[b] = b != b'\t' as usize && b != b'\n' as usize;
        b += 1;
    }
    t[b'&' as usize] = true;
    t[b'<' as usize] = true;
    t[b'>' as usize] = true;
    t[0xef] = true;
    t
};

const REPLACEMENT: &[u8] = "\u{FFFD}".as_bytes();

/// Appends `s` as XML 1.0 text: `&<>` as entities, CR as `&#13;`, characters
/// XML forbids (C0 controls but TAB/LF/CR, U+FFFE, U+FFFF) as U+FFFD.
pub(crate) fn xml_text(out: &mut Vec<u8>, s: &str) {
    let s = s.as_bytes();
    out.reserve(s.len());
    let mut start = 0;
    let mut i = 0;
    loop {
        i = next_xml_candidate(s, i);
        let Some(&b) = s.get(i) else { break };
        let (rep, len): (&[u8], usize) = match b {
            b'&' => (b"&amp;", 1),
            b'<' => (b"&lt;", 1),
            b'>' => (b"&gt;", 1),
            b'\r' => (b"&#13;", 1),
            0xef => match s.get(i + 1..i + 3) {
                Some([0xbf, 0xbe | 0xbf]) => (REPLACEMENT, 3),
                _ => {
                    i += 1;
                    continue;
                }
            },
            _ if !XML_SPECIAL[b as usize] => {
                // TAB or LF: a candidate, but XML text holds them raw.
                i += 1;
                continue;
            }
            _ => (REPLACEMENT, 1),
        };
        out.extend_from_slice(s.get(start..i).unwrap_or_default());
        out.extend_from_slice(rep);
        i += len;
        start = i;
    }
    out.extend_from_slice(s.get(start..).unwrap_or_default());
}

/// Index of the first byte at or after `from` that [`xml_text`] must look at
/// (below U+0020, `&`, `<`, `>` or 0xEF; it sorts out TAB, LF and 0xEF), or
/// `s.len()` if none.
#[inline(always)]
fn next_xml_candidate(s: &[u8], from: usize) -> usize {
    next_stop(s, from, b"&<>\xef")
}

/// Bytes `urllib.parse.quote_plus` leaves as they are.
static FORM_SAFE: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric() || c == b'_' || c == b'.' || c == b'-' || c == b'~';
        b += 1;
    }
    t
};

/// Appends `s` encoded as Python's `urllib.parse.quote_plus` does.
pub(crate) fn form_value(out: &mut Vec<u8>, s: &[u8]) {
    out.reserve(s.len());
    let mut start = 0;
    for (i, &b) in s.iter().enumerate() {
        if FORM_SAFE[b as usize] {
            continue;
        }
        out.extend_from_slice(s.get(start..i).unwrap_or_default());
        if b == b' ' {
            out.push(b'+');
        } else {
            out.extend_from_slice(&[
                b'%',
                HEX_UPPER[(b >> 4) as usize],
                HEX_UPPER[(b & 0xf) as usize],
            ]);
        }
        start = i + 1;
    }
    out.extend_from_slice(s.get(start..).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(s: &str) -> String {
        let mut out = Vec::new();
        json_str(&mut out, s);
        String::from_utf8(out).unwrap()
    }

    fn xml(s: &str) -> String {
        let mut out = Vec::new();
        xml_text(&mut out, s);
        String::from_utf8(out).unwrap()
    }

    fn form(s: &str) -> String {
        let mut out = Vec::new();
        form_value(&mut out, s.as_bytes());
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn json_matches_python_ensure_ascii_false() {
        assert_eq!(json(""), r#""""#);
        assert_eq!(json("plain"), r#""plain""#);
        assert_eq!(json("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(json("\n\r\t\u{8}\u{c}"), r#""\n\r\t\b\f""#);
        assert_eq!(json("\u{0}\u{1}\u{1f}"), r#""\u0000\u0001\u001f""#);
        assert_eq!(json("\u{1b}x"), r#""\u001bx""#);
        // DEL, U+2028/2029, non-ASCII and emoji stay raw.
        assert_eq!(json("\u{7f}"), "\"\u{7f}\"");
        assert_eq!(json("a\u{2028}b\u{2029}"), "\"a\u{2028}b\u{2029}\"");
        assert_eq!(json("测试电路 😀 <&>'/"), "\"测试电路 😀 <&>'/\"");
    }

    #[test]
    fn json_escapes_at_every_word_position() {
        for pos in 0..20 {
            for special in ['"', '\\', '\n', '\u{0}', '\u{1f}'] {
                let mut s = "x".repeat(20);
                s.replace_range(pos..pos + 1, &special.to_string());
                let got = json(&s);
                let mut want = String::from("\"");
                for c in s.chars() {
                    match c {
                        '"' => want.push_str("\\\""),
                        '\\' => want.push_str("\\\\"),
                        '\n' => want.push_str("\\n"),
                        c if (c as u32) < 0x20 => want.push_str(&format!("\\u{:04x}", c as u32)),
                        c => want.push(c),
                    }
                }
                want.push('"');
                assert_eq!(got, want, "pos {pos} special {special:?}");
            }
        }
    }

    #[test]
    fn next_special_is_exact_after_high_bytes() {
        // Bytes >= 0x80 and just above the thresholds must not be flagged.
        let s = "\u{7f}!#[]测\u{80}\u{ff}\"".as_bytes();
        assert_eq!(next_json_special(s, 0), s.len() - 1);
        let s = [0x21u8, 0x80, 0xff, 0x5b, 0x5d, 0x23, 0x7f, 0xa0, 0x20, 0x1f];
        assert_eq!(next_json_special(&s, 0), 9);
    }

    #[test]
    fn xml_text_escapes_and_replaces() {
        assert_eq!(xml("a&b<c>d\"e'f"), "a&amp;b&lt;c&gt;d\"e'f");
        assert_eq!(xml("l1\nl2\tx\ry"), "l1\nl2\tx&#13;y");
        assert_eq!(
            xml("\u{0}\u{1}\u{b}\u{1f}"),
            "\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}"
        );
        assert_eq!(xml("a\u{FFFE}b\u{FFFF}c"), "a\u{FFFD}b\u{FFFD}c");
        // Other EF-led characters (fullwidth forms) and U+FFFD itself stay.
        assert_eq!(xml("，\u{FFFD}\u{FF5E}"), "，\u{FFFD}\u{FF5E}");
        assert_eq!(xml("😀\u{7f}\u{2028}"), "😀\u{7f}\u{2028}");
        assert_eq!(xml("\u{ef}"), "\u{ef}");
    }

    #[test]
    fn xml_escapes_at_every_word_position() {
        for pos in 0..24 {
            for special in [
                '&', '<', '>', '\r', '\u{0}', '\u{1f}', '\t', '\n', '\u{FFFE}', '，',
            ] {
                let mut s: Vec<char> = "x".repeat(24).chars().collect();
                s[pos] = special;
                let s: String = s.into_iter().collect();
                let want: String = s
                    .chars()
                    .map(|c| match c {
                        '&' => "&amp;".to_owned(),
                        '<' => "&lt;".to_owned(),
                        '>' => "&gt;".to_owned(),
                        '\r' => "&#13;".to_owned(),
                        '\t' | '\n' => c.to_string(),
                        c if (c as u32) < 0x20 || c == '\u{FFFE}' => "\u{FFFD}".to_owned(),
                        c => c.to_string(),
                    })
                    .collect();
                assert_eq!(xml(&s), want, "pos {pos} special {special:?}");
            }
        }
    }

    #[test]
    fn form_matches_quote_plus() {
        assert_eq!(form("AZaz09_.-~"), "AZaz09_.-~");
        assert_eq!(form("a b&c=d+e/f"), "a+b%26c%3Dd%2Be%2Ff");
        assert_eq!(form("失败 原因"), "%E5%A4%B1%E8%B4%A5+%E5%8E%9F%E5%9B%A0");
        assert_eq!(form("\n%*!'()"), "%0A%25%2A%21%27%28%29");
        assert_eq!(form(""), "");
    }
}
