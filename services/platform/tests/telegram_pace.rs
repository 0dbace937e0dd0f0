//! The bot token's shared pace on the real MariaDB: a process's waiting messages take their
//! turns in batches (one transaction for many), two processes taking turns at once together
//! keep to the bot's and every chat's spacing, and a waiting customer's reply goes ahead of
//! pushes queued by another process.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bureau_platform::database;
use bureau_platform::telegram_pace::{Ask, Pace, Priority, SharedPace, Turn};
use sqlx::{AssertSqlSafe, MySqlPool};
use uuid::Uuid;

const MYSQL_ADMIN_URL: &str = "mysql://root@127.0.0.1:3306";

/// A fresh, migrated database, dropped by [`Scratch::drop_database`].
struct Scratch {
    admin: MySqlPool,
    name: String,
    url: String,
    /// Every pool handed out, closed before the database is dropped.
    pools: std::sync::Mutex<Vec<MySqlPool>>,
}

impl Scratch {
    async fn new() -> Scratch {
        let name = format!("bureau_test_{}", Uuid::new_v4().simple());
        let admin = MySqlPool::connect(MYSQL_ADMIN_URL)
            .await
            .expect("MariaDB answers as root on 127.0.0.1:3306");
        // The name is ours: a fixed prefix and a UUID's hex digits.
        sqlx::query(AssertSqlSafe(format!("CREATE DATABASE `{name}`")))
            .execute(&admin)
            .await
            .expect("create database");
        let scratch = Scratch {
            admin,
            url: format!("{MYSQL_ADMIN_URL}/{name}"),
            name,
            pools: Default::default(),
        };
        database::migrate(&scratch.pool(2)).await.expect("migrate");
        scratch
    }

    /// A pool of its own, as a separate process would have.
    fn pool(&self, max_connections: u32) -> MySqlPool {
        let pool = database::pool(&bureau_platform::settings::DatabaseSettings {
            url: bureau_platform::Secret::new(self.url.clone()),
            max_connections,
            run_migrations: true,
        })
        .expect("pool");
        self.pools.lock().unwrap().push(pool.clone());
        pool
    }

    async fn drop_database(self) {
        let pools = std::mem::take(&mut *self.pools.lock().unwrap());
        for pool in pools {
            pool.close().await;
        }
        sqlx::query(AssertSqlSafe(format!("DROP DATABASE `{}`", self.name)))
            .execute(&self.admin)
            .await
            .expect("drop database");
    }
}

