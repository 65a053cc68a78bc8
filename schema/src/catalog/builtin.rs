//! The starter catalog: the descriptor of every built-in node kind named in the public contract.
//!
//! `logic.switch` routes on a value: its `cases` field maps a port name to the value that selects
//! it (`{"gold": "gold", "other_tier": "silver"}`), each key becomes an output port, and a fixed
//! `default` port is taken when no case matches. The `value` and every case value are rendered as
//! text and compared for equality; when several cases match, the first by port name wins.

use serde_json::json;

use super::{
    DynamicOutputs, FieldDescriptor, FieldType, Flow, NodeCategory, NodeDescriptor, PortDescriptor, PortType,
    SelectOption,
};

/// The kind strings of the built-in nodes, for code that builds or matches them.
pub mod kinds {
    pub const TRIGGER_WEBHOOK: &str = "trigger.webhook";
    pub const TRIGGER_SCHEDULE: &str = "trigger.schedule";
    pub const TRIGGER_MANUAL: &str = "trigger.manual";
    pub const LOGIC_CONDITION: &str = "logic.condition";
    pub const LOGIC_SWITCH: &str = "logic.switch";
    pub const LOGIC_MERGE: &str = "logic.merge";
    pub const LOGIC_FOR_EACH: &str = "logic.for_each";
    pub const LOGIC_DELAY: &str = "logic.delay";
    pub const DATA_TRANSFORM: &str = "data.transform";
    pub const WEBHOOK_RESPOND: &str = "webhook.respond";
    pub const HTTP_REQUEST: &str = "http.request";
    pub const SLACK_POST_MESSAGE: &str = "slack.post_message";
    pub const SHEETS_APPEND: &str = "sheets.append";
    pub const SHEETS_READ: &str = "sheets.read";
    pub const OPENAI_CHAT: &str = "openai.chat";
    pub const EMAIL_SEND: &str = "email.send";

    /// Whether a built-in kind only computes from its input and config (no call out of the
    /// process, no effect anyone else sees), so running it again after a crash changes nothing.
    /// Unknown kinds are not pure.
    pub fn is_pure(kind: &str) -> bool {
        matches!(
            kind,
            TRIGGER_WEBHOOK
                | TRIGGER_SCHEDULE
                | TRIGGER_MANUAL
                | LOGIC_CONDITION
                | LOGIC_SWITCH
                | LOGIC_MERGE
                | LOGIC_FOR_EACH
                | LOGIC_DELAY
                | DATA_TRANSFORM
        )
    }

    /// Every built-in kind.
    pub const ALL: [&str; 16] = [
        TRIGGER_WEBHOOK,
        TRIGGER_SCHEDULE,
        TRIGGER_MANUAL,
        LOGIC_CONDITION,
        LOGIC_SWITCH,
        LOGIC_MERGE,
        LOGIC_FOR_EACH,
        LOGIC_DELAY,
        DATA_TRANSFORM,
        WEBHOOK_RESPOND,
        HTTP_REQUEST,
        SLACK_POST_MESSAGE,
        SHEETS_APPEND,
        SHEETS_READ,
        OPENAI_CHAT,
        EMAIL_SEND,
    ];
}

fn port(name: &str, port_type: PortType, description: &str) -> PortDescriptor {
    PortDescriptor { name: name.to_owned(), label: name.to_owned(), port_type, description: description.to_owned() }
}

fn input_any() -> Vec<PortDescriptor> {
    vec![port("in", PortType::Any, "the output of the previous step")]
}

fn output(port_type: PortType, description: &str) -> Vec<PortDescriptor> {
    vec![port("out", port_type, description)]
}

fn field(name: &str, label: &str, field_type: FieldType) -> FieldDescriptor {
    FieldDescriptor::new(name, label, field_type)
}

fn number(min: Option<f64>, max: Option<f64>) -> FieldType {
    FieldType::Number { min, max }
}

fn select(options: &[&str]) -> FieldType {
    FieldType::Select {
        options: options
            .iter()
            .map(|value| SelectOption { value: (*value).to_owned(), label: (*value).to_owned() })
            .collect(),
    }
}

/// The `base_url` every integration calls, so tests can point it at a local server.
fn base_url(default: &str) -> FieldDescriptor {
    field("base_url", "Base URL", FieldType::Url)
        .required()
        .with_default(default)
        .with_help("the service's API root; change it only for a proxy or a test server")
}

