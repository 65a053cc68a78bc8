//! The API client: the calls and the session of `aos-web-client` (shared with the studio: the
//! same stored tokens, one refresh at a time), and the signal the app's login gate reads.

use aos_web_client::session;
use dioxus::prelude::*;

pub use aos_web_client::session::forget;
pub use aos_web_client::{ApiError, call, call_text, decode, encode, get, login, send, signup_invited};

/// The access token the app holds; `None` shows the login screen. Follows the session
/// ([`follow_session`]): a refresh replaces it, a refused session clears it.
pub static TOKEN: GlobalSignal<Option<String>> = Signal::global(session::token);

/// Keeps [`TOKEN`] in step with the session; called once when the app starts.
pub fn follow_session() {
    session::watch(|token| *TOKEN.write() = token.map(str::to_owned));
}
