//! `bench-office`: the back office's order list, search and board on a large book of
//! orders — each page's answer time (p50 / p95 / max over many requests) against the goals
//! of issue 11: the list's first page, a filtered page and a page deep in the list p95 ≤
//! 50 ms, a search ≤ 100 ms, the board ≤ 100 ms.
//!
//! ```text
//! cargo build --workspace --bins
//! target/debug/bench-office --bin-dir target/debug --orders 5000 --customers 1000   # a quick check
//! target/debug/bench-office --bin-dir target/debug                                  # 100,000 orders
//! ```
//!
//! Against the shared local stack (`scripts/stack up`), with a fresh database (dropped at
//! the end unless `--keep-database`), broker namespace and bucket. It seeds `--customers`
//! customers (20,000: Ukrainian names, phones, Telegram usernames) and `--orders` orders
//! (100,000) over `--days` days, in every status, with descriptions made of words from a
//! print shop's and a translation bureau's day, in multi-row inserts (the migrations'
//! triggers make each row's search text, as in production). Then it starts the real
//! `web-gateway` binary as a child process, signs a manager and an executor in, and asks
//! each page `--samples` times one after another (the first answers, which warm the caches,
//! are not counted).
//!
//! The time is the client's, from sending the request to the last byte of the page, on
//! loopback: it bounds the gateway's server time from above (HTTP, session, every query,
//! rendering the template); nothing else runs in between.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use bureau_benchmarks::machine::Replica;
use bureau_platform::Settings;
use bureau_platform::object_store::ObjectStore;
use bureau_test_support::TestDatabase;
use chrono::{DateTime, Datelike, NaiveTime, TimeZone, Utc};
use clap::Parser;
use proto_events::{Channel, OrderStatus};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use serde_json::json;
use sqlx::{MySql, MySqlPool, QueryBuilder};
use uuid::Uuid;
use web_gateway::office_reads::{self as reads, Cursor, OrderFilter, Scope, Sort};

#[derive(Parser, Debug)]
#[command(
    name = "bench-office",
    about = "The back office's list, search and board on a large book of orders"
)]
struct Args {
    /// Orders seeded.
    #[arg(long, default_value_t = 100_000)]
    orders: usize,
    /// Customers the orders belong to.
    #[arg(long, default_value_t = 20_000)]
    customers: usize,
    /// Days the orders are spread over, ending now.
    #[arg(long, default_value_t = 365)]
    days: u64,
    /// Requests per page measured.
    #[arg(long, default_value_t = 200)]
    samples: usize,
    /// Where the web-gateway binary is.
    #[arg(long, default_value = "target/debug")]
    bin_dir: PathBuf,
    /// Keeps the seeded database (its name is printed) to look at the queries' plans.
    #[arg(long)]
    keep_database: bool,
}

const PASSWORD: &str = "benchmark password 12345";
const MANAGER: &str = "manager@bench.example";
const EXECUTOR: &str = "executor@bench.example";
/// Executors besides the one signed in.
const EXECUTORS: usize = 11;
/// Rows per multi-row insert.
const BATCH: usize = 1_000;

