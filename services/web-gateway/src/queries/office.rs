//! The back office's reads: the order list with its filters, search and keyset paging, the
//! counts per status, the board, an order with its customer, and everything its timeline
//! shows; and the one write the gateway makes about staff work, the audit log. Who may see
//! what is decided by the caller ([`Scope`] narrows an executor's lists).

use chrono::{DateTime, Utc};
use proto_events::{Channel, OrderStatus};
use sqlx::{MySql, MySqlPool, QueryBuilder};
use uuid::Uuid;

/// Which orders a staff member's lists hold at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Everything,
    /// An executor: their own orders, and unassigned ones when they may take them.
    AssignedTo {
        account_id: Uuid,
        with_unassigned: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssigneeFilter {
    Unassigned,
    Account(Uuid),
}

/// The list's filters; `None` means any.
#[derive(Debug, Clone, Default)]
pub struct OrderFilter {
    pub status: Option<OrderStatus>,
    pub channel: Option<Channel>,
    pub service: Option<String>,
    pub assignee: Option<AssigneeFilter>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_before: Option<DateTime<Utc>>,
    /// Words; each must start a word of the number, the customer's name, phone or
    /// Telegram username, or the description (the FULLTEXT `orders_search`, see [`search`]).
    pub words: Vec<String>,
    /// One customer's orders (the customer page, `?customer=` on the list).
    pub customer: Option<Uuid>,
}

/// The list's order; every one walks an index (`orders_created`, `orders_updated`) and
/// pages by keyset on (its time, id).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Sort {
    /// Newest first (by creation).
    #[default]
    Newest,
    /// Oldest first: what waits longest.
    Oldest,
    /// Most recently changed first (status, assignment, anything the worker records).
    Updated,
}

impl Sort {
    pub const ALL: [Sort; 3] = [Sort::Newest, Sort::Oldest, Sort::Updated];

    pub fn as_str(self) -> &'static str {
        match self {
            Sort::Newest => "newest",
            Sort::Oldest => "oldest",
            Sort::Updated => "updated",
        }
    }

    pub fn parse(text: &str) -> Option<Sort> {
        Sort::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// The time column it orders by.
    fn column(self) -> &'static str {
        match self {
            Sort::Newest | Sort::Oldest => "o.created_at",
            Sort::Updated => "o.updated_at",
        }
    }

    fn descending(self) -> bool {
        self != Sort::Oldest
    }

    /// Where a line is in this order, for the next page's cursor.
    pub fn cursor_of(self, line: &OfficeOrderLine) -> Cursor {
        Cursor {
            created_at: match self {
                Sort::Newest | Sort::Oldest => line.created_at,
                Sort::Updated => line.updated_at,
            },
            id: line.id,
        }
    }
}

/// Where a page of the list starts: after this order, in the list's [`Sort`] (the time is
/// the one the sort orders by).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub created_at: DateTime<Utc>,
    pub id: Uuid,
}

impl Cursor {
    /// `{micros}_{uuid}`, as the "older" link carries it.
    pub fn encode(self) -> String {
        format!(
            "{}_{}",
            self.created_at.timestamp_micros(),
            self.id.simple()
        )
    }

