#!/usr/bin/env python3
"""Generates scenarios/london-2008.jsonl: the London Cerner Millennium go-lives of 2007-2009.

Run from anywhere:  python3 scenarios/gen_london_2008.py
The output is deterministic (no clock, no randomness): event ids are UUID v5 of a fixed name, so
regenerating gives byte-identical lines. Each line is already in the ledger's canonical form
(compact JSON, fields in the canonical order, defaulted fields written out), so a decoded event
re-encodes to exactly the line it came from. The modelling choices are explained in docs/EVENTS.md,
section "The London 2008 scenario".

Figures come from /work/shared/DOMAIN.md and carry the publication in `source.ref`. Events that
are invented for illustration carry source {"type": "manual", "ref": SYNTHETIC} and never money.
"""

import json
import os
import uuid

NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://golive-ledger.example/scenarios/london-2008")
SYNTHETIC = "SYNTHETIC: illustrative, not a published figure"
PROGRAMME = "London Programme for IT (NPfIT)"
SUPPLIER = "BT (local service provider), Cerner Millennium"

# Publications, exactly as DOMAIN.md names them.
EHI_RVL = "E-Health Insider / Computer Weekly reporting, 2008"
EHI_RNJ_GOLIVE = "E-Health Insider, 10 Apr 2008"
BBC_RNJ = "BBC News, 27 Jun 2008"
CW_RNJ_COST = "Computer Weekly, 1 Sep 2008"
EHI_RNJ_FORECAST = "E-Health Insider (digitalhealth.net), Sep 2008"
CW_RNJ_2009 = "Computer Weekly, 2009"
GUARDIAN_RNJ = "The Guardian, 28 Apr 2009"
EHI_RNJ_RTT = "E-Health Insider, Jul 2009"
HANSARD_RNJ = "Hansard via E-Health Insider, 27 Oct 2009"
HANSARD_RAL = "Hansard, 27 Feb 2009"
EHI_RAL_DEFICIT = "E-Health Insider, 5 Nov 2008"
EHI_RAL_RECOVERY = "E-Health Insider, Oct 2008; Hansard, 27 Feb 2009"
EHI_RAL_CEO = "E-Health Insider, Feb 2009"
EHI_PAUSE = "E-Health Insider, Oct 2008"
CW_RESUME = "Computer Weekly, 11 Feb 2009"
KINGSTON = "Computer Weekly, 11 Feb 2009; E-Health Insider, Mar 2009"


def pounds(p: float) -> int:
    """Pounds to integer pence, exactly (the figures have at most 3 decimals of a million)."""
    pence = round(p * 100)
    assert abs(pence - p * 100) < 1e-6, p
    return pence


def t(day: str, hh: int = 0) -> str:
    return f"{day}T{hh:02d}:00:00Z"


events = []  # (recorded_at, order, dict, key)


def event(key, trust, collector, kind, data, occurred, recorded, source, status="reported",
          site=None, supersedes=None):
    """One envelope with fields in canonical order. `key` names it for ids and supersedes."""
    assert recorded >= occurred, (key, occurred, recorded)
    e = {"event_id": str(uuid.uuid5(NAMESPACE, key)), "trust": trust}
    if site is not None:
        e["site"] = site
    e["collector"] = collector
    e["collector_seq"] = None  # assigned after sorting
    e["occurred_at"] = occurred
    e["recorded_at"] = recorded
    e["schema"] = 1
    e["kind"] = kind
    e["data"] = data
    stype, sref = source
    e["source"] = {"type": stype, "ref": sref}
    e["status"] = status
    if supersedes is not None:
        e["supersedes"] = str(uuid.uuid5(NAMESPACE, supersedes))
    events.append((recorded, len(events), e, key))
    return e


def press(ref):
    return ("press", ref)


def hansard(ref):
    # A written parliamentary answer: an official answer to a question, filed as `foi`.
    return ("foi", ref)


SYN = ("manual", SYNTHETIC)


def rollout(status, scope="trust", release=None, reason=None):
    d = {"programme": PROGRAMME, "supplier": SUPPLIER}
    if release is not None:
        d["release"] = release
    d["status"] = status
    d["scope"] = scope
    if reason is not None:
        d["reason"] = reason
    return d


