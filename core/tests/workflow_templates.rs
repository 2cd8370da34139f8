//! Workflow templates: the examples load, every validation error names the file and the
//! step, versions live side by side, and YAML, JSON and native values give one template.

use std::path::{Path, PathBuf};
use std::time::Duration;

use cogwork_core::queue::Backoff;
use cogwork_core::workflow::{Retry, Target, Template, Templates};
use cogwork_core::{Error, ErrorKind};
use serde_json::json;

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/workflows")
}

/// A template file in `dir` named `file`, with `steps` (YAML list items) under a fixed header.
fn write_template(dir: &Path, file: &str, version: &str, steps: &str) -> PathBuf {
    let path = dir.join(file);
    std::fs::write(&path, format!("namespace: shop\nname: checkout\nversion: {version}\nsteps:\n{steps}")).unwrap();
    path
}

/// What loading a template of `steps` refused, once it is checked that the error names the
/// file: the step and the reason.
fn refusal(steps: &str) -> (Option<String>, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = write_template(dir.path(), "bad.yaml", "1.0.0", steps);
    match Template::load(&file) {
        Err(Error::InvalidTemplate { origin, step, reason }) => {
            assert_eq!(origin, file.display().to_string(), "the error names the file");
            (step, reason)
        }
        other => panic!("expected InvalidTemplate, got {other:?}"),
    }
}

#[test]
fn every_example_loads_with_its_steps_and_targets() {
    let templates = Templates::load(&[examples()]).unwrap();
    let ids: Vec<String> = templates.iter().map(|template| template.id()).collect();
    assert_eq!(
        ids,
        [
            "diamond_workflow/parallel_computation@1.0.0",
            "linear_workflow/mathematical_sequence@1.0.0",
            "mixed_workflow/greeting_with_total@1.0.0",
            "parallel_workflow/fan_out_fan_in@1.0.0",
            "shop/order_fulfilment@1.0.0",
            "tree_workflow/hierarchical_computation@1.0.0",
        ]
    );
    let step_count = |reference: &str| templates.lookup(reference).unwrap().steps.len();
    assert_eq!(step_count("linear_workflow/mathematical_sequence"), 4);
    assert_eq!(step_count("tree_workflow/hierarchical_computation"), 7);
    let fan_in = templates.lookup("parallel_workflow/fan_out_fan_in").unwrap();
    let sum = fan_in.steps.last().unwrap();
    assert_eq!(sum.depends_on, ["square_a", "square_b", "square_c", "square_d"]);
    let backoff = Backoff { base: Duration::from_millis(250), cap: Duration::from_secs(5) };
    assert_eq!(sum.retry, Retry { max_attempts: Some(5), backoff: Some(backoff) });
    // Every example but the order runs on JavaScript tasks alone, so the CLI runs it.
    for template in templates.iter().filter(|template| template.name() != "shop/order_fulfilment") {
        assert!(template.steps.iter().all(|step| matches!(step.target, Target::Task(_))), "{} has a handler step", template.id());
    }
    let order = templates.lookup("shop/order_fulfilment@1.0.0").unwrap();
    let targets: Vec<&Target> = order.steps.iter().map(|step| &step.target).collect();
    assert_eq!(targets, [&Target::Task("greeting".into()), &Target::Handler("price_step".into()), &Target::Task("addition".into()), &Target::Handler("confirm_step".into())]);
    assert_eq!(order.steps[2].timeout, Some(Duration::from_secs(30)));
    assert_eq!(order.steps[2].input.as_ref().unwrap()["num1"], json!("$.results.price.subtotal"));
}

#[test]
fn a_cycle_is_refused_naming_each_step_of_it() {
    let (step, reason) = refusal(
        "  - {name: start, handler: h}\n  - {name: a, handler: h, depends_on: [start, c]}\n  - {name: b, handler: h, depends_on: [a]}\n  - {name: c, handler: h, depends_on: [b]}\n",
    );
    assert_eq!(step.as_deref(), Some("a"));
    assert!(reason.contains("cycle: a → c → b → a"), "{reason}");
}

