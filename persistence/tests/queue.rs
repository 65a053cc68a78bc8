//! The step queue conformance suite: every test runs once on the in-process queue and once on Redis
//! Streams (a fresh stream per test, deleted afterwards), proving the two behave the same. Then the
//! Redis-only cases: entries that are not step jobs, a stream deleted or of the wrong type.
//!
//! Redis is found through `AOS_TEST_REDIS_URL` (default `redis://127.0.0.1:6379`).

use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aos_persistence::testing::{wait_for, wait_until};
use aos_persistence::{
    Delivery, JobStep, MemoryStepQueue, QueueDepth, RedisLink, RedisQueueConfig, RedisStepQueue, StepJob, StepQueue,
    StoreError, Timestamp,
};
use aos_schema::{OrgId, RunId, WorkflowId};
use tokio::time::Instant;

/// The idle timeout after which a held job may be reclaimed, in these tests.
const IDLE: Duration = Duration::from_millis(200);
/// How long a bounded poll waits for a condition before failing the test.
const PATIENCE: Duration = Duration::from_secs(10);

fn redis_url() -> String {
    std::env::var("AOS_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Memory,
    Redis,
}

/// What a conformance test gets.
struct QueueContext {
    queue: Arc<dyn StepQueue>,
    /// Another handle on the same queue, as a second node holds it (its own connections on Redis,
    /// the same object in process).
    peer: Arc<dyn StepQueue>,
}

/// Runs one conformance test on a fresh queue of `backend`, deleting its streams afterwards even
/// when the test panics (the panic is then re-raised).
async fn run_on<F, Fut>(backend: Backend, test: F)
where
    F: FnOnce(QueueContext) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (context, config) = match backend {
        Backend::Memory => {
            let queue: Arc<dyn StepQueue> = Arc::new(MemoryStepQueue::new());
            (QueueContext { queue: queue.clone(), peer: queue }, None)
        }
        Backend::Redis => {
            let config = fresh_config();
            let queue = redis_queue(&config).await;
            let peer = redis_queue(&config).await;
            (QueueContext { queue: Arc::new(queue), peer: Arc::new(peer) }, Some(config))
        }
    };
    let outcome = tokio::spawn(test(context)).await;
    if let Some(config) = config {
        delete_streams(&config).await;
    }
    if let Err(err) = outcome {
        if err.is_panic() {
            std::panic::resume_unwind(err.into_panic());
        }
        panic!("queue test was cancelled: {err}");
    }
}

/// Generates, for each listed `async fn(QueueContext)`, one test per backend: `memory::name` and
/// `redis::name`.
macro_rules! queue_suite {
    ($($test:ident),+ $(,)?) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::run_on(super::Backend::Memory, super::$test).await;
                }
            )+
        }
        mod redis {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::run_on(super::Backend::Redis, super::$test).await;
                }
            )+
        }
    };
}

queue_suite!(
    claims_take_the_oldest_jobs_first,
    a_claim_waits_for_the_next_job,
    an_unacked_job_is_reclaimed_by_another_consumer_after_the_idle_timeout,
    acked_jobs_never_come_back,
    a_dropped_claimer_loses_no_job,
    concurrent_consumers_each_get_a_job_once,
    renewing_keeps_a_claim_from_being_reclaimed,
    reclaiming_takes_the_oldest_first_up_to_max,
    depth_and_lag_reflect_the_queue,
);

// ---- fixtures ----

fn fresh_config() -> RedisQueueConfig {
    RedisQueueConfig::on_stream(format!("aos:test:steps:{}", uuid::Uuid::new_v4().simple()))
}

async fn redis_queue(config: &RedisQueueConfig) -> RedisStepQueue {
    let link = RedisLink::connect(&redis_url()).await.expect("redis for tests (AOS_TEST_REDIS_URL)");
    RedisStepQueue::open(link, config.clone()).await.expect("open redis step queue")
}

