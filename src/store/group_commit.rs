//! Group commit: concurrent flushes share one disk flush.
//!
//! Why: every removal must be on disk before its DELETE is sent, and a sled flush (write the
//! dirty buffers, fsync) costs a few hundred microseconds to a millisecond. Under a raid many
//! records arrive at once; flushing once per record queues them behind each other's fsyncs.
//!
//! The rule that keeps "nothing lost": a caller may return only when a flush that *started after
//! it called* has completed, since only such a flush is sure to include its write. Flushes are
//! numbered (generations). A caller asks for the generation after the last one started; if no
//! flush is running it starts that one itself (on tokio's blocking pool), otherwise the running
//! flush, when done, starts the next generation for everyone who asked meanwhile. So an idle
//! store flushes at once (no batching delay), and a busy one flushes back to back with each
//! flush covering every record written while the previous one ran.

use super::StoreError;
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

/// Shared by every clone of a store.
#[derive(Debug)]
pub struct GroupCommit {
    state: Mutex<State>,
    done: watch::Sender<Done>,
}

#[derive(Debug, Default)]
struct State {
    /// The last generation started (0: none yet).
    started: u64,
    /// The highest generation someone waits for.
    wanted: u64,
    /// A flush is running (its runner starts the next generation when one is wanted).
    running: bool,
}

/// The latest completed flush.
#[derive(Debug, Clone, Default)]
struct Done {
    /// The last generation completed.
    completed: u64,
    /// The last generation that completed successfully.
    succeeded: u64,
    /// The error of the last failed generation.
    error: Option<String>,
}

impl Default for GroupCommit {
    fn default() -> Self {
        GroupCommit {
            state: Mutex::new(State::default()),
            done: watch::channel(Done::default()).0,
        }
    }
}

impl GroupCommit {
    /// Return once everything written to `db` before the call is on disk.
    pub async fn flush(self: &Arc<Self>, db: &sled::Db) -> Result<(), StoreError> {
        let mut done = self.done.subscribe();
        let (need, start) = {
            let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
            let need = state.started + 1;
            state.wanted = state.wanted.max(need);
            if state.running {
                (need, false)
            } else {
                state.running = true;
                state.started = need;
                (need, true)
            }
        };
        if start {
            self.run(db.clone(), need);
        }
        let outcome = done
            .wait_for(|d| d.completed >= need)
            .await
            .map(|d| d.clone());
        match outcome {
            Ok(d) if d.succeeded >= need => Ok(()),
            Ok(d) => Err(StoreError::Corrupt(format!(
                "flush failed: {}",
                d.error.unwrap_or_default()
            ))),
            // The sender lives in `self`, which outlives this call.
            Err(_) => Err(StoreError::Corrupt("the flush runner vanished".into())),
        }
    }

    /// Flush generation `first`, then every generation asked for meanwhile, on the blocking
    /// pool. The runner is not tied to any caller: a caller cancelled while waiting does not
    /// stop the flush others wait for.
    fn run(self: &Arc<Self>, db: sled::Db, first: u64) {
        let mut runner = Runner {
            this: Arc::clone(self),
            generation: first,
            finished: false,
        };
        tokio::task::spawn_blocking(move || loop {
            let result = db.flush().map(|_| ()).map_err(|e| e.to_string());
            runner.complete(result);
            if !runner.next() {
                return;
            }
        });
    }
}

/// The running flush loop. If it is dropped before finishing (the runtime shutting down before
/// the blocking task ran), its waiters get an error instead of waiting forever, and the next
/// caller can start a new runner.
struct Runner {
    this: Arc<GroupCommit>,
    generation: u64,
    finished: bool,
}

impl Runner {
    fn complete(&self, result: Result<(), String>) {
        let generation = self.generation;
        self.this.done.send_modify(|d| {
            d.completed = generation;
            match result {
                Ok(()) => d.succeeded = generation,
                Err(e) => d.error = Some(e),
            }
        });
    }

    /// Start the next generation if anyone asked for one; false when the runner may stop.
    fn next(&mut self) -> bool {
        let mut state = self.this.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.wanted > self.generation {
            self.generation = state.started + 1;
            state.started = self.generation;
            true
        } else {
            state.running = false;
            self.finished = true;
            false
        }
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        // Fail every generation asked for so far, so no waiter is left behind.
        let last = {
            let mut state = self.this.state.lock().unwrap_or_else(|p| p.into_inner());
            let last = state.wanted.max(self.generation);
            state.started = state.started.max(last);
            state.running = false;
            last
        };
        self.generation = last;
        self.complete(Err("the flush did not run".into()));
    }
}
