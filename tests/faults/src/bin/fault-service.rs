//! `fault-service <service>`: one Bureau service as its own process, exactly as its own
//! binary runs it (settings from `config/` and `BUREAU__*` variables, SIGTERM stops it
//! gracefully). It lives in this crate so the fault suite gets it built by `cargo test`
//! (`CARGO_BIN_EXE_fault-service`) and can kill -9 a real process.

use anyhow::bail;
use bureau_platform::{Settings, shutdown, telemetry};
use proto_events::Service;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let Some(service) = std::env::args().nth(1).as_deref().and_then(Service::parse) else {
        let names: Vec<&str> = Service::ALL.iter().map(|s| s.name()).collect();
        bail!("usage: fault-service <{}>", names.join("|"));
    };
    let settings = Settings::load()?;
    let stop = shutdown::on_signal();
    telemetry::init(service.name(), &settings.log);
    let running = match service {
        Service::WebGateway => web_gateway::start(settings, stop).await?,
        Service::BotGateway => bot_gateway::start(settings, stop).await?,
        Service::StorageWorker => storage_worker::start(settings, stop).await?,
        Service::PersistenceWorker => persistence_worker::start(settings, stop).await?,
        Service::Notifier => notifier::start(settings, stop).await?,
    };
    running.stopped().await
}
