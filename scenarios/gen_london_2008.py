#!/usr/bin/env python3
"""Generates scenarios/london-2008.jsonl: the London Cerner Millennium go-lives of 2007-2009 and
the Barnet & Chase Farm harm review of 2015, in envelope schema 2.

Run from anywhere:  python3 scenarios/gen_london_2008.py
The output is deterministic (no clock, no randomness): event ids are UUID v5 of a fixed name, so
regenerating gives byte-identical lines. Each line is already in the ledger's canonical form
(compact JSON, fields in the canonical order, optional fields absent when not set, `status`
always written), so a decoded event re-encodes to exactly the line it came from. The modelling
choices are explained in docs/EVENTS.md, section "The London 2008 scenario".

Figures come from /work/shared/DOMAIN.md (including its "Second review of the sources") and name
their publications in `sources`. Dates:
- `recorded_at` is the day the earliest cited source made the fact public, at 12:00Z. When only
  the month of publication is known, the LAST day of that month (only the year: 31 December), so
  the ledger never claims something was known earlier than it could have been.
- `occurred_at` is when it happened (never after `recorded_at`); a month alone is its first day.
Events invented for illustration carry the one source {"type": "synthetic", "ref": SYNTHETIC}
and never money.
"""

import calendar
import datetime
import json
import os
import uuid

NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://golive-ledger.example/scenarios/london-2008")
SYNTHETIC = "SYNTHETIC: illustrative, not a published figure"
PROGRAMME = "London Programme for IT (NPfIT)"
SUPPLIER = "BT (local service provider), Cerner Millennium"

# Who attributes a published figure to the system (the envelope's `attribution`).
BY_BARTS_BOARD = "Barts and The London NHS Trust board"
BY_ROYAL_FREE = "Royal Free Hampstead NHS Trust"
BY_ROYAL_FREE_LONDON = "Royal Free London NHS Foundation Trust"
BY_BACON = "Richard Bacon MP"


def source(stype, ref, published_at=None, url=None):
    """One entry of `sources`, fields in canonical order. `published_at` only when the exact day
    is known; `url` only when it is known for certain (read from the published page)."""
    s = {"type": stype, "ref": ref}
    if published_at is not None:
        s["published_at"] = published_at
    if url is not None:
        s["url"] = url
    return s


def press(ref, published_at=None, url=None):
    return source("press", ref, published_at, url)


def written_answer(ref, published_at, url=None):
    # A Hansard written answer: the government's account.
    return source("parliament_answer", ref, published_at, url)


def commons_debate(ref, published_at, url=None):
    # An MP's statement in a Commons debate: an allegation.
    return source("parliament_debate", ref, published_at, url)


SYN = [source("synthetic", SYNTHETIC)]

# ---------------------------------------------------------------------------------------------
# Publications. `ref` names each as published: outlet, "title" where known, date (as precise as
# known). Titles and addresses beyond DOMAIN.md's were read from the published pages.
# ---------------------------------------------------------------------------------------------
EHI_RVL_SWITCH_ON = press(
    'E-Health Insider, "Barnet and Chase Farm switch on Cerner", Aug 2007',
    url="https://www.digitalhealth.net/2007/08/barnet-and-chase-farm-switch-on-cerner/")
EHI_CW_RVL_2008 = press("E-Health Insider / Computer Weekly reporting, 2008")
HANSARD_NHS_ICT = written_answer(
    'Hansard, House of Commons written answer, "NHS: ICT", 6 Mar 2008', "2008-03-06",
    "https://hansard.parliament.uk/Commons/2008-03-06/debates/08030672000048/NHSICT")
EHI_RNJ_GOLIVE = press('E-Health Insider, "Barts and The London deny CRS crash report", 10 Apr 2008',
                       "2008-04-10")
BBC_RNJ = press('BBC News, "NHS IT mess hits cancer patients", 27 Jun 2008', "2008-06-27",
                "http://news.bbc.co.uk/1/hi/health/7477099.stm")
EHI_RNJ_CANCER = press("E-Health Insider (date not recorded)")
CW_RNJ_COST = press(
    'Computer Weekly, "Barts underestimated impact of IT system", 1 Sep 2008', "2008-09-01",
    "https://www.computerweekly.com/news/2240086771/Barts-underestimated-impact-of-IT-system")
CW_RNJ_BLOG = press(
    'Computer Weekly IT Projects blog, "Barts - we underestimated impact of NPfIT go-live"',
    url="https://www.computerweekly.com/blog/Public-Sector-IT/"
        "Barts-we-underestimated-impact-of-NPfIT-go-live")
EHI_RNJ_FORECAST = press(
    'E-Health Insider (digitalhealth.net), "CRS problems cost Barts and the London £3m", Sep 2008')
POLITICS_PAUSE = press("politics.co.uk, \"NHS IT system 'grinding to a halt'\", 28 Oct 2008",
                       "2008-10-28")
TELEGRAPH_PAUSE = press("The Telegraph, Oct 2008")
COMPUTING_PAUSE = press('Computing, "NHS care record rollout grinds to a halt", Oct 2008',
                        url="https://www.computing.co.uk/news/1831629/nhs-care-record-rollout-grinds-halt")
EHI_PAUSE = press("E-Health Insider, Oct 2008")
EHI_RAL_DEFICIT = press(
    'E-Health Insider, "Royal Free says £7.2m deficit due to Cerner", 5 Nov 2008', "2008-11-05",
    "https://digitalhealth.net/2008/11/royal-free-says-7-2m-deficit-due-to-cerner")
IDG_RAL = press('Computerworld (IDG), "London hospital trust loses millions in upgrade debacle", '
                'Nov 2008')
COMPUTING_RAL = press('Computing, "NHS IT programme costs London hospital £7.2m"',
                      url="https://www.computing.co.uk/news/1840141/"
                          "nhs-it-programme-costs-london-hospital-gbp72m")
