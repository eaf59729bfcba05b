//! What a benchmark must undo when it is stopped by a signal (Ctrl-C, `kill`): the servers it
//! started (its own PostgreSQL, which `pg_ctl` puts in a session of its own so Ctrl-C does not
//! reach it; its nats-server and `golive serve` children, which a `kill` of the bench alone does
//! not reach) and its scratch directory. Normal exits and errors undo the same through `Drop`;
//! a signal skips every destructor, hence this list.
//!
//! Whoever starts such a thing registers how to undo it ([`register`]) and keeps the returned
//! [`Registration`]; dropping it (the thing was undone the normal way) takes the action off the
//! list. [`install`] starts a thread that waits for SIGINT, SIGTERM or SIGHUP, runs every action
//! still listed (newest first) and exits with 128 + the signal's number.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

type Action = Box<dyn FnOnce() + Send>;

static ACTIONS: Mutex<Vec<(u64, Action)>> = Mutex::new(Vec::new());
static NEXT_ID: AtomicU64 = AtomicU64::new(1);
/// Set when a signal arrived and the list is being run: the process is about to exit.
static STOPPING: AtomicBool = AtomicBool::new(false);

/// Keeps an action on the list while alive.
#[must_use = "the action leaves the list when this is dropped"]
pub struct Registration(u64);

impl Drop for Registration {
    fn drop(&mut self) {
        let mut list = ACTIONS.lock().unwrap_or_else(|e| e.into_inner());
        list.retain(|(id, _)| *id != self.0);
    }
}

/// Puts `action` on the list of what a signal undoes.
pub fn register(action: impl FnOnce() + Send + 'static) -> Registration {
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    ACTIONS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push((id, Box::new(action)));
    Registration(id)
}

/// Runs and removes every listed action, newest first.
pub fn run_all() {
    let actions = std::mem::take(&mut *ACTIONS.lock().unwrap_or_else(|e| e.into_inner()));
    for (_, action) in actions.into_iter().rev() {
        action();
    }
}

/// Called where the run would end: when a signal is being handled, waits for the handler to
/// exit the process, so that the error the stopped servers cause (a lost connection, say) is
/// neither reported nor made the exit status.
pub fn wait_if_stopping() {
    if STOPPING.load(Ordering::SeqCst) {
        loop {
            std::thread::park();
        }
    }
}

/// Sends SIGKILL to a process this one started (an action for [`register`]).
pub fn kill(pid: u32) {
    // SAFETY: kill(2) with a pid and a valid signal number has no memory effects.
    unsafe {
        libc::kill(pid as libc::pid_t, libc::SIGKILL);
    }
}

/// Removes a directory the run's other threads may still be writing into (they keep running
/// until the process exits): renamed first, so that no new entry can appear under the old
/// path, then removed, a few times if files appear meanwhile through handles already open.
pub fn remove_dir(dir: &std::path::Path) {
    let doomed = dir.with_extension("stopping");
    let target = if std::fs::rename(dir, &doomed).is_ok() {
        doomed
    } else {
        dir.to_path_buf()
    };
    for _ in 0..10 {
        match std::fs::remove_dir_all(&target) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            _ => return,
        }
    }
}

/// From now on SIGINT, SIGTERM and SIGHUP run the listed actions and exit (130, 143, 129)
/// instead of killing the process outright. Idempotent.
pub fn install() -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    static INSTALLED: Mutex<bool> = Mutex::new(false);
    let mut installed = INSTALLED.lock().unwrap_or_else(|e| e.into_inner());
    if *installed {
        return Ok(());
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    // The handlers are in place when this returns: a signal from then on is not missed.
    let (mut int, mut term, mut hup) = rt.block_on(async {
        Ok::<_, std::io::Error>((
            signal(SignalKind::interrupt())?,
            signal(SignalKind::terminate())?,
            signal(SignalKind::hangup())?,
        ))
    })?;
    std::thread::Builder::new()
        .name("golive-on-signal".to_owned())
        .spawn(move || {
            let code = rt.block_on(async {
                tokio::select! {
                    _ = int.recv() => 130,
                    _ = term.recv() => 143,
                    _ = hup.recv() => 129,
                }
            });
            STOPPING.store(true, Ordering::SeqCst);
            tracing::warn!(
                code,
                "stopped by a signal: stopping the servers this run started"
            );
            run_all();
            std::process::exit(code);
        })?;
    *installed = true;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn listed_actions_run_once_newest_first_and_dropped_ones_not_at_all() {
        // Proves the list's contract: run_all runs what is still registered, newest first,
        // once; a dropped registration's action never runs.
        let order = Arc::new(Mutex::new(Vec::new()));
        let ran = Arc::new(AtomicUsize::new(0));
        let push = |n: u32| {
            let (order, ran) = (order.clone(), ran.clone());
            move || {
                order.lock().unwrap().push(n);
                ran.fetch_add(1, Ordering::SeqCst);
            }
        };
        let _a = register(push(1));
        let b = register(push(2));
        let _c = register(push(3));
        drop(b);
        run_all();
        run_all();
        assert_eq!(*order.lock().unwrap(), vec![3, 1]);
        assert_eq!(ran.load(Ordering::SeqCst), 2);
    }
}
