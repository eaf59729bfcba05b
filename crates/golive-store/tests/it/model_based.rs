//! Model-based test: random batches of new and repeated events, with reopens in between,
//! against a plain reference model (a `BTreeMap` of seq -> event), compared after every step.

use std::collections::{BTreeMap, HashMap};

use crate::common::*;
use golive_model::{ChainHash, CollectorId, Envelope, EventId, GENESIS_HASH, chain_hash};
use golive_store::{Head, Outcome, Store};
use proptest::prelude::*;
use proptest::sample::Index;

#[derive(Debug, Clone)]
enum Item {
    /// A fresh event from collector `c` with this collector_seq.
    New { collector: u8, collector_seq: u64 },
    /// A repeat of an event generated before (earlier in this batch or any earlier batch).
    Again(Index),
}

#[derive(Debug, Clone)]
enum Op {
    Append(Vec<Item>),
    Reopen,
}

fn item() -> impl Strategy<Value = Item> {
    prop_oneof![
        3 => (0u8..3, 0u64..50).prop_map(|(collector, collector_seq)| Item::New { collector, collector_seq }),
        2 => any::<Index>().prop_map(Item::Again),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => prop::collection::vec(item(), 0..10).prop_map(Op::Append),
        1 => Just(Op::Reopen),
    ]
}

/// What the store should hold: the log as a BTreeMap, the id index, the head and receipts.
#[derive(Default)]
struct Model {
    log: BTreeMap<u64, EventId>,
    ids: HashMap<EventId, u64>,
    head_hash: Option<ChainHash>,
    collectors: BTreeMap<String, u64>,
    /// Every envelope ever generated, in generation order, so repeats are exact copies.
    generated: Vec<Envelope>,
}

impl Model {
    fn append(&mut self, e: &Envelope) -> Outcome {
        if let Some(&seq) = self.ids.get(&e.event_id) {
            return Outcome::Duplicate { seq };
        }
        let seq = self.log.len() as u64 + 1;
        let prev = self.head_hash.unwrap_or(GENESIS_HASH);
        self.head_hash = Some(chain_hash(&prev, seq, &e.canonical_bytes()));
        self.log.insert(seq, e.event_id);
        self.ids.insert(e.event_id, seq);
        let high = self
            .collectors
            .entry(e.collector.as_str().to_owned())
            .or_insert(0);
        *high = (*high).max(e.collector_seq);
        Outcome::Appended { seq }
    }

    fn head(&self) -> Head {
        Head {
            seq: self.log.len() as u64,
            hash: self.head_hash.unwrap_or(GENESIS_HASH),
        }
    }
}

fn check(store: &Store, model: &Model) {
    assert_eq!(store.head(), model.head());
    assert_eq!(store.len(), model.log.len() as u64);
    let log: BTreeMap<u64, EventId> = store
        .iter_from(1)
        .map(|r| {
            let r = r.expect("record reads");
            (r.seq, r.envelope.event_id)
        })
        .collect();
    assert_eq!(log, model.log);
    for (id, seq) in &model.ids {
        assert_eq!(store.seq_of(id).unwrap(), Some(*seq));
    }
    let collectors: BTreeMap<String, u64> = store
        .collectors()
        .unwrap()
        .into_iter()
        .map(|(CollectorId(c), high)| (c, high))
        .collect();
    assert_eq!(collectors, model.collectors);
    assert_eq!(store.verify_chain().expect("chain verifies"), model.head());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn store_matches_a_reference_model_under_appends_duplicates_and_reopens(
        ops in prop::collection::vec(op(), 1..12)
    ) {
        // Proves that for any sequence of batches (new events, repeats within and across
        // batches) and reopens, the store's outcomes, log, id index, head, chain and collector
        // receipts equal those of the reference model after every step.
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let mut model = Model::default();
        for op in ops {
            match op {
                Op::Reopen => {
                    drop(store);
                    store = Store::open(dir.path()).unwrap();
                }
                Op::Append(items) => {
                    let mut batch = Vec::new();
                    for it in items {
                        let e = match it {
                            Item::Again(ix) if !model.generated.is_empty() => {
                                model.generated[ix.index(model.generated.len())].clone()
                            }
                            Item::Again(_) => lost(model.generated.len() as u128 + 1, "RAL", "c0", 0),
                            Item::New { collector, collector_seq } => lost(
                                model.generated.len() as u128 + 1,
                                "RAL",
                                &format!("c{collector}"),
                                collector_seq,
                            ),
                        };
                        if !model.generated.iter().any(|g| g.event_id == e.event_id) {
                            model.generated.push(e.clone());
                        }
                        batch.push(incoming(e));
                    }
                    let expected: Vec<Outcome> =
                        batch.iter().map(|inc| model.append(&inc.envelope)).collect();
                    let got = store.append_batch(batch).unwrap();
                    prop_assert_eq!(got, expected);
                }
            }
            check(&store, &model);
        }
    }
}