CW_RESUME = press(
    'Computer Weekly, "BT to resume roll out of Cerner Millennium system", 11 Feb 2009',
    "2009-02-11",
    "http://www.computerweekly.com/news/2240088343/BT-to-resume-roll-out-of-Cerner-Millennium-system")
CW_RESUME_BLOG = press(
    'Computer Weekly, "BT relief as NPfIT roll-outs in London due to resume", Feb 2009',
    url="https://www.computerweekly.com/blog/Public-Sector-IT/"
        "BT-relief-as-NPfIT-roll-outs-in-London-due-to-resume")
CNJ_RAL = press('Camden New Journal, "Hospital chief apologises over computer chaos", 19 Feb 2009',
                "2009-02-19", "http://thecnj.myzen.co.uk/camden/2009/021909/news021909_12.html")
EHI_RAL_CEO = press('E-Health Insider, "Royal Free boss says CRS problems cost £10m", Feb 2009',
                    url="https://www.digitalhealth.net/2009/02/royal-free-boss-says-crs-problems-cost-10m/")
EHI_RAL_PLAN = press("E-Health Insider, Oct 2008 (the Royal Free's 90-day recovery plan)")
EHI_RAL_FIXES = press('E-Health Insider, "March before Royal Free CRS fixes assessed", 10 Feb 2009',
                      "2009-02-10")
HANSARD_RAL = written_answer(
    'Hansard, House of Commons written answer, "Royal Free Hospital: Medical Records", 27 Feb 2009',
    "2009-02-27",
    "https://hansard.parliament.uk/Commons/2009-02-27/debates/09022737000157/"
    "RoyalFreeHospitalMedicalRecords")
EHI_KINGSTON = press(
    'E-Health Insider, "Next London Cerner go-live delayed until autumn", Mar 2009',
    url="https://www.digitalhealth.net/2009/03/next-london-cerner-go-live-delayed-until-autumn/")
GUARDIAN_RNJ = press(
    'The Guardian, "London trusts in chaos as NHS IT system \'loses\' waiting lists", 28 Apr 2009',
    "2009-04-28", "https://www.theguardian.com/society/2009/apr/28/nhs-it-cerner-computers-hospitals")
EHI_RNJ_RTT = press('E-Health Insider, "Barts still stuck on 18-week waits", Jul 2009')
CW_RNJ_2009 = press("Computer Weekly, 2009")
BACON_DEBATE = commons_debate("Richard Bacon MP, House of Commons, 22 Oct 2009", "2009-10-22")
EHI_RNJ_FINES = press('E-Health Insider, "Barts faces fines over Cerner problems", 27 Oct 2009',
                      "2009-10-27",
                      "https://digitalhealth.net/2009/10/barts-faces-fines-over-cerner-problems")
HSJ_RVL_2015 = press(
    'HSJ, "Patients suffer harm due to treatment delays", Mar 2015',
    url="https://www.hsj.co.uk/royal-free-london-nhs-foundation-trust/"
        "patients-suffer-harm-due-to-treatment-delays/5083973.article")
CW_RVL_2015 = press("Computer Weekly, reporting Joan Ryan MP, 2015")


def pounds(p: float) -> int:
    """Pounds to integer pence, exactly (the figures have at most 3 decimals of a million)."""
    pence = round(p * 100)
    assert abs(pence - p * 100) < 1e-6, p
    return pence


def t(day: str, hh: int = 0) -> str:
    return f"{day}T{hh:02d}:00:00Z"


def published(day: str) -> str:
    """recorded_at of a fact first published on `day`: that day at 12:00Z."""
    return t(day, 12)


def end_of_month(month: str) -> str:
    """recorded_at of a fact whose source gives only the month `YYYY-MM`: its LAST day, 12:00Z."""
    y, m = (int(x) for x in month.split("-"))
    return t(f"{month}-{calendar.monthrange(y, m)[1]:02d}", 12)


def end_of_year(year: str) -> str:
    """recorded_at of a fact whose source gives only the year: 31 December, 12:00Z."""
    return t(f"{year}-12-31", 12)


def eid(key):
    return str(uuid.uuid5(NAMESPACE, key))


events = []  # (recorded_at, order, dict, key)


def event(key, trust, collector, kind, data, occurred, recorded, sources, status="reported",
          site=None, supersedes=None, relates_to=None, attribution=None):
    """One envelope with fields in canonical order. `key` names it for ids and links.
    `relates_to` is (key, relation); `attribution` is (by, stance)."""
    assert recorded >= occurred, (key, occurred, recorded)
    assert 1 <= len(sources) <= 8, key
    e = {"event_id": eid(key), "trust": trust}
    if site is not None:
        e["site"] = site
    e["collector"] = collector
    e["collector_seq"] = None  # assigned after sorting
    e["occurred_at"] = occurred
    e["recorded_at"] = recorded
    e["schema"] = 2
    e["kind"] = kind
    e["data"] = data
    e["sources"] = sources
    e["status"] = status
    if supersedes is not None:
        e["supersedes"] = eid(supersedes)
    if relates_to is not None:
        target, relation = relates_to
        assert target != key, key
        e["relates_to"] = {"event_id": eid(target), "relation": relation}
    if attribution is not None:
        by, stance = attribution
        e["attribution"] = {"by": by, "stance": stance}
    events.append((recorded, len(events), e, key))
    return e


def rollout(status, scope="trust", release=None, reason=None):
    d = {"programme": PROGRAMME, "supplier": SUPPLIER}
    if release is not None:
        d["release"] = release
    d["status"] = status
    d["scope"] = scope
    if reason is not None:
        d["reason"] = reason
    return d


def roster(trusts, reason=None):
    assert len(set(trusts)) == len(trusts)
    d = {"programme": PROGRAMME, "trusts": trusts}
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


