//! Byte sizes as people write them in the configuration file and the environment: a plain number
//! of bytes (`8388608`) or a number with a unit (`8MiB`, `64 MB`, `1.5GiB`).

use serde::{Deserialize, Deserializer};

/// Deserializes a byte size given as an integer or as text with a unit.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<usize, D::Error> {
    let size = bytesize::ByteSize::deserialize(deserializer)?;
    usize::try_from(size.as_u64()).map_err(|_| serde::de::Error::custom("the size is too large"))
}

/// Parses a byte size from the command line or the environment (`8MiB`, `8388608`).
pub fn parse(text: &str) -> Result<usize, String> {
    let size: bytesize::ByteSize = text.trim().parse().map_err(|e: String| {
        format!("`{text}` is not a size: write bytes (8388608) or a number with a unit (8MiB): {e}")
    })?;
    usize::try_from(size.as_u64()).map_err(|_| format!("`{text}` is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Sized {
        #[serde(deserialize_with = "deserialize")]
        size: usize,
    }

    #[test]
    fn numbers_and_units() {
        for (text, bytes) in [
            ("8388608", 8 * 1024 * 1024),
            ("8MiB", 8 * 1024 * 1024),
            ("8 MiB", 8 * 1024 * 1024),
            ("64MB", 64_000_000),
            ("1KiB", 1024),
        ] {
            assert_eq!(parse(text), Ok(bytes), "{text}");
        }
        assert!(parse("eight").is_err());
        assert!(parse("8 parsecs").is_err());
        let sized: Sized = serde_json::from_str(r#"{"size": "2KiB"}"#).unwrap();
        assert_eq!(sized.size, 2048);
        let sized: Sized = serde_json::from_str(r#"{"size": 4096}"#).unwrap();
        assert_eq!(sized.size, 4096);
        assert!(serde_json::from_str::<Sized>(r#"{"size": "lots"}"#).is_err());
    }
}
