//! The standard `process_*` series every Prometheus client exports (CPU time, memory, file
//! descriptors, start time), read from `/proc/self` when `/metrics` is rendered. Linux only:
//! elsewhere the series are left out.

use std::fmt::Write;

/// One reading of this process's figures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProcessStats {
    /// User and system CPU time, seconds.
    pub cpu_seconds: f64,
    pub resident_memory_bytes: u64,
    pub virtual_memory_bytes: u64,
    pub open_fds: u64,
    /// The soft limit on open file descriptors, if any.
    pub max_fds: Option<u64>,
    /// Seconds since the Unix epoch.
    pub start_time_seconds: f64,
}

impl ProcessStats {
    /// This process, now; `None` where `/proc` cannot be read.
    pub fn read() -> Option<Self> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        let boot = std::fs::read_to_string("/proc/stat").ok()?;
        let open_fds = std::fs::read_dir("/proc/self/fd").ok()?.count() as u64;
        // SAFETY: sysconf only reads the system's configuration.
        let (ticks, page) = unsafe {
            (
                libc::sysconf(libc::_SC_CLK_TCK),
                libc::sysconf(libc::_SC_PAGESIZE),
            )
        };
        let ticks = u64::try_from(ticks).ok().filter(|t| *t > 0)?;
        let page = u64::try_from(page).ok()?;
        let mut stats = from_proc(&stat, &boot, ticks, page)?;
        stats.open_fds = open_fds;
        stats.max_fds = max_fds();
        Some(stats)
    }

    /// The series, in the exposition format.
    pub fn render(&self, out: &mut String) {
        let mut series = |name: &str, kind: &str, help: &str, value: String| {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} {kind}");
            let _ = writeln!(out, "{name} {value}");
        };
        series(
            "process_cpu_seconds_total",
            "counter",
            "Total user and system CPU time spent in seconds.",
            self.cpu_seconds.to_string(),
        );
        series(
            "process_resident_memory_bytes",
            "gauge",
            "Resident memory size in bytes.",
            self.resident_memory_bytes.to_string(),
        );
        series(
            "process_virtual_memory_bytes",
            "gauge",
            "Virtual memory size in bytes.",
            self.virtual_memory_bytes.to_string(),
        );
        series(
            "process_open_fds",
            "gauge",
            "Number of open file descriptors.",
            self.open_fds.to_string(),
        );
        if let Some(max) = self.max_fds {
            series(
                "process_max_fds",
                "gauge",
                "Maximum number of open file descriptors.",
                max.to_string(),
            );
        }
        series(
            "process_start_time_seconds",
            "gauge",
            "Start time of the process since unix epoch in seconds.",
            self.start_time_seconds.to_string(),
        );
    }
}

/// The figures of `/proc/self/stat` and the boot time of `/proc/stat` (`btime`), with the
/// clock ticks per second and the page size; file descriptors are left at 0.
fn from_proc(stat: &str, proc_stat: &str, ticks: u64, page: u64) -> Option<ProcessStats> {
    // The command name (field 2) is in parentheses and may hold spaces and parentheses:
    // the fields after the last ')' start with field 3, the state.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| -> Option<u64> { fields.get(n - 3)?.parse().ok() };
    let (utime, stime) = (field(14)?, field(15)?);
    let (start_ticks, vsize, rss) = (field(22)?, field(23)?, field(24)?);
    let btime: u64 = proc_stat
        .lines()
        .find_map(|l| l.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()?;
    let ticks_f = ticks as f64;
    Some(ProcessStats {
        cpu_seconds: (utime + stime) as f64 / ticks_f,
        resident_memory_bytes: rss.saturating_mul(page),
        virtual_memory_bytes: vsize,
        open_fds: 0,
        max_fds: None,
        start_time_seconds: btime as f64 + start_ticks as f64 / ticks_f,
    })
}

fn max_fds() -> Option<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes only into `lim`, a valid rlimit.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) };
    (rc == 0 && lim.rlim_cur != libc::RLIM_INFINITY).then_some(lim.rlim_cur)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stat_fields_are_read_after_the_command_name_whatever_it_holds() {
        // Proves the parse counts fields after the last ')' (a command name may hold spaces
        // and parentheses) and converts ticks and pages: utime 150 + stime 50 at 100 ticks/s
        // is 2 s; start 1,000 ticks after a boot at 1,700,000,000 is 10 s later; rss 10 pages.
        let stat = "42 (golive (x) y) S 1 42 42 0 -1 4194560 100 0 0 0 150 50 0 0 20 0 8 0 \
                    1000 123456789 10 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0";
        let proc_stat = "cpu  1 2 3\nbtime 1700000000\nprocesses 9\n";
        let s = from_proc(stat, proc_stat, 100, 4096).unwrap();
        assert_eq!(s.cpu_seconds, 2.0);
        assert_eq!(s.start_time_seconds, 1_700_000_010.0);
        assert_eq!(s.virtual_memory_bytes, 123_456_789);
        assert_eq!(s.resident_memory_bytes, 40_960);
        assert!(from_proc("no parens", proc_stat, 100, 4096).is_none());
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_process_is_read_and_rendered() {
        // Proves the live reading works on Linux and renders the standard names.
        let s = ProcessStats::read().unwrap();
        assert!(s.open_fds > 0 && s.resident_memory_bytes > 0, "{s:?}");
        let mut out = String::new();
        s.render(&mut out);
        for name in [
            "process_cpu_seconds_total",
            "process_resident_memory_bytes",
            "process_open_fds",
            "process_start_time_seconds",
        ] {
            assert!(out.contains(&format!("\n{name} ")), "{name}: {out}");
        }
    }
}