def harm_review(cases, assessment=None, **harm):
    # The five graded counts are always written (as in schema 1); `unknown` (not yet graded) is
    # never used here, so it is left out.
    counts = {h: harm.get(h, 0) for h in ("none", "low", "moderate", "severe", "death")}
    assert sum(counts.values()) <= cases
    d = {"cases_reviewed": cases, "harm": counts}
    if assessment is not None:
        d["assessment"] = assessment
    return d


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


def money(fields, period=None, period_from=None, period_to=None, as_at=None, state=None):
    """A money kind's data: its schema-1 fields, then exactly one period form (`period`;
    `period_from`..`period_to`; or to date since go-live with `as_at`), then `state`."""
    forms = [period is not None, period_from is not None, as_at is not None]
    assert sum(forms) <= 1 and (period_from is None) == (period_to is None), fields
    d = dict(fields)
    if period is not None:
        d["period"] = period
    if period_from is not None:
        assert period_from <= period_to
        d["period_from"] = period_from
        d["period_to"] = period_to
    if as_at is not None:
        d["to_date"] = True
        d["as_at"] = as_at
    if state is not None:
        d["state"] = state
    return d


def cost(category, pence, description, **period):
    return money({"category": category, "amount_pence": pence, "description": description},
                 **period)


def at_risk(category, pence, **period):
    return money({"category": category, "amount_pence": pence}, **period)


def penalty(commissioner, pence, period, state):
    return money({"commissioner": commissioner, "amount_pence": pence, "period": period},
                 state=state)


SYSTEM = "attributes_to_system"

# ---------------------------------------------------------------------------------------------
# The programme roster (published under NHS London, the strategic health authority, ODS Q36).
# Hansard's written answer of 6 March 2008 lists the existing Cerner Millennium deployments in the
# NHS London area. The later go-lives (RNJ, RAL) and the planned Kingston (RAX) join the programme
# through their own rollout_status events; the ledger counts those as members too. The trusts are
# written in code order; the codes are the trusts' ODS codes of the time (Hansard gives names).
# ---------------------------------------------------------------------------------------------
event("q36-roster-2008-03", "Q36", "q36-programme", "programme_roster",
      roster(["RGZ", "RNH", "RQX", "RVL"],
             reason="Hansard written answer (NHS: ICT, 6 March 2008): existing Cerner Millennium "
                    "deployments in the NHS London area are Homerton Hospitals NHS Foundation "
                    "Trust (RQX), Newham Healthcare NHS Trust (RNH), Barnet and Chase Farm "
                    "Hospitals NHS Trust (RVL) and Queen Mary's Sidcup NHS Trust (RGZ)."),
      t("2008-03-06"), published("2008-03-06"), [HANSARD_NHS_ICT])

# ---------------------------------------------------------------------------------------------
# Barnet & Chase Farm (RVL): first London Cerner go-live, release R0, 19-24 July 2007.
# ---------------------------------------------------------------------------------------------
# E-Health Insider dates the switch-on only by its month (Aug 2007): recorded at the end of it.
event("rvl-golive-r0", "RVL", "rvl-board", "rollout_status",
      rollout("go_live", release="R0",
              reason="First London Cerner Millennium go-live (release R0): the legacy PAS was "
                     "taken offline on 19 July 2007, A&E came up on 21 July, the wards on 22 July "
                     "and outpatients on 24 July."),
      t("2007-07-19"), end_of_month("2007-08"), [EHI_RVL_SWITCH_ON])
# The waiting-time facts come from reporting dated only "2008": recorded at the end of 2008. The
# suspension starts with the go-live (19 July 2007), never before it.
event("rvl-rtt-suspended", "RVL", "rvl-board", "reporting_suspended",
      reporting("rtt", "The trust could not produce waiting-time data after the R0 go-live "
                       "(July 2007 to January 2008)."),
      t("2007-07-19"), end_of_year("2008"), [EHI_CW_RVL_2008])
event("rvl-rtt-resumed", "RVL", "rvl-board", "reporting_resumed",
      reporting("rtt", "First waiting-time data after the gap of July 2007 to January 2008."),
      t("2008-02-01"), end_of_year("2008"), [EHI_CW_RVL_2008])
event("rvl-inpatient-breaches", "RVL", "rvl-board", "waiting_list_discrepancy",
      discrepancy("inpatient_26wk", 63, 63, 63),
      t("2008-02-01"), end_of_year("2008"), [EHI_CW_RVL_2008])

# ---------------------------------------------------------------------------------------------
# Barts and The London (RNJ): live about 8 April 2008, release LC0.
# ---------------------------------------------------------------------------------------------
event("rnj-golive-lc0", "RNJ", "rnj-board", "rollout_status",
      rollout("go_live", release="LC0",
              reason="Cerner Millennium live about 8 April 2008 (release LC0); about 3.35m "
                     "records migrated (unverified)."),
      t("2008-04-08"), published("2008-04-10"), [EHI_RNJ_GOLIVE])

# June 2008 board: 11 suspected-cancer patients had urgent appointments postponed, attributed to
# wrongly migrated clinic data. They were delayed, not lost: one safety incident, not 11 lost
# patients. Its harm was not graded; occurred_at is the month of the board that reported it.
event("rnj-c2ww-2008-06", "RNJ", "rnj-board", "safety_incident",
      incident("RNJ-BOARD-2008-06-C2WW", "unknown", False, "open",
               "local_ref is a scenario placeholder, not the trust's own reference (none was "
               "published). The June 2008 board heard that 11 patients with suspected cancer had "
               "urgent (two-week-wait) appointments postponed, for between two days and a month, "
               "attributed to wrongly migrated outpatient clinic data at the change-over to the "
               "Care Records Service. The harm was not graded: a trust spokesperson said there "
               "had been no clinical harm, a claim, not a finding."),
      t("2008-06-01"), published("2008-06-27"), [BBC_RNJ, EHI_RNJ_CANCER],
      attribution=(BY_BARTS_BOARD, SYSTEM))

