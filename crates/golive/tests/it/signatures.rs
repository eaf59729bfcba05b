//! docs/EVENTS.md's "Event signatures" holds for another language: the Python example
//! (docs/examples/sign_event.py) signs with a key `golive trust-key new` made, and its headers
//! are exactly the collector's and pass the ledger's check.

use std::process::Command;

use crate::GOLIVE;
use golive_testkit::golive::{ok, repo_root, scenario, stdout};
use golive_verify::{
    NoteSigner, Origin, OriginSignature, SignaturePolicy, TrustKey, TrustKeys, TrustOrigin,
    sign_event,
};

#[test]
fn the_python_example_signs_as_the_collector_does() {
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("RAL.trust-key");
    ok(GOLIVE.run(&[
        "trust-key",
        "new",
        "RAL",
        "--out",
        key_file.to_str().unwrap(),
    ]));
    let lines: Vec<String> = std::fs::read_to_string(scenario())
        .unwrap()
        .lines()
        .filter(|l| l.contains(r#""trust":"RAL""#))
        .map(str::to_owned)
        .collect();
    assert!(lines.len() >= 5, "RAL's events in the scenario");
    let events = dir.path().join("ral.jsonl");
    std::fs::write(&events, lines.join("\n") + "\n").unwrap();
    let out = Command::new("python3")
        .arg(repo_root().join("docs/examples/sign_event.py"))
        .args([&key_file, &events])
        .output()
        .expect("python3 runs (scripts/test installs python3-cryptography)");
    let headers = stdout(&ok(out));
    let headers: Vec<&str> = headers.lines().collect();
    assert_eq!(headers.len(), lines.len());
    let signer = NoteSigner::parse(&std::fs::read_to_string(&key_file).unwrap()).unwrap();
    let keys = TrustKeys::new(
        [(
            "RAL".to_owned(),
            TrustOrigin {
                policy: SignaturePolicy::Required,
                keys: vec![TrustKey {
                    key: signer.verifier(),
                    revoked_at: None,
                }],
            },
        )]
        .into(),
    );
    for (line, header) in lines.iter().zip(&headers) {
        // Ed25519 is deterministic: the same key and bytes give the same signature.
        assert_eq!(*header, sign_event(&signer, line.as_bytes()).to_text());
        let sig = OriginSignature::parse(header).unwrap();
        let recorded_at = golive_model::decode(line.as_bytes()).unwrap().recorded_at;
        assert_eq!(
            keys.check("RAL", recorded_at, line.as_bytes(), Some(&sig)),
            Ok(Origin::Signed { key_id: sig.key_id })
        );
    }
}
