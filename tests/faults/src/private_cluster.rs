//! Private clusters on this machine: three RabbitMQ nodes clustered together and three Garage
//! nodes with replication factor 3, each node with its own name, ports and data directory
//! under one root, so a test can kill -9 one node and bring it back without touching the
//! shared servers (RabbitMQ on 5672, Garage on 3900) or another run's cluster.
//!
//! RabbitMQ: one `rabbitmq-server -detached` per node (`RABBITMQ_NODENAME`
//! `bureau-cluster-<port>-<n>@localhost`, own config file with its AMQP listener, own
//! distribution port, mnesia and log directories), all sharing the Erlang cookie of the
//! `rabbitmq` user (the Debian wrapper runs every node and `rabbitmqctl` as that user), then
//! nodes 2 and 3 `join_cluster` node 1 between `stop_app` and `start_app`. Quorum queues
//! declared once the cluster is formed get a member on every node: the topology
//! (`proto-events/src/topology.rs`) sets no `x-quorum-initial-group-size`, so the cluster's
//! size decides (RabbitMQ's default); [`RabbitCluster::members`] shows it.
//!
//! Garage: one `garage server` per node (own `rpc_bind_addr`, S3 and admin ports, metadata
//! and data directories, the same `rpc_secret`), `garage node connect` from node 1 to the
//! others, one `layout assign` per node in one zone, `layout apply`, then an access key and a
//! bucket. With replication factor 3 and Garage's default consistency, reads and writes need
//! 2 of the 3 nodes: any one may be down.
//!
//! By hand: `cargo run -p bureau-faults --bin private-cluster` (prints the addresses and the
//! `BUREAU__` settings, keeps running until Ctrl-C, then stops every node).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, anyhow, bail, ensure};
use tokio::process::{Child, Command};