const FIRST_NAMES: [&str; 30] = [
    "Олена",
    "Ірина",
    "Марія",
    "Оксана",
    "Наталія",
    "Тетяна",
    "Юлія",
    "Світлана",
    "Галина",
    "Людмила",
    "Анна",
    "Катерина",
    "Вікторія",
    "Софія",
    "Дарина",
    "Андрій",
    "Олександр",
    "Сергій",
    "Володимир",
    "Дмитро",
    "Микола",
    "Іван",
    "Василь",
    "Петро",
    "Юрій",
    "Богдан",
    "Тарас",
    "Максим",
    "Остап",
    "Роман",
];
const LAST_NAMES: [&str; 40] = [
    "Коваленко",
    "Шевченко",
    "Бондаренко",
    "Ткаченко",
    "Кравченко",
    "Олійник",
    "Мельник",
    "Шевчук",
    "Поліщук",
    "Бойко",
    "Ковальчук",
    "Лисенко",
    "Марченко",
    "Руденко",
    "Савченко",
    "Петренко",
    "Мороз",
    "Клименко",
    "Павленко",
    "Кузьменко",
    "Гончаренко",
    "Левченко",
    "Харченко",
    "Сидоренко",
    "Карпенко",
    "Литвиненко",
    "Тимошенко",
    "Романенко",
    "Гуменюк",
    "Дячук",
    "Зінченко",
    "Пономаренко",
    "Вакуленко",
    "Онищенко",
    "Остапенко",
    "Гнатюк",
    "Приходько",
    "Демченко",
    "Кравчук",
    "Яковенко",
];
/// What an order asks for: one phrase of these, then details.
const WORK: [&str; 16] = [
    "Переклад паспорта",
    "Переклад диплома з додатком",
    "Нотаріальне засвідчення перекладу",
    "Апостиль на свідоцтво про народження",
    "Друк флаєрів А5",
    "Друк візиток",
    "Банер на фасад",
    "Наліпки для упаковки",
    "Ламінування документів",
    "Сканування архіву",
    "Переклад довідки про несудимість",
    "Друк каталогу",
    "Брошурування дипломної роботи",
    "Translation of a contract",
    "Poster print A2",
    "Буклети на крейдованому папері",
];
const DETAILS: [&str; 12] = [
    "терміново до п'ятниці",
    "дві сторінки",
    "кольоровий друк",
    "на англійську мову",
    "на польську мову",
    "з печаткою бюро",
    "тираж 500 штук",
    "матовий папір",
    "забрати в офісі",
    "доставка Новою поштою",
    "please call before",
    "оплата карткою",
];
const OPEN: [&str; 5] = [
    "awaiting_confirmation",
    "quoted",
    "accepted",
    "in_progress",
    "ready",
];
const CLOSED: [&str; 3] = ["delivered", "cancelled", "rejected"];

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let config_dir = bureau_test_support::config_dir();
    let mut settings = Settings::load_from(&config_dir).context("loading config/")?;
    let run = Uuid::new_v4().simple().to_string()[..12].to_owned();
    settings.broker.namespace = format!("bench{run}");
    settings.storage.bucket = format!("bench-{run}");
    let database = TestDatabase::create(&mut settings, "bureau_bench").await?;
    let store = ObjectStore::new(&settings.storage);
    store
        .ensure_bucket()
        .await
        .map_err(|e| anyhow!("bucket: {e}"))?;
    let pool = database.pool.clone();
    let outcome = measure(&args, &settings, &config_dir, &pool).await;
    if args.keep_database {
        let name: String = sqlx::query_scalar("SELECT DATABASE()")
            .fetch_one(&pool)
            .await?;
        eprintln!("kept the database {name}: drop it when done");
    } else {
        database.remove().await;
    }
    bureau_test_support::remove_broker_namespace(&settings.broker).await;
    let _ = store
        .client()
        .delete_bucket()
        .bucket(store.bucket())
        .send()
        .await;
    outcome
}

/// What the seeding left to ask for.
struct Seeded {
    executor: Uuid,
    /// A customer's surname and a word of a description, together (a two-word search).
    surname: &'static str,
    /// A seeded order's number, and a customer's phone as staff type it.
    order_number: String,
    phone: String,
    username: String,
    /// Where the 50,000th order (newest first) is: the cursor of a page that deep.
    deep_cursor: String,
}

