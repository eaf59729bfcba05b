//! The transforms, one by one, with property tests for money and dates.

use chrono::{NaiveDate, TimeZone, Utc};
use proptest::prelude::*;

use super::*;

fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
}

fn local(s: &str) -> Result<DateTime<Utc>, TransformError> {
    parse_time(
        s,
        &TimeFormat::Strftime("%d/%m/%Y %H:%M".into()),
        Zone::London,
    )
}

#[test]
fn money_in_pounds_becomes_whole_pence() {
    for (cell, pence) in [
        ("£1,234.56", 123_456),
        ("1234.5", 123_450),
        ("£12", 1_200),
        (" £ 7,500 ", 750_000),
        ("1,000,000.00", 100_000_000),
        ("£0.05", 5),
        ("£0.050", 5),
        ("0", 0),
    ] {
        assert_eq!(parse_pence(cell), Ok(pence), "{cell}");
    }
}

#[test]
fn sub_penny_negative_and_malformed_amounts_are_refused() {
    assert!(matches!(
        parse_pence("£0.005"),
        Err(TransformError::SubPenny(_))
    ));
    assert!(matches!(
        parse_pence("£1,234.567"),
        Err(TransformError::SubPenny(_))
    ));
    for cell in ["-£5", "(£5.00)", "£-5"] {
        assert!(
            matches!(parse_pence(cell), Err(TransformError::NegativeMoney(_))),
            "{cell}"
        );
    }
    for cell in [
        "",
        "£",
        "1,23.00",
        "12,3456",
        "£1.2m",
        "1e3",
        "1.",
        ".5",
        "£1,234.5a",
        "1 234",
    ] {
        assert!(parse_pence(cell).is_err(), "{cell}");
    }
    assert!(parse_pence("99999999999999999999").is_err());
}

