//! Each report as one table: its columns, its rows (every cell as shown on the page and as
//! written to the CSV: the same figures, durations in seconds and amounts in major units for
//! spreadsheets) and the chart drawn from it. The page shows every table, a CSV download
//! one, so a CSV always holds exactly the figures of its table on the page.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use proto_events::OrderStatus;
use serde::Serialize;
use sqlx::MySqlPool;

use bureau_platform::business::TimeZone;

use super::period::{Period, bucket_of};
use super::texts::{self, ReportTexts};
use crate::office::i18n::Lang;
use crate::queries::reports::{self as sql, Clock, Grain};

/// The reports, by the slug their CSV is named with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Report {
    CreatedByChannel,
    CreatedByStatus,
    TimeInStatus,
    Turnaround,
    Staff,
    Revenue,
}

impl Report {
    pub const ALL: [Report; 6] = [
        Report::CreatedByChannel,
        Report::CreatedByStatus,
        Report::TimeInStatus,
        Report::Turnaround,
        Report::Staff,
        Report::Revenue,
    ];

    pub fn slug(self) -> &'static str {
        match self {
            Report::CreatedByChannel => "created-by-channel",
            Report::CreatedByStatus => "created-by-status",
            Report::TimeInStatus => "time-in-status",
            Report::Turnaround => "turnaround",
            Report::Staff => "staff",
            Report::Revenue => "revenue",
        }
    }

    pub fn parse(slug: &str) -> Option<Report> {
        Report::ALL.into_iter().find(|r| r.slug() == slug)
    }
}

pub struct Column {
    /// The heading on the page.
    pub title: String,
    /// The heading in the CSV (says the unit where the page shows a readable form).
    pub csv_title: String,
    pub numeric: bool,
}

impl Column {
    fn text(title: &str) -> Column {
        Column {
            title: title.to_owned(),
            csv_title: title.to_owned(),
            numeric: false,
        }
    }

    fn number(title: &str) -> Column {
        Column {
            numeric: true,
            ..Column::text(title)
        }
    }

    fn seconds(title: &str, unit: &str) -> Column {
        Column {
            title: title.to_owned(),
            csv_title: format!("{title}, {unit}"),
            numeric: true,
        }
    }
}

pub struct Cell {
    pub shown: String,
    pub raw: String,
}

impl Cell {
    fn text(text: impl Into<String>) -> Cell {
        let text = text.into();
        Cell {
            shown: text.clone(),
            raw: text,
        }
    }

    fn count(n: i64) -> Cell {
        Cell::text(n.to_string())
    }

    fn duration(secs: i64, t: &ReportTexts) -> Cell {
        Cell {
            shown: duration(secs, t),
            raw: secs.to_string(),
        }
    }
}

/// What a chart draws: one label per point of the x axis, and the series over them.
#[derive(Debug, Serialize)]
pub struct Chart {
    /// `line` (over time) or `bars` (over categories).
    pub kind: &'static str,
    pub labels: Vec<String>,
    pub series: Vec<Series>,
    /// The y axis' unit, if any.
    pub unit: String,
}

#[derive(Debug, Serialize)]
pub struct Series {
    pub label: String,
    pub values: Vec<Option<f64>>,
}

pub struct Table {
    pub report: Report,
    pub title: &'static str,
    pub hint: Option<&'static str>,
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Cell>>,
    /// Whether the last row is the total of the others.
    pub total_row: bool,
    pub chart: Chart,
}

impl Table {
    /// The rows as the CSV has them (for the page's `data-rows`, which tests read).
    pub fn raw_rows(&self) -> Vec<Vec<&str>> {
        self.rows
            .iter()
            .map(|row| row.iter().map(|c| c.raw.as_str()).collect())
            .collect()
    }
}

/// A duration as people read it: the two largest units (`2 d 3 h`, `3 h 5 min`, `40 s`).
pub fn duration(secs: i64, t: &ReportTexts) -> String {
    let units = [
        (86_400, t.unit_day),
        (3_600, t.unit_hour),
        (60, t.unit_minute),
        (1, t.unit_second),
    ];
    let secs = secs.max(0);
    let Some(first) = units.iter().position(|(size, _)| secs >= *size) else {
        return format!("0 {}", t.unit_second);
    };
    let (size, name) = units[first];
    let mut text = format!("{} {name}", secs / size);
    if let Some((next, next_name)) = units.get(first + 1) {
        let rest = (secs % size) / next;
        if rest > 0 {
            text.push_str(&format!(" {rest} {next_name}"));
        }
    }
    text
}

/// Minor units as major ones, `125050` → `1250.50` (every currency the business quotes in
/// has cents or kopiykas).
pub fn major(amount_minor: i64) -> String {
    let sign = if amount_minor < 0 { "-" } else { "" };
    let amount = amount_minor.unsigned_abs();
    format!("{sign}{}.{:02}", amount / 100, amount % 100)
}