def reporting(dataset, reason):
    return {"dataset": dataset, "reason": reason}


def discrepancy(pathway, records, unique, breaches=None):
    d = {"pathway": pathway, "records": records, "unique_patients": unique}
    if breaches is not None:
        d["breaches"] = breaches
    return d


def lost(ref, pathway, via):
    return {"patient_ref": ref, "pathway": pathway, "discovered_via": via}


def traced(ref, outcome, harm):
    return {"patient_ref": ref, "outcome": outcome, "harm": harm}


def harm_review(cases, **harm):
    counts = {h: harm.get(h, 0) for h in ("none", "low", "moderate", "severe", "death")}
    assert sum(counts.values()) <= cases
    return {"cases_reviewed": cases, "harm": counts}


def outage(scope, services, start, end, paper=True, major=False):
    d = {"scope": scope, "services": services, "start": start}
    if end is not None:
        d["end"] = end
    d["paper_fallback"] = paper
    d["major_incident"] = major
    return d


def incident(local_ref, harm, serious, state, description):
    return {"local_ref": local_ref, "harm": harm, "serious_incident": serious, "state": state,
            "description": description}


# ---------------------------------------------------------------------------------------------
# Barnet & Chase Farm (RVL): first London Cerner go-live, release R0, July 2007.
# ---------------------------------------------------------------------------------------------
event("rvl-golive-r0", "RVL", "rvl-board", "rollout_status",
      rollout("go_live", release="R0",
              reason="First London Cerner Millennium go-live (release R0), July 2007."),
      t("2007-07-01"), t("2007-07-01", 18), press(EHI_RVL))
event("rvl-rtt-suspended", "RVL", "rvl-board", "reporting_suspended",
      reporting("rtt", "Waiting-time data could not be produced after the R0 go-live "
                       "(July 2007 to January 2008)."),
      t("2007-07-01"), t("2007-08-01", 9), press(EHI_RVL))
event("rvl-rtt-resumed", "RVL", "rvl-board", "reporting_resumed",
      reporting("rtt", "First waiting-time data after the gap of July 2007 to January 2008."),
      t("2008-02-01"), t("2008-02-01", 12), press(EHI_RVL))
event("rvl-inpatient-breaches", "RVL", "rvl-board", "waiting_list_discrepancy",
      discrepancy("inpatient_26wk", 63, 63, 63),
      t("2008-02-01"), t("2008-02-01", 12), press(EHI_RVL))

# ---------------------------------------------------------------------------------------------
# Barts and The London (RNJ): live about 8 April 2008, release LC0.
# ---------------------------------------------------------------------------------------------
event("rnj-golive-lc0", "RNJ", "rnj-board", "rollout_status",
      rollout("go_live", release="LC0",
              reason="Cerner Millennium live about 8 April 2008 (release LC0); about 3.35m "
                     "records migrated."),
      t("2008-04-08"), t("2008-04-10", 12), press(EHI_RNJ_GOLIVE))

# June 2008 board: 11 suspected-cancer patients had urgent appointments postponed, attributed to
# wrongly migrated clinic data. Published as a count; the pseudonyms are minted here.
for i in range(1, 12):
    event(f"rnj-c2ww-{i:02d}", "RNJ", "rnj-board", "patient_lost",
          lost(f"RNJ-C2WW-{i:02d}", "cancer_2ww",
               "June 2008 board: urgent suspected-cancer appointment postponed, attributed to "
               "wrongly migrated clinic data (one of 11 patients)."),
          t("2008-06-01"), t("2008-06-27", 12), press(BBC_RNJ))

event("rnj-temp-staff-2008", "RNJ", "rnj-board", "extra_cost",
      {"category": "temporary_staff", "amount_pence": pounds(1_000_000),
       "description": "About £1m extra temporary staff after the go-live, paid from reserves."},
      t("2008-09-01"), t("2008-09-01", 12), press(CW_RNJ_COST), status="estimated")
event("rnj-income-shortfall-2008", "RNJ", "rnj-board", "income_at_risk",
      {"category": "unbilled", "amount_pence": pounds(1_500_000), "period": "2008-09"},
      t("2008-09-01"), t("2008-09-01", 12), press(CW_RNJ_COST))
