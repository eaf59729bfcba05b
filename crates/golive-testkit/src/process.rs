//! Child processes of a test (a `golive serve`, a collector, a browser driver) with their output
//! in a log file, killed when dropped, and which a test can pause, resume, stop gracefully or
//! kill -9 as a crash would.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a process may take to stop after SIGTERM, on a busy machine.
const TERM_TIMEOUT: Duration = Duration::from_secs(60);

/// Sends `kill -SIG pid` (e.g. "STOP", "CONT"); an already exited process is not an error.
pub fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .args([format!("-{sig}"), pid.to_string()])
        .stderr(Stdio::null())
        .status();
}

/// A child process with its stdout and stderr in a log file.
pub struct Proc {
    child: Option<Child>,
    /// The program, for messages.
    program: OsString,
    pub log: PathBuf,
}

impl Proc {
    /// Spawns `cmd` with its output appended to `log` (created anew).
    pub fn spawn(mut cmd: Command, log: &Path) -> Self {
        let f = std::fs::File::create(log).expect("log file");
        let child = cmd
            .stdout(Stdio::from(f.try_clone().expect("log file handle")))
            .stderr(Stdio::from(f))
            .spawn()
            .unwrap_or_else(|e| panic!("{:?} starts: {e}", cmd.get_program()));
        Self {
            child: Some(child),
            program: cmd.get_program().to_owned(),
            log: log.to_path_buf(),
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// SIGKILL: a crash.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGSTOP: the process is frozen (not killed) until [`Proc::resume`].
    pub fn pause(&self) {
        if let Some(c) = &self.child {
            signal(c.id(), "STOP");
        }
    }

    /// SIGCONT after [`Proc::pause`].
    pub fn resume(&self) {
        if let Some(c) = &self.child {
            signal(c.id(), "CONT");
        }
    }

    /// SIGTERM and wait: a graceful stop. Returns the exit code.
    pub fn term(&mut self) -> Option<i32> {
        let pid = self.child.as_ref()?.id();
        signal(pid, "TERM");
        self.wait_exit(TERM_TIMEOUT, "stop on SIGTERM")
    }

    /// Waits for the process to exit by itself; panics after `timeout`. Returns the exit code.
    pub fn wait(&mut self, timeout: Duration) -> Option<i32> {
        self.wait_exit(timeout, "finish")
    }

    /// Waits for the process to exit by itself, and asserts that it exited 0 (else panics with
    /// its log).
    pub fn wait_ok(&mut self, timeout: Duration) {
        let code = self.wait(timeout);
        assert_eq!(code, Some(0), "{}", self.log_text());
    }

    /// Waits `timeout` for the exit; kills the process and panics with its log if it has not.
    fn wait_exit(&mut self, timeout: Duration, what: &str) -> Option<i32> {
        let mut c = self.child.take()?;
        let start = Instant::now();
        loop {
            if let Ok(Some(st)) = c.try_wait() {
                return st.code();
            }
            if start.elapsed() > timeout {
                let _ = c.kill();
                let _ = c.wait();
                panic!(
                    "{:?} did not {what} within {timeout:?}; log ({}):\n{}",
                    self.program,
                    self.log.display(),
                    self.log_text()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill9();
    }
}
