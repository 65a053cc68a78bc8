//! [`RedisStepQueue`]: the step queue on one Redis stream read by one consumer group, so workers on
//! many nodes share the work and a crashed worker's jobs are taken over by the others.
//!
//! Per operation (stream `S`, group `G`; every call one round trip unless said otherwise):
//! - open: `XGROUP CREATE S G 0 MKSTREAM` (`BUSYGROUP` means it exists; from `0`, so jobs enqueued
//!   before the first worker are not skipped). Any call that meets `NOGROUP` (the stream was
//!   deleted under us) recreates the group and retries once.
//! - enqueue: `XADD S MAXLEN ~ <max_len> * job <json>`.
//! - claim: `XREADGROUP GROUP G <consumer> COUNT <max> [BLOCK <ms>] STREAMS S >`. A blocking read
//!   holds its connection until it returns, so it runs on a dedicated connection from a small pool,
//!   never the shared multiplexed one (whose other commands would queue behind it).
//! - ack: a script doing `XACK S G <id>` and, only if that acked it, `XDEL S <id>`, so the stream
//!   holds just waiting and in-flight jobs (and an unknown id deletes nothing).
//! - renew: a script doing, per id, `XPENDING S G <id> <id> 1` and, if `<consumer>` holds it,
//!   `XCLAIM S G <consumer> 0 <id> JUSTID` (resets the idle time, leaves the delivery count).
//! - reclaim_stale: `XAUTOCLAIM S G <consumer> <idle ms> <cursor> COUNT <n>`, repeated while the
//!   scan has more and fewer than `max` were found (the cursor is remembered between calls), then
//!   one pipeline of `XPENDING S G <id> <id> 1` per job for the delivery counts.
//! - depth: `MULTI XLEN S; XPENDING S G EXEC`: in flight is the pending count, waiting the rest.
//! - lag: `XINFO GROUPS S` for the group's last delivered id, then
//!   `MULTI XRANGE S (<last> + COUNT 1; TIME EXEC`: the age of the first undelivered entry by the
//!   Redis clock that stamped its id, so clocks of other machines do not matter.
//!
//! Entries that are not step jobs (written by something else, or by an incompatible version) are
//! dead-lettered when met: `MULTI XADD <dead> MAXLEN ~ 10000 * entry_id .. error .. field:<f> <v>..;
//! XACK; XDEL EXEC`, with a warning, instead of failing every claim that meets them.

mod reply;

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use ::redis::aio::MultiplexedConnection;
use ::redis::{Cmd, FromRedisValue, RedisError, Value};
use tracing::warn;

use self::reply::{
    RawEntry, START, autoclaim_reply, entries, int, is_stream_id, last_delivered_id, pending_holder,
    read_reply_entries, stream_id_millis,
};
use super::{Delivery, DeliveryId, QueueDepth, QueueFuture, StepJob, StepQueue};
use crate::error::{StoreError, StoreResult};
use crate::redis_link::RedisLink;

/// The one field of an entry: the job as JSON.
const JOB_FIELD: &[u8] = b"job";
/// How long past its own `BLOCK` a blocking read may take before the connection is given up.
const BLOCK_GRACE: Duration = Duration::from_secs(5);
/// Idle dedicated connections kept for blocking reads (more are opened when more claim at once).
const POOLED_BLOCKING_CONNECTIONS: usize = 16;
/// `XAUTOCLAIM` calls one `reclaim_stale` may make (each scans up to ten times its count).
const RECLAIM_ROUNDS: usize = 16;
/// Approximate cap on the dead-letter stream.
const DEAD_LETTER_MAX_LEN: usize = 10_000;

const ACK_SCRIPT: &str = r"
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 1 then
  redis.call('XDEL', KEYS[1], ARGV[2])
  return 1
end
return 0
";

const RENEW_SCRIPT: &str = r"
local held = {}
for i = 3, #ARGV do
  local pending = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)
  if #pending == 1 and pending[1][2] == ARGV[2] then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
    held[#held + 1] = ARGV[i]
  end
end
return held
";

/// Where a [`RedisStepQueue`] keeps its jobs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisQueueConfig {
    /// The stream's key.
    pub stream: String,
    /// The consumer group every worker joins.
    pub group: String,
    /// Where entries that are not step jobs go, with the reason (`<stream>:dead` by default).
    pub dead_letter_stream: String,
    /// Approximate cap on the stream's length (`XADD MAXLEN ~`). Acked entries are deleted, so this
    /// only bounds memory while workers are gone for long; keep it far above any real backlog,
    /// since trimming drops the oldest entries, done or not (their run actors, reloading from the
    /// database, dispatch them again).
    pub max_len: usize,
}