# The year's forecast includes the shortfall so far: it replaces it rather than adds to it.
event("rnj-income-forecast-2008", "RNJ", "rnj-board", "income_at_risk",
      {"category": "unbilled", "amount_pence": pounds(3_000_000), "period": "2008-09"},
      t("2008-09-01"), t("2008-09-01", 13), press(EHI_RNJ_FORECAST), status="estimated",
      supersedes="rnj-income-shortfall-2008")

event("rnj-outpatient-breaches-2009-03", "RNJ", "rnj-board", "waiting_list_discrepancy",
      discrepancy("outpatient_13wk", 834, 834, 834),
      t("2009-03-31"), t("2009-04-15", 12), press(CW_RNJ_2009))
event("rnj-rtt-suspended-2009", "RNJ", "rnj-board", "reporting_suspended",
      reporting("rtt", "Monthly 18-week data stopped while the waiting list was validated; "
                       "suspended March to September 2009."),
      t("2009-03-01"), t("2009-04-28", 12), press(f"{GUARDIAN_RNJ}; {EHI_RNJ_RTT}"))
event("rnj-sui-2009-04", "RNJ", "rnj-board", "safety_incident",
      incident("RNJ-SUI-2009-04", "none", True, "open",
               "Serious untoward incident investigation into the 18-week waiting list; "
               "validation backlog over 2,000. local_ref is a scenario placeholder, not the "
               "trust's own reference; the harm level was not published and is recorded as "
               "none."),
      t("2009-04-28"), t("2009-04-28", 14), press(GUARDIAN_RNJ))
event("rnj-rtt-list-2009", "RNJ", "rnj-board", "waiting_list_discrepancy",
      discrepancy("rtt_18wk", 22_000, 14_000),
      t("2009-07-01"), t("2009-07-01", 12), press(CW_RNJ_2009))
event("rnj-rtt-resumed-2009", "RNJ", "rnj-board", "reporting_resumed",
      reporting("rtt", "18-week reporting suspended March to September 2009; resumption "
                       "expected after September 2009."),
      t("2009-09-30"), t("2009-10-01", 12), press(EHI_RNJ_RTT), status="estimated")
event("rnj-commissioner-fine-2009-10", "RNJ", "rnj-board", "contract_penalty",
      {"commissioner": "Commissioning PCTs (not named in the source)",
       "amount_pence": pounds(400_000), "period": "2009-10"},
      t("2009-10-27"), t("2009-10-27", 12), press(HANSARD_RNJ))

# ---------------------------------------------------------------------------------------------
# Royal Free Hampstead (RAL): first LC1 site, live 15 June 2008.
# ---------------------------------------------------------------------------------------------
event("ral-golive-lc1", "RAL", "ral-board", "rollout_status",
      rollout("go_live", release="LC1",
              reason="First LC1 site, live 15 June 2008. Deployment charge £4.676m plus "
                     "£33,644 a month is the contract price, not a go-live harm, and is not "
                     "recorded as a cost."),
      t("2008-06-15"), t("2008-06-15", 18), hansard(HANSARD_RAL))
# £7.2m deficit mainly attributed to the system. Only the attributed parts are events; their sum
# is £6.289m, the rest of the deficit is not attributed.
event("ral-lost-activity-2008", "RAL", "ral-board", "income_at_risk",
      {"category": "lost_activity", "amount_pence": pounds(1_300_000), "period": "2008-11"},
      t("2008-11-05"), t("2008-11-05", 12), press(EHI_RAL_DEFICIT))
event("ral-correctable-2008", "RAL", "ral-board", "income_at_risk",
      {"category": "correctable_data_entry", "amount_pence": pounds(3_789_000),
       "period": "2008-11"},
      t("2008-11-05"), t("2008-11-05", 12), press(EHI_RAL_DEFICIT))
event("ral-extra-staff-2008", "RAL", "ral-board", "extra_cost",
      {"category": "temporary_staff", "amount_pence": pounds(1_200_000),
       "description": "£1.2m extra staff, part of the £7.2m deficit attributed to the system."},
      t("2008-11-05"), t("2008-11-05", 12), press(EHI_RAL_DEFICIT))
