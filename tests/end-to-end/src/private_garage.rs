//! A Garage (S3) server of one test's own, for tests that stop the object store: the shared
//! Garage on :3900 serves every other test running at the same time and must never stop.
//!
//! Started the way `scripts/stack` starts the shared one (`server --single-node
//! --default-bucket` with `GARAGE_DEFAULT_*` keys), in its own temporary directories and
//! on free ports. [`PrivateGarage::kill`] stops it hard (SIGKILL, like a power cut) and
//! [`PrivateGarage::start_again`] brings it back on the same directories and ports, with
//! its data. Point a stack at it with [`PrivateGarage::storage_settings`] (the stack's own
//! `store` field keeps pointing at the shared Garage; make an `ObjectStore` from the same
//! settings to look inside the private one):
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use bureau_end_to_end::{TestStack, config_dir, private_garage::PrivateGarage};
//! let mut garage = PrivateGarage::start().await?;
//! let shipped = bureau_platform::Settings::load_from(&config_dir())?;
//! let storage = garage.storage_settings(&shipped.storage);
//! let stack = TestStack::start_with(Default::default(), |s| s.storage = storage).await?;
//! garage.kill();
//! garage.start_again().await?;
//! # Ok(()) }
//! ```

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};
use bureau_platform::Secret;
use bureau_platform::settings::StorageSettings;
use uuid::Uuid;

use crate::{DEADLINE, eventually};

pub struct PrivateGarage {
    dir: PathBuf,
    config: PathBuf,
    pub s3: SocketAddr,
    pub admin: SocketAddr,
    pub access_key: String,
    pub secret_key: String,
    pub bucket: String,
    child: Option<Child>,
}

/// `GARAGE_BIN`, else `garage` on the PATH, else `/usr/local/bin/garage`.
fn garage_binary() -> PathBuf {
    if let Some(bin) = std::env::var_os("GARAGE_BIN") {
        return PathBuf::from(bin);
    }
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .map(|dir| dir.join("garage"))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| PathBuf::from("/usr/local/bin/garage"))
}

fn free_port() -> anyhow::Result<SocketAddr> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

fn random_hex(bytes: usize) -> String {
    (0..bytes)
        .map(|_| format!("{:02x}", rand::random::<u8>()))
        .collect()
}

impl PrivateGarage {
    /// Starts a fresh single-node Garage with one bucket and one key, and waits until it
    /// answers.
    pub async fn start() -> anyhow::Result<PrivateGarage> {
        let dir = std::env::temp_dir().join(format!("bureau-garage-{}", Uuid::new_v4().simple()));
        std::fs::create_dir_all(dir.join("meta"))?;
        std::fs::create_dir_all(dir.join("data"))?;
        let (s3, rpc, admin) = (free_port()?, free_port()?, free_port()?);
        let config = dir.join("garage.toml");
        std::fs::write(
            &config,
            format!(
                r#"metadata_dir = "{meta}"
data_dir = "{data}"
db_engine = "lmdb"
replication_factor = 1
rpc_bind_addr = "{rpc}"
rpc_public_addr = "{rpc}"
rpc_secret = "{secret}"

[s3_api]
s3_region = "garage"
api_bind_addr = "{s3}"
root_domain = ".s3.garage.localhost"

[admin]
api_bind_addr = "{admin}"
"#,
                meta = dir.join("meta").display(),
                data = dir.join("data").display(),
                secret = random_hex(32),
            ),
        )?;
        let mut garage = PrivateGarage {
            dir,
            config,
            s3,
            admin,
            access_key: format!("GK{}", random_hex(12)),
            secret_key: random_hex(32),
            bucket: format!("private-{}", &Uuid::new_v4().simple().to_string()[..12]),
            child: None,
        };
        garage.start_again().await?;
        Ok(garage)
    }

    /// Starts the server (again) on the same directories and ports; waits for `/health`.
    pub async fn start_again(&mut self) -> anyhow::Result<()> {
        if self.child.is_some() {
            bail!("this Garage is already running");
        }
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("garage.log"))?;
        let child = Command::new(garage_binary())
            .arg("-c")
            .arg(&self.config)
            .args(["server", "--single-node", "--default-bucket"])
            .env("GARAGE_DEFAULT_ACCESS_KEY", &self.access_key)
            .env("GARAGE_DEFAULT_SECRET_KEY", &self.secret_key)
            .env("GARAGE_DEFAULT_BUCKET", &self.bucket)
            .env("RUST_LOG", "garage=warn")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {} (set GARAGE_BIN)", garage_binary().display()))?;
        self.child = Some(child);
        let health = format!("http://{}/health", self.admin);
        let s3 = self.s3;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()?;
        eventually("the private Garage healthy", DEADLINE, || {
            let (http, health) = (http.clone(), health.clone());
            async move {
                let healthy = http.get(&health).send().await.ok()?.status().is_success();
                let listening = tokio::net::TcpStream::connect(s3).await.is_ok();
                (healthy && listening).then_some(())
            }
        })
        .await
        .with_context(|| format!("see {}", self.dir.join("garage.log").display()))
    }

    /// Stops the server at once (SIGKILL), as a crash or power cut would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// `base` pointed at this server, its bucket and its key.
    pub fn storage_settings(&self, base: &StorageSettings) -> StorageSettings {
        StorageSettings {
            endpoint: format!("http://{}", self.s3),
            bucket: self.bucket.clone(),
            access_key_id: self.access_key.clone(),
            secret_access_key: Secret::new(self.secret_key.clone()),
            ..base.clone()
        }
    }
}

impl Drop for PrivateGarage {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
