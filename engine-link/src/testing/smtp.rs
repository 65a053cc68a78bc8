//! A small SMTP server on loopback speaking RFC 5321 as far as a submission client needs: EHLO/HELO,
//! AUTH PLAIN and LOGIN (when it has credentials), MAIL FROM, RCPT TO, DATA (with dot-unstuffing),
//! RSET, NOOP, QUIT. It keeps every accepted message and can be told to refuse a recipient or to
//! answer a command with a given reply (a 4xx to test retries, a 5xx to test refusals).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpStream};

pub const USERNAME: &str = "mailer@example.test";
pub const PASSWORD: &str = "smtp-pass-7d1e";

/// How the server behaves.
#[derive(Debug, Clone, Default)]
pub struct Behaviour {
    /// Required AUTH credentials; `None` offers no AUTH at all.
    pub credentials: Option<(String, String)>,
    /// Recipients answered `550 5.1.1`.
    pub unknown_recipients: Vec<String>,
    /// Replies that override the normal answer to a command, by verb (`MAIL`, `RCPT`, `DATA`), or
    /// to the end of the message (`.`), or the greeting (`GREETING`).
    pub replies: BTreeMap<&'static str, String>,
    /// Accept connections but never say a word (a hung server).
    pub silent: bool,
}

/// A message the server accepted.
#[derive(Debug, Clone, Default)]
pub struct Delivered {
    pub ehlo: String,
    /// `(username, password)` the client authenticated with.
    pub auth: Option<(String, String)>,
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    /// The message as sent after DATA (headers and body, CRLF line ends, dots unstuffed).
    pub data: String,
}

impl Delivered {
    /// The value of header `name` (first occurrence, unfolded).
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next()?;
        let mut value: Option<String> = None;
        for line in head.split("\r\n") {
            if let Some(v) = value.as_mut() {
                if line.starts_with([' ', '\t']) {
                    v.push_str(line);
                    continue;
                }
                break;
            }
            if let Some((n, v)) = line.split_once(':')
                && n.eq_ignore_ascii_case(name)
            {
                value = Some(v.trim().to_owned());
            }
        }
        value
    }

    pub fn body(&self) -> &str {
        self.data.split_once("\r\n\r\n").map_or("", |(_, body)| body)
    }
}

#[derive(Debug, Default)]
struct State {
    behaviour: Behaviour,
    delivered: Vec<Delivered>,
    /// Every command line received, in order (AUTH payloads included, for assertions only).
    commands: Vec<String>,
    /// Connections accepted.
    connections: usize,
}

/// The server; it listens until the test's runtime ends.
#[derive(Debug, Clone)]
pub struct SmtpServer {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

impl SmtpServer {
    pub async fn start(behaviour: Behaviour) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State { behaviour, ..State::default() }));
        let shared = state.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                shared.lock().unwrap().connections += 1;
                tokio::spawn(session(stream, shared.clone()));
            }
        });
        Self { addr, state }
    }

    /// `smtp://127.0.0.1:port?tls=none`: plain SMTP, as this server speaks no TLS.
    pub fn url(&self) -> String {
        format!("smtp://{}?tls=none", self.addr)
    }

    pub fn delivered(&self) -> Vec<Delivered> {
        self.state.lock().unwrap().delivered.clone()
    }

    pub fn commands(&self) -> Vec<String> {
        self.state.lock().unwrap().commands.clone()
    }

    pub fn connections(&self) -> usize {
        self.state.lock().unwrap().connections
    }
}

async fn reply(writer: &mut OwnedWriteHalf, text: &str) -> std::io::Result<()> {
    writer.write_all(format!("{text}\r\n").as_bytes()).await
}

