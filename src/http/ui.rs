//! The web inventory at `/ui/`: a small static front end, embedded in the binary, that calls the
//! same JSON routes (with the same tokens) as curl does.
//!
//! The pages are plain ES modules with no build step, so `cargo build` needs no Node and the UI
//! works air-gapped. The assets are public (they hold no data); every piece of data is fetched by
//! the browser from the read routes with the read token the user typed in, which the page keeps in
//! `sessionStorage` only. Responses carry a strict Content-Security-Policy: scripts and styles
//! from this origin only, no inline code, no framing.

use axum::Router;
use axum::extract::{Path, Request};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

/// One embedded file.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static str,
}

/// Everything the UI is made of. Names are flat: `/ui/{name}`.
const ASSETS: &[Asset] = &[
    Asset {
        name: "index.html",
        content_type: "text/html; charset=utf-8",
        body: include_str!("ui/index.html"),
    },
    Asset {
        name: "style.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("ui/style.css"),
    },
    Asset {
        name: "app.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("ui/app.js"),
    },
    Asset {
        name: "api.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("ui/api.js"),
    },
    Asset {
        name: "dom.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("ui/dom.js"),
    },
    Asset {
        name: "pages.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("ui/pages.js"),
    },
];

/// The policy for every UI response. `connect-src 'self'`: the pages talk to this server only;
/// `blob:` lets the OpenAPI download hand the browser a document it fetched with the token.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; \
     frame-ancestors 'none'";

/// The UI's routes, to be merged into the application router.
pub(super) fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/ui", get(|| async { Redirect::permanent("/ui/") }))
        .route("/ui/", get(|| async { asset("index.html") }))
        .route(
            "/ui/{name}",
            get(|Path(name): Path<String>| async move { asset(&name) }),
        )
        .route_layer(middleware::from_fn(security_headers))
}

fn asset(name: &str) -> Response {
    match ASSETS.iter().find(|a| a.name == name) {
        Some(asset) => (
            [
                (header::CONTENT_TYPE, asset.content_type),
                // Assets change with the binary; revalidate so an upgrade is seen at once.
                (header::CACHE_CONTROL, "no-cache"),
            ],
            asset.body,
        )
            .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "not found",
        )
            .into_response(),
    }
}

/// Adds the browser hardening headers to every UI response, errors included.
async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        // For browsers that predate `frame-ancestors`.
        (header::X_FRAME_OPTIONS, "DENY"),
        (
            HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use tower::ServiceExt;

    async fn get(path: &str) -> Response {
        router::<()>()
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap()
    }

    async fn text(response: Response) -> String {
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    fn assert_hardened(response: &Response) {
        let h = response.headers();
        let csp = h[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(csp.contains("script-src 'self'"), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
            "{csp}"
        );
        assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(h[header::REFERRER_POLICY], "no-referrer");
        assert_eq!(h[header::X_FRAME_OPTIONS], "DENY");
    }

    #[tokio::test]
    async fn the_index_is_served_hardened() {
        let response = get("/ui/").await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_hardened(&response);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "text/html; charset=utf-8"
        );
        let html = text(response).await;
        assert!(
            html.contains(r#"<script type="module" src="app.js">"#),
            "{html}"
        );
    }

    #[tokio::test]
    async fn ui_without_slash_redirects() {
        let response = get("/ui").await;
        assert_eq!(response.status(), StatusCode::PERMANENT_REDIRECT);
        assert_eq!(response.headers()[header::LOCATION], "/ui/");
    }

    #[tokio::test]
    async fn every_asset_is_served_with_its_type() {
        for asset in ASSETS {
            let response = get(&format!("/ui/{}", asset.name)).await;
            assert_eq!(response.status(), StatusCode::OK, "{}", asset.name);
            assert_hardened(&response);
            assert_eq!(response.headers()[header::CONTENT_TYPE], asset.content_type);
            assert_eq!(text(response).await, asset.body);
        }
    }

    #[tokio::test]
    async fn unknown_and_hostile_names_are_not_found() {
        for path in [
            "/ui/nope.js",
            "/ui/..%2FCargo.toml",
            "/ui/%2e%2e%2fsrc%2fmain.rs",
            "/ui/index.html%00.js",
            "/ui/INDEX.HTML",
            "/ui/%3Cscript%3E",
        ] {
            let response = get(path).await;
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
            assert_hardened(&response);
            assert_eq!(text(response).await, "not found", "{path}");
        }
    }

    /// Whether `html` has an attribute like ` onclick=`.
    fn has_inline_handler(html: &str) -> bool {
        html.match_indices(" on").any(|(i, _)| {
            let rest = &html[i + 3..];
            let name_len = rest.chars().take_while(char::is_ascii_alphabetic).count();
            name_len > 0 && rest[name_len..].starts_with('=')
        })
    }

    #[test]
    fn the_inline_handler_check_finds_handlers() {
        assert!(has_inline_handler(r#"<body onload="x()">"#));
        assert!(!has_inline_handler("<p>kept only on this tab</p>"));
    }

    /// No asset may rely on what the policy forbids: inline scripts, inline handlers, inline
    /// styles, or markup built from strings (data from traffic goes through `textContent`).
    #[test]
    fn assets_need_nothing_the_policy_forbids() {
        let html = ASSETS[0].body;
        assert!(
            !html.contains("<script>") && !html.contains("style="),
            "{html}"
        );
        assert!(
            !has_inline_handler(html),
            "inline event handler in index.html"
        );
        for asset in ASSETS.iter().filter(|a| a.name.ends_with(".js")) {
            for forbidden in [
                "innerHTML",
                "outerHTML",
                "insertAdjacentHTML",
                "document.write",
                "eval(",
                "new Function",
                "localStorage",
            ] {
                assert!(
                    !asset.body.contains(forbidden),
                    "{} uses {forbidden}",
                    asset.name
                );
            }
        }
    }
}