    pub fn decode(text: &str) -> Option<Cursor> {
        let (micros, id) = text.split_once('_')?;
        Some(Cursor {
            created_at: DateTime::from_timestamp_micros(micros.parse().ok()?)?,
            id: Uuid::parse_str(id).ok()?,
        })
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OfficeOrderLine {
    pub id: Uuid,
    pub order_number: String,
    pub status: String,
    pub status_version: u32,
    pub channel: String,
    pub service_code: Option<String>,
    pub body_start: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub customer_name: String,
    pub telegram_username: Option<String>,
    pub unreachable_since: Option<DateTime<Utc>>,
    pub assignee_id: Option<Uuid>,
    pub assignee_name: Option<String>,
}

/// `STRAIGHT_JOIN`: orders first, always. Every filter, the search and the sort are on
/// `orders`, so the page is read from one of its indexes (`orders_created` backwards, a
/// status's `orders_status`, the FULLTEXT `orders_search`) and stops after `limit + 1`
/// lines; left to itself MariaDB 10.11 read all 20,000 customers first and sorted 100,000
/// joined rows (2–4 s a page, `docs/benchmarks.md`).
const LINE_COLUMNS: &str = "SELECT o.id, o.order_number, o.status, o.status_version, o.channel, o.service_code, \
       SUBSTRING(o.body, 1, 161) AS body_start, o.created_at, o.updated_at, c.display_name AS customer_name, \
       c.telegram_username, c.telegram_unreachable_at AS unreachable_since, o.assignee_id, \
       a.display_name AS assignee_name \
     FROM orders o";

/// What follows `orders o` (and its index hint, if any) in a line's query.
const LINE_JOINS: &str = " STRAIGHT_JOIN customers c ON c.id = o.customer_id \
     LEFT JOIN web_accounts a ON a.id = o.assignee_id WHERE 1 = 1";

/// `LIKE` pattern matching `text` anywhere, with its own wildcards taken literally.
fn contains(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// The shortest word the FULLTEXT indexes hold (MariaDB's `innodb_ft_min_token_size`,
/// 3 by default); a shorter one is looked for with `LIKE` among the rows the longer words
/// found (or, alone, by a scan).
const MIN_TOKEN_CHARS: usize = 3;

/// A search, split for the FULLTEXT index (`migrations/20261206770001_office_search.sql`):
/// the words every row must start a word with, and the short pieces the index cannot hold.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Search {
    /// Each must start a word of the search text; a term of several pieces (a phone as
    /// typed and its local number) is met by any of them.
    pub terms: Vec<Vec<String>>,
    /// Pieces under [`MIN_TOKEN_CHARS`], each to be found anywhere in the search text.
    pub short: Vec<String>,
}

impl Search {
    /// The BOOLEAN MODE query: `+term* +(digits* local*) ...`, or `None` when no piece is
    /// long enough.
    pub fn against(&self) -> Option<String> {
        let terms: Vec<String> = self
            .terms
            .iter()
            .map(|pieces| match pieces.as_slice() {
                [one] => format!("+{one}*"),
                many => format!(
                    "+({})",
                    many.iter()
                        .map(|p| format!("{p}*"))
                        .collect::<Vec<_>>()
                        .join(" ")
                ),
            })
            .collect();
        (!terms.is_empty()).then(|| terms.join(" "))
    }
}

/// Splits each word the way InnoDB's parser splits the search text (letters, digits and
/// `_` make a word; anything else separates), so the query's operators can never come from
/// the user. A word that is a phone or an order number (digits with `+ - ( )` around) is one
/// piece of digits: found as the start of the whole number, and (without its leading 0) as
/// the start of the 9-digit local number the search text also keeps.
pub(crate) fn search(words: &[String]) -> Search {
    let mut terms: Vec<Vec<String>> = Vec::new();
    let mut short = Vec::new();
    for word in words {
        let digits: String = word.chars().filter(char::is_ascii_digit).collect();
        let phone_like = digits.len() >= MIN_TOKEN_CHARS
            && word
                .chars()
                .all(|c| c.is_ascii_digit() || "+-()№#".contains(c));
        if phone_like {
            let local = digits.strip_prefix('0').unwrap_or(&digits);
            if local != digits && local.len() >= MIN_TOKEN_CHARS {
                terms.push(vec![digits.clone(), local.to_owned()]);
            } else {
                terms.push(vec![digits]);
            }
            continue;
        }
        for piece in word
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .filter(|p| !p.is_empty())
        {
            if piece.chars().count() < MIN_TOKEN_CHARS {
                short.push(piece.to_owned());
            } else {
                terms.push(vec![piece.to_owned()]);
            }
        }
    }
    Search { terms, short }
}

/// Narrows to rows whose `column` (a FULLTEXT-indexed search text) holds every word, asking
/// the index.
fn push_search(sql: &mut QueryBuilder<MySql>, column: &str, words: &[String]) {
    let search = search(words);
    if let Some(against) = search.against() {
        sql.push(format!(" AND MATCH({column}) AGAINST ("))
            .push_bind(against)
            .push(" IN BOOLEAN MODE)");
    }
    push_short(sql, column, &search);
}

fn push_short(sql: &mut QueryBuilder<MySql>, column: &str, search: &Search) {
    for piece in &search.short {
        sql.push(format!(" AND {column} LIKE "))
            .push_bind(contains(piece));
    }
}

/// What separates words in a search text, as InnoDB's parser splits it (anything but a
/// letter, a digit or `_`; `(*UCP)`: in every script), as an SQL literal: a constant
/// pattern is compiled once per statement.
const SEPARATORS: &str = r"'(*UCP)\\W+'";

/// Narrows to rows whose `column` holds every word, testing each row read (the same match
/// as [`push_search`]'s, without the index: a word starts a word of the text, compared in
/// the column's collation — case and accents aside, as the FULLTEXT index compares). Cheap
/// first: the piece anywhere, then after a space; the text's separators made spaces only
/// for a row whose piece follows something else (a bracket, a quote, a line break).
fn push_probe(sql: &mut QueryBuilder<MySql>, column: &str, search: &Search) {
    for pieces in &search.terms {
        sql.push(" AND (");
        for (n, piece) in pieces.iter().enumerate() {
            if n > 0 {
                sql.push(" OR ");
            }
            let word_start = format!("% {}", &contains(piece)[1..]);
            sql.push(format!("({column} LIKE "))
                .push_bind(contains(piece))
                .push(format!(" AND (CONCAT(' ', {column}) LIKE "))
                .push_bind(word_start.clone())
                .push(format!(
                    " OR CONCAT(' ', REGEXP_REPLACE({column}, {SEPARATORS}, ' ')) LIKE "
                ))
                .push_bind(word_start)
                .push("))");
        }
        sql.push(")");
    }
    push_short(sql, column, search);
}

pub(crate) fn push_scope(sql: &mut QueryBuilder<MySql>, scope: Scope) {
    if let Scope::AssignedTo {
        account_id,
        with_unassigned,
    } = scope
    {
        sql.push(" AND (o.assignee_id = ").push_bind(account_id);
        if with_unassigned {
            sql.push(" OR o.assignee_id IS NULL");
        }
        sql.push(")");
    }
}

/// Every filter but the status and the search words (the counts per status share them).
fn push_plain_filters(sql: &mut QueryBuilder<MySql>, filter: &OrderFilter) {
    if let Some(customer) = filter.customer {
        sql.push(" AND o.customer_id = ").push_bind(customer);
    }
    if let Some(channel) = filter.channel {
        sql.push(" AND o.channel = ").push_bind(channel.as_str());
    }
    if let Some(service) = &filter.service {
        sql.push(" AND o.service_code = ")
            .push_bind(service.clone());
    }
    match filter.assignee {
        None => {}
        Some(AssigneeFilter::Unassigned) => {
            sql.push(" AND o.assignee_id IS NULL");
        }
        Some(AssigneeFilter::Account(id)) => {
            sql.push(" AND o.assignee_id = ").push_bind(id);
        }
    }
    if let Some(from) = filter.created_from {
        sql.push(" AND o.created_at >= ").push_bind(from);
    }
    if let Some(before) = filter.created_before {
        sql.push(" AND o.created_at < ").push_bind(before);
    }
}

/// Every filter but the status, the search asked of the FULLTEXT index.
fn push_filters(sql: &mut QueryBuilder<MySql>, filter: &OrderFilter) {
    push_plain_filters(sql, filter);
    push_search(sql, "o.search_text", &filter.words);
}

/// How a list's rows are found among the search words.
#[derive(Clone, Copy)]
enum Matching {
    /// The FULLTEXT index finds every match; they are sorted (or grouped).
    Index,
    /// The list's own index is walked in its order, each row's search text tested, no
    /// further than `end` (the last row of the window; `None`: to the end of the list).
    Walk { end: Option<Cursor> },
}

/// A search walks at most this many of the list's rows (in the list's order, on its own
/// index, each row tested by [`push_probe`]) before it asks the FULLTEXT index instead.
///
/// Why both: the index answers with *every* match, which is then sorted for the page (or
/// grouped for the counts). For a name or a rare word that is a few hundred rows and a few
/// milliseconds; for the start of a word found in a fifth of all orders (`переклад`,
/// ~19,000 of 100,000) the index alone took 80–150 ms, before any sorting. Such a word
/// fills a page of 50 within the newest few hundred rows, so the walk stops early; a word
/// too rare to fill the page within the window gives the index few matches to return.
/// The walk is bounded, so a rare word costs at most this many tests before the index
/// (`docs/benchmarks.md`, "Back office").
pub const WALK_ROWS: u32 = 1_000;

/// With search words, the counts per status of a broad search are those of its newest
/// this-many matches, each shown as "n+" (at least): counting every match of a word in a
/// fifth of all orders is what the index alone cannot do quickly.
pub const SEARCH_COUNT_SAMPLE: i64 = 100;

/// Whether a search is worth walking the list for: not for a number or a phone (digits:
/// found in an order or three, the index's best case). An executor's list walks too: the
/// window is the newest [`WALK_ROWS`] of *their* rows, found from `orders_assignee` (their
/// own and, where they may take them, the unassigned), and the page then walks the list's
/// index under that bound (see [`lines`]). Asked of the FULLTEXT index instead, a word in a
/// fifth of all descriptions took 160–220 ms for an executor (`docs/benchmarks.md`).
fn walks(search: &Search) -> bool {
    !search.terms.is_empty()
        && !search
            .terms
            .iter()
            .any(|pieces| pieces.iter().all(|p| p.chars().all(|c| c.is_ascii_digit())))
}

/// `(column, id)` after `cursor` in the list's direction.
fn push_after(sql: &mut QueryBuilder<MySql>, sort: Sort, cursor: Cursor) {
    let column = sort.column();
    let beyond = if sort.descending() { "<" } else { ">" };
    sql.push(format!(" AND ({column} {beyond} "))
        .push_bind(cursor.created_at)
        .push(format!(" OR ({column} = "))
        .push_bind(cursor.created_at)
        .push(format!(" AND o.id {beyond} "))
        .push_bind(cursor.id)
        .push("))");
}

/// `(column, id)` no further than `end` in the list's direction (`end` included).
fn push_until(sql: &mut QueryBuilder<MySql>, sort: Sort, end: Cursor) {
    let column = sort.column();
    let short_of = if sort.descending() { ">" } else { "<" };
    sql.push(format!(" AND ({column} {short_of} "))
        .push_bind(end.created_at)
        .push(format!(" OR ({column} = "))
        .push_bind(end.created_at)
        .push(format!(" AND o.id {short_of}= "))
        .push_bind(end.id)
        .push("))");
}

fn push_order(sql: &mut QueryBuilder<MySql>, sort: Sort) {
    let column = sort.column();
    let direction = if sort.descending() { "DESC" } else { "ASC" };
    sql.push(format!(" ORDER BY {column} {direction}, o.id {direction}"));
}

/// The last row of a walk's window: the `rows`-th of the list (its scope, status and
/// filters, not the search) after `after`, in `sort`'s order; `None` when fewer remain.
/// Read from the list's own index (`orders_created`, `orders_updated`, `orders_status`).
async fn window_end(
    pool: &MySqlPool,
    scope: Scope,
    filter: &OrderFilter,
    status: Option<OrderStatus>,
    sort: Sort,
    after: Option<Cursor>,
    rows: u32,
) -> Result<Option<Cursor>, sqlx::Error> {
    let column = sort.column();
    let mut sql = QueryBuilder::<MySql>::new(format!(
        "SELECT {column} AS created_at, o.id FROM orders o WHERE 1 = 1"
    ));
    push_scope(&mut sql, scope);
    if let Some(status) = status {
        sql.push(" AND o.status = ").push_bind(status.as_str());
    }
    push_plain_filters(&mut sql, filter);
    if let Some(cursor) = after {
        push_after(&mut sql, sort, cursor);
    }
    push_order(&mut sql, sort);
    sql.push(" LIMIT 1 OFFSET ")
        .push_bind(rows.saturating_sub(1));
    let end: Option<(DateTime<Utc>, Uuid)> = sql.build_query_as().fetch_optional(pool).await?;
    Ok(end.map(|(created_at, id)| Cursor { created_at, id }))
}

/// One page of the list in `sort`'s order, starting after `after`; `limit + 1` rows when
/// more follow. With search words the newest [`WALK_ROWS`] rows are walked first (see
/// there); the FULLTEXT index answers when they hold no full page.
pub async fn orders(
    pool: &MySqlPool,
    scope: Scope,
    filter: &OrderFilter,
    sort: Sort,
    after: Option<Cursor>,
    limit: u32,
) -> Result<Vec<OfficeOrderLine>, sqlx::Error> {
    if !walks(&search(&filter.words)) {
        return lines(pool, scope, filter, sort, after, limit, Matching::Index).await;
    }
    let end = window_end(pool, scope, filter, filter.status, sort, after, WALK_ROWS).await?;
    let walked = lines(
        pool,
        scope,
        filter,
        sort,
        after,
        limit,
        Matching::Walk { end },
    )
    .await?;
    if walked.len() > limit as usize || end.is_none() {
        return Ok(walked);
    }
    lines(pool, scope, filter, sort, after, limit, Matching::Index).await
}

async fn lines(
    pool: &MySqlPool,
    scope: Scope,
    filter: &OrderFilter,
    sort: Sort,
    after: Option<Cursor>,
    limit: u32,
    matching: Matching,
) -> Result<Vec<OfficeOrderLine>, sqlx::Error> {
    let mut sql = QueryBuilder::<MySql>::new(LINE_COLUMNS);
    if let (
        Matching::Walk { .. },
        Scope::AssignedTo {
            with_unassigned: true,
            ..
        },
    ) = (matching, scope)
    {
        // "Theirs or nobody's" is two ranges of `orders_assignee`, which hold no common
        // order: MariaDB read every row of both (~27,000 in the benchmark) to sort them,
        // testing each one's search text (130 ms). Without it the walk stays on the list's
        // own index, bounded by the window's end: ~4 ms.
        sql.push(" IGNORE INDEX (orders_assignee)");
    }
    sql.push(LINE_JOINS);
    push_scope(&mut sql, scope);
    if let Some(status) = filter.status {
        sql.push(" AND o.status = ").push_bind(status.as_str());
    }
    match matching {
        Matching::Index => push_filters(&mut sql, filter),
        Matching::Walk { end } => {
            push_plain_filters(&mut sql, filter);
            push_probe(&mut sql, "o.search_text", &search(&filter.words));
            if let Some(end) = end {
                push_until(&mut sql, sort, end);
            }
        }
    }
    if let Some(cursor) = after {
        push_after(&mut sql, sort, cursor);
    }
    push_order(&mut sql, sort);
    sql.push(" LIMIT ").push_bind(limit + 1);
    sql.build_query_as().fetch_all(pool).await
}

/// Counts per status stop here: a tab shows "1000+" beyond it.
pub const COUNT_CAP: i64 = 1_000;

/// How many orders of each status match the list's filters (the status filter aside).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatusCounts {
    /// Each at most [`COUNT_CAP`] (a count at the cap means "at least").
    pub by_status: Vec<(String, i64)>,
    /// Every count is "at least": a broad search counted among its newest
    /// [`SEARCH_COUNT_SAMPLE`] matches.
    pub at_least: bool,
}

impl StatusCounts {
    pub fn of(&self, status: OrderStatus) -> i64 {
        self.by_status
            .iter()
            .find(|(name, _)| name == status.as_str())
            .map_or(0, |(_, n)| *n)
    }
}

/// How many orders of each status match the filters (the status filter aside), each count
/// at most [`COUNT_CAP`]. Without search words each status is counted on its own, reading
/// at most `COUNT_CAP` entries of `orders_status` (status, created_at) — counting every
/// order of 100,000 read the whole index on each page (about 100 ms, `docs/benchmarks.md`).
/// With words, the newest [`WALK_ROWS`] orders are walked first: a search with
/// [`SEARCH_COUNT_SAMPLE`] matches among them is counted among those (`at_least`); one
/// with fewer (a name, a rare word) asks the FULLTEXT index, which finds its few matches
/// quickly, and they are grouped (then capped).
pub async fn status_counts(
    pool: &MySqlPool,
    scope: Scope,
    filter: &OrderFilter,
) -> Result<StatusCounts, sqlx::Error> {
    let mut sql = QueryBuilder::<MySql>::new("");
    if filter.words.is_empty() {
        for (n, status) in OrderStatus::ALL.into_iter().enumerate() {
            if n > 0 {
                sql.push(" UNION ALL ");
            }
            sql.push("SELECT ")
                .push_bind(status.as_str())
                .push(", COUNT(*) FROM (SELECT 1 FROM orders o WHERE o.status = ")
                .push_bind(status.as_str());
            push_scope(&mut sql, scope);
            push_filters(&mut sql, filter);
            sql.push(" LIMIT ").push_bind(COUNT_CAP).push(") capped");
        }
        let by_status = sql.build_query_as().fetch_all(pool).await?;
        return Ok(StatusCounts {
            by_status,
            at_least: false,
        });
    }
    let searched = search(&filter.words);
    if walks(&searched) {
        let end = window_end(pool, scope, filter, None, Sort::Newest, None, WALK_ROWS).await?;
        let mut sample = QueryBuilder::<MySql>::new(
            "SELECT s.status, COUNT(*) FROM (SELECT o.status FROM orders o WHERE 1 = 1",
        );
        push_scope(&mut sample, scope);
        push_plain_filters(&mut sample, filter);
        push_probe(&mut sample, "o.search_text", &searched);
        if let Some(end) = end {
            push_until(&mut sample, Sort::Newest, end);
        }
        push_order(&mut sample, Sort::Newest);
        sample
            .push(" LIMIT ")
            .push_bind(SEARCH_COUNT_SAMPLE)
            .push(") s GROUP BY s.status");
        let by_status: Vec<(String, i64)> = sample.build_query_as().fetch_all(pool).await?;
        let found: i64 = by_status.iter().map(|(_, n)| n).sum();
        if found >= SEARCH_COUNT_SAMPLE {
            return Ok(StatusCounts {
                by_status,
                at_least: true,
            });
        }
        if end.is_none() {
            // The window held every order: these are all the matches.
            return Ok(StatusCounts {
                by_status,
                at_least: false,
            });
        }
    }
    sql.push("SELECT o.status, LEAST(COUNT(*), ")
        .push_bind(COUNT_CAP)
        .push(") FROM orders o WHERE 1 = 1");
    push_scope(&mut sql, scope);
    push_filters(&mut sql, filter);
    sql.push(" GROUP BY o.status");
    let by_status = sql.build_query_as().fetch_all(pool).await?;
    Ok(StatusCounts {
        by_status,
        at_least: false,
    })
}

/// The board: the newest `per_column` orders of each open status.
pub async fn board(
    pool: &MySqlPool,
    scope: Scope,
    per_column: u32,
) -> Result<Vec<OfficeOrderLine>, sqlx::Error> {
    let mut lines = Vec::new();
    for status in OrderStatus::ALL.into_iter().filter(|s| !s.is_terminal()) {
        let filter = OrderFilter {
            status: Some(status),
            ..OrderFilter::default()
        };
        let mut column = orders(pool, scope, &filter, Sort::Newest, None, per_column).await?;
        column.truncate(per_column as usize);
        lines.extend(column);
    }
    Ok(lines)
}

/// A staff member, for the assignee filter and the assign form.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StaffMember {
    pub id: Uuid,
    pub display_name: String,
    pub role: String,
}

