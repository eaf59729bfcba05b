//! NATS authorisation with the shipped server configuration: a real nats-server started with
//! deploy/nats/auth.conf itself (only the port, on the command line, and the `store_dir` line
//! are changed: see `NatsServer::start_with_config`), the ledger and the collectors connecting
//! with their NKeys. The seeds of the keys in
//! that file are the public test seeds in tests/fixtures/nats/ (see deploy/README.md: replace
//! every key before going live).
//!
//! What is proved: a trust cannot publish on another trust's subject, read anything but its own
//! replies, answer receipts or touch the stream (the server refuses); an envelope whose `trust`
//! differs from its subject is dead-lettered by the ledger; a collector given another trust's
//! events says so and keeps them; wrong credentials give one clear line; and two collectors
//! and the ledger carry a feed end to end under these permissions.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::GOLIVE;
use golive_testkit::golive::{http_head_seq, ok, repo_root, scenario};
use golive_testkit::nats::{NatsServer, nats_binary};
use golive_testkit::process::Proc;
use golive_testkit::wait_for;
use serde_json::Value;

fn auth_conf() -> PathBuf {
    repo_root().join("deploy/nats/auth.conf")
}

/// The fixture seed of `name` (a trust's ODS code, or `ledger-golive-ledger`), copied into `dir`
/// with mode 0600 as a collector's host would keep it (git does not keep file modes).
fn seed(dir: &Path, name: &str) -> PathBuf {
    let from = repo_root().join(format!("tests/fixtures/nats/{name}.nk"));
    let to = dir.join(format!("{name}.nk"));
    std::fs::copy(&from, &to).unwrap_or_else(|e| panic!("{}: {e}", from.display()));
    std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o600)).unwrap();
    to
}

fn keypair(name: &str) -> nkeys::KeyPair {
    let text = std::fs::read_to_string(repo_root().join(format!("tests/fixtures/nats/{name}.nk")))
        .unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with('S'))
        .expect("a seed line");
    nkeys::KeyPair::from_seed(line.trim()).unwrap()
}

/// The London scenario split by trust: trust -> (file, lines).
fn london_by_trust(dir: &Path) -> BTreeMap<String, (PathBuf, Vec<String>)> {
    let text = std::fs::read_to_string(scenario()).unwrap();
    let mut by: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let v: Value = serde_json::from_str(line).unwrap();
        by.entry(v["trust"].as_str().unwrap().to_owned())
            .or_default()
            .push(line.to_owned());
    }
    by.into_iter()
        .map(|(t, lines)| {
            let p = dir.join(format!("{t}.jsonl"));
            std::fs::write(&p, lines.join("\n") + "\n").unwrap();
            (t, (p, lines))
        })
        .collect()
}

/// A running ledger: the process, its data directory and its HTTP API's base URL.
struct Ledger {
    proc: Proc,
    data: PathBuf,
    http: String,
}

impl Ledger {
    /// Waits until `cond` holds of the log, or panics with it.
    fn wait_log(&self, what: &str, cond: impl Fn(&str) -> bool) {
        wait_for(Duration::from_secs(60), what, || {
            let log = self.proc.log_text();
            if cond(&log) {
                Ok(())
            } else {
                Err(format!("the log:\n{log}"))
            }
        });
    }

    fn wait_head(&self, seq: u64) {
        wait_for(Duration::from_secs(60), &format!("head seq {seq}"), || {
            let head = http_head_seq(&self.http);
            if head == seq {
                Ok(())
            } else {
                Err(format!("head {head}; the log:\n{}", self.proc.log_text()))
            }
        });
    }

    /// SIGTERM; the ledger must stop cleanly. Returns its data directory.
    fn stop(mut self) -> PathBuf {
        assert_eq!(self.proc.term(), Some(0), "{}", self.proc.log_text());
        self.data
    }
}

/// `golive serve` as the ledger user, waiting until it consumes.
fn serve(dir: &Path, nats: &NatsServer, log: &str) -> Ledger {
    let data = dir.join("ledger");
    let key = seed(dir, "ledger-golive-ledger");
    let url = nats.url();
    // serve_http waits until the ledger consumes (and panics with its log if it exits).
    let (p, http) = GOLIVE.serve_http(
        &[
            "--data",
            data.to_str().unwrap(),
            "--nats",
            &url,
            "--nkey",
            key.to_str().unwrap(),
        ],
        &dir.join(log),
    );
    Ledger {
        proc: p,
        data,
        http,
    }
}

