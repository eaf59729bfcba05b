//! The `golive` processes of the pipeline benchmark: `golive serve` (the ledger, as in
//! production) and `golive replay`, each with its output in a log file, its environment cleared
//! of the caller's configuration, and killed if the run ends early (also by a signal).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use super::PipelineBenchError;
use crate::procstat;

/// A `golive` child process of the benchmark, its output in a log file; killed if dropped.
pub(super) struct GoliveChild {
    child: std::process::Child,
    log: PathBuf,
    /// Waited for already: nothing left for Drop to kill.
    reaped: bool,
    /// Kills the child if a signal ends the run.
    _on_signal: golive::on_signal::Registration,
}

impl GoliveChild {
    pub(super) fn spawn(
        exe: &Path,
        args: &[&std::ffi::OsStr],
        log: &Path,
    ) -> std::io::Result<Self> {
        let f = std::fs::File::create(log)?;
        // The bench's child sees only its flags, not the caller's configuration.
        let child = golive_testkit::scrubbed_command(exe)
            .args(args)
            .env("GOLIVE_LOG", "info,async_nats=off,sled=off")
            .stdin(Stdio::null())
            .stdout(Stdio::from(f.try_clone()?))
            .stderr(Stdio::from(f))
            .spawn()?;
        let pid = child.id();
        Ok(Self {
            child,
            log: log.to_path_buf(),
            reaped: false,
            _on_signal: golive::on_signal::register(move || golive::on_signal::kill(pid)),
        })
    }

    /// The process id.
    pub(super) fn pid(&self) -> u32 {
        self.child.id()
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the log shows `mark`; an error if the process exits first or after `timeout`.
    pub(super) fn wait_for_log(
        &mut self,
        mark: &str,
        timeout: Duration,
    ) -> Result<(), PipelineBenchError> {
        let start = Instant::now();
        while !self.log_text().contains(mark) {
            if let Some(st) = self.child.try_wait()? {
                return Err(PipelineBenchError::Incomplete(format!(
                    "golive exited ({st}) before `{mark}`; see {}",
                    self.log.display()
                )));
            }
            if start.elapsed() > timeout {
                return Err(PipelineBenchError::Incomplete(format!(
                    "no `{mark}` within {timeout:?}; see {}",
                    self.log.display()
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    /// SIGTERM (or nothing, for a process that ends by itself), then reap it with its peak RSS;
    /// SIGKILL after `timeout`.
    pub(super) fn finish(
        mut self,
        term: bool,
        timeout: Duration,
    ) -> Result<procstat::ChildEnd, PipelineBenchError> {
        if term {
            procstat::terminate(&self.child);
        }
        let end = procstat::wait_with_rusage(&mut self.child, timeout)?;
        self.reaped = true;
        let log = &self.log;
        if end.code != Some(0) {
            return Err(PipelineBenchError::Incomplete(format!(
                "golive {} (exit code {:?}, killed after {timeout:?} if none); see {}",
                if term { "serve" } else { "replay" },
                end.code,
                log.display()
            )));
        }
        Ok(end)
    }
}

impl Drop for GoliveChild {
    fn drop(&mut self) {
        if !self.reaped {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
