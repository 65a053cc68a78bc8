//! The integration nodes (Slack, Google Sheets, OpenAI, SMTP email) through the real embedded
//! engine, against real servers on loopback that speak those services' protocols: what the service
//! received, the output shape, and how each kind of failure is classed.

use aos_engine_link::testing::openai::{self, OpenAi};
use aos_engine_link::testing::sheets::{self, Sheets};
use aos_engine_link::testing::slack::{self, Slack};
use aos_engine_link::testing::smtp::{self, Behaviour, SmtpServer};
use aos_engine_link::testing::{Reply, Step, assert_permanent, assert_retryable, engine, public_engine};
use axum::http::Method;
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------
// slack.post_message

fn slack_step(fake: &aos_engine_link::testing::Fake<Slack>, config: Value) -> Step {
    let mut full =
        json!({ "base_url": slack::base_url(fake), "channel": "#deploys", "text": "{{ trigger.body.text }}" });
    full.as_object_mut().unwrap().extend(config.as_object().unwrap().clone());
    Step::new("slack.post_message", full).secret("SLACK_TOKEN", slack::TOKEN)
}

#[tokio::test]
async fn slack_posts_the_message_with_the_bot_token() {
    let fake = Slack::start().await;
    let step = slack_step(&fake, json!({ "text": "{{ trigger.body.text }} (score {{ trigger.body.score }})" }));
    let out = step.run(&engine()).await.unwrap();

    assert_eq!(out.output, json!({ "ok": true, "channel": "C061EG9SL", "ts": "1700000000.000001" }));
    assert!(out.bytes > 0);
    let [sent] = &fake.received()[..] else { panic!("one request expected") };
    assert_eq!(sent.method, Method::POST);
    assert_eq!(sent.raw_path, "/api/chat.postMessage");
    assert_eq!(sent.authorization.as_deref(), Some(format!("Bearer {}", slack::TOKEN).as_str()));
    assert!(sent.content_type.as_deref().unwrap().starts_with("application/json"));
    assert_eq!(sent.body, json!({ "channel": "#deploys", "text": "deploy finished (score 42)" }));
    fake.api(|s| assert_eq!(s.posted, [("C061EG9SL".to_owned(), "deploy finished (score 42)".to_owned())]));
}

#[tokio::test]
async fn slack_api_errors_are_permanent() {
    let fake = Slack::start().await;
    let err = assert_permanent(slack_step(&fake, json!({ "channel": "#nowhere" })).run(&engine()).await, "api_error");
    assert!(err.message.contains("channel_not_found"), "{err}");

    let wrong_token = Step::new(
        "slack.post_message",
        json!({ "base_url": slack::base_url(&fake), "channel": "#general", "text": "hi" }),
    )
    .secret("SLACK_TOKEN", "xoxb-revoked-token");
    let err = assert_permanent(wrong_token.run(&engine()).await, "unauthorized");
    assert!(err.message.contains("invalid_auth"), "{err}");
    fake.api(|s| assert!(s.posted.is_empty()));
}

#[tokio::test]
async fn slack_rate_limits_and_outages_are_retryable() {
    let fake = Slack::start().await;
    let e = engine();
    fake.fail_next(Reply::json(429, json!({ "ok": false, "error": "ratelimited" })).header("retry-after", "7"));
    let err = assert_retryable(slack_step(&fake, json!({})).run(&e).await, "rate_limited", Some(7000));
    assert!(err.message.contains("429"), "{err}");

    fake.fail_next(Reply::ok(json!({ "ok": false, "error": "ratelimited" })).header("retry-after", "3"));
    assert_retryable(slack_step(&fake, json!({})).run(&e).await, "rate_limited", Some(3000));

    fake.fail_next(Reply::json(503, json!({ "ok": false, "error": "service_unavailable" })));
    assert_retryable(slack_step(&fake, json!({})).run(&e).await, "service_unavailable", None);

    fake.fail_next(Reply::ok(json!({ "ok": false, "error": "internal_error" })));
    assert_retryable(slack_step(&fake, json!({})).run(&e).await, "service_unavailable", None);

    // the service recovered: the same step now goes through
    assert_eq!(slack_step(&fake, json!({})).run(&e).await.unwrap().output["ok"], true);
}

