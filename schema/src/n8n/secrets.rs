//! The secrets an import references: one per n8n credential, named as the catalog names the
//! service's credential (`SLACK_TOKEN`...) for the first credential of a service and after the
//! credential for the others, with the nodes that read each.

use std::collections::BTreeMap;

use serde_json::Value;

use super::read::N8nNode;
use super::{RequiredSecret, slug};
use crate::ids::NodeId;

/// The secrets the import references, keyed by n8n credential.
#[derive(Debug, Default)]
pub(super) struct Secrets {
    /// (n8n credential type, credential name) → secret name.
    by_credential: BTreeMap<(Option<String>, Option<String>), String>,
    needed: BTreeMap<String, RequiredSecret>,
}

impl Secrets {
    /// The secret name for the node's credential of one of `types` (or, failing that, its only
    /// credential), `default` for the first credential of a service.
    pub(super) fn reference(&mut self, node: &N8nNode, id: &NodeId, types: &[&str], default: &str) -> String {
        let credential = types.iter().find_map(|kind| node.credentials.get(*kind).map(|value| (*kind, value))).or_else(
            || match node.credentials.iter().collect::<Vec<_>>().as_slice() {
                [(kind, value)] => Some((kind.as_str(), *value)),
                _ => None,
            },
        );
        let key = (
            credential.map(|(kind, _)| kind.to_owned()),
            credential.and_then(|(_, value)| value.get("name")).and_then(Value::as_str).map(str::to_owned),
        );
        let name = match self.by_credential.get(&key) {
            Some(name) => name.clone(),
            None => {
                let mut name = default.to_owned();
                if self.needed.contains_key(&name) {
                    let suffix = key.1.as_deref().map(|n| slug(n).to_uppercase()).unwrap_or_else(|| "2".into());
                    name = format!("{default}_{suffix}");
                    let mut n = 2;
                    while self.needed.contains_key(&name) {
                        n += 1;
                        name = format!("{default}_{suffix}_{n}");
                    }
                }
                self.by_credential.insert(key.clone(), name.clone());
                name
            }
        };
        let entry = self.needed.entry(name.clone()).or_insert_with(|| RequiredSecret {
            name: name.clone(),
            n8n_credential_type: key.0.clone(),
            n8n_credential_name: key.1.clone(),
            nodes: Vec::new(),
        });
        if !entry.nodes.contains(id) {
            entry.nodes.push(id.clone());
            entry.nodes.sort();
        }
        format!("{{{{ secrets.{name} }}}}")
    }

    /// Drops a node that was left out after all; a secret only it read is no longer needed.
    pub(super) fn forget(&mut self, id: &NodeId) {
        self.needed.values_mut().for_each(|secret| secret.nodes.retain(|node| node != id));
        self.needed.retain(|_, secret| !secret.nodes.is_empty());
    }

    pub(super) fn finish(self) -> Vec<RequiredSecret> {
        self.needed.into_values().collect()
    }
}
