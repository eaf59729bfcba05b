//! The auditor HTTP routes (`golive_http::tlog`) served on a real loopback port:
//! `golive audit verify --server` over them, and proofs from them checked with golive-verify.

use golive_http::{AppState, tlog};

use std::sync::{Arc, Mutex};

use crate::GOLIVE;
use golive_ledger::{Ledger, LedgerOptions};
use golive_testkit::golive::scenario;
use golive_verify::{Checkpoint, VerifierKey, from_hex32, record_leaf, verify_checkpoint};
use serde_json::Value;

fn get(url: &str) -> Value {
    let body = ureq::get(url)
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    serde_json::from_str(&body).unwrap()
}

fn hashes(v: &Value) -> Vec<[u8; 32]> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|h| from_hex32(h.as_str().unwrap()).unwrap())
        .collect()
}

#[test]
fn verify_over_http_and_proofs_from_the_routes_check_out() {
    // Proves the auditor routes serve what an auditor needs: `audit verify --server` over them
    // prints OK with the ledger's head; an inclusion proof for one event verifies against the
    // root signed in the checkpoint the route returns; a consistency proof between two sizes
    // verifies against both roots; an over-large page is refused.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("ledger");
    let run = |args: &[&str]| {
        let o = GOLIVE.run_with_data(&data, args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap()
    };
    run(&["ingest", scenario().to_str().unwrap()]);
    let pubkey = run(&["audit", "pubkey"]).trim().to_owned();
    let key = VerifierKey::parse(&pubkey).unwrap();

    let mut ledger = Ledger::open(&data, LedgerOptions::default()).unwrap();
    let signer = golive_ledger::signing::CheckpointSigner::new(
        golive_ledger::signing::load_or_create_key(&data, "golive.ledger/main").unwrap(),
        golive_ledger::signing::AuditOptions::default(),
        ledger.store(),
    )
    .unwrap();
    ledger.enable_checkpoint_signing(signer);
    let head = ledger.head();
    let state = AppState::new(Arc::new(Mutex::new(ledger)), Arc::new(Default::default()));
    let app = tlog::routes().with_state(state);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    rt.spawn(async move { axum::serve(listener, app).await });

    let o = GOLIVE.run(&["audit", "verify", "--server", &base, "--pubkey", &pubkey]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(
        out.starts_with(&format!("OK head seq {} hash ", head.seq)),
        "{out}"
    );

    let p = get(&format!("{base}/v1/proof/inclusion?seq=17"));
    let note = p["checkpoint"]
        .as_str()
        .expect("a signed checkpoint at the default size");
    let c: Checkpoint = verify_checkpoint(note, &key).unwrap();
    assert_eq!(p["tree_size"].as_u64(), Some(c.size));
    let chain = from_hex32(p["chain_hash"].as_str().unwrap()).unwrap();
    golive_verify::verify_inclusion(
        16,
        c.size,
        &record_leaf(&chain),
        &hashes(&p["proof"]),
        &c.root,
    )
    .unwrap();

    let q = get(&format!(
        "{base}/v1/proof/consistency?from=40&to={}",
        head.seq
    ));
    let from_root = from_hex32(q["from_root"].as_str().unwrap()).unwrap();
    let to_root = from_hex32(q["to_root"].as_str().unwrap()).unwrap();
    assert_eq!(to_root, c.root);
    golive_verify::verify_consistency(40, head.seq, &from_root, &to_root, &hashes(&q["proof"]))
        .unwrap();

    let page = get(&format!("{base}/v1/events?from_seq=80&limit=5"));
    assert_eq!(page["records"].as_array().unwrap().len(), 5);
    assert_eq!(page["next_from_seq"].as_u64(), Some(85));
    let status = ureq::get(&format!("{base}/v1/events?limit=1001")).call();
    assert!(status.is_err(), "a page over 1,000 is refused");
}