use crate::private_stack::free_port;
use bureau_test_support::eventually;

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Runs a command to completion; its stdout on success, both streams in the error otherwise.
async fn output_of(command: &mut Command, what: &str) -> anyhow::Result<String> {
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
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

fn hex(bytes: usize) -> String {
    (0..bytes)
        .map(|_| format!("{:02x}", rand::random::<u8>()))
        .collect()
}

// ---------------------------------------------------------------- RabbitMQ

/// One node of the private RabbitMQ cluster.
pub struct RabbitNode {
    pub name: String,
    pub port: u16,
    dist_port: u16,
    dir: PathBuf,
}

impl RabbitNode {
    pub fn url(&self) -> String {
        format!("amqp://guest:guest@127.0.0.1:{}/%2f", self.port)
    }

    fn pid_file(&self) -> PathBuf {
        self.dir.join("pid")
    }

    fn ctl(&self) -> Command {
        let mut command = Command::new("rabbitmqctl");
        command.args(["-n", &self.name, "-q"]);
        command
    }

    /// Starts the node (again) and waits until it takes AMQP connections.
    pub async fn up(&self) -> anyhow::Result<()> {
        let _ = std::fs::remove_file(self.pid_file());
        output_of(
            Command::new("rabbitmq-server")
                .arg("-detached")
                .env("RABBITMQ_NODENAME", &self.name)
                .env("RABBITMQ_DIST_PORT", self.dist_port.to_string())
                .env("RABBITMQ_CONFIG_FILE", self.dir.join("rabbitmq.conf"))
                .env(
                    "RABBITMQ_ENABLED_PLUGINS_FILE",
                    self.dir.join("enabled_plugins"),
                )
                .env("RABBITMQ_MNESIA_BASE", self.dir.join("mnesia"))
                .env("RABBITMQ_LOG_BASE", self.dir.join("log"))
                .env("RABBITMQ_PID_FILE", self.pid_file()),
            &format!("rabbitmq-server -detached ({})", self.name),
        )
        .await?;
        eventually(
            &format!("{}'s pid file", self.name),
            Duration::from_secs(30),
            || {
                let exists = self.pid_file().exists();
                async move { exists }
            },
        )
        .await?;
        output_of(
            self.ctl()
                .args(["wait", "--timeout", "120"])
                .arg(self.pid_file()),
            &format!("rabbitmqctl wait ({})", self.name),
        )
        .await
        .with_context(|| format!("see {}", self.dir.join("log").display()))?;
        let port = self.port;
        eventually(
            &format!("{}'s AMQP port", self.name),
            Duration::from_secs(60),
            || async move {
                tokio::net::TcpStream::connect(("127.0.0.1", port))
                    .await
                    .is_ok()
            },
        )
        .await
    }

    /// kill -9 of the node's Erlang VM: no goodbye to its peers, no flush.
    pub fn kill(&self) -> anyhow::Result<()> {
        let pid: i32 = std::fs::read_to_string(self.pid_file())
            .with_context(|| format!("{}'s pid file", self.name))?
            .trim()
            .parse()
            .with_context(|| format!("{}'s pid file holds no pid", self.name))?;
        // SAFETY: kill(2) on the pid the node wrote for itself.
        let killed = unsafe { libc::kill(pid, libc::SIGKILL) };
        ensure!(
            killed == 0,
            "kill -9 {pid} ({}): {}",
            self.name,
            std::io::Error::last_os_error()
        );
        let _ = std::fs::remove_file(self.pid_file());
        Ok(())
    }

    /// A clean stop of the Erlang VM (waits until it has exited).
    pub async fn stop(&self) -> anyhow::Result<()> {
        output_of(
            self.ctl().arg("stop").arg(self.pid_file()),
            &format!("rabbitmqctl stop ({})", self.name),
        )
        .await
        .map(drop)
    }
}

/// Three (or `size`) RabbitMQ nodes, clustered.
pub struct RabbitCluster {
    pub nodes: Vec<RabbitNode>,
}

impl RabbitCluster {
    /// Starts `size` nodes under `root` and clusters them with the first.
    pub async fn start(root: &Path, size: usize) -> anyhow::Result<RabbitCluster> {
        ensure!(size >= 1, "a cluster has at least one node");
        std::fs::create_dir_all(root)?;
        let tag = free_port()?;
        let mut nodes = Vec::new();
        for n in 1..=size {
            let dir = root.join(format!("rabbit{n}"));
            std::fs::create_dir_all(&dir)?;
            let port = free_port()?;
            let dist_port = free_port()?;
            // Our own config file, so /etc/rabbitmq/rabbitmq.conf's listener on 5672 is not
            // read; no plugins, so no management listener on 15672 either.
            std::fs::write(
                dir.join("rabbitmq.conf"),
                format!("listeners.tcp.default = 127.0.0.1:{port}\nloopback_users = none\n"),
            )?;
            std::fs::write(dir.join("enabled_plugins"), "[].\n")?;
            nodes.push(RabbitNode {
                name: format!("bureau-cluster-{tag}-{n}@localhost"),
                port,
                dist_port,
                dir,
            });
        }
        if is_root() {
            // The Debian wrapper drops to the rabbitmq user, which must own the data.
            output_of(
                Command::new("chown")
                    .arg("-R")
                    .arg("rabbitmq:rabbitmq")
                    .arg(root),
                "chown",
            )
            .await?;
        }
        let cluster = RabbitCluster { nodes };
        futures::future::try_join_all(cluster.nodes.iter().map(RabbitNode::up)).await?;
        let seed = cluster.nodes[0].name.clone();
        for node in &cluster.nodes[1..] {
            let what = |step: &str| format!("rabbitmqctl {step} ({})", node.name);
            output_of(node.ctl().arg("stop_app"), &what("stop_app")).await?;
            output_of(
                node.ctl().args(["join_cluster", &seed]),
                &what("join_cluster"),
            )
            .await?;
            output_of(node.ctl().arg("start_app"), &what("start_app")).await?;
        }
        let running = cluster.running_nodes(0).await?;
        ensure!(
            running.len() == size,
            "the cluster formed with {running:?}, not {size} nodes"
        );
        Ok(cluster)
    }

    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(RabbitNode::url).collect()
    }

    /// The nodes node `ask` sees running, itself included.
    pub async fn running_nodes(&self, ask: usize) -> anyhow::Result<Vec<String>> {
        let status = output_of(
            self.nodes[ask]
                .ctl()
                .args(["cluster_status", "--formatter", "json"]),
            "rabbitmqctl cluster_status",
        )
        .await?;
        let status: serde_json::Value = serde_json::from_str(&status)?;
        Ok(status["running_nodes"]
            .as_array()
            .ok_or_else(|| anyhow!("no running_nodes in {status}"))?
            .iter()
            .filter_map(|n| n.as_str().map(str::to_owned))
            .collect())
    }

    /// A quorum queue's leader, its members and those of them online, as node `ask` sees them.
    pub async fn quorum_status(&self, ask: usize, queue: &str) -> anyhow::Result<QuorumStatus> {
        let mut statuses = self.quorum_statuses(ask, &[queue.to_owned()]).await?;
        Ok(statuses.remove(0))
    }

    /// [`RabbitCluster::quorum_status`] of several queues, from one `rabbitmqctl` call.
    pub async fn quorum_statuses(
        &self,
        ask: usize,
        queues: &[String],
    ) -> anyhow::Result<Vec<QuorumStatus>> {
        let listing = output_of(
            self.nodes[ask].ctl().args([
                "list_queues",
                "name",
                "type",
                "leader",
                "members",
                "online",
                "--formatter",
                "json",
            ]),
            "rabbitmqctl list_queues",
        )
        .await?;
        let listed: Vec<serde_json::Value> = serde_json::from_str(&listing)?;
        queues
            .iter()
            .map(|queue| {
                let entry = listed
                    .iter()
                    .find(|q| q["name"] == queue.as_str())
                    .ok_or_else(|| anyhow!("no queue {queue} on the cluster"))?;
                ensure!(
                    entry["type"] == "quorum",
                    "{queue} is a {} queue",
                    entry["type"]
                );
                let names = |field: &str| -> Vec<String> {
                    entry[field]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|n| n.as_str().map(str::to_owned))
                        .collect()
                };
                Ok(QuorumStatus {
                    leader: entry["leader"].as_str().unwrap_or_default().to_owned(),
                    members: names("members"),
                    online: names("online"),
                })
            })
            .collect()
    }

    /// The index of the node called `name`.
    pub fn index_of(&self, name: &str) -> anyhow::Result<usize> {
        self.nodes
            .iter()
            .position(|n| n.name == name)
            .ok_or_else(|| anyhow!("{name} is not a node of this cluster"))
    }
}

