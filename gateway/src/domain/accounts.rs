//! Account rules: a plausible email, a password of a sane length, names that are not blank, and
//! the slug an org gets.

use super::DomainError;

/// The shortest password accepted.
pub const MIN_PASSWORD: usize = 8;
/// The longest password accepted in bytes (argon2 takes any length; this bounds the work per
/// request).
pub const MAX_PASSWORD: usize = 1024;

/// A new account's fields, checked and normalised (email lowercased, names trimmed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedAccount {
    pub email: String,
    pub name: String,
    pub org_name: String,
}

/// Checks what sign-up (or `automateos user create`) was given.
pub fn check_account(email: &str, password: &str, name: &str, org_name: &str) -> Result<CheckedAccount, DomainError> {
    let email = check_email(email)?;
    check_password(password)?;
    let name = check_text("name", name, 200)?.to_owned();
    let org_name = check_text("org_name", org_name, 200)?.to_owned();
    Ok(CheckedAccount { email, name, org_name })
}

/// A plausible email, lowercased.
pub fn check_email(email: &str) -> Result<String, DomainError> {
    let email = email.trim().to_lowercase();
    let plausible = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
        && !email.chars().any(char::is_whitespace);
    if plausible { Ok(email) } else { Err(DomainError::invalid("email is not a valid address")) }
}

/// A password of at least [`MIN_PASSWORD`] characters and at most [`MAX_PASSWORD`] bytes.
pub fn check_password(password: &str) -> Result<(), DomainError> {
    if password.chars().count() < MIN_PASSWORD {
        return Err(DomainError::invalid(format!("password must be at least {MIN_PASSWORD} characters")));
    }
    if password.len() > MAX_PASSWORD {
        return Err(DomainError::invalid(format!("password must be at most {MAX_PASSWORD} bytes")));
    }
    Ok(())
}

/// `value` trimmed, refused when empty or longer than `max` characters.
pub fn check_text<'a>(field: &str, value: &'a str, max: usize) -> Result<&'a str, DomainError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(DomainError::invalid(format!("{field} must not be empty")));
    }
    if value.chars().count() > max {
        return Err(DomainError::invalid(format!("{field} must be at most {max} characters")));
    }
    Ok(value)
}

/// A URL-safe unique slug for an org name: its letters and digits, dashed, plus a random suffix.
pub fn slug_for(name: &str) -> String {
    let mut slug = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
        if slug.len() >= 40 {
            break;
        }
    }
    let slug = slug.trim_end_matches('-');
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let suffix = suffix.get(..8).unwrap_or("org");
    if slug.is_empty() { format!("org-{suffix}") } else { format!("{slug}-{suffix}") }
}

#[cfg(test)]
mod tests {
    use aos_api::ErrorCode;

    use super::*;

    #[test]
    fn accounts_are_checked_and_normalised() {
        let account = check_account(" Ada@Example.TEST ", "correct horse", " Ada ", " Analytical ").unwrap();
        assert_eq!(
            account,
            CheckedAccount { email: "ada@example.test".into(), name: "Ada".into(), org_name: "Analytical".into() }
        );
        for (email, password, name, org) in [
            ("not-an-email", "correct horse", "Ada", "Org"),
            ("ada@example.test", "short", "Ada", "Org"),
            ("ada@example.test", &"x".repeat(MAX_PASSWORD + 1), "Ada", "Org"),
            ("ada@example.test", "correct horse", "  ", "Org"),
            ("ada@example.test", "correct horse", "Ada", &"o".repeat(201)),
        ] {
            let refused = check_account(email, password, name, org).unwrap_err();
            assert_eq!(refused.code, ErrorCode::InvalidInput, "{refused}");
        }
    }

    #[test]
    fn slugs_are_url_safe_and_unique() {
        let a = slug_for("Ada's Team: Analytics!");
        assert!(a.starts_with("ada-s-team-analytics-"), "{a}");
        assert!(a.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'));
        assert_ne!(slug_for("x"), slug_for("x"));
        assert!(slug_for("!!!").starts_with("org-"));
    }
}