pub async fn staff_members(pool: &MySqlPool) -> Result<Vec<StaffMember>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, display_name, role FROM web_accounts \
         WHERE role IN ('admin', 'manager', 'executor') AND active ORDER BY display_name",
    )
    .fetch_all(pool)
    .await
}

/// A catalogue service's names.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ServiceName {
    pub code: String,
    pub name_uk: String,
    pub name_en: String,
}

pub async fn services(pool: &MySqlPool) -> Result<Vec<ServiceName>, sqlx::Error> {
    sqlx::query_as("SELECT code, name_uk, name_en FROM catalogue_services ORDER BY name_en")
        .fetch_all(pool)
        .await
}

/// An order with its customer, as its page shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OfficeOrder {
    pub order_number: String,
    pub status: String,
    pub status_version: u32,
    pub channel: String,
    pub service_code: Option<String>,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub assignee_id: Option<Uuid>,
    pub assignee_name: Option<String>,
    pub customer_id: Uuid,
    pub customer_name: String,
    pub phone: Option<String>,
    pub telegram_username: Option<String>,
    pub unreachable_since: Option<DateTime<Utc>>,
}

pub async fn order(pool: &MySqlPool, order_id: Uuid) -> Result<Option<OfficeOrder>, sqlx::Error> {
    sqlx::query_as(
        "SELECT o.order_number, o.status, o.status_version, o.channel, o.service_code, o.body, \
                o.created_at, o.assignee_id, a.display_name AS assignee_name, c.id AS customer_id, \
                c.display_name AS customer_name, c.phone, c.telegram_username, \
                c.telegram_unreachable_at AS unreachable_since \
         FROM orders o JOIN customers c ON c.id = o.customer_id \
         LEFT JOIN web_accounts a ON a.id = o.assignee_id WHERE o.id = ?",
    )
    .bind(order_id)
    .fetch_optional(pool)
    .await
}

