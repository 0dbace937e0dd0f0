//! `fault-service <service>`: one Bureau service as its own process, exactly as its own
//! binary runs it (settings from `config/` and `BUREAU__*` variables, SIGTERM stops it
//! gracefully). It lives in this crate so the fault suite gets it built by `cargo test`
//! (`CARGO_BIN_EXE_fault-service`) and can kill -9 a real process.

use anyhow::bail;
use bureau_platform::{Settings, shutdown, telemetry};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let Some(service) = std::env::args().nth(1) else {
        bail!(
            "usage: fault-service <web-gateway|bot-gateway|storage-worker|persistence-worker|notifier>"
        );
    };
    let settings = Settings::load()?;
    let stop = shutdown::on_signal();
    let running = match service.as_str() {
        "web-gateway" => {
            telemetry::init("web-gateway", &settings.log);
            web_gateway::start(settings, stop).await?
        }
        "bot-gateway" => {
            telemetry::init("bot-gateway", &settings.log);
            bot_gateway::start(settings, stop).await?
        }
        "storage-worker" => {
            telemetry::init("storage-worker", &settings.log);
            storage_worker::start(settings, stop).await?
        }
        "persistence-worker" => {
            telemetry::init("persistence-worker", &settings.log);
            persistence_worker::start(settings, stop).await?
        }
        "notifier" => {
            telemetry::init("notifier", &settings.log);
            notifier::start(settings, stop).await?
        }
        other => bail!("unknown service `{other}`"),
    };
    running.stopped().await
}