#[test]
fn an_unknown_dependency_names_the_step_and_the_missing_name() {
    let (step, reason) = refusal("  - {name: pay, handler: h}\n  - {name: ship, handler: h, depends_on: [pay, pack]}\n");
    assert_eq!(step.as_deref(), Some("ship"));
    assert!(reason.contains("depends on `pack`, which is not a step of this template; the steps are pay, ship"), "{reason}");
}

#[test]
fn a_duplicate_or_malformed_step_name_is_refused() {
    let (step, reason) = refusal("  - {name: pay, handler: h}\n  - {name: pay, task: charge}\n");
    assert_eq!(step.as_deref(), Some("pay"));
    assert!(reason.contains("used twice"), "{reason}");
    let (step, reason) = refusal("  - {name: pay.card, handler: h}\n");
    assert_eq!(step, None, "a name refused is not the step's name");
    assert!(reason.contains("`steps[0].name` must be a non-empty name of ASCII letters, digits, `_` or `-`, not \"pay.card\""), "{reason}");
}

#[test]
fn a_step_needs_exactly_one_target() {
    let (step, reason) = refusal("  - {name: pay, depends_on: []}\n");
    assert_eq!(step.as_deref(), Some("pay"));
    assert!(reason.contains("`steps[0]` has no target"), "{reason}");
    let (step, reason) = refusal("  - {name: pay, handler: h}\n  - {name: ship, handler: h, task: t}\n");
    assert_eq!(step.as_deref(), Some("ship"));
    assert!(reason.contains("`steps[1]` has both a `handler:` and a `task:`"), "{reason}");
}

#[test]
fn a_version_that_is_not_semver_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_template(dir.path(), "old.yaml", "'1.0'", "  - {name: pay, handler: h}\n");
    let error = Template::load(&file).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Configuration);
    let message = error.to_string();
    assert!(message.contains(&format!("{}: `version` \"1.0\" is not a semantic version", file.display())), "{message}");
}

#[test]
fn an_unknown_key_is_refused_with_its_path_and_step() {
    let (step, reason) = refusal("  - {name: pay, handler: h}\n  - name: ship\n    handler: h\n    retry: {attempts: 3}\n");
    assert_eq!(step.as_deref(), Some("ship"));
    assert!(reason.contains("`steps[1].retry.attempts` is not a known key; the keys here are max_attempts, backoff"), "{reason}");
    let (step, reason) = refusal("  - {name: pay, handler: h, timeout: soon}\n");
    assert_eq!(step.as_deref(), Some("pay"));
    assert!(reason.contains("`steps[0].timeout` must be a positive duration"), "{reason}");
}

#[test]
fn a_context_that_fails_the_context_schema_names_the_file_and_path() {
    let templates = Templates::load(&[examples()]).unwrap();
    let linear = templates.lookup("linear_workflow/mathematical_sequence").unwrap();
    linear.validate_context(&json!({"even_number": 6})).unwrap();
    let message = linear.validate_context(&json!({"even_number": "six"})).unwrap_err().to_string();
    assert!(message.contains("linear.yaml") && message.contains("context.even_number"), "{message}");
    let message = linear.validate_context(&json!({})).unwrap_err().to_string();
    assert!(message.contains("context: ") && message.contains("even_number"), "{message}");
    // Without a context_schema every context passes.
    let open = Template::from_value(json!({"namespace": "shop", "name": "open", "version": "1.0.0", "steps": [{"name": "a", "handler": "h"}]}), "open").unwrap();
    open.validate_context(&json!("anything")).unwrap();
}

