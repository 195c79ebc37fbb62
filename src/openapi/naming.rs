//! Names made from paths and keys: operation ids, operation summaries, component names,
//! security scheme names.

use crate::model::segment::percent_decode;
use crate::model::template::{Segment, Template, is_version_prefix_member, split_words as words};

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

/// Plurals the suffix rules get wrong, with their singular. Matched on the whole word, except
/// the ones in [`IRREGULAR_ENDINGS`].
const IRREGULAR: &[(&str, &str)] = &[
    ("people", "person"),
    ("children", "child"),
    ("men", "man"),
    ("women", "woman"),
    ("mice", "mouse"),
    ("geese", "goose"),
    ("feet", "foot"),
    ("teeth", "tooth"),
    ("indices", "index"),
    ("vertices", "vertex"),
    ("matrices", "matrix"),
    ("appendices", "appendix"),
    ("analyses", "analysis"),
    ("theses", "thesis"),
    ("crises", "crisis"),
    ("diagnoses", "diagnosis"),
    ("hypotheses", "hypothesis"),
    ("criteria", "criterion"),
    ("phenomena", "phenomenon"),
    ("leaves", "leaf"),
    ("knives", "knife"),
    ("lives", "life"),
    ("wives", "wife"),
    ("wolves", "wolf"),
    ("halves", "half"),
    ("shelves", "shelf"),
    ("movies", "movie"),
    ("cookies", "cookie"),
    ("zombies", "zombie"),
    ("caches", "cache"),
    ("niches", "niche"),
    ("aliases", "alias"),
    ("courses", "course"),
    ("houses", "house"),
    ("causes", "cause"),
    ("clauses", "clause"),
    ("pauses", "pause"),
];

/// Irregular plurals also matched at the end of a longer word (`salespeople`, `warehouses`).
const IRREGULAR_ENDINGS: &[&str] = &["people", "children", "houses", "courses"];

/// Words that are their own singular although the suffix rules would cut them.
const UNCHANGED: &[&str] = &[
    "news",
    "series",
    "species",
    "status",
    "stats",
    "analytics",
    "statistics",
    "physics",
    "always",
];

/// Plurals that are their own singular: a collection all the same (`GET /news` lists news).
const PLURAL_UNCHANGED: &[&str] = &["news", "series", "species", "sheep", "deer", "fish"];

/// A simple English singular of a lower-case word: `categories` → `category`, `addresses` →
/// `address`, `users` → `user`, `people` → `person`, `warehouses` → `warehouse`; `status`,
/// `analysis`, `news`, `series` stay.
pub(crate) fn singular(word: &str) -> String {
    if word.ends_with("ews") || UNCHANGED.contains(&word) {
        return word.to_owned();
    }
    for &(plural, one) in IRREGULAR {
        if word == plural {
            return one.to_owned();
        }
        if IRREGULAR_ENDINGS.contains(&plural)
            && let Some(stem) = word.strip_suffix(plural)
        {
            return format!("{stem}{one}");
        }
    }
    crate::model::template::singular(word)
}