fn collect_args<'a>(feed: &'a Path, outbox: &'a Path, url: &'a str, key: &'a Path) -> Vec<&'a str> {
    vec![
        "collect",
        feed.to_str().unwrap(),
        "--data",
        outbox.to_str().unwrap(),
        "--nats",
        url,
        "--nkey",
        key.to_str().unwrap(),
        "--wait-receipts-secs",
        "60",
    ]
}

/// A raw client of `name`'s NKey user, and the server errors it is sent.
async fn raw_client(
    nats: &NatsServer,
    name: &str,
) -> (
    async_nats::Client,
    tokio::sync::mpsc::UnboundedReceiver<String>,
) {
    let kp = keypair(name);
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let client = async_nats::ConnectOptions::with_nkey(kp.seed().unwrap())
        .custom_inbox_prefix(format!("_INBOX.{}", kp.public_key()))
        .event_callback(move |e| {
            let tx = tx.clone();
            async move {
                if let async_nats::Event::ServerError(e) = e {
                    let _ = tx.send(e.to_string());
                }
            }
        })
        .connect(nats.url())
        .await
        .unwrap_or_else(|e| panic!("{name} connects: {e}\n{}", nats.log_text()));
    (client, rx)
}

/// Waits up to 60 s for a server error containing `what`.
async fn server_error(rx: &mut tokio::sync::mpsc::UnboundedReceiver<String>, what: &str) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(e)) if e.contains(what) => return e,
            Ok(Some(_)) => {}
            _ => panic!("no server error containing {what:?} within 60 s"),
        }
    }
}

#[test]
fn nats_server_accepts_the_shipped_auth_config_and_every_key_has_a_fixture_seed() {
    // Proves deploy/nats/auth.conf is a valid nats-server configuration (`nats-server -t`), and
    // that the test seeds in tests/fixtures/nats/ are exactly the users it lists (so the tests
    // below exercise the shipped permissions, user by user).
    let o = std::process::Command::new(nats_binary())
        .arg("-t")
        .arg("-c")
        .arg(auth_conf())
        .output()
        .expect("nats-server runs (apt-get install nats-server)");
    assert!(
        o.status.success(),
        "nats-server -t: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let conf = std::fs::read_to_string(auth_conf()).unwrap();
    let keys: Vec<&str> = conf
        .lines()
        .filter_map(|l| l.trim().strip_prefix("nkey: "))
        .map(str::trim)
        .collect();
    let mut fixtures: Vec<String> = std::fs::read_dir(repo_root().join("tests/fixtures/nats"))
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            name.strip_suffix(".nk").map(str::to_owned)
        })
        .map(|n| keypair(&n).public_key())
        .collect();
    fixtures.sort();
    let mut listed: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
    listed.sort();
    assert_eq!(listed, fixtures);
    // One user per trust of the London scenario, plus the ledger.
    for trust in ["Q36", "RAL", "RAX", "RNJ", "RVL"] {
        let pk = keypair(trust).public_key();
        assert!(conf.contains(&format!("nkey: {pk}")), "{trust}");
        assert!(
            conf.contains(&format!("golive.events.{trust}.>")),
            "{trust}"
        );
    }
}

