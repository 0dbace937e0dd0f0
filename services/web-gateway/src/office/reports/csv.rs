//! CSV downloads: UTF-8 with a byte order mark (so spreadsheet programs read Ukrainian text
//! right), quoted by the `csv` crate, as attachments.
//!
//! A report's table is at most a few hundred lines (buckets, statuses, staff, months): it is
//! written from the very table the page shows. The orders export is every order of the
//! period, so it streams: rows come from MySQL one by one (`sqlx` `fetch`), are written into
//! chunks of about 64 KiB and handed to the response body through a channel of a few
//! chunks, so its memory stays the same for 100 or 100,000 orders, and a client that reads
//! slowly holds the query back instead of filling memory.

use axum::body::Body;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use bureau_platform::business::TimeZone;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use sqlx::MySqlPool;

use super::tables::Table;
use super::texts::{self, ReportTexts};
use crate::office::i18n::Lang;
use crate::queries::reports::{self as sql, ExportLine, Range, to_jiff};

/// UTF-8's byte order mark.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";
/// About how much of the export is written before it is handed to the body.
const CHUNK_BYTES: usize = 64 * 1024;
/// Chunks waiting for the client at most.
const CHUNKS_IN_FLIGHT: usize = 4;

/// A table as CSV: the byte order mark, the headings, the rows as the page has them.
pub fn table(table: &Table) -> Result<Vec<u8>, csv::Error> {
    let mut writer = csv::Writer::from_writer(BOM.to_vec());
    writer.write_record(table.columns.iter().map(|c| c.csv_title.as_str()))?;
    for row in &table.rows {
        writer.write_record(row.iter().map(|c| c.raw.as_str()))?;
    }
    writer
        .into_inner()
        .map_err(|e| csv::Error::from(e.into_error()))
}

/// The answer that downloads `body` as `name`.
pub fn attachment(name: &str, body: Body) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    // Names are ours (a slug and dates): ASCII, no quotes.
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

/// `at` on the business's clock, as spreadsheets read a time (the zone is in the heading).
fn time(zone: &TimeZone, at: DateTime<Utc>) -> String {
    let offset = zone.to_offset(to_jiff(at)).seconds();
    (at + chrono::Duration::seconds(i64::from(offset)))
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

fn export_headings(t: &ReportTexts, zone: &TimeZone) -> [String; 11] {
    let name = zone.iana_name().unwrap_or("UTC");
    [
        t.number.to_owned(),
        format!("{} ({name})", t.created_at),
        t.channel.to_owned(),
        t.service.to_owned(),
        t.status.to_owned(),
        t.customer.to_owned(),
        t.phone.to_owned(),
        t.username.to_owned(),
        t.assignee.to_owned(),
        format!("{} ({name})", t.delivered_at),
        t.description.to_owned(),
    ]
}

fn export_record(lang: Lang, t: &ReportTexts, zone: &TimeZone, line: &ExportLine) -> [String; 11] {
    let status = proto_events::OrderStatus::parse(&line.status)
        .map(|s| lang.status(s))
        .unwrap_or_else(|| line.status.clone());
    let channel = match line.channel.as_str() {
        "telegram" => t.telegram.to_owned(),
        "web" => t.web.to_owned(),
        other => other.to_owned(),
    };
    [
        line.order_number.clone(),
        time(zone, line.created_at),
        channel,
        line.service_code.clone().unwrap_or_default(),
        status,
        line.customer_name.clone(),
        line.phone.clone().unwrap_or_default(),
        line.telegram_username
            .as_ref()
            .map(|u| format!("@{u}"))
            .unwrap_or_default(),
        line.assignee_name.clone().unwrap_or_default(),
        line.delivered_at
            .map(|at| time(zone, at))
            .unwrap_or_default(),
        line.body.clone(),
    ]
}

/// Every order created in `range`, streamed as CSV in bounded memory, its times on the
/// clock of `zone`.
pub fn orders(pool: MySqlPool, range: Range, zone: TimeZone, lang: Lang) -> Body {
    let (chunks, receiver) =
        tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(CHUNKS_IN_FLIGHT);
    tokio::spawn(async move {
        let t = texts::of(lang);
        // A writer per chunk: the `csv` writer gives its buffer back only as a whole.
        let chunk_writer = || csv::Writer::from_writer(Vec::with_capacity(CHUNK_BYTES + 16 * 1024));
        let mut writer = {
            let mut first = Vec::with_capacity(CHUNK_BYTES + 16 * 1024);
            first.extend_from_slice(BOM);
            csv::Writer::from_writer(first)
        };
        let written = writer.write_record(export_headings(t, &zone));
        let mut rows = sqlx::query_as::<_, ExportLine>(sql::EXPORT_ORDERS)
            .bind(range.from)
            .bind(range.until)
            .fetch(&pool);
        let mut failure = written.err().map(|e| e.to_string());
        let mut count: u64 = 0;
        while failure.is_none() {
            let Some(row) = rows.next().await else { break };
            let record = match row {
                Ok(line) => export_record(lang, t, &zone, &line),
                Err(error) => {
                    failure = Some(error.to_string());
                    break;
                }
            };
            if let Err(error) = writer.write_record(&record) {
                failure = Some(error.to_string());
                break;
            }
            count += 1;
            if writer.get_ref().len() >= CHUNK_BYTES {
                let full = std::mem::replace(&mut writer, chunk_writer());
                let chunk = match full.into_inner() {
                    Ok(bytes) => Bytes::from(bytes),
                    Err(error) => {
                        failure = Some(error.into_error().to_string());
                        break;
                    }
                };
                if chunks.send(Ok(chunk)).await.is_err() {
                    tracing::info!(rows = count, "the client left during the orders export");
                    return;
                }
            }
        }
        let last = match failure {
            None => writer
                .into_inner()
                .map(Bytes::from)
                .map_err(|e| e.into_error()),
            Some(reason) => {
                // The answer has begun: the client sees a cut-off body, the log says why.
                tracing::error!(rows = count, %reason, "the orders export failed");
                Err(std::io::Error::other(reason))
            }
        };
        if last.is_ok() {
            tracing::info!(rows = count, "orders exported");
        }
        let _ = chunks.send(last).await;
    });
    Body::from_stream(futures::stream::unfold(
        receiver,
        |mut receiver| async move { receiver.recv().await.map(|chunk| (chunk, receiver)) },
    ))
}
