//! Private RabbitMQ, MariaDB and Garage for one fault run: own ports, own data directories,
//! own processes, so the run can stop and restart them without touching the shared
//! servers other tests use.
//!
//! Ports come from below Linux's ephemeral range (32768+): a port there can be taken by
//! any outgoing connection between a stop and a restart, and RabbitMQ then fails to bind.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::process::{Child, Command};

use bureau_test_support::eventually;

/// A free TCP port on 127.0.0.1 outside the ephemeral range and away from the shared stack.
pub fn free_port() -> anyhow::Result<u16> {
    for _ in 0..500 {
        let port = rand::random_range(15_000u16..30_000);
        if port == 25_672 {
            continue; // the shared RabbitMQ's distribution port
        }
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return Ok(port);
        }
    }
    bail!("no free port found in 15000..30000")
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

async fn run(command: &mut Command, what: &str) -> anyhow::Result<()> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .await
        .with_context(|| format!("running {what}"))?;
    if !output.status.success() {
        bail!(
            "{what} failed ({}): {}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}

/// A RabbitMQ node of our own (`rabbitmq-server -detached`).
pub struct PrivateRabbit {
    dir: PathBuf,
    node: String,
    pub port: u16,
    dist_port: u16,
}

impl PrivateRabbit {
    pub async fn start(root: &Path) -> anyhow::Result<PrivateRabbit> {
        let dir = root.join("rabbitmq");
        std::fs::create_dir_all(&dir)?;
        let port = free_port()?;
        let dist_port = free_port()?;
        // Our own config file, so /etc/rabbitmq/rabbitmq.conf's listener on 5672 is not
        // read; no plugins, so no second management listener on 15672.
        std::fs::write(
            dir.join("rabbitmq.conf"),
            format!("listeners.tcp.default = 127.0.0.1:{port}\nloopback_users = none\n"),
        )?;
        std::fs::write(dir.join("enabled_plugins"), "[].\n")?;
        if is_root() {
            // The Debian wrapper drops to the rabbitmq user, which must own the data.
            run(
                Command::new("chown")
                    .arg("-R")
                    .arg("rabbitmq:rabbitmq")
                    .arg(&dir),
                "chown",
            )
            .await?;
        }
        let rabbit = PrivateRabbit {
            node: format!("bureau-faults-{port}@localhost"),
            dir,
            port,
            dist_port,
        };
        rabbit.up().await?;
        Ok(rabbit)
    }

    pub fn url(&self) -> String {
        format!("amqp://guest:guest@127.0.0.1:{}/%2f", self.port)
    }

    /// The node's name, for `rabbitmqctl -n`.
    pub fn node_name(&self) -> &str {
        &self.node
    }

    fn pid_file(&self) -> PathBuf {
        self.dir.join("pid")
    }

    /// Starts the node and waits until it takes connections.
    pub async fn up(&self) -> anyhow::Result<()> {
        let dir = &self.dir;
        run(
            Command::new("rabbitmq-server")
                .arg("-detached")
                .env("RABBITMQ_NODENAME", &self.node)
                .env("RABBITMQ_DIST_PORT", self.dist_port.to_string())
                .env("RABBITMQ_CONFIG_FILE", dir.join("rabbitmq.conf"))
                .env("RABBITMQ_ENABLED_PLUGINS_FILE", dir.join("enabled_plugins"))
                .env("RABBITMQ_MNESIA_BASE", dir.join("mnesia"))
                .env("RABBITMQ_LOG_BASE", dir.join("log"))
                .env("RABBITMQ_PID_FILE", self.pid_file()),
            "rabbitmq-server -detached",
        )
        .await?;
        // `wait` fails at once while the pid file is not written yet: give it a moment.
        eventually(
            "the private RabbitMQ's pid file",
            Duration::from_secs(30),
            || {
                let exists = self.pid_file().exists();
                async move { exists }
            },
        )
        .await?;
        run(
            Command::new("rabbitmqctl")
                .args(["-n", &self.node, "-q", "wait", "--timeout", "90"])
                .arg(self.pid_file()),
            "rabbitmqctl wait",
        )
        .await
        .with_context(|| format!("see {}", dir.join("log").display()))?;
        let port = self.port;
        eventually(
            "the private RabbitMQ's port",
            Duration::from_secs(30),
            || async move {
                tokio::net::TcpStream::connect(("127.0.0.1", port))
                    .await
                    .is_ok()
            },
        )
        .await
    }

    /// Stops the node (the queues are durable: messages survive) and waits until it is gone.
    pub async fn down(&self) -> anyhow::Result<()> {
        run(
            Command::new("rabbitmqctl")
                .args(["-n", &self.node, "-q", "stop"])
                .arg(self.pid_file()),
            "rabbitmqctl stop",
        )
        .await?;
        let _ = std::fs::remove_file(self.pid_file());
        Ok(())
    }
}

impl Drop for PrivateRabbit {
    fn drop(&mut self) {
        // Detached: nothing else would stop it. Blocking is fine at the end of a test.
        let _ = std::process::Command::new("rabbitmqctl")
            .args(["-n", &self.node, "-q", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// A MariaDB server of our own: root without a password over TCP (grant tables skipped).
pub struct PrivateMariaDb {
    dir: PathBuf,
    pub port: u16,
    child: Option<Child>,
}

impl PrivateMariaDb {
    pub async fn start(root: &Path) -> anyhow::Result<PrivateMariaDb> {
        let dir = root.join("mariadb");
        std::fs::create_dir_all(&dir)?;
        let mut install = Command::new("mariadb-install-db");
        install
            .arg("--no-defaults")
            .arg(format!("--datadir={}", dir.join("data").display()))
            .arg("--auth-root-authentication-method=normal")
            .arg("--skip-test-db");
        if is_root() {
            install.arg("--user=root");
        }
        run(&mut install, "mariadb-install-db").await?;
        let mut db = PrivateMariaDb {
            dir,
            port: free_port()?,
            child: None,
        };
        db.up().await?;
        let url = format!("mysql://root@127.0.0.1:{}/mysql", db.port);
        let pool = sqlx::MySqlPool::connect(&url).await?;
        sqlx::query("CREATE DATABASE bureau CHARACTER SET utf8mb4")
            .execute(&pool)
            .await?;
        pool.close().await;
        Ok(db)
    }

    pub fn url(&self) -> String {
        format!("mysql://root@127.0.0.1:{}/bureau", self.port)
    }

    pub async fn up(&mut self) -> anyhow::Result<()> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("mariadb.log"))?;
        let mut command = Command::new("mariadbd");
        command
            .arg("--no-defaults")
            .arg(format!("--datadir={}", self.dir.join("data").display()))
            .arg(format!("--port={}", self.port))
            .arg("--bind-address=127.0.0.1")
            .arg(format!("--socket={}", self.dir.join("sock").display()))
            .arg(format!("--pid-file={}", self.dir.join("pid").display()))
            .arg("--skip-grant-tables")
            .arg("--skip-log-bin")
            .arg("--innodb-buffer-pool-size=64M")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true);
        if is_root() {
            command.arg("--user=root");
        }
        self.child = Some(command.spawn().context("starting mariadbd")?);
        let url = format!("mysql://root@127.0.0.1:{}/mysql", self.port);
        eventually("the private MariaDB", Duration::from_secs(60), || {
            let url = url.clone();
            async move {
                match sqlx::MySqlPool::connect(&url).await {
                    Ok(pool) => {
                        pool.close().await;
                        true
                    }
                    Err(_) => false,
                }
            }
        })
        .await
    }

    /// A clean shutdown (SIGTERM), as a restart by the operator or systemd would do.
    pub async fn down(&mut self) -> anyhow::Result<()> {
        if let Some(mut child) = self.child.take() {
            signal(&child, libc::SIGTERM);
            tokio::time::timeout(Duration::from_secs(60), child.wait())
                .await
                .context("mariadbd did not stop")??;
        }
        Ok(())
    }
}

/// A single-node Garage of our own.
pub struct PrivateGarage {
    dir: PathBuf,
    pub port: u16,
    admin_port: u16,
    pub access_key: String,
    pub secret_key: String,
    pub bucket: String,
    child: Option<Child>,
}

fn hex(bytes: usize) -> String {
    (0..bytes)
        .map(|_| format!("{:02x}", rand::random::<u8>()))
        .collect()
}

impl PrivateGarage {
    pub async fn start(root: &Path) -> anyhow::Result<PrivateGarage> {
        let dir = root.join("garage");
        std::fs::create_dir_all(&dir)?;
        let (port, rpc_port, admin_port) = (free_port()?, free_port()?, free_port()?);
        std::fs::write(
            dir.join("garage.toml"),
            format!(
                "metadata_dir = \"{meta}\"\ndata_dir = \"{data}\"\ndb_engine = \"sqlite\"\nreplication_factor = 1\n\
                 rpc_bind_addr = \"127.0.0.1:{rpc_port}\"\nrpc_public_addr = \"127.0.0.1:{rpc_port}\"\nrpc_secret = \"{secret}\"\n\
                 [s3_api]\ns3_region = \"garage\"\napi_bind_addr = \"127.0.0.1:{port}\"\nroot_domain = \".s3.garage.localhost\"\n\
                 [admin]\napi_bind_addr = \"127.0.0.1:{admin_port}\"\n",
                meta = dir.join("meta").display(),
                data = dir.join("data").display(),
                secret = hex(32),
            ),
        )?;
        let mut garage = PrivateGarage {
            dir,
            port,
            admin_port,
            access_key: format!("GK{}", hex(12)),
            secret_key: hex(32),
            bucket: "bureau-faults".into(),
            child: None,
        };
        garage.up().await?;
        Ok(garage)
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub async fn up(&mut self) -> anyhow::Result<()> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("garage.log"))?;
        let child = Command::new("garage")
            .arg("-c")
            .arg(self.dir.join("garage.toml"))
            .args(["server", "--single-node", "--default-bucket"])
            .env("GARAGE_DEFAULT_ACCESS_KEY", &self.access_key)
            .env("GARAGE_DEFAULT_SECRET_KEY", &self.secret_key)
            .env("GARAGE_DEFAULT_BUCKET", &self.bucket)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .context("starting garage (expected at /usr/local/bin/garage)")?;
        self.child = Some(child);
        let health = format!("http://127.0.0.1:{}/health", self.admin_port);
        let http = reqwest::Client::new();
        let port = self.port;
        eventually("the private Garage", Duration::from_secs(60), || {
            let (http, health) = (http.clone(), health.clone());
            async move {
                let healthy = http
                    .get(&health)
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success());
                healthy
                    && tokio::net::TcpStream::connect(("127.0.0.1", port))
                        .await
                        .is_ok()
            }
        })
        .await
    }

    /// The object store goes away at once (SIGKILL): an outage, not a maintenance stop.
    pub async fn down(&mut self) -> anyhow::Result<()> {
        if let Some(mut child) = self.child.take() {
            child.kill().await?;
        }
        Ok(())
    }
}

/// Sends `signal` to a child process, if it still runs.
pub fn signal(child: &Child, signal: libc::c_int) {
    if let Some(pid) = child.id() {
        // SAFETY: kill(2) with a pid we spawned and still own (not yet reaped).
        unsafe {
            libc::kill(pid as libc::pid_t, signal);
        }
    }
}
