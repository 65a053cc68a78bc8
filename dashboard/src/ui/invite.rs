//! An invitation link's page (`/app/invite/{token}`), signed in or not: it says who invited whom
//! to which org as what; a new person makes their account there (the email is the invitation's),
//! someone with an account signs in or, signed in already, joins with one click. Once joined, the
//! app opens on the org. A used, revoked, expired or unknown link says so.

use dioxus::prelude::*;

use crate::api::{self, TOKEN};
use crate::invite::{offer, refusal};
use crate::ui::common::Loading;
use crate::ui::shell::{Logo, choose_org};
use aos_api::{InvitationPreview, InvitationSignup, OrgView};
use aos_schema::OrgId;
use aos_web_client::platform;

/// The page of one link; `on_joined` hands over to the app once the person is in the org.
#[component]
pub fn InvitePage(token: String, on_joined: EventHandler<()>) -> Element {
    let path = format!("/api/invitations/{}", api::encode(&token));
    let preview = use_resource(move || {
        let path = path.clone();
        async move { api::get::<InvitationPreview>(&path).await }
    });
    let joined = move |org: OrgId| {
        choose_org(org);
        platform::push_path("/app/");
        on_joined.call(());
    };
    let body = match &*preview.read() {
        None => rsx! { Loading {} },
        Some(Err(err)) => {
            let text = refusal(&err.code).map_or_else(|| err.message.clone(), str::to_owned);
            rsx! {
                div { class: "note note--error", role: "alert", "data-testid": "invite-refused", "data-code": "{err.code}", "{text}" }
                a { class: "button", href: "/app/", "data-testid": "invite-to-app", "Go to the dashboard" }
            }
        }
        Some(Ok(preview)) => {
            let signed_in = TOKEN.read().is_some();
            let heading = offer(preview);
            rsx! {
                h1 { class: "invite__offer", "data-testid": "invite-offer", "{heading}" }
                if signed_in {
                    JoinAsMember { token: token.clone(), org: preview.org_name.clone(), on_joined: joined }
                } else {
                    JoinForm { token: token.clone(), email: preview.email.clone(), on_joined: joined }
                }
            }
        }
    };
    rsx! {
        main { class: "login",
            section { class: "login__card glass", "data-testid": "invite-page",
                div { class: "login__brand",
                    Logo {}
                    span { class: "topbar__name", "AutomateOS" }
                }
                {body}
            }
        }
    }
}

/// Signed in: one click joins (the server checks the account has the invited email).
#[component]
fn JoinAsMember(token: String, org: String, on_joined: EventHandler<OrgId>) -> Element {
    let mut problem = use_signal(|| None::<String>);
    let mut busy = use_signal(|| false);
    let join = move |_: MouseEvent| {
        let path = format!("/api/invitations/{}/accept", api::encode(&token));
        async move {
            busy.set(true);
            match api::call_text("POST", &path, None).await.and_then(|text| api::decode::<OrgView>(&text)) {
                Ok(org) => on_joined.call(org.id),
                Err(err) => problem.set(Some(refusal(&err.code).map_or(err.message, str::to_owned))),
            }
            busy.set(false);
        }
    };
    rsx! {
        p { class: "muted", "You are signed in. Joining adds {org} to your orgs." }
        if let Some(text) = problem() {
            div { class: "note note--error", role: "alert", "data-testid": "invite-error", "{text}" }
            button { class: "button button--ghost", "data-testid": "invite-other-account", onclick: move |_| api::forget(),
                "Use another account"
            }
        }
        button { class: "button button--primary", disabled: busy(), "data-testid": "invite-join", onclick: join,
            if busy() { "Joining…" } else { "Join {org}" }
        }
    }
}

/// Signed out: a new person makes their account (name and password; the email is fixed), or
/// someone with an account signs in, which turns this into [`JoinAsMember`].
#[component]
fn JoinForm(token: String, email: String, on_joined: EventHandler<OrgId>) -> Element {
    let mut name = use_signal(String::new);
    let mut password = use_signal(String::new);
    let mut has_account = use_signal(|| false);
    let mut problem = use_signal(|| None::<String>);
    let mut busy = use_signal(|| false);
    let fixed_email = email.clone();
    let submit = move |event: FormEvent| {
        event.prevent_default();
        let (token, email) = (token.clone(), fixed_email.clone());
        async move {
            busy.set(true);
            problem.set(None);
            let outcome = if has_account() {
                // signed in, the page offers the join button
                api::login(&email, &password.read()).await
            } else {
                let form = InvitationSignup { name: name.read().trim().to_owned(), password: password.read().clone() };
                api::signup_invited(&token, &form).await.map(|signed_up| on_joined.call(signed_up.org_id))
            };
            if let Err(err) = outcome {
                problem.set(Some(refusal(&err.code).map_or(err.message, str::to_owned)));
            }
            busy.set(false);
        }
    };
    let action = match (has_account(), busy()) {
        (false, false) => "Create account and join",
        (false, true) => "Creating your account…",
        (true, false) => "Sign in",
        (true, true) => "Signing in…",
    };
    rsx! {
        form { class: "invite__form", "data-testid": "invite-form", onsubmit: submit,
            label { r#for: "invite-email", "Email" }
            input { id: "invite-email", r#type: "email", readonly: true, "data-testid": "invite-email", value: "{email}" }
            if !has_account() {
                label { r#for: "invite-name", "Your name" }
                input {
                    id: "invite-name",
                    autocomplete: "name",
                    required: true,
                    "data-testid": "invite-name",
                    value: "{name}",
                    oninput: move |e| name.set(e.value()),
                }
            }
            label { r#for: "invite-password", "Password" }
            input {
                id: "invite-password",
                r#type: "password",
                autocomplete: if has_account() { "current-password" } else { "new-password" },
                required: true,
                minlength: if has_account() { "1" } else { "8" },
                "data-testid": "invite-password",
                value: "{password}",
                oninput: move |e| password.set(e.value()),
            }
            if let Some(text) = problem() {
                div { class: "note note--error", role: "alert", "data-testid": "invite-error", "{text}" }
            }
            button { class: "button button--primary", r#type: "submit", disabled: busy(), "data-testid": "invite-submit", "{action}" }
            button {
                class: "button button--ghost",
                r#type: "button",
                "data-testid": "invite-has-account",
                onclick: move |_| {
                    has_account.set(!has_account());
                    problem.set(None);
                },
                if has_account() { "I am new here" } else { "I already have an account" }
            }
        }
    }
}
