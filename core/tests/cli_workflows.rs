//! The workflow commands of the `cogwork` CLI, run as a program against a real SQLite file
//! (and once against a throwaway PostgreSQL server): every example workflow defined, run
//! with `start --wait` on JavaScript tasks in real worker processes, and read back with
//! `status`; the tree and Graphviz drawings; the operator's commands; and the bad input.

mod support;

use std::path::Path;

use cogwork_core::workflow::Templates;
use serde_json::{json, Value};
use support::cli::{text, Workspace, EXAMPLE_TASKS};

const EXAMPLE_WORKFLOWS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/workflows");

/// A template whose `pay` step fails at once (the charge task refuses an amount over its
/// limit with a non-retryable error), blocking `after` and `last`; `side` is independent.
const BROKEN: &str = "namespace: tests
name: broken
version: 1.0.0
steps:
  - {name: seed, task: multiply, input: {num1: 2, num2: 3}}
  - {name: pay, task: charge, depends_on: [seed], input: {amount: 5000}}
  - {name: after, task: sum, depends_on: [pay], input: {charged: $.results.pay.charged}}
  - {name: last, task: sum, depends_on: [after, seed], input: {charged: $.results.after.sum, seed: $.results.seed.product}}
  - {name: side, task: addition, input: {num1: 1, num2: 1}}
";

/// The results of a run's steps, by step name.
fn results(run: &Value) -> Value {
    run["steps"].as_array().unwrap().iter().map(|step| (step["name"].as_str().unwrap().to_owned(), step["result"].clone())).collect()
}

/// The states of a run's steps, by step name.
fn states(run: &Value) -> Value {
    run["steps"].as_array().unwrap().iter().map(|step| (step["name"].as_str().unwrap().to_owned(), step["state"].clone())).collect()
}

/// Starts `reference` with `context`, works it in the command's process, and returns the
/// finished run `start --wait --json` prints.
fn run_to_the_end(workspace: &Workspace, reference: &str, context: Value) -> Value {
    workspace.json(&["workflow", "start", reference, "--context", &context.to_string(), "--wait", "--tasks", EXAMPLE_TASKS])
}

/// The lines of a status tree with each duration replaced by `T` and the columns' padding
/// squeezed: what stays the same from one run to the next.
fn shape(tree: &str) -> Vec<String> {
    let is_duration = |token: &str| token.starts_with(|c: char| c.is_ascii_digit()) && (token.ends_with("ms") || token.ends_with("µs") || token.ends_with('s'));
    tree.lines().map(|line| line.split_whitespace().map(|token| if is_duration(token) { "T" } else { token }).collect::<Vec<_>>().join(" ")).collect()
}

