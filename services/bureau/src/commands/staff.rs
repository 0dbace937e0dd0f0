//! `bureau staff add`: staff accounts are made by an operator, never by sign-up.

use anyhow::Context;
use bureau_accounts::{Role, create_account};
use bureau_platform::{Settings, database};
use clap::Subcommand;

#[derive(Subcommand)]
pub enum StaffCommand {
    /// Create a staff account. The password is read from the environment variable named by
    /// --password-env (default BUREAU_STAFF_PASSWORD), so it never appears in shell history.
    Add {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// admin, manager or executor
        #[arg(long)]
        role: String,
        #[arg(long, default_value = "BUREAU_STAFF_PASSWORD")]
        password_env: String,
    },
}

pub async fn execute(settings: &Settings, command: StaffCommand) -> anyhow::Result<()> {
    match command {
        StaffCommand::Add {
            email,
            name,
            role,
            password_env,
        } => {
            let role = Role::parse(&role)
                .ok()
                .filter(|role| role.is_staff())
                .with_context(|| {
                    format!("unknown staff role `{role}`: use admin, manager or executor")
                })?;
            let password = std::env::var(&password_env).with_context(|| {
                format!("set the password in the environment variable {password_env}")
            })?;
            let pool = database::pool(&settings.database)?;
            database::migrate(&pool).await?;
            let id = create_account(&pool, &email, &password, &name, role).await?;
            println!("created staff account {id} <{email}>");
            Ok(())
        }
    }
}
