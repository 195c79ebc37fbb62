//! JSON bodies, tolerant of truncation and malformation: the values of secret keys, and JWTs in
//! any string.

use super::credentials::*;
use super::names::*;
use super::*;

impl Redactor {
    /// The tolerant JSON scanner: one pass, copying input to output, that
    /// tracks nesting and object keys and replaces values after secret keys.
    ///
    /// It never validates and never fails: bytes that are not JSON tokens are
    /// copied, unbalanced brackets are ignored, and input may stop anywhere.
    /// Nesting lives in a bit stack, not the call stack, so depth is only
    /// limited by memory (one bit per level).
    pub(super) fn redact_json(&self, input: &[u8]) -> Option<Vec<u8>> {
        let len = input.len();
        let mut w = Rewriter::new(input);
        let mut nesting = Nesting::default();
        // Inside an object, right after `{` or `,`: the next string is a key.
        let mut expect_key = false;
        // Verdict of the key whose value comes next.
        let mut pending = Verdict::Plain;
        // Depth of the outermost container under a secret key, per strength.
        let mut zone_all: Option<usize> = None;
        let mut zone_strings: Option<usize> = None;
        let mut i = 0;
        while i < len {
            let zone = if zone_all.is_some() {
                Verdict::All
            } else if zone_strings.is_some() {
                Verdict::Strings
            } else {
                Verdict::Plain
            };
            match input[i] {
                open @ (b'{' | b'[') => {
                    nesting.push(open == b'{');
                    let depth = nesting.depth();
                    match pending {
                        Verdict::All if zone_all.is_none() => zone_all = Some(depth),
                        Verdict::Strings if zone == Verdict::Plain => zone_strings = Some(depth),
                        _ => {}
                    }
                    pending = Verdict::Plain;
                    expect_key = open == b'{';
                    i += 1;
                }
                b'}' | b']' => {
                    nesting.pop();
                    let depth = nesting.depth();
                    if zone_all.is_some_and(|z| depth < z) {
                        zone_all = None;
                    }
                    if zone_strings.is_some_and(|z| depth < z) {
                        zone_strings = None;
                    }
                    pending = Verdict::Plain;
                    expect_key = false;
                    i += 1;
                }
                b',' => {
                    expect_key = nesting.top_is_object();
                    pending = Verdict::Plain;
                    i += 1;
                }
                b'"' => {
                    let (content_end, end) = json_string_end(input, i + 1);
                    let content = &input[i + 1..content_end];
                    if expect_key && nesting.top_is_object() {
                        pending = self.fields.classify(&Folded::json_key(content));
                        expect_key = false;
                    } else {
                        let verdict = pending.max(zone);
                        let terminated = content_end < len;
                        let secret = verdict.redacts_strings()
                            || (verdict == Verdict::Plain
                                && find_jwt(content, !terminated).is_some());
                        let already = terminated && content == REDACTED.as_bytes();
                        if secret && !already {
                            w.replace(i, end, REDACTED_JSON);
                        }
                        pending = Verdict::Plain;
                    }
                    i = end;
                }
                b'-' | b'0'..=b'9' => {
                    let end = i + input[i..]
                        .iter()
                        .take_while(|b| matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
                        .count();
                    if pending.max(zone) == Verdict::All {
                        let number = &input[i..end];
                        let marker: &[u8] =
                            if number.iter().any(|b| matches!(b, b'.' | b'e' | b'E')) {
                                b"0.0"
                            } else {
                                b"0"
                            };
                        if number != marker {
                            w.replace(i, end, marker);
                        }
                    }
                    pending = Verdict::Plain;
                    i = end;
                }
                b't' | b'f' | b'n' => {
                    i += input[i..]
                        .iter()
                        .take_while(|b| b.is_ascii_alphabetic())
                        .count();
                    pending = Verdict::Plain;
                }
                _ => i += 1,
            }
        }
        w.finish()
    }
}

/// A stack of "is this level an object?" bits: the first 64 levels live
/// inline, deeper ones spill to the heap (one bit per level).
#[derive(Default)]
pub(super) struct Nesting {
    pub(super) depth: usize,
    pub(super) low: u64,
    pub(super) high: Vec<u64>,
}

impl Nesting {
    pub(super) fn depth(&self) -> usize {
        self.depth
    }

    pub(super) fn push(&mut self, object: bool) {
        let (word, bit) = (self.depth / 64, self.depth % 64);
        let slot = if word == 0 {
            &mut self.low
        } else {
            if self.high.len() < word {
                self.high.push(0);
            }
            match self.high.get_mut(word - 1) {
                Some(slot) => slot,
                None => return,
            }
        };
        if object {
            *slot |= 1 << bit;
        } else {
            *slot &= !(1 << bit);
        }
        self.depth += 1;
    }

    pub(super) fn pop(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    pub(super) fn top_is_object(&self) -> bool {
        let Some(level) = self.depth.checked_sub(1) else {
            return false;
        };
        let word = if level < 64 {
            self.low
        } else {
            self.high.get(level / 64 - 1).copied().unwrap_or(0)
        };
        (word >> (level % 64)) & 1 == 1
    }
}

/// Finds the end of a JSON string whose content starts at `from`. Returns
/// the index of the closing quote and the index after it; both are the input
/// length when the string is unterminated.
pub(super) fn json_string_end(input: &[u8], from: usize) -> (usize, usize) {
    let len = input.len();
    let mut j = from;
    while j < len {
        match memchr::memchr2(b'"', b'\\', &input[j..]) {
            None => break,
            Some(k) if input[j + k] == b'"' => return (j + k, j + k + 1),
            Some(k) => j += k + 2,
        }
    }
    (len, len)
}
