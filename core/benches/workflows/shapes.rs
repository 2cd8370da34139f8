//! The workflows measured, as the peers' harness builds them: every step returns `x + 1`,
//! `x` being its parent's result (a first step's `x` comes from its input mapping). A chain
//! of n steps started at 1 ends at 1 + n; 100 parallel steps `i + 1` (i = 0..99) and a
//! fan-in summing their results end at 5050. Any other result fails the benchmark.

use std::time::{Duration, Instant};

use cogwork_core::{Engine, HandlerOptions, RunRecord, RunState, StartOptions};
use serde_json::{json, Value};

use crate::setup;

/// The handler of every step but the fan-in.
pub const PLUS_ONE: &str = "plus_one";
/// The fan-in's handler: the sum of its parents' results.
const TOTAL: &str = "total";
pub const FAN_WIDTH: usize = 100;
/// The fan-in's result: 1 + 2 + … + 100.
const FAN_SUM: i64 = 5050;
/// The longest any one run may take before the benchmark gives up on it.
const RUN_TIMEOUT: Duration = Duration::from_secs(60);

/// A workflow shape: its template's name and what its last step must return.
#[derive(Clone, Copy)]
pub enum Shape {
    Chain(usize),
    FanOutFanIn,
}

impl Shape {
    pub fn reference(self) -> String {
        match self {
            Shape::Chain(steps) => format!("bench/chain{steps}"),
            Shape::FanOutFanIn => format!("bench/fan{FAN_WIDTH}"),
        }
    }

    pub fn steps(self) -> usize {
        match self {
            Shape::Chain(steps) => steps,
            Shape::FanOutFanIn => FAN_WIDTH + 1,
        }
    }

    fn template(self) -> Value {
        let steps: Vec<Value> = match self {
            Shape::Chain(steps) => (1..=steps)
                .map(|step| match step {
                    1 => json!({"name": "s1", "handler": PLUS_ONE, "input": {"x": "$.context.x"}}),
                    _ => json!({"name": format!("s{step}"), "handler": PLUS_ONE, "depends_on": [format!("s{}", step - 1)]}),
                })
                .collect(),
            Shape::FanOutFanIn => {
                let leaves = (0..FAN_WIDTH).map(|i| json!({"name": format!("leaf{i}"), "handler": PLUS_ONE, "input": {"x": i}}));
                let names: Vec<String> = (0..FAN_WIDTH).map(|i| format!("leaf{i}")).collect();
                leaves.chain([json!({"name": "total", "handler": TOTAL, "depends_on": names})]).collect()
            }
        };
        let name = self.reference().trim_start_matches("bench/").to_owned();
        json!({"namespace": "bench", "name": name, "version": "1.0.0", "steps": steps})
    }

    /// The last step and the result it must have.
    fn expected(self) -> (String, i64) {
        match self {
            Shape::Chain(steps) => (format!("s{steps}"), 1 + steps as i64),
            Shape::FanOutFanIn => ("total".into(), FAN_SUM),
        }
    }

    /// Panics unless `run` completed with the expected result.
    pub fn check(self, run: &RunRecord) {
        assert_eq!(run.state, RunState::Completed, "run {} of {} ended {:?}", run.id, self.reference(), run.state);
        let (step, expected) = self.expected();
        let result = run.step(&step).and_then(|step| step.result.as_ref()).map(|result| result.get().to_owned());
        assert_eq!(result, Some(expected.to_string()), "the result of step `{step}` of run {}", run.id);
    }

    /// Starts a run (the context gives a chain's first step its `x`) and returns its id.
    pub async fn start(self, engine: &Engine) -> i64 {
        engine.start_workflow(&self.reference(), json!({"x": 1}), StartOptions::default()).await.expect("the run starts")
    }

    /// One run from the call to `start_workflow` until `wait_workflow` returns it, checked.
    pub async fn run(self, engine: &Engine) -> Duration {
        let started = Instant::now();
        let id = self.start(engine).await;
        let run = wait(engine, id).await;
        let elapsed = started.elapsed();
        self.check(&run);
        elapsed
    }
}

pub async fn wait(engine: &Engine, id: i64) -> RunRecord {
    engine.wait_workflow(id, Some(RUN_TIMEOUT)).await.expect("the run ends in time")
}

/// An engine on `url` with the jobs benchmark's handlers (its no-op job is the reference
/// here too), the step handlers, and every shape's template defined.
pub async fn engine(url: &str, shapes: &[Shape]) -> Engine {
    let engine = setup::engine(url, None, 1).await;
    engine.handler(PLUS_ONE, HandlerOptions::default(), |job| Ok(json!(x_of(&parse(job.input.get())) + 1))).expect("a handler");
    engine
        .handler(TOTAL, HandlerOptions::default(), |job| {
            let results = parse(job.input.get())["results"].as_object().expect("the parents' results").values().map(number).sum::<i64>();
            Ok(json!(results))
        })
        .expect("a handler");
    for shape in shapes {
        engine.define_workflow_value(shape.template()).await.expect("the template is valid");
    }
    engine
}

/// A first step's `x` is its mapped input; any other step's is its one parent's result.
fn x_of(input: &Value) -> i64 {
    match input.get("input") {
        Some(mapped) => number(&mapped["x"]),
        None => number(input["results"].as_object().expect("the parents' results").values().next().expect("a parent")),
    }
}

fn number(value: &Value) -> i64 {
    value.as_i64().unwrap_or_else(|| panic!("a number, not {value}"))
}

fn parse(text: &str) -> Value {
    serde_json::from_str(text).expect("a JSON input")
}
