//! Events signed by the trust that reported them (docs/EVENTS.md, "Event signatures"), end to
//! end with real processes: `golive trust-key new` makes each trust's key, `golive collect
//! --trust-key` signs what it publishes to a real nats-server, `golive serve` with
//! `[trusts.<ODS>] signatures = "required"` stores the signatures and dead-letters what is
//! unsigned or signed by another trust's key, and `golive audit verify --trust-keys` checks
//! every signature offline and names the seq of one whose byte was flipped. Keys published in
//! the log (`golive trust-key publish`, signed by the admin key) are applied by the ledger from
//! their record on, across a restart, and by `golive audit verify --admin-key` alone.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::GOLIVE;
use crate::nats_pipeline::wait_until_processed;
use base64::Engine as _;
use golive_testkit::golive::{ok, stdout};
use golive_testkit::nats::NatsServer;
use golive_testkit::process::Proc;
use serde_json::Value;

/// `golive trust-key new TRUST --out DIR/TRUST.trust-key`: the key file and its public key.
fn trust_key(dir: &Path, trust: &str) -> (PathBuf, String) {
    let path = dir.join(format!("{trust}.trust-key"));
    let out = ok(GOLIVE.run(&["trust-key", "new", trust, "--out", path.to_str().unwrap()]));
    let public = stdout(&out).trim().to_owned();
    assert!(public.starts_with(&format!("{trust}+")), "{public}");
    (path, public)
}

fn collect(feed: &Path, dir: &Path, nats: &NatsServer, name: &str, extra: &[&str]) -> Proc {
    let mut args = vec!["--wait-receipts-secs", "5"];
    args.extend_from_slice(extra);
    GOLIVE.collect(
        feed,
        &dir.join(format!("outbox-{name}")),
        &nats.url(),
        &args,
        &dir.join(format!("collect-{name}.log")),
    )
}

/// `golive audit verify FILE --trust-keys CONFIG --json`: the parsed answer.
fn verify(export: &Path, pubkey: &str, trust_keys: &Path) -> Value {
    let out = GOLIVE.run(&[
        "audit",
        "verify",
        export.to_str().unwrap(),
        "--pubkey",
        pubkey,
        "--trust-keys",
        trust_keys.to_str().unwrap(),
        "--json",
    ]);
    serde_json::from_str(&stdout(&out)).unwrap_or_else(|e| panic!("{e}: {out:?}"))
}

#[test]
fn trust_keys_are_owner_only_and_never_overwritten() {
    // Proves `trust-key new` writes a 0600 file, refuses to overwrite it, and `show` prints
    // the same public key; a file that is not a trust key is refused by collect.
    let dir = tempfile::tempdir().unwrap();
    let (path, public) = trust_key(dir.path(), "RAL");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let again = GOLIVE.run(&["trust-key", "new", "RAL", "--out", path.to_str().unwrap()]);
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("exists already"),
        "{again:?}"
    );
    let shown = ok(GOLIVE.run(&["trust-key", "show", path.to_str().unwrap()]));
    assert_eq!(stdout(&shown).trim(), public);
    let bad = GOLIVE.run(&["trust-key", "new", "not-ods"]);
    assert!(!bad.status.success());
    let junk = dir.path().join("junk.key");
    std::fs::write(&junk, "hello\n").unwrap();
    let refused = GOLIVE.run(&[
        "collect",
        "-",
        "--trust-key",
        junk.to_str().unwrap(),
        "--check-config",
    ]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("not a trust key"),
        "{refused:?}"
    );
}

