//! The notifier process: settings, logs and signals around [`notifier::start`].

// The consumer's future (the event bus's `consume` over the notifier's handler, the pace and
// the reminder sender) nests deeper than rustc's default query depth of 128 when its layout
// is computed in a release build ("queries overflow the depth limit"); debug builds pass.
#![recursion_limit = "256"]

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
