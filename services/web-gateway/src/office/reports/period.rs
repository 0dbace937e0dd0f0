//! The period a report covers: a preset (last 7 or 30 days, this month, last month, this
//! year) or custom dates, in whole days of the business's time zone, and how it is cut into
//! buckets (days, weeks from Monday, months). "Today" is the business's today; a day runs
//! from its local midnight to the next (23 or 25 hours on a summer-time change), and the
//! page names the zone.

use bureau_platform::business::TimeZone;
use chrono::{DateTime, Datelike, Days, Months, NaiveDate, Utc};
use serde::Deserialize;

use crate::queries::reports::{Grain, Range, from_jiff, to_jiff};

/// The business's date at `now`.
pub fn today(zone: &TimeZone, now: DateTime<Utc>) -> NaiveDate {
    let date = to_jiff(now).to_zoned(zone.clone()).date();
    NaiveDate::from_ymd_opt(
        i32::from(date.year()),
        date.month() as u32,
        date.day() as u32,
    )
    .unwrap_or_else(|| now.date_naive())
}

/// The first instant of `day` in `zone` (its midnight, or the first moment after a
/// summer-time gap at midnight).
pub fn start_of(zone: &TimeZone, day: NaiveDate) -> DateTime<Utc> {
    let start = i16::try_from(day.year())
        .ok()
        .and_then(|year| jiff::civil::Date::new(year, day.month() as i8, day.day() as i8).ok())
        .and_then(|date| date.to_zoned(zone.clone()).ok())
        .and_then(|zoned| zoned.start_of_day().ok());
    match start {
        Some(zoned) => from_jiff(zoned.timestamp()),
        None => day.and_time(chrono::NaiveTime::MIN).and_utc(),
    }
}

/// A period's choice in the form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    Last7Days,
    Last30Days,
    ThisMonth,
    LastMonth,
    ThisYear,
    Custom,
}

impl Preset {
    pub const ALL: [Preset; 6] = [
        Preset::Last7Days,
        Preset::Last30Days,
        Preset::ThisMonth,
        Preset::LastMonth,
        Preset::ThisYear,
        Preset::Custom,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Preset::Last7Days => "7d",
            Preset::Last30Days => "30d",
            Preset::ThisMonth => "month",
            Preset::LastMonth => "last-month",
            Preset::ThisYear => "year",
            Preset::Custom => "custom",
        }
    }

    pub fn parse(name: &str) -> Option<Preset> {
        Preset::ALL.into_iter().find(|p| p.as_str() == name)
    }

    /// The first and last day (both included) of the preset, seen on `today`.
    fn days(self, today: NaiveDate) -> (NaiveDate, NaiveDate) {
        let month_start = today.with_day(1).unwrap_or(today);
        match self {
            Preset::Last7Days => (today - Days::new(6), today),
            Preset::Last30Days | Preset::Custom => (today - Days::new(29), today),
            Preset::ThisMonth => (month_start, today),
            Preset::LastMonth => {
                let start = month_start - Months::new(1);
                (start, month_start - Days::new(1))
            }
            Preset::ThisYear => (
                NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap_or(today),
                today,
            ),
        }
    }
}

/// What the report form sends (`GET /office/reports?...`, and the CSV links).
#[derive(Debug, Default, Clone, Deserialize)]
pub struct PeriodQuery {
    pub preset: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub by: Option<String>,
}

/// Why the custom dates were not used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeriodError {
    BadDate,
    Backwards,
}

/// The period a report covers, in whole days of the business.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub preset: Preset,
    /// The first day, included.
    pub first: NaiveDate,
    /// The last day, included.
    pub last: NaiveDate,
    pub grain: Grain,
}

/// Buckets a chart may have before the grain gets coarser by itself.
const MAX_BUCKETS: usize = 400;

