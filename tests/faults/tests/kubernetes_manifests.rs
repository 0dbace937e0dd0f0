//! The Kubernetes deployment (deploy/kubernetes) against what the services actually read:
//! for the base and every overlay, as `kubectl kustomize` renders it (through
//! `scripts/deploy-check render-json`, which installs kubectl and the YAML reader):
//!
//! - every `BUREAU__SECTION__KEY` variable (ConfigMap or container env) names a key of
//!   `config/default.toml`, and the whole set, layered on it exactly as the services layer
//!   it, deserializes into `Settings`;
//! - each service's Deployment runs its own binary, listens (its `listen` setting) on the
//!   port the container declares, and probes `/healthz` and `/readyz` on it — routes the
//!   platform's health router really answers;
//! - Services and Ingresses reach those ports; the webhook Ingress routes the bot gateway's
//!   webhook path;
//! - one KEDA ScaledObject per consuming service, on the queue the topology names for the
//!   namespace the ConfigMap sets, scaling that service's Deployment;
//! - the migration Job runs `bureau migrate`, and the services do not migrate themselves.
//!
//! Validation against the Kubernetes and KEDA schemas is `scripts/deploy-check` (run by
//! scripts/test); this test is about meaning, not shape.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, anyhow, bail, ensure};
use bureau_platform::Settings;
use proto_events::topology::{Consumer, Topology};
use serde_json::Value;

/// The five services: Deployment name = binary = `bureau run` name, and their settings section.
const SERVICES: [(&str, &str); 5] = [
    ("web-gateway", "web_gateway"),
    ("bot-gateway", "bot_gateway"),
    ("storage-worker", "storage_worker"),
    ("persistence-worker", "persistence_worker"),
    ("notifier", "notifier"),
];

fn repository() -> PathBuf {
    bureau_test_support::config_dir()
        .parent()
        .expect("config/ is inside the repository")
        .to_owned()
}

fn kustomizations() -> Vec<PathBuf> {
    let root = repository().join("deploy/kubernetes");
    let mut dirs = vec![root.join("base")];
    let mut overlays: Vec<PathBuf> = std::fs::read_dir(root.join("overlays"))
        .expect("deploy/kubernetes/overlays")
        .map(|entry| entry.expect("overlay entry").path())
        .filter(|path| path.join("kustomization.yaml").is_file())
        .collect();
    overlays.sort();
    assert!(!overlays.is_empty(), "no overlays found");
    dirs.extend(overlays);
    dirs
}

/// The objects `dir` renders to.
fn render(dir: &Path) -> anyhow::Result<Vec<Value>> {
    let script = repository().join("scripts/deploy-check");
    let output = Command::new(&script)
        .arg("render-json")
        .arg(dir)
        .output()
        .with_context(|| format!("running {}", script.display()))?;
    ensure!(
        output.status.success(),
        "scripts/deploy-check render-json {} failed: {}",
        dir.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    match serde_json::from_slice(&output.stdout)? {
        Value::Array(objects) => Ok(objects),
        other => bail!("expected a JSON array, got {other}"),
    }
}

fn str_at<'a>(value: &'a Value, pointer: &str) -> anyhow::Result<&'a str> {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .ok_or_else(|| anyhow!("no string at {pointer} in {}", name_of(value)))
}

fn name_of(object: &Value) -> String {
    format!(
        "{}/{}",
        object["kind"].as_str().unwrap_or("?"),
        object["metadata"]["name"].as_str().unwrap_or("?")
    )
}

/// A rendered overlay, indexed the way the checks need it.
struct Rendered {
    dir: PathBuf,
    objects: Vec<Value>,
}