#[test]
fn the_server_refuses_a_trust_publishing_on_another_trusts_subject() {
    // Proves the per-trust permissions of auth.conf: RAL's user cannot publish on RF4's or
    // RNJ's subjects (plain or JetStream publish), cannot read the stream's events or other
    // users' replies, cannot answer receipts nor use the JetStream API; the stream receives
    // nothing of it, while RAL's own subject works.
    let dir = tempfile::tempdir().unwrap();
    let nats = NatsServer::start_with_config(&auth_conf());
    let ledger = serve(dir.path(), &nats, "serve.log");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let (ral, mut errors) = raw_client(&nats, "RAL").await;
        let js = async_nats::jetstream::ContextBuilder::new()
            .timeout(Duration::from_secs(2))
            .build(ral.clone());
        let body = b"{\"any\":\"payload\"}".to_vec();
        for subject in ["golive.events.RF4.incident", "golive.events.RNJ.outage"] {
            ral.publish(subject, body.clone().into()).await.unwrap();
            ral.flush().await.unwrap();
            let e = server_error(&mut errors, subject).await;
            assert!(e.contains("Permissions Violation for Publish"), "{e}");
            let r = async {
                js.publish(subject, body.clone().into())
                    .await?
                    .await
                    .map_err(async_nats::Error::from)
            }
            .await;
            assert!(r.is_err(), "a JetStream publish on {subject} got an ack");
            server_error(&mut errors, subject).await;
        }
        // Reading: the stream's subjects, all inboxes (the ledger's carries every event), the
        // receipt queries (answering them would let a trust forge receipts).
        for subject in ["golive.events.>", "_INBOX.>", "golive.receipts.query"] {
            let _sub = ral.subscribe(subject).await.unwrap();
            ral.flush().await.unwrap();
            let e = server_error(&mut errors, subject).await;
            assert!(e.contains("Permissions Violation for Subscription"), "{e}");
        }
        // The JetStream API: not even a stream lookup, let alone a delete.
        assert!(js.get_stream("GOLIVE").await.is_err());
        server_error(&mut errors, "$JS.API.STREAM.INFO.GOLIVE").await;
        assert!(js.delete_stream("GOLIVE").await.is_err());
        server_error(&mut errors, "$JS.API.STREAM.DELETE.GOLIVE").await;
        // Its own subject works: the ack's stream sequence 1 shows nothing refused got in.
        let line = std::fs::read_to_string(scenario())
            .unwrap()
            .lines()
            .find(|l| l.contains("\"trust\":\"RAL\"") && l.contains("\"kind\":\"extra_cost\""))
            .unwrap()
            .to_owned();
        let ack = js
            .publish("golive.events.RAL.extra_cost", line.into())
            .await
            .unwrap()
            .await
            .unwrap();
        assert_eq!(
            ack.sequence, 1,
            "the stream held nothing before this message"
        );
    });
    ledger.wait_head(1);
    let data = ledger.stop();
    assert_eq!(GOLIVE.status(&data)["head_seq"], 1);
    assert!(GOLIVE.dead_letters(&data).is_empty());
}

#[test]
fn an_envelope_whose_trust_differs_from_its_subject_is_dead_lettered_under_auth() {
    // Proves the second line of defence: RAL may publish on its own subject, but an envelope
    // in it that claims to be RF4's is dead-lettered by the ledger with a reason naming both.
    let dir = tempfile::tempdir().unwrap();
    let nats = NatsServer::start_with_config(&auth_conf());
    let ledger = serve(dir.path(), &nats, "serve.log");
    let line = std::fs::read_to_string(scenario())
        .unwrap()
        .lines()
        .find(|l| l.contains("\"trust\":\"RAL\"") && l.contains("\"kind\":\"extra_cost\""))
        .unwrap()
        .replace("\"trust\":\"RAL\"", "\"trust\":\"RF4\"");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let (ral, _errors) = raw_client(&nats, "RAL").await;
        let js = async_nats::jetstream::new(ral);
        js.publish("golive.events.RAL.extra_cost", line.clone().into())
            .await
            .unwrap()
            .await
            .expect("RAL may publish on its own subject");
    });
    ledger.wait_log("the dead letter", |l| l.contains("message dead-lettered"));
    let data = ledger.stop();
    assert_eq!(GOLIVE.status(&data)["head_seq"], 0);
    let dl = GOLIVE.dead_letters(&data);
    assert_eq!(dl.len(), 1);
    assert!(
        dl[0]["origin"]
            .as_str()
            .unwrap()
            .starts_with("golive.events.RAL.extra_cost"),
        "{dl:?}"
    );
    assert_eq!(dl[0]["field"], "trust");
    assert_eq!(
        dl[0]["reason"],
        "the subject's trust RAL does not match the envelope's trust RF4: a trust may only \
         publish its own events"
    );
}

