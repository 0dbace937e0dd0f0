//! The storage worker process: settings, logs and signals around `storage_worker::start`.

use bureau_platform::{Settings, shutdown, telemetry};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = Settings::load()?;
    telemetry::init("storage-worker", &settings.log);
    let running = storage_worker::start(settings, shutdown::on_signal()).await?;
    running.stopped().await
}