async fn raw_redis() -> ::redis::aio::MultiplexedConnection {
    let client = ::redis::Client::open(redis_url()).expect("redis url");
    client.get_multiplexed_async_connection().await.expect("raw redis connection")
}

async fn delete_streams(config: &RedisQueueConfig) {
    if let Ok(client) = ::redis::Client::open(redis_url())
        && let Ok(mut conn) = client.get_multiplexed_async_connection().await
    {
        let _ignored: Result<i64, _> =
            ::redis::cmd("DEL").arg(&config.stream).arg(&config.dead_letter_stream).query_async(&mut conn).await;
    }
}

/// A first-attempt job for the step `step_key` of a fresh run, carrying its step (so every test
/// also proves a job's step travels through the queue intact).
fn job(step_key: &str) -> StepJob {
    let config = serde_json::json!({ "method": "GET", "url": "http://example.test/{{ input.id }}" });
    StepJob {
        run_id: RunId::new(),
        org_id: OrgId::new(),
        workflow_id: WorkflowId::new(),
        step_key: step_key.to_owned(),
        attempt: 1,
        enqueued_at: Timestamp::now(),
        step: Some(JobStep {
            kind: "http.request".into(),
            config: config.as_object().cloned().unwrap_or_default(),
            context: serde_json::json!({ "trigger": { "id": 7 }, "steps": {}, "input": { "id": 7 } }),
        }),
        traceparent: Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into()),
    }
}

fn keys(deliveries: &[Delivery]) -> Vec<&str> {
    deliveries.iter().map(|delivery| delivery.job.step_key.as_str()).collect()
}

fn depth(waiting: u64, in_flight: u64) -> QueueDepth {
    QueueDepth { waiting, in_flight }
}

// ---- the conformance suite ----

async fn claims_take_the_oldest_jobs_first(cx: QueueContext) {
    let mut enqueued = Vec::new();
    for i in 0..10 {
        let job = job(&format!("s{i}"));
        let id = cx.queue.enqueue(&job).await.unwrap();
        enqueued.push((id, job));
    }
    let first = cx.queue.claim("a", 4, Duration::ZERO).await.unwrap();
    assert_eq!(keys(&first), ["s0", "s1", "s2", "s3"]);
    let second = cx.peer.claim("b", 4, Duration::ZERO).await.unwrap();
    assert_eq!(keys(&second), ["s4", "s5", "s6", "s7"]);
    let rest = cx.queue.claim("a", 10, Duration::ZERO).await.unwrap();
    assert_eq!(keys(&rest), ["s8", "s9"]);
    assert!(cx.queue.claim("a", 10, Duration::ZERO).await.unwrap().is_empty());
    assert!(cx.queue.claim("c", 0, Duration::ZERO).await.unwrap().is_empty());

    // each delivery is the job as enqueued, under the id enqueue returned, delivered once so far
    let delivered: Vec<Delivery> = first.into_iter().chain(second).chain(rest).collect();
    for (delivery, (id, job)) in delivered.iter().zip(&enqueued) {
        assert_eq!((&delivery.id, &delivery.job, delivery.deliveries), (id, job, 1));
    }
}

async fn a_claim_waits_for_the_next_job(cx: QueueContext) {
    // nothing comes: the claim returns empty after about `block_for`
    let started = Instant::now();
    assert!(cx.queue.claim("a", 1, Duration::from_millis(150)).await.unwrap().is_empty());
    assert!(started.elapsed() >= Duration::from_millis(100), "returned after {:?}", started.elapsed());

    // a job comes while the claim waits: it returns with it, long before its limit
    let queue = cx.queue.clone();
    let waiting = tokio::spawn(async move {
        let started = Instant::now();
        (queue.claim("a", 5, PATIENCE).await.unwrap(), started.elapsed())
    });
    // Gives the claimer time to start waiting; the test holds either way (it may find the job at once).
    tokio::time::sleep(Duration::from_millis(50)).await;
    cx.peer.enqueue(&job("late")).await.unwrap();
    let (claimed, waited) = waiting.await.unwrap();
    assert_eq!(keys(&claimed), ["late"]);
    assert!(waited < PATIENCE, "the claim waited out its limit ({waited:?}) although a job came");
}