/// `pence` written the way a finance export writes it: `£`, thousands commas, two decimals.
fn pounds_text(pence: i64, pound_sign: bool, commas: bool) -> String {
    let pounds = (pence / 100).to_string();
    let pounds = if commas {
        let b = pounds.as_bytes();
        let mut out = String::new();
        for (i, c) in b.iter().enumerate() {
            if i > 0 && (b.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(*c as char);
        }
        out
    } else {
        pounds
    };
    format!(
        "{}{pounds}.{:02}",
        if pound_sign { "£" } else { "" },
        pence % 100
    )
}

proptest! {
    #[test]
    fn any_amount_written_in_pounds_reads_back_exactly(
        pence in 0i64..=1_000_000_000_000, sign: bool, commas: bool
    ) {
        prop_assert_eq!(parse_pence(&pounds_text(pence, sign, commas)), Ok(pence));
    }

    #[test]
    fn a_third_decimal_that_is_not_zero_is_always_refused(pence in 0i64..=1_000_000_000, mill in 1u8..=9) {
        let text = format!("{}{mill}", pounds_text(pence, true, true));
        prop_assert_eq!(parse_pence(&text), Err(TransformError::SubPenny(text.clone())));
    }

    #[test]
    fn dates_in_day_month_year_read_back(days in 0i64..80_000) {
        let d = NaiveDate::from_ymd_opt(1900, 3, 1).unwrap() + chrono::Duration::days(days);
        let f = TimeFormat::Strftime("%d/%m/%Y".into());
        prop_assert_eq!(parse_date(&d.format("%d/%m/%Y").to_string(), &f), Ok(d));
        // The Excel serial of the same date reads back to it too.
        let serial = (d - NaiveDate::from_ymd_opt(1899, 12, 30).unwrap()).num_days();
        prop_assert_eq!(parse_date(&serial.to_string(), &TimeFormat::Excel), Ok(d));
    }

    #[test]
    fn uk_local_time_is_utc_in_winter_and_utc_plus_one_in_summer(
        days in 0i64..(366 * 30), minute in 0u32..1440
    ) {
        // Every local time of 2000 to 2029 either converts to an instant that shows that
        // local time again, or is in the skipped hour of a spring change.
        let d = NaiveDate::from_ymd_opt(2000, 1, 1).unwrap() + chrono::Duration::days(days);
        let t = d.and_hms_opt(minute / 60, minute % 60, 0).unwrap();
        match london_to_utc(t) {
            Some(u) => {
                prop_assert_eq!(u.with_timezone(&London).naive_local(), t);
                let offset_h = (t - u.naive_utc()).num_hours();
                prop_assert!(offset_h == 0 || offset_h == 1);
            }
            None => {
                prop_assert_eq!(d.month(), 3);
                prop_assert_eq!(t.time().format("%H").to_string(), "01");
            }
        }
    }
}

#[test]
fn the_spring_change_day_2008_03_30() {
    // Clocks went forward at 01:00 GMT: 00:59 is GMT, 01:00 to 01:59 never happened, 02:00 is BST.
    assert_eq!(local("30/03/2008 00:59"), Ok(utc(2008, 3, 30, 0, 59)));
    assert!(matches!(
        local("30/03/2008 01:30"),
        Err(TransformError::NonexistentLocalTime(_))
    ));
    assert_eq!(local("30/03/2008 02:00"), Ok(utc(2008, 3, 30, 1, 0)));
    assert_eq!(local("29/03/2008 12:00"), Ok(utc(2008, 3, 29, 12, 0)));
    assert_eq!(local("31/03/2008 12:00"), Ok(utc(2008, 3, 31, 11, 0)));
}

#[test]
fn the_autumn_change_day_2008_10_26_takes_the_earlier_of_a_repeated_hour() {
    // Clocks went back at 02:00 BST: 01:00 to 01:59 happened twice; the earlier (BST) is taken.
    assert_eq!(local("26/10/2008 00:30"), Ok(utc(2008, 10, 25, 23, 30)));
    assert_eq!(local("26/10/2008 01:30"), Ok(utc(2008, 10, 26, 0, 30)));
    assert_eq!(local("26/10/2008 02:30"), Ok(utc(2008, 10, 26, 2, 30)));
    assert_eq!(local("27/10/2008 09:00"), Ok(utc(2008, 10, 27, 9, 0)));
}

#[test]
fn a_date_without_a_time_is_midnight_utc_whatever_the_zone() {
    let f = TimeFormat::Strftime("%d/%m/%Y".into());
    assert_eq!(
        parse_time("01/07/2008", &f, Zone::London),
        Ok(utc(2008, 7, 1, 0, 0))
    );
    let m = TimeFormat::Strftime("%b-%y".into());
    assert_eq!(
        parse_time("Nov-08", &m, Zone::London),
        Ok(utc(2008, 11, 1, 0, 0))
    );
    assert_eq!(
        parse_month("Nov-08", &m).map(|d| d.format("%Y-%m").to_string()),
        Ok("2008-11".into())
    );
}

#[test]
fn excel_serial_dates_and_times() {
    let d = |s: &str| excel_serial(s).map(|t| t.to_string());
    assert_eq!(d("39630"), Ok("2008-07-01 00:00:00".into()));
    assert_eq!(d("39537.5"), Ok("2008-03-30 12:00:00".into()));
    assert_eq!(d("1"), Ok("1900-01-01 00:00:00".into()));
    assert_eq!(d("61"), Ok("1900-03-01 00:00:00".into()));
    for bad in ["60", "0", "-1", "1e4", "39630.", "abc", ""] {
        assert!(excel_serial(bad).is_err(), "{bad}");
    }
    // A fractional serial is local time: 39537.5 is noon on 30 March 2008, BST, 11:00 UTC.
    assert_eq!(
        parse_time("39537.5", &TimeFormat::Excel, Zone::London),
        Ok(utc(2008, 3, 30, 11, 0))
    );
}

#[test]
fn booleans_and_counts() {
    assert_eq!(parse_bool("Y"), Ok(true));
    assert_eq!(parse_bool("no"), Ok(false));
    assert!(parse_bool("maybe").is_err());
    assert_eq!(parse_count("12,500"), Ok(12_500));
    assert!(parse_count("-3").is_err());
    assert!(parse_count("1.5").is_err());
}

#[test]
fn nhs_numbers_are_normalised_and_their_check_digit_verified() {
    assert_eq!(normalise_nhs_number("943 476 5919").map(|_| ()), Ok(()));
    assert_eq!(
        normalise_nhs_number("943-476-5919"),
        normalise_nhs_number("9434765919")
    );
    for bad in ["943 476 5918", "94347659", "94347659190", "943476591X", ""] {
        let e = normalise_nhs_number(bad).unwrap_err();
        // The message never quotes the number.
        assert!(!e.to_string().contains("943"), "{e}");
    }
}

#[test]
fn a_pseudonym_is_stable_keyed_and_a_valid_patient_ref() {
    let n = normalise_nhs_number("999 001 0005").unwrap();
    let m = normalise_nhs_number("9990011370").unwrap();
    let k1 = [7u8; TRUST_KEY_BYTES];
    let k2 = [8u8; TRUST_KEY_BYTES];
    let p = pseudonym(&k1, "ZF001", &n);
    assert_eq!(
        p,
        pseudonym(&k1, "ZF001", &normalise_nhs_number("999-001-0005").unwrap())
    );
    assert_ne!(
        p,
        pseudonym(&k2, "ZF001", &n),
        "another trust's key, another pseudonym"
    );
    assert_ne!(p, pseudonym(&k1, "ZF001", &m));
    assert!(p.starts_with("ZF001-P-") && p.len() == "ZF001-P-".len() + PSEUDONYM_HEX_DIGITS);
    assert!(!p.contains("9990010005"));
    assert!(!golive_model::looks_like_nhs_number(&p));
}

#[test]
fn row_event_ids_are_stable_and_depend_on_every_part() {
    let a = row_event_id("ZF001", "c", "patient_lost", &["x", "y"]);
    assert_eq!(a, row_event_id("ZF001", "c", "patient_lost", &["x", "y"]));
    assert_ne!(a, row_event_id("ZF001", "c", "patient_traced", &["x", "y"]));
    assert_ne!(a, row_event_id("ZF001", "c", "patient_lost", &["xy", ""]));
    assert_eq!(a.0.get_version_num(), 8);
}
