//! A round-robin TCP load balancer for the cluster run: what a cloud load balancer or an
//! Ingress does in front of replicas (the web gateways, the bot gateways' webhook) and of
//! the Garage nodes. Each new connection goes to the next backend; a backend that refuses
//! the connection (killed) is skipped for the next one. A connection already open to a
//! backend that dies is closed, and the client retries as it would in production.
//!
//! Hand-written (40 lines of tokio) rather than a proxy crate: it must run inside the test
//! process, on any port, with nothing to configure; layer 4 keeps HTTP untouched.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

pub struct Balancer {
    pub addr: SocketAddr,
    /// Connections each backend took.
    served: Arc<Vec<AtomicUsize>>,
    stop: CancellationToken,
}

impl Balancer {
    pub async fn start(backends: Vec<SocketAddr>) -> anyhow::Result<Balancer> {
        anyhow::ensure!(!backends.is_empty(), "a balancer needs a backend");
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let served: Arc<Vec<AtomicUsize>> =
            Arc::new(backends.iter().map(|_| AtomicUsize::new(0)).collect());
        let stop = CancellationToken::new();
        let next = Arc::new(AtomicUsize::new(0));
        let backends = Arc::new(backends);
        let (counts, stopping) = (Arc::clone(&served), stop.clone());
        tokio::spawn(async move {
            loop {
                let inbound = tokio::select! {
                    _ = stopping.cancelled() => return,
                    accepted = listener.accept() => match accepted {
                        Ok((inbound, _)) => inbound,
                        Err(_) => continue,
                    },
                };
                let (backends, next, counts) = (backends.clone(), next.clone(), counts.clone());
                tokio::spawn(relay(inbound, backends, next, counts));
            }
        });
        Ok(Balancer { addr, served, stop })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn served(&self) -> Vec<usize> {
        self.served
            .iter()
            .map(|count| count.load(Ordering::Relaxed))
            .collect()
    }
}

impl Drop for Balancer {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn relay(
    mut inbound: TcpStream,
    backends: Arc<Vec<SocketAddr>>,
    next: Arc<AtomicUsize>,
    counts: Arc<Vec<AtomicUsize>>,
) {
    let first = next.fetch_add(1, Ordering::Relaxed);
    for offset in 0..backends.len() {
        let index = (first + offset) % backends.len();
        let connected =
            tokio::time::timeout(Duration::from_secs(2), TcpStream::connect(backends[index])).await;
        if let Ok(Ok(mut outbound)) = connected {
            counts[index].fetch_add(1, Ordering::Relaxed);
            let _ = inbound.set_nodelay(true);
            let _ = outbound.set_nodelay(true);
            let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
            return;
        }
    }
    // No backend took it: dropping the connection is the client's cue to retry.
}
