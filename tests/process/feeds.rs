//! Trust feeds end to end (docs/FEEDS.md): the shipped PTL sample through its mapping and a
//! real nats-server into a real ledger; the open lost count equals the sample's, counted here
//! from the CSV; a second run appends nothing; no NHS number of the sample is in any byte the
//! collector, the ledger or NATS stored, nor in any log; a dry run on bad rows publishes nothing.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::GOLIVE;
use golive_testkit::golive::{get_json, http_head_seq, ok, repo_root};
use golive_testkit::nats::NatsServer;
use golive_testkit::process::Proc;
use golive_testkit::wait_for;

const TRUST: &str = "ZF001";

/// Every NHS number of a sample, as written there and as bare digits, with the rows' statuses.
struct PtlSample {
    /// (digits, as written, status) of each data row.
    rows: Vec<(String, String, String)>,
}

impl PtlSample {
    fn read(path: &Path) -> Self {
        let text = std::fs::read_to_string(path).unwrap();
        let mut lines = text.lines().filter(|l| !l.starts_with('#'));
        let header: Vec<&str> = lines.next().unwrap().split(',').collect();
        let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
        let (nhs, status) = (col("NHS Number"), col("Status"));
        let rows = lines
            .map(|l| {
                let cells: Vec<&str> = l.split(',').collect();
                let written = cells[nhs].to_owned();
                let digits: String = written.chars().filter(char::is_ascii_digit).collect();
                (digits, written, cells[status].to_owned())
            })
            .collect();
        Self { rows }
    }

    /// Patients reported lost and not found again: the ledger's open lost count, counted here.
    fn open_lost(&self) -> u64 {
        let with = |s: &str| -> BTreeSet<&str> {
            self.rows
                .iter()
                .filter(|r| r.2 == s)
                .map(|r| r.0.as_str())
                .collect()
        };
        with("Lost").difference(&with("Found")).count() as u64
    }

    /// Rows that are events: the lost and the found (the others are still on the list).
    fn events(&self) -> u64 {
        self.rows
            .iter()
            .filter(|r| r.2 == "Lost" || r.2 == "Found")
            .count() as u64
    }

    /// Every form of every number: digits, as written, and 3-3-4 with spaces.
    fn forms(&self) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for (digits, written, _) in &self.rows {
            out.insert(digits.clone());
            out.insert(written.clone());
            out.insert(format!(
                "{} {} {}",
                &digits[..3],
                &digits[3..6],
                &digits[6..]
            ));
        }
        out
    }
}

/// Every file under `dir`, with its bytes.
fn all_bytes(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else {
                out.push((p.clone(), std::fs::read(&p).unwrap_or_default()));
            }
        }
    }
    out
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

fn open_lost(base: &str) -> Result<u64, String> {
    let v = get_json(base, "/v1/lost-patients");
    v["data"]["trusts"][TRUST]["open_count"]
        .as_u64()
        .ok_or_else(|| v.to_string())
}

/// A trust secret (`golive trust-secret new`) and a ledger serving HTTP, in `d`.
struct Started {
    secret: PathBuf,
    /// The output of `golive trust-secret new`.
    made: std::process::Output,
    ledger_data: PathBuf,
    ledger: Proc,
    base: String,
}

fn start(d: &Path, nats: &NatsServer) -> Started {
    let secret = d.join("ZF001.trust-secret");
    let made = ok(GOLIVE.run(&[
        "trust-secret",
        "new",
        TRUST,
        "--out",
        secret.to_str().unwrap(),
    ]));
    let ledger_data = d.join("ledger");
    let data = ledger_data.to_str().unwrap();
    let (ledger, base) = GOLIVE.serve_http(
        &["--data", data, "--nats", &nats.url()],
        &d.join("serve.log"),
    );
    Started {
        secret,
        made,
        ledger_data,
        ledger,
        base,
    }
}

