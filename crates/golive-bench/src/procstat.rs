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

/// CPU time (user + system, every thread) a process has used so far, in seconds, from
/// `/proc/<pid>/stat` (`"self"` for this process); None where there is no such file.
pub fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count from its end.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state is field 3, so utime (14) and stime (15) are at 11 and 12 here.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    (ticks > 0).then(|| (utime + stime) as f64 / ticks as f64)
}

/// CPU microseconds per event a process spent between two [`cpu_seconds`] readings.
pub fn cpu_us_per_event(before: Option<f64>, after: Option<f64>, events: u64) -> Option<f64> {
    Some((after? - before?) * 1e6 / events.max(1) as f64)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_seconds_grows_while_this_process_works() {
        // Proves the /proc parsing finds utime + stime: a busy loop shows up as CPU time of this
        // process. It spins until 0.1 s of CPU is counted (clock ticks are 10 ms) rather than
        // for a fixed time, which a busy machine may not give this thread the cores for.
        let before = cpu_seconds("self").expect("/proc/self/stat is readable on Linux");
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut x = 0u64;
        let after = loop {
            for _ in 0..100_000 {
                x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
            }
            let now = cpu_seconds("self").unwrap();
            if now - before >= 0.1 {
                break now;
            }
            assert!(
                Instant::now() < deadline,
                "60 s of busy loop and the CPU time read went only {before} -> {now}"
            );
        };
        let per = cpu_us_per_event(Some(before), Some(after), 1_000).unwrap();
        assert!(per >= 100.0, "{per} us per event");
        assert_eq!(cpu_us_per_event(None, Some(after), 1), None);
    }
}
