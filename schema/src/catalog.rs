//! The node catalog: for every node kind its ports, their types and its config fields, enough for
//! the studio to draw a node and generate its side-panel form, for validation to check a graph and
//! for the compiler to know how a kind moves data. Served as JSON at `GET /api/catalog`.
//!
//! **Port types.** Every value that travels an edge is JSON; a port's [`PortType`] says what shape
//! of JSON it emits or takes, so the obvious mistakes show up before a run: `Any` fits everything,
//! and otherwise an `Object` output only fits an `Object` input and a `List` only a `List`. Most
//! inputs are `Any` because a node reads what it needs through expressions in its config; the
//! inputs that are typed are the ones a node consumes whole (`sheets.append` appends its input as
//! one row, so it takes an `Object`, and a `List` such as the rows of `sheets.read` does not fit).
//!
//! **Triggers.** A workflow has exactly one trigger node (a kind whose [`Flow`] is `Trigger`): it
//! is where every run enters, whether a webhook, a schedule or a person started it. Triggers have
//! no input ports, so no edge may lead into one.

mod builtin;

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use builtin::kinds;

/// What shape of JSON a port emits or accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PortType {
    /// Any JSON value; fits, and is fitted by, every other type.
    Any,
    /// A JSON object.
    Object,
    /// A JSON array.
    List,
}

impl PortType {
    /// Whether an output of this type may feed an input of type `input`.
    pub fn fits(self, input: PortType) -> bool {
        self == PortType::Any || input == PortType::Any || self == input
    }

    /// The snake_case word, as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            PortType::Any => "any",
            PortType::Object => "object",
            PortType::List => "list",
        }
    }
}

impl fmt::Display for PortType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where the studio's palette files a kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeCategory {
    Trigger,
    Logic,
    Data,
    Action,
}

/// How a kind moves control and data, which is what the compiler and the runner care about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Flow {
    /// Where a run enters; no inputs, exactly one per workflow.
    Trigger,
    /// Runs once its predecessors are done and emits on every connected output port.
    Step,
    /// Emits on exactly one of its output ports; the branches behind the others are skipped.
    Branch,
    /// Waits for every predecessor that was not skipped and combines their outputs.
    Merge,
    /// Emits each item of a list on `item` (the nodes behind it run once per item) and the
    /// collected results on `done`.
    ForEach,
}

/// One input or output port of a kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortDescriptor {
    /// The name edges use (`in`, `out`, `true`...).
    pub name: String,
    /// What the canvas shows next to the port.
    pub label: String,
    pub port_type: PortType,
    /// What travels through the port, for the port's tooltip.
    pub description: String,
}

/// Output ports that a node's config creates: one per key of a key-value field. `logic.switch`
/// uses it for its cases.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DynamicOutputs {
    /// The key-value config field whose keys name the ports.
    pub field: String,
    /// The type of every port it creates.
    pub port_type: PortType,
}

/// One option of a select field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SelectOption {
    /// What the config stores.
    pub value: String,
    /// What the form shows.
    pub label: String,
}

/// Which form control edits a field, and so what values it holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FieldType {
    /// One line of text, may contain expressions.
    Text,
    /// Several lines of text, may contain expressions.
    MultilineText,
    /// A number, optionally bounded; an expression string is accepted too.
    Number {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<f64>,
    },
    /// On or off.
    Toggle,
    /// One of a fixed set of strings.
    Select { options: Vec<SelectOption> },
    /// An object of names to values (headers, transform fields, switch cases).
    KeyValue,
    /// A single expression such as `{{ steps.fetch.output.status == 200 }}`.
    Expression,
    /// A reference to a stored secret, `{{ secrets.NAME }}`; never the secret itself.
    SecretRef,
    /// A cron schedule of 5 or 6 fields, or an alias such as `@daily`.
    Cron,
    /// An absolute URL.
    Url,
    /// Any JSON value; strings inside it may contain expressions.
    Json,
}

/// One config field of a kind: one row of the side-panel form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldDescriptor {
    /// The key in the node's config.
    pub name: String,
    /// The form label.
    pub label: String,
    pub field_type: FieldType,
    /// Whether the config must hold a value (or the field have a default).
    pub required: bool,
    /// Whether the value is a credential: the form masks it and the config must hold a
    /// `{{ secrets.NAME }}` reference rather than a literal.
    pub secret: bool,
    /// The value used when the config has none; the compiler writes it into the plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
    /// A sentence under the field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// Greyed example text inside an empty field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placeholder: Option<String>,
}

impl FieldDescriptor {
    /// An optional field with no default; a `SecretRef` field is marked secret.
    pub fn new(name: impl Into<String>, label: impl Into<String>, field_type: FieldType) -> Self {
        let secret = field_type == FieldType::SecretRef;
        Self {
            name: name.into(),
            label: label.into(),
            field_type,
            required: false,
            secret,
            default: None,
            help: None,
            placeholder: None,
        }
    }

    /// Marks the field required.
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// Sets the default value.
    pub fn with_default(mut self, value: impl Into<Value>) -> Self {
        self.default = Some(value.into());
        self
    }

    /// Sets the help sentence.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Sets the placeholder.
    pub fn with_placeholder(mut self, placeholder: impl Into<String>) -> Self {
        self.placeholder = Some(placeholder.into());
        self
    }
}