impl Rendered {
    fn of_kind<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
        self.objects
            .iter()
            .filter(move |o| o["kind"].as_str() == Some(kind))
    }

    fn find(&self, kind: &str, name: &str) -> anyhow::Result<&Value> {
        self.objects
            .iter()
            .find(|o| o["kind"].as_str() == Some(kind) && o["metadata"]["name"] == name)
            .ok_or_else(|| anyhow!("{}: no {kind}/{name}", self.dir.display()))
    }

    /// The ConfigMap every service takes with `envFrom` (its name carries kustomize's hash).
    fn settings_config_map(&self) -> anyhow::Result<BTreeMap<String, String>> {
        let map = self
            .of_kind("ConfigMap")
            .find(|o| {
                o["metadata"]["name"]
                    .as_str()
                    .is_some_and(|n| n.starts_with("bureau-settings"))
            })
            .ok_or_else(|| anyhow!("{}: no bureau-settings ConfigMap", self.dir.display()))?;
        Ok(map["data"]
            .as_object()
            .ok_or_else(|| anyhow!("bureau-settings has no data"))?
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
            .collect())
    }
}

/// A container's environment: ConfigMaps from `envFrom`, then `env` (later wins, as in
/// Kubernetes). A value from a Secret becomes a placeholder naming the Secret's key.
fn container_env(
    rendered: &Rendered,
    container: &Value,
) -> anyhow::Result<BTreeMap<String, String>> {
    let mut env = BTreeMap::new();
    for source in container["envFrom"].as_array().into_iter().flatten() {
        let name = str_at(source, "/configMapRef/name")?;
        let map = rendered.find("ConfigMap", name)?;
        for (k, v) in map["data"].as_object().into_iter().flatten() {
            env.insert(k.clone(), v.as_str().unwrap_or_default().to_owned());
        }
    }
    for variable in container["env"].as_array().into_iter().flatten() {
        let name = str_at(variable, "/name")?.to_owned();
        let value = if let Some(value) = variable["value"].as_str() {
            value.to_owned()
        } else {
            let secret = str_at(variable, "/valueFrom/secretKeyRef/name")?;
            ensure!(
                secret == "bureau-secrets",
                "{name} reads the Secret {secret}"
            );
            placeholder_for(str_at(variable, "/valueFrom/secretKeyRef/key")?)
        };
        env.insert(name, value);
    }
    Ok(env)
}

/// Something of the right shape for each key of `bureau-secrets`.
fn placeholder_for(key: &str) -> String {
    match key {
        "broker-url" => "amqp://bureau:secret@rabbitmq:5672/%2f".into(),
        "database-url" => "mysql://bureau:secret@mariadb:3306/bureau".into(),
        other => format!("placeholder-for-{other}"),
    }
}

/// `config/default.toml`'s keys as `section.key`.
fn default_keys() -> BTreeSet<String> {
    let path = bureau_test_support::config_dir().join("default.toml");
    let defaults = config::Config::builder()
        .add_source(config::File::from(path))
        .build()
        .expect("config/default.toml loads");
    let table = defaults
        .try_deserialize::<BTreeMap<String, BTreeMap<String, config::Value>>>()
        .expect("config/default.toml is a table of sections");
    table
        .into_iter()
        .flat_map(|(section, keys)| keys.into_keys().map(move |key| format!("{section}.{key}")))
        .collect()
}

/// `BUREAU__SECTION__KEY` → `section.key`.
fn settings_key(variable: &str) -> Option<String> {
    let rest = variable.strip_prefix("BUREAU__")?;
    let (section, key) = rest.split_once("__")?;
    Some(format!("{}.{}", section.to_lowercase(), key.to_lowercase()))
}

