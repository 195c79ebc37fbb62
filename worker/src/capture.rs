//! A bounded copy of a body, filled chunk by chunk as the stream is read.
//!
//! The Worker reads its copy of a body (one branch of a tee) while the other branch goes to the
//! client or the origin. Reading stops as soon as the copy is full and one more byte has been
//! seen, so a 2 GB download costs at most `limit` bytes of memory and the rest is never pulled
//! for the copy.

/// The first `limit` bytes of a body, and whether there was more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapturedBody {
    bytes: Vec<u8>,
    limit: usize,
    truncated: bool,
}

impl CapturedBody {
    /// An empty copy that keeps at most `limit` bytes.
    pub fn new(limit: usize) -> Self {
        Self {
            bytes: Vec::new(),
            limit,
            truncated: false,
        }
    }

    /// A copy of a body that is already complete in memory.
    pub fn from_bytes(limit: usize, body: &[u8]) -> Self {
        let mut captured = Self::new(limit);
        let keep = captured.admit(body.len());
        captured.keep(&body[..keep]);
        captured
    }

    /// How many bytes of the next chunk, `chunk_len` bytes long, to copy. When that is fewer
    /// than the chunk, the body is marked truncated: nothing further is wanted.
    pub fn admit(&mut self, chunk_len: usize) -> usize {
        let room = self.limit.saturating_sub(self.bytes.len());
        if chunk_len > room {
            self.truncated = true;
        }
        chunk_len.min(room)
    }

    /// Appends bytes admitted by [`CapturedBody::admit`]; anything beyond the limit is dropped
    /// and marks the body truncated.
    pub fn keep(&mut self, bytes: &[u8]) {
        let room = self.limit.saturating_sub(self.bytes.len());
        if bytes.len() > room {
            self.truncated = true;
        }
        self.bytes
            .extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    /// Whether reading should go on: false once a byte beyond the limit has been seen.
    pub fn wants_more(&self) -> bool {
        !self.truncated
    }

    /// The bytes kept.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Whether the body was longer than the limit.
    pub fn is_truncated(&self) -> bool {
        self.truncated
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `body` in chunks of `size` the way the stream reader does.
    fn feed(limit: usize, body: &[u8], size: usize) -> (CapturedBody, usize) {
        let mut captured = CapturedBody::new(limit);
        let mut chunks_read = 0;
        for chunk in body.chunks(size.max(1)) {
            chunks_read += 1;
            let keep = captured.admit(chunk.len());
            captured.keep(&chunk[..keep]);
            if !captured.wants_more() {
                break;
            }
        }
        (captured, chunks_read)
    }

    #[test]
    fn keeps_everything_up_to_the_limit() {
        let body: Vec<u8> = (0..=255).cycle().take(1000).collect();
        for size in [1, 7, 100, 999, 1000, 4096] {
            let (c, _) = feed(1000, &body, size);
            assert_eq!(c.bytes(), &body[..], "chunk {size}");
            assert!(!c.is_truncated(), "chunk {size}");
            let (c, _) = feed(5000, &body, size);
            assert_eq!(c.bytes(), &body[..]);
            assert!(!c.is_truncated());
        }
    }

    #[test]
    fn cuts_at_the_limit_and_stops_reading() {
        let body: Vec<u8> = (0..=255).cycle().take(10_000).collect();
        for size in [1, 7, 100, 999, 1000, 4096, 20_000] {
            let (c, chunks_read) = feed(1000, &body, size);
            assert_eq!(c.bytes(), &body[..1000], "chunk {size}");
            assert!(c.is_truncated(), "chunk {size}");
            // Never more than one chunk past the one that filled the copy.
            assert!(
                chunks_read <= 1000 / size + 2,
                "chunk {size}: {chunks_read}"
            );
        }
    }

    #[test]
    fn exactly_full_is_not_truncated_until_more_arrives() {
        let mut c = CapturedBody::new(4);
        assert_eq!(c.admit(4), 4);
        c.keep(b"abcd");
        assert!(c.wants_more());
        assert!(!c.is_truncated());
        assert_eq!(c.admit(0), 0);
        assert!(!c.is_truncated());
        assert_eq!(c.admit(1), 0);
        assert!(c.is_truncated());
        assert!(!c.wants_more());
        assert_eq!(c.bytes(), b"abcd");
    }

    #[test]
    fn zero_limit_keeps_nothing_but_notices_a_body() {
        let (c, _) = feed(0, b"", 10);
        assert!(!c.is_truncated());
        let (c, _) = feed(0, b"x", 10);
        assert!(c.is_truncated());
        assert!(c.bytes().is_empty());
    }

    #[test]
    fn keep_never_exceeds_the_limit() {
        let mut c = CapturedBody::new(3);
        c.keep(b"abcdef");
        assert_eq!(c.bytes(), b"abc");
        assert!(c.is_truncated());
        assert_eq!(CapturedBody::from_bytes(2, b"xyz"), {
            let mut c = CapturedBody::new(2);
            c.keep(b"xy");
            c.admit(1);
            c
        });
        assert!(!CapturedBody::from_bytes(3, b"xyz").is_truncated());
    }
}