async fn an_unacked_job_is_reclaimed_by_another_consumer_after_the_idle_timeout(cx: QueueContext) {
    cx.queue.enqueue(&job("notify")).await.unwrap();
    // consumer a (on one node) takes it and dies without acking
    let [held] = <[Delivery; 1]>::try_from(cx.queue.claim("a", 10, Duration::ZERO).await.unwrap()).unwrap();
    // while held, nobody else gets it: not by claiming, not by reclaiming before the timeout
    assert!(cx.peer.claim("b", 10, Duration::ZERO).await.unwrap().is_empty());
    assert!(cx.peer.reclaim_stale("b", IDLE, 10).await.unwrap().is_empty());
    assert_eq!(cx.queue.depth().await.unwrap(), depth(0, 1));

    // after the idle timeout consumer b (on another node) takes it over
    let taken = wait_for(PATIENCE, || async {
        let found = cx.peer.reclaim_stale("b", IDLE, 10).await.unwrap();
        (!found.is_empty()).then_some(found)
    })
    .await
    .expect("b reclaims the job");
    assert_eq!(taken.len(), 1);
    assert_eq!((&taken[0].id, &taken[0].job, taken[0].deliveries), (&held.id, &held.job, 2));
    assert_eq!(cx.queue.depth().await.unwrap(), depth(0, 1));

    // a learns it lost the job; b's ack is the one that counts
    assert!(cx.queue.renew("a", std::slice::from_ref(&held.id)).await.unwrap().is_empty());
    assert!(cx.peer.ack(&taken[0].id).await.unwrap());
    assert!(!cx.queue.ack(&held.id).await.unwrap());
    assert_eq!(cx.queue.depth().await.unwrap(), depth(0, 0));
    assert!(cx.queue.reclaim_stale("c", Duration::ZERO, 10).await.unwrap().is_empty());
}

async fn acked_jobs_never_come_back(cx: QueueContext) {
    for key in ["x", "y", "z"] {
        cx.queue.enqueue(&job(key)).await.unwrap();
    }
    let claimed = cx.queue.claim("a", 10, Duration::ZERO).await.unwrap();
    assert_eq!(claimed.len(), 3);
    for delivery in &claimed {
        assert!(cx.queue.ack(&delivery.id).await.unwrap());
    }
    for delivery in &claimed {
        assert!(!cx.peer.ack(&delivery.id).await.unwrap(), "a second ack finds nothing");
    }
    assert_eq!(cx.queue.depth().await.unwrap(), depth(0, 0));
    // Lets the idle timeout pass: an acked job must not come back even then.
    tokio::time::sleep(IDLE + Duration::from_millis(50)).await;
    assert!(cx.peer.reclaim_stale("b", Duration::ZERO, 10).await.unwrap().is_empty());
    assert!(cx.peer.claim("b", 10, Duration::from_millis(50)).await.unwrap().is_empty());
    assert_eq!(cx.queue.depth().await.unwrap(), depth(0, 0));
}