/// Whether a lower-case word names many: it has a singular of its own, or is one of the plurals
/// that do not change.
fn is_plural(word: &str) -> bool {
    PLURAL_UNCHANGED.contains(&word) || singular(word) != word
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

/// Verbs that, as the last segment of a path, name an action on what precedes it:
/// `POST /orders/{orderId}/cancel` is `Cancel order`, `POST /products/search` is `Search products`.
const ACTIONS: &[&str] = &[
    "accept",
    "activate",
    "approve",
    "archive",
    "assign",
    "authorize",
    "cancel",
    "capture",
    "charge",
    "checkout",
    "clone",
    "close",
    "complete",
    "confirm",
    "copy",
    "deactivate",
    "decline",
    "disable",
    "download",
    "enable",
    "execute",
    "export",
    "finalize",
    "follow",
    "import",
    "invite",
    "lock",
    "merge",
    "move",
    "open",
    "pause",
    "publish",
    "refund",
    "reject",
    "reopen",
    "resend",
    "reset",
    "restore",
    "resume",
    "retry",
    "revoke",
    "run",
    "search",
    "send",
    "share",
    "start",
    "stop",
    "submit",
    "subscribe",
    "sync",
    "trigger",
    "unarchive",
    "unfollow",
    "unlock",
    "unpublish",
    "unsubscribe",
    "upload",
    "validate",
    "verify",
    "void",
];

/// Actions that need no object: `POST /auth/login` is `Log in`.
const BARE_ACTIONS: &[(&str, &str)] = &[
    ("login", "Log in"),
    ("logout", "Log out"),
    ("signin", "Sign in"),
    ("signout", "Sign out"),
    ("signup", "Sign up"),
    ("register", "Register"),
    ("ping", "Ping"),
    ("health", "Check health"),
    ("healthz", "Check health"),
];

/// Segments that stand for the caller: `/me`, `/users/me/orders`.
const SELF: &[&str] = &["me", "self"];

/// Longest summary written, in bytes; a longer one is cut at a word.
const MAX_SUMMARY: usize = 100;

/// One segment of a path, as a summary reads it.
#[derive(Debug)]
enum Part {
    /// A literal: its lower-case words (extension dropped).
    Words(Vec<String>),
    /// A parameter: its name.
    Param(String),
}

/// A short summary of an operation, from its method and path, in the way people write them:
/// `GET /orders` → `List orders`, `GET /orders/{orderId}` → `Get order`, `POST /orders` →
/// `Create order`, `PATCH /orders/{orderId}` → `Update order`, `DELETE /orders/{orderId}` →
/// `Delete order`, `GET /orders/{orderId}/items` → `Get order items`,
/// `POST /orders/{orderId}/cancel` → `Cancel order`. `api` and version segments are skipped;
/// only the nearest parent resource is named.
pub(crate) fn operation_summary(method: &str, template: &Template) -> String {
    let parts = summary_parts(template);
    let text = summary_text(&method.to_ascii_lowercase(), &parts);
    let mut text = capitalize(&text);
    if text.len() > MAX_SUMMARY {
        let mut cut = MAX_SUMMARY;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        cut = text[..cut].rfind(' ').unwrap_or(cut);
        text.truncate(cut);
    }
    text
}

fn summary_parts(template: &Template) -> Vec<Part> {
    let mut parts = Vec::new();
    for segment in template.segments() {
        match segment {
            Segment::Literal(text) if is_version_prefix_member(text) => {}
            Segment::Literal(text) => {
                let decoded = percent_decode(text);
                let stem = match decoded.rsplit_once('.') {
                    Some((stem, ext)) if !stem.is_empty() && ext.len() <= 5 => stem,
                    _ => &decoded,
                };
                let words = summary_words(stem);
                if !words.is_empty() {
                    parts.push(Part::Words(words));
                }
            }
            Segment::Param { index, .. } => {
                let name = template
                    .params()
                    .get(*index)
                    .map_or_else(String::new, |p| p.name.clone());
                parts.push(Part::Param(name));
            }
        }
    }
    parts
}

/// The lower-case words of a literal: ASCII runs split at case changes (`paymentIntents` →
/// `payment`, `intents`), other letters kept as they are (`cafés`).
fn summary_words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|chunk| !chunk.is_empty())
        .flat_map(|chunk| {
            if chunk.is_ascii() {
                words(chunk)
            } else {
                vec![chunk.to_lowercase()]
            }
        })
        .collect()
}

/// The thing a parameter stands for, from its name: `userId` → `user`; `item` when the name says
/// nothing more.
fn param_noun(name: &str) -> Vec<String> {
    let mut words = words(name);
    while words
        .last()
        .is_some_and(|w| matches!(w.as_str(), "id" | "uuid" | "key" | "slug" | "name" | "ref"))
    {
        words.pop();
    }
    if words.is_empty() {
        vec!["item".to_owned()]
    } else {
        words
    }
}

