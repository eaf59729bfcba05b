//! `golive audit` end to end on a real on-disk ledger: the key, export, verify (export file and
//! store), replay and compare, as an auditor would type them. Exit codes: 0 verified, 2
//! tampered, 3 could not read.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::GOLIVE;
use golive::exit;
use golive_testkit::golive::{code, ok, scenario, scenario_len, stdout};
use serde_json::Value;

/// A ledger with the London scenario ingested, its public key and an export (the take-away
/// tests start from it too).
pub(crate) struct Fixture {
    pub dir: tempfile::TempDir,
    pub data: PathBuf,
    pub pubkey: String,
    pub export: PathBuf,
}

pub(crate) fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("ledger");
    ok(GOLIVE.run_with_data(&data, &["ingest", scenario().to_str().unwrap()]));
    let pubkey = stdout(&ok(GOLIVE.run_with_data(&data, &["audit", "pubkey"])))
        .trim()
        .to_owned();
    let export = dir.path().join("h.jsonl");
    ok(GOLIVE.run_with_data(
        &data,
        &["audit", "export", "--out", export.to_str().unwrap()],
    ));
    Fixture {
        dir,
        data,
        pubkey,
        export,
    }
}

fn verify_file(f: &Fixture, file: &Path) -> Output {
    GOLIVE.run_with_data(
        &f.data,
        &[
            "audit",
            "verify",
            "--export",
            file.to_str().unwrap(),
            "--pubkey",
            &f.pubkey,
        ],
    )
}

