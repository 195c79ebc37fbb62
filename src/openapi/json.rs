//! A JSON reader that records what it reads straight into a [`Shape`], without building a value
//! tree, and that copes with bodies cut anywhere or malformed part-way.
//!
//! It reads one JSON value from the start of the input. When the input ends early or stops being
//! JSON, everything read so far stays recorded and every object still open is counted as
//! incomplete, so it cannot make a property required. Scalars are recorded only once they are
//! known to be whole: a string without its closing quote, or a number or literal touching the end
//! of a cut input, is dropped. Recursion stops at [`SummaryLimits::max_depth`]; deeper containers
//! are skipped with a loop, so no input can exhaust the stack.

use super::schema::{ObjectShape, Shape};
use super::summary::SummaryLimits;

/// How a walk ended.
#[derive(Debug)]
pub(crate) struct Walk {
    /// One complete JSON value was read.
    pub(crate) complete: bool,
    /// Budget left.
    pub(crate) budget: usize,
    /// Some record became a map during the walk, which frees positions: the caller recounts.
    pub(crate) reshaped: bool,
}

/// Reads one JSON value from `input` into `shape`. `whole` says that `input` is the entire body,
/// so a number running to its end is complete. `budget` is how many new positions may be created.
pub(crate) fn walk(
    shape: &mut Shape,
    input: &[u8],
    whole: bool,
    limits: &SummaryLimits,
    budget: usize,
) -> Walk {
    let input = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
    let mut walker = Walker {
        input,
        pos: 0,
        whole,
        limits,
        budget,
        reshaped: false,
        scratch: String::new(),
    };
    let complete = walker.value(shape, 0).is_ok();
    Walk {
        complete,
        budget: walker.budget,
        reshaped: walker.reshaped,
    }
}

/// Why reading stopped early: the input ended, or it is not JSON there. Both are handled alike.
#[derive(Debug)]
enum Stop {
    End,
    Invalid,
}

type Step = Result<(), Stop>;

/// Where a string's content is.
#[derive(Debug, Clone, Copy)]
enum Text {
    /// In the input, without escapes.
    Input(usize, usize),
    /// Decoded into the scratch buffer.
    Scratch,
    /// Not valid text (bad escape or bad UTF-8).
    Invalid,
}

struct Walker<'a> {
    input: &'a [u8],
    pos: usize,
    whole: bool,
    limits: &'a SummaryLimits,
    budget: usize,
    reshaped: bool,
    scratch: String,
}

