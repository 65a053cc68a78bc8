//! The HTTP load generator: `connections` tasks, each sending one request after another on its own
//! keep-alive connection for a fixed time (closed loop: as fast as the server answers), or, with a
//! `rate`, sending on a fixed schedule shared by the tasks (open loop: latency counts from when a
//! request was due, so a slow answer that delays the next send is not hidden). Latency of every
//! request after the warm-up is kept, so percentiles are exact.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;

/// One load run's shape.
#[derive(Debug, Clone)]
pub struct LoadSpec {
    pub url: String,
    /// The JSON body of every POST.
    pub body: serde_json::Value,
    pub connections: usize,
    /// Requests sent before this much time has passed are not measured.
    pub warmup: Duration,
    /// The measured window after the warm-up.
    pub duration: Duration,
    /// Keep the JSON bodies of the measured successful responses (the run ids they carry).
    pub keep_bodies: bool,
    /// Requests per second in all, on a fixed schedule (open loop); `None` sends as fast as the
    /// answers come (closed loop).
    pub rate: Option<f64>,
}

/// What one load run measured.
#[derive(Debug, Clone, Default)]
pub struct LoadResult {
    /// Successful (2xx) responses in the measured window.
    pub ok: u64,
    /// Failed requests (transport errors or non-2xx) in the measured window.
    pub errors: u64,
    pub first_error: Option<String>,
    pub requests_per_s: f64,
    pub p50: Duration,
    pub p99: Duration,
    /// The measured responses' JSON bodies, when asked for.
    pub bodies: Vec<serde_json::Value>,
    /// The measured window (warm-up excluded).
    pub window: Duration,
    /// Successful responses over the whole load, warm-up included.
    pub total_ok: u64,
}

#[derive(Debug, Default)]
struct TaskTally {
    latencies: Vec<Duration>,
    total_ok: u64,
    errors: u64,
    first_error: Option<String>,
    bodies: Vec<serde_json::Value>,
}

/// POSTs `spec.body` to `spec.url` from `spec.connections` concurrent tasks.
pub async fn drive(spec: &LoadSpec) -> Result<LoadResult> {
    let client =
        reqwest::Client::builder().pool_max_idle_per_host(spec.connections).timeout(Duration::from_secs(30)).build()?;
    let spec = Arc::new(spec.clone());
    let start = Instant::now();
    let measure_from = start + spec.warmup;
    let end = measure_from + spec.duration;
    let mut tasks = Vec::with_capacity(spec.connections);
    // open loop: task `i` sends the requests due at start + (i + k·connections) / rate
    let interval = spec.rate.map(|rate| Duration::from_secs_f64(spec.connections as f64 / rate.max(1.0)));
    for task in 0..spec.connections {
        let client = client.clone();
        let spec = Arc::clone(&spec);
        tasks.push(tokio::spawn(async move {
            let mut tally = TaskTally::default();
            let mut due = interval.map(|every| start + every.mul_f64(task as f64 / spec.connections as f64));
            loop {
                let sent = match (due, interval) {
                    (Some(at), Some(every)) => {
                        tokio::time::sleep_until(at.into()).await;
                        due = Some(at + every);
                        at
                    }
                    _ => Instant::now(),
                };
                if sent >= end {
                    break;
                }
                let outcome = async {
                    let response = client.post(&spec.url).json(&spec.body).send().await?;
                    let status = response.status();
                    let bytes = response.bytes().await?;
                    Ok::<_, reqwest::Error>((status, bytes))
                }
                .await;
                let measured = sent >= measure_from;
                match outcome {
                    Ok((status, bytes)) if status.is_success() => {
                        tally.total_ok += 1;
                        if measured {
                            tally.latencies.push(sent.elapsed());
                            if spec.keep_bodies {
                                tally.bodies.push(serde_json::from_slice(&bytes).unwrap_or_default());
                            }
                        }
                    }
                    Ok((status, bytes)) => {
                        if measured {
                            tally.errors += 1;
                        }
                        tally.first_error.get_or_insert_with(|| {
                            format!("{status}: {}", String::from_utf8_lossy(&bytes[..bytes.len().min(200)]))
                        });
                    }
                    Err(err) => {
                        if measured {
                            tally.errors += 1;
                        }
                        tally.first_error.get_or_insert_with(|| err.to_string());
                        // do not spin on a refused connection
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
            }
            tally
        }));
    }
    let mut latencies = Vec::new();
    let mut result = LoadResult::default();
    for task in tasks {
        let tally = task.await?;
        latencies.extend(tally.latencies);
        result.total_ok += tally.total_ok;
        result.errors += tally.errors;
        result.bodies.extend(tally.bodies);
        if result.first_error.is_none() {
            result.first_error = tally.first_error;
        }
    }
    latencies.sort_unstable();
    result.window = spec.duration;
    result.ok = latencies.len() as u64;
    result.requests_per_s = result.ok as f64 / spec.duration.as_secs_f64();
    result.p50 = percentile(&latencies, 50.0);
    result.p99 = percentile(&latencies, 99.0);
    Ok(result)
}

/// The `p`th percentile of sorted samples (nearest rank), zero when there are none.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let samples: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&samples, 50.0), Duration::from_millis(50));
        assert_eq!(percentile(&samples, 99.0), Duration::from_millis(99));
        assert_eq!(percentile(&samples[..1], 99.0), Duration::from_millis(1));
        assert_eq!(percentile(&[], 50.0), Duration::ZERO);
    }
}
