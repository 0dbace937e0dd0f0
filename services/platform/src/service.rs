//! The handle a started service returns: where it listens and the task running it.
//! Binaries await it; tests start services in-process on port 0 and read `http_addr`.

use std::net::SocketAddr;

use tokio::task::JoinHandle;

pub struct Running {
    /// Where `/healthz`, `/readyz` and any service routes are served.
    pub http_addr: SocketAddr,
    /// Ends when the service has stopped after its shutdown token fired.
    pub task: JoinHandle<anyhow::Result<()>>,
}

impl Running {
    /// Waits for the service to stop and reports how it ended.
    pub async fn stopped(self) -> anyhow::Result<()> {
        self.task
            .await
            .map_err(|e| anyhow::anyhow!("service task failed: {e}"))?
    }
}