#[test]
fn the_ledger_and_two_collectors_carry_a_feed_end_to_end_under_auth() {
    // Proves the shipped permissions are enough for the whole pipeline: stream and consumer
    // provisioning, fetch and ack by the ledger, JetStream publish and receipts by RAL's and
    // RNJ's collectors, each with its own NKey.
    let dir = tempfile::tempdir().unwrap();
    let nats = NatsServer::start_with_config(&auth_conf());
    let ledger = serve(dir.path(), &nats, "serve.log");
    let feeds = london_by_trust(dir.path());
    let url = nats.url();
    let mut procs = Vec::new();
    for trust in ["RAL", "RNJ"] {
        let key = seed(dir.path(), trust);
        let outbox = dir.path().join(format!("outbox-{trust}"));
        let args = collect_args(&feeds[trust].0, &outbox, &url, &key);
        procs.push(GOLIVE.spawn(&args, &dir.path().join(format!("collect-{trust}.log"))));
    }
    for p in &mut procs {
        p.wait_ok(Duration::from_secs(120));
    }
    let data = ledger.stop();
    let n = feeds["RAL"].1.len() + feeds["RNJ"].1.len();
    assert_eq!(GOLIVE.status(&data)["head_seq"], n as u64);
    assert!(GOLIVE.dead_letters(&data).is_empty());
    let v = String::from_utf8(ok(GOLIVE.run(&["verify", "--data", data.to_str().unwrap()])).stdout)
        .unwrap();
    assert!(v.starts_with("OK"), "{v}");
    assert!(
        !nats.log_text().contains("Permissions Violation"),
        "{}",
        nats.log_text()
    );
}

#[test]
fn a_collector_given_another_trusts_event_says_so_and_keeps_it() {
    // Proves what the product does when a trust's feed holds another trust's event: RAL's
    // collector publishes RAL's events, the server refuses RNJ's subject, the collector names
    // the subject and the server's words, exits 5, keeps the event in its outbox (shown by
    // --status), and tries it once more on the next run rather than retrying forever.
    let dir = tempfile::tempdir().unwrap();
    let nats = NatsServer::start_with_config(&auth_conf());
    let ledger = serve(dir.path(), &nats, "serve.log");
    let feeds = london_by_trust(dir.path());
    let stray = feeds["RNJ"].1[0].clone();
    let kind = serde_json::from_str::<Value>(&stray).unwrap()["kind"]
        .as_str()
        .unwrap()
        .to_owned();
    let subject = format!("golive.events.RNJ.{kind}");
    let feed = dir.path().join("ral-with-a-stray.jsonl");
    let mut lines = feeds["RAL"].1.clone();
    lines.insert(3, stray);
    std::fs::write(&feed, lines.join("\n") + "\n").unwrap();
    let key = seed(dir.path(), "RAL");
    let outbox = dir.path().join("outbox");
    let url = nats.url();
    for run in 0..2 {
        let started = Instant::now();
        let o = GOLIVE.run(&collect_args(&feed, &outbox, &url, &key));
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(5), "run {run}: {err}");
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "run {run} took {:?}",
            started.elapsed()
        );
        assert!(
            err.contains(&format!(
                "{subject}: the NATS server refused to let these credentials publish here \
                 (Permissions Violation for Publish to \"{subject}\"): 1 event kept in the outbox"
            )),
            "run {run}: {err}"
        );
        let st = String::from_utf8(
            ok(GOLIVE.run(&["collect", "--status", "--data", outbox.to_str().unwrap()])).stdout,
        )
        .unwrap();
        assert!(st.contains("pending 1 "), "{st}");
        assert!(st.contains("refused by the NATS server: 1"), "{st}");
        assert!(st.contains(&subject), "{st}");
    }
    // Every RAL event went through; the stray one never reached the stream.
    ledger.wait_head(feeds["RAL"].1.len() as u64);
    let data = ledger.stop();
    assert_eq!(
        GOLIVE.status(&data)["head_seq"],
        feeds["RAL"].1.len() as u64
    );
    assert!(GOLIVE.dead_letters(&data).is_empty());
}

