//! A workflow that mixes JavaScript tasks and Rust handlers in one run:
//! examples/workflows/order_fulfilment.yaml greets the customer (the `greeting` task) while
//! `price_step` (Rust, below) prices the order and `addition` (JavaScript) adds shipping;
//! `confirm_step` (Rust) joins both branches.
//!
//! ```sh
//! cargo run -p cogwork-core --example order_fulfilment
//! ```
//!
//! Like the `cogwork` CLI, this program is also its own JavaScript worker: the engine starts
//! it again with a `worker` argument for each worker process.

use std::path::Path;
use std::process::ExitCode;

use cogwork_core::queue::{HostError, HostJob, WorkOptions};
use cogwork_core::{Engine, EngineOptions, RunState, StartOptions, Value};
use serde_json::json;

fn main() -> ExitCode {
    if std::env::args().nth(1).as_deref() == Some("worker") {
        cogwork_core::js::worker_main();
    }
    match cogwork_core::runtime::block_on(fulfil()) {
        Ok(RunState::Completed) => ExitCode::SUCCESS,
        Ok(state) => {
            eprintln!("the run ended {}", state.as_str());
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn fulfil() -> Result<RunState, Box<dyn std::error::Error>> {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let database = tempfile::tempdir()?;
    let options = EngineOptions::default().task_source(examples.join("tasks")).database(format!("sqlite://{}", database.path().join("shop.db").display()));
    let engine = Engine::open(options).await?;
    engine.handler("price_step", Default::default(), price)?;
    engine.handler("confirm_step", Default::default(), confirm)?;
    engine.define_workflow(examples.join("workflows/order_fulfilment.yaml")).await?;

    let context = json!({"customer": "Ada", "items": [{"price": 1200, "quantity": 2}, {"price": 350, "quantity": 1}], "shipping": 499});
    let id = engine.start_workflow("shop/order_fulfilment", context, StartOptions::default()).await?;
    // Runs every step (JavaScript in worker processes, handlers on handler threads) until
    // nothing is left to do; on a server, `engine.start(...)` or `cogwork work` would.
    engine.drain(WorkOptions::default()).await?;
    let run = engine.wait_workflow(id, None).await?;
    println!("workflow run {id}: {}", run.state.as_str());
    for step in &run.steps {
        let result = step.result.as_ref().map_or("-", |result| result.get());
        println!("  {:<13} {:<10} {result}", step.name, step.state.as_str());
    }
    engine.close().await;
    Ok(run.state)
}

/// The order's subtotal: each item's price times its quantity, summed.
fn price(job: &HostJob) -> Result<Value, HostError> {
    let input: Value = serde_json::from_str(job.input.get()).map_err(|error| refuse(error.to_string()))?;
    let items = input["context"]["items"].as_array().ok_or_else(|| refuse("the context has no `items` list".into()))?;
    let subtotal: i64 = items.iter().map(|item| item["price"].as_i64().unwrap_or(0) * item["quantity"].as_i64().unwrap_or(0)).sum();
    Ok(json!({"subtotal": subtotal}))
}

/// The confirmation: the greeting and the total, from the two branches' results.
fn confirm(job: &HostJob) -> Result<Value, HostError> {
    let input: Value = serde_json::from_str(job.input.get()).map_err(|error| refuse(error.to_string()))?;
    let results = &input["results"];
    Ok(json!({"message": results["greet"]["message"], "total": results["add_shipping"]["sum"], "status": "confirmed"}))
}

/// An error retrying cannot help.
fn refuse(message: String) -> HostError {
    HostError { class: "ArgumentError".into(), message, retryable: Some(false), ..HostError::default() }
}
