//! The starter templates (`templates/*.json` at the repository root, embedded in the binary) seeded
//! into the gallery on start: published by a built-in "AutomateOS" org under a system account that
//! cannot log in. Seeding is idempotent: a template whose file is unchanged gets no new version; a
//! changed file is published as the template's next version.

use aos_persistence::{By, NewTemplate, NewTemplateVersion, NewUser, Store, StoreError};
use aos_schema::OrgId;

/// Every starter template: (slug, canonical export file).
pub const STARTER_TEMPLATES: &[(&str, &str)] = &[
    ("ai-answer-endpoint", include_str!("../../templates/ai-answer-endpoint.json")),
    ("ai-email-drafter", include_str!("../../templates/ai-email-drafter.json")),
    ("ai-lead-intros", include_str!("../../templates/ai-lead-intros.json")),
    ("ai-summary-to-slack", include_str!("../../templates/ai-summary-to-slack.json")),
    ("ai-support-triage", include_str!("../../templates/ai-support-triage.json")),
    ("api-to-api-sync", include_str!("../../templates/api-to-api-sync.json")),
    ("big-order-alert", include_str!("../../templates/big-order-alert.json")),
    ("contact-form-to-email", include_str!("../../templates/contact-form-to-email.json")),
    ("daily-exchange-rates", include_str!("../../templates/daily-exchange-rates.json")),
    ("daily-sheets-digest", include_str!("../../templates/daily-sheets-digest.json")),
    ("error-alert-routing", include_str!("../../templates/error-alert-routing.json")),
    ("exchange-rate-endpoint", include_str!("../../templates/exchange-rate-endpoint.json")),
    ("feedback-sentiment", include_str!("../../templates/feedback-sentiment.json")),
    ("form-to-sheets", include_str!("../../templates/form-to-sheets.json")),
    ("github-issue-labeler", include_str!("../../templates/github-issue-labeler.json")),
    ("github-push-to-slack", include_str!("../../templates/github-push-to-slack.json")),
    ("incident-escalation", include_str!("../../templates/incident-escalation.json")),
    ("lead-capture", include_str!("../../templates/lead-capture.json")),
    ("manual-slack-announcement", include_str!("../../templates/manual-slack-announcement.json")),
    ("payment-event-routing", include_str!("../../templates/payment-event-routing.json")),
    ("pre-release-status-check", include_str!("../../templates/pre-release-status-check.json")),
    ("sheets-rows-to-slack", include_str!("../../templates/sheets-rows-to-slack.json")),
    ("sheets-to-crm-sync", include_str!("../../templates/sheets-to-crm-sync.json")),
    ("standup-reminder", include_str!("../../templates/standup-reminder.json")),
    ("uptime-check", include_str!("../../templates/uptime-check.json")),
    ("webhook-relay", include_str!("../../templates/webhook-relay.json")),
    ("webhook-to-slack", include_str!("../../templates/webhook-to-slack.json")),
    ("weekly-metrics-to-sheets", include_str!("../../templates/weekly-metrics-to-sheets.json")),
    ("welcome-and-follow-up", include_str!("../../templates/welcome-and-follow-up.json")),
];

/// The account the starter templates are credited to. Its password hash is not a PHC string, so no
/// password matches it.
const SYSTEM_EMAIL: &str = "gallery@automateos.invalid";

/// How many templates were published (new or changed) by one seeding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seeded {
    pub published: usize,
    pub unchanged: usize,
}

/// Why seeding failed.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("starter template {slug} is not a valid export file: {reason}")]
    BadFile { slug: &'static str, reason: String },
}

/// Publishes every starter template that is missing or changed.
///
/// Nodes starting together on one database race to seed: the loser of a race hits a unique key
/// (`Conflict`) and seeds again, now finding the winner's rows.
pub async fn seed_starter_templates(store: &Store) -> Result<Seeded, SeedError> {
    let mut attempts = 0;
    loop {
        attempts += 1;
        match seed_once(store).await {
            Err(SeedError::Store(StoreError::Conflict { what })) if attempts < 5 => {
                tracing::info!(what = %what, "another node is seeding the starter templates, seeding again");
                tokio::time::sleep(std::time::Duration::from_millis(100 * attempts)).await;
            }
            outcome => return outcome,
        }
    }
}

async fn seed_once(store: &Store) -> Result<Seeded, SeedError> {
    let org = system_org(store).await?;
    let user = store
        .orgs()
        .user_by_email(SYSTEM_EMAIL)
        .await?
        .ok_or(StoreError::NotFound { entity: "user", id: SYSTEM_EMAIL.into() })?;
    let existing = store.templates().org_templates(org).await?;
    let mut seeded = Seeded { published: 0, unchanged: 0 };
    for (slug, text) in STARTER_TEMPLATES {
        let file =
            aos_schema::import(text.as_bytes()).map_err(|err| SeedError::BadFile { slug, reason: err.to_string() })?;
        let checksum = file.checksum().map_err(|err| SeedError::BadFile { slug, reason: err.to_string() })?;
        let template = match existing.iter().find(|t| t.slug == *slug) {
            Some(template) => template.clone(),
            None => {
                let new = NewTemplate {
                    org,
                    creator: user.id,
                    slug: (*slug).to_owned(),
                    name: file.name.clone(),
                    description: file.description.clone().unwrap_or_default(),
                    category: file.category.clone().unwrap_or_else(|| "logic".into()),
                };
                store.templates().create_template(&new, By::System).await?
            }
        };
        if template.latest_version > 0 && store.templates().latest_version(template.id).await?.checksum == checksum {
            seeded.unchanged += 1;
            continue;
        }
        let content = NewTemplateVersion {
            export: file.to_canonical_string().map_err(|err| SeedError::BadFile { slug, reason: err.to_string() })?,
            checksum,
            required_secrets: file.required_secrets(),
        };
        store.templates().publish_version(org, template.id, &content, By::System).await?;
        seeded.published += 1;
    }
    Ok(seeded)
}

/// The built-in org that publishes the starter templates, created with its account on first use.
async fn system_org(store: &Store) -> Result<OrgId, StoreError> {
    if let Some(user) = store.orgs().user_by_email(SYSTEM_EMAIL).await?
        && let Some(membership) = store.orgs().memberships_of(user.id).await?.first()
    {
        return Ok(membership.org_id);
    }
    let user = NewUser { email: SYSTEM_EMAIL.into(), name: "AutomateOS".into(), password_hash: "!system".into() };
    match store.orgs().create_user_with_org(&user, "AutomateOS", "automateos").await {
        Ok((_, org)) => Ok(org.id),
        // Another node seeded at the same time: use theirs.
        Err(StoreError::Conflict { .. }) => {
            let user = store
                .orgs()
                .user_by_email(SYSTEM_EMAIL)
                .await?
                .ok_or(StoreError::NotFound { entity: "user", id: SYSTEM_EMAIL.into() })?;
            let membership = store.orgs().memberships_of(user.id).await?.into_iter().next();
            membership.map(|m| m.org_id).ok_or(StoreError::NotFound { entity: "org", id: "automateos".into() })
        }
        Err(other) => Err(other),
    }
}
