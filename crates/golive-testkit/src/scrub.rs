//! The one way to start a `golive` process that sees only what its caller gives it: the tests'
//! `Golive::command` and the bench's `golive serve` child both build their command here.

use std::ffi::OsStr;
use std::process::Command;

/// The variables `golive` reads that are not named `GOLIVE_*`.
const SCRUBBED: [&str; 4] = ["NATS_URL", "NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"];

/// `EXE` with none of the variables `golive` reads from the environment: every one is named
/// `GOLIVE_*` or is `NATS_URL` (clap's `env =` attributes, `GOLIVE_LOG`), or is one of systemd's
/// (`NOTIFY_SOCKET`, `WATCHDOG_USEC`, `WATCHDOG_PID`: `golive serve` notifies systemd), and a
/// developer's shell (or a test runner under systemd) may set any of them. A caller that wants
/// one sets it on the command.
pub fn scrubbed_command(exe: impl AsRef<OsStr>) -> Command {
    let mut cmd = Command::new(exe);
    for (name, _) in std::env::vars_os() {
        if name
            .to_str()
            .is_some_and(|n| n.starts_with("GOLIVE_") || SCRUBBED.contains(&n))
        {
            cmd.env_remove(name);
        }
    }
    cmd
}