fn hours(secs: f64) -> f64 {
    (secs / 36.0).round() / 100.0
}

/// Seconds to whole seconds: what the page, the CSV and the charts show.
fn whole(secs: f64) -> i64 {
    secs.round() as i64
}

fn channel_label(t: &ReportTexts, channel: &str) -> String {
    match channel {
        "telegram" => t.telegram.to_owned(),
        "web" => t.web.to_owned(),
        other => other.to_owned(),
    }
}

fn status_label(lang: Lang, status: &str) -> String {
    OrderStatus::parse(status)
        .map(|s| lang.status(s))
        .unwrap_or_else(|| status.to_owned())
}

/// Builds one report's table for the period, its days those of `zone`, reading only what
/// it needs: from the day tables when they are of `zone` (`sql::days`), from the history
/// itself otherwise (the same figures; the day tables are rebuilt meanwhile).
pub async fn table(
    pool: &MySqlPool,
    period: &Period,
    zone: &TimeZone,
    lang: Lang,
    report: Report,
) -> Result<Table, sqlx::Error> {
    let range = period.range(zone);
    let clock = Clock::of(zone, range);
    let days = sql::days::ready(pool, zone).await?;
    let (first, last, grain) = (period.first, period.last, period.grain);
    Ok(match report {
        Report::CreatedByChannel | Report::CreatedByStatus => {
            let counts = if days {
                sql::days::created_counts(pool, first, last, grain).await?
            } else {
                sql::created_counts(pool, range, &clock, grain).await?
            };
            if report == Report::CreatedByChannel {
                created_by_channel(period, lang, &counts)
            } else {
                created_by_status(period, lang, &counts)
            }
        }
        Report::TimeInStatus => {
            let stays = if days {
                sql::days::status_stays(pool, first, last).await?
            } else {
                sql::status_stays(pool, range).await?
            };
            time_in_status(lang, &stays)
        }
        Report::Turnaround => {
            let lines = if days {
                sql::days::turnaround(pool, first, last, grain).await?
            } else {
                sql::turnaround(pool, range, &clock, grain).await?
            };
            turnaround(period, lang, &lines)
        }
        Report::Staff => {
            let loads = if days {
                sql::days::staff_load(pool, first, last).await?
            } else {
                sql::staff_load(pool, range).await?
            };
            staff(lang, &loads)
        }
        Report::Revenue => {
            let lines = if days {
                sql::days::revenue(pool, first, last, range, &clock).await?
            } else {
                sql::revenue(pool, range, &clock).await?
            };
            revenue(period, lang, &lines)
        }
    })
}

/// Counts by bucket and key, every bucket of the period present (zeros included).
fn counts_by(
    period: &Period,
    counts: &[sql::CreatedCount],
    key: impl Fn(&sql::CreatedCount) -> &str,
) -> (Vec<NaiveDate>, BTreeMap<String, Vec<i64>>) {
    let buckets = period.buckets();
    let mut by_key: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for count in counts {
        let index = buckets.binary_search(&bucket_of(count.bucket, period.grain));
        if let Ok(index) = index {
            by_key
                .entry(key(count).to_owned())
                .or_insert_with(|| vec![0; buckets.len()])[index] += count.orders;
        }
    }
    (buckets, by_key)
}

fn created_table(
    period: &Period,
    lang: Lang,
    report: Report,
    title: &'static str,
    keys: Vec<(String, String)>,
    by_key: &BTreeMap<String, Vec<i64>>,
    buckets: &[NaiveDate],
) -> Table {
    let t = texts::of(lang);
    let zeros = vec![0; buckets.len()];
    let values: Vec<&Vec<i64>> = keys
        .iter()
        .map(|(key, _)| by_key.get(key).unwrap_or(&zeros))
        .collect();
    let totals: Vec<i64> = (0..buckets.len())
        .map(|i| values.iter().map(|v| v[i]).sum())
        .collect();
    let mut columns = vec![Column::text(t.bucket)];
    columns.extend(keys.iter().map(|(_, label)| Column::number(label)));
    columns.push(Column::number(t.total));
    let mut rows: Vec<Vec<Cell>> = buckets
        .iter()
        .enumerate()
        .map(|(i, bucket)| {
            let mut row = vec![Cell::text(period.label(*bucket))];
            row.extend(values.iter().map(|v| Cell::count(v[i])));
            row.push(Cell::count(totals[i]));
            row
        })
        .collect();
    let mut total_row = vec![Cell::text(t.total)];
    total_row.extend(values.iter().map(|v| Cell::count(v.iter().sum())));
    total_row.push(Cell::count(totals.iter().sum()));
    rows.push(total_row);
    let labels: Vec<String> = buckets.iter().map(|b| period.label(*b)).collect();
    let as_series = |label: &str, v: &[i64]| Series {
        label: label.to_owned(),
        values: v.iter().map(|n| Some(*n as f64)).collect(),
    };
    let mut series: Vec<Series> = keys
        .iter()
        .zip(&values)
        .filter(|(_, v)| v.iter().any(|n| *n > 0))
        .map(|((_, label), v)| as_series(label, v))
        .collect();
    if report == Report::CreatedByChannel {
        series.push(as_series(t.total, &totals));
    }
    Table {
        report,
        title,
        hint: None,
        columns,
        rows,
        total_row: true,
        chart: Chart {
            kind: "line",
            labels,
            series,
            unit: String::new(),
        },
    }
}