#[test]
fn signed_events_are_stored_checked_and_audited_and_the_rest_dead_lettered() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let nats = NatsServer::start();
    let ev = GOLIVE.simulated(d, 31, 2, 120);
    let (a, b) = ("ZZ001", "ZZ002");
    let (key_a, public_a) = trust_key(d, a);
    let (_key_b, public_b) = trust_key(d, b);
    let config = d.join("golive.toml");
    std::fs::write(
        &config,
        format!(
            "[trusts.{a}]\nsignatures = \"required\"\nkeys = [\"{public_a}\"]\n\n\
             [trusts.{b}]\nsignatures = \"required\"\nkeys = [\"{public_b}\"]\n"
        ),
    )
    .unwrap();
    let data = d.join("ledger");
    let (mut ledger, _http) = GOLIVE.serve_http(
        &[
            "--config",
            config.to_str().unwrap(),
            "--data",
            data.to_str().unwrap(),
            "--nats",
            &nats.url(),
        ],
        &d.join("serve.log"),
    );
    // A's events signed with A's key; B's events half unsigned, half signed with A's key.
    let lines_b: Vec<String> = std::fs::read_to_string(&ev.files[b])
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    let (unsigned_b, wrong_b) = lines_b.split_at(lines_b.len() / 2);
    let (unsigned_file, wrong_file) = (d.join("b-unsigned.jsonl"), d.join("b-wrong.jsonl"));
    std::fs::write(&unsigned_file, unsigned_b.join("\n") + "\n").unwrap();
    std::fs::write(&wrong_file, wrong_b.join("\n") + "\n").unwrap();
    let key_arg = ["--trust-key", key_a.to_str().unwrap()];
    let mut procs = vec![
        collect(&ev.files[a], d, &nats, "a", &key_arg),
        collect(&unsigned_file, d, &nats, "b-unsigned", &[]),
        collect(&wrong_file, d, &nats, "b-wrong", &key_arg),
    ];
    let total = ev.ids.len() as u64;
    wait_until_processed(&nats, total);
    for p in &mut procs {
        assert!(
            p.wait(Duration::from_secs(120)).is_some(),
            "{}",
            p.log_text()
        );
    }
    assert_eq!(ledger.term(), Some(0), "{}", ledger.log_text());
    let count_a = total - lines_b.len() as u64;
    assert_eq!(GOLIVE.status(&data)["head_seq"].as_u64(), Some(count_a));
    assert_dead_letters(&data, b, unsigned_b.len(), wrong_b.len());
    audit(d, &data, &config, a, count_a);
}

/// Every event of `trust` is a dead letter on field Golive-Signature: `unsigned` of them for
/// the required policy, `wrong` for a key that is not the trust's.
fn assert_dead_letters(data: &Path, trust: &str, unsigned: usize, wrong: usize) {
    let letters = GOLIVE.dead_letters(data);
    assert_eq!(letters.len(), unsigned + wrong, "{letters:?}");
    assert!(
        letters.iter().all(|l| l["field"] == "Golive-Signature"),
        "{letters:?}"
    );
    let reasons: Vec<&str> = letters
        .iter()
        .map(|l| l["reason"].as_str().unwrap())
        .collect();
    let count = |needle: &str| reasons.iter().filter(|r| r.contains(needle)).count();
    assert_eq!(
        count(&format!(
            "unsigned, and {trust}'s policy is signatures = required"
        )),
        unsigned,
        "{reasons:?}"
    );
    assert_eq!(
        count(&format!("which is not a key of {trust}")),
        wrong,
        "{reasons:?}"
    );
}

/// `golive audit export --out EXPORT` of the ledger in `data`, and the ledger's public key.
fn export_with_pubkey(data: &Path, export: &Path) -> String {
    let data_s = data.to_str().unwrap();
    let out = export.to_str().unwrap();
    ok(GOLIVE.run(&["audit", "export", "--out", out, "--data", data_s]));
    stdout(&ok(GOLIVE.run(&["audit", "pubkey", "--data", data_s])))
        .trim()
        .to_owned()
}

