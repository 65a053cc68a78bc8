//! `email.send`: a plain-text email through an SMTP server (lettre's async SMTP client), with
//! optional AUTH (PLAIN or LOGIN). Outputs `{message_id}`, the Message-ID header it sent.
//!
//! `base_url` picks the server and the encryption: `smtps://host[:465]` is TLS from the first
//! byte; `smtp://host[:587]` upgrades with STARTTLS and refuses a server that does not offer it;
//! `smtp://host:port?tls=none` sends unencrypted, for a relay on a trusted network or a test
//! server. The host is resolved and checked against the egress policy like any HTTP request, and
//! the connection goes to the checked addresses only.
//!
//! Errors: 4xx replies, timeouts and connection failures are retryable; 5xx replies (a refused
//! recipient, failed authentication), TLS failures and bad addresses are permanent.

use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use lettre::Message;
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, Mailboxes};
use lettre::transport::smtp;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use reqwest::Url;
use serde_json::{Value, json};

use super::{NodeCall, type_name};
use crate::protocol::{StepError, StepOutput};

/// Limit on connecting to one address.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Limit on the whole SMTP session, from connecting to the server's acceptance of the message.
const SESSION_TIMEOUT: Duration = Duration::from_secs(60);

pub(super) async fn send(call: &NodeCall<'_>) -> Result<StepOutput, StepError> {
    let server = Server::from_config(call.text("base_url")?)?;
    let credentials = credentials(call)?;
    let from = Mailbox::from_str(call.text("from")?.trim()).map_err(|err| bad_address("from", err))?;
    let to = recipients(call)?;
    let message_id = format!("<{}@{}>", uuid::Uuid::new_v4().simple(), from.email.domain());
    let mut builder = Message::builder()
        .from(from)
        .subject(call.text("subject")?)
        .message_id(Some(message_id.clone()))
        .header(ContentType::TEXT_PLAIN);
    for mailbox in to {
        builder = builder.to(mailbox);
    }
    let message = builder
        .body(call.text("body")?.to_owned())
        .map_err(|err| StepError::permanent("bad_message", format!("the email cannot be built: {err}")))?;
    let bytes = message.formatted();

    let addrs = call.http.policy().resolve(&server.host, server.port).await?;
    let session = deliver(&server, &addrs, credentials.as_ref(), message.envelope(), &bytes);
    tokio::time::timeout(SESSION_TIMEOUT, session)
        .await
        .map_err(|_| StepError::retryable("timeout", "the smtp server did not finish in time"))??;
    Ok(StepOutput { bytes: bytes.len() as u64, ..StepOutput::value(json!({ "message_id": message_id })) })
}

/// One SMTP session: connect (TLS first for `smtps`), STARTTLS when required, AUTH when
/// credentials are set, MAIL/RCPT/DATA, QUIT.
async fn deliver(
    server: &Server,
    addrs: &[SocketAddr],
    credentials: Option<&Credentials>,
    envelope: &lettre::address::Envelope,
    bytes: &[u8],
) -> Result<(), StepError> {
    let hello = ClientId::default();
    let tls = || TlsParameters::new(server.host.clone()).map_err(|err| smtp_error(&err));
    let implicit = match server.tls {
        TlsMode::Implicit => Some(tls()?),
        TlsMode::StartTls | TlsMode::None => None,
    };
    let mut conn = AsyncSmtpConnection::connect_tokio1(addrs, Some(CONNECT_TIMEOUT), &hello, implicit, None)
        .await
        .map_err(|err| connect_error(&err))?;
    if server.tls == TlsMode::StartTls {
        if !conn.can_starttls() {
            conn.abort().await;
            return Err(StepError::permanent(
                "tls_unavailable",
                "the smtp server does not offer starttls (use smtps:// or, on a trusted network, ?tls=none)",
            ));
        }
        conn.starttls(tls()?, &hello).await.map_err(|err| smtp_error(&err))?;
    }
    let result = async {
        if let Some(credentials) = credentials {
            conn.auth(&[Mechanism::Plain, Mechanism::Login], credentials).await?;
        }
        conn.send(envelope, bytes).await
    }
    .await;
    match result {
        Ok(_) => {
            // the message is accepted; a failed QUIT changes nothing
            let _quit = conn.quit().await;
            Ok(())
        }
        Err(err) => {
            conn.abort().await;
            Err(smtp_error(&err))
        }
    }
}

/// How the connection is encrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TlsMode {
    /// TLS from the first byte (`smtps://`).
    Implicit,
    /// Plain connection upgraded with STARTTLS, which the server must offer (`smtp://`).
    StartTls,
    /// No encryption (`smtp://…?tls=none`).
    None,
}

/// Where to send, from `base_url`.
#[derive(Debug, PartialEq, Eq)]
struct Server {
    host: String,
    port: u16,
    tls: TlsMode,
}

