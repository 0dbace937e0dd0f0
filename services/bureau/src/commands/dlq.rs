//! `bureau dlq`: what failed, why, and putting it back once the cause is fixed.

use anyhow::anyhow;
use bureau_event_bus::dead_letters;
use bureau_platform::{Settings, bus};
use clap::Subcommand;
use proto_events::topology::Consumer;

#[derive(Subcommand)]
pub enum DlqCommand {
    /// List dead letters (they stay in the queue).
    List {
        /// persistence-worker, storage-worker or notifier; all when omitted
        consumer: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Print each message body too.
        #[arg(long)]
        bodies: bool,
    },
    /// Show one dead letter in full: its reason, attempts, headers and body.
    Show {
        consumer: String,
        /// The message id (event id) from `dlq list`.
        id: String,
    },
    /// Send dead letters back to their consumer's queue.
    Replay {
        consumer: String,
        /// Only these message ids (event ids); all when omitted.
        #[arg(long = "id")]
        ids: Vec<String>,
    },
    /// Delete every dead letter of a consumer.
    Purge {
        consumer: String,
        /// Required: purging cannot be undone.
        #[arg(long)]
        yes: bool,
    },
}

/// How many dead letters `show` reads looking for the one asked for.
const SHOW_SCAN_LIMIT: usize = 10_000;
/// Bodies up to this size that are JSON are printed whole, indented.
const SHOW_JSON_BYTES: usize = 256 * 1024;
/// How much of any other body `show` prints.
const SHOW_BODY_BYTES: usize = 4096;

fn consumer(name: &str) -> anyhow::Result<Consumer> {
    Consumer::parse(name).ok_or_else(|| {
        let known: Vec<_> = Consumer::ALL.iter().map(|c| c.name()).collect();
        anyhow!("unknown consumer `{name}`; one of: {}", known.join(", "))
    })
}

pub async fn execute(settings: &Settings, command: DlqCommand) -> anyhow::Result<()> {
    let bus = bus::event_bus(&settings.broker, super::CLI);
    bus.connect().await?;
    match command {
        DlqCommand::List {
            consumer: name,
            limit,
            bodies,
        } => {
            let consumers = match name {
                Some(name) => vec![consumer(&name)?],
                None => Consumer::ALL.to_vec(),
            };
            for c in consumers {
                let letters = dead_letters::list(&bus, c, limit).await?;
                println!("{} — {} dead letter(s)", c.name(), letters.len());
                for letter in letters {
                    println!(
                        "  {}  {}  attempts={}  failed_at={}\n    reason: {}",
                        letter.message_id.as_deref().unwrap_or("-"),
                        letter.event_type.as_deref().unwrap_or("?"),
                        letter
                            .attempts
                            .map(|a| a.to_string())
                            .unwrap_or_else(|| "-".into()),
                        letter.failed_at.as_deref().unwrap_or("-"),
                        letter
                            .error
                            .as_deref()
                            .unwrap_or("(dead-lettered by the broker)"),
                    );
                    if bodies {
                        println!("    body: {}", String::from_utf8_lossy(&letter.body));
                    }
                }
            }
        }
        DlqCommand::Show { consumer: name, id } => {
            // Looking never removes: every message is handed back when the listing closes.
            let letters = dead_letters::list(&bus, consumer(&name)?, SHOW_SCAN_LIMIT).await?;
            let letter = letters
                .into_iter()
                .find(|letter| letter.message_id.as_deref() == Some(id.as_str()))
                .ok_or_else(|| {
                    anyhow!("no dead letter `{id}` among the first {SHOW_SCAN_LIMIT} of {name}")
                })?;
            println!("message id:     {id}");
            println!(
                "event type:     {}",
                letter.event_type.as_deref().unwrap_or("?")
            );
            println!(
                "correlation id: {}",
                letter.correlation_id.as_deref().unwrap_or("-")
            );
            println!(
                "attempts:       {}",
                letter
                    .attempts
                    .map(|a| a.to_string())
                    .unwrap_or_else(|| "-".into())
            );
            println!(
                "failed at:      {}",
                letter.failed_at.as_deref().unwrap_or("-")
            );
            println!(
                "reason:         {}",
                letter
                    .error
                    .as_deref()
                    .unwrap_or("(dead-lettered by the broker)")
            );
            println!("size:           {} bytes", letter.body.len());
            let json = (letter.body.len() <= SHOW_JSON_BYTES)
                .then(|| serde_json::from_slice::<serde_json::Value>(&letter.body).ok())
                .flatten();
            match json {
                Some(json) => println!("body:\n{}", serde_json::to_string_pretty(&json)?),
                // Poison is often not JSON, or huge: show its start, never the whole of it.
                None => println!(
                    "body (first {} bytes):\n{}",
                    letter.body.len().min(SHOW_BODY_BYTES),
                    String::from_utf8_lossy(&letter.body[..letter.body.len().min(SHOW_BODY_BYTES)])
                ),
            }
        }
        DlqCommand::Replay {
            consumer: name,
            ids,
        } => {
            let only = (!ids.is_empty()).then_some(ids.as_slice());
            let replayed = dead_letters::replay(&bus, consumer(&name)?, only).await?;
            println!("replayed {replayed} message(s) to {name}");
        }
        DlqCommand::Purge {
            consumer: name,
            yes,
        } => {
            if !yes {
                anyhow::bail!("purging deletes the messages for good; repeat with --yes");
            }
            let purged = dead_letters::purge(&bus, consumer(&name)?).await?;
            println!("purged {purged} message(s) from {name}'s dead-letter queue");
        }
    }
    bus.close().await;
    Ok(())
}
