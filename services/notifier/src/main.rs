//! The notifier process: settings, logs and signals around [`notifier::start`].

use bureau_platform::{Settings, shutdown, telemetry};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = Settings::load()?;
    telemetry::init(notifier::SERVICE.name(), &settings.log);
    let running = notifier::start(settings, shutdown::on_signal()).await?;
    let stopped = running.stopped().await;
    telemetry::flush();
    stopped
}
