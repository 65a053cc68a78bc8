//! Native stand-ins for the browser's facilities: storage in memory (per thread), no network
//! (every request and socket fails), timers that do not wait.

use std::cell::RefCell;
use std::collections::HashMap;

use futures_channel::mpsc::UnboundedReceiver;

use super::{HttpResponse, PlatformError, SocketEvent};

thread_local! {
    static STORAGE: RefCell<HashMap<String, String>> = RefCell::new(HashMap::new());
}

pub fn storage_get(key: &str) -> Option<String> {
    STORAGE.with(|s| s.borrow().get(key).cloned())
}

pub fn storage_set(key: &str, value: &str) {
    STORAGE.with(|s| s.borrow_mut().insert(key.to_owned(), value.to_owned()));
}

pub fn storage_remove(key: &str) {
    STORAGE.with(|s| s.borrow_mut().remove(key));
}

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

    pub fn channel(_path: &str) -> Result<(Socket, UnboundedReceiver<SocketEvent>), PlatformError> {
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

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// No address bar outside the browser: the apps start at their own base path.
pub fn pathname() -> String {
    String::new()
}

pub fn push_path(_path: &str) {}

/// No address bar outside the browser: a stream that ends at once.
pub fn path_changes() -> UnboundedReceiver<String> {
    futures_channel::mpsc::unbounded().1
}

pub fn download(_file_name: &str, _text: &str) {}

pub fn focus(_id: &str) {}

pub async fn copy_text(_text: &str) -> bool {
    false
}
