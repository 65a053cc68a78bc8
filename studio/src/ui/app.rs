//! The root: the session gate (login or sign-up when there is no usable token), the header with
//! the breathing logo, and the page for the address bar's path.

use aos_ui_kit::components::Logo;
use dioxus::prelude::*;

use crate::api::{self, ApiError, Me};
use crate::route::Page;
use aos_web_client::platform;

/// Moves between pages without reloading.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Nav {
    pub page: Signal<Page>,
    /// Bumped to re-check the session (after a 401 anywhere).
    pub session: Signal<u32>,
}

impl Nav {
    pub fn go(mut self, page: Page) {
        platform::push_path(&page.path());
        self.page.set(page);
    }

    /// Reacts to an API error: a lost session shows the login screen.
    pub fn check(mut self, err: &ApiError) {
        if err.signed_out() {
            let next = *self.session.peek() + 1;
            self.session.set(next);
        }
    }
}

/// The session as the app knows it.
#[derive(Debug, Clone, PartialEq)]
enum Session {
    Checking,
    SignedOut,
    SignedIn(Me),
}

/// The studio.
#[component]
pub fn App() -> Element {
    let page = use_signal(|| Page::parse(&platform::pathname()));
    let session_epoch = use_signal(|| 0u32);
    let nav = use_context_provider(|| Nav { page, session: session_epoch });
    // back and forward move between pages too
    use_future(move || async move {
        let mut page = page;
        let mut changes = platform::path_changes();
        while let Some(path) = futures_util::StreamExt::next(&mut changes).await {
            page.set(Page::parse(&path));
        }
    });
    let mut session = use_signal(|| Session::Checking);
    use_effect(move || {
        let _ = session_epoch();
        spawn(async move {
            if !api::signed_in() {
                session.set(Session::SignedOut);
                return;
            }
            match api::me().await {
                Ok(me) => session.set(Session::SignedIn(me)),
                Err(_) => session.set(Session::SignedOut),
            }
        });
    });
    let on_signed_in = move |_| {
        let next = *nav.session.peek() + 1;
        let mut epoch = nav.session;
        epoch.set(next);
    };
    rsx! {
        div { class: "studio",
            match session() {
                Session::Checking => rsx! { div { class: "studio__loading", Logo { size: 96.0 } } },
                Session::SignedOut => rsx! { Login { on_signed_in } },
                Session::SignedIn(me) => rsx! { Shell { me } },
            }
        }
    }
}

/// The signed-in frame: header and page.
#[component]
fn Shell(me: Me) -> Element {
    let nav = use_context::<Nav>();
    let page = nav.page;
    let Some(org) = api::org_of(&me) else {
        return rsx! { p { class: "studio__empty", "this account belongs to no organisation" } };
    };
    let current = page();
    rsx! {
        header { class: "topbar aos-surface",
            a { class: "topbar__brand", href: "/studio/", onclick: move |evt: MouseEvent| { evt.prevent_default(); nav.go(Page::Workflows); },
                Logo { size: 44.0, with_name: true }
            }
            nav { class: "topbar__nav",
                button { class: if matches!(current, Page::Workflows | Page::Workflow(_)) { "topbar__link is-active" } else { "topbar__link" },
                    "data-testid": "nav-workflows", onclick: move |_| nav.go(Page::Workflows), "Workflows" }
                button { class: if matches!(current, Page::Gallery | Page::Creator(_)) { "topbar__link is-active" } else { "topbar__link" },
                    "data-testid": "nav-gallery", onclick: move |_| nav.go(Page::Gallery), "Gallery" }
            }
            div { class: "topbar__me",
                span { "data-testid": "me-name", "{me.name}" }
                button { class: "aos-button", "data-testid": "sign-out",
                    onclick: move |_| {
                        api::sign_out();
                        let mut epoch = nav.session;
                        let next = *epoch.peek() + 1;
                        epoch.set(next);
                    },
                    "Sign out"
                }
            }
        }
        main { class: "page",
            match current.clone() {
                Page::Workflows => rsx! { super::workflows::WorkflowList { org: org.clone() } },
                Page::Workflow(id) => rsx! { super::editor_page::EditorPage { key: "{id}", org: org.clone(), workflow_id: id.clone(), me_name: me.name.clone(), roles: me.orgs.clone() } },
                Page::Gallery => rsx! { super::gallery::Gallery { org: org.clone() } },
                Page::Creator(handle) => rsx! { super::gallery::CreatorPage { key: "{handle}", handle: handle.clone() } },
            }
        }
    }
}

/// Sign in, or create an account (and its organisation).
#[component]
fn Login(on_signed_in: EventHandler<()>) -> Element {
    let mut signing_up = use_signal(|| false);
    let mut email = use_signal(String::new);
    let mut password = use_signal(String::new);
    let mut name = use_signal(String::new);
    let mut org_name = use_signal(String::new);
    let mut error = use_signal(|| None::<String>);
    let mut busy = use_signal(|| false);
    let submit = move |evt: FormEvent| {
        evt.prevent_default();
        if busy() {
            return;
        }
        busy.set(true);
        error.set(None);
        spawn(async move {
            let result = if signing_up() {
                api::signup(&api::Signup { email: email(), password: password(), name: name(), org_name: org_name() })
                    .await
                    .map(|_| ())
            } else {
                api::login(&email(), &password()).await
            };
            busy.set(false);
            match result {
                Ok(()) => on_signed_in.call(()),
                Err(err) => error.set(Some(err.to_string())),
            }
        });
    };
    rsx! {
        div { class: "login",
            form { class: "login__card aos-surface", "data-testid": "login-form", onsubmit: submit,
                Logo { size: 120.0 }
                h1 { if signing_up() { "Create your studio" } else { "Welcome back" } }
                if signing_up() {
                    input { "data-testid": "signup-name", placeholder: "Your name", value: "{name}", oninput: move |e| name.set(e.value()) }
                    input { "data-testid": "signup-org", placeholder: "Organisation", value: "{org_name}", oninput: move |e| org_name.set(e.value()) }
                }
                input { "data-testid": "login-email", r#type: "email", placeholder: "Email", autocomplete: "username", value: "{email}", oninput: move |e| email.set(e.value()) }
                input { "data-testid": "login-password", r#type: "password", placeholder: "Password", autocomplete: "current-password", value: "{password}", oninput: move |e| password.set(e.value()) }
                if let Some(message) = error() {
                    p { class: "form-error", "data-testid": "login-error", "{message}" }
                }
                button { class: "aos-button aos-button--primary", "data-testid": "login-submit", r#type: "submit", disabled: busy(),
                    if signing_up() { "Create account" } else { "Sign in" }
                }
                button { class: "login__switch", r#type: "button", "data-testid": "login-switch",
                    onclick: move |_| signing_up.set(!signing_up()),
                    if signing_up() { "I have an account" } else { "New here? Create an account" }
                }
            }
        }
    }
}