/// `words` with the last one made singular.
fn singular_phrase(words: &[String]) -> Vec<String> {
    let mut out = words.to_vec();
    if let Some(last) = out.last_mut() {
        *last = singular(last);
    }
    out
}

fn summary_text(method: &str, parts: &[Part]) -> String {
    let found = parts.iter().enumerate().rev().find_map(|(i, p)| match p {
        Part::Words(words) => Some((i, words)),
        Part::Param(_) => None,
    });
    let Some((last, resource)) = found else {
        // Only parameters, or nothing at all.
        return match parts.last() {
            Some(Part::Param(name)) => {
                verb_phrase(method, &param_noun(name).join(" "), true, false)
            }
            _ => verb_phrase(method, "root", false, false),
        };
    };
    let item = last + 1 < parts.len();
    let single = resource.len() == 1 && !item;
    let word = resource[0].as_str();

    if single && let Some((_, phrase)) = BARE_ACTIONS.iter().find(|(w, _)| *w == word) {
        return (*phrase).to_owned();
    }
    if single && SELF.contains(&word) {
        return verb_phrase(method, "current user", true, false);
    }

    // The nearest literal followed by a parameter (the parent), and the literals between it and
    // the resource (qualifiers).
    let before = &parts[..last];
    let parent = (0..before.len()).rev().find(|&i| {
        matches!(before[i], Part::Words(_)) && matches!(before.get(i + 1), Some(Part::Param(_)))
    });
    let mut phrase: Vec<String> = Vec::new();
    if let Some(p) = parent
        && let Part::Words(words) = &before[p]
    {
        phrase.extend(singular_phrase(words));
    }
    let mut nested = parent.is_some();
    for part in &before[parent.map_or(0, |p| p + 2)..] {
        if let Part::Words(words) = part {
            if words.len() == 1 && SELF.contains(&words[0].as_str()) {
                phrase.clear();
                phrase.push("my".to_owned());
                nested = false;
            } else {
                phrase.extend(words.iter().cloned());
            }
        }
    }

    if single && ACTIONS.contains(&word) {
        if phrase.is_empty() {
            return word.to_owned();
        }
        return format!("{word} {}", phrase.join(" "));
    }

    let plural = !item && resource.last().is_some_and(|w| is_plural(w));
    if item || method == "post" {
        phrase.extend(singular_phrase(resource));
    } else {
        phrase.extend(resource.iter().cloned());
    }
    let list = plural && !nested && method == "get";
    verb_phrase(method, &phrase.join(" "), item, list)
}

