//! Background tasks: named threads that loop until shutdown, restart after a panic
//! (logged, never silently dead), and are stopped and joined at exit.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A shutdown signal that sleeping tasks wake up for.
#[derive(Clone, Default)]
pub struct Shutdown {
    inner: Arc<(Mutex<bool>, Condvar)>,
}

impl Shutdown {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Asks every task to stop and wakes the sleeping ones.
    pub(crate) fn trigger(&self) {
        let (m, c) = &*self.inner;
        *m.lock().unwrap_or_else(|e| e.into_inner()) = true;
        c.notify_all();
    }

    pub(crate) fn is_triggered(&self) -> bool {
        *self.inner.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sleeps for `d` or until shutdown. Returns `true` while the task should go on.
    pub(crate) fn sleep(&self, d: Duration) -> bool {
        let (m, c) = &*self.inner;
        let deadline = Instant::now() + d;
        let mut stop = m.lock().unwrap_or_else(|e| e.into_inner());
        while !*stop {
            let now = Instant::now();
            if now >= deadline {
                return true;
            }
            stop = c
                .wait_timeout(stop, deadline - now)
                .map(|(g, _)| g)
                .unwrap_or_else(|e| e.into_inner().0);
        }
        false
    }
}

/// Counts task restarts after panics (exported on `/metrics`).
pub static TASK_PANICS: AtomicU64 = AtomicU64::new(0);

/// The running background tasks.
pub struct Tasks {
    shutdown: Shutdown,
    running: Vec<(String, JoinHandle<()>, mpsc::Receiver<()>)>,
}

impl Tasks {
    pub(crate) fn new(shutdown: Shutdown) -> Self {
        Tasks {
            shutdown,
            running: Vec::new(),
        }
    }

    pub(crate) fn shutdown(&self) -> &Shutdown {
        &self.shutdown
    }

    /// Runs `body` on a named thread. `body` should loop until `shutdown.sleep` says stop;
    /// if it panics or returns early, it is logged and started again after a pause.
    pub(crate) fn spawn<F>(&mut self, name: &str, mut body: F) -> std::io::Result<()>
    where
        F: FnMut(&Shutdown) + Send + 'static,
    {
        let shutdown = self.shutdown.clone();
        let task = name.to_string();
        let (done_tx, done_rx) = mpsc::channel();
        let handle = std::thread::Builder::new()
            .name(task.clone())
            .spawn(move || {
                let mut pause = Duration::from_secs(1);
                while !shutdown.is_triggered() {
                    match catch_unwind(AssertUnwindSafe(|| body(&shutdown))) {
                        Ok(()) if shutdown.is_triggered() => break,
                        Ok(()) => log::warn!("task {task} returned early; restarting in {pause:?}"),
                        Err(p) => {
                            TASK_PANICS.fetch_add(1, Ordering::Relaxed);
                            let why = p
                                .downcast_ref::<&str>()
                                .map(|s| s.to_string())
                                .or_else(|| p.downcast_ref::<String>().cloned())
                                .unwrap_or_else(|| "unknown panic".into());
                            log::error!("task {task} panicked: {why}; restarting in {pause:?}");
                        }
                    }
                    if !shutdown.sleep(pause) {
                        break;
                    }
                    pause = (pause * 2).min(Duration::from_secs(30));
                }
                let _ = done_tx.send(());
            })?;
        self.running.push((name.to_string(), handle, done_rx));
        Ok(())
    }

    /// Signals shutdown and joins every task, waiting at most `grace` in all; a task still
    /// busy after that (an upstream request mid-flight) is left to end with the process.
    pub(crate) fn stop(self, grace: Duration) {
        self.shutdown.trigger();
        let deadline = Instant::now() + grace;
        for (name, handle, done) in self.running {
            let left = deadline.saturating_duration_since(Instant::now());
            match done.recv_timeout(left) {
                Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let _ = handle.join();
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    log::warn!("task {name} did not stop within {grace:?}; leaving it");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn a_panicking_task_is_restarted_and_stops_on_shutdown() {
        let runs = Arc::new(AtomicUsize::new(0));
        let mut tasks = Tasks::new(Shutdown::new());
        let r = runs.clone();
        tasks
            .spawn("flaky", move |sd| {
                if r.fetch_add(1, Ordering::SeqCst) == 0 {
                    panic!("first run fails");
                }
                while sd.sleep(Duration::from_millis(10)) {}
            })
            .unwrap();
        // Restarted after its 1 s pause (polled: printing a backtrace can take a while).
        let deadline = Instant::now() + Duration::from_secs(10);
        while runs.load(Ordering::SeqCst) < 2 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(runs.load(Ordering::SeqCst), 2);
        assert!(TASK_PANICS.load(Ordering::SeqCst) >= 1);
        let t = Instant::now();
        tasks.stop(Duration::from_secs(2));
        assert!(t.elapsed() < Duration::from_secs(1));
    }
}
