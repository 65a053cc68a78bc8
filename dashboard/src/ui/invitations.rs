//! Inviting by email, on the members page (admins): an email and a role make a link to send — to
//! someone with or without an account — shown once with a copy button; the invitations not used
//! yet are listed, each with a revoke button.

use aos_schema::{InvitationId, Role};
use dioxus::prelude::*;

use crate::api;
use crate::ui::common::{Ctx, ErrorNote, Loading, When};
use crate::ui::members::RolePicker;
use aos_api::{CreatedInvitation, Invitation, NewInvitation};
use aos_web_client::platform;

#[component]
pub fn InvitePanel() -> Element {
    let ctx = use_context::<Ctx>();
    let mut pending = use_resource(move || async move {
        let org = (ctx.org)();
        api::get::<Vec<Invitation>>(&format!("/api/orgs/{org}/invitations")).await
    });
    let mut email = use_signal(String::new);
    let mut role = use_signal(|| Role::Editor);
    let mut problem = use_signal(|| None::<String>);
    // the link of the invitation just made: the server shows it this once
    let mut created = use_signal(|| None::<CreatedInvitation>);

    let invite = move |event: FormEvent| async move {
        event.prevent_default();
        let org = (ctx.org)();
        let request = NewInvitation { email: email.read().trim().to_owned(), role: role() };
        match api::send::<CreatedInvitation>("POST", &format!("/api/orgs/{org}/invitations"), &request).await {
            Ok(invitation) => {
                problem.set(None);
                email.set(String::new());
                created.set(Some(invitation));
            }
            Err(err) => problem.set(Some(err.message)),
        }
        pending.restart();
    };
    let revoke = move |id: InvitationId| async move {
        let org = (ctx.org)();
        match api::call("DELETE", &format!("/api/orgs/{org}/invitations/{id}"), None).await {
            Ok(()) => {
                problem.set(None);
                if created.read().as_ref().is_some_and(|c| c.invitation.id == id) {
                    created.set(None);
                }
            }
            Err(err) => problem.set(Some(err.message)),
        }
        pending.restart();
    };

    let list = match &*pending.read() {
        None => rsx! { Loading {} },
        Some(Err(err)) => rsx! { ErrorNote { error: err.clone() } },
        Some(Ok(rows)) if rows.is_empty() => {
            rsx! { p { class: "muted", "data-testid": "invites-none", "No invitation is waiting." } }
        }
        Some(Ok(rows)) => rsx! {
            PendingTable { rows: rows.clone(), on_revoke: move |id| { spawn(revoke(id)); } }
        },
    };
    rsx! {
        section { class: "invite-panel", "data-testid": "invite-panel",
            h2 { "Invite by email" }
            p { class: "muted", "For someone with or without an account: they get a link to join as the role you pick. It works once, for 7 days." }
            form { class: "member-form glass", "data-testid": "invite-form", onsubmit: invite,
                label { r#for: "invite-email", "Email" }
                input { id: "invite-email", r#type: "email", required: true, "data-testid": "invite-email", value: "{email}", oninput: move |e| email.set(e.value()) }
                label { r#for: "invite-role", "Role" }
                RolePicker { id: "invite-role", testid: "invite-role", value: role(), on_pick: move |r| role.set(r) }
                button { class: "button button--primary", r#type: "submit", "data-testid": "invite-send", "Create link" }
            }
            if let Some(text) = problem() {
                div { class: "note note--error", role: "alert", "data-testid": "invite-error", "{text}" }
            }
            if let Some(invitation) = created() {
                InviteLink { invitation }
            }
            {list}
        }
    }
}

/// The link just made, to send to the invitee; it is not shown again.
#[component]
fn InviteLink(invitation: CreatedInvitation) -> Element {
    let mut note = use_signal(|| None::<&'static str>);
    let url = invitation.url.clone();
    rsx! {
        div { class: "note invite-link", role: "status", "data-testid": "invite-link-box",
            p { "Send this link to {invitation.invitation.email}; it is shown only now. Whoever opens it joins as {invitation.invitation.role}." }
            div { class: "invite-link__row",
                input { class: "invite-link__url", readonly: true, value: "{invitation.url}", "data-testid": "invite-link", "aria-label": "Invitation link" }
                button { r#type: "button", class: "button", "data-testid": "invite-copy",
                    onclick: move |_| {
                        let url = url.clone();
                        async move {
                            let copied = platform::copy_text(&url).await;
                            note.set(Some(if copied { "Copied" } else { "Select the link and press Ctrl+C" }));
                        }
                    },
                    "Copy"
                }
                if let Some(text) = note() {
                    span { class: "muted", "data-testid": "invite-copied", "{text}" }
                }
            }
        }
    }
}

/// The invitations not used yet, with when they expire and a revoke button.
#[component]
fn PendingTable(rows: Vec<Invitation>, on_revoke: EventHandler<InvitationId>) -> Element {
    rsx! {
        table { class: "table glass", "data-testid": "invites-table",
            thead { tr { th { "Invited" } th { "Role" } th { "Expires" } th {} } }
            tbody {
                for i in rows {
                    tr { key: "{i.id}", "data-testid": "invite-row", "data-email": "{i.email}", "data-role": "{i.role}",
                        td { "{i.email}" }
                        td { "{i.role}" }
                        td { When { at: i.expires_at.clone() } }
                        td {
                            button {
                                class: "button button--ghost",
                                "data-testid": "invite-revoke",
                                onclick: { let id = i.id; move |_| on_revoke.call(id) },
                                "Revoke"
                            }
                        }
                    }
                }
            }
        }
    }
}