/// The verb for a method on a phrase: `item` when the path ends in a parameter, `list` when a GET
/// reads a top-level collection.
fn verb_phrase(method: &str, phrase: &str, item: bool, list: bool) -> String {
    match method {
        "get" if list => format!("list {phrase}"),
        "get" => format!("get {phrase}"),
        "post" if item => format!("update {phrase}"),
        "post" => format!("create {phrase}"),
        "put" | "patch" => format!("update {phrase}"),
        "delete" => format!("delete {phrase}"),
        "head" => format!("check {phrase}"),
        "options" => format!("get {phrase} options"),
        other => format!("{other} {phrase}"),
    }
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

    #[test]
    fn singulars() {
        let cases = [
            ("orders", "order"),
            ("categories", "category"),
            ("boxes", "box"),
            ("people", "person"),
            ("salespeople", "salesperson"),
            ("children", "child"),
            ("women", "woman"),
            ("indices", "index"),
            ("analyses", "analysis"),
            ("criteria", "criterion"),
            ("leaves", "leaf"),
            ("movies", "movie"),
            ("caches", "cache"),
            ("warehouses", "warehouse"),
            ("aliases", "alias"),
            ("statuses", "status"),
            ("status", "status"),
            ("series", "series"),
            ("news", "news"),
            ("data", "data"),
        ];
        for (plural, one) in cases {
            assert_eq!(singular(plural), one, "{plural}");
        }
    }

    #[test]
    fn operation_summaries() {
        let cases = [
            ("GET", "/orders", "List orders"),
            ("GET", "/orders/{orderId}", "Get order"),
            ("POST", "/orders", "Create order"),
            ("PUT", "/orders/{orderId}", "Update order"),
            ("PATCH", "/orders/{orderId}", "Update order"),
            ("DELETE", "/orders/{orderId}", "Delete order"),
            ("DELETE", "/orders", "Delete orders"),
            ("GET", "/orders/{orderId}/items", "Get order items"),
            ("POST", "/orders/{orderId}/items", "Create order item"),
            ("GET", "/orders/{orderId}/items/{itemId}", "Get order item"),
            ("HEAD", "/orders/{orderId}", "Check order"),
            ("OPTIONS", "/orders", "Get orders options"),
            ("TRACE", "/orders", "Trace orders"),
            ("POST", "/customers/{customerId}", "Update customer"),
            // Versions and `api` are skipped, wherever they are.
            ("GET", "/api/v2/orders", "List orders"),
            ("GET", "/v1/users/{userId}/orders", "Get user orders"),
            ("GET", "/2024-01-01/orders/{orderId}", "Get order"),
            // Irregular plurals.
            ("GET", "/people", "List people"),
            ("GET", "/people/{personId}", "Get person"),
            ("POST", "/people/{personId}/children", "Create person child"),
            ("GET", "/categories/{categoryId}", "Get category"),
            ("GET", "/indices/{name}", "Get index"),
            (
                "GET",
                "/warehouses/{warehouseId}/addresses",
                "Get warehouse addresses",
            ),
            ("GET", "/news", "List news"),
            ("GET", "/status", "Get status"),
            ("GET", "/settings", "List settings"),
            ("PUT", "/settings", "Update settings"),
            ("GET", "/profile", "Get profile"),
            // Only the nearest parent is named; literals between it and the resource qualify.
            (
                "GET",
                "/users/{userId}/orders/{orderId}/items",
                "Get order items",
            ),
            ("GET", "/users/{userId}/admin/roles", "Get user admin roles"),
            ("GET", "/admin/users", "List admin users"),
            // Words of camelCase, snake_case and kebab-case literals; extensions dropped.
            ("GET", "/payment_intents", "List payment intents"),
            ("POST", "/paymentIntents", "Create payment intent"),
            ("GET", "/line-items/{lineItemId}", "Get line item"),
            ("GET", "/users.json", "List users"),
            ("GET", "/users/{userId}.json", "Get user"),
            // Actions.
            ("POST", "/orders/{orderId}/cancel", "Cancel order"),
            ("POST", "/products/search", "Search products"),
            ("GET", "/search", "Search"),
            ("POST", "/auth/login", "Log in"),
            ("POST", "/logout", "Log out"),
            ("GET", "/health", "Check health"),
            // The caller.
            ("GET", "/me", "Get current user"),
            ("PATCH", "/users/me", "Update current user"),
            ("GET", "/users/me/orders", "List my orders"),
            // Parameters only, and the root.
            ("GET", "/{userId}", "Get user"),
            ("DELETE", "/{id}", "Delete item"),
            ("GET", "/", "Get root"),
            ("GET", "/{tenant}/orders", "List orders"),
            ("GET", "/files/{a}/{b}", "Get file"),
            // Hostile text: no words, non-ASCII, very long.
            ("GET", "/%E2%9C%93", "Get root"),
            ("GET", "/caf%C3%A9s", "List cafés"),
            ("GET", "/%C3%89V%C3%89NEMENTS/{id}", "Get événement"),
        ];
        for (method, path, expected) in cases {
            let template = Template::parse(path).unwrap_or_else(|| panic!("{path}"));
            assert_eq!(
                operation_summary(method, &template),
                expected,
                "{method} {path}"
            );
        }
        let long = format!("/{}", "word-".repeat(100));
        let summary = operation_summary("GET", &Template::parse(&long).unwrap());
        assert!(summary.len() <= MAX_SUMMARY, "{summary}");
        assert!(summary.starts_with("Get word word"), "{summary}");
        assert!(!summary.ends_with(' '), "{summary}");
    }
}