#[test]
fn refused_or_exposed_credentials_give_one_clear_line() {
    // Proves that credentials the server does not know, no credentials at all, and a seed file
    // others can read each stop `golive collect` and `golive serve` at once with one line
    // saying what to fix, instead of a retry loop.
    let dir = tempfile::tempdir().unwrap();
    let nats = NatsServer::start_with_config(&auth_conf());
    let url = nats.url();
    let feeds = london_by_trust(dir.path());
    // A valid key the server has never heard of.
    let unknown = dir.path().join("unknown");
    let made = ok(GOLIVE.run(&[
        "nats-user",
        "add",
        "RAL",
        "--dir",
        unknown.to_str().unwrap(),
    ]));
    let made = String::from_utf8(made.stdout).unwrap();
    let public = made
        .lines()
        .find_map(|l| l.strip_prefix("# public key "))
        .unwrap()
        .to_owned();
    let unknown_key = unknown.join("RAL.nk");
    let outbox = dir.path().join("outbox");
    let ledger_data = dir.path().join("ledger");
    let expected = format!(
        "NATS at {url} refused the credentials for NKey user {public}: authorization violation; \
         check --nkey"
    );
    let started = Instant::now();
    let o = GOLIVE.run(&collect_args(&feeds["RAL"].0, &outbox, &url, &unknown_key));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains(&expected), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    let o = GOLIVE.run(&[
        "serve",
        "--data",
        ledger_data.to_str().unwrap(),
        "--nats",
        &url,
        "--nkey",
        unknown_key.to_str().unwrap(),
        "--http",
        "off",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains(&expected), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    // No credentials at all.
    let o = GOLIVE.run(&[
        "collect",
        feeds["RAL"].0.to_str().unwrap(),
        "--data",
        outbox.to_str().unwrap(),
        "--nats",
        &url,
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("refused the credentials for an anonymous connection"),
        "{err}"
    );
    assert!(err.contains("give --nkey FILE"), "{err}");
    // A seed file group and others can read: refused before connecting.
    let key = seed(dir.path(), "RAL");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    for cmd in ["collect", "serve"] {
        let mut args = collect_args(&feeds["RAL"].0, &outbox, &url, &key);
        if cmd == "serve" {
            args = vec![
                "serve",
                "--data",
                ledger_data.to_str().unwrap(),
                "--nats",
                &url,
                "--nkey",
                key.to_str().unwrap(),
            ];
        }
        let o = GOLIVE.run(&args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{cmd}: {err}");
        assert!(
            err.contains("can be read by group or others (mode 0644)") && err.contains("chmod 600"),
            "{cmd}: {err}"
        );
    }
}

#[test]
fn removing_a_users_key_stops_its_running_collector_and_ledger_with_one_clear_line() {
    // Proves revocation: with RAL's and the ledger's keys removed from the server's
    // configuration and the server reloaded, a running `golive collect --watch` and `golive
    // serve` each stop with the refused-credentials line (exit 1) instead of reconnecting
    // forever; the collector's outbox keeps what it had not had confirmed.
    let dir = tempfile::tempdir().unwrap();
    let nats = NatsServer::start_with_config(&auth_conf());
    let ledger = serve(dir.path(), &nats, "serve.log");
    let watch = dir.path().join("feeds");
    std::fs::create_dir_all(&watch).unwrap();
    let key = seed(dir.path(), "RAL");
    let outbox = dir.path().join("outbox");
    let url = nats.url();
    let mut collector = GOLIVE.spawn(
        &[
            "collect",
            "--watch",
            watch.to_str().unwrap(),
            "--data",
            outbox.to_str().unwrap(),
            "--nats",
            &url,
            "--nkey",
            key.to_str().unwrap(),
        ],
        &dir.path().join("collect.log"),
    );
    wait_for(Duration::from_secs(60), "the collector to connect", || {
        let log = collector.log_text();
        if log.contains("connected to NATS") {
            Ok(())
        } else {
            Err(format!("the log:\n{log}"))
        }
    });
    // The running server's configuration, without RAL's and the ledger's users.
    let config = nats.config.clone().unwrap();
    let text = std::fs::read_to_string(&config).unwrap();
    // Each user is a block after a comment line at the users list's indentation.
    let indent = |l: &str| l.len() - l.trim_start().len();
    let mut kept = String::new();
    let mut skipping = false;
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with('#') && indent(line) == 6 {
            skipping = t == "# Royal Free Hampstead NHS Trust" || t.starts_with("# the ledger");
        }
        if !skipping {
            kept.push_str(line);
            kept.push('\n');
        }
    }
    for pk in [
        keypair("RAL").public_key(),
        keypair("ledger-golive-ledger").public_key(),
    ] {
        assert!(text.contains(&pk) && !kept.contains(&pk));
    }
    std::fs::write(&config, kept).unwrap();
    nats.reload();
    let mut ledger_proc = ledger.proc;
    for (what, p, pk) in [
        ("collector", &mut collector, keypair("RAL").public_key()),
        (
            "ledger",
            &mut ledger_proc,
            keypair("ledger-golive-ledger").public_key(),
        ),
    ] {
        let code = p.wait(Duration::from_secs(60));
        assert_eq!(
            code,
            Some(1),
            "{what}: {}\n{}",
            p.log_text(),
            nats.log_text()
        );
        assert!(
            p.log_text().contains(&format!(
                "NATS at {url} refused the credentials for NKey user {pk}: authorization \
                 violation; check --nkey"
            )),
            "{what}: {}",
            p.log_text()
        );
    }
}
