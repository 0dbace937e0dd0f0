//! The `web-gateway` binary: settings, logs, signals, then the library's [`web_gateway::start`].

use bureau_platform::{Settings, shutdown, telemetry};

/// jemalloc rather than glibc's malloc: this process streams files in 8 MiB parts from
/// several threads, and glibc kept freed parts in per-thread arenas, so its peak RSS grew
/// with file size (55-85 MiB above idle); jemalloc reuses them (35-43 MiB, flat). Measured
/// with `bench-files` (docs/benchmarks.md, "Files").
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = Settings::load()?;
    telemetry::init(web_gateway::SERVICE.name(), &settings.log);
    let running = web_gateway::start(settings, shutdown::on_signal()).await?;
    let stopped = running.stopped().await;
    telemetry::flush();
    stopped
}