fn created_by_channel(period: &Period, lang: Lang, counts: &[sql::CreatedCount]) -> Table {
    let t = texts::of(lang);
    let (buckets, by_key) = counts_by(period, counts, |c| c.channel.as_str());
    let keys = ["telegram", "web"]
        .iter()
        .map(|c| (c.to_string(), channel_label(t, c)))
        .collect();
    created_table(
        period,
        lang,
        Report::CreatedByChannel,
        t.by_channel,
        keys,
        &by_key,
        &buckets,
    )
}

fn created_by_status(period: &Period, lang: Lang, counts: &[sql::CreatedCount]) -> Table {
    let t = texts::of(lang);
    let (buckets, by_key) = counts_by(period, counts, |c| c.status.as_str());
    let keys = OrderStatus::ALL
        .iter()
        .map(|s| (s.as_str().to_owned(), lang.status(*s)))
        .collect();
    created_table(
        period,
        lang,
        Report::CreatedByStatus,
        t.by_status,
        keys,
        &by_key,
        &buckets,
    )
}

fn time_in_status(lang: Lang, stays: &[sql::StatusStays]) -> Table {
    let t = texts::of(lang);
    // The state machine's order, then anything unknown.
    let rank = |status: &str| {
        OrderStatus::ALL
            .iter()
            .position(|s| s.as_str() == status)
            .unwrap_or(OrderStatus::ALL.len())
    };
    let mut stays: Vec<&sql::StatusStays> = stays.iter().collect();
    stays.sort_by_key(|s| (rank(&s.status), s.status.clone()));
    let rows = stays
        .iter()
        .map(|s| {
            vec![
                Cell::text(status_label(lang, &s.status)),
                Cell::count(s.stays),
                Cell::duration(whole(s.median_secs), t),
                Cell::duration(whole(s.p90_secs), t),
            ]
        })
        .collect();
    Table {
        report: Report::TimeInStatus,
        title: t.stays_title,
        hint: Some(t.stays_hint),
        columns: vec![
            Column::text(t.status),
            Column::number(t.stays),
            Column::seconds(t.median, t.seconds),
            Column::seconds(t.p90, t.seconds),
        ],
        rows,
        total_row: false,
        chart: Chart {
            kind: "bars",
            labels: stays
                .iter()
                .map(|s| status_label(lang, &s.status))
                .collect(),
            series: vec![
                Series {
                    label: t.median_hours.to_owned(),
                    values: stays.iter().map(|s| Some(hours(s.median_secs))).collect(),
                },
                Series {
                    label: t.p90_hours.to_owned(),
                    values: stays.iter().map(|s| Some(hours(s.p90_secs))).collect(),
                },
            ],
            unit: t.unit_hour.to_owned(),
        },
    }
}

fn turnaround(period: &Period, lang: Lang, lines: &[sql::Turnaround]) -> Table {
    let t = texts::of(lang);
    let buckets = period.buckets();
    let rows = lines
        .iter()
        .map(|line| {
            vec![
                Cell::text(match line.bucket {
                    None => t.whole_period.to_owned(),
                    Some(bucket) => period.label(bucket),
                }),
                Cell::count(line.orders),
                Cell::duration(whole(line.median_secs), t),
                Cell::duration(whole(line.p90_secs), t),
            ]
        })
        .collect();
    let at = |bucket: NaiveDate, value: fn(&sql::Turnaround) -> f64| {
        lines
            .iter()
            .find(|l| l.bucket == Some(bucket))
            .map(|l| hours(value(l)))
    };
    Table {
        report: Report::Turnaround,
        title: t.turnaround_title,
        hint: Some(t.turnaround_hint),
        columns: vec![
            Column::text(t.bucket),
            Column::number(t.delivered_orders),
            Column::seconds(t.median, t.seconds),
            Column::seconds(t.p90, t.seconds),
        ],
        rows,
        total_row: false,
        chart: Chart {
            kind: if period.grain == Grain::Day && buckets.len() > 1 {
                "line"
            } else {
                "bars"
            },
            labels: buckets.iter().map(|b| period.label(*b)).collect(),
            series: vec![
                Series {
                    label: t.median_hours.to_owned(),
                    values: buckets.iter().map(|b| at(*b, |l| l.median_secs)).collect(),
                },
                Series {
                    label: t.p90_hours.to_owned(),
                    values: buckets.iter().map(|b| at(*b, |l| l.p90_secs)).collect(),
                },
            ],
            unit: t.unit_hour.to_owned(),
        },
    }
}