#[tokio::test]
async fn slack_bad_config_is_permanent() {
    let fake = Slack::start().await;
    let e = engine();
    let err = assert_permanent(slack_step(&fake, json!({ "channel": null })).run(&e).await, "bad_config");
    assert!(err.message.contains("`channel`"), "{err}");
    let err = assert_permanent(slack_step(&fake, json!({ "channel": 42 })).run(&e).await, "bad_config");
    assert!(err.message.contains("must be text"), "{err}");
    let err = assert_permanent(
        slack_step(&fake, json!({ "text": "{{ trigger.body.missing }}" })).run(&e).await,
        "bad_config",
    );
    assert!(err.message.contains("`text`"), "{err}");
    let err =
        assert_permanent(slack_step(&fake, json!({ "base_url": "ftp://127.0.0.1/api" })).run(&e).await, "bad_config");
    assert!(err.message.contains("`base_url`"), "{err}");
    assert!(fake.received().is_empty(), "nothing may be sent on bad config");
}

// ---------------------------------------------------------------------------------------------
// sheets.append and sheets.read

fn sheets_step(kind: &str, fake: &aos_engine_link::testing::Fake<Sheets>, config: Value) -> Step {
    let mut full =
        json!({ "base_url": sheets::base_url(fake), "spreadsheet_id": sheets::SPREADSHEET, "range": "Leads" });
    full.as_object_mut().unwrap().extend(config.as_object().unwrap().clone());
    Step::new(kind, full).secret("GOOGLE_SHEETS_TOKEN", sheets::TOKEN)
}

fn leads() -> (&'static str, Value) {
    ("Leads", json!([["Name", "Email", "Score"], ["Grace", "grace@example.test", 7]]))
}

#[tokio::test]
async fn sheets_append_aligns_the_row_with_the_header_row() {
    let fake = Sheets::start(&[leads()]).await;
    let values = json!({ "Score": "{{ trigger.body.score }}", "Email": "{{ trigger.body.email }}", "Name": "Ada" });
    let out = sheets_step("sheets.append", &fake, json!({ "values": values })).run(&engine()).await.unwrap();

    assert_eq!(out.output, json!({ "updated_range": "Leads!A3:C3", "updated_rows": 1 }));
    let [header, append] = &fake.received()[..] else { panic!("a header read and an append expected") };
    assert_eq!(header.method, Method::GET);
    assert_eq!(header.segments, ["v4", "spreadsheets", sheets::SPREADSHEET, "values", "'Leads'!1:1"]);
    assert_eq!(header.bearer(), Some(sheets::TOKEN));
    assert_eq!(append.method, Method::POST);
    assert_eq!(append.segments, ["v4", "spreadsheets", sheets::SPREADSHEET, "values", "Leads:append"]);
    assert_eq!(append.query.get("valueInputOption").map(String::as_str), Some("USER_ENTERED"));
    assert_eq!(append.bearer(), Some(sheets::TOKEN));
    assert_eq!(append.body, json!({ "values": [["Ada", "ada@example.test", 42]] }), "in header order, typed");
    assert_eq!(fake.api(|s| s.rows("Leads"))[2], vec![json!("Ada"), json!("ada@example.test"), json!(42)]);
}

#[tokio::test]
async fn sheets_append_uses_the_input_object_when_values_is_empty() {
    let fake = Sheets::start(&[("My leads", json!([["Name", "Email", "Score", "Notes"]]))]).await;
    let step = sheets_step("sheets.append", &fake, json!({ "range": "'My leads'!A:D", "values": {} }))
        .input(json!({ "email": "bob@example.test", "name": "Bob", "notes": { "vip": true } }));
    let out = step.run(&engine()).await.unwrap();

    assert_eq!(out.output["updated_rows"], 1);
    let requests = fake.received();
    assert_eq!(requests[0].segments[4], "'My leads'!1:1");
    assert_eq!(
        requests[1].raw_path,
        format!("/v4/spreadsheets/{}/values/'My%20leads'!A:D:append", sheets::SPREADSHEET)
    );
    assert_eq!(
        requests[1].body,
        json!({ "values": [["Bob", "bob@example.test", "", "{\"vip\":true}"]] }),
        "keys match headers ignoring case; missing columns stay empty; objects become json text"
    );
}

