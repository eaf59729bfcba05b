//! The evidence behind each trust's figures: per figure group (`money`, `lost`, `rollout`,
//! `incidents`, routed by [`Part`]), the distinct sources its events cite with how many events
//! cite each, and the `relates_to` links its events carry. A group is `disputed` when one of its
//! events disputes another event, or is disputed by one (of any trust).
//!
//! Only counts and links are kept, so a correction removes exactly what the superseded event
//! added: its citations are uncounted (a source no event cites any more disappears), its link
//! and its membership of the group are dropped. Deferred features and rosters carry no figures
//! and are not tracked.

use std::collections::{BTreeMap, BTreeSet};

use golive_model::{Envelope, EventBody, EventId, Kind, Relation, SourceType};
use serde::{Deserialize, Serialize};

use crate::Part;

/// A source as cited: its type, reference and link (`published_at` is not part of its identity).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
struct SourceKey {
    source_type: SourceType,
    reference: String,
    url: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct LinkFact {
    kind: Kind,
    relates_to: EventId,
    relation: Relation,
}

/// What the events of one figure group contributed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct GroupState {
    /// Events citing each source.
    sources: BTreeMap<SourceKey, u64>,
    /// The group's events, each with how many times it was folded in.
    events: BTreeMap<EventId, u64>,
    /// The links the group's events carry, by the linking event.
    links: BTreeMap<EventId, LinkFact>,
}

/// Per trust: the four figure groups.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct EvidenceState {
    money: GroupState,
    lost: GroupState,
    rollout: GroupState,
    incidents: GroupState,
}

#[derive(Clone, Copy)]
enum Direction {
    Add,
    Remove,
}

/// Adds `n` to a count, or subtracts it and drops the entry at zero.
fn count<K: Ord>(map: &mut BTreeMap<K, u64>, key: K, d: Direction) {
    match d {
        Direction::Add => *map.entry(key).or_default() += 1,
        Direction::Remove => {
            if let Some(n) = map.get_mut(&key) {
                *n -= 1;
                if *n == 0 {
                    map.remove(&key);
                }
            }
        }
    }
}

impl EvidenceState {
    /// The events that make up the trust's money figures.
    pub(crate) fn money_events(&self) -> Vec<EventId> {
        self.money.events.keys().copied().collect()
    }

    /// The events that make up the trust's lost-patient figures.
    pub(crate) fn lost_events(&self) -> Vec<EventId> {
        self.lost.events.keys().copied().collect()
    }

