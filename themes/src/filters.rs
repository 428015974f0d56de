//! The filters and tests quire's templates use beyond minijinja's built-ins.
//!
//! Times arrive as unix seconds and are always shown in UTC: a team wiki's readers sit in
//! different zones, and one unambiguous clock beats a guess at the reader's. Sizes use
//! binary units because that is what the storage counts.
//!
//! The `none` test is replaced by a strict one: with minijinja's own, `{% if x is none %}`
//! quietly treats a missing `x` as "not none", which would hide a key the app forgot.

use minijinja::value::Value;
use minijinja::{Environment, Error, ErrorKind};
use time::format_description::well_known::Rfc3339;
use time::formatting::Formattable;
use time::macros::format_description;
use time::OffsetDateTime;

/// Registers everything in this module on `env`.
pub(crate) fn register(env: &mut Environment<'_>) {
    env.add_filter("filesize", filesize);
    env.add_filter("datetime", datetime);
    env.add_filter("isodate", isodate);
    env.add_filter("timeofday", timeofday);
    env.add_filter("ago", ago);
    env.add_filter("chunkby", chunkby);
    env.add_filter("form_target", form_target);
    env.add_test("none", strict_none);
}

/// `{{ 1234|filesize }}` → `1.2 KiB`; below 1 KiB the exact count: `1 byte`, `512 bytes`.
/// Negative sizes (a shrinking page) keep their sign.
pub(crate) fn filesize(bytes: i64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let magnitude = bytes.unsigned_abs();
    if magnitude < 1024 {
        let plural = if magnitude == 1 { "" } else { "s" };
        return format!("{bytes} byte{plural}");
    }
    let sign = if bytes < 0 { "-" } else { "" };
    let mut value = magnitude as f64 / 1024.0;
    let mut unit = 0;
    // Compare after rounding so 1048575 bytes reads "1.0 MiB", not "1024.0 KiB".
    while unit + 1 < UNITS.len() && (value * 10.0).round() / 10.0 >= 1024.0 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{sign}{value:.1} {}", UNITS[unit])
}

/// `{{ time|datetime }}` → `2026-11-25 14:03 UTC`.
pub(crate) fn datetime(unix_seconds: i64) -> Result<String, Error> {
    let t = utc(unix_seconds)?;
    if !has_four_digit_year(&t) {
        return formatted(
            unix_seconds,
            &t,
            format_description!("[year]-[month]-[day] [hour]:[minute] UTC"),
        );
    }
    let mut out = String::with_capacity(20);
    push_date(&mut out, &t);
    out.push(' ');
    push_hour_minute(&mut out, &t);
    out.push_str(" UTC");
    Ok(out)
}

/// `{{ time|timeofday }}` → `14:03 UTC`, for lists already grouped by day.
pub(crate) fn timeofday(unix_seconds: i64) -> Result<String, Error> {
    let t = utc(unix_seconds)?;
    let mut out = String::with_capacity(9);
    push_hour_minute(&mut out, &t);
    out.push_str(" UTC");
    Ok(out)
}

/// `{{ time|ago }}` → `3 hours ago`, `yesterday`, `in 2 minutes` (clocks disagree): a
/// relative date, to show beside the absolute one, never instead of it — a cached page
/// keeps saying "5 minutes ago" for as long as it is cached.
pub(crate) fn ago(unix_seconds: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| {
            i64::try_from(since.as_secs()).unwrap_or(i64::MAX)
        });
    ago_at(unix_seconds, now)
}

fn ago_at(then: i64, now: i64) -> String {
    const MINUTE: i64 = 60;
    const HOUR: i64 = 60 * MINUTE;
    const DAY: i64 = 24 * HOUR;
    let seconds = now.saturating_sub(then);
    if seconds < 0 {
        let ahead = seconds.unsigned_abs();
        return if ahead < 120 {
            "just now".to_owned()
        } else {
            format!("in {} minutes", ahead / 60)
        };
    }
    let count = |n: i64, unit: &str| {
        let plural = if n == 1 { "" } else { "s" };
        format!("{n} {unit}{plural} ago")
    };
    match seconds {
        s if s < MINUTE => "just now".to_owned(),
        s if s < HOUR => count(s / MINUTE, "minute"),
        s if s < DAY => count(s / HOUR, "hour"),
        s if s < 2 * DAY => "yesterday".to_owned(),
        s if s < 30 * DAY => count(s / DAY, "day"),
        s if s < 365 * DAY => count(s / (30 * DAY), "month"),
        s => count(s / (365 * DAY), "year"),
    }
}