async fn a_dropped_claimer_loses_no_job(cx: QueueContext) {
    // a worker waiting for work is cancelled (its task aborted) before and while jobs arrive
    let queue = cx.queue.clone();
    let ghost = tokio::spawn(async move { queue.claim("ghost", 10, PATIENCE).await });
    // Gives the claimer time to start waiting, so it is cancelled mid-wait.
    tokio::time::sleep(Duration::from_millis(50)).await;
    cx.queue.enqueue(&job("one")).await.unwrap();
    ghost.abort();
    cx.queue.enqueue(&job("two")).await.unwrap();

    // every job still reaches another consumer: by claiming, or by reclaiming what the ghost took
    let seen = std::sync::Mutex::new(Vec::new());
    let both = wait_until(PATIENCE, || async {
        let claimed = cx.peer.claim("b", 10, Duration::ZERO).await.unwrap();
        let reclaimed = cx.peer.reclaim_stale("b", IDLE, 10).await.unwrap();
        for delivery in claimed.iter().chain(&reclaimed) {
            assert!(cx.peer.ack(&delivery.id).await.unwrap());
            seen.lock().unwrap().push(delivery.job.step_key.clone());
        }
        seen.lock().unwrap().len() >= 2
    })
    .await;
    assert!(both, "both jobs reach consumer b");
    let mut seen = seen.into_inner().unwrap();
    seen.sort();
    assert_eq!(seen, ["one", "two"]);
    assert_eq!(cx.queue.depth().await.unwrap(), depth(0, 0));
}

async fn concurrent_consumers_each_get_a_job_once(cx: QueueContext) {
    const PRODUCERS: usize = 4;
    const JOBS_EACH: usize = 200;
    const CONSUMERS: usize = 4;
    const TOTAL: usize = PRODUCERS * JOBS_EACH;

    let mut producers = Vec::new();
    for p in 0..PRODUCERS {
        let queue = if p % 2 == 0 { cx.queue.clone() } else { cx.peer.clone() };
        producers.push(tokio::spawn(async move {
            for i in 0..JOBS_EACH {
                queue.enqueue(&job(&format!("p{p}-{i}"))).await.unwrap();
            }
        }));
    }
    let acked = Arc::new(AtomicUsize::new(0));
    let mut consumers = Vec::new();
    for c in 0..CONSUMERS {
        let queue = if c % 2 == 0 { cx.queue.clone() } else { cx.peer.clone() };
        let acked = acked.clone();
        consumers.push(tokio::spawn(async move {
            let name = format!("worker-{c}");
            let deadline = Instant::now() + PATIENCE * 3;
            let mut got = Vec::new();
            while acked.load(Ordering::SeqCst) < TOTAL && Instant::now() < deadline {
                for delivery in queue.claim(&name, 16, Duration::from_millis(100)).await.unwrap() {
                    assert_eq!(delivery.deliveries, 1);
                    got.push(delivery.job.step_key.clone());
                    assert!(queue.ack(&delivery.id).await.unwrap(), "{} was acked by someone else", delivery.id);
                    acked.fetch_add(1, Ordering::SeqCst);
                }
            }
            got
        }));
    }
    for producer in producers {
        producer.await.unwrap();
    }
    let mut all = Vec::new();
    for consumer in consumers {
        let got = consumer.await.unwrap();
        // roughly FIFO: each consumer sees each producer's jobs in the order they were enqueued
        let mut last_of: BTreeMap<&str, usize> = BTreeMap::new();
        for key in &got {
            let (producer, index) = key.split_once('-').unwrap();
            let index: usize = index.parse().unwrap();
            if let Some(last) = last_of.insert(producer, index) {
                assert!(last < index, "{producer}-{index} came after {producer}-{last}");
            }
        }
        all.extend(got);
    }
    assert_eq!(all.len(), TOTAL, "every job delivered, none twice");
    assert_eq!(all.iter().collect::<HashSet<_>>().len(), TOTAL, "no job delivered twice");
    assert_eq!(cx.queue.depth().await.unwrap(), depth(0, 0));
}

