//! `bureau run`: one command starts everything on one machine.
//!
//! Each service runs as its own process (the same binaries an operator scales out one by
//! one), so this is a supervisor, not a monolith: a service that dies is restarted with
//! backoff, and SIGTERM/Ctrl-C is passed to every child, which finishes its work in flight.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitStatus;
use std::time::Duration;

use anyhow::Context;
use bureau_kit::retry::Backoff;
use bureau_platform::{Settings, shutdown};
use proto_events::Service;
use tokio::process::{Child, Command};
use tokio_util::sync::CancellationToken;

const DOUBLE_LISTEN: &str = "127.0.0.1:8090";
/// How long children get to finish their work after SIGTERM before they are killed.
const STOP_GRACE: Duration = Duration::from_secs(30);

#[derive(clap::Args)]
pub struct RunArgs {
    /// Use the local Telegram Bot API double even when a bot token is configured.
    #[arg(long)]
    telegram_double: bool,
    /// Start only these services (repeatable); all five when omitted.
    #[arg(long = "only")]
    only: Vec<String>,
}

pub async fn run(settings: Settings, args: RunArgs) -> anyhow::Result<()> {
    let bin_dir = std::env::current_exe()?
        .parent()
        .map(PathBuf::from)
        .context("no binary directory")?;
    let stop = shutdown::on_signal();
    let mut env: HashMap<String, String> = HashMap::new();
    let mut supervised = Vec::new();

    if args.telegram_double || settings.telegram.token.is_empty() {
        let token = format!("{}:LOCAL-DOUBLE-TOKEN", 100000 + rand_digits());
        let api_url = format!("http://{DOUBLE_LISTEN}");
        env.insert("BUREAU__TELEGRAM__API_URL".into(), api_url.clone());
        env.insert("BUREAU__TELEGRAM__TOKEN".into(), token.clone());
        let program = bin_dir.join("telegram-double");
        let double_args = vec![
            "--listen".to_owned(),
            DOUBLE_LISTEN.to_owned(),
            "--token".to_owned(),
            token,
        ];
        supervised.push(tokio::spawn(supervise(
            "telegram-double",
            program,
            double_args,
            HashMap::new(),
            stop.clone(),
        )));
        println!(
            "Telegram: no bot token configured, so the local Bot API double runs at {api_url}."
        );
        println!(
            "  Talk to the bot as user 1001:  curl -X POST {api_url}/_double/users/1001/text -H 'content-type: application/json' -d '{{\"text\":\"/start\"}}'"
        );
        println!("  Read its answers:              curl {api_url}/_double/chats/1001/messages");
        println!(
            "  For the real Telegram: BUREAU__TELEGRAM__TOKEN=<token from @BotFather> scripts/run"
        );
    } else {
        println!(
            "Telegram: using the Bot API at {} with the configured token.",
            settings.telegram.api_url
        );
    }

    super::migrate(&settings)
        .await
        .context("applying migrations before start")?;

    // Each service's binary is named after it.
    let wanted: Vec<Service> = if args.only.is_empty() {
        Service::ALL.to_vec()
    } else {
        let known: Vec<&str> = Service::ALL.iter().map(|s| s.name()).collect();
        for name in &args.only {
            anyhow::ensure!(
                Service::parse(name).is_some(),
                "unknown service `{name}`; one of {known:?}"
            );
        }
        Service::ALL
            .into_iter()
            .filter(|s| args.only.iter().any(|o| o == s.name()))
            .collect()
    };
    for service in wanted {
        let program = bin_dir.join(service.name());
        supervised.push(tokio::spawn(supervise(
            service.name(),
            program,
            Vec::new(),
            env.clone(),
            stop.clone(),
        )));
    }

    println!(
        "Web gateway:  {}  (health on each service's /healthz and /readyz:",
        settings.web_gateway.public_url
    );
    println!(
        "  web {}, bot {}, storage {}, persistence {}, notifier {})",
        settings.web_gateway.listen,
        settings.bot_gateway.listen,
        settings.storage_worker.listen,
        settings.persistence_worker.listen,
        settings.notifier.listen
    );
    println!("Stop everything with Ctrl-C.");

    for task in supervised {
        task.await?;
    }
    Ok(())
}

fn rand_digits() -> u32 {
    // Unique enough per run; the double accepts any token it was started with.
    std::process::id() % 900_000
}

/// Pauses before restarting a child that exited: 1 s doubling to 32 s.
const RESTART_BACKOFF: Backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(32));

/// Runs `program` until `stop` fires, restarting it with backoff whenever it exits.
async fn supervise(
    name: &'static str,
    program: PathBuf,
    args: Vec<String>,
    env: HashMap<String, String>,
    stop: CancellationToken,
) {
    let mut pauses = RESTART_BACKOFF.pauses();
    while !stop.is_cancelled() {
        let mut child = match Command::new(&program)
            .args(&args)
            .envs(&env)
            .kill_on_drop(true)
            .spawn()
        {
            Ok(child) => child,
            Err(error) => {
                eprintln!(
                    "{name}: cannot start {}: {error} (build it with `cargo build --release`)",
                    program.display()
                );
                return;
            }
        };
        let started = tokio::time::Instant::now();
        tokio::select! {
            status = child.wait() => {
                let status = status.map(describe).unwrap_or_else(|e| e.to_string());
                // A child that ran a while before it exited starts over from the first pause.
                if started.elapsed() > Duration::from_secs(60) {
                    pauses.reset();
                }
                let delay = pauses.next_pause();
                eprintln!("{name} exited ({status}); restarting in {delay:?}");
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = stop.cancelled() => {}
                }
            }
            _ = stop.cancelled() => {
                stop_child(name, &mut child).await;
            }
        }
    }
}

fn describe(status: ExitStatus) -> String {
    status.to_string()
}

async fn stop_child(name: &str, child: &mut Child) {
    if let Some(pid) = child.id() {
        // SIGTERM lets the service finish what it holds; tokio's kill() would be SIGKILL.
        // SAFETY: kill(2) with a pid we own and a valid signal number has no memory effects.
        unsafe {
            libc::kill(pid as libc::pid_t, libc::SIGTERM);
        }
    }
    match tokio::time::timeout(STOP_GRACE, child.wait()).await {
        Ok(_) => println!("{name} stopped"),
        Err(_) => {
            eprintln!("{name} did not stop within {STOP_GRACE:?}; killing it");
            let _ = child.kill().await;
        }
    }
}
