//! `bureau bus`: one-off steps on the broker's topology.
//!
//! `retire-retry-queues` removes the retry queues versions before 2026-12-06 declared (the
//! consumer holds a retry's delay itself now); run it once after upgrading, and again
//! later if it says a queue still holds messages.

use bureau_event_bus::Retirement;
use bureau_platform::{Settings, bus};
use clap::Subcommand;

#[derive(Subcommand)]
pub enum BusCommand {
    /// Delete the empty retry queues of earlier versions; a queue still holding messages is
    /// kept (they go back to their work queue as their delay ends): run it again later.
    RetireRetryQueues,
}

pub async fn execute(settings: &Settings, command: BusCommand) -> anyhow::Result<()> {
    let bus = bus::event_bus(&settings.broker, super::CLI);
    bus.connect().await?;
    match command {
        BusCommand::RetireRetryQueues => {
            let outcomes = bus.retire_former_retry_queues().await?;
            let mut left = 0;
            for (queue, outcome) in &outcomes {
                let said = match outcome {
                    Retirement::Absent => "not there".to_owned(),
                    Retirement::Removed => "removed (it was empty)".to_owned(),
                    Retirement::Kept {
                        messages,
                        consumers,
                    } => {
                        left += 1;
                        format!(
                            "kept: {messages} message(s), {consumers} consumer(s); run this again once they have gone back to the work queue"
                        )
                    }
                    Retirement::Unknown(error) => {
                        left += 1;
                        format!("not checked ({error}); run this again")
                    }
                };
                println!("{}  {said}", queue.name);
            }
            if left == 0 {
                println!("no retry queue of an earlier version is left");
            }
        }
    }
    bus.close().await;
    Ok(())
}