# £930,000 temporary staff from reserves (the blog; the news story of the same day said "nearly
# £1m"). No period was published: it falls in the month of occurred_at.
event("rnj-temp-staff-2008", "RNJ", "rnj-board", "extra_cost",
      cost("temporary_staff", pounds(930_000),
           "£930,000 for extra temporary staff after the go-live, funded from reserves, in part "
           "to cope with the backlogs of work."),
      t("2008-09-01"), published("2008-09-01"), [CW_RNJ_BLOG, CW_RNJ_COST])
# A provision against April-June 2008 (first-quarter) income that could not be billed.
event("rnj-income-shortfall-2008", "RNJ", "rnj-board", "income_at_risk",
      at_risk("unbilled", pounds(1_500_000), period_from="2008-04", period_to="2008-06"),
      t("2008-06-30"), published("2008-09-01"), [CW_RNJ_COST, CW_RNJ_BLOG])
# The full-year forecast (financial year April 2008 to March 2009) restates the £1.5m. It is an
# estimate: shown beside the headline, never summed into it, so it supersedes nothing. E-Health
# Insider dates it only by the month: recorded at the end of September 2008.
event("rnj-income-forecast-2008", "RNJ", "rnj-board", "income_at_risk",
      at_risk("unbilled", pounds(3_000_000), period_from="2008-04", period_to="2009-03"),
      t("2008-09-01"), end_of_month("2008-09"), [EHI_RNJ_FORECAST], status="estimated",
      relates_to=("rnj-income-shortfall-2008", "restates"))

# RTT reporting: the Guardian (28 April 2009) reported the monthly data stopped, which is when the
# ledger learns it; the July article gives the start as March 2009 (and the end it expected,
# September, which the resumption below records when it happened).
event("rnj-rtt-suspended-2009", "RNJ", "rnj-board", "reporting_suspended",
      reporting("rtt", "Monthly 18-week data stopped while the waiting list was validated."),
      t("2009-03-01"), published("2009-04-28"), [GUARDIAN_RNJ, EHI_RNJ_RTT])
event("rnj-sui-2009-04", "RNJ", "rnj-board", "safety_incident",
      incident("RNJ-SUI-2009-04", "unknown", True, "open",
               "Serious untoward incident investigation into the 18-week waiting list; "
               "validation backlog over 2,000. local_ref is a scenario placeholder, not the "
               "trust's own reference. No harm grade was published, so harm is unknown (not yet "
               "graded). An official said there was no clinical harm: a claim, not a finding, "
               "and not encoded as a harm level."),
      t("2009-04-28"), published("2009-04-28"), [GUARDIAN_RNJ])
# E-Health Insider, 27 October 2009: reporting "only began again in September".
event("rnj-rtt-resumed-2009", "RNJ", "rnj-board", "reporting_resumed",
      reporting("rtt", "18-week reporting began again in September 2009 after the suspension "
                       "from March 2009."),
      t("2009-09-01"), published("2009-10-27"), [EHI_RNJ_FINES])
# Richard Bacon MP told the Commons that Barts faced being fined £400,000 a month by NHS Tower
# Hamlets: a threat (exposure), not a levied penalty; one month, none multiplied out.
event("rnj-commissioner-fine-2009-10", "RNJ", "rnj-board", "contract_penalty",
      penalty("NHS Tower Hamlets", pounds(400_000), "2009-10", "threatened"),
      t("2009-10-22"), published("2009-10-22"), [BACON_DEBATE, EHI_RNJ_FINES],
      attribution=(BY_BACON, SYSTEM))
# Dated only "Computer Weekly, 2009": recorded at the end of 2009. The 834 describe March 2009
# (675 of them over 17 weeks, a subset with no pathway of its own); the 22,000 carry no date and
# stay placed in the middle of the suspension, 1 July 2009 (a placement, not a published date).
event("rnj-outpatient-breaches-2009-03", "RNJ", "rnj-board", "waiting_list_discrepancy",
      discrepancy("outpatient_13wk", 834, 834, 834),
      t("2009-03-31"), end_of_year("2009"), [CW_RNJ_2009])
event("rnj-rtt-list-2009", "RNJ", "rnj-board", "waiting_list_discrepancy",
      discrepancy("rtt_18wk", 22_000, 14_000),
      t("2009-07-01"), end_of_year("2009"), [CW_RNJ_2009])

# ---------------------------------------------------------------------------------------------
# Royal Free Hampstead (RAL): first LC1 site, live 15 June 2008.
# ---------------------------------------------------------------------------------------------
# The first dated source read that states the go-live is E-Health Insider of 5 November 2008
# ("installed in June", the first London cluster site); Hansard (27 February 2009) gives the day.
event("ral-golive-lc1", "RAL", "ral-board", "rollout_status",
      rollout("go_live", release="LC1",
              reason="First site of the London release LC1; live 15 June 2008 (Hansard, 27 "
                     "February 2009, which calls it a successful go-live)."),
      t("2008-06-15"), published("2008-11-05"), [EHI_RAL_DEFICIT, HANSARD_RAL])
# November 2008: the £7.2m deficit, mainly attributed to the system. These are the half-year
# position since go-live, so they are to-date figures as at 5 November 2008. The attributed parts
# are £1.3m lost activity, £3.789m potentially correctable data entry (of which £2m at risk
# unless software fixes came on time) and £1.2m extra staff, plus ~£0.9m below; the rest of the
# deficit is unattributed and is not an event.
RAL_NOV = "2008-11-05"
event("ral-lost-activity-2008", "RAL", "ral-board", "income_at_risk",
      at_risk("lost_activity", pounds(1_300_000), as_at=RAL_NOV),
      t(RAL_NOV), published(RAL_NOV), [EHI_RAL_DEFICIT], attribution=(BY_ROYAL_FREE, SYSTEM))