/// Everything about one node kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeDescriptor {
    /// The kind string nodes carry, such as `slack.post_message`.
    pub kind: String,
    /// The palette and node title.
    pub title: String,
    pub category: NodeCategory,
    pub flow: Flow,
    /// One or two sentences for the palette tooltip.
    pub description: String,
    /// Input ports; empty for triggers.
    pub inputs: Vec<PortDescriptor>,
    /// Output ports that every node of the kind has.
    pub outputs: Vec<PortDescriptor>,
    /// Output ports created by the node's config, listed before `outputs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dynamic_outputs: Option<DynamicOutputs>,
    /// Config fields, in form order.
    pub fields: Vec<FieldDescriptor>,
    /// The shape of the output, for the expression helper (`{status, headers, body}`).
    pub output_description: String,
}

impl NodeDescriptor {
    /// Whether this kind starts runs.
    pub fn is_trigger(&self) -> bool {
        self.flow == Flow::Trigger
    }

    /// The input port with this name.
    pub fn input(&self, name: &str) -> Option<&PortDescriptor> {
        self.inputs.iter().find(|port| port.name == name)
    }

    /// The config field with this name.
    pub fn field(&self, name: &str) -> Option<&FieldDescriptor> {
        self.fields.iter().find(|field| field.name == name)
    }

    /// The names of the ports that `config` creates, sorted; empty unless the kind has
    /// dynamic outputs and the field holds an object.
    pub fn dynamic_port_names<'a>(&self, config: &'a Map<String, Value>) -> Vec<&'a str> {
        let Some(dynamic) = &self.dynamic_outputs else {
            return Vec::new();
        };
        let Some(Value::Object(entries)) = config.get(&dynamic.field) else {
            return Vec::new();
        };
        let mut names: Vec<&str> = entries.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }

    /// The type of the output port `name` of a node with this `config`, if it has that port.
    pub fn output_type(&self, name: &str, config: &Map<String, Value>) -> Option<PortType> {
        if let Some(port) = self.outputs.iter().find(|port| port.name == name) {
            return Some(port.port_type);
        }
        let dynamic = self.dynamic_outputs.as_ref()?;
        self.dynamic_port_names(config).contains(&name).then_some(dynamic.port_type)
    }

    /// Every output port of a node with this `config`: the dynamic ones (sorted by name) first,
    /// then the fixed ones in catalog order.
    pub fn output_ports(&self, config: &Map<String, Value>) -> Vec<PortDescriptor> {
        let mut ports = Vec::new();
        if let Some(dynamic) = &self.dynamic_outputs {
            for name in self.dynamic_port_names(config) {
                ports.push(PortDescriptor {
                    name: name.to_owned(),
                    label: name.to_owned(),
                    port_type: dynamic.port_type,
                    description: format!("taken when case {name} matches"),
                });
            }
        }
        ports.extend(self.outputs.iter().cloned());
        ports
    }

    /// The node's config with every missing (absent or null) field that has a default filled in.
    pub fn config_with_defaults(&self, config: &Map<String, Value>) -> Map<String, Value> {
        let mut filled = config.clone();
        for field in &self.fields {
            let Some(default) = &field.default else {
                continue;
            };
            let missing = matches!(filled.get(&field.name), None | Some(Value::Null));
            if missing {
                filled.insert(field.name.clone(), default.clone());
            }
        }
        filled
    }
}

/// The set of node kinds a deployment knows, sorted by kind. Serialized as `{"nodes": [...]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "CatalogWire")]
pub struct Catalog {
    nodes: Vec<NodeDescriptor>,
}

/// The catalog as read from JSON, before it is sorted for lookups.
#[derive(Deserialize)]
struct CatalogWire {
    nodes: Vec<NodeDescriptor>,
}

impl From<CatalogWire> for Catalog {
    fn from(wire: CatalogWire) -> Self {
        Self::new(wire.nodes)
    }
}

impl Catalog {
    /// A catalog of these descriptors; when two share a kind, the later one wins.
    pub fn new(descriptors: Vec<NodeDescriptor>) -> Self {
        let mut nodes: Vec<NodeDescriptor> = Vec::with_capacity(descriptors.len());
        for descriptor in descriptors {
            match nodes.iter().position(|known| known.kind == descriptor.kind) {
                Some(at) => nodes[at] = descriptor,
                None => nodes.push(descriptor),
            }
        }
        nodes.sort_by(|a, b| a.kind.cmp(&b.kind));
        Self { nodes }
    }

    /// Every built-in kind of the starter catalog.
    pub fn builtin() -> Self {
        Self::new(builtin::descriptors())
    }

    /// The descriptor of a kind.
    pub fn get(&self, kind: &str) -> Option<&NodeDescriptor> {
        self.nodes.binary_search_by(|known| known.kind.as_str().cmp(kind)).ok().and_then(|at| self.nodes.get(at))
    }

    /// Every descriptor, sorted by kind.
    pub fn descriptors(&self) -> &[NodeDescriptor] {
        &self.nodes
    }

    /// Every kind, sorted.
    pub fn kinds(&self) -> impl Iterator<Item = &str> {
        self.nodes.iter().map(|node| node.kind.as_str())
    }

    /// Whether the kind is known and starts runs.
    pub fn is_trigger(&self, kind: &str) -> bool {
        self.get(kind).is_some_and(NodeDescriptor::is_trigger)
    }
}

impl Default for Catalog {
    fn default() -> Self {
        Self::builtin()
    }
}

#[cfg(test)]
mod tests;
