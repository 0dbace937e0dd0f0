//! One module per subcommand.

pub mod dlq;
pub mod run;
pub mod staff;

use bureau_platform::{Settings, database};

pub async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    let pool = database::pool(&settings.database)?;
    database::migrate(&pool).await?;
    println!("database schema is up to date");
    Ok(())
}