async fn measure(
    args: &Args,
    settings: &Settings,
    config_dir: &std::path::Path,
    pool: &MySqlPool,
) -> anyhow::Result<()> {
    let now = Utc::now();
    let started = Instant::now();
    let seeded = seed(pool, args, now).await?;
    let seeding = started.elapsed();
    eprintln!(
        "seeded {} orders of {} customers in {:.1} s",
        args.orders,
        args.customers,
        seeding.as_secs_f64()
    );

    let environment: Vec<(String, String)> = [
        ("BUREAU_CONFIG_DIR", config_dir.display().to_string()),
        (
            "BUREAU__LOG__FILTER",
            // `BENCH_GATEWAY_LOG=warn` to see why a gateway does not get ready.
            std::env::var("BENCH_GATEWAY_LOG").unwrap_or_else(|_| "error".to_owned()),
        ),
        (
            "BUREAU__DATABASE__URL",
            settings.database.url.expose().to_owned(),
        ),
        (
            "BUREAU__BROKER__NAMESPACE",
            settings.broker.namespace.clone(),
        ),
        ("BUREAU__STORAGE__BUCKET", settings.storage.bucket.clone()),
    ]
    .into_iter()
    .map(|(key, value)| (key.to_owned(), value))
    .collect();
    let mut gateway = Replica::spawn(
        &args.bin_dir.join(proto_events::Service::WebGateway.name()),
        &environment,
        "BUREAU__WEB_GATEWAY__LISTEN",
    )?;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()?;
    gateway.wait_ready(&http).await?;
    let base = format!("http://{}", gateway.addr);
    let manager = sign_in(&http, &base, MANAGER).await?;
    let executor = sign_in(&http, &base, EXECUTOR).await?;

    let q = encode;
    let manager_scope = Scope::Everything;
    let executor_scope = Scope::AssignedTo {
        account_id: seeded.executor,
        with_unassigned: settings.web_gateway.executors_take_unassigned,
    };
    let words =
        |text: &str| -> Vec<String> { text.split_whitespace().map(str::to_owned).collect() };
    let search = |text: &str| OrderFilter {
        words: words(text),
        ..OrderFilter::default()
    };
    let deep = Cursor::decode(&seeded.deep_cursor).context("the deep cursor")?;
    let month_start = {
        let today = Utc::now().date_naive();
        let first = today.with_day(1).context("the 1st")?;
        Utc.from_utc_datetime(&first.and_time(NaiveTime::MIN))
    };
    let sql = [
        Sql::List(manager_scope, OrderFilter::default(), Sort::Newest, None),
        Sql::List(
            manager_scope,
            OrderFilter {
                status: Some(OrderStatus::InProgress),
                channel: Some(Channel::Telegram),
                created_from: Some(month_start),
                ..OrderFilter::default()
            },
            Sort::Newest,
            None,
        ),
        Sql::List(
            manager_scope,
            OrderFilter::default(),
            Sort::Newest,
            Some(deep),
        ),
        Sql::List(manager_scope, OrderFilter::default(), Sort::Updated, None),
        Sql::List(manager_scope, search(seeded.surname), Sort::Newest, None),
        Sql::List(
            manager_scope,
            search(&format!("{} диплом", seeded.surname)),
            Sort::Newest,
            None,
        ),
        Sql::List(manager_scope, search("перекл"), Sort::Newest, None),
        Sql::List(
            manager_scope,
            search(&seeded.order_number),
            Sort::Newest,
            None,
        ),
        Sql::List(manager_scope, search(&seeded.phone), Sort::Newest, None),
        Sql::List(
            manager_scope,
            search(&format!("@{}", seeded.username)),
            Sort::Newest,
            None,
        ),
        Sql::Board(manager_scope),
        Sql::Customers(manager_scope, words(seeded.surname)),
        Sql::List(executor_scope, OrderFilter::default(), Sort::Newest, None),
        Sql::List(executor_scope, search(seeded.surname), Sort::Newest, None),
        Sql::List(executor_scope, search("перекл"), Sort::Newest, None),
        Sql::Board(executor_scope),
    ];
    let pages: Vec<(&str, &str, String, u64)> = vec![
        ("list, first page", "manager", "/office".to_owned(), 50),
        (
            "list, filtered (in progress, Telegram, this month)",
            "manager",
            "/office?status=in_progress&channel=telegram&period=month".to_owned(),
            50,
        ),
        (
            "list, deep page (after the 50,000th order)",
            "manager",
            format!("/office?after={}", seeded.deep_cursor),
            50,
        ),
        (
            "list, sorted by last change",
            "manager",
            "/office?sort=updated".to_owned(),
            50,
        ),
        (
            "search, a surname (Cyrillic)",
            "manager",
            format!("/office?q={}", q(seeded.surname)),
            100,
        ),
        (
            "search, surname + a word of the description",
            "manager",
            format!("/office?q={}", q(&format!("{} диплом", seeded.surname))),
            100,
        ),
        (
            "search, a description word's start (переклад)",
            "manager",
            format!("/office?q={}", q("перекл")),
            100,
        ),
        (
            "search, order number",
            "manager",
            format!("/office?q={}", q(&seeded.order_number)),
            100,
        ),
        (
            "search, phone as typed (0XX…)",
            "manager",
            format!("/office?q={}", q(&seeded.phone)),
            100,
        ),
        (
            "search, Telegram username",
            "manager",
            format!("/office?q={}", q(&format!("@{}", seeded.username))),
            100,
        ),
        ("board", "manager", "/office/board".to_owned(), 100),
        (
            "customers, search a surname",
            "manager",
            format!("/office/customers?q={}", q(seeded.surname)),
            100,
        ),
        (
            "executor: list, first page",
            "executor",
            "/office".to_owned(),
            50,
        ),
        (
            "executor: search, a surname",
            "executor",
            format!("/office?q={}", q(seeded.surname)),
            100,
        ),
        (
            "executor: search, a description word's start (переклад)",
            "executor",
            format!("/office?q={}", q("перекл")),
            100,
        ),
        (
            "executor: board",
            "executor",
            "/office/board".to_owned(),
            100,
        ),
    ];
    assert_eq!(pages.len(), sql.len(), "a baseline for every page");

    println!(
        "{} orders of {} customers over {} days; seeding took {:.1} s; {} requests per line, one at a time",
        args.orders,
        args.customers,
        args.days,
        seeding.as_secs_f64(),
        args.samples
    );
    println!();
    println!("| page | p50 | p95 | max | rows shown | goal p95 | met | its SQL alone p50 | p95 |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for ((name, who, path, goal_ms), sql) in pages.iter().zip(&sql) {
        let cookie = if *who == "manager" {
            &manager
        } else {
            &executor
        };
        // Warm-up, and what the page shows.
        let page = get(&http, &base, cookie, path).await?;
        let rows = page.matches("<tr").count().saturating_sub(1) + page.matches("<article").count();
        for _ in 0..3 {
            get(&http, &base, cookie, path).await?;
        }
        let mut times = Vec::with_capacity(args.samples);
        for _ in 0..args.samples {
            let started = Instant::now();
            get(&http, &base, cookie, path).await?;
            times.push(started.elapsed());
        }
        let mut raw = Vec::with_capacity(args.samples);
        for _ in 0..args.samples {
            let started = Instant::now();
            sql.run(pool).await?;
            raw.push(started.elapsed());
        }
        let p95 = percentile(&mut times, 95.0);
        println!(
            "| {name} | {} | {} | {} | {rows} | ≤ {goal_ms} ms | {} | {} | {} |",
            ms(percentile(&mut times, 50.0)),
            ms(p95),
            ms(percentile(&mut times, 100.0)),
            if p95 <= Duration::from_millis(*goal_ms) {
                "yes"
            } else {
                "no"
            },
            ms(percentile(&mut raw, 50.0)),
            ms(percentile(&mut raw, 95.0)),
        );
    }
    gateway.stop();
    Ok(())
}

