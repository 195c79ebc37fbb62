//! Names made from paths and keys: operation ids, component names, security scheme names.

use crate::model::template::split_words as words;

fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(c) => c.to_ascii_uppercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

/// `x-api-key` → `XApiKey`.
pub(crate) fn pascal_case(text: &str) -> String {
    words(text).iter().map(|w| capitalize(w)).collect()
}

/// `x-api-key` → `xApiKey`.
pub(crate) fn camel_case(text: &str) -> String {
    let words = words(text);
    let mut out = String::new();
    for (i, word) in words.iter().enumerate() {
        if i == 0 {
            out.push_str(word);
        } else {
            out.push_str(&capitalize(word));
        }
    }
    out
}

/// A simple English singular of a lower-case word: `categories` → `category`, `addresses` →
/// `address`, `users` → `user`; `status`, `analysis`, `news` stay.
pub(crate) fn singular(word: &str) -> String {
    if word.ends_with("ews") {
        return word.to_owned();
    }
    crate::model::template::singular(word)
}

/// A component name from a text: the PascalCase of its singular, made only of the characters
/// OpenAPI allows in component names; `None` when nothing is left.
pub(crate) fn type_name(text: &str) -> Option<String> {
    let words = words(text);
    let (last, rest) = words.split_last()?;
    let mut name: String = rest.iter().map(|w| capitalize(w)).collect();
    name.push_str(&capitalize(&singular(last)));
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert(0, 'T');
    }
    Some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cases() {
        assert_eq!(camel_case("x-api-key"), "xApiKey");
        assert_eq!(camel_case("connect.sid"), "connectSid");
        assert_eq!(pascal_case("payment_intents"), "PaymentIntents");
        assert_eq!(pascal_case("IncomingPhoneNumbers"), "IncomingPhoneNumbers");
        assert_eq!(singular("categories"), "category");
        assert_eq!(singular("addresses"), "address");
        assert_eq!(singular("status"), "status");
        assert_eq!(singular("users"), "user");
        assert_eq!(type_name("line_items").as_deref(), Some("LineItem"));
        assert_eq!(type_name("2fa").as_deref(), Some("T2fa"));
        assert_eq!(type_name("--"), None);
    }
}
