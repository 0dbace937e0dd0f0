//! `private-cluster`: starts the private three-node RabbitMQ cluster and three-node Garage
//! cluster (tests/faults/src/private_cluster.rs) by hand, prints where they listen and the
//! `BUREAU__` settings that point a service at them, and stops every node on Ctrl-C.
//!
//! ```text
//! cargo run -p bureau-faults --bin private-cluster                   # under a fresh /tmp directory
//! cargo run -p bureau-faults --bin private-cluster -- --dir /tmp/c1  # or a new directory of yours
//! ```
//!
//! Nodes are found by their pid files and ports; `kill -9 $(cat <dir>/rabbitmq/rabbitN/pid)`
//! kills a RabbitMQ node, and the Garage nodes are this process's children.

use std::path::PathBuf;

use anyhow::{Context, bail};
use bureau_faults::private_cluster::{GarageCluster, RabbitCluster};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut dir = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--dir" => dir = Some(PathBuf::from(args.next().context("--dir needs a path")?)),
            "-h" | "--help" => {
                println!("usage: private-cluster [--dir DIR]");
                return Ok(());
            }
            other => bail!("unknown argument `{other}` (usage: private-cluster [--dir DIR])"),
        }
    }
    let root = dir.unwrap_or_else(|| {
        std::env::temp_dir().join(format!("bureau-cluster-{}", uuid::Uuid::new_v4().simple()))
    });
    if root
        .read_dir()
        .is_ok_and(|mut entries| entries.next().is_some())
    {
        bail!(
            "{} is not empty: the clusters are formed anew each time, in a fresh directory",
            root.display()
        );
    }
    std::fs::create_dir_all(&root)?;
    std::fs::set_permissions(&root, std::os::unix::fs::PermissionsExt::from_mode(0o755))?;
    println!(
        "starting 3 RabbitMQ nodes and 3 Garage nodes under {}",
        root.display()
    );
    let started = std::time::Instant::now();
    let (rabbit_dir, garage_dir) = (root.join("rabbitmq"), root.join("garage"));
    let (rabbit, garage) = tokio::try_join!(
        RabbitCluster::start(&rabbit_dir, 3),
        GarageCluster::start(&garage_dir, 3)
    )?;
    println!("up in {:.1} s\n", started.elapsed().as_secs_f64());
    for node in &rabbit.nodes {
        println!("rabbitmq {:<40} {}", node.name, node.url());
    }
    for (n, node) in garage.nodes.iter().enumerate() {
        println!(
            "garage   node {}  s3 {}  rpc 127.0.0.1:{}  admin 127.0.0.1:{}",
            n + 1,
            node.endpoint(),
            node.rpc_port,
            node.admin_port
        );
    }
    println!(
        "\n# one node of each (services connect to one broker address until the bus takes a list):"
    );
    println!("export BUREAU__BROKER__URL={}", rabbit.nodes[0].url());
    println!(
        "export BUREAU__STORAGE__ENDPOINT={}",
        garage.nodes[0].endpoint()
    );
    println!("export BUREAU__STORAGE__BUCKET={}", garage.bucket);
    println!(
        "export BUREAU__STORAGE__ACCESS_KEY_ID={}",
        garage.access_key
    );
    println!(
        "export BUREAU__STORAGE__SECRET_ACCESS_KEY={}",
        garage.secret_key
    );
    println!("\nCtrl-C stops every node.");
    tokio::signal::ctrl_c().await?;
    println!("stopping");
    drop(garage);
    drop(rabbit);
    Ok(())
}