/// The customer's other orders, newest first.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OtherOrder {
    pub id: Uuid,
    pub order_number: String,
    pub status: String,
    pub created_at: DateTime<Utc>,
}

pub async fn other_orders(
    pool: &MySqlPool,
    customer_id: Uuid,
    except: Uuid,
) -> Result<Vec<OtherOrder>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, order_number, status, created_at FROM orders \
         WHERE customer_id = ? AND id <> ? ORDER BY created_at DESC LIMIT 10",
    )
    .bind(customer_id)
    .bind(except)
    .fetch_all(pool)
    .await
}

/// A file of an order, with its caption.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FileLine {
    pub id: Uuid,
    pub purpose: String,
    pub original_name: String,
    pub note: Option<String>,
    pub state: String,
    pub size_bytes: Option<u64>,
    pub declared_size: Option<u64>,
    pub content_type: Option<String>,
    pub rejection_code: Option<String>,
    pub rejection_reason: Option<String>,
    pub received_at: DateTime<Utc>,
}

pub async fn files(pool: &MySqlPool, order_id: Uuid) -> Result<Vec<FileLine>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, purpose, original_name, note, state, size_bytes, declared_size, content_type, \
                rejection_code, rejection_reason, received_at \
         FROM order_files WHERE order_id = ? ORDER BY received_at, id",
    )
    .bind(order_id)
    .fetch_all(pool)
    .await
}