/// `{{ time|isodate }}` → `2026-11-25T14:03:00Z`, for `<time datetime="…">`.
pub(crate) fn isodate(unix_seconds: i64) -> Result<String, Error> {
    let t = utc(unix_seconds)?;
    if !has_four_digit_year(&t) {
        return formatted(unix_seconds, &t, &Rfc3339);
    }
    let mut out = String::with_capacity(20);
    push_date(&mut out, &t);
    out.push('T');
    push_hour_minute(&mut out, &t);
    out.push(':');
    push_two_digits(&mut out, t.second());
    out.push('Z');
    Ok(out)
}

// A page of recent changes writes three dates a row. `time`'s format descriptions are read item by
// item for each one; the dates a wiki holds, of years 1000 to 9999, are written here digit by digit
// instead, as those descriptions would write them (the tests compare the two). Other years go
// through `time`, whose padding, signs and errors they keep.

/// Whether `t`'s year has four digits and no sign.
fn has_four_digit_year(t: &OffsetDateTime) -> bool {
    (1000..=9999).contains(&t.year())
}

/// `2026-11-25`, for a year of four digits.
fn push_date(out: &mut String, t: &OffsetDateTime) {
    // One conversion from the day count: `year()`, `month()` and `day()` would each do their own.
    let (year, month, day) = t.to_calendar_date();
    let year = year.unsigned_abs();
    push_two_digits(out, u8::try_from(year / 100).unwrap_or(99));
    push_two_digits(out, u8::try_from(year % 100).unwrap_or(99));
    out.push('-');
    push_two_digits(out, u8::from(month));
    out.push('-');
    push_two_digits(out, day);
}

/// `14:03`.
fn push_hour_minute(out: &mut String, t: &OffsetDateTime) {
    push_two_digits(out, t.hour());
    out.push(':');
    push_two_digits(out, t.minute());
}

/// `value` (below 100) as two digits.
fn push_two_digits(out: &mut String, value: u8) {
    out.push(char::from(b'0' + value / 10 % 10));
    out.push(char::from(b'0' + value % 10));
}

/// `unix_seconds` as a UTC time.
fn utc(unix_seconds: i64) -> Result<OffsetDateTime, Error> {
    OffsetDateTime::from_unix_timestamp(unix_seconds).map_err(|err| {
        Error::new(
            ErrorKind::InvalidOperation,
            format!("{unix_seconds} is not a representable unix time"),
        )
        .with_source(err)
    })
}

/// `t` (which is `unix_seconds`) written in `format`, by `time`'s formatting.
fn formatted(
    unix_seconds: i64,
    t: &OffsetDateTime,
    format: &(impl Formattable + ?Sized),
) -> Result<String, Error> {
    t.format(format).map_err(|err| {
        Error::new(
            ErrorKind::InvalidOperation,
            format!("cannot write the date of {unix_seconds}"),
        )
        .with_source(err)
    })
}

/// `{% for day, items in changes|chunkby("day") %}`: splits a list into runs of neighbours
/// with the same `attribute`, keeping the list's order (unlike `groupby`, which sorts).
/// An item without the attribute is an error, as any undefined value is in quire.
pub(crate) fn chunkby(items: Value, attribute: &str) -> Result<Value, Error> {
    if items.is_undefined() {
        return Err(Error::new(
            ErrorKind::UndefinedError,
            "chunkby applied to an undefined value",
        ));
    }
    let mut runs: Vec<(Value, Vec<Value>)> = Vec::new();
    for item in items.try_iter()? {
        let key = item.get_attr(attribute)?;
        if key.is_undefined() {
            return Err(Error::new(
                ErrorKind::UndefinedError,
                format!("chunkby: an item has no attribute `{attribute}`"),
            ));
        }
        match runs.last_mut() {
            Some((last, run)) if *last == key => run.push(item),
            _ => runs.push((key, vec![item])),
        }
    }
    Ok(runs
        .into_iter()
        .map(|(key, run)| Value::from(vec![key, Value::from(run)]))
        .collect())
}

