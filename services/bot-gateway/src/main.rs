//! The bot gateway binary: settings, telemetry, signals; the work is in the library.

use bureau_platform::{Settings, shutdown, telemetry};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = Settings::load()?;
    telemetry::init(bot_gateway::SERVICE.name(), &settings.log);
    let running = bot_gateway::start(settings, shutdown::on_signal()).await?;
    let stopped = running.stopped().await;
    telemetry::flush();
    stopped
}
