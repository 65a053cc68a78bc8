//! The browser's facilities through web-sys. Nothing here panics: a missing window or a refused
//! call is an error or a no-op.

use std::cell::RefCell;
use std::rc::Rc;

use futures_channel::mpsc::UnboundedReceiver;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use super::{HttpResponse, PlatformError, SocketEvent};

fn window() -> Option<web_sys::Window> {
    web_sys::window()
}

fn js_err(err: JsValue) -> PlatformError {
    PlatformError::Network(err.as_string().unwrap_or_else(|| format!("{err:?}")))
}

fn storage() -> Option<web_sys::Storage> {
    window()?.local_storage().ok().flatten()
}

pub fn storage_get(key: &str) -> Option<String> {
    storage()?.get_item(key).ok().flatten()
}

pub fn storage_set(key: &str, value: &str) {
    if let Some(storage) = storage() {
        let _ = storage.set_item(key, value);
    }
}

pub fn storage_remove(key: &str) {
    if let Some(storage) = storage() {
        let _ = storage.remove_item(key);
    }
}

/// One same-origin request: JSON in and out, with the bearer token when there is one.
pub async fn fetch(
    method: &str,
    path: &str,
    body: Option<String>,
    bearer: Option<String>,
) -> Result<HttpResponse, PlatformError> {
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    let headers = web_sys::Headers::new().map_err(js_err)?;
    headers.set("accept", "application/json").map_err(js_err)?;
    if body.is_some() {
        headers.set("content-type", "application/json").map_err(js_err)?;
    }
    if let Some(token) = bearer {
        headers.set("authorization", &format!("Bearer {token}")).map_err(js_err)?;
    }
    init.set_headers(&headers);
    if let Some(body) = body {
        init.set_body(&JsValue::from_str(&body));
    }
    let request = web_sys::Request::new_with_str_and_init(path, &init).map_err(js_err)?;
    let window = window().ok_or(PlatformError::Unavailable)?;
    let response: web_sys::Response =
        JsFuture::from(window.fetch_with_request(&request)).await.map_err(js_err)?.dyn_into().map_err(js_err)?;
    let text = JsFuture::from(response.text().map_err(js_err)?).await.map_err(js_err)?;
    Ok(HttpResponse { status: response.status(), body: text.as_string().unwrap_or_default() })
}

/// An open (or opening) WebSocket to a same-origin path; dropping it closes the socket.
pub struct Socket {
    ws: web_sys::WebSocket,
    _handlers: Vec<Closure<dyn FnMut(JsValue)>>,
}

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Socket")
    }
}

impl Socket {
    /// Opens `path_and_query` on this page's host (`wss` under https) and reports its events to
    /// `on_event`, binary frames as bytes.
    pub fn open(path_and_query: &str, on_event: impl FnMut(SocketEvent) + 'static) -> Result<Socket, PlatformError> {
        let location = window().ok_or(PlatformError::Unavailable)?.location();
        let scheme = if location.protocol().map_err(js_err)? == "https:" { "wss" } else { "ws" };
        let host = location.host().map_err(js_err)?;
        let ws = web_sys::WebSocket::new(&format!("{scheme}://{host}{path_and_query}")).map_err(js_err)?;
        ws.set_binary_type(web_sys::BinaryType::Arraybuffer);
        let on_event = Rc::new(RefCell::new(on_event));
        let emit = move |event: SocketEvent| {
            if let Ok(mut f) = on_event.try_borrow_mut() {
                f(event);
            }
        };
        let (e1, e2, e3) = (emit.clone(), emit.clone(), emit);
        let on_open = Closure::<dyn FnMut(JsValue)>::new(move |_| e1(SocketEvent::Open));
        let on_message = Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
            let Ok(event) = event.dyn_into::<web_sys::MessageEvent>() else { return };
            let data = event.data();
            if let Some(text) = data.as_string() {
                e2(SocketEvent::Text(text));
            } else if let Ok(buffer) = data.dyn_into::<js_sys::ArrayBuffer>() {
                e2(SocketEvent::Binary(js_sys::Uint8Array::new(&buffer).to_vec()));
            }
        });
        // an error is followed by a close in browsers, but not reliably for a refused handshake
        let on_close = Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
            let code = event.dyn_into::<web_sys::CloseEvent>().map(|e| e.code()).unwrap_or(1006);
            e3(SocketEvent::Closed { code });
        });
        ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        ws.set_onerror(Some(on_close.as_ref().unchecked_ref()));
        Ok(Socket { ws, _handlers: vec![on_open, on_message, on_close] })
    }

    /// Opens a socket whose events arrive on the returned channel.
    pub fn channel(path_and_query: &str) -> Result<(Socket, UnboundedReceiver<SocketEvent>), PlatformError> {
        let (tx, rx) = futures_channel::mpsc::unbounded();
        let socket = Socket::open(path_and_query, move |event| {
            let _ = tx.unbounded_send(event);
        })?;
        Ok((socket, rx))
    }

    /// Sends a binary frame; false when the socket is not open.
    pub fn send(&self, bytes: &[u8]) -> bool {
        self.ws.ready_state() == web_sys::WebSocket::OPEN && self.ws.send_with_u8_array(bytes).is_ok()
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        self.ws.set_onopen(None);
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        self.ws.set_onerror(None);
        let _ = self.ws.close();
    }
}