/// A credential field referencing a stored secret by name.
fn credential(name: &str, label: &str, secret_name: &str) -> FieldDescriptor {
    let reference = format!("{{{{ secrets.{secret_name} }}}}");
    field(name, label, FieldType::SecretRef)
        .required()
        .with_default(reference.clone())
        .with_placeholder(reference)
        .with_help("the name of a stored secret, resolved only inside the engine call")
}

fn descriptor(kind: &str, title: &str, category: NodeCategory, flow: Flow) -> NodeDescriptor {
    NodeDescriptor {
        kind: kind.to_owned(),
        title: title.to_owned(),
        category,
        flow,
        description: String::new(),
        inputs: Vec::new(),
        outputs: Vec::new(),
        dynamic_outputs: None,
        fields: Vec::new(),
        output_description: String::new(),
    }
}

/// Every built-in descriptor.
pub(super) fn descriptors() -> Vec<NodeDescriptor> {
    let mut all = triggers();
    all.extend(logic());
    let mut actions = integrations();
    actions.iter_mut().for_each(|action| action.fields.extend(run_settings()));
    all.extend(actions);
    all
}

/// Optional fields every action node has: how long one try may take and how often it is retried.
/// Empty means the platform's defaults.
fn run_settings() -> Vec<FieldDescriptor> {
    vec![
        field("timeout_seconds", "Timeout (seconds)", number(Some(0.1), Some(86_400.0)))
            .with_help("how long one try may take before it counts as a retryable failure"),
        field("max_attempts", "Tries", number(Some(1.0), Some(20.0)))
            .with_help("tries in all when a step fails retryably (1 = never retry)"),
    ]
}

fn triggers() -> Vec<NodeDescriptor> {
    use NodeCategory::Trigger as Cat;
    vec![
        NodeDescriptor {
            description: "starts a run when an HTTP request reaches the workflow's webhook url".into(),
            outputs: output(PortType::Object, "the request: {body, headers, query}"),
            fields: vec![
                field("sample", "Sample payload", FieldType::Json)
                    .with_help("an example request body, used to suggest expressions"),
            ],
            output_description: "{body, headers, query}".into(),
            ..descriptor(kinds::TRIGGER_WEBHOOK, "Webhook", Cat, Flow::Trigger)
        },
        NodeDescriptor {
            description: "starts a run on a cron schedule".into(),
            outputs: output(PortType::Object, "when it fired: {fired_at, scheduled_for}"),
            fields: vec![
                field("cron", "Schedule", FieldType::Cron)
                    .required()
                    .with_placeholder("0 9 * * MON-FRI")
                    .with_help("minute hour day-of-month month day-of-week, or @hourly, @daily..."),
                field("timezone", "Time zone", FieldType::Text).with_default("UTC").with_placeholder("Europe/Paris"),
                field("missed", "Missed ticks", select(&["skip", "catch_up"]))
                    .with_default("skip")
                    .with_help("after downtime: skip the ticks that passed, or run them (at most 10)"),
            ],
            output_description: "{fired_at, scheduled_for}".into(),
            ..descriptor(kinds::TRIGGER_SCHEDULE, "Schedule", Cat, Flow::Trigger)
        },
        NodeDescriptor {
            description: "starts a run when someone presses run or calls the runs api".into(),
            outputs: output(PortType::Any, "the run's input"),
            fields: vec![
                field("sample_input", "Sample input", FieldType::Json)
                    .with_help("the input used when the run button is pressed"),
            ],
            output_description: "the run's input".into(),
            ..descriptor(kinds::TRIGGER_MANUAL, "Manual", Cat, Flow::Trigger)
        },
    ]
}

