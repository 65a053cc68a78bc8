//! The signed-in session, shared by the studio and the dashboard through the same two
//! local-storage keys: the access token every call carries and the refresh token that replaces it.
//!
//! A refused access token is renewed once for everyone: calls refused at the same time wait for
//! the one refresh in flight instead of each sending the refresh token (the server rotates it, so
//! every refresh after the first would be refused). A call refused with a token that has since
//! been replaced just tries again with the new one. Tokens are forgotten only when the server
//! refused the very tokens still stored, never because an older copy was refused.

use std::cell::RefCell;
use std::rc::Rc;

use aos_api::{Refresh, Tokens};
use futures_util::FutureExt;
use futures_util::future::{LocalBoxFuture, Shared};

use crate::platform;

/// Where the access token lives.
pub const TOKEN_KEY: &str = "aos.token";
/// Where the refresh token lives.
pub const REFRESH_KEY: &str = "aos.refresh";

type Listener = Rc<dyn Fn(Option<&str>)>;

thread_local! {
    static LISTENERS: RefCell<Vec<Listener>> = const { RefCell::new(Vec::new()) };
    static REFRESHING: RefCell<Option<Shared<LocalBoxFuture<'static, bool>>>> = const { RefCell::new(None) };
}

/// The access token, if signed in.
pub fn token() -> Option<String> {
    platform::storage_get(TOKEN_KEY)
}

pub fn signed_in() -> bool {
    token().is_some()
}

/// Calls `listener` with the new access token (`None`: signed out) whenever the session changes
/// in this page, for as long as the page lives.
pub fn watch(listener: impl Fn(Option<&str>) + 'static) {
    LISTENERS.with(|l| l.borrow_mut().push(Rc::new(listener)));
}

fn changed(token: Option<&str>) {
    // listeners may call back into the session: call them outside the borrow
    let listeners = LISTENERS.with(|l| l.borrow().clone());
    for listener in listeners {
        listener(token);
    }
}

/// Keeps new tokens (after sign-up, login or refresh).
pub fn remember(tokens: &Tokens) {
    platform::storage_set(TOKEN_KEY, &tokens.token);
    platform::storage_set(REFRESH_KEY, &tokens.refresh_token);
    changed(Some(&tokens.token));
}

/// Forgets the tokens: signed out.
pub fn forget() {
    platform::storage_remove(TOKEN_KEY);
    platform::storage_remove(REFRESH_KEY);
    changed(None);
}

/// Forgets the tokens if the access token is still `refused`; a newer session stays.
pub(crate) fn forget_if_current(refused: &str) {
    if token().as_deref() == Some(refused) {
        forget();
    }
}

/// After the server refused `refused`: whether a new access token is there to try. Waits for the
/// refresh in flight if there is one, starts one otherwise, and starts none when the stored token
/// already differs from the refused one.
pub(crate) async fn renew(refused: &str) -> bool {
    match token() {
        Some(current) if current != refused => return true,
        None => return false,
        Some(_) => {}
    }
    let flight =
        REFRESHING.with(|slot| slot.borrow_mut().get_or_insert_with(|| refresh().boxed_local().shared()).clone());
    flight.await
}

/// Swaps the stored refresh token for new tokens, once.
async fn refresh() -> bool {
    let renewed = swap().await;
    // the next refusal (of the new token) gets a refresh of its own
    REFRESHING.with(|slot| slot.borrow_mut().take());
    renewed
}

async fn swap() -> bool {
    let Some(refresh_token) = platform::storage_get(REFRESH_KEY) else {
        // a refused access token and nothing to renew it with
        forget();
        return false;
    };
    let Ok(body) = serde_json::to_string(&Refresh { refresh_token: refresh_token.clone() }) else { return false };
    match platform::fetch("POST", "/api/auth/refresh", Some(body), None).await {
        Ok(response) if response.status == 200 => match serde_json::from_str::<Tokens>(&response.body) {
            Ok(tokens) => {
                remember(&tokens);
                true
            }
            Err(_) => false,
        },
        Ok(response) if response.status == 401 || response.status == 400 => {
            // refused: unless another page of this browser renewed meanwhile, the session is over
            if platform::storage_get(REFRESH_KEY).as_deref() == Some(refresh_token.as_str()) {
                forget();
            }
            false
        }
        // no answer, or the server is in trouble: keep the session for the next try
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    fn tokens(token: &str) -> Tokens {
        Tokens { token: token.into(), refresh_token: format!("r-{token}"), expires_in: 900 }
    }

    #[test]
    fn listeners_hear_every_change_and_only_the_refused_token_is_forgotten() {
        let heard = Rc::new(RefCell::new(Vec::new()));
        let sink = Rc::clone(&heard);
        watch(move |token| sink.borrow_mut().push(token.map(str::to_owned)));
        remember(&tokens("a"));
        assert_eq!(token().as_deref(), Some("a"));
        assert_eq!(platform::storage_get(REFRESH_KEY).as_deref(), Some("r-a"));
        remember(&tokens("b"));
        forget_if_current("a");
        assert!(signed_in(), "a refusal of the replaced token keeps the new session");
        forget_if_current("b");
        assert!(!signed_in() && platform::storage_get(REFRESH_KEY).is_none());
        assert_eq!(*heard.borrow(), [Some("a".to_owned()), Some("b".to_owned()), None]);
    }

    #[test]
    fn a_token_replaced_since_the_call_is_tried_again_without_a_refresh() {
        let polled = Cell::new(false);
        remember(&tokens("new"));
        let renewed = futures_util::FutureExt::now_or_never(async {
            polled.set(true);
            renew("old").await
        });
        assert_eq!(renewed, Some(true));
        assert!(polled.get());
        // nothing started: the next refusal of the current token starts its own refresh
        assert!(REFRESHING.with(|slot| slot.borrow().is_none()));
        forget();
        assert_eq!(futures_util::FutureExt::now_or_never(renew("new")), Some(false), "signed out: nothing to renew");
    }
}
