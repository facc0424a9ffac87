//! A queue in front of a task that takes every job waiting and does them together: SQLite's SCIM
//! writes (`commit.rs`) and Hawk nonces (`nonces.rs`). The task starts on first use, inside the
//! caller's runtime, and ends when every sender is gone.

use std::future::Future;
use std::sync::{Arc, OnceLock};

use tokio::sync::mpsc;

pub(crate) struct Queue<T>(Arc<OnceLock<mpsc::Sender<T>>>);

impl<T> Default for Queue<T> {
    fn default() -> Self {
        Self(Arc::default())
    }
}

impl<T> Clone for Queue<T> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<T: Send + 'static> Queue<T> {
    /// The queue's sender, starting `task` with its receiving end the first time.
    pub(crate) fn sender<F: Future<Output = ()> + Send + 'static>(
        &self,
        task: impl FnOnce(Batches<T>) -> F,
    ) -> mpsc::Sender<T> {
        self.0
            .get_or_init(|| {
                let (tx, rx) = mpsc::channel(4096);
                tokio::spawn(task(Batches(rx)));
                tx
            })
            .clone()
    }
}

/// The receiving end: jobs a batch at a time.
pub(crate) struct Batches<T>(mpsc::Receiver<T>);

impl<T> Batches<T> {
    /// Waits for a job, then takes those waiting behind it, `max` in all; `None` once every
    /// sender is gone.
    pub(crate) async fn next(&mut self, max: usize) -> Option<Vec<T>> {
        let first = self.0.recv().await?;
        let mut batch = vec![first];
        while batch.len() < max {
            match self.0.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        Some(batch)
    }
}