/// The SQL a page runs (`web_gateway::office_reads`, as the handler calls it), timed alone
/// by this process: the baseline that shows which share of a page is MariaDB's.
enum Sql {
    /// A page of the list (50 lines) and its counts per status.
    List(Scope, OrderFilter, Sort, Option<Cursor>),
    /// The board: 40 cards per open status.
    Board(Scope),
    /// A page of customers (50).
    Customers(Scope, Vec<String>),
}

impl Sql {
    async fn run(&self, pool: &MySqlPool) -> anyhow::Result<()> {
        match self {
            Sql::List(scope, filter, sort, after) => {
                reads::orders(pool, *scope, filter, *sort, *after, 50).await?;
                let mut counted = filter.clone();
                counted.status = None;
                reads::status_counts(pool, *scope, &counted).await?;
            }
            Sql::Board(scope) => {
                reads::board(pool, *scope, 40).await?;
            }
            Sql::Customers(scope, words) => {
                reads::customers(pool, *scope, words, None, 50).await?;
            }
        }
        Ok(())
    }
}

async fn sign_in(http: &reqwest::Client, base: &str, email: &str) -> anyhow::Result<String> {
    let signed_in = http
        .post(format!("{base}/api/session"))
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await?;
    if !signed_in.status().is_success() {
        bail!("signing {email} in: {}", signed_in.status());
    }
    signed_in
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::to_owned)
        .context("a session cookie")
}