#[test]
fn versions_live_side_by_side_and_the_newest_is_the_default() {
    let dir = tempfile::tempdir().unwrap();
    for version in ["1.9.0", "1.10.0", "2.0.0-beta.1", "1.0.0"] {
        write_template(dir.path(), &format!("checkout-{version}.yaml"), version, &format!("  - {{name: v{}, handler: h}}\n", version.replace('.', "_")));
    }
    let templates = Templates::load(&[dir.path()]).unwrap();
    assert_eq!(templates.iter().count(), 4);
    assert_eq!(templates.lookup("shop/checkout").unwrap().version, "2.0.0-beta.1");
    assert_eq!(templates.lookup("shop/checkout@1.9.0").unwrap().steps[0].name, "v1_9_0");
    assert_eq!(templates.lookup("shop/checkout@1.10.0").unwrap().steps[0].name, "v1_10_0");
    let message = templates.lookup("shop/checkout@3.0.0").unwrap_err().to_string();
    assert!(message.contains("`shop/checkout@3.0.0` not found; the versions loaded are 1.0.0, 1.9.0, 1.10.0, 2.0.0-beta.1"), "{message}");
    let message = templates.lookup("shop/basket").unwrap_err().to_string();
    assert!(message.contains("the templates loaded are shop/checkout"), "{message}");
}

#[test]
fn a_second_template_with_the_same_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let first = write_template(dir.path(), "a.yaml", "1.0.0", "  - {name: pay, handler: h}\n");
    let second = write_template(dir.path(), "b.yaml", "1.0.0", "  - {name: ship, handler: h}\n");
    let message = Templates::load(&[dir.path()]).unwrap_err().to_string();
    assert!(message.contains(&format!("{}: shop/checkout@1.0.0 is already defined by {}", second.display(), first.display())), "{message}");
}

#[test]
fn yaml_json_and_a_native_value_give_the_same_template_and_snapshot() {
    let value = json!({
        "namespace": "shop", "name": "checkout", "version": "1.2.0",
        "context_schema": {"type": "object", "required": ["order"]},
        "steps": [
            {"name": "price", "handler": "price_step", "timeout": "5s"},
            {"name": "charge", "task": "charge", "depends_on": ["price"], "queue": "payments",
             "retry": {"max_attempts": 3, "backoff": {"base": 1, "cap": "1m"}}, "input": {"amount": "$.results.price.result"}}
        ]
    });
    let dir = tempfile::tempdir().unwrap();
    let json_file = dir.path().join("checkout.json");
    std::fs::write(&json_file, serde_json::to_string_pretty(&value).unwrap()).unwrap();
    let yaml_file = dir.path().join("checkout.yml");
    std::fs::write(&yaml_file, serde_norway::to_string(&value).unwrap()).unwrap();
    let native = Template::from_value(value.clone(), "template shop/checkout@1.2.0").unwrap();
    for loaded in [Template::load(&json_file).unwrap(), Template::load(&yaml_file).unwrap()] {
        assert_eq!(loaded.id(), native.id());
        assert_eq!(loaded.steps, native.steps);
        assert_eq!(loaded.snapshot(), &value);
        assert!(loaded.validate_context(&json!({})).is_err());
    }
    let charge = &native.steps[1];
    assert_eq!(charge.retry.backoff, Some(Backoff { base: Duration::from_secs(1), cap: Duration::from_secs(60) }));
    assert_eq!((charge.queue.as_deref(), native.steps[0].timeout), (Some("payments"), Some(Duration::from_secs(5))));
}

#[test]
fn a_native_value_is_named_by_its_origin_in_errors() {
    let error = Template::from_value(json!({"namespace": "shop", "name": "checkout", "version": "1.0.0", "steps": []}), "template shop/checkout@1.0.0").unwrap_err();
    let message = error.to_string();
    assert!(message.contains("invalid workflow template template shop/checkout@1.0.0: `steps` must be a non-empty list of steps, not []"), "{message}");
}

#[test]
fn an_input_mapping_path_must_lead_to_the_context_or_a_parent() {
    let (step, reason) = refusal("  - {name: pay, handler: h}\n  - {name: ship, task: t, input: {amount: $.results.pack.total}}\n");
    assert_eq!(step.as_deref(), Some("ship"));
    assert!(reason.contains("`steps[1].input.amount`"), "{reason}");
    assert!(reason.contains("the path `$.results.pack.total` leads nowhere"), "{reason}");
    assert!(reason.contains("this step has no parents"), "{reason}");
    let (_, reason) = refusal("  - {name: pay, handler: h}\n  - {name: ship, task: t, depends_on: [pay], input: {amount: $.result.pay}}\n");
    assert!(reason.contains("its parents are pay"), "{reason}");
}
