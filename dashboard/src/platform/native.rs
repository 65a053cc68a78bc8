//! Native stand-ins for the browser facilities: storage in memory, and no network (every request
//! fails), so components compile and the logic runs in unit tests.

use std::cell::RefCell;
use std::collections::HashMap;

use futures_channel::mpsc::{UnboundedReceiver, unbounded};

use super::{PlatformError, SocketEvent};

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

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

pub async fn sleep_ms(_ms: u32) {}

pub async fn http(
    _method: &str,
    _path: &str,
    _body: Option<String>,
    _token: Option<String>,
) -> Result<(u16, String), PlatformError> {
    Err(PlatformError::new("no network outside the browser"))
}

pub fn focus(_id: &str) {}

pub async fn copy_text(_text: &str) -> bool {
    false
}

pub fn pathname() -> String {
    crate::route::BASE.to_owned() + "/"
}

pub fn push_path(_path: &str) {}

/// The new path each time the user goes back or forward.
pub fn on_popstate() -> UnboundedReceiver<String> {
    unbounded().1
}

/// The absolute `ws://` address of a same-origin path.
pub fn ws_url(path: &str) -> String {
    format!("ws://localhost{path}")
}

/// An open event socket; closed when dropped.
#[derive(Debug)]
pub struct EventSocket;

pub fn open_socket(_url: &str) -> Result<(EventSocket, UnboundedReceiver<SocketEvent>), PlatformError> {
    let (tx, rx) = unbounded();
    let _ = tx.unbounded_send(SocketEvent::Closed);
    Ok((EventSocket, rx))
}