async fn renewing_keeps_a_claim_from_being_reclaimed(cx: QueueContext) {
    cx.queue.enqueue(&job("long-step")).await.unwrap();
    let [held] = <[Delivery; 1]>::try_from(cx.queue.claim("a", 1, Duration::ZERO).await.unwrap()).unwrap();
    // Lets the claim grow older than the idle timeout, as a long step would.
    tokio::time::sleep(IDLE + Duration::from_millis(100)).await;

    // the holder renews it just in time: nobody may take it now
    assert_eq!(cx.queue.renew("a", std::slice::from_ref(&held.id)).await.unwrap(), std::slice::from_ref(&held.id));
    assert!(cx.peer.reclaim_stale("b", IDLE, 10).await.unwrap().is_empty());
    // only the holder can renew
    assert!(cx.peer.renew("b", std::slice::from_ref(&held.id)).await.unwrap().is_empty());

    // the holder stops renewing (it died): after the timeout b takes over
    let taken = wait_for(PATIENCE, || async {
        let found = cx.peer.reclaim_stale("b", IDLE, 10).await.unwrap();
        (!found.is_empty()).then_some(found)
    })
    .await
    .expect("b reclaims the job");
    assert_eq!((&taken[0].id, taken[0].deliveries), (&held.id, 2));
    assert!(cx.queue.renew("a", std::slice::from_ref(&held.id)).await.unwrap().is_empty());
    assert_eq!(cx.peer.renew("b", std::slice::from_ref(&held.id)).await.unwrap(), std::slice::from_ref(&held.id));
}

async fn reclaiming_takes_the_oldest_first_up_to_max(cx: QueueContext) {
    for i in 0..5 {
        cx.queue.enqueue(&job(&format!("s{i}"))).await.unwrap();
    }
    assert_eq!(cx.queue.claim("a", 5, Duration::ZERO).await.unwrap().len(), 5);
    let first = wait_for(PATIENCE, || async {
        let found = cx.peer.reclaim_stale("b", IDLE, 2).await.unwrap();
        (!found.is_empty()).then_some(found)
    })
    .await
    .expect("b reclaims");
    assert_eq!(keys(&first), ["s0", "s1"]);
    let rest = cx.peer.reclaim_stale("c", IDLE, 10).await.unwrap();
    assert_eq!(keys(&rest), ["s2", "s3", "s4"]);
    // what b took is b's now, and not idle
    assert!(cx.peer.reclaim_stale("c", IDLE, 10).await.unwrap().is_empty());
    assert_eq!(cx.queue.depth().await.unwrap(), depth(0, 5));
}

async fn depth_and_lag_reflect_the_queue(cx: QueueContext) {
    assert_eq!(cx.queue.depth().await.unwrap(), depth(0, 0));
    assert_eq!(cx.queue.lag().await.unwrap(), Duration::ZERO);

    let before = Instant::now();
    for key in ["a", "b", "c"] {
        cx.queue.enqueue(&job(key)).await.unwrap();
    }
    assert_eq!(cx.peer.depth().await.unwrap(), depth(3, 0));
    let lag = wait_for(PATIENCE, || async {
        let lag = cx.peer.lag().await.unwrap();
        (lag >= Duration::from_millis(100)).then_some(lag)
    })
    .await
    .expect("the oldest job has waited 100 ms");
    // Redis measures by its own clock in whole milliseconds, hence the slack
    assert!(lag <= before.elapsed() + Duration::from_millis(5), "lag {lag:?} exceeds the wait {:?}", before.elapsed());

    let claimed = cx.queue.claim("w", 2, Duration::ZERO).await.unwrap();
    assert_eq!(cx.queue.depth().await.unwrap(), depth(1, 2));
    assert!(cx.queue.lag().await.unwrap() >= Duration::from_millis(100), "the third job waits as long");
    assert!(cx.queue.ack(&claimed[0].id).await.unwrap());
    assert_eq!(cx.queue.depth().await.unwrap(), depth(1, 1));

    let last = cx.queue.claim("w", 2, Duration::ZERO).await.unwrap();
    assert_eq!(cx.queue.depth().await.unwrap(), depth(0, 2));
    assert_eq!(cx.queue.lag().await.unwrap(), Duration::ZERO, "nothing waits");
    for delivery in claimed.iter().skip(1).chain(&last) {
        assert!(cx.queue.ack(&delivery.id).await.unwrap());
    }
    assert_eq!(cx.peer.depth().await.unwrap(), depth(0, 0));
}

// ---- Redis only ----

