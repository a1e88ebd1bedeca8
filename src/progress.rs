//! A progress line on stderr for long interactive runs: shown only when stderr is a terminal, the
//! run is not in CI (`CI` set) and it takes longer than a moment; cleared when the run ends.
//! Dependency-free: one thread that wakes a few times a second.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Files read so far by the running check (a plain counter: only the progress line reads it).
static FILES_DONE: AtomicUsize = AtomicUsize::new(0);

/// Counts one file read.
pub fn file_done() {
    FILES_DONE.fetch_add(1, Ordering::Relaxed);
}

/// How long a run must take before the line appears.
const DELAY: Duration = Duration::from_millis(300);

/// Whether a progress line may be drawn: an interactive terminal, not a CI log.
pub fn wanted() -> bool {
    std::env::var_os("CI").is_none_or(|v| v.is_empty())
        && std::env::var_os("KGATE_NO_PROGRESS").is_none()
        && std::io::stderr().is_terminal()
}

/// A running progress line; dropping it stops and clears the line.
pub struct Progress {
    done: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Progress {
    /// Starts the indicator if [`wanted`]; otherwise does nothing.
    pub fn start(what: &'static str) -> Progress {
        let done = Arc::new(AtomicBool::new(false));
        if !wanted() {
            return Progress { done, thread: None };
        }
        FILES_DONE.store(0, Ordering::Relaxed);
        let flag = done.clone();
        let thread = std::thread::spawn(move || {
            let start = Instant::now();
            let mut shown = false;
            let frames = ['|', '/', '-', '\\'];
            let mut i = 0;
            while !flag.load(Ordering::Relaxed) {
                // Parked, not slept: the end of the run wakes it at once.
                std::thread::park_timeout(Duration::from_millis(100));
                if start.elapsed() < DELAY || flag.load(Ordering::Relaxed) {
                    continue;
                }
                shown = true;
                let files = FILES_DONE.load(Ordering::Relaxed);
                let mut err = std::io::stderr().lock();
                let _ = write!(
                    err,
                    "\r\x1b[2K{} kgate: {what}… {files} files, {:.1}s",
                    frames[i % frames.len()],
                    start.elapsed().as_secs_f64()
                );
                let _ = err.flush();
                i += 1;
            }
            if shown {
                let mut err = std::io::stderr().lock();
                let _ = write!(err, "\r\x1b[2K");
                let _ = err.flush();
            }
        });
        Progress {
            done,
            thread: Some(thread),
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.done.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}
