//! The registry: every task loaded from the configured sources, indexed by label (all
//! versions, newest first), uuid and `label@version`.
//!
//! A source is a task directory, a task archive (.zip), or a directory holding either.
//! The same uuid and version found in two places is a warning naming both, and the first
//! one loaded wins, so the order of sources decides.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::Task;
use crate::error::{Error, Result};

#[derive(Default)]
pub struct Registry {
    /// label → versions, newest first.
    by_label: HashMap<String, Vec<Arc<Task>>>,
    by_uuid: HashMap<String, Vec<Arc<Task>>>,
    warnings: Vec<String>,
}

impl Registry {
    /// Loads every task of every source. A task that fails to load is an error: an engine
    /// that silently skipped a broken task would fail later and further from the cause.
    pub fn load(sources: &[PathBuf]) -> Result<Registry> {
        let mut registry = Registry::default();
        for source in sources {
            for origin in task_origins(source)? {
                registry.insert(Task::load(&origin)?);
            }
        }
        Ok(registry)
    }

    fn insert(&mut self, task: Task) {
        let versions = self.by_label.entry(task.metadata.label.clone()).or_default();
        if let Some(first) = versions.iter().find(|t| t.metadata.uuid == task.metadata.uuid && t.metadata.version == task.metadata.version) {
            self.warnings.push(format!(
                "duplicate task {} (uuid {}) in {} and {}; using the first",
                task.name(),
                task.metadata.uuid,
                first.origin.display(),
                task.origin.display()
            ));
            return;
        }
        let task = Arc::new(task);
        versions.push(task.clone());
        newest_first(versions);
        let by_uuid = self.by_uuid.entry(task.metadata.uuid.clone()).or_default();
        by_uuid.push(task);
        newest_first(by_uuid);
    }

    /// `label`, `uuid` (newest version of either) or `label@version` / `uuid@version`.
    pub fn lookup(&self, name: &str) -> Result<Arc<Task>> {
        let (key, version) = match name.split_once('@') {
            Some((key, version)) => (key, Some(version)),
            None => (name, None),
        };
        let versions = self.by_label.get(key).or_else(|| self.by_uuid.get(key));
        let found = versions.and_then(|versions| match version {
            None => versions.first(),
            Some(version) => versions.iter().find(|t| t.metadata.version == version),
        });
        found.cloned().ok_or_else(|| Error::TaskNotFound { name: name.to_string(), hint: self.hint(key, versions) })
    }

    fn hint(&self, key: &str, versions: Option<&Vec<Arc<Task>>>) -> String {
        if let Some(versions) = versions {
            let known: Vec<_> = versions.iter().map(|t| t.metadata.version.as_str()).collect();
            return format!("versions of `{key}` loaded: {}", known.join(", "));
        }
        let mut labels: Vec<_> = self.by_label.keys().map(String::as_str).collect();
        labels.sort_unstable();
        match labels.is_empty() {
            true => "no tasks are loaded; pass task directories with `tasks`".to_string(),
            false => format!("loaded tasks: {}", labels.join(", ")),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.by_label.is_empty()
    }

    /// Every name [`lookup`](Self::lookup) answers to: each label and uuid, alone and with
    /// each of its versions.
    pub fn names(&self) -> Vec<String> {
        let keyed = self.by_label.iter().chain(&self.by_uuid);
        keyed.flat_map(|(key, versions)| std::iter::once(key.clone()).chain(versions.iter().map(move |task| format!("{key}@{}", task.metadata.version)))).collect()
    }

    /// Every task, sorted by label then newest version first.
    pub fn tasks(&self) -> Vec<Arc<Task>> {
        let mut labels: Vec<_> = self.by_label.keys().collect();
        labels.sort_unstable();
        labels.into_iter().flat_map(|label| self.by_label[label].iter().cloned()).collect()
    }

    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }
}

/// The task locations a source names: itself if it is a task, else its task children.
fn task_origins(source: &Path) -> Result<Vec<PathBuf>> {
    if !source.exists() {
        return Err(Error::Configuration(format!("task source {} does not exist", source.display())));
    }
    if source.is_file() || source.join("metadata.json").is_file() {
        return Ok(vec![source.to_path_buf()]);
    }
    let entries = std::fs::read_dir(source).map_err(|e| Error::io(format!("cannot list task source {}", source.display()), e))?;
    let mut origins: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.join("metadata.json").is_file() || path.extension().is_some_and(|ext| ext == "zip"))
        .collect();
    origins.sort();
    Ok(origins)
}

/// By semver precedence; versions differing only in build metadata keep their load order.
fn newest_first(versions: &mut [Arc<Task>]) {
    versions.sort_by(|a, b| b.version.cmp(&a.version));
}
