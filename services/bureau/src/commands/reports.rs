//! `bureau reports rebuild`: remakes the reports' day tables from the orders and their
//! histories (`bureau_platform::report_days`) for the business's time zone — after restoring
//! a backup by hand, editing history in SQL, or to check them (docs/reports.md). The web
//! gateway does the same by itself when the business's zone is not the tables' zone.

use anyhow::Context;
use bureau_platform::{Settings, business, database, report_days};
use clap::Subcommand;

#[derive(Subcommand)]
pub enum ReportsCommand {
    /// Remake the day tables the reports read, in one transaction.
    Rebuild {
        /// An IANA time zone (`Europe/Kyiv`) instead of the business's own.
        #[arg(long)]
        zone: Option<String>,
    },
}

pub async fn execute(settings: &Settings, command: ReportsCommand) -> anyhow::Result<()> {
    match command {
        ReportsCommand::Rebuild { zone } => {
            let pool = database::pool(&settings.database)?;
            database::migrate(&pool).await?;
            let zone = match zone {
                Some(name) => business::time_zone(&name)
                    .with_context(|| format!("unknown time zone `{name}`"))?,
                None => business::details(&pool, &settings.business).await?.zone(),
            };
            let started = std::time::Instant::now();
            let rebuilt = report_days::rebuild(&pool, &zone).await?;
            println!(
                "report day tables rebuilt for {} in {:.1} s: {} days×channel×status, {} days×status of stays, \
                 {} days of deliveries, {} days×staff, {} days×currency of accepted quotes",
                rebuilt.zone,
                started.elapsed().as_secs_f64(),
                rebuilt.created_rows,
                rebuilt.stay_rows,
                rebuilt.turnaround_rows,
                rebuilt.staff_rows,
                rebuilt.quote_rows
            );
            Ok(())
        }
    }
}