impl Drop for RabbitCluster {
    fn drop(&mut self) {
        // Detached nodes outlive us otherwise. Blocking is fine at the end of a run.
        for node in &self.nodes {
            let _ = std::process::Command::new("rabbitmqctl")
                .args(["-n", &node.name, "-q", "stop"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

#[derive(Debug, Clone)]
pub struct QuorumStatus {
    pub leader: String,
    pub members: Vec<String>,
    pub online: Vec<String>,
}

// ---------------------------------------------------------------- Garage

/// One node of the private Garage cluster.
pub struct GarageNode {
    pub s3_port: u16,
    pub rpc_port: u16,
    pub admin_port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl GarageNode {
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.s3_port)
    }

    fn config(&self) -> PathBuf {
        self.dir.join("garage.toml")
    }

    fn cli(&self) -> Command {
        let mut command = Command::new("garage");
        command.arg("-c").arg(self.config()).env("NO_COLOR", "1");
        command
    }

    /// Starts the node's server (again); waits until its S3 port accepts connections.
    pub async fn up(&mut self) -> anyhow::Result<()> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("garage.log"))?;
        let child = self
            .cli()
            .arg("server")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .context("starting garage (expected on the PATH, as scripts/stack installs it)")?;
        self.child = Some(child);
        let port = self.s3_port;
        eventually(
            "a Garage node's S3 port",
            Duration::from_secs(60),
            || async move {
                tokio::net::TcpStream::connect(("127.0.0.1", port))
                    .await
                    .is_ok()
            },
        )
        .await
    }

    /// kill -9: the node is gone at once.
    pub async fn kill(&mut self) -> anyhow::Result<()> {
        if let Some(mut child) = self.child.take() {
            child.kill().await?;
        }
        Ok(())
    }

    /// Whether the node's admin API calls the cluster healthy (every partition has a quorum).
    pub async fn healthy(&self, http: &reqwest::Client) -> bool {
        http.get(format!("http://127.0.0.1:{}/health", self.admin_port))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
    }
}

/// Three (or `size`) Garage nodes with replication factor `size`, one bucket and one key.
pub struct GarageCluster {
    pub nodes: Vec<GarageNode>,
    pub access_key: String,
    pub secret_key: String,
    pub bucket: String,
    pub region: String,
}

impl GarageCluster {
    pub async fn start(root: &Path, size: usize) -> anyhow::Result<GarageCluster> {
        ensure!(size >= 1, "a cluster has at least one node");
        std::fs::create_dir_all(root)?;
        let rpc_secret = hex(32);
        let mut nodes = Vec::new();
        for n in 1..=size {
            let dir = root.join(format!("garage{n}"));
            std::fs::create_dir_all(&dir)?;
            let node = GarageNode {
                s3_port: free_port()?,
                rpc_port: free_port()?,
                admin_port: free_port()?,
                dir,
                child: None,
            };
            std::fs::write(
                node.config(),
                format!(
                    "metadata_dir = \"{meta}\"\ndata_dir = \"{data}\"\ndb_engine = \"sqlite\"\n\
                     replication_factor = {size}\n\
                     rpc_bind_addr = \"127.0.0.1:{rpc}\"\nrpc_public_addr = \"127.0.0.1:{rpc}\"\n\
                     rpc_secret = \"{rpc_secret}\"\n\
                     [s3_api]\ns3_region = \"garage\"\napi_bind_addr = \"127.0.0.1:{s3}\"\n\
                     root_domain = \".s3.garage.localhost\"\n\
                     [admin]\napi_bind_addr = \"127.0.0.1:{admin}\"\n",
                    meta = node.dir.join("meta").display(),
                    data = node.dir.join("data").display(),
                    rpc = node.rpc_port,
                    s3 = node.s3_port,
                    admin = node.admin_port,
                ),
            )?;
            nodes.push(node);
        }
        for node in &mut nodes {
            node.up().await?;
        }

        let seed = &nodes[0];
        let mut ids = Vec::new();
        for node in &nodes {
            let id = output_of(node.cli().args(["node", "id", "-q"]), "garage node id").await?;
            ids.push(id.trim().to_owned());
        }
        for id in &ids[1..] {
            output_of(
                seed.cli().args(["node", "connect", id]),
                "garage node connect",
            )
            .await?;
        }
        for id in &ids {
            // `id@address`: the layout takes the id (or a prefix of it).
            let bare = id.split('@').next().unwrap_or(id);
            output_of(
                seed.cli()
                    .args(["layout", "assign", "-z", "dc1", "-c", "1GB", bare]),
                "garage layout assign",
            )
            .await?;
        }
        output_of(
            seed.cli().args(["layout", "apply", "--version", "1"]),
            "garage layout apply",
        )
        .await?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(3))
            .build()?;
        for node in &nodes {
            eventually(
                "every Garage node to call the cluster healthy",
                Duration::from_secs(60),
                || node.healthy(&http),
            )
            .await?;
        }

        let cluster = GarageCluster {
            access_key: format!("GK{}", hex(12)),
            secret_key: hex(32),
            bucket: "bureau-cluster".into(),
            region: "garage".into(),
            nodes,
        };
        let seed = &cluster.nodes[0];
        output_of(
            seed.cli().args([
                "key",
                "import",
                "--yes",
                "-n",
                "bureau-cluster",
                &cluster.access_key,
                &cluster.secret_key,
            ]),
            "garage key import",
        )
        .await?;
        output_of(
            seed.cli().args(["bucket", "create", &cluster.bucket]),
            "garage bucket create",
        )
        .await?;
        output_of(
            seed.cli().args([
                "bucket",
                "allow",
                "--read",
                "--write",
                "--owner",
                &cluster.bucket,
                "--key",
                &cluster.access_key,
            ]),
            "garage bucket allow",
        )
        .await?;
        Ok(cluster)
    }

    /// Storage settings for node `n`'s S3 endpoint (the rest as `base` has them).
    pub fn storage_settings(
        &self,
        n: usize,
        base: &bureau_platform::settings::StorageSettings,
    ) -> bureau_platform::settings::StorageSettings {
        let mut settings = base.clone();
        settings.endpoint = self.nodes[n].endpoint();
        settings.region = self.region.clone();
        settings.bucket = self.bucket.clone();
        settings.force_path_style = true;
        settings.access_key_id = self.access_key.clone();
        settings.secret_access_key = bureau_platform::Secret::new(self.secret_key.clone());
        settings
    }
}
