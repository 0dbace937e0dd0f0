//! One module per subcommand.

pub mod bus;
pub mod dlq;
pub mod reports;
pub mod run;
pub mod staff;

use bureau_platform::{Settings, database};

/// What the operator's command calls itself: in its logs and in the broker's connection
/// list. It is not one of the services, so it is not a [`proto_events::Service`].
pub const CLI: &str = "bureau";

pub async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    let pool = database::pool(&settings.database)?;
    database::migrate(&pool).await?;
    println!("database schema is up to date");
    Ok(())
}
