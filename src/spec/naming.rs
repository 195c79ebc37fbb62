//! Names made from paths and keys: operation ids, component names, security scheme names.

/// Lower-case ASCII words of an identifier-like text: `payment_intents` → `payment`, `intents`;
/// `IncomingPhoneNumbers` → `incoming`, `phone`, `numbers`; `HTTPServer` → `http`, `server`.
pub(crate) fn words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let chars: Vec<char> = text.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_ascii_alphanumeric() {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            continue;
        }
        let prev = i.checked_sub(1).map(|j| chars[j]);
        let next = chars.get(i + 1).copied();
        let boundary = prev.is_some_and(|p| {
            (p.is_ascii_lowercase() && c.is_ascii_uppercase())
                || (p.is_ascii_uppercase()
                    && c.is_ascii_uppercase()
                    && next.is_some_and(|n| n.is_ascii_lowercase()))
        });
        if boundary && !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
        current.push(c.to_ascii_lowercase());
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

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

/// A simple English singular: `categories` → `category`, `addresses` → `address`, `users` →
/// `user`; `status`, `analysis`, `news` stay.
pub(crate) fn singular(word: &str) -> String {
    let lower = word.to_ascii_lowercase();
    if lower.len() > 4
        && let Some(stem) = word.strip_suffix("ies")
    {
        return format!("{stem}y");
    }
    for suffix in ["sses", "xes", "ches", "shes", "zzes", "uses"] {
        if lower.ends_with(suffix) {
            return word[..word.len() - 2].to_owned();
        }
    }
    if lower.len() > 3
        && lower.ends_with('s')
        && !lower.ends_with("ss")
        && !lower.ends_with("us")
        && !lower.ends_with("is")
        && !lower.ends_with("ews")
    {
        return word[..word.len() - 1].to_owned();
    }
    word.to_owned()
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