/// Runs a Redis-only test on a fresh stream, deleting it afterwards even if the test panics.
async fn on_fresh_stream<F, Fut>(test: F)
where
    F: FnOnce(RedisQueueConfig) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let config = fresh_config();
    let outcome = tokio::spawn(test(config.clone())).await;
    delete_streams(&config).await;
    if let Err(err) = outcome {
        if err.is_panic() {
            std::panic::resume_unwind(err.into_panic());
        }
        panic!("queue test was cancelled: {err}");
    }
}

/// Writes a raw entry (what another program, or a broken one, could write) to `stream`.
async fn xadd_raw(stream: &str, fields: &[(&[u8], &[u8])]) -> String {
    let mut cmd = ::redis::cmd("XADD");
    cmd.arg(stream).arg("*");
    for (field, value) in fields {
        cmd.arg(*field).arg(*value);
    }
    cmd.query_async(&mut raw_redis().await).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_that_are_not_step_jobs_are_dead_lettered_not_delivered() {
    on_fresh_stream(|config: RedisQueueConfig| async move {
        let queue = redis_queue(&config).await;
        let stream = config.stream.as_str();
        let no_job = xadd_raw(stream, &[(b"other", b"value")]).await;
        xadd_raw(stream, &[(b"job", b"not json")]).await;
        xadd_raw(stream, &[(b"job", br#"{"run_id": "nope"}"#)]).await;
        xadd_raw(stream, &[(b"\xff\xfe", b"\x00\x01\x02")]).await;
        let good = job("good");
        queue.enqueue(&good).await.unwrap();

        let claimed = queue.claim("a", 10, Duration::ZERO).await.unwrap();
        assert_eq!(claimed.iter().map(|delivery| &delivery.job).collect::<Vec<_>>(), [&good]);
        assert_eq!(queue.dead_letter_count().await.unwrap(), 4);
        assert_eq!(queue.depth().await.unwrap(), depth(0, 1));
        assert!(queue.reclaim_stale("b", Duration::ZERO, 10).await.unwrap().iter().all(|d| d.job == good));

        // the dead letter names the entry, says why, and keeps its fields (the first three: the
        // fourth keeps a field name that is not UTF-8, which the typed reply here cannot hold)
        let dead: ::redis::streams::StreamRangeReply = ::redis::cmd("XRANGE")
            .arg(&config.dead_letter_stream)
            .arg("-")
            .arg("+")
            .arg("COUNT")
            .arg(3)
            .query_async(&mut raw_redis().await)
            .await
            .unwrap();
        let first = &dead.ids[0];
        assert_eq!(first.get::<String>("entry_id"), Some(no_job));
        assert_eq!(first.get::<String>("error").as_deref(), Some("entry has no job field"));
        assert_eq!(first.get::<String>("field:other").as_deref(), Some("value"));
        let reasons: Vec<String> = dead.ids.iter().filter_map(|entry| entry.get("error")).collect();
        assert!(reasons[1].starts_with("job field is not a step job: "), "{reasons:?}");
        assert!(reasons[2].starts_with("job field is not a step job: "), "{reasons:?}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_from_an_older_node_without_its_step_is_still_delivered() {
    on_fresh_stream(|config: RedisQueueConfig| async move {
        let queue = redis_queue(&config).await;
        // what a node from before jobs carried their step writes during a rolling upgrade
        let run = RunId::new();
        let old = serde_json::json!({
            "run_id": run,
            "org_id": OrgId::new(),
            "workflow_id": WorkflowId::new(),
            "step_key": "notify[2]",
            "attempt": 3,
            "enqueued_at": Timestamp::now(),
        });
        xadd_raw(&config.stream, &[(b"job", old.to_string().as_bytes())]).await;
        let claimed = queue.claim("a", 10, Duration::ZERO).await.unwrap();
        assert_eq!(claimed.len(), 1, "delivered, not dead-lettered");
        let job = &claimed[0].job;
        assert_eq!((job.run_id, job.step_key.as_str(), job.attempt), (run, "notify[2]", 3));
        assert_eq!((&job.step, &job.traceparent), (&None, &None));
        assert_eq!(queue.dead_letter_count().await.unwrap(), 0);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_entry_left_pending_by_a_dead_consumer_is_dead_lettered_on_reclaim() {
    on_fresh_stream(|config: RedisQueueConfig| async move {
        let queue = redis_queue(&config).await;
        xadd_raw(&config.stream, &[(b"job", b"{")]).await;
        // another program's consumer reads it raw and dies with it pending
        let _: ::redis::Value = ::redis::cmd("XREADGROUP")
            .arg("GROUP")
            .arg(&config.group)
            .arg("ghost")
            .arg("COUNT")
            .arg(10)
            .arg("STREAMS")
            .arg(&config.stream)
            .arg(">")
            .query_async(&mut raw_redis().await)
            .await
            .unwrap();
        assert_eq!(queue.depth().await.unwrap(), depth(0, 1));
        let dead_lettered = wait_until(PATIENCE, || async {
            assert!(queue.reclaim_stale("b", IDLE, 10).await.unwrap().is_empty());
            queue.dead_letter_count().await.unwrap() == 1
        })
        .await;
        assert!(dead_lettered, "the pending bad entry is dead-lettered");
        assert_eq!(queue.depth().await.unwrap(), depth(0, 0));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_deleted_under_the_queue_is_recreated() {
    on_fresh_stream(|config: RedisQueueConfig| async move {
        let queue = redis_queue(&config).await;
        for blocking in [false, true] {
            let _: i64 = ::redis::cmd("DEL").arg(&config.stream).query_async(&mut raw_redis().await).await.unwrap();
            assert_eq!(queue.depth().await.unwrap(), depth(0, 0));
            assert_eq!(queue.lag().await.unwrap(), Duration::ZERO);
            // the enqueue recreates the stream without the group; the claim brings the group back
            queue.enqueue(&job("again")).await.unwrap();
            let block_for = if blocking { Duration::from_millis(100) } else { Duration::ZERO };
            let claimed = queue.claim("a", 10, block_for).await.unwrap();
            assert_eq!(keys(&claimed), ["again"]);
            assert!(queue.ack(&claimed[0].id).await.unwrap());
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_that_is_not_a_stream_is_a_clear_error() {
    on_fresh_stream(|config: RedisQueueConfig| async move {
        let _: () = ::redis::cmd("SET").arg(&config.stream).arg("x").query_async(&mut raw_redis().await).await.unwrap();
        let link = RedisLink::connect(&redis_url()).await.unwrap();
        let err = RedisStepQueue::open(link, config.clone()).await.unwrap_err();
        let StoreError::Redis { reason } = &err else { panic!("expected a redis error, got {err:?}") };
        assert!(reason.starts_with(&format!("xgroup create on stream {} failed: ", config.stream)), "{reason}");
        assert!(reason.contains("WRONGTYPE"), "{reason}");
        assert!(err.to_string().starts_with("redis error: "), "{err}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_delivery_ids_are_not_acked_or_renewed() {
    on_fresh_stream(|config: RedisQueueConfig| async move {
        let queue = redis_queue(&config).await;
        let memory = MemoryStepQueue::new();
        let queues: [&dyn StepQueue; 2] = [&queue, &memory];
        for queue in queues {
            let id = queue.enqueue(&job("waiting")).await.unwrap();
            // never claimed: there is nothing to ack, and the waiting job stays
            assert!(!queue.ack(&id).await.unwrap());
            assert!(queue.renew("a", std::slice::from_ref(&id)).await.unwrap().is_empty());
            assert_eq!(queue.depth().await.unwrap(), depth(1, 0));
            let claimed = queue.claim("a", 1, Duration::ZERO).await.unwrap();
            assert_eq!(claimed[0].id, id);
        }
    })
    .await;
}