event("ral-fit-to-deploy", "RAL", "ral-board", "rollout_status",
      rollout("fit_to_deploy", release="LC1",
              reason="90-day recovery plan for 22 problems, from 6 October 2008, completed; "
                     "LC1 declared fit to deploy elsewhere at the end of January 2009."),
      t("2009-01-31"), t("2009-02-01", 12), hansard(EHI_RAL_RECOVERY))
# February 2009: the chief executive's total of £10m (£4m extra spend, £6m lost revenue) replaces
# the November figures, so nothing is counted twice.
event("ral-extra-spend-2009", "RAL", "ral-board", "extra_cost",
      {"category": "other", "amount_pence": pounds(4_000_000),
       "description": "Chief executive: £4m extra spend to date, including 40 extra admin "
                      "staff; outpatient bookings took four times as long. Replaces the "
                      "November 2008 figure of £1.2m extra staff."},
      t("2009-02-01"), t("2009-02-01", 13), press(EHI_RAL_CEO),
      supersedes="ral-extra-staff-2008")
event("ral-lost-revenue-2009", "RAL", "ral-board", "income_at_risk",
      {"category": "lost_activity", "amount_pence": pounds(6_000_000), "period": "2009-02"},
      t("2009-02-01"), t("2009-02-01", 13), press(EHI_RAL_CEO),
      supersedes="ral-lost-activity-2008")
event("ral-correctable-folded-2009", "RAL", "ral-board", "income_at_risk",
      {"category": "correctable_data_entry", "amount_pence": 0, "period": "2009-02"},
      t("2009-02-01"), t("2009-02-01", 13), press(EHI_RAL_CEO), status="estimated",
      supersedes="ral-correctable-2008")

# ---------------------------------------------------------------------------------------------
# The programme (published under NHS London, the strategic health authority, ODS Q36).
# ---------------------------------------------------------------------------------------------
event("programme-paused-2008-10", "Q36", "q36-programme", "rollout_status",
      rollout("paused", scope="programme",
              reason="All London care-records deployments suspended. Trusts already live "
                     "(RVL, RNJ, RAL) stay live; no new go-lives."),
      t("2008-10-01"), t("2008-10-01", 12), press(EHI_PAUSE))
event("programme-resumed-2009-02", "Q36", "q36-programme", "rollout_status",
      rollout("resumed", scope="programme", reason="BT to resume the London roll-out."),
      t("2009-02-11"), t("2009-02-11", 12), press(CW_RESUME))
event("rax-planned-2009", "RAX", "rax-board", "rollout_status",
      rollout("planned", reason="Next London go-live, moved to autumn 2009."),
      t("2009-03-01"), t("2009-03-01", 12), press(KINGSTON))
event("rax-golive-deferred-2009", "RAX", "rax-board", "feature_deferred",
      {"feature": "Cerner Millennium go-live at Kingston",
       "reason": "London deployments paused from October 2008 until BT resumed the roll-out "
                 "on 11 February 2009; the go-live moved to autumn 2009."},
      t("2009-03-01"), t("2009-03-01", 12), press(KINGSTON))

