//! Store writes the pipeline cannot do without (the reply that answers a message, a message's final state).
//!
//! Invariant: a store error never silently drops such a write. It is logged and retried with backoff until it
//! succeeds or shutdown cancels it; on cancel the inbox item is still `queued` on disk and is replayed on the
//! next start (an agent backend that remembers its turns then collects the answer instead of asking again).

use std::future::Future;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use tokio_util::sync::CancellationToken;

use crate::store::StoreError;

const FIRST_DELAY: Duration = Duration::from_millis(50);
const MAX_DELAY: Duration = Duration::from_secs(5);

/// Runs `write` until it succeeds (`Some`) or `cancel` fires (`None`).
pub(super) async fn until_stored<T, F, Fut>(
    what: &str,
    msg_id: &str,
    cancel: &CancellationToken,
    mut write: F,
) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, StoreError>>,
{
    let mut backoff = ExponentialBuilder::default()
        .with_min_delay(FIRST_DELAY)
        .with_max_delay(MAX_DELAY)
        .with_jitter()
        .without_max_times()
        .build();
    loop {
        match write().await {
            Ok(value) => return Some(value),
            Err(err) => {
                let delay = backoff.next().unwrap_or(MAX_DELAY);
                tracing::error!(
                    code = err.code(),
                    error = %err,
                    msg_id,
                    delay_ms = delay.as_millis() as u64,
                    "cannot store {what}; retrying"
                );
                tokio::select! {
                    _ = cancel.cancelled() => return None,
                    _ = tokio::time::sleep(delay) => {}
                }
            }
        }
    }
}