/// A status change as recorded, with the staff member's name.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StatusStep {
    pub version: u32,
    pub from_status: Option<String>,
    pub to_status: String,
    pub actor_kind: String,
    pub actor_name: Option<String>,
    pub reason: Option<String>,
    pub changed_at: DateTime<Utc>,
}

pub async fn status_steps(
    pool: &MySqlPool,
    order_id: Uuid,
) -> Result<Vec<StatusStep>, sqlx::Error> {
    sqlx::query_as(
        "SELECT h.version, h.from_status, h.to_status, h.actor_kind, a.display_name AS actor_name, \
                h.reason, h.changed_at \
         FROM order_status_history h LEFT JOIN web_accounts a ON a.id = h.actor_account_id \
         WHERE h.order_id = ? ORDER BY h.version",
    )
    .bind(order_id)
    .fetch_all(pool)
    .await
}

/// A message in the conversation, or an internal comment (`internal`).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Note {
    pub author_kind: String,
    pub author_name: Option<String>,
    pub body: String,
    /// 1 for an internal comment, 0 for a message the customer sees.
    pub internal: i64,
    pub posted_at: DateTime<Utc>,
}

pub async fn notes(pool: &MySqlPool, order_id: Uuid) -> Result<Vec<Note>, sqlx::Error> {
    sqlx::query_as(
        "SELECT CAST(m.author_kind AS CHAR) AS author_kind, a.display_name AS author_name, m.body, \
                CAST(0 AS SIGNED) AS internal, m.posted_at \
         FROM order_messages m LEFT JOIN web_accounts a ON a.id = m.author_account_id WHERE m.order_id = ? \
         UNION ALL \
         SELECT 'staff', a.display_name, k.body, CAST(1 AS SIGNED), k.posted_at \
         FROM order_comments k LEFT JOIN web_accounts a ON a.id = k.author_account_id WHERE k.order_id = ?",
    )
    .bind(order_id)
    .bind(order_id)
    .fetch_all(pool)
    .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct QuoteLine {
    pub amount_minor: u64,
    pub currency: String,
    pub note: Option<String>,
    pub valid_until: Option<DateTime<Utc>>,
    pub quoted_at: DateTime<Utc>,
}

pub async fn quotes(pool: &MySqlPool, order_id: Uuid) -> Result<Vec<QuoteLine>, sqlx::Error> {
    sqlx::query_as(
        "SELECT amount_minor, currency, note, valid_until, quoted_at FROM order_quotes WHERE order_id = ? ORDER BY quoted_at",
    )
    .bind(order_id)
    .fetch_all(pool)
    .await
}

/// A payment or a refund recorded on an order, with who recorded it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MoneyLine {
    pub id: Uuid,
    /// `payment` or `refund`.
    pub kind: String,
    /// `telegram`, `bank_transfer`, `cash`, `other`; `None` for refunds.
    pub method: Option<String>,
    pub amount_minor: u64,
    pub currency: String,
    /// A payment's reference or note, a refund's reason.
    pub note: Option<String>,
    /// `staff`, `customer` or `system`.
    pub actor_kind: String,
    pub actor_name: Option<String>,
    pub recorded_at: DateTime<Utc>,
}

