//! `telegram-double`: the Bot API double as a standalone process, for
//! running Bureau locally without Telegram. Drive it with the control API:
//!
//! ```text
//! curl -XPOST localhost:8090/_double/users/42/text -H 'content-type: application/json' -d '{"text":"/start"}'
//! curl localhost:8090/_double/chats/42/messages
//! ```

use std::net::SocketAddr;

use clap::Parser;
use telegram_double::{DoubleConfig, TelegramDouble};
use tracing_subscriber::EnvFilter;

#[derive(Parser, Debug)]
#[command(
    name = "telegram-double",
    about = "A Telegram Bot API double for local runs and tests"
)]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "TELEGRAM_DOUBLE_LISTEN", default_value = "127.0.0.1:8090")]
    listen: SocketAddr,
    /// The bot token to accept.
    #[arg(
        long,
        env = "TELEGRAM_DOUBLE_TOKEN",
        default_value = "123456:TEST-TOKEN"
    )]
    token: String,
    /// Do not enforce Telegram's flood limits.
    #[arg(long)]
    no_limits: bool,
    /// `getFile` refuses files above this many bytes (Telegram's cloud Bot API: 20 MB). A
    /// local Bot API server has no limit: pass a large number, e.g. 4294967296.
    #[arg(long, env = "TELEGRAM_DOUBLE_MAX_DOWNLOAD_BYTES")]
    max_download_bytes: Option<u64>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();
    let base = if args.no_limits {
        DoubleConfig::without_limits()
    } else {
        DoubleConfig::default()
    };
    let config = DoubleConfig {
        token: args.token,
        listen: args.listen,
        max_download_bytes: args.max_download_bytes.unwrap_or(base.max_download_bytes),
        ..base
    };
    let double = TelegramDouble::start(config).await?;
    tracing::info!(
        api_url = %double.api_url(),
        token = %double.token(),
        "serving the Bot API double; point Bureau at it with BUREAU__TELEGRAM__API_URL={} BUREAU__TELEGRAM__TOKEN={}",
        double.api_url(),
        double.token(),
    );
    wait_for_signal().await;
    tracing::info!("stopping");
    double.shutdown().await;
    tracing::info!("stopped");
    Ok(())
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