#[tokio::test]
async fn sheets_append_to_an_empty_sheet_writes_the_header_first() {
    let fake = Sheets::start(&[("Fresh", json!([]))]).await;
    let values = json!({ "name": "Ada", "email": "{{ trigger.body.email }}" });
    let out = sheets_step("sheets.append", &fake, json!({ "range": "Fresh", "values": values }))
        .run(&engine())
        .await
        .unwrap();

    assert_eq!(out.output, json!({ "updated_range": "Fresh!A1:B2", "updated_rows": 2 }));
    assert_eq!(
        fake.api(|s| s.rows("Fresh")),
        vec![vec![json!("email"), json!("name")], vec![json!("ada@example.test"), json!("Ada")]]
    );
}

#[tokio::test]
async fn sheets_append_refuses_columns_the_sheet_does_not_have() {
    let fake = Sheets::start(&[leads()]).await;
    let step = sheets_step("sheets.append", &fake, json!({ "values": { "Emial": "x", "Name": "Ada" } }));
    let err = assert_permanent(step.run(&engine()).await, "unknown_column");
    assert!(err.message.contains("Emial") && err.message.contains("Name, Email, Score"), "{err}");
    assert_eq!(fake.received().len(), 1, "only the header row was read");
    assert_eq!(fake.api(|s| s.rows("Leads")).len(), 2);
}

#[tokio::test]
async fn sheets_read_keys_rows_by_the_header() {
    let rows =
        json!([["Name", "Email", "Score"], ["Grace", "grace@example.test", "7"], [], ["Alan", "alan@example.test"],]);
    let fake = Sheets::start(&[("Leads", rows)]).await;
    let out = sheets_step("sheets.read", &fake, json!({})).run(&engine()).await.unwrap();
    assert_eq!(
        out.output,
        json!([
            { "Name": "Grace", "Email": "grace@example.test", "Score": "7" },
            { "Name": "Alan", "Email": "alan@example.test", "Score": "" },
        ]),
        "blank rows are skipped, short rows filled with empty cells"
    );
    let [sent] = &fake.received()[..] else { panic!("one request expected") };
    assert_eq!((sent.method.clone(), sent.segments[4].as_str()), (Method::GET, "Leads"));
    assert_eq!(sent.bearer(), Some(sheets::TOKEN));

    let narrow = sheets_step("sheets.read", &fake, json!({ "range": "Leads!A:A" })).run(&engine()).await.unwrap();
    assert_eq!(narrow.output, json!([{ "Name": "Grace" }, { "Name": "Alan" }]));

    let empty = Sheets::start(&[("Leads", json!([]))]).await;
    assert_eq!(sheets_step("sheets.read", &empty, json!({})).run(&engine()).await.unwrap().output, json!([]));
}