event("ral-correctable-2008", "RAL", "ral-board", "income_at_risk",
      at_risk("correctable_data_entry", pounds(3_789_000), as_at=RAL_NOV),
      t(RAL_NOV), published(RAL_NOV), [EHI_RAL_DEFICIT], attribution=(BY_ROYAL_FREE, SYSTEM))
event("ral-extra-staff-2008", "RAL", "ral-board", "extra_cost",
      cost("temporary_staff", pounds(1_200_000),
           "£1.2m additional staffing, part of the £7.2m deficit attributed to the system.",
           as_at=RAL_NOV),
      t(RAL_NOV), published(RAL_NOV), [EHI_RAL_DEFICIT], attribution=(BY_ROYAL_FREE, SYSTEM))
# ~£0.9m put on falling clinical efficiency due to system instability (an estimate by the trust).
# Not a to-date figure: as one it would replace the £1.3m lost activity of the same category. Its
# period runs from the go-live month to the end of the half year the review covered (an
# inference: the sources say "over six months"). Computerworld dates it only by the month.
event("ral-efficiency-2008", "RAL", "ral-board", "income_at_risk",
      at_risk("lost_activity", pounds(900_000), period_from="2008-06", period_to="2008-09"),
      t("2008-09-30"), end_of_month("2008-11"), [IDG_RAL, COMPUTING_RAL], status="estimated",
      attribution=(BY_ROYAL_FREE, SYSTEM))

# February 2009: the chief executive's "£10m so far" (£4m extra spend, £6m lost revenue) restates
# the cumulative position since go-live. The Camden New Journal of 19 February confirms the £10m
# and the BBC radio interview; the E-Health Insider article is dated only by the month.
RAL_FEB = "2009-02-19"
RAL_FEB_SOURCES = [EHI_RAL_CEO, CNJ_RAL]
# Same trust and kind as the November £1.2m but another category, so the to-date rule alone would
# keep both: it supersedes it as well.
event("ral-extra-spend-2009", "RAL", "ral-board", "extra_cost",
      cost("other", pounds(4_000_000),
           "Chief executive: £4m extra spend so far to get the system working, including 40 "
           "extra administrative staff; outpatient bookings took four times as long. Restates "
           "the November 2008 figure of £1.2m extra staff.",
           as_at=RAL_FEB),
      t(RAL_FEB), published(RAL_FEB), RAL_FEB_SOURCES,
      supersedes="ral-extra-staff-2008", relates_to=("ral-extra-staff-2008", "restates"),
      attribution=(BY_ROYAL_FREE, SYSTEM))
# Same category as the November £1.3m: the to-date rule replaces it, no supersedes needed.
event("ral-lost-revenue-2009", "RAL", "ral-board", "income_at_risk",
      at_risk("lost_activity", pounds(6_000_000), as_at=RAL_FEB),
      t(RAL_FEB), published(RAL_FEB), RAL_FEB_SOURCES,
      relates_to=("ral-lost-activity-2008", "restates"), attribution=(BY_ROYAL_FREE, SYSTEM))
# The £3.789m correctable data entry (of which £2m at risk) is inside the £6m lost revenue: a
# to-date £0 for its category, superseding the November figure, so it is not counted twice. The
# split is the scenario's reading of a total, hence estimated.
event("ral-correctable-folded-2009", "RAL", "ral-board", "income_at_risk",
      at_risk("correctable_data_entry", 0, as_at=RAL_FEB),
      t(RAL_FEB), published(RAL_FEB), RAL_FEB_SOURCES, status="estimated",
      supersedes="ral-correctable-2008", relates_to=("ral-correctable-2008", "restates"))
# Likewise the ~£0.9m clinical-efficiency estimate is inside the £6m: £0 for the same period.
event("ral-efficiency-folded-2009", "RAL", "ral-board", "income_at_risk",
      at_risk("lost_activity", 0, period_from="2008-06", period_to="2008-09"),
      t(RAL_FEB), published(RAL_FEB), RAL_FEB_SOURCES, status="estimated",
      supersedes="ral-efficiency-2008", relates_to=("ral-efficiency-2008", "restates"))

# "Fit to deploy": first stated publicly in Hansard, 27 February 2009 (the trust confirmed it by
# the end of January 2009); what was known when is the statement's date.
event("ral-fit-to-deploy", "RAL", "ral-board", "rollout_status",
      rollout("fit_to_deploy", release="LC1",
              reason="Hansard: following a successful go-live, initial operation did not go as "
                     "smoothly as wished; the system became stable after changes in November and "
                     "December 2008, and by the end of January 2009 the trust confirmed it fit to "
                     "be deployed at other acute hospitals in London. A 90-day recovery plan for "
                     "22 problems had run from 6 October 2008 (E-Health Insider, Oct 2008); on 10 "
                     "February 2009 E-Health Insider reported that the fixes would not be "
                     "assessed until March."),
      t("2009-01-31"), published("2009-02-27"), [HANSARD_RAL])
# The deployment charge from the same answer. At 2003-04 prices, not cash: estimated.
event("ral-deployment-charge", "RAL", "ral-board", "extra_cost",
      cost("deployment_charge", pounds(4_676_000),
           "Hansard: the agreed deployment charge for full deployment of all bundles of service "
           "at the Royal Free is £4.676m at 2003-04 prices (not cash), paid when the trust has "
           "accepted the system; the monthly service charge of £33,644 is not recorded as money "
           "because the months it ran are not published. Local costs are not held centrally.",
           period="2008-06"),
      t("2008-06-15"), published("2009-02-27"), [HANSARD_RAL], status="estimated")

# ---------------------------------------------------------------------------------------------
# Claims against the evidence (kinds assurance_claim, burden, recovery_plan, usage_reported).
# Each claim's recorded_at is the day it was made public: the register holds it against what the
# ledger knew then. Collectors of their own, so that no earlier event's collector_seq moves.
# ---------------------------------------------------------------------------------------------
def claim(kind, claimant_type, name, statement, scope="trust"):
    return {"claimant": {"type": claimant_type, "name": name}, "claim": kind,
            "statement": statement, "scope": scope}


