//! What an invitation link's page says: the offer in one sentence, and why a link no longer works
//! (used, revoked, expired, unknown) in words a person can act on, from the server's error code.

use aos_api::{ErrorCode, InvitationPreview};
use aos_web_client::Failure;

/// "Olive invited you to join Acme as editor".
pub fn offer(preview: &InvitationPreview) -> String {
    format!("{} invited you to join {} as {}", preview.invited_by, preview.org_name, preview.role)
}

/// Why the link cannot be used, when the refusal is about the link itself.
pub fn refusal(code: &Failure) -> Option<&'static str> {
    match code {
        Failure::Refused(ErrorCode::InvitationUsed) => Some(
            "This invitation link has already been used: each link works once. If you joined with it, sign in to open the org.",
        ),
        Failure::Refused(ErrorCode::InvitationRevoked) => {
            Some("This invitation was revoked. Ask whoever invited you for a new link.")
        }
        Failure::Refused(ErrorCode::InvitationExpired) => {
            Some("This invitation has expired. Ask whoever invited you for a new link.")
        }
        Failure::Refused(ErrorCode::NotFound) => {
            Some("This invitation link is not valid. Check that you copied all of it.")
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use aos_schema::{OrgId, Role};

    use super::*;

    #[test]
    fn the_offer_names_inviter_org_and_role() {
        let preview = InvitationPreview {
            org_id: OrgId::new(),
            org_name: "Acme".into(),
            role: Role::Editor,
            email: "pat@example.test".into(),
            invited_by: "Olive".into(),
            expires_at: "2026-12-12T00:00:00.000000Z".into(),
        };
        assert_eq!(offer(&preview), "Olive invited you to join Acme as editor");
    }

    #[test]
    fn each_dead_link_says_why() {
        let used = refusal(&Failure::Refused(ErrorCode::InvitationUsed)).unwrap();
        assert!(used.contains("already been used"), "{used}");
        assert!(refusal(&Failure::Refused(ErrorCode::InvitationRevoked)).unwrap().contains("revoked"));
        assert!(refusal(&Failure::Refused(ErrorCode::InvitationExpired)).unwrap().contains("expired"));
        assert!(refusal(&Failure::Refused(ErrorCode::NotFound)).unwrap().contains("not valid"));
        assert_eq!(refusal(&Failure::Offline), None, "being offline is not the link's fault");
        assert_eq!(refusal(&Failure::Refused(ErrorCode::WrongInvitee)), None);
    }
}
