//! After the storm: what customers were told against what MySQL, S3, Telegram and the
//! broker hold. The figures are the suite's verdict and what docs/reliability.md records.

use std::collections::BTreeMap;
use std::fmt;

use anyhow::{Context, anyhow, bail};
use bureau_event_bus::{EventBus, dead_letters};
use bureau_platform::object_store::ObjectStore;
use futures::TryStreamExt;
use proto_events::topology::Consumer;
use sqlx::{MySqlPool, Row};
use telegram_double::TelegramDouble;
use uuid::Uuid;

use crate::poison::POISON_IDS;
use crate::traffic::{Channel, Ledger};
use bureau_test_support::sha256_hex;

#[derive(Debug, Default, Clone)]
pub struct Figures {
    /// Orders whose number the customer was shown (web 201, the bot's "accepted").
    pub accepted: usize,
    pub accepted_web: usize,
    pub accepted_telegram: usize,
    /// Accepted orders found in MySQL exactly once.
    pub persisted: usize,
    /// Orders (accepted or not) found more than once.
    pub duplicated: usize,
    /// Accepted orders not in MySQL.
    pub lost: usize,
    /// Orders the customer never saw a number for, yet in MySQL (allowed: "not sure" is
    /// not "refused"; listed so it is visible).
    pub persisted_unacknowledged: usize,
    /// Attempts where a client gave up without a number.
    pub gave_up: usize,
    /// Of those, Telegram customers: every reply must reach them once Telegram is healthy
    /// again, so one giving up fails the run.
    pub gave_up_telegram: usize,
    pub files_checked: usize,
    /// Files not stored, with another SHA-256 in MySQL, or other bytes in S3.
    pub files_mismatched: usize,
    pub status_changes: usize,
    pub notifications_missing: usize,
    /// Changes not pushed because a newer status of the same order was pushed first (the
    /// notifier's ordering rule), so the customer was never told something stale.
    pub notifications_superseded: usize,
    /// Messages still in a work queue or a former retry queue, as the broker counts them:
    /// ready, unacked (a consumer holding a retry, or stuck with it) and dead-lettered but
    /// not yet moved on.
    pub messages_stuck: u64,
    /// Dead letters by consumer, with their reasons.
    pub dead_lettered: BTreeMap<String, Vec<String>>,
    /// Dead letters that are not the deliberately poisoned messages.
    pub unexpected_dead_letters: usize,
    pub client_errors: Vec<String>,
    /// Services that died by themselves during the run.
    pub crashed: Vec<String>,
    /// Outages a service's `/readyz` did not report.
    pub outages_unreported: Vec<String>,
    pub problems: Vec<String>,
}

impl Figures {
    /// Everything the issue promises: nothing lost, nothing twice, nothing stuck.
    pub fn clean(&self) -> bool {
        self.lost == 0
            && self.duplicated == 0
            && self.files_mismatched == 0
            && self.notifications_missing == 0
            && self.messages_stuck == 0
            && self.unexpected_dead_letters == 0
            && self.client_errors.is_empty()
            && self.crashed.is_empty()
            && self.outages_unreported.is_empty()
            && self.gave_up_telegram == 0
            && self.accepted > 0
    }
}

impl fmt::Display for Figures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "accepted                  {} (web {}, telegram {})",
            self.accepted, self.accepted_web, self.accepted_telegram
        )?;
        writeln!(f, "persisted                 {}", self.persisted)?;
        writeln!(f, "duplicated                {}", self.duplicated)?;
        writeln!(f, "lost                      {}", self.lost)?;
        writeln!(
            f,
            "persisted, unacknowledged {}",
            self.persisted_unacknowledged
        )?;
        writeln!(
            f,
            "clients gave up           {} (telegram {})",
            self.gave_up, self.gave_up_telegram
        )?;
        writeln!(f, "files checked             {}", self.files_checked)?;
        writeln!(f, "files mismatched          {}", self.files_mismatched)?;
        writeln!(f, "status changes            {}", self.status_changes)?;
        writeln!(
            f,
            "notifications missing     {}",
            self.notifications_missing
        )?;
        writeln!(
            f,
            "notifications superseded  {}",
            self.notifications_superseded
        )?;
        writeln!(f, "messages stuck            {}", self.messages_stuck)?;
        let total: usize = self.dead_lettered.values().map(Vec::len).sum();
        writeln!(
            f,
            "dead-lettered             {total} (unexpected {})",
            self.unexpected_dead_letters
        )?;
        for (consumer, reasons) in &self.dead_lettered {
            for reason in reasons {
                writeln!(f, "  {consumer}: {reason}")?;
            }
        }
        for line in self.crashed.iter().chain(&self.outages_unreported) {
            writeln!(f, "{line}")?;
        }
        for error in &self.client_errors {
            writeln!(f, "client error: {error}")?;
        }
        for problem in self.problems.iter().take(30) {
            writeln!(f, "problem: {problem}")?;
        }
        Ok(())
    }
}