impl Server {
    fn from_config(base_url: &str) -> Result<Self, StepError> {
        let bad = |problem: &str| StepError::bad_config("base_url", problem);
        let url = Url::parse(base_url.trim())
            .map_err(|err| StepError::bad_config("base_url", format!("is not a valid URL: {err}")))?;
        let (mut tls, default_port) = match url.scheme() {
            "smtp" => (TlsMode::StartTls, 587),
            "smtps" => (TlsMode::Implicit, 465),
            _ => return Err(bad("must be smtp://host:port or smtps://host:port")),
        };
        if !url.username().is_empty() || url.password().is_some() {
            return Err(bad("must not hold credentials (set username and password instead)"));
        }
        if !matches!(url.path(), "" | "/") {
            return Err(bad("must not have a path"));
        }
        for (key, value) in url.query_pairs() {
            match (key.as_ref(), value.as_ref(), tls) {
                ("tls", "none", TlsMode::StartTls) => tls = TlsMode::None,
                ("tls", "starttls" | "required", TlsMode::StartTls) => {}
                ("tls", _, _) => return Err(bad("takes ?tls=none or ?tls=starttls, and only with smtp://")),
                _ => return Err(bad("takes no query parameter but tls")),
            }
        }
        let host = url.host_str().filter(|h| !h.is_empty()).ok_or_else(|| bad("has no host"))?;
        let host = host.trim_start_matches('[').trim_end_matches(']').to_owned();
        Ok(Self { host, port: url.port().unwrap_or(default_port), tls })
    }
}

/// `username` and `password`, both or neither.
fn credentials(call: &NodeCall<'_>) -> Result<Option<Credentials>, StepError> {
    match (call.opt_text("username")?, call.opt_text("password")?) {
        (Some(username), Some(password)) => Ok(Some(Credentials::new(username.to_owned(), password.to_owned()))),
        (None, None) => Ok(None),
        (Some(_), None) => Err(StepError::bad_config("password", "is required when a username is set")),
        (None, Some(_)) => Err(StepError::bad_config("username", "is required when a password is set")),
    }
}

/// `to`: one address, several separated by commas, or a list of them.
fn recipients(call: &NodeCall<'_>) -> Result<Vec<Mailbox>, StepError> {
    let parts: Vec<String> = match call.config.get("to") {
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::String(s) => Ok(s.clone()),
                other => {
                    Err(StepError::bad_config("to", format!("must list addresses as text, got {}", type_name(other))))
                }
            })
            .collect::<Result<_, _>>()?,
        _ => vec![call.text("to")?.to_owned()],
    };
    let mut mailboxes = Vec::new();
    for part in parts.iter().map(|p| p.trim()).filter(|p| !p.is_empty()) {
        let parsed = Mailboxes::from_str(part).map_err(|err| bad_address("to", format!("{part:?}: {err}")))?;
        mailboxes.extend(parsed);
    }
    if mailboxes.is_empty() {
        return Err(StepError::bad_config("to", "is required"));
    }
    Ok(mailboxes)
}

fn bad_address(field: &str, problem: impl std::fmt::Display) -> StepError {
    StepError::permanent("bad_address", format!("config field `{field}` is not a valid email address: {problem}"))
}

/// A failure before the server greeted us: worth a retry unless the server refused outright.
fn connect_error(err: &smtp::Error) -> StepError {
    if err.is_permanent() || err.is_tls() || err.is_transient() {
        smtp_error(err)
    } else if err.is_timeout() {
        StepError::retryable("timeout", "connecting to the smtp server timed out")
    } else {
        StepError::retryable("connect_failed", "could not connect to the smtp server")
    }
}

/// The step error for an SMTP failure during the session.
fn smtp_error(err: &smtp::Error) -> StepError {
    let reply = std::error::Error::source(err).map(|s| s.to_string()).unwrap_or_default();
    let answered = |code: smtp::response::Code| format!("the smtp server answered {code}: {reply}");
    match err.status() {
        Some(code) if err.is_transient() => StepError::retryable("smtp_transient", answered(code)),
        Some(code) if matches!(code.to_string().as_str(), "530" | "534" | "535" | "538") => {
            StepError::permanent("unauthorized", answered(code))
        }
        Some(code) => StepError::permanent("smtp_rejected", answered(code)),
        None if err.is_timeout() => StepError::retryable("timeout", "the smtp server timed out"),
        None if err.is_tls() => StepError::permanent("tls_failed", format!("tls with the smtp server failed: {reply}")),
        None if err.is_client() => {
            StepError::permanent("smtp_unsupported", format!("the smtp session cannot go on: {reply}"))
        }
        None => StepError::retryable("smtp_transport", format!("the smtp session broke off: {err}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_pick_host_port_and_encryption() {
        let server = |u: &str| Server::from_config(u);
        assert_eq!(
            server("smtp://mail.example.com").unwrap(),
            Server { host: "mail.example.com".into(), port: 587, tls: TlsMode::StartTls }
        );
        assert_eq!(server("smtps://mail.example.com").unwrap().port, 465);
        assert_eq!(server("smtps://mail.example.com:2465").unwrap().tls, TlsMode::Implicit);
        assert_eq!(server("smtp://127.0.0.1:2525?tls=none").unwrap().tls, TlsMode::None);
        assert_eq!(server("smtp://[::1]:25?tls=none").unwrap().host, "::1");
        for bad in
            ["http://mail.example.com", "smtps://h?tls=none", "smtp://u:p@h", "smtp://h/x", "smtp://h?x=1", "nonsense"]
        {
            assert_eq!(server(bad).unwrap_err().code, "bad_config", "{bad}");
        }
    }
}
