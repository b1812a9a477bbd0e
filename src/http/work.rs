//! One path for CPU work: request bodies whose cost grows with their size (model fits, record
//! analytics) are parsed and computed off the async runtime, on tokio's blocking pool, at most
//! `FIT_WORKERS` at a time, with at most [`QUEUE_PER_WORKER`] × `FIT_WORKERS` requests waiting
//! for a worker (beyond that: 503 `overloaded` with `Retry-After`). The worker slot is held by
//! the blocking task itself, so it is released only when the work has really ended. When the
//! request is abandoned (its deadline passed, its client went away) its cancellation flag is
//! raised; model fits stop at their next likelihood evaluation.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use super::error::ApiError;
use super::{AppState, FiniteJson};
use crate::models::fit;

/// Requests that may wait for a worker, per worker.
pub const QUEUE_PER_WORKER: usize = 4;

/// Runs `work` on the blocking pool under the worker bound; `label` names it in the metrics
/// (`work_duration_seconds{kind=…}`).
pub async fn off_runtime<F>(
    state: AppState,
    label: &'static str,
    work: F,
) -> Result<FiniteJson, ApiError>
where
    F: FnOnce(&AppState) -> Result<FiniteJson, ApiError> + Send + 'static,
{
    /// Raises the flag when the request's future is dropped unfinished.
    struct CancelOnDrop(Arc<AtomicBool>);
    impl Drop for CancelOnDrop {
        fn drop(&mut self) {
            self.0.store(true, Ordering::Relaxed);
        }
    }
    /// One place in the queue, given back however the wait ends.
    struct Waiting<'a>(&'a AtomicUsize);
    impl Drop for Waiting<'_> {
        fn drop(&mut self) {
            self.0.fetch_sub(1, Ordering::Relaxed);
        }
    }
    let permit = match state.work_slots.clone().try_acquire_owned() {
        Ok(permit) => permit,
        Err(_) => {
            let limit = QUEUE_PER_WORKER * state.config.fit_workers;
            if state.work_waiting.fetch_add(1, Ordering::Relaxed) >= limit {
                state.work_waiting.fetch_sub(1, Ordering::Relaxed);
                metrics::counter!("work_shed_total", "kind" => label).increment(1);
                return Err(ApiError::Overloaded);
            }
            let _waiting = Waiting(&state.work_waiting);
            state
                .work_slots
                .clone()
                .acquire_owned()
                .await
                .map_err(|e| ApiError::Internal(e.to_string()))?
        }
    };
    let flag = Arc::new(AtomicBool::new(false));
    let _cancel_on_drop = CancelOnDrop(flag.clone());
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let started = std::time::Instant::now();
        let answer = fit::cancellable(flag.clone(), || work(&state));
        metrics::histogram!("work_duration_seconds", "kind" => label)
            .record(started.elapsed().as_secs_f64());
        if flag.load(Ordering::Relaxed) {
            // Nobody waits for this answer any more; say what happened.
            return Err(ApiError::TimeLimit {
                limit_ms: state.config.request_timeout_ms,
            });
        }
        answer
    })
    .await
    .map_err(|e| ApiError::Internal(format!("work task failed: {e}")))?
}