impl RedisQueueConfig {
    /// The default group and limits on the stream `stream`.
    pub fn on_stream(stream: impl Into<String>) -> Self {
        let stream = stream.into();
        Self { dead_letter_stream: format!("{stream}:dead"), stream, group: "workers".to_owned(), max_len: 1_000_000 }
    }
}

impl Default for RedisQueueConfig {
    /// The stream `aos:steps`, read by the group `workers`.
    fn default() -> Self {
        Self::on_stream("aos:steps")
    }
}

/// A step queue on a Redis stream; see the module docs for the commands behind each call.
pub struct RedisStepQueue {
    link: RedisLink,
    config: RedisQueueConfig,
    /// Idle dedicated connections for blocking claims. A claim whose future is dropped mid-read
    /// drops its connection too, since the read may still be blocked on the server.
    blocking: Mutex<Vec<MultiplexedConnection>>,
    /// Where the next `XAUTOCLAIM` scan resumes (`0-0`: the start), so a long list of live claims is
    /// walked across calls instead of rescanned from its head each time.
    reclaim_cursor: Mutex<String>,
}

impl std::fmt::Debug for RedisStepQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStepQueue").field("config", &self.config).finish_non_exhaustive()
    }
}

impl RedisStepQueue {
    /// A queue on `config.stream`, creating the stream and its group if they do not exist.
    pub async fn open(link: RedisLink, config: RedisQueueConfig) -> StoreResult<Self> {
        let queue =
            Self { link, config, blocking: Mutex::new(Vec::new()), reclaim_cursor: Mutex::new(START.to_owned()) };
        queue.ensure_group().await?;
        Ok(queue)
    }

    /// Where this queue keeps its jobs.
    pub fn config(&self) -> &RedisQueueConfig {
        &self.config
    }

    /// How many entries have been dead-lettered (and not trimmed since).
    pub async fn dead_letter_count(&self) -> StoreResult<u64> {
        let mut cmd = ::redis::cmd("XLEN");
        cmd.arg(&self.config.dead_letter_stream);
        self.query("xlen", &cmd).await
    }

    async fn ensure_group(&self) -> StoreResult<()> {
        let mut cmd = ::redis::cmd("XGROUP");
        cmd.arg("CREATE").arg(&self.config.stream).arg(&self.config.group).arg(START).arg("MKSTREAM");
        match cmd.query_async::<Value>(&mut self.link.shared()).await {
            Ok(_) => Ok(()),
            Err(err) if err.code() == Some("BUSYGROUP") => Ok(()),
            Err(err) => Err(self.failed("xgroup create", &err)),
        }
    }

    /// Runs `cmd` on the shared connection; recreates the group and retries once on `NOGROUP`.
    async fn query<T: FromRedisValue>(&self, op: &str, cmd: &Cmd) -> StoreResult<T> {
        let mut conn = self.link.shared();
        match cmd.query_async(&mut conn).await {
            Err(err) if is_no_group(&err) => {
                self.ensure_group().await?;
                cmd.query_async(&mut conn).await.map_err(|err| self.failed(op, &err))
            }
            result => result.map_err(|err| self.failed(op, &err)),
        }
    }

    /// Runs a pipeline on the shared connection; recreates the group and retries once on `NOGROUP`.
    async fn query_pipe<T: FromRedisValue>(&self, op: &str, pipe: &::redis::Pipeline) -> StoreResult<T> {
        let mut conn = self.link.shared();
        match pipe.query_async(&mut conn).await {
            Err(err) if is_no_group(&err) => {
                self.ensure_group().await?;
                pipe.query_async(&mut conn).await.map_err(|err| self.failed(op, &err))
            }
            result => result.map_err(|err| self.failed(op, &err)),
        }
    }

    fn failed(&self, op: &str, err: &RedisError) -> StoreError {
        StoreError::Redis { reason: format!("{op} on stream {} failed: {err}", self.config.stream) }
    }

    fn bad_reply(&self, op: &str, reason: &str) -> StoreError {
        StoreError::Redis { reason: format!("unexpected {op} reply on stream {}: {reason}", self.config.stream) }
    }