fn logic() -> Vec<NodeDescriptor> {
    use NodeCategory::Logic;
    let passthrough = "the step's input, unchanged";
    vec![
        NodeDescriptor {
            description: "sends its input to `true` or `false` depending on an expression".into(),
            inputs: input_any(),
            outputs: vec![port("true", PortType::Any, passthrough), port("false", PortType::Any, passthrough)],
            fields: vec![
                field("condition", "Condition", FieldType::Expression)
                    .required()
                    .with_placeholder("{{ steps.fetch.output.status == 200 }}"),
            ],
            output_description: passthrough.into(),
            ..descriptor(kinds::LOGIC_CONDITION, "Condition", Logic, Flow::Branch)
        },
        NodeDescriptor {
            description: "sends its input to the case port whose value matches, else `default`".into(),
            inputs: input_any(),
            outputs: vec![port("default", PortType::Any, "taken when no case matches")],
            dynamic_outputs: Some(DynamicOutputs { field: "cases".into(), port_type: PortType::Any }),
            fields: vec![
                field("value", "Value", FieldType::Expression).required().with_placeholder("{{ input.tier }}"),
                field("cases", "Cases", FieldType::KeyValue)
                    .required()
                    .with_help("port name → value that selects it; the first match by name wins"),
            ],
            output_description: passthrough.into(),
            ..descriptor(kinds::LOGIC_SWITCH, "Switch", Logic, Flow::Branch)
        },
        NodeDescriptor {
            description: "waits for every incoming branch that ran and combines their outputs".into(),
            inputs: input_any(),
            outputs: output(PortType::Object, "each finished predecessor's output by node id"),
            output_description: "{<node id>: output, …}".into(),
            ..descriptor(kinds::LOGIC_MERGE, "Merge", Logic, Flow::Merge)
        },
        NodeDescriptor {
            description: "runs the steps behind `item` once per item of a list, then emits the \
                          collected results on `done`"
                .into(),
            inputs: input_any(),
            outputs: vec![
                port("item", PortType::Any, "one item; the steps behind it run once per item"),
                port("done", PortType::List, "every item's result, in list order"),
            ],
            fields: vec![
                field("items", "Items", FieldType::Expression)
                    .required()
                    .with_default("{{ input }}")
                    .with_help("an expression giving the list to iterate"),
                field("concurrency", "Parallel items", number(Some(1.0), Some(64.0))).with_default(1),
            ],
            output_description: "item: one element; done: [result, …]".into(),
            ..descriptor(kinds::LOGIC_FOR_EACH, "For each", Logic, Flow::ForEach)
        },
        NodeDescriptor {
            description: "waits a while, then passes its input on".into(),
            inputs: input_any(),
            outputs: output(PortType::Any, passthrough),
            fields: vec![
                field("seconds", "Seconds", number(Some(0.0), Some(604_800.0)))
                    .required()
                    .with_help("how long to wait, at most a week"),
            ],
            output_description: passthrough.into(),
            ..descriptor(kinds::LOGIC_DELAY, "Delay", Logic, Flow::Step)
        },
        NodeDescriptor {
            description: "builds a new object whose fields are rendered expressions".into(),
            inputs: input_any(),
            outputs: output(PortType::Object, "the object of the rendered fields"),
            fields: vec![
                field("fields", "Fields", FieldType::KeyValue)
                    .required()
                    .with_help("field name → expression, e.g. {{ steps.fetch.output.items[0].id }}"),
            ],
            output_description: "{<field>: value, …}".into(),
            ..descriptor(kinds::DATA_TRANSFORM, "Transform", NodeCategory::Data, Flow::Step)
        },
    ]
}

