//! Query strings, form bodies and URLs in headers: the values of secret parameters.

use super::credentials::*;
use super::names::*;
use super::*;

impl Redactor {
    /// Verdict for a query (`form == false`) or form/multipart field name.
    /// Form fields are body data too, so the body field rules also apply.
    pub(super) fn param_verdict(&self, name: &Folded, form: bool) -> Verdict {
        let verdict = self.query.classify(name);
        if form {
            verdict.max(self.fields.classify(name))
        } else {
            verdict
        }
    }

    /// Redacts the `&`-separated parameters in `input[from..to]`.
    pub(super) fn params_into(
        &self,
        w: &mut Rewriter<'_>,
        input: &[u8],
        from: usize,
        to: usize,
        form: bool,
    ) {
        let mut start = from;
        while start < to {
            let end = memchr::memchr(b'&', &input[start..to]).map_or(to, |i| start + i);
            self.pair_into(w, input, start, end, form);
            start = end + 1;
        }
    }

    pub(super) fn pair_into(
        &self,
        w: &mut Rewriter<'_>,
        input: &[u8],
        start: usize,
        end: usize,
        form: bool,
    ) {
        let pair = &input[start..end];
        let Some(eq) = memchr::memchr(b'=', pair) else {
            // A bare token as a whole parameter: `?eyJ...`.
            if has_jwt(pair) {
                w.replace(start, end, REDACTED.as_bytes());
            }
            return;
        };
        let value_start = start + eq + 1;
        if value_start >= end {
            return;
        }
        let value = &input[value_start..end];
        let verdict = self.param_verdict(&Folded::percent_decoded(&pair[..eq]), form);
        if verdict.redacts_strings() || (verdict == Verdict::Plain && has_jwt(value)) {
            if value != REDACTED.as_bytes() {
                w.replace(value_start, end, REDACTED.as_bytes());
            }
            return;
        }
        if verdict == Verdict::Exempt {
            return;
        }
        // Some servers also split parameters on `;`: `a=1;password=x`.
        let mut seg = value_start;
        while let Some(semi) = memchr::memchr(b';', &input[seg..end]) {
            let seg_start = seg + semi + 1;
            let seg_end =
                memchr::memchr(b';', &input[seg_start..end]).map_or(end, |i| seg_start + i);
            if let Some(eq) = memchr::memchr(b'=', &input[seg_start..seg_end]) {
                let name = Folded::percent_decoded(&input[seg_start..seg_start + eq]);
                let value_start = seg_start + eq + 1;
                let value = &input[value_start.min(seg_end)..seg_end];
                if !value.is_empty()
                    && value != REDACTED.as_bytes()
                    && self.param_verdict(&name, form).redacts_strings()
                {
                    w.replace(value_start, seg_end, REDACTED.as_bytes());
                }
            }
            seg = seg_end;
        }
    }

    pub(super) fn redact_form(&self, body: &[u8]) -> Option<Vec<u8>> {
        let mut w = Rewriter::new(body);
        self.params_into(&mut w, body, 0, body.len(), true);
        w.finish()
    }

    /// Redacts the query and fragment parameters of a URL-valued header
    /// (`#access_token=` is how the OAuth implicit flow returns tokens), then
    /// the whole value if a JWT is still left (say in the path).
    pub(super) fn redact_url(&self, value: &str) -> Option<String> {
        let bytes = value.as_bytes();
        let hash = memchr::memchr(b'#', bytes);
        let question = memchr::memchr(b'?', &bytes[..hash.unwrap_or(bytes.len())]);
        let mut w = Rewriter::new(bytes);
        if let Some(q) = question {
            self.params_into(&mut w, bytes, q + 1, hash.unwrap_or(bytes.len()), false);
        }
        if let Some(h) = hash {
            self.params_into(&mut w, bytes, h + 1, bytes.len(), false);
        }
        let rewritten = w.finish_string();
        let current = rewritten.as_deref().unwrap_or(value);
        if has_jwt(current.as_bytes()) {
            return Some(REDACTED.to_owned());
        }
        rewritten
    }
}