    async fn push(&self, job: &StepJob) -> StoreResult<DeliveryId> {
        let payload =
            serde_json::to_vec(job).map_err(|err| StoreError::Corrupt { what: "step job", reason: err.to_string() })?;
        let mut cmd = ::redis::cmd("XADD");
        cmd.arg(&self.config.stream).arg("MAXLEN").arg("~").arg(self.config.max_len).arg("*").arg(JOB_FIELD);
        cmd.arg(payload);
        let id: String = self.query("xadd", &cmd).await?;
        Ok(DeliveryId::new(id))
    }

    fn read_cmd(&self, consumer: &str, max: usize, block_ms: Option<u64>) -> Cmd {
        let mut cmd = ::redis::cmd("XREADGROUP");
        cmd.arg("GROUP").arg(&self.config.group).arg(consumer).arg("COUNT").arg(max);
        if let Some(ms) = block_ms {
            cmd.arg("BLOCK").arg(ms);
        }
        cmd.arg("STREAMS").arg(&self.config.stream).arg(">");
        cmd
    }

    async fn claim_jobs(&self, consumer: &str, max: usize, block_for: Duration) -> StoreResult<Vec<Delivery>> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let reply = if block_for.is_zero() {
            self.query("xreadgroup", &self.read_cmd(consumer, max, None)).await?
        } else {
            let cmd = self.read_cmd(consumer, max, Some(millis(block_for).max(1)));
            match self.read_blocking(&cmd, block_for).await? {
                Err(err) if is_no_group(&err) => {
                    self.ensure_group().await?;
                    self.read_blocking(&cmd, block_for).await?.map_err(|err| self.failed("xreadgroup", &err))?
                }
                reply => reply.map_err(|err| self.failed("xreadgroup", &err))?,
            }
        };
        let entries = read_reply_entries(&reply).map_err(|reason| self.bad_reply("xreadgroup", &reason))?;
        let jobs = self.jobs_of(entries).await?;
        Ok(jobs.into_iter().map(|(id, job)| Delivery { id, job, deliveries: 1 }).collect())
    }

    /// Runs a blocking read on a dedicated connection. The outer error is about the connection,
    /// the inner one is Redis's answer to the command.
    async fn read_blocking(&self, cmd: &Cmd, block_for: Duration) -> StoreResult<Result<Value, RedisError>> {
        let pooled = self.pool().pop();
        let mut conn = match pooled {
            Some(conn) => conn,
            None => self.link.dedicated().await?,
        };
        let limit = block_for + BLOCK_GRACE;
        let Ok(reply) = tokio::time::timeout(limit, cmd.query_async::<Value>(&mut conn)).await else {
            return Err(StoreError::Redis {
                reason: format!("xreadgroup on stream {} did not return within {limit:?}", self.config.stream),
            });
        };
        // Pool the connection again only if it is sound: an answer, or an error from the server
        // rather than from the link.
        if reply.as_ref().map_or_else(|err| err.code().is_some(), |_| true) {
            let mut pool = self.pool();
            if pool.len() < POOLED_BLOCKING_CONNECTIONS {
                pool.push(conn);
            }
        }
        Ok(reply)
    }

    fn pool(&self) -> MutexGuard<'_, Vec<MultiplexedConnection>> {
        self.blocking.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn cursor(&self) -> MutexGuard<'_, String> {
        self.reclaim_cursor.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Decodes entries into jobs, dead-lettering those that are not step jobs and dropping those
    /// whose entry is gone (trimmed while pending; older Redis versions report them as nil).
    async fn jobs_of(&self, entries: Vec<RawEntry>) -> StoreResult<Vec<(DeliveryId, StepJob)>> {
        let mut jobs = Vec::with_capacity(entries.len());
        for RawEntry { id, fields } in entries {
            match fields {
                None => {
                    let mut cmd = ::redis::cmd("XACK");
                    cmd.arg(&self.config.stream).arg(&self.config.group).arg(&id);
                    self.query::<i64>("xack", &cmd).await?;
                }
                Some(fields) => match decode(&fields) {
                    Ok(job) => jobs.push((DeliveryId::new(id), job)),
                    Err(reason) => self.dead_letter(&id, &fields, &reason).await?,
                },
            }
        }
        Ok(jobs)
    }

    async fn dead_letter(&self, id: &str, fields: &[(Vec<u8>, Vec<u8>)], reason: &str) -> StoreResult<()> {
        let (stream, group) = (&self.config.stream, &self.config.group);
        let mut add = ::redis::cmd("XADD");
        add.arg(&self.config.dead_letter_stream).arg("MAXLEN").arg("~").arg(DEAD_LETTER_MAX_LEN).arg("*");
        add.arg("entry_id").arg(id).arg("error").arg(reason);
        for (field, value) in fields {
            add.arg([b"field:".as_slice(), field].concat()).arg(value);
        }
        let mut pipe = ::redis::pipe();
        pipe.atomic().add_command(add).ignore();
        pipe.cmd("XACK").arg(stream).arg(group).arg(id).ignore();
        pipe.cmd("XDEL").arg(stream).arg(id).ignore();
        self.query_pipe::<()>("dead-letter", &pipe).await?;
        warn!(stream = %stream, entry_id = %id, error = %reason, "dead-lettered a step queue entry that is not a step job");
        Ok(())
    }

    async fn ack_one(&self, id: &DeliveryId) -> StoreResult<bool> {
        if !is_stream_id(id.as_str()) {
            return Ok(false);
        }
        let mut cmd = ::redis::cmd("EVAL");
        cmd.arg(ACK_SCRIPT).arg(1).arg(&self.config.stream).arg(&self.config.group).arg(id.as_str());
        let acked: i64 = self.query("ack", &cmd).await?;
        Ok(acked == 1)
    }

    async fn renew_held(&self, consumer: &str, ids: &[DeliveryId]) -> StoreResult<Vec<DeliveryId>> {
        let ids: Vec<&str> = ids.iter().map(DeliveryId::as_str).filter(|id| is_stream_id(id)).collect();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut cmd = ::redis::cmd("EVAL");
        cmd.arg(RENEW_SCRIPT).arg(1).arg(&self.config.stream).arg(&self.config.group).arg(consumer).arg(ids);
        let held: Vec<String> = self.query("renew", &cmd).await?;
        Ok(held.into_iter().map(DeliveryId::new).collect())
    }

    async fn reclaim(&self, consumer: &str, idle_for: Duration, max: usize) -> StoreResult<Vec<Delivery>> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let mut cursor = self.cursor().clone();
        let mut wrapped = cursor == START;
        let mut found = Vec::new();
        for _ in 0..RECLAIM_ROUNDS {
            let mut cmd = ::redis::cmd("XAUTOCLAIM");
            cmd.arg(&self.config.stream).arg(&self.config.group).arg(consumer).arg(millis(idle_for));
            cmd.arg(&cursor).arg("COUNT").arg(max - found.len());
            let reply: Value = self.query("xautoclaim", &cmd).await?;
            let (next, entries) = autoclaim_reply(&reply).map_err(|reason| self.bad_reply("xautoclaim", &reason))?;
            found.extend(self.jobs_of(entries).await?);
            cursor = next;
            if found.len() >= max {
                break;
            }
            if cursor == START {
                if wrapped {
                    break;
                }
                wrapped = true;
            }
        }
        *self.cursor() = cursor;
        self.with_delivery_counts(consumer, found).await
    }

    /// Reads how often each reclaimed job has been delivered, keeping only those `consumer` still
    /// holds (one acked by its old holder in the meantime is done).
    async fn with_delivery_counts(
        &self,
        consumer: &str,
        jobs: Vec<(DeliveryId, StepJob)>,
    ) -> StoreResult<Vec<Delivery>> {
        if jobs.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = ::redis::pipe();
        for (id, _) in &jobs {
            pipe.cmd("XPENDING").arg(&self.config.stream).arg(&self.config.group).arg(id.as_str()).arg(id.as_str());
            pipe.arg(1);
        }
        let replies: Vec<Value> = self.query_pipe("xpending", &pipe).await?;
        let mut deliveries = Vec::with_capacity(jobs.len());
        for ((id, job), reply) in jobs.into_iter().zip(replies) {
            match pending_holder(&reply).map_err(|reason| self.bad_reply("xpending", &reason))? {
                Some((holder, count)) if holder == consumer => {
                    deliveries.push(Delivery { id, job, deliveries: u32::try_from(count).unwrap_or(u32::MAX) });
                }
                _ => {}
            }
        }
        Ok(deliveries)
    }

    async fn count(&self) -> StoreResult<QueueDepth> {
        let mut pipe = ::redis::pipe();
        pipe.atomic().cmd("XLEN").arg(&self.config.stream).cmd("XPENDING").arg(&self.config.stream);
        pipe.arg(&self.config.group);
        let (len, pending): (u64, Value) = self.query_pipe("xlen and xpending", &pipe).await?;
        let in_flight = match &pending {
            Value::Array(summary) => summary.first().and_then(int),
            _ => None,
        };
        let in_flight = in_flight
            .and_then(|count| u64::try_from(count).ok())
            .ok_or_else(|| self.bad_reply("xpending", "no pending count"))?;
        Ok(QueueDepth { waiting: len.saturating_sub(in_flight), in_flight })
    }

    async fn oldest_waiting_age(&self) -> StoreResult<Duration> {
        let mut info = ::redis::cmd("XINFO");
        info.arg("GROUPS").arg(&self.config.stream);
        let groups: Value = match info.query_async(&mut self.link.shared()).await {
            Ok(groups) => groups,
            // No stream: nothing waits.
            Err(err) if err.to_string().contains("no such key") => {
                return Ok(Duration::ZERO);
            }
            Err(err) => return Err(self.failed("xinfo groups", &err)),
        };
        // No group yet: it will be created from the start, so every entry waits.
        let last = last_delivered_id(&groups, &self.config.group).unwrap_or_else(|| START.to_owned());
        let mut pipe = ::redis::pipe();
        pipe.atomic().cmd("XRANGE").arg(&self.config.stream).arg(format!("({last}")).arg("+").arg("COUNT").arg(1);
        pipe.cmd("TIME");
        let (range, time): (Value, Vec<u64>) = self.query_pipe("xrange and time", &pipe).await?;
        let entries = entries(&range).map_err(|reason| self.bad_reply("xrange", &reason))?;
        let Some(oldest) = entries.first() else {
            return Ok(Duration::ZERO);
        };
        let stamped_ms = stream_id_millis(&oldest.id).ok_or_else(|| self.bad_reply("xrange", "entry id"))?;
        let [secs, micros] = time[..] else {
            return Err(self.bad_reply("time", "expected seconds and microseconds"));
        };
        let now_ms = secs.saturating_mul(1_000).saturating_add(micros / 1_000);
        Ok(Duration::from_millis(now_ms.saturating_sub(stamped_ms)))
    }
}

