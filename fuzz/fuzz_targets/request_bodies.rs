//! Every request type's parsing and computation on arbitrary bytes: the first byte picks the
//! operation, the rest is the body. Whatever the bytes, the answer is a status and a JSON body
//! (an error is a problem), never a panic, and never a 500.
#![no_main]

use libfuzzer_sys::fuzz_target;
use retention_kpi::http::endpoints;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let endpoints = endpoints::computing();
    let operation = (endpoints[usize::from(selector) % endpoints.len()].examples)();
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
        return;
    };
    let state = retention_kpi::http::AppState::new(retention_kpi::config::Config::default());
    let (status, answer) = (operation.answer)(&state, &value);
    assert!(status == 200 || (400..500).contains(&status), "status {status} for {value}");
    assert!(!answer.is_null());
});
