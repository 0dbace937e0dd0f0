//! `bureau dlq`: what failed, why, and putting it back once the cause is fixed.

use anyhow::anyhow;
use bureau_platform::{Settings, bus};
use clap::Subcommand;
use proto_events::bus::dead_letters;
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

fn consumer(name: &str) -> anyhow::Result<Consumer> {
    Consumer::parse(name).ok_or_else(|| {
        let known: Vec<_> = Consumer::ALL.iter().map(|c| c.name()).collect();
        anyhow!("unknown consumer `{name}`; one of: {}", known.join(", "))
    })
}

pub async fn execute(settings: &Settings, command: DlqCommand) -> anyhow::Result<()> {
    let bus = bus::event_bus(&settings.broker, "bureau-cli");
    bus.connect().await?;
    match command {
        DlqCommand::List { consumer: name, limit, bodies } => {
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
                        letter.attempts.map(|a| a.to_string()).unwrap_or_else(|| "-".into()),
                        letter.failed_at.as_deref().unwrap_or("-"),
                        letter.error.as_deref().unwrap_or("(dead-lettered by the broker)"),
                    );
                    if bodies {
                        println!("    body: {}", String::from_utf8_lossy(&letter.body));
                    }
                }
            }
        }
        DlqCommand::Replay { consumer: name, ids } => {
            let only = (!ids.is_empty()).then_some(ids.as_slice());
            let replayed = dead_letters::replay(&bus, consumer(&name)?, only).await?;
            println!("replayed {replayed} message(s) to {name}");
        }
        DlqCommand::Purge { consumer: name, yes } => {
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