#[tokio::test]
async fn sheets_failures_follow_googles_status_codes() {
    let fake = Sheets::start(&[leads()]).await;
    let e = engine();
    let err = assert_permanent(
        sheets_step("sheets.read", &fake, json!({ "spreadsheet_id": "nope" })).run(&e).await,
        "http_status",
    );
    assert!(err.message.contains("404") && err.message.contains("NOT_FOUND"), "{err}");
    let err = assert_permanent(
        sheets_step("sheets.read", &fake, json!({ "range": "Nope!A:C" })).run(&e).await,
        "http_status",
    );
    assert!(err.message.contains("INVALID_ARGUMENT"), "{err}");

    let quota = json!({ "error": { "code": 429, "message": "Quota exceeded for quota metric 'Read requests'", "status": "RESOURCE_EXHAUSTED" } });
    fake.fail_next(Reply::json(429, quota).header("retry-after", "30"));
    let err =
        assert_retryable(sheets_step("sheets.read", &fake, json!({})).run(&e).await, "rate_limited", Some(30_000));
    assert!(err.message.contains("RESOURCE_EXHAUSTED"), "{err}");

    let unavailable = json!({ "error": { "code": 503, "message": "The service is currently unavailable.", "status": "UNAVAILABLE" } });
    fake.fail_next(Reply::ok(json!({ "values": [["Name", "Email", "Score"]] })));
    fake.fail_next(Reply::json(503, unavailable));
    let append = sheets_step("sheets.append", &fake, json!({ "values": { "Name": "Ada" } }));
    assert_retryable(append.run(&e).await, "service_unavailable", None);
    assert_eq!(fake.api(|s| s.rows("Leads")).len(), 2, "nothing was appended");
}

#[tokio::test]
async fn sheets_bad_config_is_permanent() {
    let fake = Sheets::start(&[leads()]).await;
    let e = engine();
    let err = assert_permanent(
        sheets_step("sheets.read", &fake, json!({ "spreadsheet_id": "" })).run(&e).await,
        "bad_config",
    );
    assert!(err.message.contains("`spreadsheet_id`"), "{err}");
    let err =
        assert_permanent(sheets_step("sheets.append", &fake, json!({ "values": ["Ada"] })).run(&e).await, "bad_config");
    assert!(err.message.contains("`values`"), "{err}");
    let no_row = sheets_step("sheets.append", &fake, json!({ "values": {} })).input(json!("just text"));
    assert_permanent(no_row.run(&e).await, "bad_input");
    assert!(fake.received().is_empty(), "nothing may be sent on bad config");
}

// ---------------------------------------------------------------------------------------------
// openai.chat

fn openai_step(fake: &aos_engine_link::testing::Fake<OpenAi>, config: Value) -> Step {
    let mut full = json!({ "base_url": openai::base_url(fake), "prompt": "Summarise: {{ trigger.body.text }}" });
    full.as_object_mut().unwrap().extend(config.as_object().unwrap().clone());
    Step::new("openai.chat", full).secret("OPENAI_API_KEY", openai::API_KEY)
}

#[tokio::test]
async fn openai_chat_sends_the_prompts_and_returns_the_content() {
    let fake = OpenAi::start().await;
    let step = openai_step(&fake, json!({ "system": "You are terse.", "temperature": 0.2 }));
    let out = step.run(&engine()).await.unwrap();

    assert_eq!(out.output["content"], "echo: Summarise: deploy finished");
    assert_eq!(out.output["model"], "gpt-4o-mini-2024-07-18");
    assert_eq!(out.output["usage"]["total_tokens"], 10);
    assert_eq!(out.output.as_object().unwrap().len(), 3, "{}", out.output);
    let [sent] = &fake.received()[..] else { panic!("one request expected") };
    assert_eq!(sent.raw_path, "/v1/chat/completions");
    assert_eq!(sent.bearer(), Some(openai::API_KEY));
    assert_eq!(
        sent.body,
        json!({
            "model": "gpt-4o-mini",
            "messages": [
                { "role": "system", "content": "You are terse." },
                { "role": "user", "content": "Summarise: deploy finished" },
            ],
            "temperature": 0.2,
        })
    );

    openai_step(&fake, json!({})).run(&engine()).await.unwrap();
    let plain = &fake.received()[1].body;
    assert_eq!(plain["messages"], json!([{ "role": "user", "content": "Summarise: deploy finished" }]));
    assert!(plain.get("temperature").is_none(), "{plain}");
}

