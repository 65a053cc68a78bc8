//! The org's members: who is in it with which role; admins add an existing account by email,
//! invite anyone by email with a link (`invitations.rs`), change roles and remove members (the
//! server keeps the rules: only owners grant or change the owner role, and an org keeps at least
//! one owner).

use aos_schema::{Role, UserId};
use dioxus::prelude::*;

use crate::api;
use crate::ui::common::{Confirm, ConfirmDialog, Ctx, ErrorNote, Loading, PageHead, When};
use crate::ui::invitations::InvitePanel;
use aos_api::{AddMember, Member, RoleChange};

#[component]
pub fn MembersPage() -> Element {
    let ctx = use_context::<Ctx>();
    let mut members = use_resource(move || async move {
        let org = (ctx.org)();
        api::get::<Vec<Member>>(&format!("/api/orgs/{org}/members")).await
    });
    let admin = ctx.is_org_admin();
    let mut email = use_signal(String::new);
    let mut role = use_signal(|| Role::Editor);
    let mut problem = use_signal(|| None::<String>);
    let mut done = use_signal(|| None::<String>);
    let mut removing = use_signal(|| None::<Member>);

    let add = move |event: FormEvent| async move {
        event.prevent_default();
        let org = (ctx.org)();
        let request = AddMember { email: email.read().trim().to_owned(), role: role() };
        match api::send::<Member>("POST", &format!("/api/orgs/{org}/members"), &request).await {
            Ok(member) => {
                problem.set(None);
                done.set(Some(format!("{} joined as {}", member.name, member.role)));
                email.set(String::new());
            }
            Err(err) => problem.set(Some(err.message)),
        }
        members.restart();
    };
    let change = move |(user, to): (UserId, Role)| async move {
        let org = (ctx.org)();
        let path = format!("/api/orgs/{org}/members/{user}");
        match api::send::<Member>("PATCH", &path, &RoleChange { role: to }).await {
            Ok(member) => {
                problem.set(None);
                done.set(Some(format!("{} is now {}", member.name, member.role)));
            }
            Err(err) => problem.set(Some(err.message)),
        }
        members.restart();
    };
    let answer_remove = move |yes: bool| async move {
        let Some(member) = removing() else { return };
        removing.set(None);
        if yes {
            let org = (ctx.org)();
            match api::call("DELETE", &format!("/api/orgs/{org}/members/{}", member.user_id), None).await {
                Ok(()) => done.set(Some(format!("{} was removed", member.name))),
                Err(err) => problem.set(Some(err.message)),
            }
            members.restart();
        }
    };

    let list = match &*members.read() {
        None => rsx! { Loading {} },
        Some(Err(err)) => rsx! { ErrorNote { error: err.clone() } },
        Some(Ok(rows)) => rsx! {
            MembersTable {
                rows: rows.clone(),
                me: ctx.me.read().user_id,
                admin,
                on_role: move |pick: (UserId, Role)| { spawn(change(pick)); },
                on_remove: move |member: Member| removing.set(Some(member)),
            }
        },
    };
    rsx! {
        section { class: "page", "data-testid": "members-page",
            PageHead { title: "Members" }
            p { class: "muted", "Everyone here can open the org's workflows in the studio and edit them together, as their role allows." }
            if admin {
                form { class: "member-form glass", "data-testid": "member-form", onsubmit: add,
                    label { r#for: "member-email", "Email of an existing account" }
                    input { id: "member-email", r#type: "email", "data-testid": "member-email", value: "{email}", oninput: move |e| email.set(e.value()) }
                    label { r#for: "member-role", "Role" }
                    RolePicker { id: "member-role", testid: "member-role", value: role(), on_pick: move |r| role.set(r) }
                    button { class: "button button--primary", r#type: "submit", "data-testid": "member-add", "Add" }
                }
            } else {
                p { class: "muted", "Org admins add members and change roles." }
            }
            if let Some(text) = problem() {
                div { class: "note note--error", role: "alert", "data-testid": "member-error", "{text}" }
            }
            if let Some(text) = done() {
                div { class: "note", role: "status", "data-testid": "member-done", "{text}" }
            }
            {list}
            if admin {
                InvitePanel {}
            }
            if let Some(member) = removing() {
                ConfirmDialog {
                    confirm: Confirm {
                        title: format!("Remove {}?", member.name),
                        body: "They lose access to the org's workflows, runs and secrets at once.".into(),
                        action: "Remove".into(),
                    },
                    on_answer: answer_remove,
                }
            }
        }
    }
}

/// The members with their roles; for admins a role picker and a remove button on each row.
#[component]
fn MembersTable(
    rows: Vec<Member>,
    me: UserId,
    admin: bool,
    on_role: EventHandler<(UserId, Role)>,
    on_remove: EventHandler<Member>,
) -> Element {
    rsx! {
        table { class: "table glass", "data-testid": "members-table",
            thead { tr { th { "Name" } th { "Email" } th { "Role" } th { "Member since" } th {} } }
            tbody {
                for m in rows {
                    tr { key: "{m.user_id}", "data-testid": "member-row", "data-email": "{m.email}", "data-role": "{m.role}",
                        td { "{m.name}" if m.user_id == me { span { class: "muted", " (you)" } } }
                        td { "{m.email}" }
                        td {
                            if admin {
                                RolePicker {
                                    id: format!("role-{}", m.user_id),
                                    testid: "member-role-change",
                                    label: format!("Role of {}", m.name),
                                    value: m.role,
                                    on_pick: { let user = m.user_id; move |r| on_role.call((user, r)) },
                                }
                            } else {
                                "{m.role}"
                            }
                        }
                        td { When { at: m.created_at.clone() } }
                        td {
                            if admin {
                                button {
                                    class: "button button--ghost",
                                    "data-testid": "member-remove",
                                    onclick: { let m = m.clone(); move |_| on_remove.call(m.clone()) },
                                    "Remove"
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A choice of role.
#[component]
pub fn RolePicker(
    id: String,
    testid: String,
    label: Option<String>,
    value: Role,
    on_pick: EventHandler<Role>,
) -> Element {
    rsx! {
        select {
            id: "{id}",
            "data-testid": "{testid}",
            "aria-label": label,
            onchange: move |e| { if let Ok(role) = e.value().parse::<Role>() { on_pick.call(role) } },
            for r in Role::ALL {
                option { key: "{r}", value: "{r}", selected: *r == value, "{r}" }
            }
        }
    }
}
