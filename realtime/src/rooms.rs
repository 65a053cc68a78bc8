//! [`DocRooms`]: the node's door to its doc rooms. It finds (or starts, through the `doc-rooms`
//! supervisor) the room of a workflow and talks to it; the WebSocket sessions and the HTTP layer
//! (`PUT /api/workflows/{id}/graph`) go through it.

use std::sync::Arc;
use std::time::Duration;

use aos_actors::{ActorStats, SupervisorHandle};
use aos_schema::doc::{ApplyStats, DocGraph};
use aos_schema::{WorkflowGraph, WorkflowId};
use axum::body::Bytes;
use ractor::rpc::CallResult;
use ractor::{ActorRef, RpcReplyPort};
use tokio::sync::mpsc;

use crate::actor::{DocRoomMsg, Joined, Outbound};
use crate::error::{RealtimeError, RealtimeResult};
use crate::room::{Access, ConnId};

/// How often a request retries a room that stopped (idle unload) between being found and asked.
const ATTEMPTS: u32 = 5;

/// The address of one running room, counting what it sends into the room's mailbox.
#[derive(Debug, Clone)]
pub struct RoomRef {
    pub workflow: WorkflowId,
    pub actor: ActorRef<DocRoomMsg>,
    pub stats: Arc<ActorStats>,
}

impl RoomRef {
    /// Sends a message that needs no answer; false when the room is gone.
    pub fn tell(&self, message: DocRoomMsg) -> bool {
        self.stats.enqueued();
        let sent = self.actor.send_message(message).is_ok();
        if !sent {
            self.stats.dequeued();
        }
        sent
    }

    /// Asks the room; `None` when it is gone before answering.
    pub async fn ask<T: Send + 'static>(&self, build: impl FnOnce(RpcReplyPort<T>) -> DocRoomMsg) -> Option<T> {
        self.stats.enqueued();
        match self.actor.call(build, None).await {
            Ok(CallResult::Success(answer)) => Some(answer),
            _ => None,
        }
    }

    /// Hands a frame from `conn` to the room.
    pub fn frame(&self, conn: ConnId, bytes: Bytes) -> bool {
        self.tell(DocRoomMsg::Frame { conn, bytes })
    }
}

/// The doc rooms of this node.
#[derive(Debug, Clone)]
pub struct DocRooms {
    supervisor: SupervisorHandle,
}

impl DocRooms {
    /// Rooms started under `supervisor` (the `doc-rooms` kind supervisor, whose factory is a
    /// [`DocRoomFactory`](crate::DocRoomFactory)).
    pub fn new(supervisor: SupervisorHandle) -> Self {
        Self { supervisor }
    }

    /// The room of `workflow`, started (and loaded) if it is not running.
    pub async fn room(&self, workflow: WorkflowId) -> RealtimeResult<RoomRef> {
        let started = self
            .supervisor
            .start(&workflow.to_string())
            .await
            .map_err(|err| RealtimeError::RoomUnavailable { workflow, reason: err.to_string() })?;
        Ok(RoomRef { workflow, actor: started.cell.into(), stats: started.stats })
    }

    /// Asks the room of `workflow`, starting it if needed and trying again if it stopped meanwhile.
    pub async fn ask<T: Send + 'static>(
        &self,
        workflow: WorkflowId,
        build: impl Fn(RpcReplyPort<T>) -> DocRoomMsg,
    ) -> RealtimeResult<(RoomRef, T)> {
        for attempt in 0..ATTEMPTS {
            let room = self.room(workflow).await?;
            if let Some(answer) = room.ask(&build).await {
                return Ok((room, answer));
            }
            // the room was stopping (idle unload); its supervisor forgets it shortly
            tokio::time::sleep(Duration::from_millis(20 << attempt)).await;
        }
        Err(RealtimeError::RoomUnavailable { workflow, reason: "the room kept stopping".to_owned() })
    }

    /// Admits a connection to the room of `workflow`; with `acks` it is told which of its frames
    /// are durable.
    pub async fn join(
        &self,
        workflow: WorkflowId,
        access: Access,
        acks: bool,
        outbox: mpsc::Sender<Outbound>,
    ) -> RealtimeResult<(RoomRef, Joined)> {
        self.ask(workflow, |reply| DocRoomMsg::Join { access: access.clone(), acks, outbox: outbox.clone(), reply })
            .await
    }

    /// Writes a whole graph into the live doc as a minimal CRDT change; open editors see it.
    pub async fn apply_graph(
        &self,
        workflow: WorkflowId,
        graph: &WorkflowGraph,
        origin: &str,
    ) -> RealtimeResult<ApplyStats> {
        let (_, answer) = self
            .ask(workflow, |reply| DocRoomMsg::ApplyGraph { graph: graph.clone(), origin: origin.to_owned(), reply })
            .await?;
        answer.map_err(|reason| RealtimeError::GraphRejected { workflow, reason })
    }

    /// The graph the live doc holds now (what publishing materialises).
    pub async fn graph(&self, workflow: WorkflowId) -> RealtimeResult<DocGraph> {
        Ok(self.ask(workflow, DocRoomMsg::Graph).await?.1)
    }

    /// The presence states in the room, as (awareness client id, JSON).
    pub async fn presence(&self, workflow: WorkflowId) -> RealtimeResult<Vec<(u64, String)>> {
        Ok(self.ask(workflow, DocRoomMsg::Presence).await?.1)
    }

    /// How many connections the room of `workflow` holds (starting the room if it is not running).
    pub async fn connections(&self, workflow: WorkflowId) -> RealtimeResult<usize> {
        Ok(self.ask(workflow, DocRoomMsg::Connections).await?.1)
    }

    /// Compacts the room's log into a snapshot now; returns the sequence number it covers.
    pub async fn compact(&self, workflow: WorkflowId) -> RealtimeResult<i64> {
        self.ask(workflow, DocRoomMsg::Compact).await?.1.map_err(|_| RealtimeError::CompactionFailed { workflow })
    }

    /// The workflows whose rooms run on this node.
    pub async fn open(&self) -> Vec<String> {
        self.supervisor.children().await.unwrap_or_default()
    }
}