#[tokio::test]
async fn openai_failures_are_classed_by_status_and_code() {
    let fake = OpenAi::start().await;
    let e = engine();
    let wrong_key = openai_step(&fake, json!({})).secret("OPENAI_API_KEY", "sk-wrong-key-000");
    let err = assert_permanent(wrong_key.run(&e).await, "unauthorized");
    assert!(err.message.contains("invalid_api_key"), "{err}");
    let err = assert_permanent(openai_step(&fake, json!({ "model": "gpt-nope" })).run(&e).await, "http_status");
    assert!(err.message.contains("model_not_found"), "{err}");

    let limited = openai::error(429, "requests", Some("rate_limit_exceeded"), "Rate limit reached for gpt-4o-mini");
    fake.fail_next(limited.clone().header("retry-after", "2"));
    assert_retryable(openai_step(&fake, json!({})).run(&e).await, "rate_limited", Some(2000));
    fake.fail_next(limited.header("retry-after", "2").header("retry-after-ms", "1500"));
    assert_retryable(openai_step(&fake, json!({})).run(&e).await, "rate_limited", Some(1500));

    let quota = openai::error(429, "insufficient_quota", Some("insufficient_quota"), "You exceeded your current quota");
    fake.fail_next(quota);
    assert_permanent(openai_step(&fake, json!({})).run(&e).await, "insufficient_quota");

    fake.fail_next(openai::error(500, "server_error", None, "The server had an error while processing your request."));
    assert_retryable(openai_step(&fake, json!({})).run(&e).await, "service_unavailable", None);
}

#[tokio::test]
async fn openai_bad_config_is_permanent() {
    let fake = OpenAi::start().await;
    let e = engine();
    let err = assert_permanent(openai_step(&fake, json!({ "temperature": 3 })).run(&e).await, "bad_config");
    assert!(err.message.contains("`temperature`"), "{err}");
    assert_permanent(openai_step(&fake, json!({ "temperature": "warm" })).run(&e).await, "bad_config");
    let err = assert_permanent(openai_step(&fake, json!({ "prompt": "" })).run(&e).await, "bad_config");
    assert!(err.message.contains("`prompt`"), "{err}");
    let err = assert_permanent(openai_step(&fake, json!({ "system": ["a"] })).run(&e).await, "bad_config");
    assert!(err.message.contains("`system`"), "{err}");
    assert!(fake.received().is_empty(), "nothing may be sent on bad config");
}

// ---------------------------------------------------------------------------------------------
// email.send

fn email_step(server: &SmtpServer, config: Value) -> Step {
    let mut full = json!({
        "base_url": server.url(),
        "from": "AutomateOS <alerts@example.test>",
        "to": "{{ trigger.body.email }}",
        "subject": "Deploy: {{ trigger.body.text }}",
        "body": "Score {{ trigger.body.score }}\n.a line that starts with a dot\nbye",
    });
    full.as_object_mut().unwrap().extend(config.as_object().unwrap().clone());
    Step::new("email.send", full).secret("SMTP_PASSWORD", smtp::PASSWORD)
}

fn with_auth() -> Behaviour {
    Behaviour { credentials: Some((smtp::USERNAME.into(), smtp::PASSWORD.into())), ..Behaviour::default() }
}

