//! Two (or more) bot gateways in webhook mode behind one address, as a load balancer would
//! put them: each webhook delivery goes to the next replica in turn, and the proxy counts
//! what each accepted. A replica that is down answers 502, and the double delivers again.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use bureau_platform::settings::TelegramMode;
use bureau_platform::{Secret, Settings};
use tokio_util::sync::CancellationToken;

use crate::TestStack;

struct RoundRobin {
    backends: Vec<SocketAddr>,
    next: AtomicUsize,
    served: Vec<AtomicUsize>,
    client: reqwest::Client,
}

async fn forward(
    State(proxy): State<Arc<RoundRobin>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let index = proxy.next.fetch_add(1, Ordering::SeqCst) % proxy.backends.len();
    let mut request = proxy
        .client
        .post(format!("http://{}/telegram/webhook", proxy.backends[index]))
        .header("content-type", "application/json")
        .body(body);
    if let Some(secret) = headers.get(telegram_double::SECRET_TOKEN_HEADER) {
        request = request.header(telegram_double::SECRET_TOKEN_HEADER, secret.as_bytes());
    }
    match request.send().await {
        Ok(response) => {
            if response.status().is_success() {
                proxy.served[index].fetch_add(1, Ordering::SeqCst);
            }
            StatusCode::from_u16(response.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY)
        }
        Err(_) => StatusCode::BAD_GATEWAY,
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// `replicas` bot gateways in webhook mode behind a round-robin proxy, in place of the
/// stack's polling gateway (Telegram allows one or the other).
pub struct Replicas {
    proxy: Arc<RoundRobin>,
    stop: CancellationToken,
}

impl Replicas {
    pub async fn start(stack: &mut TestStack, replicas: usize) -> anyhow::Result<Replicas> {
        stack.stop_service(crate::Service::BotGateway).await?;
        let mut backends = Vec::with_capacity(replicas);
        for _ in 0..replicas {
            backends.push(SocketAddr::from(([127, 0, 0, 1], free_port()?)));
        }
        let proxy = Arc::new(RoundRobin {
            backends: backends.clone(),
            next: AtomicUsize::new(0),
            served: backends.iter().map(|_| AtomicUsize::new(0)).collect(),
            client: reqwest::Client::builder().no_proxy().build()?,
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/telegram/webhook", listener.local_addr()?);
        let app = axum::Router::new()
            .route("/telegram/webhook", axum::routing::post(forward))
            .with_state(proxy.clone());
        let stop = CancellationToken::new();
        let stopping = stop.clone();
        tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move { stopping.cancelled().await })
                .await
        });
        for listen in backends {
            let url = url.clone();
            stack
                .start_bot_gateway_replica(move |settings: &mut Settings| {
                    settings.bot_gateway.listen = listen;
                    settings.telegram.mode = TelegramMode::Webhook;
                    settings.telegram.webhook_url = url;
                    settings.telegram.webhook_secret = Secret::new("replicas-share-this-secret");
                })
                .await?;
        }
        Ok(Replicas { proxy, stop })
    }

    /// How many deliveries each replica accepted.
    pub fn served(&self) -> Vec<usize> {
        self.proxy
            .served
            .iter()
            .map(|count| count.load(Ordering::SeqCst))
            .collect()
    }
}

impl Drop for Replicas {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}
