//! The persistence worker binary: settings, telemetry, signals; the work is in the library.

use bureau_platform::{Settings, shutdown, telemetry};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = Settings::load()?;
    telemetry::init(persistence_worker::SERVICE.name(), &settings.log);
    let running = persistence_worker::start(settings, shutdown::on_signal()).await?;
    let stopped = running.stopped().await;
    telemetry::flush();
    stopped
}