def burden(period, task=None, **figures):
    d = {"period": period}
    for name in ["extra_staff_hours", "extra_staff", "agency_fte_tenths", "overtime_hours",
                 "task_time_ratio_pct", "paper_fallback_hours", "workarounds",
                 "validation_fte_tenths"]:
        if name in figures:
            d[name] = figures.pop(name)
    assert not figures, figures
    if task is not None:
        d["task"] = task
    return d


# The Royal Free's 90-day recovery plan for 22 problems, from 6 October 2008 (due 4 January 2009).
# E-Health Insider dates it only by the month: recorded at the end of October 2008.
event("ral-recovery-plan-2008", "RAL", "ral-claims", "recovery_plan",
      {"plan": "90-day recovery plan", "state": "open", "problems": 22, "due": "2009-01-04"},
      t("2008-10-06"), end_of_month("2008-10"), [EHI_RAL_PLAN])
# Still open on 10 February 2009: the fixes would not be assessed until March.
event("ral-recovery-plan-2009-02", "RAL", "ral-claims", "recovery_plan",
      {"plan": "90-day recovery plan", "state": "open", "problems": 22,
       "reason": "E-Health Insider: the fixes would not be assessed until March 2009."},
      t("2009-02-10"), published("2009-02-10"), [EHI_RAL_FIXES])
# What using the system cost, as the chief executive said in February 2009: 40 extra admin
# staff, and outpatient bookings taking four times as long (ratio 400%).
event("ral-burden-2009-02", "RAL", "ral-claims", "burden",
      burden("2009-02", task="outpatient booking", extra_staff=40, task_time_ratio_pct=400),
      t(RAL_FEB), published(RAL_FEB), [EHI_RAL_CEO],
      attribution=(BY_ROYAL_FREE, SYSTEM))
# The written answer of 27 February 2009 makes three claims; each is its own event.
HANSARD_CLAIMANT = "Department of Health minister (Commons written answer 259780)"
event("ral-claim-successful-go-live", "RAL", "ral-claims", "assurance_claim",
      claim("successful_go_live", "minister", HANSARD_CLAIMANT,
            "It has been widely reported that, following a successful go-live, initial "
            "operation did not go as smoothly as everyone involved would have wished, and that "
            "the problems experienced affected trust performance."),
      t("2009-02-27"), published("2009-02-27"), [HANSARD_RAL])
event("ral-claim-stable", "RAL", "ral-claims", "assurance_claim",
      claim("stable", "minister", HANSARD_CLAIMANT,
            "The trust has reported that the system became stable in its operation following "
            "changes made in November and December 2008."),
      t("2009-02-27"), published("2009-02-27"), [HANSARD_RAL])
event("ral-claim-fit-to-deploy", "RAL", "ral-claims", "assurance_claim",
      claim("fit_to_deploy", "minister", HANSARD_CLAIMANT,
            "By the end of January 2009, the trust confirmed that the system was fit to be "
            "deployed at other acute hospitals in London."),
      t("2009-02-27"), published("2009-02-27"), [HANSARD_RAL])
# Synthetic usage months, to show the usage-beside-burden chart: no usage figure of the Royal
# Free was published. Marked synthetic, so the register and the warnings leave them out.
for month, users in [("2008-11", 1200), ("2008-12", 1350), ("2009-01", 1500), ("2009-02", 1650)]:
    event(f"ral-syn-usage-{month}", "RAL", "ral-claims", "usage_reported",
          {"metric": "active_users", "value": users, "period": month},
          t(f"{month}-28"), t(f"{month}-28", 17), SYN)

# Barts: "no clinical harm", twice. The BBC (27 June 2008) quoted a trust spokesperson on the
# 11 suspected-cancer patients; the Guardian (28 April 2009) the trust's officials on the
# serious untoward incident. Neither harm was ever graded in a published source.
event("rnj-claim-no-harm-2008", "RNJ", "rnj-claims", "assurance_claim",
      claim("no_clinical_harm", "trust_board", "Barts and The London NHS Trust spokesperson",
            "A spokesperson for the Trust said there had been no clinical harm to patients."),
      t("2008-06-27"), published("2008-06-27"), [BBC_RNJ])
event("rnj-claim-no-harm-2009", "RNJ", "rnj-claims", "assurance_claim",
      claim("no_clinical_harm", "trust_board", "Barts and The London NHS Trust officials",
            "Officials insist no patients have come to clinical harm."),
      t("2009-04-28"), published("2009-04-28"), [GUARDIAN_RNJ])

# ---------------------------------------------------------------------------------------------
# The programme (published under NHS London, the strategic health authority, ODS Q36).
# ---------------------------------------------------------------------------------------------
# Late October 2008: NHS London confirmed on 28 October (the day of politics.co.uk's report) that
# no more trusts would go live until the problems were resolved; the decision's own day was not
# published. The Telegraph's report is dated only by the month.
event("programme-paused-2008-10", "Q36", "q36-programme", "rollout_status",
      rollout("paused", scope="programme",
              reason="All London care-records deployments suspended: NHS London said all four "
                     "London trusts live with the software were having problems and no more "
                     "would go live until they were resolved. Trusts already live stayed live."),
      t("2008-10-28"), published("2008-10-28"),
      [POLITICS_PAUSE, TELEGRAPH_PAUSE, COMPUTING_PAUSE, EHI_PAUSE])
event("programme-resumed-2009-02", "Q36", "q36-programme", "rollout_status",
      rollout("resumed", scope="programme", reason="BT to resume the London roll-out."),
      t("2009-02-11"), published("2009-02-11"), [CW_RESUME, CW_RESUME_BLOG])