#[test]
fn the_key_is_private_and_its_public_half_is_in_the_signed_note_format() {
    // Proves the signing key is created on first start with mode 0600 and that `audit pubkey`
    // prints `<origin>+<8 hex key id>+<base64>` (the same key every time).
    let f = fixture();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(f.data.join("audit-signing.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let parts: Vec<&str> = f.pubkey.splitn(3, '+').collect();
    assert_eq!(parts[0], "golive.ledger/main");
    assert!(parts[1].len() == 8 && parts[1].chars().all(|c| c.is_ascii_hexdigit()));
    let again = stdout(&ok(GOLIVE.run_with_data(&f.data, &["audit", "pubkey"])));
    assert_eq!(again.trim(), f.pubkey);
}

#[test]
fn an_export_verifies_and_editing_one_amount_names_that_events_seq() {
    // Proves the acceptance check: export then verify prints OK with the head (exit 0);
    // changing one amount in the file makes verify fail naming that event's seq (TAMPERED).
    let f = fixture();
    let out = ok(verify_file(&f, &f.export));
    let text = stdout(&out);
    assert!(
        text.starts_with(&format!("OK head seq {} hash ", scenario_len())),
        "{text}"
    );
    assert!(text.contains(" root "), "{text}");

    let lines: Vec<String> = std::fs::read_to_string(&f.export)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    let (i, seq) = lines
        .iter()
        .enumerate()
        .find_map(|(i, l)| {
            let v: Value = serde_json::from_str(l).ok()?;
            let amount = v["event"]["data"]["amount_pence"].as_i64()?;
            (amount > 0).then(|| (i, v["seq"].as_u64().unwrap()))
        })
        .expect("an event with an amount");
    let mut edited = lines.clone();
    let v: Value = serde_json::from_str(&lines[i]).unwrap();
    let amount = v["event"]["data"]["amount_pence"].as_i64().unwrap();
    edited[i] = lines[i].replacen(
        &format!("\"amount_pence\":{amount}"),
        &format!("\"amount_pence\":{}", amount + 1),
        1,
    );
    let bad = f.dir.path().join("edited.jsonl");
    std::fs::write(&bad, edited.join("\n") + "\n").unwrap();
    let out = verify_file(&f, &bad);
    assert_eq!(code(&out), i32::from(exit::TAMPERED), "{}", stdout(&out));
    assert!(
        stdout(&out).starts_with(&format!("TAMPERED at seq {seq}: altered")),
        "{}",
        stdout(&out)
    );
}

#[test]
fn verify_exit_codes_tell_unreadable_input_from_tampering() {
    // Proves a missing file, a file that is not an export, and a malformed key each exit
    // COULD_NOT_READ, not TAMPERED.
    let f = fixture();
    let missing = f.dir.path().join("nope.jsonl");
    assert_eq!(
        code(&verify_file(&f, &missing)),
        i32::from(exit::COULD_NOT_READ)
    );
    let junk = f.dir.path().join("junk.jsonl");
    std::fs::write(&junk, "hello\n").unwrap();
    assert_eq!(
        code(&verify_file(&f, &junk)),
        i32::from(exit::COULD_NOT_READ)
    );
    let out = GOLIVE.run_with_data(
        &f.data,
        &[
            "audit",
            "verify",
            "--export",
            f.export.to_str().unwrap(),
            "--pubkey",
            "nonsense",
        ],
    );
    assert_eq!(code(&out), i32::from(exit::COULD_NOT_READ));
}

#[test]
fn another_ledgers_key_does_not_verify_this_ledgers_checkpoints() {
    // Proves checkpoints are bound to the key: verifying with a different ledger's public key
    // is a bad signature (TAMPERED), not OK.
    let f = fixture();
    let other = f.dir.path().join("other");
    let other_key = stdout(&ok(GOLIVE.run_with_data(&other, &["audit", "pubkey"])));
    let out = GOLIVE.run_with_data(
        &f.data,
        &[
            "audit",
            "verify",
            "--export",
            f.export.to_str().unwrap(),
            "--pubkey",
            other_key.trim(),
        ],
    );
    assert_eq!(code(&out), i32::from(exit::TAMPERED), "{}", stdout(&out));
    assert!(stdout(&out).contains("bad signature"), "{}", stdout(&out));
}

#[test]
fn replay_of_an_export_equals_the_ledgers_as_of_answer() {
    // Proves `audit replay FILE --to-seq N --json` rebuilds, from the export alone, exactly what
    // `golive query <what> --as-of-seq N --json` answers from the ledger, for every view, at a
    // middle seq and at the head.
    let f = fixture();
    for n in [30u64, scenario_len()] {
        let replay: Value = serde_json::from_str(&stdout(&ok(GOLIVE.run_with_data(
            &f.data,
            &[
                "audit",
                "replay",
                f.export.to_str().unwrap(),
                "--to-seq",
                &n.to_string(),
                "--json",
            ],
        ))))
        .unwrap();
        assert_eq!(replay["as_of_seq"], n);
        for (what, field) in [
            ("lost-patients", "lost_patients"),
            ("money", "money"),
            ("rollout", "rollout"),
            ("warnings", "warnings"),
            ("deferred", "deferred"),
            ("incidents", "incidents"),
            ("trusts", "trusts"),
        ] {
            let live: Value = serde_json::from_str(&stdout(&ok(GOLIVE.run_with_data(
                &f.data,
                &["query", what, "--as-of-seq", &n.to_string(), "--json"],
            ))))
            .unwrap();
            assert_eq!(replay[field], live, "{what} as of seq {n}");
        }
    }
}

#[test]
fn compare_finds_where_two_ledgers_part() {
    // Proves compare says IDENTICAL for two ledgers fed the same events, PREFIX for a replica
    // that saw fewer, and DIVERGE (DIVERGED) at the first differing seq for an altered copy.
    let f = fixture();
    let twin = f.dir.path().join("twin");
    ok(GOLIVE.run_with_data(&twin, &["ingest", scenario().to_str().unwrap()]));
    let args = |a: &Path, b: &Path| {
        GOLIVE.run_with_data(
            &f.data,
            &["audit", "compare", a.to_str().unwrap(), b.to_str().unwrap()],
        )
    };
    let out = ok(args(&f.data, &twin));
    assert!(
        stdout(&out).starts_with(&format!("IDENTICAL up to head seq {}", scenario_len())),
        "{}",
        stdout(&out)
    );

    let half = f.dir.path().join("half.jsonl");
    let text = std::fs::read_to_string(scenario()).unwrap();
    std::fs::write(
        &half,
        text.lines().take(50).collect::<Vec<_>>().join("\n") + "\n",
    )
    .unwrap();
    let behind = f.dir.path().join("behind");
    ok(GOLIVE.run_with_data(&behind, &["ingest", half.to_str().unwrap()]));
    let out = ok(args(&f.data, &behind));
    assert!(stdout(&out).starts_with("PREFIX:"), "{}", stdout(&out));
    assert!(stdout(&out).contains("up to seq 50"), "{}", stdout(&out));

    let edited = f.dir.path().join("edited.jsonl");
    let export = std::fs::read_to_string(&f.export).unwrap();
    let changed = export.replacen("\"collector_seq\":7,", "\"collector_seq\":8,", 1);
    assert_ne!(changed, export);
    std::fs::write(&edited, changed).unwrap();
    let out = args(&f.export, &edited);
    assert_eq!(code(&out), i32::from(exit::DIVERGED), "{}", stdout(&out));
    assert!(
        stdout(&out).starts_with("DIVERGE at seq "),
        "{}",
        stdout(&out)
    );
}

/// Opens the store's sled database directly, as someone with disk access would.
fn with_sled(data: &Path, f: impl FnOnce(&sled::Db)) {
    let db = sled::open(data).unwrap();
    f(&db);
    db.flush().unwrap();
}

#[test]
fn verify_on_the_store_names_a_flipped_byte_and_a_forged_checkpoint() {
    // Proves `audit verify --store` reads the store as it is on disk: a flipped bit inside one
    // stored record is reported as altered at that record's seq, and a signed checkpoint
    // replaced by one signed with another key is reported as a bad signature at its size.
    let f = fixture();
    let ok_out = ok(GOLIVE.run_with_data(
        &f.data,
        &["audit", "verify", "--store", "--pubkey", &f.pubkey],
    ));
    assert!(
        stdout(&ok_out).starts_with(&format!("OK head seq {}", scenario_len())),
        "{}",
        stdout(&ok_out)
    );

    // Record 43's trust code, then flip a bit of it inside the stored chunk.
    let line = std::fs::read_to_string(&f.export)
        .unwrap()
        .lines()
        .find(|l| l.starts_with("{\"seq\":43,"))
        .unwrap()
        .to_owned();
    let v: Value = serde_json::from_str(&line).unwrap();
    let trust = v["event"]["trust"].as_str().unwrap().to_owned();
    let copy = f.dir.path().join("copy");
    copy_dir(&f.data, &copy);
    with_sled(&copy, |db| {
        let t = db.open_tree("ledger").unwrap();
        let (k, chunk) = t.scan_prefix(b"L").next().unwrap().unwrap();
        let first = u64::from_be_bytes(k[1..9].try_into().unwrap());
        let mut bytes = chunk.to_vec();
        let (mut pos, mut seq) = (0usize, first);
        while seq < 43 {
            let len = u32::from_be_bytes(bytes[pos..pos + 4].try_into().unwrap()) as usize;
            pos += 4 + len;
            seq += 1;
        }
        let len = u32::from_be_bytes(bytes[pos..pos + 4].try_into().unwrap()) as usize;
        let record = &mut bytes[pos + 4..pos + 4 + len];
        let at = record
            .windows(trust.len())
            .position(|w| w == trust.as_bytes())
            .unwrap();
        record[at] ^= 1;
        t.insert(k, bytes).unwrap();
    });
    let out = GOLIVE.run_with_data(
        &copy,
        &["audit", "verify", "--store", "--pubkey", &f.pubkey],
    );
    assert_eq!(code(&out), i32::from(exit::TAMPERED), "{}", stdout(&out));
    assert!(
        stdout(&out).starts_with("TAMPERED at seq 43: altered"),
        "{}",
        stdout(&out)
    );

    let forged = f.dir.path().join("forged");
    copy_dir(&f.data, &forged);
    with_sled(&forged, |db| {
        let t = db.open_tree("signed_checkpoints").unwrap();
        let (k, note) = t.last().unwrap().unwrap();
        let note = std::str::from_utf8(&note).unwrap();
        let text = &note[..note.rfind("\n\n").unwrap() + 1];
        let other = golive_verify::NoteSigner::from_seed("golive.ledger/main", [3u8; 32]).unwrap();
        t.insert(k, other.sign(text).as_bytes()).unwrap();
    });
    let out = GOLIVE.run_with_data(
        &forged,
        &["audit", "verify", "--store", "--pubkey", &f.pubkey],
    );
    assert_eq!(code(&out), i32::from(exit::TAMPERED), "{}", stdout(&out));
    assert!(
        stdout(&out).starts_with(&format!(
            "TAMPERED at seq {}: bad signature",
            scenario_len()
        )),
        "{}",
        stdout(&out)
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}