    /// The links of the trust's events that name `id`, by linking event.
    pub(crate) fn links_to<'a>(
        &'a self,
        id: &'a EventId,
    ) -> impl Iterator<Item = EvidenceLink> + 'a {
        self.groups()
            .into_iter()
            .flat_map(|g| g.links.iter())
            .filter(move |(_, l)| l.relates_to == *id)
            .map(|(linking, l)| EvidenceLink {
                event_id: *linking,
                relates_to: l.relates_to,
                relation: l.relation,
                kind: l.kind,
            })
    }

    pub(crate) fn add(&mut self, e: &Envelope) {
        self.change(e, Direction::Add);
    }

    pub(crate) fn remove(&mut self, e: &Envelope) {
        self.change(e, Direction::Remove);
    }

    fn group_mut(&mut self, body: &EventBody) -> Option<&mut GroupState> {
        match Part::of(body) {
            Part::Money => Some(&mut self.money),
            Part::Lost => Some(&mut self.lost),
            Part::Rollout => Some(&mut self.rollout),
            Part::Incidents => Some(&mut self.incidents),
            Part::Deferred | Part::Claims | Part::Recovery | Part::Keys => None,
        }
    }

    fn change(&mut self, e: &Envelope, d: Direction) {
        // A programme-scope status is about the programme, but it is still the reporting
        // trust's rollout evidence.
        let Some(g) = self.group_mut(&e.body) else {
            return;
        };
        let cited: BTreeSet<SourceKey> = e
            .sources
            .iter()
            .map(|s| SourceKey {
                source_type: s.source_type,
                reference: s.reference.clone(),
                url: s.url.clone(),
            })
            .collect();
        for key in cited {
            count(&mut g.sources, key, d);
        }
        count(&mut g.events, e.event_id, d);
        if let Some(r) = &e.relates_to {
            match d {
                Direction::Add => {
                    g.links.insert(
                        e.event_id,
                        LinkFact {
                            kind: e.kind(),
                            relates_to: r.event_id,
                            relation: r.relation,
                        },
                    );
                }
                Direction::Remove => {
                    g.links.remove(&e.event_id);
                }
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvidenceSource {
    #[serde(rename = "type")]
    pub source_type: SourceType,
    #[serde(rename = "ref")]
    pub reference: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Events of the group citing it.
    pub events: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvidenceLink {
    /// The linking event.
    pub event_id: EventId,
    /// The event it names.
    pub relates_to: EventId,
    pub relation: Relation,
    /// The linking event's kind.
    pub kind: Kind,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FigureEvidence {
    /// In (type, ref, url) order.
    pub sources: Vec<EvidenceSource>,
    pub disputed: bool,
    /// In linking-event id order.
    pub links: Vec<EvidenceLink>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TrustEvidence {
    pub money: FigureEvidence,
    pub lost: FigureEvidence,
    pub rollout: FigureEvidence,
    pub incidents: FigureEvidence,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EvidenceView {
    pub trusts: BTreeMap<String, TrustEvidence>,
}

impl EvidenceState {
    fn groups(&self) -> [&GroupState; 4] {
        [&self.money, &self.lost, &self.rollout, &self.incidents]
    }
}

/// `all` is every trust (a dispute may name an event of another trust); `selected` the trusts
/// shown.
pub(crate) fn view<'a>(
    all: impl Iterator<Item = &'a EvidenceState>,
    selected: impl Iterator<Item = (&'a str, &'a EvidenceState)>,
) -> EvidenceView {
    let disputed_targets: BTreeSet<EventId> = all
        .flat_map(|s| s.groups())
        .flat_map(|g| g.links.values())
        .filter(|l| l.relation == Relation::Disputes)
        .map(|l| l.relates_to)
        .collect();
    let group = |g: &GroupState| FigureEvidence {
        sources: g
            .sources
            .iter()
            .map(|(k, n)| EvidenceSource {
                source_type: k.source_type,
                reference: k.reference.clone(),
                url: k.url.clone(),
                events: *n,
            })
            .collect(),
        disputed: g.links.values().any(|l| l.relation == Relation::Disputes)
            || g.events.keys().any(|id| disputed_targets.contains(id)),
        links: g
            .links
            .iter()
            .map(|(id, l)| EvidenceLink {
                event_id: *id,
                relates_to: l.relates_to,
                relation: l.relation,
                kind: l.kind,
            })
            .collect(),
    };
    let trusts = selected
        .map(|(code, s)| {
            let t = TrustEvidence {
                money: group(&s.money),
                lost: group(&s.lost),
                rollout: group(&s.rollout),
                incidents: group(&s.incidents),
            };
            (code.to_string(), t)
        })
        .collect();
    EvidenceView { trusts }
}

#[cfg(test)]
mod tests {
    use golive_model::{CostCategory, Kind, Pathway, RelatesTo, Relation, Source, SourceType};

    use crate::testkit::*;
    use crate::*;

    fn citing(mut e: Envelope, refs: &[&str]) -> Envelope {
        e.sources = refs
            .iter()
            .map(|r| Source {
                source_type: SourceType::Press,
                reference: (*r).to_owned(),
                published_at: None,
                url: Some(format!("https://example.org/{r}")),
            })
            .collect();
        e
    }

    fn linked(mut e: Envelope, to: u64, relation: Relation) -> Envelope {
        e.relates_to = Some(RelatesTo {
            event_id: id(to),
            relation,
        });
        e
    }

    fn refs(f: &FigureEvidence) -> Vec<(&str, u64)> {
        f.sources
            .iter()
            .map(|s| (s.reference.as_str(), s.events))
            .collect()
    }

    #[test]
    fn sources_are_counted_per_group_and_disputes_mark_both_sides() {
        // Proves sources are counted per figure group (an event citing one twice counts once),
        // a dispute marks the disputing group and the disputed one (of another trust too), a
        // corroboration marks nothing, and a correction removes exactly what it added.
        let a = ev(
            1,
            "RAL",
            "2008-06-16",
            cost(CostCategory::TemporaryStaff, 100),
        );
        let b = ev(
            2,
            "RAL",
            "2008-06-17",
            cost(CostCategory::TemporaryStaff, 200),
        );
        let c = ev(
            3,
            "RVL",
            "2008-06-18",
            cost(CostCategory::TemporaryStaff, 300),
        );
        let d = ev(4, "RAL", "2008-06-19", lost("P1", Pathway::Rtt18wk));
        let events = [
            citing(a, &["HSJ", "HSJ"]),
            linked(citing(b, &["HSJ", "Board"]), 1, Relation::Corroborates),
            linked(citing(c, &["CW"]), 2, Relation::Disputes),
            citing(d, &["FOI"]),
        ];
        let p = given(events.clone());
        let v = p.evidence(None);
        let (ral, rvl) = (&v.trusts["RAL"], &v.trusts["RVL"]);
        assert_eq!(refs(&ral.money), [("Board", 1), ("HSJ", 2)]);
        assert_eq!(
            ral.money.sources[0].url.as_deref(),
            Some("https://example.org/Board")
        );
        assert_eq!(refs(&ral.lost), [("FOI", 1)]);
        assert!(ral.money.disputed, "disputed by RVL's event 3");
        assert!(rvl.money.disputed, "disputes event 2");
        assert!(!ral.lost.disputed);
        assert_eq!(ral.money.links.len(), 1);
        assert_eq!(ral.money.links[0].event_id, id(2));
        assert_eq!(ral.money.links[0].relates_to, id(1));
        assert_eq!(ral.money.links[0].relation, Relation::Corroborates);
        assert_eq!(ral.money.links[0].kind, Kind::ExtraCost);
        assert_eq!(
            json(&p.evidence(Some(&ods("RVL")))),
            serde_json::json!({"trusts": {"RVL": json(rvl)}})
        );

        // Correcting the dispute (no link, no sources of its own now) clears both badges and
        // RVL's citation of CW; correcting event 2 drops its link and one HSJ citation.
        let fix_c = ev(
            5,
            "RVL",
            "2008-06-18",
            cost(CostCategory::TemporaryStaff, 300),
        );
        let fix_b = ev(
            6,
            "RAL",
            "2008-06-17",
            cost(CostCategory::TemporaryStaff, 200),
        );
        let mut all = events.to_vec();
        all.push(correcting(fix_c.clone(), 3));
        all.push(correcting(fix_b.clone(), 2));
        let q = given(all).evidence(None);
        let without = given([events[0].clone(), events[3].clone(), fix_c, fix_b]).evidence(None);
        assert_eq!(q, without);
        assert!(!q.trusts["RAL"].money.disputed && !q.trusts["RVL"].money.disputed);
        assert_eq!(
            refs(&q.trusts["RAL"].money),
            [("HSJ", 1), ("golive-testkit", 1)]
        );
        assert!(q.trusts["RAL"].money.links.is_empty());
    }

    fn json<T: serde::Serialize>(v: &T) -> serde_json::Value {
        serde_json::to_value(v).unwrap()
    }
}