impl Walker<'_> {
    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.input.get(self.pos) {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    fn value(&mut self, shape: &mut Shape, depth: usize) -> Step {
        self.skip_whitespace();
        match self.peek().ok_or(Stop::End)? {
            b'{' => {
                self.pos += 1;
                let object = shape.object_mut();
                if depth >= self.limits.max_depth {
                    object.partial += 1;
                    return self.skip_nested();
                }
                self.object(object, depth)
            }
            b'[' => {
                self.pos += 1;
                let array = shape.array_mut();
                array.count += 1;
                if depth >= self.limits.max_depth {
                    return self.skip_nested();
                }
                self.skip_whitespace();
                if self.peek() == Some(b']') {
                    self.pos += 1;
                    return Ok(());
                }
                loop {
                    if array.items.is_none() && self.budget > 0 {
                        self.budget -= 1;
                        array.items = Some(Box::default());
                    }
                    match array.items.as_deref_mut() {
                        Some(items) => self.value(items, depth + 1)?,
                        None => self.skip_value()?,
                    }
                    self.skip_whitespace();
                    match self.peek().ok_or(Stop::End)? {
                        b',' => self.pos += 1,
                        b']' => {
                            self.pos += 1;
                            return Ok(());
                        }
                        _ => return Err(Stop::Invalid),
                    }
                }
            }
            b'"' => {
                self.pos += 1;
                let limits = self.limits;
                let text = self.string()?;
                match self.text(text) {
                    Some(s) => shape.text_mut().observe(s, limits),
                    None => shape.text_mut().observe_unknown(),
                }
                Ok(())
            }
            b't' => self.literal(b"true").map(|()| shape.booleans += 1),
            b'f' => self.literal(b"false").map(|()| shape.booleans += 1),
            b'n' => self.literal(b"null").map(|()| shape.nulls += 1),
            b'-' | b'0'..=b'9' => self.number().map(|integer| {
                if integer {
                    shape.integers += 1;
                } else {
                    shape.floats += 1;
                }
            }),
            _ => Err(Stop::Invalid),
        }
    }

    /// Reads an object's members (after `{`), then counts the object as complete or partial and
    /// credits the keys it had.
    fn object(&mut self, object: &mut ObjectShape, depth: usize) -> Step {
        let result = self.members(object, depth);
        let complete = result.is_ok();
        if complete {
            object.complete += 1;
        } else {
            object.partial += 1;
        }
        for field in object.fields.values_mut() {
            if field.seen {
                field.seen = false;
                if complete {
                    field.present += 1;
                }
            }
        }
        result
    }

    fn members(&mut self, object: &mut ObjectShape, depth: usize) -> Step {
        self.skip_whitespace();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            self.skip_whitespace();
            match self.peek().ok_or(Stop::End)? {
                b'"' => self.pos += 1,
                _ => return Err(Stop::Invalid),
            }
            let key = self.string()?;
            self.skip_whitespace();
            match self.peek().ok_or(Stop::End)? {
                b':' => self.pos += 1,
                _ => return Err(Stop::Invalid),
            }
            let mut budget = self.budget;
            let mut reshaped = false;
            let slot = slot(
                object,
                self.text(key),
                self.limits,
                &mut budget,
                &mut reshaped,
            );
            self.budget = budget;
            self.reshaped |= reshaped;
            match slot {
                Some(shape) => self.value(shape, depth + 1)?,
                None => self.skip_value()?,
            }
            self.skip_whitespace();
            match self.peek().ok_or(Stop::End)? {
                b',' => self.pos += 1,
                b'}' => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(Stop::Invalid),
            }
        }
    }

    /// Reads a string after its opening quote.
    fn string(&mut self) -> Result<Text, Stop> {
        let start = self.pos;
        let mut escaped = false;
        loop {
            let rest = &self.input[self.pos..];
            let at = memchr::memchr2(b'"', b'\\', rest).ok_or(Stop::End)?;
            if rest[at] == b'"' {
                let end = self.pos + at;
                self.pos = end + 1;
                if !escaped {
                    return Ok(Text::Input(start, end));
                }
                return Ok(match unescape(&self.input[start..end], &mut self.scratch) {
                    Some(()) => Text::Scratch,
                    None => Text::Invalid,
                });
            }
            escaped = true;
            self.pos += at + 2;
            if self.pos > self.input.len() {
                return Err(Stop::End);
            }
        }
    }

    fn text(&self, text: Text) -> Option<&str> {
        match text {
            Text::Input(start, end) => std::str::from_utf8(&self.input[start..end]).ok(),
            Text::Scratch => Some(&self.scratch),
            Text::Invalid => None,
        }
    }

    /// Reads a number; `true` when it is an integer (no fraction, no exponent).
    fn number(&mut self) -> Result<bool, Stop> {
        let input = self.input;
        let digits = |pos: &mut usize| {
            let start = *pos;
            while input.get(*pos).is_some_and(u8::is_ascii_digit) {
                *pos += 1;
            }
            *pos - start
        };
        let mut pos = self.pos;
        if input[pos] == b'-' {
            pos += 1;
        }
        let mut integer = true;
        let mut ok = digits(&mut pos) > 0;
        if ok && input.get(pos) == Some(&b'.') {
            pos += 1;
            integer = false;
            ok = digits(&mut pos) > 0;
        }
        if ok && matches!(input.get(pos), Some(b'e' | b'E')) {
            pos += 1;
            integer = false;
            if matches!(input.get(pos), Some(b'+' | b'-')) {
                pos += 1;
            }
            ok = digits(&mut pos) > 0;
        }
        self.pos = pos;
        if pos >= input.len() && !self.whole {
            // It may have gone on.
            return Err(Stop::End);
        }
        if ok { Ok(integer) } else { Err(Stop::Invalid) }
    }

    fn literal(&mut self, literal: &[u8]) -> Step {
        let rest = &self.input[self.pos..];
        if rest.starts_with(literal) {
            self.pos += literal.len();
            Ok(())
        } else if literal.starts_with(rest) {
            Err(Stop::End)
        } else {
            Err(Stop::Invalid)
        }
    }

    /// Skips one value without recording it.
    fn skip_value(&mut self) -> Step {
        self.skip_whitespace();
        match self.peek().ok_or(Stop::End)? {
            b'{' | b'[' => {
                self.pos += 1;
                self.skip_nested()
            }
            b'"' => {
                self.pos += 1;
                self.string().map(|_| ())
            }
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'-' | b'0'..=b'9' => self.number().map(|_| ()),
            _ => Err(Stop::Invalid),
        }
    }

    /// Skips to the bracket that closes the one just read, counting brackets and stepping over
    /// strings; no recursion.
    fn skip_nested(&mut self) -> Step {
        let mut depth = 1usize;
        while depth > 0 {
            let byte = self.peek().ok_or(Stop::End)?;
            self.pos += 1;
            match byte {
                b'"' => {
                    self.string()?;
                }
                b'{' | b'[' => depth += 1,
                b'}' | b']' => depth -= 1,
                _ => {}
            }
        }
        Ok(())
    }
}

