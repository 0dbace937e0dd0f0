//! The `web-gateway` binary: settings, logs, signals, then the library's [`web_gateway::start`].

use bureau_platform::{Settings, shutdown, telemetry};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = Settings::load()?;
    telemetry::init("web-gateway", &settings.log);
    let running = web_gateway::start(settings, shutdown::on_signal()).await?;
    running.stopped().await
}