pub struct Sources<'a> {
    pub db: &'a MySqlPool,
    pub store: &'a ObjectStore,
    pub bus: &'a EventBus,
    pub telegram: &'a TelegramDouble,
    /// The private RabbitMQ's node names (`rabbitmqctl -n`), asked in turn for the queues'
    /// message counts.
    pub rabbit_nodes: Vec<String>,
}

/// One queue's messages as RabbitMQ counts them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueMessages {
    pub name: String,
    /// Everything the queue holds: ready, unacked, and (quorum queues) messages dead-lettered
    /// at least once that the queue has not handed on yet.
    pub messages: u64,
    pub ready: u64,
    pub unacked: u64,
}

/// Every queue of the default vhost with its counts, from `rabbitmqctl list_queues` (no
/// management plugin on the private brokers, and a passive `queue.declare` reports only
/// ready messages: a delivery held unacked, or a message stranded in a quorum queue's
/// dead-lettering, would go unseen). Each node is asked in turn until one answers.
pub async fn queue_messages(nodes: &[String]) -> anyhow::Result<Vec<QueueMessages>> {
    let mut errors = Vec::new();
    for node in nodes {
        let output = tokio::process::Command::new("rabbitmqctl")
            .args(["-n", node, "-q", "list_queues", "--timeout", "30"])
            .args([
                "name",
                "messages",
                "messages_ready",
                "messages_unacknowledged",
            ])
            .args(["--formatter", "json"])
            .stdin(std::process::Stdio::null())
            .output()
            .await
            .context("running rabbitmqctl list_queues")?;
        if !output.status.success() {
            errors.push(format!(
                "{node}: {}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ));
            continue;
        }
        let listed: Vec<serde_json::Value> =
            serde_json::from_slice(&output.stdout).with_context(|| {
                format!(
                    "rabbitmqctl list_queues on {node} printed {}",
                    String::from_utf8_lossy(&output.stdout)
                )
            })?;
        return listed
            .iter()
            .map(|queue| {
                let count = |field: &str| {
                    queue[field].as_u64().ok_or_else(|| {
                        anyhow!("rabbitmqctl list_queues gave no {field} count in {queue}")
                    })
                };
                Ok(QueueMessages {
                    name: queue["name"]
                        .as_str()
                        .ok_or_else(|| anyhow!("a queue without a name: {queue}"))?
                        .to_owned(),
                    messages: count("messages")?,
                    ready: count("messages_ready")?,
                    unacked: count("messages_unacknowledged")?,
                })
            })
            .collect();
    }
    bail!("no RabbitMQ node listed its queues: {}", errors.join("; "))
}

/// Counts everything once. Call repeatedly while settling: it only reads.
pub async fn audit(ledger: &Ledger, sources: &Sources<'_>) -> anyhow::Result<Figures> {
    let mut figures = Figures {
        client_errors: ledger.client_errors.clone(),
        ..Figures::default()
    };
    for attempt in &ledger.orders {
        let rows = sqlx::query("SELECT id, order_number FROM orders WHERE LOCATE(?, body) > 0")
            .bind(&attempt.marker)
            .fetch_all(sources.db)
            .await?;
        if rows.len() > 1 {
            figures.duplicated += 1;
            figures.problems.push(format!(
                "order {} is in MySQL {} times",
                attempt.marker,
                rows.len()
            ));
        }
        let Some(number) = &attempt.accepted_number else {
            figures.gave_up += 1;
            if attempt.channel == Channel::Telegram {
                figures.gave_up_telegram += 1;
            }
            figures.problems.push(format!(
                "{:?} customer gave up on {}: {}",
                attempt.channel,
                attempt.marker,
                attempt.gave_up.as_deref().unwrap_or("-")
            ));
            if !rows.is_empty() {
                figures.persisted_unacknowledged += 1;
            }
            continue;
        };
        figures.accepted += 1;
        match attempt.channel {
            Channel::Web => figures.accepted_web += 1,
            Channel::Telegram => figures.accepted_telegram += 1,
        }
        let Some(row) = rows.first() else {
            figures.lost += 1;
            figures.problems.push(format!(
                "accepted order №{number} ({}) is not in MySQL",
                attempt.marker
            ));
            continue;
        };
        if rows.len() == 1 {
            figures.persisted += 1;
        }
        let stored_number: String = row.get("order_number");
        if &stored_number != number {
            figures.problems.push(format!(
                "order {} was shown as №{number} but is №{stored_number}",
                attempt.marker
            ));
        }
        let order_id: Uuid = row.get("id");
        let files =
            sqlx::query("SELECT state, sha256, object_key FROM order_files WHERE order_id = ?")
                .bind(order_id)
                .fetch_all(sources.db)
                .await?;
        if files.is_empty() {
            figures.files_mismatched += 1;
            figures
                .problems
                .push(format!("order №{number} has no file row"));
        }
        for file in files {
            figures.files_checked += 1;
            let state: String = file.get("state");
            let sha256: Option<String> = file.get("sha256");
            let key: Option<String> = file.get("object_key");
            let in_store = match &key {
                Some(key) => object_sha256(sources.store, key).await,
                None => None,
            };
            let good = state == "stored"
                && sha256.as_deref() == Some(attempt.file_sha256.as_str())
                && in_store.as_deref() == Some(attempt.file_sha256.as_str());
            if !good {
                figures.files_mismatched += 1;
                figures.problems.push(format!(
                    "order №{number}: file {state}, MySQL sha256 {sha256:?}, S3 sha256 {in_store:?}, sent {}",
                    attempt.file_sha256
                ));
            }
        }
    }

    let pushed = |change: &crate::traffic::StatusChange| {
        let needle = format!("№{}: {}", change.order_number, change.label);
        sources
            .telegram
            .messages_to(change.chat_id)
            .iter()
            .any(|m| m.body().contains(&needle))
    };
    for (index, change) in ledger.status_changes.iter().enumerate() {
        figures.status_changes += 1;
        if pushed(change) {
            continue;
        }
        // The notifier never sends an older status after a newer one: when the older
        // change reached it late (a retry, a redelivery), the customer already knows more.
        let newer_pushed = ledger.status_changes[index + 1..]
            .iter()
            .any(|later| later.order_number == change.order_number && pushed(later));
        if newer_pushed {
            figures.notifications_superseded += 1;
            figures.problems.push(format!(
                "\"{}\" for №{} superseded by a newer push",
                change.label, change.order_number
            ));
        } else {
            figures.notifications_missing += 1;
            figures.problems.push(format!(
                "no push \"№{}: {}\" in chat {}",
                change.order_number, change.label, change.chat_id
            ));
        }
    }

    let topology = sources.bus.topology();
    let listed = queue_messages(&sources.rabbit_nodes).await?;
    for consumer in Consumer::ALL {
        let work_queue = topology.queue(consumer);
        if !listed.iter().any(|q| q.name == work_queue) {
            bail!("the broker has no queue {work_queue}");
        }
        // The work queue and any retry queue of an earlier version (the services should
        // have deleted them; one still there and holding messages counts).
        let retry_prefix = topology.former_retry_queue_prefix(consumer);
        for queue in listed
            .iter()
            .filter(|q| q.name == work_queue || q.name.starts_with(&retry_prefix))
        {
            if queue.messages > 0 {
                figures.problems.push(format!(
                    "{} message(s) in {} ({} ready, {} unacked, {} neither: dead-lettered, not handed on)",
                    queue.messages,
                    queue.name,
                    queue.ready,
                    queue.unacked,
                    queue.messages.saturating_sub(queue.ready + queue.unacked)
                ));
            }
            figures.messages_stuck += queue.messages;
        }
        let letters = dead_letters::list(sources.bus, consumer, 1000).await?;
        let reasons = figures
            .dead_lettered
            .entry(consumer.name().to_owned())
            .or_default();
        for letter in letters {
            let id = letter.message_id.clone().unwrap_or_default();
            if !POISON_IDS.contains(&id.as_str()) {
                figures.unexpected_dead_letters += 1;
            }
            reasons.push(format!(
                "{id} ({} bytes, attempts {}): {}",
                letter.body.len(),
                letter
                    .attempts
                    .map(|a| a.to_string())
                    .unwrap_or_else(|| "-".into()),
                letter
                    .error
                    .as_deref()
                    .unwrap_or("(no reason: dead-lettered by the broker)")
            ));
        }
    }
    Ok(figures)
}

async fn object_sha256(store: &ObjectStore, key: &str) -> Option<String> {
    let stream = store.get_stream(key).await.ok()?;
    let chunks: Vec<bytes::Bytes> = stream.try_collect().await.ok()?;
    Some(sha256_hex(&chunks.concat()))
}