async fn get(
    http: &reqwest::Client,
    base: &str,
    cookie: &str,
    path: &str,
) -> anyhow::Result<String> {
    let response = http
        .get(format!("{base}{path}"))
        .header("cookie", cookie)
        .send()
        .await?;
    if !response.status().is_success() {
        bail!("{path}: {}", response.status());
    }
    Ok(response.text().await?)
}

fn percentile(times: &mut [Duration], p: f64) -> Duration {
    times.sort();
    if times.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * times.len() as f64).ceil() as usize;
    times[rank.clamp(1, times.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// Seeds staff, customers and orders in multi-row inserts.
async fn seed(pool: &MySqlPool, args: &Args, now: DateTime<Utc>) -> anyhow::Result<Seeded> {
    let mut rng = StdRng::seed_from_u64(11);
    bureau_accounts::create_account(
        pool,
        MANAGER,
        PASSWORD,
        "Bench Manager",
        bureau_accounts::Role::Manager,
    )
    .await
    .map_err(|e| anyhow!("{e}"))?;
    let executor = bureau_accounts::create_account(
        pool,
        EXECUTOR,
        PASSWORD,
        "Bench Executor",
        bureau_accounts::Role::Executor,
    )
    .await
    .map_err(|e| anyhow!("{e}"))?;
    let mut staff: Vec<Uuid> = vec![executor];
    let mut accounts = QueryBuilder::<MySql>::new(
        "INSERT INTO web_accounts (id, email, password_hash, display_name, role, active, created_at) ",
    );
    accounts.push_values(1..=EXECUTORS, |mut row, n| {
        let id = Uuid::now_v7();
        staff.push(id);
        row.push_bind(id)
            .push_bind(format!("staff{n}@bench.example"))
            .push_bind("!")
            .push_bind(format!("Виконавець {n}"))
            .push_bind("executor")
            .push_bind(true)
            .push_bind(now);
    });
    accounts.build().execute(pool).await?;

    let customers: Vec<Uuid> = (0..args.customers).map(|_| Uuid::now_v7()).collect();
    for (chunk_index, chunk) in customers.chunks(BATCH).enumerate() {
        let mut insert = QueryBuilder::<MySql>::new(
            "INSERT INTO customers (id, display_name, phone, language, telegram_user_id, telegram_chat_id, \
             telegram_username, created_at, updated_at) ",
        );
        insert.push_values(chunk.iter().enumerate(), |mut row, (n, id)| {
            let index = (chunk_index * BATCH + n) as i64;
            let first = FIRST_NAMES[(index as usize) % FIRST_NAMES.len()];
            let last = LAST_NAMES[(index as usize / FIRST_NAMES.len()) % LAST_NAMES.len()];
            row.push_bind(*id)
                .push_bind(format!("{first} {last}"))
                .push_bind(phone_of(index))
                .push_bind("uk")
                .push_bind(1_000_000 + index)
                .push_bind(1_000_000 + index)
                .push_bind(format!("client_{index}"))
                .push_bind(now - chrono::Duration::seconds(index))
                .push_bind(now);
        });
        insert.build().execute(pool).await?;
    }

    let span_secs = (args.days * 86_400) as i64;
    for batch_start in (0..args.orders).step_by(BATCH) {
        let count = BATCH.min(args.orders - batch_start);
        let mut insert = QueryBuilder::<MySql>::new(
            "INSERT INTO orders (id, order_number, order_number_repeat, customer_id, channel, service_code, body, \
             status, status_version, expected_files, assignee_id, created_at, updated_at) ",
        );
        let rows: Vec<_> = (0..count)
            .map(|n| {
                let created = now - chrono::Duration::seconds(rng.random_range(0..span_secs));
                // Old orders are mostly closed; the last month's mostly open.
                let open_share = if (now - created).num_days() < 30 {
                    0.8
                } else {
                    0.03
                };
                let status = if rng.random_bool(open_share) {
                    *OPEN.choose(&mut rng).expect("statuses")
                } else {
                    *CLOSED.choose(&mut rng).expect("statuses")
                };
                let body = format!(
                    "{}; {}, {}",
                    WORK.choose(&mut rng).expect("work"),
                    DETAILS.choose(&mut rng).expect("details"),
                    DETAILS.choose(&mut rng).expect("details")
                );
                let assignee = rng
                    .random_bool(0.8)
                    .then(|| *staff.choose(&mut rng).expect("staff"));
                let updated = created + chrono::Duration::seconds(rng.random_range(0..172_800));
                (
                    Uuid::now_v7(),
                    format!("{:08}", 10_000_000 + batch_start + n),
                    customers[rng.random_range(0..customers.len())],
                    if rng.random_bool(0.7) {
                        "telegram"
                    } else {
                        "web"
                    },
                    body,
                    status,
                    assignee,
                    created,
                    updated.min(now),
                )
            })
            .collect();
        insert.push_values(&rows, |mut row, o| {
            row.push_bind(o.0)
                .push_bind(&o.1)
                .push_bind(0)
                .push_bind(o.2)
                .push_bind(o.3)
                .push_bind("translation.passport")
                .push_bind(&o.4)
                .push_bind(o.5)
                .push_bind(2)
                .push_bind(0)
                .push_bind(o.6)
                .push_bind(o.7)
                .push_bind(o.8);
        });
        insert.build().execute(pool).await?;
    }
    for table in ["orders", "customers", "web_accounts"] {
        sqlx::query(sqlx::AssertSqlSafe(format!("ANALYZE TABLE {table}")))
            .execute(pool)
            .await?;
    }
    let deep: (DateTime<Utc>, Uuid) = sqlx::query_as(
        "SELECT created_at, id FROM orders ORDER BY created_at DESC, id DESC LIMIT 1 OFFSET ?",
    )
    .bind((args.orders / 2) as u64)
    .fetch_one(pool)
    .await?;
    let order_number: String =
        sqlx::query_scalar("SELECT order_number FROM orders ORDER BY created_at DESC LIMIT 1")
            .fetch_one(pool)
            .await?;
    let index = (args.customers / 3) as i64;
    Ok(Seeded {
        executor,
        surname: LAST_NAMES[7],
        order_number,
        // As staff type it: the local form with its leading 0, dashes and all.
        phone: {
            let digits = phone_of(index);
            let local = &digits[4..];
            format!("0{}-{}-{}", &local[..2], &local[2..5], &local[5..])
        },
        username: format!("client_{index}"),
        deep_cursor: format!("{}_{}", deep.0.timestamp_micros(), deep.1.simple()),
    })
}

/// A query string's value: every byte but letters and digits percent-encoded.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A customer's phone: `+380` and nine digits, different for each.
fn phone_of(index: i64) -> String {
    format!("+38067{:07}", 1_000_000 + index * 37 % 8_999_999)
}