/// Waits `ms` milliseconds (a `setTimeout` promise).
pub async fn sleep_ms(ms: u32) {
    let Some(window) = window() else { return };
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms.min(i32::MAX as u32) as i32);
    });
    let _ = JsFuture::from(promise).await;
}

pub fn random_u64() -> u64 {
    let hi = (js_sys::Math::random() * 4_294_967_296.0) as u64;
    let lo = (js_sys::Math::random() * 4_294_967_296.0) as u64;
    (hi << 32) | lo
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    js_sys::Date::now() as i64
}

pub fn pathname() -> String {
    window().and_then(|w| w.location().pathname().ok()).unwrap_or_default()
}

pub fn push_path(path: &str) {
    if let Some(history) = window().and_then(|w| w.history().ok()) {
        let _ = history.push_state_with_url(&JsValue::NULL, "", Some(path));
    }
}

/// The paths the address bar shows after back/forward, as a stream.
pub fn path_changes() -> UnboundedReceiver<String> {
    let (tx, rx) = futures_channel::mpsc::unbounded();
    if let Some(w) = window() {
        let handler = Closure::<dyn FnMut(JsValue)>::new(move |_| {
            let _ = tx.unbounded_send(pathname());
        });
        let _ = w.add_event_listener_with_callback("popstate", handler.as_ref().unchecked_ref());
        // the listener lives as long as the page
        handler.forget();
    }
    rx
}

/// Offers `text` as a JSON file named `file_name`.
pub fn download(file_name: &str, text: &str) {
    let parts = js_sys::Array::of1(&JsValue::from_str(text));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("application/json");
    let Ok(blob) = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options) else { return };
    let Ok(url) = web_sys::Url::create_object_url_with_blob(&blob) else { return };
    if let Some(document) = window().and_then(|w| w.document())
        && let Ok(anchor) = document.create_element("a")
        && let Ok(anchor) = anchor.dyn_into::<web_sys::HtmlAnchorElement>()
    {
        anchor.set_href(&url);
        anchor.set_download(file_name);
        anchor.click();
    }
    let _ = web_sys::Url::revoke_object_url(&url);
}

/// Moves the keyboard focus to the element with `id`, if there is one.
pub fn focus(id: &str) {
    let element = window().and_then(|w| w.document()).and_then(|d| d.get_element_by_id(id));
    if let Some(element) = element.and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok()) {
        let _ = element.focus();
    }
}

/// Writes `text` to the clipboard; false where the browser refuses (no permission, not focused).
pub async fn copy_text(text: &str) -> bool {
    let Some(window) = window() else { return false };
    JsFuture::from(window.navigator().clipboard().write_text(text)).await.is_ok()
}
