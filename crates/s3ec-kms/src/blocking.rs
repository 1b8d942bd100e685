//! The runtime behind the blocking [`s3ec_keyring::Keyring`] impl.
//!
//! One process-wide multi-threaded tokio runtime with one worker thread,
//! built on first use and never dropped (dropping a runtime inside an async
//! context panics, and a keyring may be dropped anywhere). A blocking call
//! spawns its future there and waits on a channel, so it works from a plain
//! thread and does not panic inside another runtime; see
//! [`crate::KmsKeyring`] for the caveat in that case.

use std::future::Future;
use std::sync::mpsc;
use std::sync::OnceLock;

use tokio::runtime::{Builder, Runtime};

fn runtime() -> Result<&'static Runtime, String> {
    static RT: OnceLock<Result<Runtime, String>> = OnceLock::new();
    RT.get_or_init(|| {
        Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("s3ec-kms")
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the s3ec-kms runtime: {e}"))
    })
    .as_ref()
    .map_err(Clone::clone)
}

/// Run `fut` to completion on the crate's runtime, blocking this thread.
/// Errors are the runtime failing to start or the task panicking.
pub(crate) fn run<T, F>(fut: F) -> Result<T, String>
where
    T: Send + 'static,
    F: Future<Output = T> + Send + 'static,
{
    let rt = runtime()?;
    let (tx, rx) = mpsc::sync_channel(1);
    rt.spawn(async move {
        let _ = tx.send(fut.await);
    });
    // A panicking task drops the sender: recv fails instead of hanging.
    rx.recv()
        .map_err(|_| "the s3ec-kms task panicked".to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn outside_a_runtime() {
        assert_eq!(run(async { 1 + 1 }).unwrap(), 2);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn inside_a_current_thread_runtime() {
        assert_eq!(run(async { 3 }).unwrap(), 3);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn inside_a_multi_thread_runtime() {
        assert_eq!(run(async { 4 }).unwrap(), 4);
    }

    #[test]
    #[allow(clippy::panic)]
    fn panicking_task() {
        let r: Result<(), String> = run(async { panic!("boom") });
        assert!(r.is_err());
    }
}