/// The shape that the value of `key` goes into: the map values once the object is a map, the
/// field's shape otherwise (created if the budget allows), or `None` to skip the value. Turns the
/// object into a map when the key is not text, is too long, or is one key too many.
fn slot<'o>(
    object: &'o mut ObjectShape,
    key: Option<&str>,
    limits: &SummaryLimits,
    budget: &mut usize,
    reshaped: &mut bool,
) -> Option<&'o mut Shape> {
    if object.map.is_none() {
        let becomes_map = match key {
            None => true,
            Some(k) => {
                k.len() > limits.max_key_len
                    || (object.fields.len() >= limits.max_fields && !object.fields.contains_key(k))
            }
        };
        if becomes_map {
            object.become_map(limits);
            *reshaped = true;
        }
    }
    if let Some(values) = object.map.as_deref_mut() {
        return Some(values);
    }
    let field = object.fields.find_or_insert(key?, || {
        let room = *budget > 0;
        *budget = budget.saturating_sub(1);
        room
    });
    match field {
        Some(field) => {
            field.seen = true;
            Some(&mut field.shape)
        }
        None => {
            object.trimmed = true;
            None
        }
    }
}

/// Decodes the escapes of a JSON string's content into `out`; `None` when one is invalid or the
/// result is not UTF-8.
fn unescape(raw: &[u8], out: &mut String) -> Option<()> {
    out.clear();
    let mut bytes: Vec<u8> = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        if b != b'\\' {
            bytes.push(b);
            i += 1;
            continue;
        }
        let escape = *raw.get(i + 1)?;
        i += 2;
        let decoded = match escape {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let high = hex4(raw.get(i..i + 4)?)?;
                i += 4;
                if (0xD800..0xDC00).contains(&high) {
                    if raw.get(i..i + 2)? != b"\\u" {
                        return None;
                    }
                    let low = hex4(raw.get(i + 2..i + 6)?)?;
                    if !(0xDC00..0xE000).contains(&low) {
                        return None;
                    }
                    i += 6;
                    char::from_u32(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))?
                } else {
                    char::from_u32(high)?
                }
            }
            _ => return None,
        };
        let mut buf = [0u8; 4];
        bytes.extend_from_slice(decoded.encode_utf8(&mut buf).as_bytes());
    }
    out.push_str(std::str::from_utf8(&bytes).ok()?);
    Some(())
}

fn hex4(digits: &[u8]) -> Option<u32> {
    digits.iter().try_fold(0u32, |n, d| {
        let v = (*d as char).to_digit(16)?;
        Some(n * 16 + v)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescaping() {
        let mut out = String::new();
        let cases: &[(&str, Option<&str>)] = &[
            (r"a\nb", Some("a\nb")),
            (r"caf\u00e9", Some("café")),
            (r"\ud83d\ude00", Some("😀")),
            (r"\ud83d", None),
            (r"\x", None),
            (r"\u12", None),
            (r#"\/\\\""#, Some("/\\\"")),
        ];
        for &(raw, expected) in cases {
            let got = unescape(raw.as_bytes(), &mut out).map(|()| out.clone());
            assert_eq!(got.as_deref(), expected, "{raw}");
        }
    }

    #[test]
    fn never_panics_on_prefixes() {
        let limits = SummaryLimits::default();
        let body =
            br#"{"a": [1, -2.5e+3, "x\"y\u00e9", {"b": null, "c": true}], "d": false, "e": {}}"#;
        for cut in 0..=body.len() {
            let mut shape = Shape::default();
            let walk = walk(&mut shape, &body[..cut], cut == body.len(), &limits, 100);
            assert_eq!(walk.complete, cut == body.len(), "{cut}");
        }
    }
}
