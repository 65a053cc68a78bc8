//! The browser's facilities through web-sys: `localStorage`, `fetch`, `WebSocket`, `setTimeout`
//! and the History API. Nothing here panics: a missing window or a refused call is an error or a
//! no-op.

use futures_channel::mpsc::{UnboundedReceiver, unbounded};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, MessageEvent, Request, RequestInit, Response, WebSocket};

use super::{PlatformError, SocketEvent};

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
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

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    js_sys::Date::now() as i64
}

/// Waits `ms` milliseconds (a `setTimeout` promise).
pub async fn sleep_ms(ms: u32) {
    let Some(window) = web_sys::window() else { return };
    let promise = js_sys::Promise::new(&mut |resolve, _reject| {
        let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms.min(i32::MAX as u32) as i32);
    });
    let _ = JsFuture::from(promise).await;
}

fn js_error(value: JsValue) -> PlatformError {
    PlatformError::new(value.as_string().unwrap_or_else(|| "the request failed".into()))
}

/// One same-origin request; the status and the body text.
pub async fn http(
    method: &str,
    path: &str,
    body: Option<String>,
    token: Option<String>,
) -> Result<(u16, String), PlatformError> {
    let window = web_sys::window().ok_or_else(|| PlatformError::new("no window"))?;
    let headers = Headers::new().map_err(js_error)?;
    headers.set("Accept", "application/json").map_err(js_error)?;
    if let Some(token) = token {
        headers.set("Authorization", &format!("Bearer {token}")).map_err(js_error)?;
    }
    let init = RequestInit::new();
    init.set_method(method);
    if let Some(body) = body {
        headers.set("Content-Type", "application/json").map_err(js_error)?;
        init.set_body(&JsValue::from_str(&body));
    }
    init.set_headers(&headers);
    let request = Request::new_with_str_and_init(path, &init).map_err(js_error)?;
    let response = JsFuture::from(window.fetch_with_request(&request)).await.map_err(js_error)?;
    let response: Response = response.dyn_into().map_err(js_error)?;
    let status = response.status();
    let text = JsFuture::from(response.text().map_err(js_error)?).await.map_err(js_error)?;
    Ok((status, text.as_string().unwrap_or_default()))
}

/// Moves the keyboard focus to the element with `id`, if there is one.
pub fn focus(id: &str) {
    let element = web_sys::window().and_then(|w| w.document()).and_then(|d| d.get_element_by_id(id));
    if let Some(element) = element.and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok()) {
        let _ = element.focus();
    }
}

/// Writes `text` to the clipboard; false where the browser refuses (no permission, not focused).
pub async fn copy_text(text: &str) -> bool {
    let Some(window) = web_sys::window() else { return false };
    JsFuture::from(window.navigator().clipboard().write_text(text)).await.is_ok()
}

pub fn pathname() -> String {
    web_sys::window().and_then(|w| w.location().pathname().ok()).unwrap_or_else(|| crate::route::BASE.to_owned())
}

pub fn push_path(path: &str) {
    if let Some(history) = web_sys::window().and_then(|w| w.history().ok()) {
        let _ = history.push_state_with_url(&JsValue::NULL, "", Some(path));
    }
}

/// The new path each time the user goes back or forward.
pub fn on_popstate() -> UnboundedReceiver<String> {
    let (tx, rx) = unbounded();
    let Some(window) = web_sys::window() else { return rx };
    let callback = Closure::<dyn FnMut(web_sys::Event)>::new(move |_event: web_sys::Event| {
        let _ = tx.unbounded_send(pathname());
    });
    let _ = window.add_event_listener_with_callback("popstate", callback.as_ref().unchecked_ref());
    // one listener for the page's life (the frame is mounted once)
    callback.forget();
    rx
}

/// The absolute `ws://`/`wss://` address of a same-origin path.
pub fn ws_url(path: &str) -> String {
    let location = web_sys::window().map(|w| w.location());
    let host = location.as_ref().and_then(|l| l.host().ok()).unwrap_or_default();
    let secure = location.as_ref().and_then(|l| l.protocol().ok()).is_some_and(|p| p == "https:");
    format!("{}://{host}{path}", if secure { "wss" } else { "ws" })
}

/// An open event socket; closed when dropped.
pub struct EventSocket {
    socket: WebSocket,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(web_sys::Event)>,
}

impl std::fmt::Debug for EventSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EventSocket")
    }
}

impl Drop for EventSocket {
    fn drop(&mut self) {
        self.socket.set_onmessage(None);
        self.socket.set_onclose(None);
        self.socket.set_onerror(None);
        let _ = self.socket.close();
    }
}

/// Opens a WebSocket whose text frames and close arrive on the returned channel.
pub fn open_socket(url: &str) -> Result<(EventSocket, UnboundedReceiver<SocketEvent>), PlatformError> {
    let socket = WebSocket::new(url).map_err(js_error)?;
    let (tx, rx) = unbounded();
    let on_message = {
        let tx = tx.clone();
        Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            if let Some(text) = event.data().as_string() {
                let _ = tx.unbounded_send(SocketEvent::Text(text));
            }
        })
    };
    let on_close = Closure::<dyn FnMut(web_sys::Event)>::new(move |_event: web_sys::Event| {
        let _ = tx.unbounded_send(SocketEvent::Closed);
    });
    socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    socket.set_onerror(Some(on_close.as_ref().unchecked_ref()));
    Ok((EventSocket { socket, _on_message: on_message, _on_close: on_close }, rx))
}
