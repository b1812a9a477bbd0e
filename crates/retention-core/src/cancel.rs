//! Cancellation of CPU work whose request has been abandoned (its deadline passed, its client
//! went away, the server is shutting down): `http::work` runs each piece of work inside
//! [`cancellable`] with a flag it raises when the request's future is dropped; the long loops
//! (likelihood evaluations, record analytics) poll [`cancelled`] and stop early. Work that
//! stops early produces no answer: `http::work` answers `time-limit` instead. Raising the
//! flag never changes what finished work returns.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

thread_local! {
    static CANCEL: RefCell<Option<Arc<AtomicBool>>> = const { RefCell::new(None) };
}

/// Runs `work` on this thread with `flag` as its cancellation flag: once the flag is set, the
/// long loops inside stop early (a model fit answers `Verdict::Cancelled`). Setting the flag
/// never changes what work that finishes returns.
pub fn cancellable<T>(flag: Arc<AtomicBool>, work: impl FnOnce() -> T) -> T {
    struct Reset(Option<Arc<AtomicBool>>);
    impl Drop for Reset {
        fn drop(&mut self) {
            let previous = self.0.take();
            CANCEL.with(|c| *c.borrow_mut() = previous);
        }
    }
    let previous = CANCEL.with(|c| c.borrow_mut().replace(flag));
    let _reset = Reset(previous);
    work()
}

/// Whether the work running on this thread has been cancelled.
pub fn cancelled() -> bool {
    CANCEL.with(|c| {
        c.borrow()
            .as_ref()
            .is_some_and(|flag| flag.load(Ordering::Relaxed))
    })
}

/// Whether the `i`-th step of a loop should stop: polls the flag every 4,096 steps.
pub fn stop_at(i: usize) -> bool {
    i % 4096 == 0 && cancelled()
}

/// What work abandoned through its cancellation flag answers instead of a result (the HTTP
/// layer answers `time-limit` for every cancelled piece of work).
pub fn cancelled_error() -> crate::kpi::InvalidInput {
    crate::kpi::InvalidInput::new(
        "",
        "the fit was cancelled",
        "the fit was cancelled before it finished",
    )
}