#[test]
fn every_example_runs_from_the_cli_on_javascript_tasks_with_exact_results() {
    let workspace = Workspace::new();
    let defined = workspace.json(&["workflow", "define", EXAMPLE_WORKFLOWS]);
    let examples = Templates::load(&[EXAMPLE_WORKFLOWS]).unwrap();
    assert_eq!(defined, json!({"defined": examples.iter().map(|template| template.id()).collect::<Vec<_>>()}));
    let cases = [
        (
            "linear_workflow/mathematical_sequence",
            json!({"even_number": 6}),
            json!({"square": {"product": 36}, "square_again": {"product": 1296}, "add_original": {"sum": 1302}, "halve": {"product": 651}}),
        ),
        (
            "diamond_workflow/parallel_computation",
            json!({"number": 3}),
            json!({"square": {"product": 9}, "double": {"product": 18}, "triple": {"product": 27}, "combine": {"sum": 45}}),
        ),
        (
            "parallel_workflow/fan_out_fan_in",
            json!({"number": 10}),
            json!({"split": {"shares": [3, 3, 2, 2]}, "square_a": {"product": 9}, "square_b": {"product": 9}, "square_c": {"product": 4}, "square_d": {"product": 4}, "sum": {"sum": 26}}),
        ),
        (
            "tree_workflow/hierarchical_computation",
            json!({"number": 3}),
            json!({"root": {"product": 9}, "left": {"product": 18}, "right": {"product": 27}, "left_square": {"product": 324},
                   "left_increment": {"sum": 19}, "right_square": {"product": 729}, "right_increment": {"sum": 28}}),
        ),
        (
            "mixed_workflow/greeting_with_total",
            json!({"name": "Ada", "number": 2}),
            json!({"greet": {"message": "Hello, Ada!"}, "square": {"product": 4}, "double": {"product": 8}, "triple": {"product": 12},
                   "combine": {"sum": 20}, "total": {"sum": 22}, "announce": {"message": "Hello, Ada! Your total is 22."}}),
        ),
    ];
    for (reference, context, expected) in cases {
        let run = run_to_the_end(&workspace, reference, context.clone());
        assert_eq!((&run["workflow"], &run["state"], &run["progress"]), (&json!(reference), &json!("completed"), &json!(100.0)), "{run}");
        assert_eq!(run["context"], context);
        assert_eq!(results(&run), expected, "{reference}");
        // `status --json` reads back what `start --wait` printed.
        let status = workspace.json(&["workflow", "status", &run["id"].to_string()]);
        assert_eq!(results(&status), expected, "{reference}");
    }
    let runs = workspace.json(&["workflow", "list", "--runs", "--limit", "2"]);
    let ids: Vec<i64> = runs["runs"].as_array().unwrap().iter().map(|run| run["id"].as_i64().unwrap()).collect();
    assert_eq!((ids, &runs["next_before"]), (vec![5, 4], &json!(4)), "newest first, with the cursor of the next page");
}