impl Period {
    /// The period the query asks for, seen on `today`; bad custom dates fall back to the
    /// last 30 days, with the reason.
    pub fn from_query(query: &PeriodQuery, today: NaiveDate) -> (Period, Option<PeriodError>) {
        let given = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let from = given(&query.from);
        let to = given(&query.to);
        let preset = given(&query.preset)
            .and_then(|p| Preset::parse(&p))
            .unwrap_or(if from.is_some() || to.is_some() {
                Preset::Custom
            } else {
                Preset::Last30Days
            });
        let (mut first, mut last) = preset.days(today);
        let mut error = None;
        if preset == Preset::Custom {
            let day = |v: &Option<String>| {
                v.as_deref()
                    .map(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d"))
            };
            match (day(&from), day(&to)) {
                (Some(Err(_)), _) | (_, Some(Err(_))) => error = Some(PeriodError::BadDate),
                (from, to) => {
                    let from = from.and_then(Result::ok).unwrap_or(first);
                    let to = to.and_then(Result::ok).unwrap_or(today.max(from));
                    if from > to {
                        error = Some(PeriodError::Backwards);
                    } else {
                        (first, last) = (from, to);
                    }
                }
            }
        }
        let preset = if error.is_some() {
            Preset::Last30Days
        } else {
            preset
        };
        let asked = given(&query.by).and_then(|g| Grain::parse(&g));
        let mut grain = asked.unwrap_or_else(|| {
            let days = (last - first).num_days() + 1;
            if days <= 62 {
                Grain::Day
            } else if days <= 366 {
                Grain::Week
            } else {
                Grain::Month
            }
        });
        let mut period = Period {
            preset,
            first,
            last,
            grain,
        };
        while period.buckets().len() > MAX_BUCKETS && grain != Grain::Month {
            grain = if grain == Grain::Day {
                Grain::Week
            } else {
                Grain::Month
            };
            period.grain = grain;
        }
        (period, error)
    }

    /// The instants it covers in `zone`: from the first day's local midnight to the local
    /// midnight after the last day.
    pub fn range(&self, zone: &TimeZone) -> Range {
        Range {
            from: start_of(zone, self.first),
            until: start_of(zone, self.last + Days::new(1)),
        }
    }

    /// The first day of every bucket the period touches, in order (the first may start
    /// before the period: a week begun before it, a month).
    pub fn buckets(&self) -> Vec<NaiveDate> {
        let mut buckets = Vec::new();
        let mut start = bucket_of(self.first, self.grain);
        while start <= self.last {
            buckets.push(start);
            start = match self.grain {
                Grain::Day => start + Days::new(1),
                Grain::Week => start + Days::new(7),
                Grain::Month => start + Months::new(1),
            };
        }
        buckets
    }

    /// The months the period touches (revenue is by month whatever the grain).
    pub fn months(&self) -> Vec<NaiveDate> {
        Period {
            grain: Grain::Month,
            ..*self
        }
        .buckets()
    }

    /// A bucket as its label: `2026-11-30` (a day, or the Monday a week starts), `2026-11`.
    pub fn label(&self, bucket: NaiveDate) -> String {
        match self.grain {
            Grain::Month => bucket.format("%Y-%m").to_string(),
            _ => bucket.format("%Y-%m-%d").to_string(),
        }
    }

    /// The query string that asks for this period again (for links and CSV downloads).
    pub fn query_string(&self) -> String {
        match self.preset {
            Preset::Custom => format!(
                "preset=custom&from={}&to={}&by={}",
                self.first,
                self.last,
                self.grain.as_str()
            ),
            preset => format!("preset={}&by={}", preset.as_str(), self.grain.as_str()),
        }
    }
}

/// The first day of the bucket `day` falls in.
pub fn bucket_of(day: NaiveDate, grain: Grain) -> NaiveDate {
    match grain {
        Grain::Day => day,
        Grain::Week => day - Days::new(u64::from(day.weekday().num_days_from_monday())),
        Grain::Month => day.with_day(1).unwrap_or(day),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn query(preset: &str, from: &str, to: &str) -> PeriodQuery {
        let some = |v: &str| (!v.is_empty()).then(|| v.to_owned());
        PeriodQuery {
            preset: some(preset),
            from: some(from),
            to: some(to),
            by: None,
        }
    }

    #[test]
    fn presets_are_whole_days_seen_on_today() {
        let today = day("2026-03-15");
        let cases = [
            ("7d", "2026-03-09", "2026-03-15", Grain::Day),
            ("30d", "2026-02-14", "2026-03-15", Grain::Day),
            ("month", "2026-03-01", "2026-03-15", Grain::Day),
            ("last-month", "2026-02-01", "2026-02-28", Grain::Day),
            ("year", "2026-01-01", "2026-03-15", Grain::Week),
            ("", "2026-02-14", "2026-03-15", Grain::Day),
        ];
        for (preset, first, last, grain) in cases {
            let (period, error) = Period::from_query(&query(preset, "", ""), today);
            assert_eq!(error, None);
            assert_eq!(
                (period.first, period.last),
                (day(first), day(last)),
                "{preset}"
            );
            assert_eq!(period.grain, grain, "{preset}");
        }
        let (january, _) = Period::from_query(&query("last-month", "", ""), day("2026-01-10"));
        assert_eq!(
            (january.first, january.last),
            (day("2025-12-01"), day("2025-12-31"))
        );
        let range = january.range(&TimeZone::UTC);
        assert_eq!(range.from.to_rfc3339(), "2025-12-01T00:00:00+00:00");
        assert_eq!(range.until.to_rfc3339(), "2026-01-01T00:00:00+00:00");
    }

    #[test]
    fn days_are_the_business_s_days_in_its_zone() {
        let kyiv = TimeZone::get("Europe/Kyiv").unwrap();
        let at = |text: &str| DateTime::parse_from_rfc3339(text).unwrap().to_utc();
        // 22:30 UTC on 31 December is already New Year's Day in Kyiv: "this year" is 2027.
        assert_eq!(today(&kyiv, at("2026-12-31T22:30:00Z")), day("2027-01-01"));
        assert_eq!(today(&kyiv, at("2026-12-31T21:59:59Z")), day("2026-12-31"));
        let new_york = TimeZone::get("America/New_York").unwrap();
        assert_eq!(
            today(&new_york, at("2027-01-01T03:00:00Z")),
            day("2026-12-31")
        );
        // March 2026 in Kyiv: from midnight +02:00 to midnight +03:00 (summer time began
        // on the 29th, a day of 23 hours).
        let (march, _) = Period::from_query(
            &query("custom", "2026-03-01", "2026-03-31"),
            day("2026-04-02"),
        );
        let range = march.range(&kyiv);
        assert_eq!(range.from.to_rfc3339(), "2026-02-28T22:00:00+00:00");
        assert_eq!(range.until.to_rfc3339(), "2026-03-31T21:00:00+00:00");
        assert_eq!(
            start_of(&kyiv, day("2026-03-30")) - start_of(&kyiv, day("2026-03-29")),
            chrono::Duration::hours(23)
        );
        assert_eq!(
            start_of(&kyiv, day("2026-10-26")) - start_of(&kyiv, day("2026-10-25")),
            chrono::Duration::hours(25)
        );
    }

    #[test]
    fn custom_dates_are_checked_and_bad_ones_fall_back() {
        let today = day("2026-03-15");
        let (period, error) = Period::from_query(&query("", "2025-01-01", "2025-12-31"), today);
        assert_eq!(error, None);
        assert_eq!(period.preset, Preset::Custom);
        assert_eq!(period.grain, Grain::Week);
        let (period, error) =
            Period::from_query(&query("custom", "2026-03-10", "2026-03-01"), today);
        assert_eq!(error, Some(PeriodError::Backwards));
        assert_eq!(period.preset, Preset::Last30Days);
        let (_, error) = Period::from_query(&query("custom", "10.03.2026", ""), today);
        assert_eq!(error, Some(PeriodError::BadDate));
    }

    #[test]
    fn buckets_cover_the_period_and_too_many_coarsen_the_grain() {
        let (period, _) = Period::from_query(
            &PeriodQuery {
                preset: Some("custom".into()),
                from: Some("2026-11-04".into()),
                to: Some("2026-11-17".into()),
                by: Some("week".into()),
            },
            day("2026-12-01"),
        );
        let labels: Vec<String> = period
            .buckets()
            .into_iter()
            .map(|b| period.label(b))
            .collect();
        assert_eq!(labels, ["2026-11-02", "2026-11-09", "2026-11-16"]);
        assert_eq!(period.months(), [day("2026-11-01")]);
        let (long, _) = Period::from_query(
            &PeriodQuery {
                preset: Some("custom".into()),
                from: Some("2020-01-01".into()),
                to: Some("2026-01-01".into()),
                by: Some("day".into()),
            },
            day("2026-12-01"),
        );
        assert_eq!(long.grain, Grain::Week);
        assert!(long.buckets().len() <= MAX_BUCKETS);
    }
}