/// The export verifies with every event of `trust` signed; a flipped signature byte is
/// TAMPERED at that record's seq.
fn audit(d: &Path, data: &Path, config: &Path, trust: &str, count: u64) {
    let export = d.join("h.jsonl");
    let pubkey = export_with_pubkey(data, &export);
    let data_s = data.to_str().unwrap();
    let v = verify(&export, &pubkey, config);
    assert_eq!(v["result"], "verified", "{v}");
    let origin = &v["verified"]["origins"][trust];
    assert_eq!(origin["signed"].as_u64(), Some(count), "{v}");
    assert_eq!(origin["unsigned"].as_u64(), Some(0), "{v}");
    // The store itself, through the same check.
    let out = GOLIVE.run(&[
        "audit",
        "verify",
        "--store",
        "--data",
        data_s,
        "--pubkey",
        &pubkey,
        "--trust-keys",
        config.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("origin {trust}: {count} signed")),
        "{err}"
    );
    // Flip one byte of the signature of record 7.
    let text = std::fs::read_to_string(&export).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let mut record: Value = serde_json::from_str(&lines[7]).unwrap();
    assert_eq!(record["seq"], 7);
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut sig = b64
        .decode(record["origin_signature"].as_str().unwrap())
        .unwrap();
    sig[20] ^= 0x01;
    let flipped = b64.encode(&sig);
    let old = record["origin_signature"].as_str().unwrap().to_owned();
    lines[7] = lines[7].replace(&old, &flipped);
    record["origin_signature"] = Value::String(flipped);
    std::fs::write(&export, lines.join("\n") + "\n").unwrap();
    let out = GOLIVE.run(&[
        "audit",
        "verify",
        export.to_str().unwrap(),
        "--pubkey",
        &pubkey,
        "--trust-keys",
        config.to_str().unwrap(),
    ]);
    let said = stdout(&out);
    assert!(
        said.starts_with("TAMPERED at seq 7: bad origin signature"),
        "{said} {out:?}"
    );
    // Without trust keys the chain still verifies: the signature is not in the chain hash.
    let plain = GOLIVE.run(&[
        "audit",
        "verify",
        export.to_str().unwrap(),
        "--pubkey",
        &pubkey,
    ]);
    assert!(stdout(&plain).starts_with("OK"), "{plain:?}");
}

/// `golive trust-key publish TRUST --admin-key FILE ARGS... --nats URL`: the event id.
fn publish_key_change(admin: &Path, trust: &str, nats: &NatsServer, change: &[&str]) -> String {
    let mut args = vec![
        "trust-key",
        "publish",
        trust,
        "--admin-key",
        admin.to_str().unwrap(),
    ];
    args.extend_from_slice(change);
    let url = nats.url();
    args.extend_from_slice(&["--nats", &url]);
    stdout(&ok(GOLIVE.run(&args))).trim().to_owned()
}

