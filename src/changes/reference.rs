//! Reading an uploaded reference spec: OpenAPI 3.0 (checked with `openapiv3`) or 3.1 (checked
//! with `oas3`), as JSON or YAML. A document that does not read gives an error naming where.

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::surface::hex;
use crate::model::template::Template;

/// A reference spec that read and validated.
#[derive(Debug, Clone)]
pub struct Reference {
    /// The document, as JSON.
    pub document: Value,
    /// Its `openapi` field.
    pub openapi: String,
    /// SHA-256 (hex) of the uploaded bytes.
    pub sha256: String,
}

/// Why an upload was refused; the message names the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ReferenceError(pub String);

fn refuse(message: impl Into<String>) -> ReferenceError {
    ReferenceError(message.into())
}

/// Reads and validates an upload.
pub fn parse(bytes: &[u8]) -> Result<Reference, ReferenceError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| refuse(format!("the document is not UTF-8 text: {e}")))?;
    let text = text.trim_start_matches('\u{feff}');
    if text.trim().is_empty() {
        return Err(refuse("the document is empty"));
    }
    let document: Value = if text.trim_start().starts_with('{') {
        serde_json::from_str(text)
            .map_err(|e| refuse(format!("the document is not valid JSON: {e}")))?
    } else {
        serde_yaml_ng::from_str(text)
            .map_err(|e| refuse(format!("the document is neither JSON nor valid YAML: {e}")))?
    };
    let Some(object) = document.as_object() else {
        return Err(refuse("the document is not an object"));
    };
    let openapi = match object.get("openapi") {
        Some(Value::String(version)) => version.clone(),
        Some(_) => return Err(refuse("`openapi` must be a string such as \"3.1.0\"")),
        None if object.contains_key("swagger") => {
            return Err(refuse(
                "Swagger 2.0 is not supported: convert the document to OpenAPI 3.0 or 3.1",
            ));
        }
        None => return Err(refuse("the document has no `openapi` version field")),
    };
    let checked = if openapi.starts_with("3.0.") {
        serde_path_to_error::deserialize::<_, openapiv3::OpenAPI>(&document).map(drop)
    } else if openapi.starts_with("3.1.") {
        serde_path_to_error::deserialize::<_, oas3::Spec>(&document).map(drop)
    } else {
        return Err(refuse(format!(
            "OpenAPI {openapi} is not supported: expected 3.0.x or 3.1.x"
        )));
    };
    checked.map_err(|e| {
        let at = e.path().to_string();
        let at = if at == "." {
            "the top level".to_owned()
        } else {
            format!("`{at}`")
        };
        refuse(format!(
            "not a valid OpenAPI {openapi} document at {at}: {}",
            e.inner()
        ))
    })?;
    let paths = object.get("paths").and_then(Value::as_object);
    if paths.is_none_or(|p| p.is_empty()) {
        return Err(refuse(
            "the document has no `paths`: there is nothing to compare",
        ));
    }
    for path in paths.into_iter().flat_map(|p| p.keys()) {
        if !path.starts_with('/') {
            return Err(refuse(format!("path `{path}` does not start with `/`")));
        }
        if Template::parse(path).is_none() {
            return Err(refuse(format!(
                "path `{path}` is not a valid path template"
            )));
        }
    }
    Ok(Reference {
        document,
        openapi,
        sha256: hex(&Sha256::digest(bytes)),
    })
}

/// The path templates of a reference that have parameters: discovery rules for its host.
pub fn templates(document: &Value) -> Vec<Template> {
    let mut templates: Vec<Template> = document
        .get("paths")
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|paths| paths.keys())
        .filter(|path| path.contains('{'))
        .filter_map(|path| Template::parse(path))
        .collect();
    templates.sort_by_key(|t| t.annotated());
    templates.dedup_by_key(|t| t.annotated());
    templates
}

#[cfg(test)]
mod tests {
    use super::*;

    const YAML_30: &str = "openapi: 3.0.3
info: {title: Shop, version: '1'}
paths:
  /users/{id}:
    get:
      parameters: [{name: id, in: path, required: true, schema: {type: integer}}]
      responses:
        '200': {description: ok}
  /health:
    get:
      responses:
        '200': {description: ok}
";

    #[test]
    fn reads_3_0_yaml_and_3_1_json() {
        let reference = parse(YAML_30.as_bytes()).unwrap();
        assert_eq!(reference.openapi, "3.0.3");
        assert_eq!(reference.sha256, hex(&Sha256::digest(YAML_30.as_bytes())));
        let templates: Vec<String> = templates(&reference.document)
            .iter()
            .map(|t| t.as_str().to_owned())
            .collect();
        assert_eq!(templates, vec!["/users/{id}"]);

        let json = r#"{"openapi": "3.1.0", "info": {"title": "Shop", "version": "1"},
            "paths": {"/orders": {"post": {"responses": {"201": {"description": "made"}}}}}}"#;
        assert_eq!(parse(json.as_bytes()).unwrap().openapi, "3.1.0");
    }

    #[test]
    fn refuses_what_is_not_a_usable_document_and_says_why() {
        let cases: &[(&[u8], &str)] = &[
            (b"", "empty"),
            (b"   \n", "empty"),
            (b"\xff\xfe", "not UTF-8"),
            (b"{\"openapi\": ", "not valid JSON"),
            (b"key: [unclosed", "valid YAML"),
            (b"[1, 2]", "not an object"),
            (b"- a\n- b\n", "not an object"),
            (b"{\"swagger\": \"2.0\"}", "Swagger 2.0"),
            (b"{\"info\": {}}", "no `openapi`"),
            (b"{\"openapi\": 3.1}", "must be a string"),
            (b"{\"openapi\": \"4.0.0\"}", "4.0.0 is not supported"),
            (
                b"{\"openapi\": \"3.1.0\", \"info\": {\"title\": \"x\"}, \"paths\": {}}",
                "at `info",
            ),
            (
                b"{\"openapi\": \"3.0.0\", \"info\": {\"title\": \"x\", \"version\": \"1\"}, \"paths\": {\"/a\": {\"get\": {\"responses\": 7}}}}",
                "at `paths`: invalid type: integer `7`, expected struct Responses",
            ),
            (
                b"{\"openapi\": \"3.1.0\", \"info\": {\"title\": \"x\", \"version\": \"1\"}, \"paths\": {}}",
                "no `paths`",
            ),
            (
                b"{\"openapi\": \"3.1.0\", \"info\": {\"title\": \"x\", \"version\": \"1\"}, \"paths\": {\"users\": {}}}",
                "does not start with `/`",
            ),
        ];
        for (body, expected) in cases {
            let error = parse(body).expect_err(expected);
            assert!(
                error.0.contains(expected),
                "{:?}: {error}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn yaml_alias_bombs_are_refused_not_expanded() {
        let mut bomb = String::from("openapi: 3.1.0\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let prev = i - 1;
            bomb.push_str(&format!(
                "a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"
            ));
        }
        assert!(parse(bomb.as_bytes()).is_err());
    }
}