pub async fn money_lines(pool: &MySqlPool, order_id: Uuid) -> Result<Vec<MoneyLine>, sqlx::Error> {
    sqlx::query_as(
        "SELECT p.id, CAST(p.kind AS CHAR) AS kind, CAST(p.method AS CHAR) AS method, p.amount_minor, \
         p.currency, p.note, CAST(p.actor_kind AS CHAR) AS actor_kind, a.display_name AS actor_name, \
         p.recorded_at \
         FROM order_payments p LEFT JOIN web_accounts a ON a.id = p.actor_account_id \
         WHERE p.order_id = ? ORDER BY p.recorded_at, p.id",
    )
    .bind(order_id)
    .fetch_all(pool)
    .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AssignmentLine {
    pub assignee_name: Option<String>,
    pub actor_name: Option<String>,
    pub assigned_at: DateTime<Utc>,
}

pub async fn assignments(
    pool: &MySqlPool,
    order_id: Uuid,
) -> Result<Vec<AssignmentLine>, sqlx::Error> {
    sqlx::query_as(
        "SELECT s.display_name AS assignee_name, b.display_name AS actor_name, x.assigned_at \
         FROM order_assignments x LEFT JOIN web_accounts s ON s.id = x.assignee_id \
         LEFT JOIN web_accounts b ON b.id = x.actor_account_id \
         WHERE x.order_id = ? ORDER BY x.assigned_at",
    )
    .bind(order_id)
    .fetch_all(pool)
    .await
}

/// What the notifier sent the customer (in Telegram or by e-mail) about this order.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PushLine {
    pub status_version: Option<u32>,
    /// `telegram` or `email`.
    pub channel: String,
    pub sent_at: DateTime<Utc>,
}

