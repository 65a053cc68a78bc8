//! Webhook answers: a workflow with a respond-to-webhook step answers the request that started its
//! run with that step's status, headers and body (as n8n's "Respond to Webhook" does), instead of
//! `202 {run_id}`. The webhook request waits here for its run's answer; the run actor (on the
//! node that admitted the run, which is the node holding the request) hands the answer in when
//! the step finishes, or says the run ended without one.
//!
//! An answer that arrives before anyone waits for it is kept a short while ([`KEEP`]); a request
//! that waits for a run that ended without answering, or longer than its time limit, gets `None`
//! and answers `202` as any other delivery does.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use aos_engine_link::WebhookResponse;
use aos_schema::RunId;
use tokio::sync::oneshot;

/// How long an answer nobody waits for yet is kept.
const KEEP: Duration = Duration::from_secs(60);

/// Waiting requests and answers not yet taken, by run. Cheap to clone; one per node.
#[derive(Debug, Clone, Default)]
pub struct WebhookAnswers {
    slots: Arc<Mutex<HashMap<RunId, Slot>>>,
}

#[derive(Debug)]
enum Slot {
    Waiting(oneshot::Sender<Option<WebhookResponse>>),
    /// The run answered (or ended without answering: `None`) before its request waited.
    Ready(Option<WebhookResponse>, Instant),
}

impl WebhookAnswers {
    fn slots(&self) -> MutexGuard<'_, HashMap<RunId, Slot>> {
        self.slots.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Waits up to `limit` for run `run`'s answer; `None` when it ended without one or took too
    /// long.
    pub async fn wait(&self, run: RunId, limit: Duration) -> Option<WebhookResponse> {
        let receiver = {
            let mut slots = self.slots();
            if let Some(Slot::Ready(answer, _)) = slots.remove(&run) {
                return answer;
            }
            let (sender, receiver) = oneshot::channel();
            slots.insert(run, Slot::Waiting(sender));
            receiver
        };
        let answer = tokio::time::timeout(limit, receiver).await.ok().and_then(Result::ok).flatten();
        self.slots().remove(&run);
        answer
    }

    /// Run `run` answers its request with `response` (the first answer counts).
    pub fn answer(&self, run: RunId, response: WebhookResponse) {
        self.settle(run, Some(response));
    }

    /// Run `run` ended: a request still waiting answers as any delivery does.
    pub fn ended(&self, run: RunId) {
        self.settle(run, None);
    }

    fn settle(&self, run: RunId, answer: Option<WebhookResponse>) {
        let mut slots = self.slots();
        let now = Instant::now();
        slots.retain(|_, slot| !matches!(slot, Slot::Ready(_, at) if now.duration_since(*at) > KEEP));
        match slots.remove(&run) {
            Some(Slot::Waiting(sender)) => {
                let _ = sender.send(answer);
            }
            // the first answer stands; a later "ended" does not replace it
            Some(ready @ Slot::Ready(Some(_), _)) => {
                slots.insert(run, ready);
            }
            Some(Slot::Ready(None, _)) | None => {
                slots.insert(run, Slot::Ready(answer, now));
            }
        }
    }

    /// Entries held (for tests).
    pub fn held(&self) -> usize {
        self.slots().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16) -> WebhookResponse {
        WebhookResponse { status, headers: Default::default(), body: serde_json::json!({ "ok": status }) }
    }

    #[tokio::test]
    async fn an_answer_reaches_its_request_whichever_comes_first() {
        let answers = WebhookAnswers::default();
        let (early, late) = (RunId::new(), RunId::new());
        answers.answer(early, response(201));
        answers.ended(early);
        assert_eq!(answers.wait(early, Duration::from_secs(1)).await, Some(response(201)));

        let waiting = {
            let answers = answers.clone();
            tokio::spawn(async move { answers.wait(late, Duration::from_secs(5)).await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        answers.answer(late, response(200));
        assert_eq!(waiting.await.unwrap(), Some(response(200)));
        assert_eq!(answers.held(), 0, "nothing is left behind");
    }

    #[tokio::test]
    async fn a_run_without_an_answer_or_too_slow_gives_none() {
        let answers = WebhookAnswers::default();
        let (ended, slow) = (RunId::new(), RunId::new());
        answers.ended(ended);
        assert_eq!(answers.wait(ended, Duration::from_secs(1)).await, None);
        assert_eq!(answers.wait(slow, Duration::from_millis(30)).await, None);
        assert_eq!(answers.held(), 0);
    }
}
