//! Events signed by the trust that reported them (docs/EVENTS.md, "Event signatures"), end to
//! end with real processes: `golive trust-key new` makes each trust's key, `golive collect
//! --trust-key` signs what it publishes to a real nats-server, `golive serve` with
//! `[trusts.<ODS>] signatures = "required"` stores the signatures and dead-letters what is
//! unsigned or signed by another trust's key, and `golive audit verify --trust-keys` checks
//! every signature offline and names the seq of one whose byte was flipped.

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

/// The export verifies with every event of `trust` signed; a flipped signature byte is
/// TAMPERED at that record's seq.
fn audit(d: &Path, data: &Path, config: &Path, trust: &str, count: u64) {
    let export = d.join("h.jsonl");
    let data_s = data.to_str().unwrap();
    ok(GOLIVE.run(&[
        "audit",
        "export",
        "--out",
        export.to_str().unwrap(),
        "--data",
        data_s,
    ]));
    let pubkey = stdout(&ok(GOLIVE.run(&["audit", "pubkey", "--data", data_s])))
        .trim()
        .to_owned();
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
