//! Kill, restart and cut off every part of Bureau under a stream of orders, on private
//! servers, and check that nothing accepted was lost or doubled (see docs/reliability.md).
//!
//! The short run is part of `cargo test`; the long one:
//! `cargo test -p bureau-faults --test fault_injection -- --ignored --nocapture`.

use std::path::Path;

use bureau_faults::{Scenario, run};

async fn run_and_check(scenario: Scenario) -> anyhow::Result<()> {
    let figures = run(scenario, Path::new(env!("CARGO_BIN_EXE_fault-service"))).await?;
    assert!(figures.clean(), "the fault run was not clean:\n{figures}");
    let expected_poison =
        bureau_faults::poison::POISON_IDS.len() * bureau_faults::poison::poisoned_consumers();
    let dead_lettered: usize = figures.dead_lettered.values().map(Vec::len).sum();
    assert_eq!(
        dead_lettered, expected_poison,
        "each poison once per consumer of order.created:\n{figures}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn short_fault_run_loses_nothing_and_doubles_nothing() -> anyhow::Result<()> {
    run_and_check(Scenario::short()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "long: run with cargo test -p bureau-faults --test fault_injection -- --ignored --nocapture"]
async fn long_fault_run_loses_nothing_and_doubles_nothing() -> anyhow::Result<()> {
    run_and_check(Scenario::long()).await
}