#[tokio::test]
async fn email_is_sent_over_smtp_with_auth() {
    let server = SmtpServer::start(with_auth()).await;
    let step = email_step(
        &server,
        json!({
            "username": smtp::USERNAME,
            "password": "{{ secrets.SMTP_PASSWORD }}",
            "to": "{{ trigger.body.email }}, Ops Team <ops@example.test>",
        }),
    );
    let out = step.run(&engine()).await.unwrap();

    let message_id = out.output["message_id"].as_str().unwrap().to_owned();
    assert!(message_id.starts_with('<') && message_id.ends_with("@example.test>"), "{message_id}");
    assert_eq!(out.output.as_object().unwrap().len(), 1);
    let [mail] = &server.delivered()[..] else { panic!("one message expected") };
    assert_eq!(mail.auth, Some((smtp::USERNAME.to_owned(), smtp::PASSWORD.to_owned())));
    assert_eq!(mail.mail_from, "alerts@example.test");
    assert_eq!(mail.rcpt_to, ["ada@example.test", "ops@example.test"]);
    assert_eq!(mail.header("Message-ID").as_deref(), Some(message_id.as_str()));
    assert_eq!(mail.header("Subject").as_deref(), Some("Deploy: deploy finished"));
    assert_eq!(mail.header("From").as_deref(), Some("AutomateOS <alerts@example.test>"));
    assert_eq!(mail.header("To").as_deref(), Some(r#"ada@example.test, "Ops Team" <ops@example.test>"#));
    assert_eq!(mail.body(), "Score 42\r\n.a line that starts with a dot\r\nbye");
    let sent = out.bytes as usize;
    assert!((mail.data.len()..=mail.data.len() + 2).contains(&sent), "{sent} bytes for {} received", mail.data.len());
    assert_eq!(server.commands().last().map(String::as_str), Some("QUIT"));
}

#[tokio::test]
async fn email_takes_a_list_of_recipients_and_a_host_name() {
    let server = SmtpServer::start(Behaviour::default()).await;
    let url = format!("smtp://localhost:{}?tls=none", server.addr.port());
    let step = email_step(&server, json!({ "base_url": url, "to": ["a@example.test", "b@example.test"] }));
    step.run(&engine()).await.unwrap();
    let [mail] = &server.delivered()[..] else { panic!("one message expected") };
    assert_eq!(mail.rcpt_to, ["a@example.test", "b@example.test"]);
    assert_eq!(mail.auth, None);
}

#[tokio::test]
async fn email_transient_replies_and_lost_connections_are_retryable() {
    let e = engine();
    let busy = Behaviour { replies: [("MAIL", "451 4.3.0 Try again later".to_owned())].into(), ..Behaviour::default() };
    let server = SmtpServer::start(busy).await;
    let err = assert_retryable(email_step(&server, json!({})).run(&e).await, "smtp_transient", None);
    assert!(err.message.contains("451") && err.message.contains("Try again later"), "{err}");
    assert!(server.delivered().is_empty());

    let closing = Behaviour {
        replies: [("GREETING", "421 4.3.2 Service not available".to_owned())].into(),
        ..Behaviour::default()
    };
    let server = SmtpServer::start(closing).await;
    assert_retryable(email_step(&server, json!({})).run(&e).await, "smtp_transient", None);

    let full = Behaviour {
        replies: [(".", "452 4.3.1 Insufficient system storage".to_owned())].into(),
        ..Behaviour::default()
    };
    let server = SmtpServer::start(full).await;
    assert_retryable(email_step(&server, json!({})).run(&e).await, "smtp_transient", None);

    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let refused = email_step(&server, json!({ "base_url": format!("smtp://127.0.0.1:{port}?tls=none") }));
    assert_retryable(refused.run(&e).await, "connect_failed", None);
}

#[tokio::test(start_paused = true)]
async fn email_to_a_hung_server_times_out_as_retryable() {
    let server = SmtpServer::start(Behaviour { silent: true, ..Behaviour::default() }).await;
    let started = tokio::time::Instant::now();
    let err = assert_retryable(email_step(&server, json!({})).run(&engine()).await, "timeout", None);
    assert!(err.message.contains("smtp"), "{err}");
    assert!(started.elapsed() >= std::time::Duration::from_secs(60), "the session limit, on the paused clock");
    assert_eq!(server.connections(), 1);
}

#[tokio::test]
async fn email_refusals_are_permanent() {
    let e = engine();
    let strict = Behaviour { unknown_recipients: vec!["ada@example.test".into()], ..with_auth() };
    let server = SmtpServer::start(strict).await;
    let auth = json!({ "username": smtp::USERNAME, "password": "{{ secrets.SMTP_PASSWORD }}" });
    let err = assert_permanent(email_step(&server, auth).run(&e).await, "smtp_rejected");
    assert!(err.message.contains("550") && err.message.contains("User unknown"), "{err}");

    let wrong = json!({ "username": smtp::USERNAME, "password": "{{ secrets.SMTP_PASSWORD }}" });
    let err = assert_permanent(
        email_step(&server, wrong).secret("SMTP_PASSWORD", "not-the-password").run(&e).await,
        "unauthorized",
    );
    assert!(err.message.contains("535"), "{err}");

    let no_auth = SmtpServer::start(Behaviour::default()).await;
    let creds = json!({ "username": smtp::USERNAME, "password": "{{ secrets.SMTP_PASSWORD }}" });
    assert_permanent(email_step(&no_auth, creds).run(&e).await, "smtp_unsupported");
    assert!(server.delivered().is_empty() && no_auth.delivered().is_empty());
}

#[tokio::test]
async fn email_bad_addresses_and_config_are_permanent() {
    let server = SmtpServer::start(Behaviour::default()).await;
    let e = engine();
    let err = assert_permanent(email_step(&server, json!({ "to": "not an address" })).run(&e).await, "bad_address");
    assert!(err.message.contains("`to`"), "{err}");
    assert_permanent(email_step(&server, json!({ "from": "nobody at all" })).run(&e).await, "bad_address");
    let err = assert_permanent(email_step(&server, json!({ "from": null })).run(&e).await, "bad_config");
    assert!(err.message.contains("`from`"), "{err}");
    assert_permanent(email_step(&server, json!({ "to": [1, 2] })).run(&e).await, "bad_config");
    assert_permanent(email_step(&server, json!({ "base_url": "http://127.0.0.1:25" })).run(&e).await, "bad_config");
    let err = assert_permanent(email_step(&server, json!({ "username": "someone" })).run(&e).await, "bad_config");
    assert!(err.message.contains("`password`"), "{err}");
    assert_eq!(server.connections(), 0, "the server is not contacted on bad config");
}

#[tokio::test]
async fn email_requires_starttls_unless_told_otherwise() {
    let server = SmtpServer::start(Behaviour::default()).await;
    let url = format!("smtp://{}", server.addr);
    let err = assert_permanent(email_step(&server, json!({ "base_url": url })).run(&engine()).await, "tls_unavailable");
    assert!(err.message.contains("starttls"), "{err}");
    assert!(server.delivered().is_empty());
    assert!(!server.commands().iter().any(|c| c.starts_with("MAIL")), "nothing is sent in the clear");
}

// ---------------------------------------------------------------------------------------------
// secrets and egress

#[tokio::test]
async fn secrets_echoed_by_a_service_are_redacted() {
    let ai = OpenAi::start().await;
    let out =
        openai_step(&ai, json!({ "prompt": "my key is {{ secrets.OPENAI_API_KEY }}" })).run(&engine()).await.unwrap();
    assert_eq!(out.output["content"], "echo: my key is [redacted]");
    assert!(!out.output.to_string().contains(openai::API_KEY));
    assert_eq!(ai.received()[0].bearer(), Some(openai::API_KEY), "the service itself got the real key");

    let sheets_fake = Sheets::start(&[leads()]).await;
    let leaked = "ya29.a-stale-token-9f8e7d";
    let step = sheets_step("sheets.read", &sheets_fake, json!({})).secret("GOOGLE_SHEETS_TOKEN", leaked);
    let err = assert_permanent(step.run(&engine()).await, "unauthorized");
    assert!(err.message.contains("[redacted]"), "{err}");
    assert!(!format!("{err:?}").contains(leaked), "{err:?}");
}

#[tokio::test]
async fn loopback_base_urls_are_refused_by_the_default_policy() {
    let fake = Slack::start().await;
    assert_permanent(slack_step(&fake, json!({})).run(&public_engine()).await, "egress_refused");
    assert!(fake.received().is_empty());

    let server = SmtpServer::start(Behaviour::default()).await;
    assert_permanent(email_step(&server, json!({})).run(&public_engine()).await, "egress_refused");
    let by_name = json!({ "base_url": format!("smtp://localhost:{}?tls=none", server.addr.port()) });
    assert_permanent(email_step(&server, by_name).run(&public_engine()).await, "egress_refused");
    assert_eq!(server.connections(), 0, "no connection was made");
}
