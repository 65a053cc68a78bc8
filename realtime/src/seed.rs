//! A workflow's doc at birth: when a workflow is created (empty, or from an import), the server
//! writes its doc into the log before any editor can open it, so no client ever creates the
//! `nodes`/`edges` maps itself (two clients doing that at once would lose one side's map).

use aos_persistence::Store;
use aos_schema::doc as wfdoc;
use aos_schema::{WorkflowGraph, WorkflowId};
use yrs::updates::decoder::Decode;
use yrs::{ReadTxn, StateVector, Transact, Update};

use crate::error::{RealtimeError, RealtimeResult};

/// Writes the doc of a new workflow holding `graph` (the skeleton alone for an empty graph) as the
/// first entry of its log. Does nothing if the log already has entries: the doc exists.
pub async fn seed_doc(store: &Store, workflow: WorkflowId, graph: &WorkflowGraph) -> RealtimeResult<bool> {
    if !store.docs().updates_after(workflow, 0).await?.is_empty() {
        return Ok(false);
    }
    let state = initial_state(graph).map_err(|reason| RealtimeError::GraphRejected { workflow, reason })?;
    store.docs().append_update(workflow, &state, "server:create").await?;
    Ok(true)
}

/// The encoded doc holding the skeleton and `graph`.
pub fn initial_state(graph: &WorkflowGraph) -> Result<Vec<u8>, String> {
    let doc = yrs::Doc::new();
    let skeleton = Update::decode_v1(&wfdoc::skeleton_update()).map_err(|err| err.to_string())?;
    let mut txn = doc.transact_mut();
    txn.apply_update(skeleton).map_err(|err| err.to_string())?;
    wfdoc::apply_graph(&mut txn, graph).map_err(|err| err.to_string())?;
    drop(txn);
    Ok(doc.transact().encode_state_as_update_v1(&StateVector::default()))
}