fn staff(lang: Lang, loads: &[sql::StaffLoad]) -> Table {
    let t = texts::of(lang);
    let name = |l: &sql::StaffLoad| {
        if l.active {
            l.display_name.clone()
        } else {
            format!("{} ({})", l.display_name, t.inactive)
        }
    };
    let rows = loads
        .iter()
        .map(|l| {
            vec![
                Cell::text(name(l)),
                Cell::text(l.role.clone()),
                Cell::count(l.finished),
                Cell::count(l.delivered),
                Cell::count(l.open_now),
            ]
        })
        .collect();
    let series = |label: &str, value: fn(&sql::StaffLoad) -> i64| Series {
        label: label.to_owned(),
        values: loads.iter().map(|l| Some(value(l) as f64)).collect(),
    };
    Table {
        report: Report::Staff,
        title: t.staff_title,
        hint: Some(t.staff_hint),
        columns: vec![
            Column::text(t.person),
            Column::text(t.role),
            Column::number(t.finished),
            Column::number(t.delivered),
            Column::number(t.open_now),
        ],
        rows,
        total_row: false,
        chart: Chart {
            kind: "bars",
            labels: loads.iter().map(name).collect(),
            series: vec![
                series(t.finished, |l| l.finished),
                series(t.delivered, |l| l.delivered),
                series(t.open_now, |l| l.open_now),
            ],
            unit: String::new(),
        },
    }
}

fn source_label(t: &ReportTexts, source: &str) -> String {
    match source {
        "quotes" => t.quotes_source.to_owned(),
        "payments" => t.payments_source.to_owned(),
        other => other.to_owned(),
    }
}

fn revenue(period: &Period, lang: Lang, lines: &[sql::Revenue]) -> Table {
    let t = texts::of(lang);
    let months = period.months();
    let month_label = |m: NaiveDate| m.format("%Y-%m").to_string();
    let rows = lines
        .iter()
        .map(|l| {
            vec![
                Cell::text(month_label(l.month)),
                Cell::text(source_label(t, &l.source)),
                Cell::text(l.currency.clone()),
                Cell::count(l.orders),
                Cell {
                    shown: format!("{} {}", major(l.amount_minor), l.currency),
                    raw: major(l.amount_minor),
                },
            ]
        })
        .collect();
    // One series per source and currency, over every month of the period.
    let mut keys: Vec<(&str, &str)> = lines
        .iter()
        .map(|l| (l.source.as_str(), l.currency.as_str()))
        .collect();
    keys.sort();
    keys.dedup();
    let series = keys
        .iter()
        .map(|(source, currency)| Series {
            label: format!("{}, {currency}", source_label(t, source)),
            values: months
                .iter()
                .map(|m| {
                    let amount: i64 = lines
                        .iter()
                        .filter(|l| l.month == *m && l.source == *source && l.currency == *currency)
                        .map(|l| l.amount_minor)
                        .sum();
                    Some(amount as f64 / 100.0)
                })
                .collect(),
        })
        .collect();
    Table {
        report: Report::Revenue,
        title: t.revenue_title,
        hint: Some(t.revenue_hint),
        columns: vec![
            Column::text(t.month),
            Column::text(t.source),
            Column::text(t.currency),
            Column::number(t.orders),
            Column::number(t.amount),
        ],
        rows,
        total_row: false,
        chart: Chart {
            kind: "bars",
            labels: months.iter().map(|m| month_label(*m)).collect(),
            series,
            unit: String::new(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_people_say_them() {
        let t = texts::of(Lang::En);
        assert_eq!(duration(0, t), "0 s");
        assert_eq!(duration(40, t), "40 s");
        assert_eq!(duration(3_600, t), "1 h");
        assert_eq!(duration(3 * 3_600 + 5 * 60 + 7, t), "3 h 5 min");
        assert_eq!(duration(2 * 86_400 + 3 * 3_600, t), "2 d 3 h");
        assert_eq!(duration(90, texts::of(Lang::Uk)), "1 хв 30 с");
    }

    #[test]
    fn amounts_are_major_units() {
        assert_eq!(major(125_050), "1250.50");
        assert_eq!(major(5), "0.05");
        assert_eq!(major(-150), "-1.50");
    }
}