impl StepQueue for RedisStepQueue {
    fn enqueue<'a>(&'a self, job: &'a StepJob) -> QueueFuture<'a, DeliveryId> {
        Box::pin(self.push(job))
    }

    fn claim<'a>(&'a self, consumer: &'a str, max: usize, block_for: Duration) -> QueueFuture<'a, Vec<Delivery>> {
        Box::pin(self.claim_jobs(consumer, max, block_for))
    }

    fn ack<'a>(&'a self, id: &'a DeliveryId) -> QueueFuture<'a, bool> {
        Box::pin(self.ack_one(id))
    }

    fn renew<'a>(&'a self, consumer: &'a str, ids: &'a [DeliveryId]) -> QueueFuture<'a, Vec<DeliveryId>> {
        Box::pin(self.renew_held(consumer, ids))
    }

    fn reclaim_stale<'a>(
        &'a self,
        consumer: &'a str,
        idle_for: Duration,
        max: usize,
    ) -> QueueFuture<'a, Vec<Delivery>> {
        Box::pin(self.reclaim(consumer, idle_for, max))
    }

    fn depth(&self) -> QueueFuture<'_, QueueDepth> {
        Box::pin(self.count())
    }

    fn lag(&self) -> QueueFuture<'_, Duration> {
        Box::pin(self.oldest_waiting_age())
    }
}

fn decode(fields: &[(Vec<u8>, Vec<u8>)]) -> Result<StepJob, String> {
    let (_, payload) = fields.iter().find(|(field, _)| field == JOB_FIELD).ok_or("entry has no job field")?;
    serde_json::from_slice(payload).map_err(|err| format!("job field is not a step job: {err}"))
}

/// The group (or its stream) is gone. Matched on the text, since inside a pipeline or a script the
/// server's error code is not exposed as a code.
fn is_no_group(err: &RedisError) -> bool {
    err.code() == Some("NOGROUP") || err.to_string().contains("NOGROUP")
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
