//! The `cogwork` command line: run, test (diffs and exit status) and validate.

mod support;

use std::process::{Command, Output};

use serde_json::json;
use support::{write_json, write_task};

fn cogwork(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cogwork")).args(args).output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/tasks");

#[test]
fn run_prints_the_output_of_a_task_found_by_label_or_path() {
    let output = cogwork(&["run", "addition", "--tasks", EXAMPLES, "--input", r#"{"num1": 2, "num2": 3}"#]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&output.stdout).unwrap(), json!({"sum": 5}));

    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input.json");
    write_json(&input, &json!({"name": "Ada"}));
    let greeting = format!("{EXAMPLES}/greeting");
    let output = cogwork(&["run", &greeting, "--json", "--input", &format!("@{}", input.display())]);
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["output"], json!({"message": "Hello, Ada!"}));
    assert_eq!(report["console"][0]["message"], json!("greeting Ada in en"));
}

#[test]
fn run_reports_errors_on_stderr_with_a_failing_status() {
    let output = cogwork(&["run", "charge", "--tasks", EXAMPLES, "--input", r#"{"amount": 5000}"#]);
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("ValidationError: amount 5000 exceeds the limit of 1000"), "{}", text(&output.stderr));
    let output = cogwork(&["run", "addition", "--tasks", EXAMPLES, "--input", "{not json"]);
    assert!(text(&output.stderr).contains("--input is not valid JSON"), "{}", text(&output.stderr));
}

#[test]
fn test_passes_the_example_tasks_including_the_mocked_fetch() {
    let output = cogwork(&["test", EXAMPLES]);
    let stdout = text(&output.stdout);
    assert!(output.status.success(), "{stdout}{}", text(&output.stderr));
    assert!(stdout.contains("ok     weather@1.0.0 tests/mocked_paris.json"), "{stdout}");
    assert!(stdout.contains(" 0 failed"), "{stdout}");
}

#[test]
fn test_shows_a_diff_for_each_failing_case_and_exits_1() {
    let root = tempfile::tempdir().unwrap();
    let task = write_task(root.path(), "double", "(input) => ({value: input.n * 2, n: input.n})");
    write_json(&task.join("tests/right.json"), &json!({"input": {"n": 2}, "expected_output": {"value": 4, "n": 2}}));
    write_json(&task.join("tests/wrong.json"), &json!({"input": {"n": 3}, "expected_output": {"value": 7, "n": 3}}));
    let output = cogwork(&["test", root.path().to_str().unwrap()]);
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("FAILED double@1.0.0 tests/wrong.json"), "{stdout}");
    assert!(stdout.contains("-  \"value\": 7") && stdout.contains("+  \"value\": 6"), "{stdout}");
    assert!(stdout.contains("1 passed, 1 failed"), "{stdout}");
}

#[test]
fn test_compares_numbers_by_value_not_by_how_they_are_written() {
    let root = tempfile::tempdir().unwrap();
    let task = write_task(root.path(), "numbers", "(input) => ({two: 2, thousand: 1000, half: 0.5, negative_zero: -0, list: [1, 2.5]})");
    // Written as text: a JSON value would normalise what this test is about.
    let case = r#"{"input": {}, "expected_output": {"list": [1.0, 25e-1], "half": 5E-1, "thousand": 1e3, "two": 2.0, "negative_zero": 0}}"#;
    std::fs::write(task.join("tests/same_values.json"), case).unwrap();
    std::fs::write(task.join("tests/other_value.json"), r#"{"input": {}, "expected_output": {"two": 2.5, "thousand": 1e3, "half": 0.5, "negative_zero": 0, "list": [1, 2.5]}}"#).unwrap();
    let output = cogwork(&["test", root.path().to_str().unwrap()]);
    let stdout = text(&output.stdout);
    assert!(stdout.contains("ok     numbers@1.0.0 tests/same_values.json"), "{stdout}");
    assert!(stdout.contains("FAILED numbers@1.0.0 tests/other_value.json") && stdout.contains("-  \"two\": 2.5"), "{stdout}");
    assert!(stdout.contains("1 passed, 1 failed"), "{stdout}");
}

#[test]
fn validate_reports_a_main_js_that_does_not_parse_with_its_line_and_column() {
    let root = tempfile::tempdir().unwrap();
    write_task(root.path(), "typo", "(input) => {\n  return input.a +* 2;\n}");
    let output = cogwork(&["validate", root.path().to_str().unwrap()]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{}{stderr}", text(&output.stdout));
    assert!(stderr.contains("main.js: SyntaxError") && stderr.contains("line 2, col 19"), "{stderr}");
}

#[test]
fn validate_checks_test_cases_against_the_schemas() {
    let root = tempfile::tempdir().unwrap();
    let task = write_task(root.path(), "strict", "(input) => input");
    write_json(&task.join("input.schema.json"), &json!({"type": "object", "required": ["id"]}));
    write_json(&task.join("tests/missing_id.json"), &json!({"input": {}, "expected_output": {}}));
    let output = cogwork(&["validate", root.path().to_str().unwrap()]);
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("INVALID strict@1.0.0 tests/missing_id.json") && stdout.contains("required"), "{stdout}");

    std::fs::write(task.join("metadata.json"), "[]").unwrap();
    let output = cogwork(&["validate", root.path().to_str().unwrap()]);
    assert!(text(&output.stderr).contains("metadata.json"), "{}", text(&output.stderr));
}
