//! The task format: a directory (or .zip of one) holding `metadata.json`, input and output
//! JSON Schemas, `main.js` and optional `tests/*.json` cases. This module loads and checks
//! tasks; [`Registry`] indexes them; [`Watcher`] reloads them when their files change.

mod cases;
mod files;
mod registry;
mod schema;
mod syntax;
mod version;
mod watch;

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use crate::error::{Error, Result};
pub use cases::{CaseOutcome, TestCase};
use files::TaskFiles;
pub use registry::Registry;
pub(crate) use schema::Schema;
pub(crate) use version::Version;
pub use watch::Watcher;

/// The contents of `metadata.json`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metadata {
    pub uuid: String,
    pub version: String,
    pub label: String,
    #[serde(default)]
    pub description: String,
}

/// A loaded, checked task: everything a run needs, schemas already compiled.
pub struct Task {
    pub metadata: Metadata,
    /// The directory or archive it was loaded from.
    pub origin: PathBuf,
    /// The text of `main.js`.
    pub(crate) source: String,
    /// Identifies this exact code in a worker's cache: `uuid@version#hash-of-main.js`, so a
    /// reloaded task is recompiled while an unchanged one stays warm.
    pub(crate) cache_key: String,
    pub cases: Vec<TestCase>,
    /// `metadata.version`, parsed: what orders the versions of a label.
    version: Version,
    input_schema: Option<Schema>,
    output_schema: Option<Schema>,
}

impl std::fmt::Debug for Task {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Task({} from {})", self.name(), self.origin.display())
    }
}

impl Task {
    /// Loads the task at `origin` (a directory or a .zip archive).
    pub fn load(origin: &Path) -> Result<Task> {
        let files = TaskFiles::read(origin)?;
        let metadata: Metadata = parse_json(&files, "metadata.json")?;
        for (field, value) in [("uuid", &metadata.uuid), ("label", &metadata.label)] {
            if value.trim().is_empty() || value.contains('@') {
                return Err(files.error("metadata.json", format!("`{field}` must be a non-empty string without `@`")));
            }
        }
        let version = Version::parse(&metadata.version).map_err(|reason| {
            let example = "MAJOR.MINOR.PATCH, e.g. 1.0.0 or 2.1.0-beta.1, see semver.org";
            files.error("metadata.json", format!("`version` {:?} is not a semantic version ({example}): {reason}", metadata.version))
        })?;
        let source = files.get("main.js").ok_or_else(|| files.error("main.js", "missing; a task needs a main.js"))?;
        let source = String::from_utf8(source.to_vec()).map_err(|_| files.error("main.js", "is not UTF-8 text"))?;
        syntax::check(&source).map_err(|reason| files.error("main.js", reason))?;
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        source.hash(&mut hasher);
        Ok(Task {
            cache_key: format!("{}@{}#{:016x}", metadata.uuid, metadata.version, hasher.finish()),
            input_schema: load_schema(&files, "input")?,
            output_schema: load_schema(&files, "output")?,
            cases: cases::load(&files)?,
            version,
            origin: files.origin,
            metadata,
            source,
        })
    }

    /// `label@version`, the name that identifies it unambiguously.
    pub fn name(&self) -> String {
        format!("{}@{}", self.metadata.label, self.metadata.version)
    }

    pub fn validate_input(&self, input: &Value) -> Result<()> {
        match violations(&self.input_schema, input, "input") {
            None => Ok(()),
            Some(violations) => Err(Error::InvalidInput { task: self.name(), violations }),
        }
    }

    pub fn validate_output(&self, output: &Value) -> Result<()> {
        match violations(&self.output_schema, output, "output") {
            None => Ok(()),
            Some(violations) => Err(Error::InvalidOutput { task: self.name(), violations }),
        }
    }
}

fn violations(schema: &Option<Schema>, value: &Value, root: &str) -> Option<Vec<crate::SchemaViolation>> {
    let violations = schema.as_ref()?.violations(value, root);
    (!violations.is_empty()).then_some(violations)
}

/// `input.schema.json`, or `input.schema` as the format also allows; absent means "anything".
fn load_schema(files: &TaskFiles, kind: &str) -> Result<Option<Schema>> {
    let Some(file) = [format!("{kind}.schema.json"), format!("{kind}.schema")].into_iter().find(|f| files.get(f).is_some()) else {
        return Ok(None);
    };
    let schema: Value = parse_json(files, &file)?;
    Schema::compile(&schema).map(Some).map_err(|reason| files.error(&file, reason))
}

fn parse_json<T: serde::de::DeserializeOwned>(files: &TaskFiles, file: &str) -> Result<T> {
    let bytes = files.get(file).ok_or_else(|| files.error(file, "missing"))?;
    serde_json::from_slice(bytes).map_err(|e| files.error(file, format!("invalid: {e}")))
}