# ---------------------------------------------------------------------------------------------
# SYNTHETIC per-patient events, reviews, outages and incidents. Illustrative only: none is a
# published fact, none carries money.
# ---------------------------------------------------------------------------------------------
RNJ_SITES = ["The Royal London Hospital", "St Bartholomew's Hospital"]
# (ref number, pathway, lost day, traced day or None, outcome, harm)
RNJ_PATIENTS = [
    (1, "rtt_18wk", "2008-05-12", "2008-06-02", "still_waiting", "none"),
    (2, "rtt_18wk", "2008-05-19", "2008-05-30", "duplicate_record", "none"),
    (3, "follow_up", "2008-06-09", "2008-07-21", "still_waiting", "low"),
    (4, "outpatient_13wk", "2008-07-07", "2008-07-28", "already_treated", "none"),
    (5, "follow_up", "2008-08-04", "2008-10-13", "still_waiting", "moderate"),
    (6, "diagnostic_6wk", "2008-09-15", "2008-09-29", "discharged", "none"),
    (7, "rtt_18wk", "2009-03-09", "2009-04-20", "already_treated", "none"),
    (8, "rtt_18wk", "2009-03-16", "2009-05-11", "duplicate_record", "none"),
    (9, "rtt_18wk", "2009-04-06", "2009-06-22", "still_waiting", "low"),
    (10, "follow_up", "2009-04-27", None, None, None),
    (11, "rtt_18wk", "2009-05-18", "2009-08-03", "still_waiting", "none"),
    (12, "inpatient_26wk", "2009-06-08", None, None, None),
]
for n, pathway, lost_day, traced_day, outcome, harm in RNJ_PATIENTS:
    ref = f"RNJ-SYN-{n:04d}"
    site = RNJ_SITES[n % 2]
    event(f"rnj-syn-lost-{n:04d}", "RNJ", "rnj-pas", "patient_lost",
          lost(ref, pathway, "Waiting-list validation after the LC0 migration"),
          t(lost_day, 9), t(lost_day, 17), SYN, site=site)
    if traced_day:
        event(f"rnj-syn-traced-{n:04d}", "RNJ", "rnj-pas", "patient_traced",
              traced(ref, outcome, harm), t(traced_day, 10), t(traced_day, 17), SYN, site=site)
event("rnj-syn-review-2008", "RNJ", "rnj-harm", "harm_review",
      harm_review(6, none=4, low=1, moderate=1),
      t("2008-10-31"), t("2008-11-03", 9), SYN)
event("rnj-syn-review-2009", "RNJ", "rnj-harm", "harm_review",
      harm_review(4, none=3, low=1),
      t("2009-08-31"), t("2009-09-01", 9), SYN)
event("rnj-syn-outage-2008-04", "RNJ", "rnj-pas", "outage",
      outage("Cerner Millennium", ["outpatient booking", "clinic lists"],
             t("2008-04-14", 8), "2008-04-14T13:30:00Z"),
      t("2008-04-14", 8), t("2008-04-14", 14), SYN, site=RNJ_SITES[0])
event("rnj-syn-outage-2008-06", "RNJ", "rnj-pas", "outage",
      outage("trust", ["patient administration", "order communications", "results reporting"],
             t("2008-06-21", 2), "2008-06-21T09:45:00Z", major=True),
      t("2008-06-21", 2), t("2008-06-21", 10), SYN)
event("rnj-syn-incident-0001", "RNJ", "rnj-datix", "safety_incident",
      incident("RNJ-DATIX-SYN-0001", "moderate", False, "open",
               "Follow-up appointment lost in migration; patient seen late (RNJ-SYN-0005)."),
      t("2008-10-13", 11), t("2008-10-13", 16), SYN)
event("rnj-syn-incident-0001-closed", "RNJ", "rnj-datix", "safety_incident",
      incident("RNJ-DATIX-SYN-0001", "moderate", False, "closed",
               "Follow-up appointment lost in migration; patient seen late (RNJ-SYN-0005). "
               "Investigation closed."),
      t("2008-12-15", 11), t("2008-12-15", 16), SYN, supersedes="rnj-syn-incident-0001")

RAL_PATIENTS = [
    (1, "outpatient_13wk", "2008-07-02", "2008-07-16", "still_waiting", "none"),
    (2, "rtt_18wk", "2008-07-23", "2008-08-06", "duplicate_record", "none"),
    (3, "follow_up", "2008-08-13", "2008-10-22", "still_waiting", "low"),
    (4, "rtt_18wk", "2008-09-10", "2008-11-19", "already_treated", "none"),
    (5, "cancer_2ww", "2008-10-08", "2008-10-10", "still_waiting", "none"),
    (6, "follow_up", "2008-11-12", None, None, None),
]
for n, pathway, lost_day, traced_day, outcome, harm in RAL_PATIENTS:
    ref = f"RAL-SYN-{n:04d}"
    event(f"ral-syn-lost-{n:04d}", "RAL", "ral-pas", "patient_lost",
          lost(ref, pathway, "Outpatient booking backlog after the LC1 go-live"),
          t(lost_day, 9), t(lost_day, 17), SYN, site="Royal Free Hospital")
    if traced_day:
        event(f"ral-syn-traced-{n:04d}", "RAL", "ral-pas", "patient_traced",
              traced(ref, outcome, harm), t(traced_day, 10), t(traced_day, 17), SYN,
              site="Royal Free Hospital")