#[test]
fn status_json_has_the_documented_shape() {
    let workspace = Workspace::new();
    workspace.json(&["workflow", "define", &format!("{EXAMPLE_WORKFLOWS}/diamond.yaml")]);
    let started = workspace.json(&["workflow", "start", "diamond_workflow/parallel_computation@1.0.0", "--context", r#"{"number": 1}"#, "--key", "order-1"]);
    assert_eq!(started, json!({"id": 1}));
    assert_eq!(workspace.json(&["workflow", "start", "diamond_workflow/parallel_computation", "--context", r#"{"number": 1}"#, "--key", "order-1"]), json!({"id": 1}), "one key, one run");
    let run = workspace.json(&["workflow", "status", "1"]);
    let keys: Vec<&str> = run.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["id", "workflow", "version", "state", "reason", "progress", "context", "idempotency_key", "created_at", "updated_at", "finished_at", "steps", "transitions"]);
    assert_eq!((&run["state"], &run["version"], &run["idempotency_key"], &run["progress"]), (&json!("running"), &json!("1.0.0"), &json!("order-1"), &json!(0.0)));
    let step = &run["steps"][1];
    let keys: Vec<&str> = step.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["name", "kind", "target", "depends_on", "state", "reason", "job_id", "attempts", "result", "error", "started_at", "finished_at", "duration_ms"]);
    assert_eq!((&step["name"], &step["kind"], &step["target"], &step["depends_on"]), (&json!("double"), &json!("task"), &json!("multiply"), &json!(["square"])));
    assert_eq!(states(&run), json!({"square": "ready", "double": "waiting", "triple": "waiting", "combine": "waiting"}));
    let first = &run["transitions"][0];
    assert_eq!((&first["step"], &first["from"], &first["to"]), (&Value::Null, &Value::Null, &json!("running")), "{first}");

    let report = workspace.json(&["drain", "--tasks", EXAMPLE_TASKS]);
    assert_eq!(report["completed"], json!(4), "`drain` works a run's steps like any jobs");
    let run = workspace.json(&["workflow", "wait", "1"]);
    assert_eq!((&run["state"], &run["steps"][3]["result"]), (&json!("completed"), &json!({"sum": 5})));
    let step = &run["steps"][3];
    assert!(step["duration_ms"].as_f64().is_some_and(|ms| ms >= 0.0) && step["finished_at"].as_str().is_some_and(|at| at.ends_with('Z')), "{step}");
}

#[test]
fn a_finished_and_a_failed_run_are_drawn_as_trees() {
    let workspace = Workspace::new();
    workspace.json(&["workflow", "define", EXAMPLE_WORKFLOWS]);
    run_to_the_end(&workspace, "diamond_workflow/parallel_computation", json!({"number": 3}));
    let output = workspace.cogwork(&["workflow", "status", "1"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(
        shape(&text(&output.stdout)),
        [
            "workflow run 1 of diamond_workflow/parallel_computation@1.0.0: completed (every step completed), 100% done (4 of 4 steps)",
            "STEP STATE DURATION ATTEMPTS",
            "square completed T 1",
            "├─ double completed T 1",
            "│ └─ combine completed T 1",
            "└─ triple completed T 1",
            "└─ combine (under double)",
        ]
    );

    workspace.write("broken.yaml", BROKEN);
    workspace.json(&["workflow", "define", "broken.yaml"]);
    let output = workspace.cogwork(&["workflow", "start", "tests/broken", "--wait", "--tasks", EXAMPLE_TASKS]);
    assert_eq!(output.status.code(), Some(1), "a failed run exits with status 1");
    let failure = "step `pay` failed: ValidationError: amount 5000 exceeds the limit of 1000 (attempt 1)";
    assert_eq!(text(&output.stderr), format!("error: workflow run 2 failed\n  {failure}\n"));
    let expected = [
        "started workflow run 2",
        "workflow run 2 of tests/broken@1.0.0: failed (a step failed), 40% done (2 of 5 steps)",
        "STEP STATE DURATION ATTEMPTS",
        "seed completed T 1",
        "├─ pay failed T 1",
        "│ └─ after blocked - 0",
        "│ └─ last blocked - 0",
        "└─ last (under after)",
        "side completed T 1",
        failure,
    ];
    assert_eq!(shape(&text(&output.stdout)), expected);
    let output = workspace.cogwork(&["workflow", "status", "2"]);
    assert_eq!(shape(&text(&output.stdout)), expected[1..]);
}

#[test]
fn status_draws_a_template_as_a_tree_and_dot_draws_a_template_and_a_run_coloured_by_state() {
    let workspace = Workspace::new();
    workspace.json(&["workflow", "define", EXAMPLE_WORKFLOWS]);
    let output = workspace.cogwork(&["workflow", "status", "shop/order_fulfilment", "--dot"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(
        text(&output.stdout),
        r#"digraph "shop/order_fulfilment@1.0.0" {
  label="shop/order_fulfilment@1.0.0"; labelloc=t; fontcolor=black;
  node [shape=box, style="rounded,filled", fontname="Helvetica"];
  "greet" [label="greet\ntask greeting", fillcolor=white];
  "price" [label="price\nhandler price_step", fillcolor=white];
  "add_shipping" [label="add_shipping\ntask addition", fillcolor=white];
  "confirm" [label="confirm\nhandler confirm_step", fillcolor=white];
  "price" -> "add_shipping";
  "greet" -> "confirm";
  "add_shipping" -> "confirm";
}
"#
    );
    let output = workspace.cogwork(&["workflow", "status", "shop/order_fulfilment"]);
    assert_eq!(
        shape(&text(&output.stdout)),
        [
            "shop/order_fulfilment@1.0.0",
            "Greets a customer and prices their order in parallel branches, then confirms.",
            "STEP TARGET",
            "greet task greeting",
            "└─ confirm handler confirm_step",
            "price handler price_step",
            "└─ add_shipping task addition",
            "└─ confirm (under greet)",
        ]
    );
    // The CLI has no handlers: it says so, and a wait for the run gives up.
    let output = workspace.cogwork(&["workflow", "start", "shop/order_fulfilment", "--context", r#"{"customer": "Ada", "items": [{"price": 1, "quantity": 1}], "shipping": 0}"#, "--wait", "--timeout", "1s", "--tasks", EXAMPLE_TASKS]);
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("warning: step `price` runs the handler `price_step`, which only a process registering it can run"), "{}", text(&output.stderr));
    assert!(text(&output.stderr).contains("workflow run 1 did not finish within 1.000s"), "{}", text(&output.stderr));
    workspace.json(&["workflow", "cancel", "1"]);

    workspace.write("broken.yaml", BROKEN);
    workspace.json(&["workflow", "define", "broken.yaml"]);
    assert_eq!(workspace.cogwork(&["workflow", "start", "tests/broken", "--wait", "--tasks", EXAMPLE_TASKS]).status.code(), Some(1));
    let output = workspace.cogwork(&["workflow", "status", "2", "--dot"]);
    let dot = text(&output.stdout);
    for line in [
        r#"digraph "workflow run 2 of tests/broken@1.0.0: failed" {"#,
        r#"  "seed" [label="seed\ncompleted · 1 attempt", fillcolor=palegreen];"#,
        r#"  "pay" [label="pay\nfailed · 1 attempt", fillcolor=salmon];"#,
        r#"  "after" [label="after\nblocked · 0 attempts", fillcolor=lightgrey];"#,
        r#"  "last" [label="last\nblocked · 0 attempts", fillcolor=lightgrey];"#,
        r#"  "seed" -> "pay";"#,
        r#"  "after" -> "last";"#,
        r#"  "seed" -> "last";"#,
    ] {
        assert!(dot.lines().any(|drawn| drawn == line), "{line} is not in\n{dot}");
    }
}

#[test]
fn retry_step_resolve_and_replay_resume_a_run_from_the_cli() {
    let workspace = Workspace::new();
    workspace.write("broken.yaml", BROKEN);
    workspace.json(&["workflow", "define", "broken.yaml"]);
    let worked = |args: &[&str]| {
        let output = workspace.cogwork(&[args, &["--json"]].concat());
        (output.status.code(), serde_json::from_slice::<Value>(&output.stdout).unwrap())
    };
    let (code, run) = worked(&["workflow", "start", "tests/broken", "--wait", "--tasks", EXAMPLE_TASKS]);
    assert_eq!((code, &run["state"]), (Some(1), &json!("failed")));
    assert_eq!(run["steps"][1]["error"]["name"], json!("ValidationError"));

    // Retried, it fails the same way: the run is failed again, with a fresh attempt.
    assert_eq!(workspace.json(&["workflow", "retry-step", "1", "pay"]), json!({"run": 1, "step": "pay", "action": "retried"}));
    workspace.json(&["drain", "--tasks", EXAMPLE_TASKS]);
    let (code, run) = worked(&["workflow", "wait", "1"]);
    assert_eq!((code, &run["state"], &run["steps"][1]["attempts"]), (Some(1), &json!("failed"), &json!(1)));

    // Resolved by hand, its dependents run with the given result.
    assert_eq!(workspace.json(&["workflow", "resolve", "1", "pay", "--result", r#"{"charged": 40}"#])["action"], json!("resolved"));
    workspace.json(&["drain", "--tasks", EXAMPLE_TASKS]);
    let run = workspace.json(&["workflow", "wait", "1", "--timeout", "10s"]);
    assert_eq!(run["state"], json!("completed"));
    assert_eq!(results(&run), json!({"seed": {"product": 6}, "pay": {"charged": 40}, "after": {"sum": 40}, "last": {"sum": 46}, "side": {"sum": 2}}));

    // Replayed from `after`: it and `last` run again, upstream results stay.
    let job_of = |run: &Value, step: usize| run["steps"][step]["job_id"].as_i64().unwrap();
    let (seed_job, after_job) = (job_of(&run, 0), job_of(&run, 2));
    workspace.json(&["workflow", "replay", "1", "after"]);
    assert_eq!(states(&workspace.json(&["workflow", "status", "1"]))["last"], json!("waiting"));
    workspace.json(&["drain", "--tasks", EXAMPLE_TASKS]);
    let replayed = workspace.json(&["workflow", "wait", "1"]);
    assert_eq!((&replayed["state"], results(&replayed)), (&json!("completed"), results(&run)));
    assert_eq!(job_of(&replayed, 0), seed_job, "upstream of the replay nothing ran again");
    assert_ne!(job_of(&replayed, 2), after_job, "the replayed step ran as a new job");
}

#[test]
fn a_cancelled_run_and_a_wait_that_times_out_exit_with_status_1() {
    let workspace = Workspace::new();
    workspace.json(&["workflow", "define", &format!("{EXAMPLE_WORKFLOWS}/linear.yaml")]);
    workspace.json(&["workflow", "start", "linear_workflow/mathematical_sequence", "--context", r#"{"even_number": 2}"#]);
    // Nothing works the run: the wait gives up, and the run is left as it was.
    let output = workspace.cogwork(&["workflow", "wait", "1", "--timeout", "200ms"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("workflow run 1 did not finish within 0.200s; it goes on"), "{}", text(&output.stderr));
    assert_eq!(workspace.json(&["workflow", "status", "1"])["state"], json!("running"));

    assert_eq!(workspace.json(&["workflow", "cancel", "1"]), json!({"run": 1, "step": null, "action": "cancelled"}));
    let output = workspace.cogwork(&["workflow", "wait", "1"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(text(&output.stderr), "error: workflow run 1 was cancelled\n");
    let run = workspace.json(&["workflow", "status", "1"]);
    assert_eq!(states(&run), json!({"square": "cancelled", "square_again": "cancelled", "add_original": "cancelled", "halve": "cancelled"}));
    let output = workspace.cogwork(&["workflow", "cancel", "1"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("workflow run 1 cannot go from cancelled to cancelled"), "{}", text(&output.stderr));
}

#[test]
fn bad_input_is_refused_with_a_clear_message_and_changes_nothing() {
    let workspace = Workspace::new();
    workspace.json(&["workflow", "define", EXAMPLE_WORKFLOWS]);
    let refused = |args: &[&str], message: &str| {
        let output = workspace.cogwork(args);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {}", text(&output.stderr));
        assert!(text(&output.stderr).contains(message), "{args:?}: {}", text(&output.stderr));
        assert!(output.stdout.is_empty(), "{args:?} printed {}", text(&output.stdout));
    };
    refused(&["workflow", "start", "linear_workflow/mathematical_sequense"], "workflow template `linear_workflow/mathematical_sequense` not found; the templates loaded are diamond_workflow/parallel_computation, linear_workflow/mathematical_sequence,");
    refused(&["workflow", "start", "linear_workflow/mathematical_sequence@2.0.0"], "workflow template `linear_workflow/mathematical_sequence@2.0.0` not found; the versions loaded are 1.0.0");
    refused(&["workflow", "start", "linear_workflow/mathematical_sequence", "--context", r#"{"even_number": 3}"#], "the context does not match `context_schema` of linear_workflow/mathematical_sequence@1.0.0:\n  - context.even_number: 3 is not a multiple of 2");
    refused(&["workflow", "start", "linear_workflow/mathematical_sequence", "--context", "{oops"], "--context is not valid JSON");
    refused(&["workflow", "status", "shop/nothing"], "workflow template `shop/nothing` not found");
    refused(&["workflow", "wait", "7"], "workflow run 7 not found; it never existed or was purged");
    refused(&["workflow", "status", "7", "--dot"], "workflow run 7 not found");
    assert_eq!(workspace.json(&["workflow", "list", "--runs"])["runs"], json!([]), "no refused start made a run");

    run_to_the_end(&workspace, "diamond_workflow/parallel_computation", json!({"number": 3}));
    let before = workspace.json(&["workflow", "status", "1"]);
    refused(&["workflow", "resolve", "1", "combine", "--result", r#"{"sum": 0}"#], "step `combine` of workflow run 1 cannot go from completed to completed: only a failed step can be resolved");
    refused(&["workflow", "retry-step", "1", "double"], "step `double` of workflow run 1 cannot go from completed to ready: only a failed step can be retried");
    refused(&["workflow", "replay", "1", "nothing"], "workflow run 1 has no step `nothing`; its steps are square, double, triple, combine");
    refused(&["workflow", "resolve", "9", "combine", "--result", "{}"], "workflow run 9 not found");
    assert_eq!(workspace.json(&["workflow", "status", "1"]), before, "no refusal changed the run, its steps or its transitions");

    let dir = tempfile::tempdir().unwrap();
    let cycle = dir.path().join("cycle.yaml");
    std::fs::write(&cycle, "namespace: t\nname: c\nversion: 1.0.0\nsteps:\n  - {name: a, task: sum, depends_on: [b]}\n  - {name: b, task: sum, depends_on: [a]}\n").unwrap();
    refused(&["workflow", "define", cycle.to_str().unwrap()], "the dependencies form a cycle: a → b → a");
    let listed = workspace.json(&["workflow", "list"]);
    assert!(listed["templates"].as_array().unwrap().iter().all(|template| template["name"] != json!("t/c")), "{listed}");
    let missing = Path::new(EXAMPLE_WORKFLOWS).join("missing.yaml");
    refused(&["workflow", "define", missing.to_str().unwrap()], "cannot read the workflow template");
}

#[test]
fn list_shows_templates_with_their_versions_and_runs_with_their_progress() {
    let workspace = Workspace::new();
    workspace.json(&["workflow", "define", &format!("{EXAMPLE_WORKFLOWS}/linear.yaml")]);
    let newer = std::fs::read_to_string(Path::new(EXAMPLE_WORKFLOWS).join("linear.yaml")).unwrap().replace("version: 1.0.0", "version: 1.1.0");
    workspace.write("linear-1.1.yaml", &newer);
    workspace.json(&["workflow", "define", "linear-1.1.yaml"]);
    let listed = workspace.json(&["workflow", "list"]);
    let versions: Vec<(&str, &str)> = listed["templates"].as_array().unwrap().iter().map(|t| (t["name"].as_str().unwrap(), t["version"].as_str().unwrap())).collect();
    assert_eq!(versions, [("linear_workflow/mathematical_sequence", "1.0.0"), ("linear_workflow/mathematical_sequence", "1.1.0")]);
    assert_eq!(listed["templates"][1]["steps"], json!(["square", "square_again", "add_original", "halve"]));
    let output = workspace.cogwork(&["workflow", "list"]);
    assert_eq!(shape(&text(&output.stdout)), ["NAME VERSIONS STEPS", "linear_workflow/mathematical_sequence 1.0.0, 1.1.0 4"]);

    let run = run_to_the_end(&workspace, "linear_workflow/mathematical_sequence", json!({"even_number": 2}));
    assert_eq!(run["version"], json!("1.1.0"), "a name without a version starts the newest");
    workspace.json(&["workflow", "start", "linear_workflow/mathematical_sequence@1.0.0", "--context", r#"{"even_number": 4}"#]);
    let output = workspace.cogwork(&["workflow", "list", "--runs"]);
    let lines: Vec<Vec<String>> = text(&output.stdout).lines().map(|line| line.split_whitespace().take(4).map(str::to_owned).collect()).collect();
    assert_eq!(lines[1..], [["2", "linear_workflow/mathematical_sequence@1.0.0", "running", "0%"], ["1", "linear_workflow/mathematical_sequence@1.1.0", "completed", "100%"]]);
    let running = workspace.json(&["workflow", "list", "--runs", "--state", "running"]);
    assert_eq!(running["runs"].as_array().unwrap().len(), 1);
}

#[test]
fn the_workflow_commands_work_the_same_on_postgresql() {
    let workspace = Workspace::postgres();
    workspace.json(&["workflow", "define", &format!("{EXAMPLE_WORKFLOWS}/tree.yaml")]);
    let run = run_to_the_end(&workspace, "tree_workflow/hierarchical_computation", json!({"number": 1}));
    assert_eq!(run["state"], json!("completed"));
    assert_eq!(
        results(&run),
        json!({"root": {"product": 1}, "left": {"product": 2}, "right": {"product": 3}, "left_square": {"product": 4},
               "left_increment": {"sum": 3}, "right_square": {"product": 9}, "right_increment": {"sum": 4}})
    );
    let output = workspace.cogwork(&["workflow", "wait", "999999"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("workflow run 999999 not found"), "{}", text(&output.stderr));
}