#[test]
fn keys_published_in_the_log_are_applied_by_the_ledger_and_by_the_auditor() {
    // Proves: with no key in the config, an admin-signed `trust_key` add lets the trust's signed
    // events in; a backdated revocation, re-read from the log after a restart, refuses the
    // trust's later events ("revoked at"); the auditor, given only the admin key, finds every
    // stored event signed and the two key changes, and TAMPERED when the key change is unsigned.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let nats = NatsServer::start();
    let ev = GOLIVE.simulated(d, 37, 1, 60);
    let trust = "ZZ001";
    let (key, public) = trust_key(d, trust);
    let admin = d.join("golive-admin.admin-key");
    let admin_public = stdout(&ok(GOLIVE.run(&[
        "trust-key",
        "new-admin",
        "--out",
        admin.to_str().unwrap(),
    ])))
    .trim()
    .to_owned();
    let config = d.join("golive.toml");
    std::fs::write(
        &config,
        format!(
            "[admin]\nkeys = [\"{admin_public}\"]\n\n[trusts.{trust}]\nsignatures = \"required\"\n"
        ),
    )
    .unwrap();
    let data = d.join("ledger");
    let serve_args = [
        "--config",
        config.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--nats",
        &nats.url(),
    ];
    let (mut ledger, _http) = GOLIVE.serve_http(&serve_args, &d.join("serve-1.log"));
    publish_key_change(&admin, trust, &nats, &["--add", &public]);
    wait_until_processed(&nats, 1);
    let lines: Vec<String> = std::fs::read_to_string(&ev.files[trust])
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    let (before, after) = lines.split_at(lines.len() / 2);
    let (before_file, after_file) = (d.join("before.jsonl"), d.join("after.jsonl"));
    std::fs::write(&before_file, before.join("\n") + "\n").unwrap();
    std::fs::write(&after_file, after.join("\n") + "\n").unwrap();
    let key_arg = ["--trust-key", key.to_str().unwrap()];
    let mut c = collect(&before_file, d, &nats, "before", &key_arg);
    assert!(
        c.wait(Duration::from_secs(120)).is_some(),
        "{}",
        c.log_text()
    );
    let stored = 1 + before.len() as u64;
    wait_until_processed(&nats, stored);
    // Revoked from 2000: every simulated event is recorded later.
    publish_key_change(
        &admin,
        trust,
        &nats,
        &["--revoke", &public, "--revoked-at", "2000-01-01T00:00:00Z"],
    );
    wait_until_processed(&nats, stored + 1);
    assert_eq!(ledger.term(), Some(0), "{}", ledger.log_text());
    let (mut ledger, _http) = GOLIVE.serve_http(&serve_args, &d.join("serve-2.log"));
    let mut c = collect(&after_file, d, &nats, "after", &key_arg);
    wait_until_processed(&nats, stored + 1 + after.len() as u64);
    assert!(
        c.wait(Duration::from_secs(120)).is_some(),
        "{}",
        c.log_text()
    );
    assert_eq!(ledger.term(), Some(0), "{}", ledger.log_text());
    assert_eq!(GOLIVE.status(&data)["head_seq"].as_u64(), Some(stored + 1));
    let letters = GOLIVE.dead_letters(&data);
    assert_eq!(letters.len(), after.len(), "{letters:?}");
    assert!(
        letters.iter().all(|l| l["reason"]
            .as_str()
            .unwrap()
            .contains("revoked at 2000-01-01")),
        "{letters:?}"
    );
    audit_from_the_log(d, &data, &admin_public, trust, before.len() as u64);
}

/// `audit verify --admin-key` alone: every event of `trust` signed, two key changes; the key
/// change at seq 1 stripped of its signature is TAMPERED there.
fn audit_from_the_log(d: &Path, data: &Path, admin_public: &str, trust: &str, signed: u64) {
    let export = d.join("keys.jsonl");
    let pubkey = export_with_pubkey(data, &export);
    let run = |file: &Path| {
        let out = GOLIVE.run(&[
            "audit",
            "verify",
            file.to_str().unwrap(),
            "--pubkey",
            &pubkey,
            "--admin-key",
            admin_public,
            "--json",
        ]);
        serde_json::from_str::<Value>(&stdout(&out)).unwrap_or_else(|e| panic!("{e}: {out:?}"))
    };
    let v = run(&export);
    assert_eq!(v["result"], "verified", "{v}");
    let origin = &v["verified"]["origins"][trust];
    assert_eq!(origin["signed"].as_u64(), Some(signed), "{v}");
    assert_eq!(origin["key_changes"].as_u64(), Some(2), "{v}");
    assert_eq!(origin["unsigned"].as_u64(), Some(0), "{v}");
    let text = std::fs::read_to_string(&export).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let record: Value = serde_json::from_str(&lines[1]).unwrap();
    assert_eq!(
        (record["seq"].as_u64(), record["event"]["kind"].as_str()),
        (Some(1), Some("trust_key")),
        "{record}"
    );
    // Removed as text, so that the event's bytes stay exactly as exported.
    let sig = record["origin_signature"].as_str().unwrap();
    let field = format!("\"origin_signature\":\"{sig}\",");
    assert!(lines[1].contains(&field), "{}", lines[1]);
    lines[1] = lines[1].replace(&field, "");
    let stripped = d.join("stripped.jsonl");
    std::fs::write(&stripped, lines.join("\n") + "\n").unwrap();
    let v = run(&stripped);
    assert_eq!(v["result"], "tampered", "{v}");
    assert_eq!(v["problem"]["seq"].as_u64(), Some(1), "{v}");
    assert!(v["problem"].to_string().contains("admin key"), "{v}");
}
