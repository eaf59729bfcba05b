//! What the benchmarks read about processes and directories: peak resident memory (Linux
//! `/proc/<pid>/status` VmHWM, or a reaped child's `ru_maxrss`) and bytes on disk of a directory.

use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

/// Peak resident set size ("high water mark") of a running process, in bytes, from
/// `/proc/<pid>/status`; None where there is no such file (not Linux, process gone).
pub fn peak_rss_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line
        .trim_start_matches("VmHWM:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

/// Sum of the lengths of every file under `dir` (what sled's `size_on_disk` counts for its own
/// files); 0 for a missing directory.
pub fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_bytes(&e.path()),
            Ok(_) => e.metadata().map_or(0, |m| m.len()),
            Err(_) => 0,
        })
        .sum()
}

/// How a child ended, with its peak resident memory.
#[derive(Debug, Clone, Copy)]
pub struct ChildEnd {
    /// Exit code; None when killed by a signal.
    pub code: Option<i32>,
    /// `ru_maxrss` of the reaped child, in bytes.
    pub peak_rss_bytes: u64,
}

/// Waits for `child` (up to `timeout`, then SIGKILL) and reaps it with `wait4`, which reports
/// its peak resident memory.
pub fn wait_with_rusage(child: &mut Child, timeout: Duration) -> std::io::Result<ChildEnd> {
    let pid = child.id() as libc::pid_t;
    let start = Instant::now();
    loop {
        let mut status: libc::c_int = 0;
        // SAFETY: an all-zero rusage is a valid value of this plain C struct.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: pid is our own unreaped child; the pointers are to live locals.
        let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if r == pid {
            let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
            return Ok(ChildEnd {
                code,
                peak_rss_bytes: usage.ru_maxrss.max(0) as u64 * 1024,
            });
        }
        if r < 0 {
            return Err(std::io::Error::last_os_error());
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Sends SIGTERM to a child (a graceful stop for `golive serve`).
pub fn terminate(child: &Child) {
    // SAFETY: kill(2) with a pid of our own child and a valid signal number.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
    }
}
