//! Builders that keep the conformance tests short.

use aos_persistence::{By, NewUser, Org, Store, User};

/// A user who owns a fresh org.
pub async fn owner_with_org(store: &Store) -> (User, Org) {
    let unique = uuid::Uuid::new_v4().simple().to_string();
    let new = NewUser {
        email: format!("owner-{unique}@example.test"),
        name: "Olive Owner".to_owned(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned(),
    };
    store.orgs().create_user_with_org(&new, "Acme", &format!("acme-{unique}")).await.expect("signup")
}

/// The actor for `user`.
pub fn by(user: &User) -> By {
    By::User(user.id)
}

/// Another user, not yet a member of anything.
pub async fn user(store: &Store, name: &str) -> User {
    let unique = uuid::Uuid::new_v4().simple().to_string();
    let new = NewUser {
        email: format!("{name}-{unique}@example.test"),
        name: name.to_owned(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned(),
    };
    store.orgs().create_user(&new).await.expect("create user")
}