pub async fn pushes(pool: &MySqlPool, order_id: Uuid) -> Result<Vec<PushLine>, sqlx::Error> {
    sqlx::query_as(
        "SELECT status_version, CAST(channel AS CHAR) AS channel, sent_at FROM notifications_sent \
         WHERE order_id = ? ORDER BY sent_at",
    )
    .bind(order_id)
    .fetch_all(pool)
    .await
}

/// A customer as the customers list shows them.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CustomerLine {
    pub id: Uuid,
    pub display_name: String,
    pub phone: Option<String>,
    pub telegram_username: Option<String>,
    pub telegram_user_id: Option<i64>,
    pub email: Option<String>,
    pub unreachable_since: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// Their orders the staff member may see.
    pub orders: i64,
    pub last_order_at: Option<DateTime<Utc>>,
}

/// Which customers a staff member's list holds: everyone, or (an executor) those with an
/// order the executor may see.
fn push_customer_scope(sql: &mut QueryBuilder<MySql>, scope: Scope) {
    if scope != Scope::Everything {
        sql.push(" AND EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id");
        push_scope(sql, scope);
        sql.push(")");
    }
}

/// One page of customers, newest first (keyset on `customers_created`), each word of
/// `words` starting a word of their name, Telegram username, e-mail or phone (the FULLTEXT
/// `customers_search`, see [`search`]).
pub async fn customers(
    pool: &MySqlPool,
    scope: Scope,
    words: &[String],
    after: Option<Cursor>,
    limit: u32,
) -> Result<Vec<CustomerLine>, sqlx::Error> {
    let mut sql = QueryBuilder::<MySql>::new(
        "SELECT c.id, c.display_name, c.phone, c.telegram_username, c.telegram_user_id, a.email, \
                c.telegram_unreachable_at AS unreachable_since, c.created_at, \
                (SELECT COUNT(*) FROM orders o WHERE o.customer_id = c.id",
    );
    push_scope(&mut sql, scope);
    sql.push(") AS orders, (SELECT MAX(o.created_at) FROM orders o WHERE o.customer_id = c.id");
    push_scope(&mut sql, scope);
    sql.push(
        ") AS last_order_at \
         FROM customers c LEFT JOIN web_accounts a ON a.id = c.web_account_id WHERE 1 = 1",
    );
    push_customer_scope(&mut sql, scope);
    push_search(&mut sql, "c.search_text", words);
    if let Some(cursor) = after {
        sql.push(" AND (c.created_at < ")
            .push_bind(cursor.created_at)
            .push(" OR (c.created_at = ")
            .push_bind(cursor.created_at)
            .push(" AND c.id < ")
            .push_bind(cursor.id)
            .push("))");
    }
    sql.push(" ORDER BY c.created_at DESC, c.id DESC LIMIT ")
        .push_bind(limit + 1);
    sql.build_query_as().fetch_all(pool).await
}

/// A customer as their page shows them.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CustomerCard {
    pub display_name: String,
    pub phone: Option<String>,
    pub language: String,
    pub telegram_username: Option<String>,
    pub telegram_user_id: Option<i64>,
    pub email: Option<String>,
    pub unreachable_since: Option<DateTime<Utc>>,
    /// Mail servers refuse the address for good (since when, and their answer).
    pub email_bouncing_at: Option<DateTime<Utc>>,
    pub email_bounce_reason: Option<String>,
    pub created_at: DateTime<Utc>,
}