/// `{% set path, fields = url|form_target %}`: splits a URL into the path for a GET form's
/// `action` and its query as decoded `[name, value]` pairs for hidden inputs — a browser
/// submitting a GET form throws away the query string of its `action`, so
/// `/wiki/Page?action=diff` would otherwise lose `action=diff`.
pub(crate) fn form_target(url: &str) -> Value {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let query = query
        .split_once('#')
        .map_or(query, |(query, _fragment)| query);
    // The workspace's one query decoding; invalid UTF-8 becomes U+FFFD (the app built the URL).
    let fields: Vec<Value> = form_urlencoded::parse(query.as_bytes())
        .map(|(name, value)| Value::from(vec![Value::from(name), Value::from(value)]))
        .collect();
    Value::from(vec![Value::from(path), Value::from(fields)])
}

/// `is none` that fails on an undefined value instead of answering "no".
fn strict_none(value: &Value) -> Result<bool, Error> {
    if value.is_undefined() {
        return Err(Error::new(
            ErrorKind::UndefinedError,
            "`is none` tested on an undefined value",
        ));
    }
    Ok(value.is_none())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filesize_uses_exact_bytes_below_one_kib() {
        assert_eq!(filesize(0), "0 bytes");
        assert_eq!(filesize(1), "1 byte");
        assert_eq!(filesize(-1), "-1 byte");
        assert_eq!(filesize(1023), "1023 bytes");
    }

    #[test]
    fn filesize_uses_binary_units_with_one_decimal() {
        assert_eq!(filesize(1024), "1.0 KiB");
        assert_eq!(filesize(1234), "1.2 KiB");
        assert_eq!(filesize(-1536), "-1.5 KiB");
        assert_eq!(filesize(5 * 1024 * 1024), "5.0 MiB");
        assert_eq!(filesize(3 * 1024 * 1024 * 1024 + 1), "3.0 GiB");
        assert_eq!(filesize(i64::MAX), "8.0 EiB");
        assert_eq!(filesize(i64::MIN), "-8.0 EiB");
    }

    #[test]
    fn filesize_moves_up_a_unit_when_rounding_reaches_1024() {
        assert_eq!(filesize(1024 * 1024 - 1), "1.0 MiB");
        assert_eq!(filesize(1024 * 1024 - 60), "1023.9 KiB");
    }

    #[test]
    fn dates_are_utc() {
        assert_eq!(datetime(0).unwrap(), "1970-01-01 00:00 UTC");
        // 2026-11-25 14:03:09 UTC
        assert_eq!(datetime(1_795_615_389).unwrap(), "2026-11-25 14:03 UTC");
        assert_eq!(timeofday(1_795_615_389).unwrap(), "14:03 UTC");
        assert_eq!(isodate(1_795_615_389).unwrap(), "2026-11-25T14:03:09Z");
        assert_eq!(datetime(-86_400).unwrap(), "1969-12-31 00:00 UTC");
    }

    #[test]
    fn dates_written_by_hand_are_those_time_writes() {
        let by_time = |unix_seconds: i64, format: &dyn Fn(&OffsetDateTime) -> String| {
            format(&OffsetDateTime::from_unix_timestamp(unix_seconds).unwrap())
        };
        // Every few hours and minutes across four centuries, the years around the four-digit
        // bounds, and the first and last representable times.
        let mut times: Vec<i64> = (0..40_000)
            .map(|step| -12_000_000_000 + step * 315_569 * 3 + step % 3_600)
            .collect();
        times.extend([
            -30_610_224_000 - 1,
            -30_610_224_000,
            253_402_300_799,
            -62_167_219_200,
            -62_167_219_201,
            -377_705_116_800,
            0,
            -1,
        ]);
        for unix_seconds in times {
            let rfc3339 = by_time(unix_seconds, &|t| t.format(&Rfc3339).unwrap_or_default());
            assert_eq!(
                isodate(unix_seconds).unwrap_or_default(),
                rfc3339,
                "{unix_seconds}"
            );
            let full = format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
            let written = by_time(unix_seconds, &|t| t.format(full).unwrap());
            assert_eq!(datetime(unix_seconds).unwrap(), written, "{unix_seconds}");
            let time = format_description!("[hour]:[minute] UTC");
            let written = by_time(unix_seconds, &|t| t.format(time).unwrap());
            assert_eq!(timeofday(unix_seconds).unwrap(), written, "{unix_seconds}");
        }
    }

    #[test]
    fn leap_day_is_handled() {
        // 2024-02-29 23:59:59 UTC
        assert_eq!(datetime(1_709_251_199).unwrap(), "2024-02-29 23:59 UTC");
        assert_eq!(isodate(1_709_251_200).unwrap(), "2024-03-01T00:00:00Z");
    }

    #[test]
    fn unrepresentable_times_are_errors_not_panics() {
        assert!(datetime(i64::MAX).is_err());
        assert!(isodate(i64::MIN).is_err());
        assert!(timeofday(i64::MAX).is_err());
        // Representable by `time` but not in RFC 3339's four-digit years.
        assert!(isodate(-62_167_219_201).is_err());
    }

    #[test]
    fn chunkby_keeps_order_and_groups_neighbours() {
        let items = Value::from_serialize(serde_json::json!([
            {"day": "2026-11-25", "n": 1},
            {"day": "2026-11-25", "n": 2},
            {"day": "2026-11-24", "n": 3},
            {"day": "2026-11-25", "n": 4},
        ]));
        let runs = chunkby(items, "day").unwrap();
        let runs: serde_json::Value = serde_json::to_value(&runs).unwrap();
        assert_eq!(
            runs,
            serde_json::json!([
                ["2026-11-25", [{"day": "2026-11-25", "n": 1}, {"day": "2026-11-25", "n": 2}]],
                ["2026-11-24", [{"day": "2026-11-24", "n": 3}]],
                ["2026-11-25", [{"day": "2026-11-25", "n": 4}]],
            ])
        );
    }

    #[test]
    fn chunkby_rejects_items_without_the_attribute() {
        let items = Value::from_serialize(serde_json::json!([{"day": "x"}, {"n": 1}]));
        let err = chunkby(items, "day").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UndefinedError);
        assert!(chunkby(Value::UNDEFINED, "day").is_err());
    }

    #[test]
    fn form_target_splits_path_and_decoded_fields() {
        let split = |url| serde_json::to_value(form_target(url)).unwrap();
        assert_eq!(
            split("/wiki/A%20B?action=diff&x=a+b%26c&flag#top"),
            serde_json::json!([
                "/wiki/A%20B",
                [["action", "diff"], ["x", "a b&c"], ["flag", ""]]
            ])
        );
        assert_eq!(
            split("/wiki/A/+diff"),
            serde_json::json!(["/wiki/A/+diff", []])
        );
        assert_eq!(split("/x?"), serde_json::json!(["/x", []]));
        assert_eq!(
            split("/x?%ff=1"),
            serde_json::json!(["/x", [["\u{fffd}", "1"]]])
        );
    }

    #[test]
    fn relative_dates_round_down_to_the_largest_unit() {
        let now = 1_795_615_389;
        assert_eq!(ago_at(now, now), "just now");
        assert_eq!(ago_at(now - 59, now), "just now");
        assert_eq!(ago_at(now - 60, now), "1 minute ago");
        assert_eq!(ago_at(now - 3 * 3600 - 5, now), "3 hours ago");
        assert_eq!(ago_at(now - 30 * 3600, now), "yesterday");
        assert_eq!(ago_at(now - 5 * 86_400, now), "5 days ago");
        assert_eq!(ago_at(now - 65 * 86_400, now), "2 months ago");
        assert_eq!(ago_at(now - 800 * 86_400, now), "2 years ago");
        assert_eq!(ago_at(now + 30, now), "just now");
        assert_eq!(ago_at(now + 600, now), "in 10 minutes");
        assert_eq!(ago_at(i64::MIN, i64::MAX), "292471208677 years ago");
    }

    #[test]
    fn none_test_is_strict() {
        assert!(strict_none(&Value::from(())).unwrap());
        assert!(!strict_none(&Value::from(0)).unwrap());
        assert!(strict_none(&Value::UNDEFINED).is_err());
    }
}
