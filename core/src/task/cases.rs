//! A task's test cases (`tests/*.json`): an input, the expected output, and optional HTTP
//! mocks answering the task's fetches offline.

use serde::Deserialize;
use serde_json::Value;

use super::files::TaskFiles;
use crate::error::{Error, Result};
use crate::js::HttpMock;
use crate::value::json_equal;

#[derive(Debug, Clone)]
pub struct TestCase {
    /// The case's file, e.g. `tests/basic.json`.
    pub file: String,
    pub input: Value,
    pub expected_output: Value,
    pub mocks: Vec<HttpMock>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFile {
    input: Value,
    expected_output: Value,
    #[serde(default)]
    mock: Option<MockSection>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MockSection {
    /// One mock or a list of them: see [`HttpMock::list_from_json`].
    http: Value,
}

pub(super) fn load(files: &TaskFiles) -> Result<Vec<TestCase>> {
    files
        .list("tests", ".json")
        .map(|(file, bytes)| {
            let case: CaseFile = serde_json::from_slice(bytes).map_err(|e| files.error(file, format!("invalid test case: {e}")))?;
            let mocks = HttpMock::list_from_json(case.mock.map_or(Value::Null, |m| m.http))
                .map_err(|e| files.error(file, format!("invalid mock.http: {e}")))?;
            Ok(TestCase { file: file.to_string(), input: case.input, expected_output: case.expected_output, mocks })
        })
        .collect()
}

/// How a test case went.
#[derive(Debug)]
pub enum CaseOutcome {
    Passed,
    /// The task returned something else: a unified diff of expected vs actual (pretty JSON).
    WrongOutput { diff: String },
    /// The run failed.
    Failed(Error),
}

impl TestCase {
    /// Judges a run of this case.
    pub fn judge(&self, result: Result<Value>) -> CaseOutcome {
        match result {
            Err(error) => CaseOutcome::Failed(error),
            Ok(output) if json_equal(&output, &self.expected_output) => CaseOutcome::Passed,
            Ok(output) => CaseOutcome::WrongOutput { diff: diff(&self.expected_output, &output) },
        }
    }
}

fn diff(expected: &Value, actual: &Value) -> String {
    let expected = serde_json::to_string_pretty(expected).unwrap_or_default() + "\n";
    let actual = serde_json::to_string_pretty(actual).unwrap_or_default() + "\n";
    similar::TextDiff::from_lines(&expected, &actual).unified_diff().header("expected", "actual").to_string()
}
