//! The browser, behind a few functions: local storage, `fetch`, WebSockets, timers, randomness,
//! the address bar, file downloads and the clipboard. In the wasm build these call `web-sys`; natively (where the
//! app is only checked and its logic unit tested) they do nothing and report
//! [`PlatformError::Unavailable`].

/// Why a browser call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlatformError {
    #[error("not available outside the browser")]
    Unavailable,
    #[error("the network request failed: {0}")]
    Network(String),
}

/// An HTTP response: status and body text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub body: String,
}

/// What a socket reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SocketEvent {
    Open,
    Binary(Vec<u8>),
    Text(String),
    Closed { code: u16 },
}

#[cfg(target_arch = "wasm32")]
mod imp {
    use std::cell::RefCell;
    use std::rc::Rc;

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

    pub fn storage_get(key: &str) -> Option<String> {
        window()?.local_storage().ok()??.get_item(key).ok()?
    }

    pub fn storage_set(key: &str, value: Option<&str>) {
        let Some(storage) = window().and_then(|w| w.local_storage().ok().flatten()) else { return };
        let _ = match value {
            Some(value) => storage.set_item(key, value),
            None => storage.remove_item(key),
        };
    }

    pub async fn fetch(
        method: &str,
        path: &str,
        body: Option<String>,
        bearer: Option<String>,
    ) -> Result<HttpResponse, PlatformError> {
        let init = web_sys::RequestInit::new();
        init.set_method(method);
        let headers = web_sys::Headers::new().map_err(js_err)?;
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
            JsFuture::from(window.fetch_with_request(&request)).await.map_err(js_err)?.unchecked_into();
        let text = JsFuture::from(response.text().map_err(js_err)?).await.map_err(js_err)?;
        Ok(HttpResponse { status: response.status(), body: text.as_string().unwrap_or_default() })
    }

    /// An open (or opening) WebSocket; dropping it closes the socket.
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
        pub fn open(
            path_and_query: &str,
            on_event: impl FnMut(SocketEvent) + 'static,
        ) -> Result<Socket, PlatformError> {
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
            let on_close = Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
                let code = event.dyn_into::<web_sys::CloseEvent>().map(|e| e.code()).unwrap_or(1006);
                e3(SocketEvent::Closed { code });
            });
            ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
            ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
            ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
            Ok(Socket { ws, _handlers: vec![on_open, on_message, on_close] })
        }

        pub fn send(&self, bytes: &[u8]) -> bool {
            self.ws.ready_state() == web_sys::WebSocket::OPEN && self.ws.send_with_u8_array(bytes).is_ok()
        }
    }

    impl Drop for Socket {
        fn drop(&mut self) {
            self.ws.set_onopen(None);
            self.ws.set_onmessage(None);
            self.ws.set_onclose(None);
            let _ = self.ws.close();
        }
    }

    pub async fn sleep_ms(ms: u32) {
        let promise = js_sys::Promise::new(&mut |resolve, _| {
            if let Some(w) = window() {
                let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms as i32);
            }
        });
        let _ = JsFuture::from(promise).await;
    }

    pub fn random_u64() -> u64 {
        let hi = (js_sys::Math::random() * 4_294_967_296.0) as u64;
        let lo = (js_sys::Math::random() * 4_294_967_296.0) as u64;
        (hi << 32) | lo
    }

    pub fn now_ms() -> u64 {
        js_sys::Date::now() as u64
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
    pub fn path_changes() -> futures_channel::mpsc::UnboundedReceiver<String> {
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

    /// Writes `text` to the clipboard; false where the browser refuses (no permission, not focused).
    pub async fn copy_text(text: &str) -> bool {
        let Some(window) = window() else { return false };
        JsFuture::from(window.navigator().clipboard().write_text(text)).await.is_ok()
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    use super::{HttpResponse, PlatformError, SocketEvent};

    pub fn storage_get(_key: &str) -> Option<String> {
        None
    }

    pub fn storage_set(_key: &str, _value: Option<&str>) {}

    pub async fn fetch(
        _method: &str,
        _path: &str,
        _body: Option<String>,
        _bearer: Option<String>,
    ) -> Result<HttpResponse, PlatformError> {
        Err(PlatformError::Unavailable)
    }

    /// No sockets outside the browser.
    #[derive(Debug)]
    pub struct Socket;

    impl Socket {
        pub fn open(_path: &str, _on_event: impl FnMut(SocketEvent) + 'static) -> Result<Socket, PlatformError> {
            Err(PlatformError::Unavailable)
        }

        pub fn send(&self, _bytes: &[u8]) -> bool {
            false
        }
    }

    pub async fn sleep_ms(_ms: u32) {}

    pub fn random_u64() -> u64 {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(1);
        NEXT.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed)
    }

    pub fn now_ms() -> u64 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
    }

    pub fn pathname() -> String {
        String::new()
    }

    pub fn push_path(_path: &str) {}

    /// No address bar outside the browser: a stream that ends at once.
    pub fn path_changes() -> futures_channel::mpsc::UnboundedReceiver<String> {
        futures_channel::mpsc::unbounded().1
    }

    pub fn download(_file_name: &str, _text: &str) {}

    pub async fn copy_text(_text: &str) -> bool {
        false
    }
}

pub use imp::*;

/// The reconnect delay after `failures` failed attempts in a row: 0.5 s doubling to 15 s, with
/// up to a quarter added from `jitter` (0..1) so many clients do not reconnect in step.
pub fn backoff_ms(failures: u32, jitter: f64) -> u32 {
    let base = 500u64.saturating_mul(1u64 << failures.min(5)).min(15_000);
    let jitter = if jitter.is_finite() { jitter.clamp(0.0, 1.0) } else { 0.0 };
    (base as f64 * (1.0 + jitter / 4.0)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_a_cap_with_bounded_jitter() {
        assert_eq!(backoff_ms(0, 0.0), 500);
        assert_eq!(backoff_ms(1, 0.0), 1000);
        assert_eq!(backoff_ms(4, 0.0), 8000);
        assert_eq!(backoff_ms(5, 0.0), 15_000);
        assert_eq!(backoff_ms(50, 0.0), 15_000);
        assert_eq!(backoff_ms(0, 1.0), 625);
        assert_eq!(backoff_ms(0, f64::NAN), 500);
    }
}