fn pace(per_second: f64, chat: Duration, lead: Duration) -> Pace {
    Pace::new(per_second, chat, chat * 3, lead)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_processs_waiting_messages_take_their_turns_in_batches() {
    let scratch = Scratch::new().await;
    let pace = SharedPace::new(
        scratch.pool(4),
        pace(50.0, Duration::from_secs(1), Duration::from_millis(100)),
    );
    let started = Instant::now();
    let messages = 100;
    let waits = futures::future::join_all((1..=messages).map(|chat| {
        let pace = pace.clone();
        tokio::spawn(async move { pace.wait_turn(chat, Priority::Reply).await })
    }))
    .await;
    for wait in waits {
        wait.expect("the task ran").expect("a turn");
    }
    // 50 a second: the hundredth message cannot go before 99 intervals.
    assert!(
        started.elapsed() >= Duration::from_millis(99 * 20),
        "{:?} for {messages} messages at 50/s",
        started.elapsed()
    );
    let batches = pace.batches();
    assert!(
        batches <= messages as u64 / 4,
        "{batches} transactions for {messages} messages waiting at once"
    );
    scratch.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_together_keep_the_bots_and_each_chats_spacing() {
    let scratch = Scratch::new().await;
    let chat_interval = Duration::from_millis(300);
    let global = pace(100.0, chat_interval, Duration::from_millis(50));
    let processes = [
        SharedPace::new(scratch.pool(2), global),
        SharedPace::new(scratch.pool(2), global),
    ];
    // Each process asks 40 times for a batch of five messages over six chats, replies and
    // pushes mixed, both at once, and keeps every slot it was given.
    let slots =
        futures::future::join_all(processes.iter().enumerate().map(|(p, pace)| async move {
            let mut taken = Vec::new();
            for round in 0..40_i64 {
                let asks: Vec<Ask> = (0..5_i64)
                    .map(|i| Ask {
                        chat_id: 1 + (round + i + p as i64) % 6,
                        priority: if (round + i) % 2 == 0 {
                            Priority::Reply
                        } else {
                            Priority::Push
                        },
                    })
                    .collect();
                for (ask, (turn, slot)) in asks
                    .iter()
                    .zip(pace.take_slots(&asks).await.expect("turns"))
                {
                    if let Turn::Taken(_) = turn {
                        taken.push((ask.chat_id, slot));
                    }
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            taken
        }))
        .await;
    let mut all: Vec<(i64, i64)> = slots.into_iter().flatten().collect();
    assert!(all.len() >= 12, "only {} turns taken", all.len());
    all.sort_by_key(|(_, slot)| *slot);
    let global_us = 10_000;
    for pair in all.windows(2) {
        assert!(
            pair[1].1 - pair[0].1 >= global_us,
            "two messages of the bot {} µs apart: {pair:?}",
            pair[1].1 - pair[0].1
        );
    }
    let mut last_per_chat: HashMap<i64, i64> = HashMap::new();
    for (chat, slot) in &all {
        if let Some(last) = last_per_chat.insert(*chat, *slot) {
            assert!(
                slot - last >= 300_000,
                "two messages to chat {chat} {} µs apart",
                slot - last
            );
        }
    }
    scratch.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_reply_goes_ahead_of_pushes_queued_by_another_process() {
    let scratch = Scratch::new().await;
    let lead = Duration::from_secs(1);
    let slow = pace(2.0, Duration::from_secs(1), lead);
    let notifier = SharedPace::new(scratch.pool(2), slow);
    let gateway = SharedPace::new(scratch.pool(2), slow);
    // The notifier queues pushes to 20 chats: only those due within the lead are taken.
    let pushes: Vec<Ask> = (100..120)
        .map(|chat_id| Ask {
            chat_id,
            priority: Priority::Push,
        })
        .collect();
    let turns = notifier.take_turns(&pushes).await.expect("turns");
    let taken = turns
        .iter()
        .filter(|turn| matches!(turn, Turn::Taken(_)))
        .count();
    assert!(
        (2..=4).contains(&taken),
        "at 2/s with a 1 s lead about three pushes are taken, not {taken}: {turns:?}"
    );
    assert!(matches!(turns.last(), Some(Turn::NotYet(_))), "{turns:?}");
    // A customer waiting in the gateway gets the next slot, behind only the pushes taken.
    let reply = gateway
        .take_turns(&[Ask {
            chat_id: 7,
            priority: Priority::Reply,
        }])
        .await
        .expect("turn");
    match reply[0] {
        Turn::Taken(wait) => assert!(wait <= lead + Duration::from_millis(600), "{wait:?}"),
        other => panic!("the reply was not taken: {other:?}"),
    }
    // And the pushes asking again now (well within the second the reply took) still wait.
    let again = notifier.take_turns(&pushes[taken..]).await.expect("turns");
    assert!(
        again.iter().all(|turn| matches!(turn, Turn::NotYet(_))),
        "{again:?}"
    );
    scratch.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_sends_keep_to_the_rate_in_every_second() {
    let scratch = Scratch::new().await;
    let rate = 40.0;
    let paced = pace(rate, Duration::from_millis(200), Duration::from_millis(50));
    let processes = [
        SharedPace::new(scratch.pool(2), paced),
        SharedPace::new(scratch.pool(2), paced),
    ];
    // Each process has 60 replies to 30 chats waiting at once; each goes out when its wait
    // ends, as the gateway's and the notifier's sends do.
    let started = Instant::now();
    let waits = futures::future::join_all(processes.iter().enumerate().flat_map(|(p, pace)| {
        (0..60_i64).map(move |i| {
            let pace = pace.clone();
            tokio::spawn(async move {
                pace.wait_turn(1 + (p as i64 * 30) + i % 30, Priority::Reply)
                    .await
                    .expect("a turn");
                Instant::now()
            })
        })
    }))
    .await;
    let mut sent: Vec<Instant> = waits
        .into_iter()
        .map(|sent| sent.expect("the task ran"))
        .collect();
    sent.sort();
    // 120 sends at 40/s take at least 119 intervals.
    let span = sent[sent.len() - 1].duration_since(started);
    assert!(span >= Duration::from_millis(119 * 25), "{span:?}");
    // No second holds a lump: at most the rate and an eighth. The eighth is the jitter of
    // mapping MySQL's clock onto each process's own (the moment a batch's answer comes
    // back) and of timers waking late on a loaded machine; before slots were pushed past
    // the commit, a slow commit released a whole batch at once (40–52 in a second at 30/s).
    let mut most = 0;
    let mut first = 0;
    for last in 0..sent.len() {
        while sent[last].duration_since(sent[first]) >= Duration::from_secs(1) {
            first += 1;
        }
        most = most.max(last - first + 1);
    }
    assert!(
        most <= (rate * 1.125) as usize,
        "{most} sends within one second at {rate}/s"
    );
    scratch.drop_database().await;
}
