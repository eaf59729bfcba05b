//! A full disk under the ledger: the write that hits it fails with one readable line, nothing
//! stored before is lost or damaged, and once there is space again the same input completes
//! the log without duplicates. The disk is a real 48 MiB tmpfs mounted by the test (it needs
//! root, as `scripts/test` runs; it says so otherwise); the store keeps 32 MiB in reserve, so it
//! refuses a batch once the ledger has used about 16 MiB.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::GOLIVE;
use golive_testkit::golive::ok;
use serde_json::Value;

/// A tmpfs of `size`, unmounted on drop.
struct Tmpfs {
    dir: PathBuf,
}

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Self {
        std::fs::create_dir_all(dir).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .output()
            .expect("mount runs");
        assert!(
            out.status.success(),
            "this test mounts a small tmpfs to fill a disk and needs root (scripts/test runs as \
             root): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Self {
            dir: dir.to_owned(),
        }
    }

    fn resize(&self, size: &str) {
        let st = Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(&self.dir)
            .status()
            .unwrap();
        assert!(st.success());
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.dir).status();
    }
}

/// Event ids of the records of the ledger in `data`, in seq order (from an export).
fn ledger_ids(data: &Path) -> Vec<String> {
    let out = ok(GOLIVE.run(&["audit", "export", "--data", data.to_str().unwrap()]));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("{\"seq\""))
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["event"]["event_id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

#[test]
fn a_full_disk_stops_the_write_with_one_line_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let feed = dir.path().join("feed.jsonl");
    ok(GOLIVE.run(&[
        "simulate",
        "--events",
        "100000",
        "--out",
        feed.to_str().unwrap(),
    ]));
    let file_ids: Vec<String> = std::fs::read_to_string(&feed)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["event_id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let disk = Tmpfs::mount(&dir.path().join("disk"), "48m");
    let data = disk.dir.join("ledger");
    let data_s = data.to_str().unwrap();

    let o = GOLIVE.run(&["ingest", feed.to_str().unwrap(), "--data", data_s]);
    assert_eq!(o.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&o.stderr);
    // A projection snapshot (a cache of the log, written after a durable batch) may hit the full
    // disk first: that is one warning of its own and the append goes on, so it is not the line
    // of the failed write. Everything else is that one line.
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.contains("could not write a projection snapshot"))
        .collect();
    assert_eq!(lines.len(), 1, "one line, not a log storm:\n{stderr}");
    assert!(
        stderr.lines().filter(|l| !l.trim().is_empty()).count() <= 2,
        "at most one snapshot warning beside the error line:\n{stderr}"
    );
    assert!(lines[0].contains("is full"), "{stderr}");
    assert!(lines[0].contains("free space"), "{stderr}");

    // Room again: what was stored is intact, a prefix of the feed in its order.
    disk.resize("256m");
    ok(GOLIVE.run(&["verify", "--data", data_s]));
    let stored = ledger_ids(&data);
    assert!(
        stored.len() < file_ids.len(),
        "the disk filled before the end"
    );
    assert_eq!(stored[..], file_ids[..stored.len()]);

    // The same input again completes the log: every event once.
    let o = GOLIVE.run(&["ingest", feed.to_str().unwrap(), "--data", data_s]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    ok(GOLIVE.run(&["verify", "--data", data_s]));
    assert_eq!(ledger_ids(&data), file_ids);
}
