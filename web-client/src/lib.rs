//! The browser side of the API, shared by the studio and the dashboard: the browser's facilities
//! (`platform`), the signed-in session with one token refresh at a time (`session`), typed calls
//! (`http`), and the sockets' paths and reconnect pauses (`socket`).
//!
//! Rule: no UI framework here (the apps bring theirs and follow the session with
//! [`session::watch`]); API shapes come from `aos-api`.

pub mod http;
pub mod platform;
pub mod session;
pub mod socket;

pub use http::{ApiError, Failure, call, call_text, decode, encode, get, login, send, signup, signup_invited};
pub use platform::{HttpResponse, PlatformError, Socket, SocketEvent};