event("ral-syn-review-2009", "RAL", "ral-harm", "harm_review",
      harm_review(5, none=4, low=1), t("2009-01-30"), t("2009-02-02", 9), SYN)
event("ral-syn-outage-2008-06", "RAL", "ral-pas", "outage",
      outage("Cerner Millennium", ["outpatient booking"], t("2008-06-17", 8),
             "2008-06-17T11:00:00Z"),
      t("2008-06-17", 8), t("2008-06-17", 12), SYN, site="Royal Free Hospital")
event("ral-syn-outage-2008-09", "RAL", "ral-pas", "outage",
      outage("trust", ["patient administration", "emergency department"], t("2008-09-03", 19),
             None, major=True),
      t("2008-09-03", 19), t("2008-09-03", 20), SYN)
# The same outage, now ended: a correction replacing the open record.
event("ral-syn-outage-2008-09-ended", "RAL", "ral-pas", "outage",
      outage("trust", ["patient administration", "emergency department"], t("2008-09-03", 19),
             "2008-09-04T01:30:00Z", major=True),
      t("2008-09-03", 19), t("2008-09-04", 2), SYN, supersedes="ral-syn-outage-2008-09")
event("ral-syn-incident-0001", "RAL", "ral-datix", "safety_incident",
      incident("RAL-DATIX-SYN-0001", "low", False, "open",
               "Follow-up booking lost after the go-live; patient seen late (RAL-SYN-0003)."),
      t("2008-10-22", 11), t("2008-10-22", 16), SYN)

RVL_PATIENTS = [
    (1, "inpatient_26wk", "2007-09-04", "2008-02-12", "still_waiting", "low"),
    (2, "inpatient_26wk", "2007-10-15", "2008-02-19", "already_treated", "none"),
    (3, "outpatient_13wk", "2007-11-05", "2008-01-14", "duplicate_record", "none"),
    (4, "follow_up", "2007-12-03", None, None, None),
]
RVL_SITES = ["Barnet Hospital", "Chase Farm Hospital"]
for n, pathway, lost_day, traced_day, outcome, harm in RVL_PATIENTS:
    ref = f"RVL-SYN-{n:04d}"
    site = RVL_SITES[n % 2]
    event(f"rvl-syn-lost-{n:04d}", "RVL", "rvl-pas", "patient_lost",
          lost(ref, pathway, "Waiting-list rebuild after the R0 go-live"),
          t(lost_day, 9), t(lost_day, 17), SYN, site=site)
    if traced_day:
        event(f"rvl-syn-traced-{n:04d}", "RVL", "rvl-pas", "patient_traced",
              traced(ref, outcome, harm), t(traced_day, 10), t(traced_day, 17), SYN, site=site)
event("rvl-syn-review-2008", "RVL", "rvl-harm", "harm_review",
      harm_review(3, none=2, low=1), t("2008-02-29"), t("2008-03-03", 9), SYN)


def main():
    # File order: by recorded_at (the order a live ledger would have received them), ties in
    # the order written above. collector_seq then counts up per collector in file order.
    ordered = sorted(events, key=lambda x: (x[0], x[1]))
    seqs = {}
    ids = set()
    keys = {}
    lines = []
    for _, _, e, key in ordered:
        seqs[e["collector"]] = seqs.get(e["collector"], 0) + 1
        e["collector_seq"] = seqs[e["collector"]]
        assert e["event_id"] not in ids, key
        ids.add(e["event_id"])
        keys[e["event_id"]] = e
        if "supersedes" in e:
            old = keys[e["supersedes"]]  # must come earlier in the file
            assert old["trust"] == e["trust"] and old["kind"] == e["kind"], key
        lines.append(json.dumps(e, ensure_ascii=False, separators=(",", ":")))
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "london-2008.jsonl")
    with open(out, "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {len(lines)} events to {out}")


if __name__ == "__main__":
    main()