/// The settings a process with `env` would load: the layering of `Settings::load_from`
/// (services/platform/src/settings.rs), with the environment given as a map rather than
/// read from this process.
fn settings_from(env: &BTreeMap<String, String>) -> anyhow::Result<Settings> {
    let variables: config::Map<String, String> = env
        .iter()
        .filter(|(k, _)| k.starts_with("BUREAU__"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let settings = config::Config::builder()
        .add_source(config::File::from(
            bureau_test_support::config_dir().join("default.toml"),
        ))
        .add_source(
            config::Environment::with_prefix("BUREAU")
                .prefix_separator("__")
                .separator("__")
                .list_separator(",")
                .with_list_parse_key("broker.retry_delays_ms")
                .with_list_parse_key("storage_worker.refused_content_types")
                .try_parsing(true)
                .source(Some(variables)),
        )
        .build()?
        .try_deserialize()?;
    Ok(settings)
}

/// Where `service` listens, by its own settings section.
fn listen_of(settings: &Settings, service: &str) -> std::net::SocketAddr {
    match service {
        "web-gateway" => settings.web_gateway.listen,
        "bot-gateway" => settings.bot_gateway.listen,
        "storage-worker" => settings.storage_worker.listen,
        "persistence-worker" => settings.persistence_worker.listen,
        "notifier" => settings.notifier.listen,
        other => panic!("unknown service {other}"),
    }
}

/// The port a probe or Service names (by name or number) on `container`.
fn resolve_port(container: &Value, port: &Value) -> anyhow::Result<u64> {
    if let Some(number) = port.as_u64() {
        return Ok(number);
    }
    let name = port
        .as_str()
        .ok_or_else(|| anyhow!("port {port} is neither a name nor a number"))?;
    container["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["name"] == name)
        .and_then(|p| p["containerPort"].as_u64())
        .ok_or_else(|| anyhow!("the container has no port named {name}"))
}

/// The webhook path the bot gateway serves (`updates::webhook::PATH`, private to its crate).
fn webhook_path() -> String {
    let source =
        std::fs::read_to_string(repository().join("services/bot-gateway/src/updates/webhook.rs"))
            .expect("the bot gateway's webhook module");
    source
        .lines()
        .find_map(|line| {
            line.trim()
                .strip_prefix("pub const PATH: &str = \"")?
                .strip_suffix("\";")
                .map(str::to_owned)
        })
        .expect("`pub const PATH: &str = \"...\";` in services/bot-gateway/src/updates/webhook.rs")
}

fn check_services(rendered: &Rendered, known_keys: &BTreeSet<String>) -> anyhow::Result<()> {
    let dir = rendered.dir.display();
    let config_map = rendered.settings_config_map()?;
    ensure!(
        config_map
            .get("BUREAU__DATABASE__RUN_MIGRATIONS")
            .map(String::as_str)
            == Some("false"),
        "{dir}: services must leave migrations to the Job (BUREAU__DATABASE__RUN_MIGRATIONS=false)"
    );
    for (service, section) in SERVICES {
        let deployment = rendered.find("Deployment", service)?;
        let containers = deployment["spec"]["template"]["spec"]["containers"]
            .as_array()
            .ok_or_else(|| anyhow!("{dir}: {service} has no containers"))?;
        ensure!(containers.len() == 1, "{dir}: {service} has one container");
        let container = &containers[0];
        ensure!(
            container["command"] == serde_json::json!([service]),
            "{dir}: {service} runs {} instead of its own binary",
            container["command"]
        );

        let env = container_env(rendered, container)?;
        for variable in env.keys().filter(|k| k.starts_with("BUREAU__")) {
            let key = settings_key(variable).ok_or_else(|| {
                anyhow!("{dir}: {service}: {variable} is not BUREAU__SECTION__KEY")
            })?;
            ensure!(
                known_keys.contains(&key),
                "{dir}: {service}: {variable} names `{key}`, which config/default.toml does not have"
            );
        }
        let listen_variable = format!("BUREAU__{}__LISTEN", section.to_uppercase());
        ensure!(
            env.contains_key(&listen_variable),
            "{dir}: {service} does not set {listen_variable} (the default listens on 127.0.0.1 only)"
        );
        let settings = settings_from(&env)
            .with_context(|| format!("{dir}: {service}'s environment does not load as Settings"))?;
        let listen = listen_of(&settings, service);
        ensure!(
            listen.ip().is_unspecified(),
            "{dir}: {service} listens on {listen}: unreachable from the kubelet and Services"
        );
        let port = u64::from(listen.port());
        let http = resolve_port(container, &Value::from("http"))
            .with_context(|| format!("{dir}: {service}"))?;
        ensure!(
            http == port,
            "{dir}: {service} listens on {port} but its container declares {http}"
        );

        for (probe, path) in [("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")] {
            let get = &container[probe]["httpGet"];
            ensure!(
                get["path"] == path,
                "{dir}: {service}'s {probe} asks {} instead of {path}",
                get["path"]
            );
            ensure!(
                resolve_port(container, &get["port"])? == port,
                "{dir}: {service}'s {probe} is not on its listen port {port}"
            );
        }

        if service == "bot-gateway" {
            // Replicas need webhook mode (one long-poller per token), a secret Telegram
            // sends in X-Telegram-Bot-Api-Secret-Token, and a URL on the webhook route.
            let secret_from_secret = container["env"].as_array().into_iter().flatten().any(|v| {
                v["name"] == "BUREAU__TELEGRAM__WEBHOOK_SECRET"
                    && v["valueFrom"]["secretKeyRef"]["name"] == "bureau-secrets"
            });
            ensure!(
                settings.telegram.mode == bureau_platform::settings::TelegramMode::Webhook
                    && secret_from_secret,
                "{dir}: the bot gateway must run in webhook mode with its secret from bureau-secrets"
            );
            let webhook = webhook_path();
            ensure!(
                settings.telegram.webhook_url.ends_with(&webhook),
                "{dir}: telegram.webhook_url {} is not on the gateway's webhook route {webhook}",
                settings.telegram.webhook_url
            );
        }

        // The grace must cover the preStop pause and leave the drain time after it.
        let grace = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
            .as_u64()
            .ok_or_else(|| anyhow!("{dir}: {service} sets no terminationGracePeriodSeconds"))?;
        let pause: u64 = container["lifecycle"]["preStop"]["exec"]["command"]
            .as_array()
            .and_then(|c| c.get(1))
            .and_then(Value::as_str)
            .map(|s| s.parse().expect("preStop sleep seconds"))
            .unwrap_or(0);
        ensure!(
            grace >= pause + 30,
            "{dir}: {service}: {grace} s of grace leave less than 30 s to drain after {pause} s of preStop"
        );
    }
    Ok(())
}

fn check_network(rendered: &Rendered) -> anyhow::Result<()> {
    let dir = rendered.dir.display();
    for service in rendered.of_kind("Service") {
        let name = str_at(service, "/metadata/name")?;
        let selector = &service["spec"]["selector"]["app.kubernetes.io/name"];
        let Ok(deployment) = rendered.find("Deployment", selector.as_str().unwrap_or("")) else {
            continue; // a dependency's StatefulSet (single-node overlay)
        };
        let container = &deployment["spec"]["template"]["spec"]["containers"][0];
        for port in service["spec"]["ports"].as_array().into_iter().flatten() {
            resolve_port(container, &port["targetPort"])
                .with_context(|| format!("{dir}: Service {name}'s targetPort"))?;
        }
    }
    let webhook = webhook_path();
    let mut webhook_routed = false;
    for ingress in rendered.of_kind("Ingress") {
        for rule in ingress["spec"]["rules"].as_array().into_iter().flatten() {
            for path in rule["http"]["paths"].as_array().into_iter().flatten() {
                let backend = &path["backend"]["service"];
                let service = rendered.find("Service", str_at(backend, "/name")?)?;
                let port = &backend["port"]["name"];
                ensure!(
                    service["spec"]["ports"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|p| &p["name"] == port),
                    "{dir}: {} routes to port {port} that Service {} lacks",
                    name_of(ingress),
                    name_of(service)
                );
                if backend["name"] == "bot-gateway" {
                    ensure!(
                        path["path"] == webhook.as_str(),
                        "{dir}: the bot gateway is exposed at {} rather than only its webhook {webhook}",
                        path["path"]
                    );
                    webhook_routed = true;
                }
            }
        }
    }
    ensure!(
        webhook_routed,
        "{dir}: no Ingress routes Telegram to {webhook}"
    );
    Ok(())
}

fn check_autoscaling(rendered: &Rendered) -> anyhow::Result<()> {
    let dir = rendered.dir.display();
    let config_map = rendered.settings_config_map()?;
    let settings = settings_from(&config_map)?;
    let topology = Topology::new(
        settings.broker.namespace.clone(),
        settings.broker.retry_delays(),
    );
    let scaled: Vec<&Value> = rendered.of_kind("ScaledObject").collect();
    ensure!(
        scaled.len() == Consumer::ALL.len(),
        "{dir}: {} ScaledObjects for {} consuming services",
        scaled.len(),
        Consumer::ALL.len()
    );
    for consumer in Consumer::ALL {
        let object = rendered.find("ScaledObject", consumer.name())?;
        ensure!(
            object["spec"]["scaleTargetRef"]["name"] == consumer.name(),
            "{dir}: ScaledObject {} scales {}",
            consumer.name(),
            object["spec"]["scaleTargetRef"]["name"]
        );
        rendered.find("Deployment", consumer.name())?;
        let triggers = object["spec"]["triggers"]
            .as_array()
            .ok_or_else(|| anyhow!("{dir}: {} has no triggers", consumer.name()))?;
        ensure!(
            triggers.iter().all(|t| t["type"] == "rabbitmq"),
            "{dir}: {} scales on something other than its queue",
            consumer.name()
        );
        for trigger in triggers {
            ensure!(
                trigger["metadata"]["queueName"] == topology.queue(consumer).as_str(),
                "{dir}: {} watches {} but the topology's queue is {}",
                consumer.name(),
                trigger["metadata"]["queueName"],
                topology.queue(consumer)
            );
            let auth = rendered.find(
                "TriggerAuthentication",
                str_at(trigger, "/authenticationRef/name")?,
            )?;
            ensure!(
                auth["spec"]["secretTargetRef"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|r| r["parameter"] == "host" && r["key"] == "broker-url"),
                "{dir}: KEDA must reach the broker with the services' own broker-url"
            );
        }
        // A Deployment that names its replicas would fight the autoscaler on every apply.
        ensure!(
            rendered.find("Deployment", consumer.name())?["spec"]["replicas"].is_null(),
            "{dir}: {} is autoscaled, so its Deployment must not set replicas",
            consumer.name()
        );
    }
    Ok(())
}

fn check_migration(rendered: &Rendered) -> anyhow::Result<()> {
    let dir = rendered.dir.display();
    let job = rendered.find("Job", "bureau-migrate")?;
    let container = &job["spec"]["template"]["spec"]["containers"][0];
    ensure!(
        container["command"] == serde_json::json!(["bureau", "migrate"]),
        "{dir}: the migration Job runs {}",
        container["command"]
    );
    let env = container_env(rendered, container)?;
    ensure!(
        env.contains_key("BUREAU__DATABASE__URL"),
        "{dir}: the migration Job has no database URL"
    );
    settings_from(&env).context("the migration Job's environment does not load as Settings")?;
    Ok(())
}

#[test]
fn rendered_manifests_match_what_the_services_read() -> anyhow::Result<()> {
    let known_keys = default_keys();
    for dir in kustomizations() {
        let rendered = Rendered {
            objects: render(&dir)?,
            dir,
        };
        check_services(&rendered, &known_keys)?;
        check_network(&rendered)?;
        check_autoscaling(&rendered)?;
        check_migration(&rendered)?;
        println!(
            "{}: {} objects consistent with the services",
            rendered.dir.display(),
            rendered.objects.len()
        );
    }
    Ok(())
}

/// The probe paths of the manifests are routes the services' health router serves.
#[tokio::test]
async fn the_probed_routes_exist() -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let stop = tokio_util::sync::CancellationToken::new();
    let server = tokio::spawn(bureau_platform::health::serve(
        listener,
        bureau_platform::health::router(bureau_platform::health::Readiness::new()),
        stop.clone(),
    ));
    let http = reqwest::Client::new();
    for path in ["/healthz", "/readyz"] {
        let status = http
            .get(format!("http://{address}{path}"))
            .send()
            .await?
            .status();
        assert_eq!(status, 200, "{path}");
    }
    let missing = http
        .get(format!("http://{address}/no-such-probe"))
        .send()
        .await?
        .status();
    assert_eq!(missing, 404, "the router does not answer every path");
    stop.cancel();
    server.await??;
    Ok(())
}
