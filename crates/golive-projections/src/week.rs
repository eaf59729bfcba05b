//! ISO weeks, the unit of the weekly series of open lost patients.

use chrono::{DateTime, Datelike, Days, NaiveDate, Utc};

/// Longest weekly series built for one trust: twenty years. Older weeks are folded into the
/// first week shown, so counts stay right; only the detail is dropped.
pub const WEEKLY_SERIES_WEEKS_MAX: u64 = 1040;

/// The Monday of the ISO week in which `t` falls (UTC).
pub(crate) fn week_start(t: DateTime<Utc>) -> NaiveDate {
    let d = t.date_naive();
    d - Days::new(u64::from(d.weekday().num_days_from_monday()))
}

/// `YYYY-Www`, the ISO week label of a Monday, e.g. `2009-W05`.
pub(crate) fn week_label(monday: NaiveDate) -> String {
    let w = monday.iso_week();
    format!("{:04}-W{:02}", w.year(), w.week())
}

/// Whole weeks from Monday `from` to Monday `to` (0 when equal or `to` is earlier).
pub(crate) fn weeks_between(from: NaiveDate, to: NaiveDate) -> u64 {
    let days = (to - from).num_days();
    u64::try_from(days / 7).unwrap_or(0)
}

/// Counts, at the end of each week from `first` to `last`, the intervals `[opened, closed)`
/// that are open. An interval closed in the same week it opened is never counted.
pub(crate) fn open_at_week_end(
    first: NaiveDate,
    last: NaiveDate,
    intervals: impl Iterator<Item = (DateTime<Utc>, Option<DateTime<Utc>>)>,
) -> Vec<(NaiveDate, u64)> {
    let span = weeks_between(first, last).min(WEEKLY_SERIES_WEEKS_MAX - 1);
    let start = last - Days::new(span * 7);
    let n = usize::try_from(span + 1).expect("bounded by WEEKLY_SERIES_WEEKS_MAX");
    let index = |t: DateTime<Utc>| {
        let w = week_start(t);
        if w < start {
            0
        } else {
            usize::try_from(weeks_between(start, w)).map_or(n, |i| i.min(n))
        }
    };
    // Difference array: +1 in the week a case opens, -1 in the week it closes.
    let mut delta = vec![0i64; n + 1];
    for (opened, closed) in intervals {
        delta[index(opened)] += 1;
        if let Some(c) = closed {
            delta[index(c)] -= 1;
        }
    }
    let mut open = 0i64;
    (0..n)
        .map(|i| {
            open += delta[i];
            let monday = start + Days::new(i as u64 * 7);
            (monday, u64::try_from(open).unwrap_or(0))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn iso_weeks_start_on_monday_and_carry_the_iso_year() {
        // Proves the week key follows ISO 8601, where 1 January 2009 (a Thursday) is in 2009-W01
        // and 29 December 2008 is the Monday of that week.
        let t = Utc.with_ymd_and_hms(2009, 1, 1, 12, 0, 0).unwrap();
        let monday = week_start(t);
        assert_eq!(monday, NaiveDate::from_ymd_opt(2008, 12, 29).unwrap());
        assert_eq!(week_label(monday), "2009-W01");
    }

    #[test]
    fn open_counts_are_taken_at_week_end() {
        // Proves a case counts in the weeks it is open at week end, not in the week it closes,
        // and that a case opened and closed within one week never shows.
        let d = |day| Utc.with_ymd_and_hms(2009, 3, day, 9, 0, 0).unwrap();
        // Mondays: 2, 9, 16, 23 March 2009.
        let series = open_at_week_end(
            week_start(d(2)),
            week_start(d(23)),
            [
                (d(3), Some(d(17))),  // open at end of weeks of 2 and 9
                (d(10), None),        // open from week of 9 on
                (d(11), Some(d(12))), // never at week end
            ]
            .into_iter(),
        );
        let counts: Vec<u64> = series.iter().map(|(_, c)| *c).collect();
        assert_eq!(counts, [1, 2, 1, 1]);
    }
}
