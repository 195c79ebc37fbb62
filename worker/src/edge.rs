//! The Worker's `fetch` handler: the thin layer between the Workers runtime and the rules.
//!
//! The client always gets the origin's own `Response` object, untouched; the Worker keeps copies
//! of the two bodies (`clone()`, which tees the stream) and reads them in `ctx.waitUntil`, so the
//! client never waits for the copy or for the receiver. Everything that can fail after the
//! decision to mirror happens in that background task and ends there, logged.
//!
//! The export is written by hand rather than with `#[event(fetch)]` so that an exception from the
//! origin fetch reaches the runtime as it would without the Worker (the macro would answer 500).

use std::cell::Cell;

use futures_channel::oneshot;
use futures_util::future::join;
use js_sys::{Reflect, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{JsFuture, future_to_promise};
use web_sys::{
    AbortSignal, Headers, ReadableStream, ReadableStreamDefaultReader, Request, RequestInit,
    Response, WorkerGlobalScope,
};
use worker::Env;
use worker::worker_sys::{Context, Fetcher};

use crate::capture::CapturedBody;
use crate::exchange::{self, RequestFacts, ResponseFacts};
use crate::settings::{self, Settings};

/// How long the POST to the receiver may take before it is abandoned.
const RECEIVER_TIMEOUT_MS: u32 = 10_000;

thread_local! {
    /// Configuration problems are logged once per isolate, not once per request.
    static SETTINGS_WARNED: Cell<bool> = const { Cell::new(false) };
    static BINDING_WARNED: Cell<bool> = const { Cell::new(false) };
}

/// The `fetch` handler, called by the entry module with the incoming request, the bindings and
/// the execution context.
#[wasm_bindgen]
pub async fn fetch(request: Request, env: Env, ctx: Context) -> Result<Response, JsValue> {
    let settings = load_settings(&env);
    let origin = Origin::select(&settings, &env);
    if matches!(origin, Origin::Route) {
        // An exception (the origin fetch's, or a fault in the Worker) then sends the request on
        // to the origin as though the Worker were not there.
        let _ = ctx.pass_through_on_exception();
    }

    let Some(facts) = request_facts(&request) else {
        return origin.send(&request).await;
    };
    if exchange::check_request(&settings, &facts, js_sys::Math::random()).is_err() {
        return origin.send(&request).await;
    }

    // The copy must exist before the original body is handed to the origin.
    let request_copy = match request.body() {
        Some(_) => request.clone().ok().and_then(|copy| copy.body()),
        None => None,
    };
    let (response_sender, response_receiver) = oneshot::channel();
    let background = mirror(settings.clone(), facts, request_copy, response_receiver);
    let _ = ctx.wait_until(&future_to_promise(async move {
        background.await;
        Ok(JsValue::UNDEFINED)
    }));

    // On error the sender is dropped and the background task ends without posting.
    let response = origin.send(&request).await?;
    let facts = ResponseFacts {
        status: response.status(),
        headers: header_pairs(&response.headers()),
        time_ms: now_ms(),
    };
    if exchange::check_response(&settings, &facts).is_ok() {
        // A 101 carries a WebSocket, not a body to copy.
        let body = match (facts.status, response.body()) {
            (101, _) | (_, None) => None,
            (_, Some(_)) => response.clone().ok().and_then(|copy| copy.body()),
        };
        let _ = response_sender.send(ResponseCopy { facts, body });
    }
    Ok(response)
}

/// What the handler hands to the background task once the origin has answered.
struct ResponseCopy {
    facts: ResponseFacts,
    body: Option<ReadableStream>,
}

/// Reads both body copies, builds the telemetry and posts it. Never fails: problems are logged.
async fn mirror(
    settings: Settings,
    request: RequestFacts,
    request_copy: Option<ReadableStream>,
    response: oneshot::Receiver<ResponseCopy>,
) {
    let (request_body, response) = join(
        read_capped(request_copy, settings.max_request_body),
        response,
    )
    .await;
    // No response to mirror: excluded, or the origin fetch failed.
    let Ok(response) = response else { return };
    let request_body = match request_body {
        Ok(body) => body,
        Err(e) => return log_error(&format!("reading the request body copy: {}", describe(&e))),
    };
    let response_body = match read_capped(response.body, settings.max_response_body).await {
        Ok(body) => body,
        Err(e) => return log_error(&format!("reading the response body copy: {}", describe(&e))),
    };
    let telemetry = exchange::telemetry(
        &settings,
        &request,
        &request_body,
        &response.facts,
        &response_body,
    );
    let json = match serde_json::to_string(&telemetry) {
        Ok(json) => json,
        Err(e) => return log_error(&format!("encoding telemetry: {e}")),
    };
    if let Err(e) = post(&settings, &json).await {
        log_error(&format!(
            "sending telemetry for {} {}: {e}",
            request.method,
            exchange::request_path(&request.url)
        ));
    }
}

/// Reads at most `limit` bytes (plus one chunk to learn whether there is more) and cancels the
/// rest of the copy, which releases the tee from buffering for it.
async fn read_capped(
    stream: Option<ReadableStream>,
    limit: usize,
) -> Result<CapturedBody, JsValue> {
    let mut body = CapturedBody::new(limit);
    let Some(stream) = stream else {
        return Ok(body);
    };
    let reader: ReadableStreamDefaultReader = stream.get_reader().dyn_into()?;
    loop {
        let step = JsFuture::from(reader.read()).await?;
        if Reflect::get(&step, &JsValue::from_str("done"))?
            .as_bool()
            .unwrap_or(true)
        {
            break;
        }
        let chunk: Uint8Array = Reflect::get(&step, &JsValue::from_str("value"))?.dyn_into()?;
        let keep = body.admit(chunk.length() as usize);
        if keep > 0 {
            // `keep` is at most the chunk's length, a u32.
            body.keep(&chunk.subarray(0, keep as u32).to_vec());
        }
        if !body.wants_more() {
            let _ = JsFuture::from(reader.cancel()).await;
            break;
        }
    }
    Ok(body)
}

/// POSTs one telemetry object to the receiver and checks for a 2xx.
async fn post(settings: &Settings, json: &str) -> Result<(), String> {
    let Some(endpoint) = &settings.endpoint else {
        return Ok(());
    };
    let headers = Headers::new().map_err(|e| describe(&e))?;
    for (name, value) in exchange::receiver_headers(settings) {
        headers.set(name, &value).map_err(|e| describe(&e))?;
    }
    let init = RequestInit::new();
    init.set_method("POST");
    init.set_headers(&headers);
    init.set_body(&JsValue::from_str(json));
    init.set_signal(Some(&AbortSignal::timeout_with_u32(RECEIVER_TIMEOUT_MS)));
    let global: WorkerGlobalScope = js_sys::global().unchecked_into();
    let answer = JsFuture::from(global.fetch_with_str_and_init(endpoint.as_str(), &init))
        .await
        .map_err(|e| describe(&e))?;
    let answer: Response = answer.dyn_into().map_err(|e| describe(&e))?;
    let status = answer.status();
    let text = match answer.text() {
        Ok(promise) => JsFuture::from(promise)
            .await
            .ok()
            .and_then(|t| t.as_string())
            .unwrap_or_default(),
        Err(_) => String::new(),
    };
    if answer.ok() {
        Ok(())
    } else {
        let excerpt: String = text.chars().take(300).collect();
        Err(format!("{endpoint} answered {status}: {excerpt}"))
    }
}

/// Where requests go: the route's own origin, or a service binding.
enum Origin {
    Route,
    Binding(Fetcher),
}

impl Origin {
    fn select(settings: &Settings, env: &Env) -> Self {
        let Some(name) = &settings.origin_binding else {
            return Origin::Route;
        };
        match Reflect::get(env, &JsValue::from_str(name)) {
            Ok(binding)
                if Reflect::get(&binding, &JsValue::from_str("fetch"))
                    .is_ok_and(|f| f.is_function()) =>
            {
                Origin::Binding(binding.unchecked_into())
            }
            _ => {
                if !BINDING_WARNED.with(|w| w.replace(true)) {
                    log_error(&format!(
                        "{} names {name:?}, which is not a service binding; using the route's origin",
                        settings::ORIGIN_SERVICE_BINDING
                    ));
                }
                Origin::Route
            }
        }
    }

    async fn send(&self, request: &Request) -> Result<Response, JsValue> {
        let promise = match self {
            Origin::Route => {
                let global: WorkerGlobalScope = js_sys::global().unchecked_into();
                global.fetch_with_request(request)
            }
            Origin::Binding(fetcher) => fetcher.fetch(request)?,
        };
        JsFuture::from(promise).await?.dyn_into()
    }
}

/// Reads the settings from the bindings, logging problems with them once per isolate.
fn load_settings(env: &Env) -> Settings {
    let (settings, warnings) = Settings::from_lookup(|name| variable(env, name));
    if !warnings.is_empty() && !SETTINGS_WARNED.with(|w| w.replace(true)) {
        for warning in warnings {
            web_sys::console::warn_1(&JsValue::from_str(&warning));
        }
    }
    settings
}

/// A variable as text: `[vars]` strings and secrets as they are, numbers and booleans (JSON
/// values in `wrangler.toml`) written out; anything else counts as undefined.
fn variable(env: &Env, name: &str) -> Option<String> {
    let value = Reflect::get(env, &JsValue::from_str(name)).ok()?;
    if let Some(text) = value.as_string() {
        Some(text)
    } else if let Some(number) = value.as_f64() {
        Some(number.to_string())
    } else {
        value.as_bool().map(|b| b.to_string())
    }
}

fn request_facts(request: &Request) -> Option<RequestFacts> {
    Some(RequestFacts {
        method: request.method(),
        url: url::Url::parse(&request.url()).ok()?,
        headers: header_pairs(&request.headers()),
        time_ms: now_ms(),
    })
}

/// The headers as the runtime iterates them: lower-case names, sorted, repeated headers joined
/// except `set-cookie`.
fn header_pairs(headers: &Headers) -> Vec<(String, String)> {
    let Ok(Some(entries)) = js_sys::try_iter(headers) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| {
            let entry = entry.dyn_into::<js_sys::Array>().ok()?;
            Some((entry.get(0).as_string()?, entry.get(1).as_string()?))
        })
        .collect()
}

fn now_ms() -> i64 {
    // Whole milliseconds since the epoch fit an f64 exactly.
    js_sys::Date::now() as i64
}

fn describe(error: &JsValue) -> String {
    if let Some(e) = error.dyn_ref::<js_sys::Error>() {
        String::from(e.message())
    } else if let Some(text) = error.as_string() {
        text
    } else {
        format!("{error:?}")
    }
}

fn log_error(message: &str) {
    web_sys::console::error_1(&JsValue::from_str(message));
}
