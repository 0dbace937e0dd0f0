//! `bureau`: the operator's command.
//!
//! - `bureau run`: every service as its own process on this machine (plus the Telegram
//!   double when no bot token is configured), restarted if one dies, stopped together.
//! - `bureau migrate`: applies the database schema.
//! - `bureau staff add`: creates a staff account (admin, manager, executor).
//! - `bureau dlq list|show|replay|purge`: inspects and replays a service's dead letters.
//! - `bureau reports rebuild`: remakes the reports' day tables from the history.
//! - `bureau bus retire-retry-queues`: removes the retry queues of earlier versions, once empty.

mod commands;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "bureau", version, about = "Run and operate Bureau")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start every service as its own process and supervise them.
    Run(commands::run::RunArgs),
    /// Apply database migrations.
    Migrate,
    /// Manage staff accounts.
    #[command(subcommand)]
    Staff(commands::staff::StaffCommand),
    /// Inspect, replay or purge dead-lettered messages.
    #[command(subcommand)]
    Dlq(commands::dlq::DlqCommand),
    /// Remake the reports' day tables from the orders and their histories.
    #[command(subcommand)]
    Reports(commands::reports::ReportsCommand),
    /// One-off steps on the broker's queues after an upgrade.
    #[command(subcommand)]
    Bus(commands::bus::BusCommand),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let mut settings = bureau_platform::Settings::load()?;
    if matches!(cli.command, Command::Bus(_)) {
        // Asking the broker whether a queue exists is answered, when it does not, by closing
        // the channel, which the AMQP client logs as an error; the command says so itself.
        settings.log.filter.push_str(",lapin=off");
    }
    bureau_platform::telemetry::init(commands::CLI, &settings.log);
    match cli.command {
        Command::Run(args) => commands::run::run(settings, args).await,
        Command::Migrate => commands::migrate(&settings).await,
        Command::Staff(command) => commands::staff::execute(&settings, command).await,
        Command::Dlq(command) => commands::dlq::execute(&settings, command).await,
        Command::Reports(command) => commands::reports::execute(&settings, command).await,
        Command::Bus(command) => commands::bus::execute(&settings, command).await,
    }
}
