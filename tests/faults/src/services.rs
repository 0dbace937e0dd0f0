//! The five Bureau services as real processes (`fault-service <name>`), each on a fixed
//! port so it can be killed and started again where the traffic expects it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context;
use tokio::process::{Child, Command};

use crate::private_stack::{free_port, signal};
use bureau_test_support::eventually;

pub use proto_events::Service;

/// The settings section holding a service's `listen`: its name in upper snake case.
fn section(service: Service) -> String {
    service.name().replace('-', "_").to_uppercase()
}

struct Process {
    port: u16,
    child: Option<Child>,
}

/// Every service of the run, with the environment they share.
pub struct Services {
    binary: PathBuf,
    env: Vec<(String, String)>,
    logs: PathBuf,
    processes: BTreeMap<Service, Process>,
    http: reqwest::Client,
}

impl Services {
    /// `env`: the `BUREAU__*` settings every service gets (broker, database, store, Telegram).
    pub fn new(binary: &Path, env: Vec<(String, String)>, logs: &Path) -> anyhow::Result<Services> {
        let mut processes = BTreeMap::new();
        for service in Service::ALL {
            processes.insert(
                service,
                Process {
                    port: free_port()?,
                    child: None,
                },
            );
        }
        Ok(Services {
            binary: binary.to_owned(),
            env,
            logs: logs.to_owned(),
            processes,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()?,
        })
    }

    /// Sets (or replaces) one variable of the environment for processes started from now on.
    pub fn set_env(&mut self, name: &str, value: &str) {
        self.env.retain(|(k, _)| k != name);
        self.env.push((name.to_owned(), value.to_owned()));
    }

    pub fn url(&self, service: Service, path: &str) -> String {
        format!("http://127.0.0.1:{}{}", self.processes[&service].port, path)
    }

    pub fn start(&mut self, service: Service) -> anyhow::Result<()> {
        let log_path = self.logs.join(format!("{}.log", service.name()));
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)?;
        let process = self
            .processes
            .get_mut(&service)
            .expect("every service has a slot");
        let child = Command::new(&self.binary)
            .arg(service.name())
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env(
                format!("BUREAU__{}__LISTEN", section(service)),
                format!("127.0.0.1:{}", process.port),
            )
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", service.name()))?;
        process.child = Some(child);
        Ok(())
    }

    /// Waits until the service answers `/readyz` with 200.
    pub async fn wait_ready(&self, service: Service, deadline: Duration) -> anyhow::Result<()> {
        let url = self.url(service, "/readyz");
        let http = self.http.clone();
        eventually(&format!("{} ready", service.name()), deadline, || {
            let (http, url) = (http.clone(), url.clone());
            async move {
                http.get(&url)
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success())
            }
        })
        .await
    }

    /// Whether `/readyz` currently answers something other than 200 (or nothing).
    pub async fn reports_not_ready(&self, service: Service) -> bool {
        match self.http.get(self.url(service, "/readyz")).send().await {
            Ok(response) => !response.status().is_success(),
            Err(_) => true,
        }
    }

    /// kill -9: no chance to finish anything.
    pub async fn kill(&mut self, service: Service) -> anyhow::Result<()> {
        if let Some(mut child) = self
            .processes
            .get_mut(&service)
            .and_then(|p| p.child.take())
        {
            child.kill().await?;
        }
        Ok(())
    }

    /// SIGTERM and wait for a clean exit, as a rolling restart does.
    pub async fn terminate(&mut self, service: Service) -> anyhow::Result<()> {
        if let Some(mut child) = self
            .processes
            .get_mut(&service)
            .and_then(|p| p.child.take())
        {
            signal(&child, libc::SIGTERM);
            let status = tokio::time::timeout(Duration::from_secs(45), child.wait())
                .await
                .with_context(|| {
                    format!("{} did not stop within 45 s of SIGTERM", service.name())
                })??;
            anyhow::ensure!(
                status.success(),
                "{} exited with {status} after SIGTERM",
                service.name()
            );
        }
        Ok(())
    }

    /// Whether every started service is still running (none crashed by itself).
    pub fn crashed(&mut self) -> Vec<String> {
        let mut crashed = Vec::new();
        for (service, process) in &mut self.processes {
            if let Some(child) = process.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                crashed.push(format!("{} exited by itself: {status}", service.name()));
            }
        }
        crashed
    }

    pub async fn stop_all(&mut self) {
        for service in Service::ALL {
            if let Err(error) = self.terminate(service).await {
                eprintln!("stopping {}: {error:#}", service.name());
                let _ = self.kill(service).await;
            }
        }
    }
}
