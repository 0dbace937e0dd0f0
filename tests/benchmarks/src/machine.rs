//! Processes and CPU time: worker binaries run as child processes, and where the machine's
//! cores went during a measurement (workers, MariaDB, RabbitMQ, Garage, the benchmark).

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

pub fn free_port() -> anyhow::Result<SocketAddr> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

/// A worker binary running as a child process.
pub struct Replica {
    pub child: Child,
    pub addr: SocketAddr,
}

impl Replica {
    pub fn spawn(
        binary: &Path,
        environment: &[(String, String)],
        listen_variable: &str,
    ) -> anyhow::Result<Replica> {
        if !binary.is_file() {
            bail!(
                "{} is missing: build it first (see docs/benchmarks.md)",
                binary.display()
            );
        }
        let addr = free_port()?;
        let child = Command::new(binary)
            .envs(environment.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env(listen_variable, addr.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        Ok(Replica { child, addr })
    }

    pub async fn wait_ready(&mut self, http: &reqwest::Client) -> anyhow::Result<()> {
        let url = format!("http://{}/readyz", self.addr);
        let until = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(response) = http.get(&url).send().await
                && response.status().is_success()
            {
                return Ok(());
            }
            if let Some(status) = self.child.try_wait()? {
                bail!("a replica exited at start with {status}");
            }
            if Instant::now() > until {
                bail!("{url} not ready after 60 s");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A `kB` field of the process's `/proc/{pid}/status`, e.g. `VmRSS:` or `VmHWM:`.
    pub fn status_kib(&self, field: &str) -> anyhow::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        status
            .lines()
            .find_map(|line| line.strip_prefix(field))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .with_context(|| format!("no {field} in /proc/{}/status", self.child.id()))
    }

    pub fn stop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let until = Instant::now() + Duration::from_secs(20);
        while Instant::now() < until {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// utime + stime of a process, in clock ticks (100 per second on Linux).
pub fn cpu_ticks(pid: u32) -> u64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0;
    };
    // Fields after the command name (which may hold spaces) in parentheses.
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return 0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| {
        fields
            .get(n)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    field(11) + field(12) // utime, stime: fields 14 and 15 of the whole line
}

/// Busy and total ticks of the whole machine (/proc/stat's first line).
pub fn machine_ticks() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let numbers: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|n| n.parse().ok())
        .collect();
    let total: u64 = numbers.iter().sum();
    let idle = numbers.get(3).copied().unwrap_or(0) + numbers.get(4).copied().unwrap_or(0);
    (total.saturating_sub(idle), total)
}

pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// The shared servers' processes: MariaDB, RabbitMQ (the node on 5672), Garage (:3900).
pub fn server_pids() -> HashMap<&'static str, Vec<u32>> {
    let mut pids: HashMap<&'static str, Vec<u32>> = HashMap::new();
    let read_pid = |path: &str| {
        std::fs::read_to_string(path)
            .ok()
            .and_then(|p| p.trim().parse::<u32>().ok())
    };
    if let Some(pid) = read_pid("/var/lib/bureau-stack/garage.pid") {
        pids.entry("garage").or_default().push(pid);
    }
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read_to_string(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let args: Vec<&str> = cmdline.split('\0').collect();
        let program = args.first().copied().unwrap_or_default();
        if program.ends_with("mariadbd") && !cmdline.contains("--datadir=/tmp") {
            pids.entry("mariadb").or_default().push(pid);
        } else if program.ends_with("beam.smp")
            && !cmdline.contains("bureau-faults")
            && !cmdline.contains("bureau-cluster")
        {
            pids.entry("rabbitmq").or_default().push(pid);
        }
    }
    pids
}

#[derive(Clone, Copy, Default)]
pub struct CpuShare {
    pub machine_busy: f64,
    pub workers: f64,
    pub mariadb: f64,
    pub rabbitmq: f64,
    pub garage: f64,
    pub bench: f64,
}

/// CPU ticks at one moment, to subtract from a later one.
pub struct CpuMark {
    pub at: Instant,
    machine: (u64, u64),
    workers: u64,
    servers: HashMap<&'static str, u64>,
    bench: u64,
}

impl CpuMark {
    pub fn now<'a>(
        replicas: impl IntoIterator<Item = &'a Replica>,
        servers: &HashMap<&'static str, Vec<u32>>,
    ) -> CpuMark {
        CpuMark {
            at: Instant::now(),
            machine: machine_ticks(),
            workers: replicas.into_iter().map(|r| cpu_ticks(r.child.id())).sum(),
            servers: servers
                .iter()
                .map(|(name, pids)| (*name, pids.iter().map(|p| cpu_ticks(*p)).sum()))
                .collect(),
            bench: cpu_ticks(std::process::id()),
        }
    }

    pub fn share_since(&self, earlier: &CpuMark) -> CpuShare {
        let seconds = self.at.duration_since(earlier.at).as_secs_f64().max(1e-3);
        let cores = |now: u64, then: u64| now.saturating_sub(then) as f64 / 100.0 / seconds;
        let server = |name: &str| {
            cores(
                self.servers.get(name).copied().unwrap_or(0),
                earlier.servers.get(name).copied().unwrap_or(0),
            )
        };
        let busy = self.machine.0.saturating_sub(earlier.machine.0) as f64;
        let total = self.machine.1.saturating_sub(earlier.machine.1).max(1) as f64;
        CpuShare {
            machine_busy: busy / total,
            workers: cores(self.workers, earlier.workers),
            mariadb: server("mariadb"),
            rabbitmq: server("rabbitmq"),
            garage: server("garage"),
            bench: cores(self.bench, earlier.bench),
        }
    }
}