#[test]
fn the_ptl_sample_lands_once_with_its_open_lost_count_and_no_nhs_number_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let nats = NatsServer::start();
    let root = repo_root();
    let sample_path = root.join("samples/ptl.csv");
    let mapping = root.join("deploy/feeds/ptl.toml");
    let sample = PtlSample::read(&sample_path);
    let expected_open = sample.open_lost();
    assert!(expected_open > 0 && sample.rows.iter().any(|r| r.2 == "Found"));

    let Started {
        secret,
        made,
        ledger_data,
        mut ledger,
        base,
    } = start(d, &nats);
    let outbox = d.join("outbox");
    let extra = [
        "--map",
        mapping.to_str().unwrap(),
        "--trust-secret",
        secret.to_str().unwrap(),
    ];
    let mut logs = vec![String::from_utf8_lossy(&made.stderr).into_owned()];
    for round in 0..2 {
        let log = d.join(format!("collect-{round}.log"));
        let mut c = GOLIVE.collect(&sample_path, &outbox, &nats.url(), &extra, &log);
        c.wait_ok(Duration::from_secs(120));
        logs.push(c.log_text());
        // The collector exits once the ledger confirmed every event (appended or a duplicate).
        let head = http_head_seq(&base);
        assert_eq!(
            head,
            sample.events(),
            "round {round}: each lost and traced patient once"
        );
        let open = wait_for(Duration::from_secs(30), "the lost-patients view", || {
            open_lost(&base)
        });
        assert_eq!(open, expected_open, "round {round}");
    }

    // A dry run on a file with bad rows names each bad row and column, and publishes nothing.
    let before = nats.consumer_progress("GOLIVE", "golive-ledger").unwrap();
    let dry_outbox = d.join("dry-outbox");
    let bad = root.join("samples/ptl-with-errors.csv");
    let out = GOLIVE
        .command()
        .args([
            "collect",
            bad.to_str().unwrap(),
            "--dry-run",
            "--json",
            "--nats",
            &nats.url(),
        ])
        .args(["--data", dry_outbox.to_str().unwrap()])
        .args(extra)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let named: Vec<(u64, String)> = v["rejections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["row"].as_u64().unwrap(),
                r["column"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected: Vec<(u64, String)> = [
        (4, "NHS Number"),
        (5, "Pathway"),
        (6, "Status Date"),
        (7, "Status Date"),
        (8, "Harm Review"),
    ]
    .iter()
    .map(|(r, c)| (*r, (*c).to_owned()))
    .collect();
    assert_eq!(named, expected, "{v}");
    logs.push(String::from_utf8_lossy(&out.stdout).into_owned());
    logs.push(String::from_utf8_lossy(&out.stderr).into_owned());
    let after = nats.consumer_progress("GOLIVE", "golive-ledger").unwrap();
    assert_eq!(
        after.last_stream_seq, before.last_stream_seq,
        "the dry run published nothing"
    );
    assert!(!dry_outbox.exists(), "the dry run opened no outbox");

    assert_eq!(ledger.term(), Some(0), "{}", ledger.log_text());
    logs.push(ledger.log_text());
    logs.push(nats.log_text());
    let bad_sample = PtlSample::read(&bad);
    let mut forms = sample.forms();
    forms.extend(bad_sample.forms());
    let stored: Vec<(PathBuf, Vec<u8>)> = [&outbox, &ledger_data, &nats.store.path().to_owned()]
        .iter()
        .flat_map(|p| all_bytes(p))
        .collect();
    // The check can see: the stream holds the events, with their pseudonyms.
    assert!(
        stored.iter().any(|(_, b)| contains(b, "ZF001-P-")),
        "the pseudonyms are stored"
    );
    for form in &forms {
        for (path, bytes) in &stored {
            assert!(
                !contains(bytes, form),
                "an NHS number is in {}",
                path.display()
            );
        }
        for log in &logs {
            assert!(
                !log.contains(form.as_str()),
                "an NHS number is in a log or output:\n{log}"
            );
        }
    }
}

#[test]
fn a_watched_directory_reads_each_export_through_the_mapping_its_name_matches() {
    // Every shipped sample, dropped into a watched directory under a trust system's file names,
    // lands in the ledger through its own mapping; files no pattern names are not read as feeds.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let nats = NatsServer::start();
    let root = repo_root();
    let Started {
        secret,
        ledger_data,
        mut ledger,
        base,
        ..
    } = start(d, &nats);
    let watched = d.join("exports");
    std::fs::create_dir_all(&watched).unwrap();
    let mut args: Vec<String> = vec![
        "collect".into(),
        "--watch".into(),
        watched.display().to_string(),
    ];
    let mut expected = 0;
    for (name, events) in [
        ("ptl", 14),
        ("incidents", 5),
        ("finance", 6),
        ("activity", 5),
    ] {
        std::fs::copy(
            root.join(format!("samples/{name}.csv")),
            watched.join(format!("{name}-2008-11.csv")),
        )
        .unwrap();
        let map = root.join(format!("deploy/feeds/{name}.toml"));
        args.extend(["--map".into(), format!("{name}-*.csv={}", map.display())]);
        expected += events;
    }
    args.extend(["--trust-secret".into(), secret.display().to_string()]);
    args.extend([
        "--data".into(),
        d.join("outbox").display().to_string(),
        "--nats".into(),
        nats.url(),
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut collector = GOLIVE.spawn(&args, &d.join("watch.log"));
    wait_for(
        Duration::from_secs(120),
        "every sample's events in the ledger",
        || {
            let head = http_head_seq(&base);
            if head == expected {
                Ok(())
            } else {
                Err(format!("head {head} of {expected}"))
            }
        },
    );
    assert!(collector.term().is_some(), "{}", collector.log_text());
    assert_eq!(ledger.term(), Some(0), "{}", ledger.log_text());
    assert!(GOLIVE.dead_letters(&ledger_data).is_empty());
}

#[test]
fn a_bad_mapping_is_refused_at_start_and_the_trust_secret_is_the_owners_alone() {
    // Proves a mapping mistake stops `golive collect` before anything is read or connected,
    // naming the mapping's line and key; `golive trust-secret new` writes 0600 and never over an
    // existing file; a secret others may read is refused.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let root = repo_root();
    let text = std::fs::read_to_string(root.join("deploy/feeds/ptl.toml")).unwrap();
    let bad = d.join("bad.toml");
    std::fs::write(
        &bad,
        text.replacen("kind = \"patient_lost\"", "kind = \"patient_mislaid\"", 1),
    )
    .unwrap();
    let line = text
        .lines()
        .position(|l| l.starts_with("kind = \"patient_lost\""))
        .unwrap()
        + 1;
    let sample = root.join("samples/ptl.csv");
    let nowhere = format!("nats://127.0.0.1:{}", golive_testkit::free_port());
    let outbox = d.join("outbox");
    let o = GOLIVE.run(&[
        "collect",
        sample.to_str().unwrap(),
        "--map",
        bad.to_str().unwrap(),
        "--data",
        outbox.to_str().unwrap(),
        "--nats",
        &nowhere,
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("bad.toml:{line}: rows[0].kind: unknown kind")),
        "{err}"
    );
    assert!(!outbox.exists(), "nothing started");

    let secret = d.join("s.trust-secret");
    let new = |path: &Path| {
        GOLIVE.run(&[
            "trust-secret",
            "new",
            TRUST,
            "--out",
            path.to_str().unwrap(),
        ])
    };
    ok(new(&secret));
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&secret).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let before = std::fs::read(&secret).unwrap();
    assert_eq!(new(&secret).status.code(), Some(1), "never overwritten");
    assert_eq!(std::fs::read(&secret).unwrap(), before);
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mapping = root.join("deploy/feeds/ptl.toml");
    let o = GOLIVE.run(&[
        "collect",
        sample.to_str().unwrap(),
        "--map",
        mapping.to_str().unwrap(),
        "--trust-secret",
        secret.to_str().unwrap(),
        "--dry-run",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("chmod 600"));
}