fn integrations() -> Vec<NodeDescriptor> {
    use NodeCategory::Action;
    vec![
        NodeDescriptor {
            description: "answers the webhook request that started the run".into(),
            inputs: input_any(),
            outputs: output(PortType::Any, "the step's input, unchanged"),
            fields: vec![
                field("status", "Status", number(Some(100.0), Some(599.0))).with_default(200),
                field("headers", "Headers", FieldType::KeyValue),
                field("body", "Body", FieldType::Json).with_default("{{ input }}"),
            ],
            output_description: "the step's input, unchanged".into(),
            ..descriptor(kinds::WEBHOOK_RESPOND, "Respond to webhook", Action, Flow::Step)
        },
        NodeDescriptor {
            description: "sends an HTTP request".into(),
            inputs: input_any(),
            outputs: output(PortType::Object, "the response: {status, headers, body}"),
            fields: vec![
                field("method", "Method", select(&["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]))
                    .required()
                    .with_default("GET"),
                field("url", "URL", FieldType::Url).required().with_placeholder("https://api.example.com/items"),
                field("headers", "Headers", FieldType::KeyValue).with_default(json!({})),
                field("body", "Body", FieldType::Json).with_help("sent as JSON; strings may contain expressions"),
            ],
            output_description: "{status, headers, body}".into(),
            ..descriptor(kinds::HTTP_REQUEST, "HTTP request", Action, Flow::Step)
        },
        NodeDescriptor {
            description: "posts a message to a Slack channel".into(),
            inputs: input_any(),
            outputs: output(PortType::Object, "Slack's reply: {ok, channel, ts}"),
            fields: vec![
                base_url("https://slack.com/api"),
                credential("token", "Bot token", "SLACK_TOKEN"),
                field("channel", "Channel", FieldType::Text).required().with_placeholder("#general"),
                field("text", "Message", FieldType::MultilineText).required(),
            ],
            output_description: "{ok, channel, ts}".into(),
            ..descriptor(kinds::SLACK_POST_MESSAGE, "Slack message", Action, Flow::Step)
        },
        NodeDescriptor {
            description: "appends a row to a Google Sheet".into(),
            inputs: vec![port("in", PortType::Object, "the row keyed by column header, used when `values` is empty")],
            outputs: output(PortType::Object, "{updated_range, updated_rows}"),
            fields: sheets_fields(vec![
                field("values", "Values", FieldType::KeyValue)
                    .with_help("column header → expression; empty appends the step's input"),
            ]),
            output_description: "{updated_range, updated_rows}".into(),
            ..descriptor(kinds::SHEETS_APPEND, "Sheets: append row", Action, Flow::Step)
        },
        NodeDescriptor {
            description: "reads rows from a Google Sheet".into(),
            inputs: input_any(),
            outputs: output(PortType::List, "the rows, each an object keyed by column header"),
            fields: sheets_fields(Vec::new()),
            output_description: "[{<header>: value, …}, …]".into(),
            ..descriptor(kinds::SHEETS_READ, "Sheets: read rows", Action, Flow::Step)
        },
        NodeDescriptor {
            description: "asks an OpenAI chat model".into(),
            inputs: input_any(),
            outputs: output(PortType::Object, "{content, model, usage}"),
            fields: vec![
                base_url("https://api.openai.com/v1"),
                credential("api_key", "API key", "OPENAI_API_KEY"),
                field("model", "Model", FieldType::Text).required().with_default("gpt-4o-mini"),
                field("system", "System prompt", FieldType::MultilineText),
                field("prompt", "Prompt", FieldType::MultilineText).required(),
                field("temperature", "Temperature", number(Some(0.0), Some(2.0))),
            ],
            output_description: "{content, model, usage}".into(),
            ..descriptor(kinds::OPENAI_CHAT, "OpenAI chat", Action, Flow::Step)
        },
        NodeDescriptor {
            description: "sends an email through an SMTP server".into(),
            inputs: input_any(),
            outputs: output(PortType::Object, "{message_id}"),
            fields: vec![
                field("base_url", "SMTP server", FieldType::Url)
                    .required()
                    .with_placeholder("smtp://smtp.example.com:587")
                    .with_help("smtp://host:port (STARTTLS) or smtps://host:port (TLS)"),
                field("username", "Username", FieldType::Text),
                field("password", "Password", FieldType::SecretRef).with_placeholder("{{ secrets.SMTP_PASSWORD }}"),
                field("from", "From", FieldType::Text).required(),
                field("to", "To", FieldType::Text).required().with_help("one address, or several separated by commas"),
                field("subject", "Subject", FieldType::Text).required(),
                field("body", "Body", FieldType::MultilineText).required(),
            ],
            output_description: "{message_id}".into(),
            ..descriptor(kinds::EMAIL_SEND, "Send email", Action, Flow::Step)
        },
    ]
}

/// The fields both Sheets kinds share, then `extra`.
fn sheets_fields(extra: Vec<FieldDescriptor>) -> Vec<FieldDescriptor> {
    let mut fields = vec![
        base_url("https://sheets.googleapis.com/v4"),
        credential("token", "Access token", "GOOGLE_SHEETS_TOKEN"),
        field("spreadsheet_id", "Spreadsheet id", FieldType::Text).required(),
        field("range", "Range", FieldType::Text)
            .required()
            .with_default("Sheet1")
            .with_help("a sheet name or an A1 range such as Sheet1!A:F"),
    ];
    fields.extend(extra);
    fields
}
