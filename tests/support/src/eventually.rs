//! Waiting for a condition: the one `eventually` of every test crate.

use std::future::Future;
use std::time::Duration;

use bureau_kit::retry::Backoff;

/// Polling backs off from 20 ms to 250 ms: quick for what is nearly there, light for what
/// takes seconds. The deadline, not a sleep, bounds the test.
const POLLING: Backoff = Backoff::new(Duration::from_millis(20), Duration::from_millis(250));

/// What a probe may answer: not yet, or the value waited for. `bool` and `Option<T>` are
/// plain answers; a `Result` of either fails the wait at once with its error.
pub trait Settled {
    type Value;
    fn settled(self) -> anyhow::Result<Option<Self::Value>>;
}

impl Settled for bool {
    type Value = ();
    fn settled(self) -> anyhow::Result<Option<()>> {
        Ok(self.then_some(()))
    }
}

impl<T> Settled for Option<T> {
    type Value = T;
    fn settled(self) -> anyhow::Result<Option<T>> {
        Ok(self)
    }
}

impl<S: Settled> Settled for anyhow::Result<S> {
    type Value = S::Value;
    fn settled(self) -> anyhow::Result<Option<S::Value>> {
        self?.settled()
    }
}

/// Polls `probe` until it answers with a value (or `true`), and returns it; an error once
/// `deadline` passes, naming `what` was waited for.
pub async fn eventually<F, Fut>(
    what: &str,
    deadline: Duration,
    mut probe: F,
) -> anyhow::Result<<Fut::Output as Settled>::Value>
where
    F: FnMut() -> Fut,
    Fut: Future,
    Fut::Output: Settled,
{
    let until = tokio::time::Instant::now() + deadline;
    let mut pauses = POLLING.pauses();
    loop {
        if let Some(value) = probe().await.settled()? {
            return Ok(value);
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < until,
            "timed out after {deadline:?} waiting for {what}"
        );
        tokio::time::sleep(pauses.next_pause()).await;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    #[tokio::test]
    async fn waits_for_a_value() {
        let calls = AtomicU32::new(0);
        let value = eventually("the third call", Duration::from_secs(5), || async {
            let call = calls.fetch_add(1, Ordering::SeqCst) + 1;
            (call == 3).then_some(call)
        })
        .await
        .unwrap();
        assert_eq!(value, 3);
    }

    #[tokio::test]
    async fn gives_up_at_the_deadline_saying_what_it_waited_for() {
        let error = eventually("nothing", Duration::from_millis(50), || async { false })
            .await
            .unwrap_err();
        assert!(error.to_string().contains("waiting for nothing"), "{error}");
    }

    #[tokio::test]
    async fn an_error_ends_the_wait_at_once() {
        let error = eventually("a working probe", Duration::from_secs(60), || async {
            anyhow::Result::<bool>::Err(anyhow::anyhow!("the probe broke"))
        })
        .await
        .unwrap_err();
        assert_eq!(error.to_string(), "the probe broke");
    }
}