# Kingston (RAX): E-Health Insider dates the move to autumn only by the month.
event("rax-planned-2009", "RAX", "rax-board", "rollout_status",
      rollout("planned", reason="Next London go-live; it had been examined for April 2009 and "
                                "moved to autumn 2009."),
      t("2009-03-01"), end_of_month("2009-03"), [EHI_KINGSTON])
event("rax-golive-deferred-2009", "RAX", "rax-board", "feature_deferred",
      {"feature": "Cerner Millennium go-live at Kingston",
       "reason": "London deployments were suspended from October 2008 until BT resumed the "
                 "roll-out on 11 February 2009 (Computer Weekly); the go-live moved to autumn "
                 "2009."},
      t("2009-03-01"), end_of_month("2009-03"), [EHI_KINGSTON])

# ---------------------------------------------------------------------------------------------
# Barnet & Chase Farm referrals reviewed by 2015 (RVL). The referrals were RVL's, so both reviews
# are filed under RVL even though the Royal Free London took the trust over in 2014 and did the
# review. Two sources, two figures: both are recorded and linked as disputing each other (the
# later one points back at the earlier one, as a correction does).
# ---------------------------------------------------------------------------------------------
# HSJ, March 2015 (the trust's March board papers): 7,174 cases reviewed so far; 1 serious harm,
# 39 moderate, 68 low. The rest are not given, so they are left out of the counts (the five
# graded counts are always written: none 0 here means "not given", not "no case without harm").
event("rvl-harm-review-2015-hsj", "RVL", "rvl-harm", "harm_review",
      harm_review(7_174, assessment="actual_harm", low=68, moderate=39, severe=1),
      t("2015-03-01"), end_of_month("2015-03"), [HSJ_RVL_2015])
# Joan Ryan MP via Computer Weekly: 10,000 cases by May 2015, 6,000 no harm, 4,000 low, 77
# moderate, 1 severe, as risk of harm. The published "10,000" is rounded and below the sum of its
# parts (10,078), so cases_reviewed is the sum and the event is estimated. Dated only by the year.
# The Royal Free's attribution was published here, in its statement to Computer Weekly: it blamed
# changes to the RTT rules and a patient administration system "too basic" to comply with them
# (with shortcomings in oversight): an attribution that is itself a claim.
event("rvl-harm-review-2015-cw", "RVL", "rvl-harm", "harm_review",
      harm_review(10_078, assessment="risk_of_harm", none=6_000, low=4_000, moderate=77,
                  severe=1),
      t("2015-05-01"), end_of_year("2015"), [CW_RVL_2015], status="estimated",
      relates_to=("rvl-harm-review-2015-hsj", "disputes"),
      attribution=(BY_ROYAL_FREE_LONDON, SYSTEM))

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


# ---------------------------------------------------------------------------------------------
# North Bristol (RVJ): a later go-live with the same pattern, December 2011 (not London, not the
# London programme): the second recovery curve. E-Health Insider (Jul 2012) reported the trust
# spent £4.6m on the IT crisis and took five months to resolve it. Only the go-live is recorded
# as a published fact; the day of December 2011 was not published, so it is the month's first.
# ---------------------------------------------------------------------------------------------
EHI_RVJ = press('E-Health Insider, "North Bristol spent £4.6m on IT crisis", Jul 2012')
event("rvj-golive-2011-12", "RVJ", "rvj-board", "rollout_status",
      {"programme": "North Bristol NHS Trust electronic patient record", "status": "go_live",
       "scope": "trust",
       "reason": "New patient record system live December 2011; the trust spent £4.6m on the "
                 "crisis that followed and took five months to resolve it (E-Health Insider, Jul "
                 "2012). The £4.6m is not recorded as money here: its split and months were not "
                 "published."},
      t("2011-12-01"), end_of_month("2012-07"), [EHI_RVJ])

# ---------------------------------------------------------------------------------------------
# SYNTHETIC activity against baseline and waiting-list validation (the recovery view). No trust
# published its monthly activity or its validation counts, so every figure here is illustrative;
# they are kept consistent with what was published: RNJ's list of 22,000 records (Computer
# Weekly, 2009) with a validation backlog over 2,000 in April 2009 (The Guardian); RAL's
# outpatient bookings that took four times as long; RVJ's five months to resolve. Each month is
# reported on the 10th of the next (occurred_at: the month's last day); weeks on the Monday after.
# ---------------------------------------------------------------------------------------------
def month_end(month):
    y, m = (int(x) for x in month.split("-"))
    return f"{month}-{calendar.monthrange(y, m)[1]:02d}"


def next_month_day(month, day):
    y, m = (int(x) for x in month.split("-"))
    y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return f"{y:04d}-{m:02d}-{day:02d}"


def baseline(trust, pod, value, from_month, to_month, day):
    event(f"{trust.lower()}-syn-baseline-{pod}", trust, f"{trust.lower()}-activity",
          "activity_baseline",
          {"point_of_delivery": pod, "monthly_value": value, "baseline_from": from_month,
           "baseline_to": to_month},
          t(day), t(day, 12), SYN)


def monthly(trust, pod, values):
    """One activity_actual per (month, value, quality); None is a dark month (no report)."""
    for month, value, quality in values:
        if value is None:
            continue
        key = f"{trust.lower()}-syn-activity-{pod}-{month}"
        event(key, trust, f"{trust.lower()}-activity", "activity_actual",
              {"point_of_delivery": pod, "period": month, "value": value,
               "data_quality": quality},
              t(month_end(month)), t(next_month_day(month, 10), 12), SYN)


def ptl(trust, pathway, reports):
    for day, on_list, validated, dup, treated, unknown, over52, remaining in reports:
        event(f"{trust.lower()}-syn-ptl-{pathway}-{day}", trust, f"{trust.lower()}-ptl",
              "ptl_validation",
              {"pathway": pathway, "on_list": on_list, "validated": validated,
               "removed_duplicate": dup, "removed_treated": treated,
               "unknown_clock_start": unknown, "over_52_weeks": over52, "remaining": remaining},
              t(day), t(day, 17), SYN)


