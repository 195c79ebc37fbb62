//! test
use wasm_bindgen::prelude::*;

/// x
#[wasm_bindgen]
pub async fn fetch(req: web_sys::Request, env: worker::Env, ctx: worker::worker_sys::Context) -> Result<web_sys::Response, JsValue> {
    let _ = (env, ctx);
    let g: web_sys::WorkerGlobalScope = js_sys::global().unchecked_into();
    let r = wasm_bindgen_futures::JsFuture::from(g.fetch_with_request(&req)).await?;
    r.dyn_into()
}