pub async fn customer(
    pool: &MySqlPool,
    customer_id: Uuid,
) -> Result<Option<CustomerCard>, sqlx::Error> {
    sqlx::query_as(
        "SELECT c.display_name, c.phone, c.language, c.telegram_username, c.telegram_user_id, \
                a.email, c.telegram_unreachable_at AS unreachable_since, \
                a.email_bouncing_at, a.email_bounce_reason, c.created_at \
         FROM customers c LEFT JOIN web_accounts a ON a.id = c.web_account_id WHERE c.id = ?",
    )
    .bind(customer_id)
    .fetch_optional(pool)
    .await
}

/// A message of a customer's conversation, on any of their orders.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ConversationLine {
    pub order_id: Uuid,
    pub order_number: String,
    pub author_kind: String,
    pub author_name: Option<String>,
    pub body: String,
    pub posted_at: DateTime<Utc>,
}

/// The latest `limit` messages between the customer and staff, on the orders `scope`
/// lets the staff member see, newest first.
pub async fn conversation(
    pool: &MySqlPool,
    scope: Scope,
    customer_id: Uuid,
    limit: u32,
) -> Result<Vec<ConversationLine>, sqlx::Error> {
    let mut sql = QueryBuilder::<MySql>::new(
        "SELECT m.order_id, o.order_number, CAST(m.author_kind AS CHAR) AS author_kind, \
                a.display_name AS author_name, m.body, m.posted_at \
         FROM orders o JOIN order_messages m ON m.order_id = o.id \
         LEFT JOIN web_accounts a ON a.id = m.author_account_id WHERE o.customer_id = ",
    );
    sql.push_bind(customer_id);
    push_scope(&mut sql, scope);
    sql.push(" ORDER BY m.posted_at DESC LIMIT ")
        .push_bind(limit);
    sql.build_query_as().fetch_all(pool).await
}

/// A notice that did not reach the customer in Telegram (and was not delivered later).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PushFailureLine {
    /// `blocked`, `skipped_unreachable`, `refused` or `failing`.
    pub outcome: String,
    pub detail: Option<String>,
    pub attempts: u32,
    pub failed_at: DateTime<Utc>,
}

pub async fn push_failures(
    pool: &MySqlPool,
    order_id: Uuid,
) -> Result<Vec<PushFailureLine>, sqlx::Error> {
    sqlx::query_as(
        "SELECT f.outcome, f.detail, f.attempts, f.failed_at FROM notification_failures f \
         LEFT JOIN notifications_sent s ON s.event_id = f.event_id \
         WHERE f.order_id = ? AND s.event_id IS NULL ORDER BY f.failed_at",
    )
    .bind(order_id)
    .fetch_all(pool)
    .await
}

/// One staff action, for the audit log.
pub struct Audit<'a> {
    pub account_id: Option<Uuid>,
    pub action: &'a str,
    pub order_id: Option<Uuid>,
    pub subject: Option<&'a str>,
    pub detail: Option<&'a str>,
    pub remote_addr: Option<String>,
}

/// Appends to `staff_audit` (append-only: its triggers refuse updates and deletes).
pub async fn audit(pool: &MySqlPool, entry: Audit<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO staff_audit (account_id, action, order_id, subject, detail, remote_addr, at) \
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(entry.account_id)
    .bind(entry.action)
    .bind(entry.order_id)
    .bind(entry.subject.map(|s| bureau_kit::text::clip(s, 250)))
    .bind(entry.detail.map(|s| bureau_kit::text::clip(s, 990)))
    .bind(entry.remote_addr)
    .bind(Utc::now())
    .execute(pool)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_junk_is_none() {
        let cursor = Cursor {
            created_at: DateTime::from_timestamp_micros(1_765_000_000_123_456).unwrap(),
            id: Uuid::now_v7(),
        };
        assert_eq!(Cursor::decode(&cursor.encode()), Some(cursor));
        assert_eq!(Cursor::decode("12_nope"), None);
        assert_eq!(Cursor::decode("x"), None);
    }

    fn words(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn searches_are_split_like_the_index_and_operators_never_pass() {
        assert_eq!(
            search(&words("Коваленко диплом")),
            Search {
                terms: vec![vec!["Коваленко".into()], vec!["диплом".into()]],
                short: vec![]
            }
        );
        // Boolean-mode operators in the input are separators, never operators.
        assert_eq!(
            search(&words("-\"пам'ять\" +a* @olena_k"))
                .against()
                .as_deref(),
            Some("+пам* +ять* +olena_k*")
        );
        assert_eq!(search(&words("+a* Ян")).short, vec!["a", "Ян"]);
        assert_eq!(
            search(&words("050-123-45-67")).against().as_deref(),
            Some("+(0501234567* 501234567*)")
        );
        assert_eq!(
            search(&words("№12345678")).against().as_deref(),
            Some("+12345678*")
        );
        assert_eq!(search(&words("")), Search::default());
    }

    #[test]
    fn like_wildcards_are_literal() {
        assert_eq!(contains("50%_a\\b"), "%50\\%\\_a\\\\b%");
    }
}