# Royal Free (RAL), outpatient first attendances: down a quarter at the go-live, September 2008
# dark (no report: the recovery view carries August forward, marked carried), back at 95% in
# February 2009. November was first reported partial, then corrected.
baseline("RAL", "outpatient_first", 4_200, "2007-06", "2008-05", "2008-06-02")
monthly("RAL", "outpatient_first", [
    ("2008-06", 3_150, "partial"), ("2008-07", 2_900, "complete"), ("2008-08", 3_050, "complete"),
    ("2008-09", None, None), ("2008-10", 3_300, "complete"), ("2008-11", 3_400, "partial"),
    ("2008-12", 3_650, "complete"), ("2009-01", 3_900, "complete"),
    ("2009-02", 4_050, "complete"), ("2009-03", 4_150, "complete")])
event("ral-syn-activity-outpatient_first-2008-11-corrected", "RAL", "ral-activity",
      "activity_actual",
      {"point_of_delivery": "outpatient_first", "period": "2008-11", "value": 3_500,
       "data_quality": "complete"},
      t(month_end("2008-11")), t("2009-01-12", 12), SYN,
      supersedes="ral-syn-activity-outpatient_first-2008-11")
ptl("RAL", "rtt_18wk", [
    ("2008-10-31", 9_000, 0, 0, 0, 1_800, 40, 9_000),
    ("2008-12-31", 9_000, 2_500, 600, 400, 1_200, 55, 6_500),
    ("2009-01-31", 9_000, 3_800, 900, 700, 900, 60, 5_200),
    ("2009-02-28", 9_000, 5_100, 1_200, 1_000, 600, 52, 3_900)])

# Barts and The London (RNJ), outpatient first attendances: back at 95% in February 2009; the
# 18-week list of 22,000 records validated from March 2009, a backlog over 2,000 at the end of
# April, then down to the resumption of reporting in September.
baseline("RNJ", "outpatient_first", 6_000, "2007-04", "2008-03", "2008-04-01")
monthly("RNJ", "outpatient_first", [
    ("2008-04", 4_100, "partial"), ("2008-05", 4_300, "complete"), ("2008-06", 4_600, "complete"),
    ("2008-07", 4_800, "complete"), ("2008-08", 5_000, "complete"), ("2008-09", 5_300, "complete"),
    ("2008-10", 5_500, "complete"), ("2008-11", 5_600, "complete"), ("2008-12", 5_500, "complete"),
    ("2009-01", 5_650, "complete"), ("2009-02", 5_700, "complete")])
ptl("RNJ", "rtt_18wk", [
    ("2009-03-31", 22_000, 9_000, 4_500, 1_500, 3_000, 400, 13_000),
    ("2009-04-30", 22_000, 19_900, 7_400, 2_600, 1_100, 350, 2_100),
    ("2009-06-30", 22_000, 20_900, 7_800, 2_900, 600, 300, 1_100),
    ("2009-08-31", 22_000, 21_700, 8_000, 3_100, 200, 250, 300)])

# Barnet & Chase Farm (RVL), outpatient follow-ups: no figure for July 2007 (the month the trust
# could not report from), then stuck near 84% of baseline into 2008 (`recovery_stalled`).
baseline("RVL", "outpatient_follow_up", 7_000, "2006-07", "2007-06", "2007-07-02")
monthly("RVL", "outpatient_follow_up", [
    ("2007-08", 4_900, "estimated"), ("2007-09", 5_300, "partial"), ("2007-10", 5_600, "complete"),
    ("2007-11", 5_900, "complete"), ("2007-12", 5_950, "complete"), ("2008-01", 5_900, "complete"),
    ("2008-02", 5_850, "complete")])

# North Bristol (RVJ), outpatient first attendances, weekly from the go-live week (2011-W48,
# week 0): from 55% of the baseline's weekly equivalent to 95% in week 20, about five months.
baseline("RVJ", "outpatient_first", 5_200, "2010-12", "2011-11", "2011-11-28")
for k in range(22):
    year, week = (2011, 48 + k) if k < 5 else (2012, k - 4)
    label = f"{year}-W{week:02d}"
    monday = datetime.date.fromisocalendar(year, week, 1)
    sunday = monday + datetime.timedelta(days=6)
    event(f"rvj-syn-activity-outpatient_first-{label}", "RVJ", "rvj-activity", "activity_actual",
          {"point_of_delivery": "outpatient_first", "week": label, "value": 660 + 24 * k,
           "data_quality": "complete"},
          t(sunday.isoformat()), t((sunday + datetime.timedelta(days=1)).isoformat(), 12), SYN)

def main():
    # File order: by recorded_at (the order a live ledger would have received them), ties in
    # the order written above. collector_seq then counts up per collector in file order.
    ordered = sorted(events, key=lambda x: (x[0], x[1]))
    seqs = {}
    keys = {}
    lines = []
    for _, _, e, key in ordered:
        seqs[e["collector"]] = seqs.get(e["collector"], 0) + 1
        e["collector_seq"] = seqs[e["collector"]]
        assert e["event_id"] not in keys, key
        keys[e["event_id"]] = e
        # A correction or a link names an event earlier in the file (already in the ledger).
        if "supersedes" in e:
            old = keys[e["supersedes"]]
            assert old["trust"] == e["trust"] and old["kind"] == e["kind"], key
        if "relates_to" in e:
            assert e["relates_to"]["event_id"] in keys, key
        lines.append(json.dumps(e, ensure_ascii=False, separators=(",", ":")))
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "london-2008.jsonl")
    with open(out, "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {len(lines)} events to {out}")


if __name__ == "__main__":
    main()