async fn session(stream: TcpStream, state: Arc<Mutex<State>>) -> std::io::Result<()> {
    let (reader, mut writer) = stream.into_split();
    let mut lines = BufReader::new(reader).lines();
    let behaviour = state.lock().unwrap().behaviour.clone();
    if behaviour.silent {
        while lines.next_line().await?.is_some() {}
        return Ok(());
    }
    let answer = |verb: &str, normal: &str| behaviour.replies.get(verb).cloned().unwrap_or_else(|| normal.to_owned());
    let greeting = answer("GREETING", "220 fake.smtp.test ESMTP ready");
    reply(&mut writer, &greeting).await?;
    if !greeting.starts_with('2') {
        return Ok(());
    }
    let mut current = Delivered::default();
    let mut authenticated = behaviour.credentials.is_none();
    while let Some(line) = lines.next_line().await? {
        state.lock().unwrap().commands.push(line.clone());
        let (verb, arg) = line.split_once(' ').unwrap_or((line.as_str(), ""));
        match verb.to_ascii_uppercase().as_str() {
            "EHLO" => {
                current = Delivered { ehlo: arg.to_owned(), ..Delivered::default() };
                let mut extensions = vec!["fake.smtp.test greets you", "8BITMIME", "SIZE 10485760"];
                if behaviour.credentials.is_some() {
                    extensions.push("AUTH PLAIN LOGIN");
                }
                let last = extensions.len() - 1;
                for (i, ext) in extensions.iter().enumerate() {
                    reply(&mut writer, &format!("250{}{ext}", if i == last { ' ' } else { '-' })).await?;
                }
            }
            "HELO" => {
                current = Delivered { ehlo: arg.to_owned(), ..Delivered::default() };
                reply(&mut writer, "250 fake.smtp.test").await?;
            }
            "AUTH" if behaviour.credentials.is_some() => {
                let (mechanism, initial) = arg.split_once(' ').unwrap_or((arg, ""));
                let decode =
                    |b64: &str| String::from_utf8(BASE64.decode(b64.trim()).unwrap_or_default()).unwrap_or_default();
                let given = match mechanism.to_ascii_uppercase().as_str() {
                    "PLAIN" => {
                        let payload = if initial.is_empty() {
                            reply(&mut writer, "334 ").await?;
                            lines.next_line().await?.unwrap_or_default()
                        } else {
                            initial.to_owned()
                        };
                        let decoded = decode(&payload);
                        let mut parts = decoded.split('\0').skip(1);
                        (parts.next().unwrap_or_default().to_owned(), parts.next().unwrap_or_default().to_owned())
                    }
                    "LOGIN" => {
                        reply(&mut writer, "334 VXNlcm5hbWU6").await?;
                        let user = decode(&lines.next_line().await?.unwrap_or_default());
                        reply(&mut writer, "334 UGFzc3dvcmQ6").await?;
                        let pass = decode(&lines.next_line().await?.unwrap_or_default());
                        (user, pass)
                    }
                    _ => {
                        reply(&mut writer, "504 5.5.4 Unrecognized authentication type").await?;
                        continue;
                    }
                };
                if Some(&given) == behaviour.credentials.as_ref() {
                    authenticated = true;
                    current.auth = Some(given);
                    reply(&mut writer, "235 2.7.0 Authentication successful").await?;
                } else {
                    reply(&mut writer, "535 5.7.8 Authentication credentials invalid").await?;
                }
            }
            "MAIL" if !authenticated => reply(&mut writer, "530 5.7.0 Authentication required").await?,
            "MAIL" => {
                current.mail_from = address(arg);
                current.rcpt_to.clear();
                reply(&mut writer, &answer("MAIL", "250 2.1.0 Ok")).await?;
            }
            "RCPT" => {
                let to = address(arg);
                if behaviour.unknown_recipients.contains(&to) {
                    reply(&mut writer, &format!("550 5.1.1 <{to}>: Recipient address rejected: User unknown")).await?;
                    continue;
                }
                let answer = answer("RCPT", "250 2.1.5 Ok");
                if answer.starts_with('2') {
                    current.rcpt_to.push(to);
                }
                reply(&mut writer, &answer).await?;
            }
            "DATA" if current.rcpt_to.is_empty() => reply(&mut writer, "554 5.5.1 Error: no valid recipients").await?,
            "DATA" => {
                let answer_data = answer("DATA", "354 End data with <CR><LF>.<CR><LF>");
                reply(&mut writer, &answer_data).await?;
                if !answer_data.starts_with('3') {
                    continue;
                }
                let mut data = Vec::new();
                while let Some(line) = lines.next_line().await? {
                    if line == "." {
                        break;
                    }
                    data.push(line.strip_prefix('.').map(str::to_owned).unwrap_or(line));
                }
                let end = answer(".", "250 2.0.0 Ok: queued as 4F2A1B");
                if end.starts_with('2') {
                    current.data = data.join("\r\n");
                    state.lock().unwrap().delivered.push(current.clone());
                }
                reply(&mut writer, &end).await?;
            }
            "RSET" => {
                current = Delivered { ehlo: current.ehlo.clone(), auth: current.auth.clone(), ..Delivered::default() };
                reply(&mut writer, "250 2.0.0 Ok").await?;
            }
            "NOOP" => reply(&mut writer, "250 2.0.0 Ok").await?,
            "QUIT" => {
                reply(&mut writer, "221 2.0.0 Bye").await?;
                return Ok(());
            }
            _ => reply(&mut writer, "502 5.5.2 Error: command not recognized").await?,
        }
    }
    Ok(())
}

/// The address in `FROM:<a@b> SIZE=…` or `TO:<a@b>`.
fn address(arg: &str) -> String {
    let start = arg.find('<').map_or(0, |i| i + 1);
    let end = arg[start..].find('>').map_or(arg.len(), |i| start + i);
    arg[start..end].to_owned()
}
