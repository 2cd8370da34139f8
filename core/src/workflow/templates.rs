//! The loaded templates, by `namespace/name` and version. Many versions of a template live
//! side by side, so runs started on an older one keep their meaning; a reference without a
//! version means the newest by semver precedence (`1.10.0` over `1.9.0`, a release over its
//! pre-releases), as task labels do.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use super::template::Template;
use crate::error::{Error, Result};
use crate::task::Version;

/// Templates by `namespace/name`, then by version.
#[derive(Debug, Default)]
pub struct Templates {
    by_name: BTreeMap<String, BTreeMap<Version, Arc<Template>>>,
}

/// The file extensions a template directory is scanned for.
const EXTENSIONS: [&str; 3] = ["yaml", "yml", "json"];

impl Templates {
    pub fn new() -> Templates {
        Templates::default()
    }

    /// Loads every path: a template file, or a directory whose `.yaml`, `.yml` and `.json`
    /// files are templates (read in name order, so errors come out the same every time).
    pub fn load(paths: &[impl AsRef<Path>]) -> Result<Templates> {
        let mut templates = Templates::new();
        for path in paths {
            for file in template_files(path.as_ref())? {
                templates.insert(Template::load(&file)?)?;
            }
        }
        Ok(templates)
    }

    /// Adds `template`; a second template with the same namespace, name and version is
    /// refused, since which one a run meant would be a guess.
    pub fn insert(&mut self, template: impl Into<Arc<Template>>) -> Result<()> {
        let template = template.into();
        let versions = self.by_name.entry(format!("{}/{}", template.namespace, template.name)).or_default();
        if let Some(existing) = versions.get(&template.precedence) {
            let reason = format!("{} is already defined by {}; give one of them another version", template.id(), existing.origin);
            return Err(Error::InvalidTemplate { origin: template.origin.clone(), step: None, reason });
        }
        versions.insert(template.precedence.clone(), template);
        Ok(())
    }

    /// The template `reference` names: `namespace/name` for the newest version, or
    /// `namespace/name@version` for that one.
    pub fn lookup(&self, reference: &str) -> Result<Arc<Template>> {
        let (name, version) = reference.split_once('@').map_or((reference, None), |(name, version)| (name, Some(version)));
        let versions = self.by_name.get(name).ok_or_else(|| self.not_found(reference, None))?;
        let found = match version {
            None => versions.values().next_back(),
            Some(version) => Version::parse(version).ok().and_then(|version| versions.get(&version)),
        };
        found.cloned().ok_or_else(|| self.not_found(reference, Some(versions)))
    }

    /// Every template, by name and then from the oldest version to the newest.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Template>> {
        self.by_name.values().flat_map(BTreeMap::values)
    }

    fn not_found(&self, reference: &str, versions: Option<&BTreeMap<Version, Arc<Template>>>) -> Error {
        let known = match versions {
            Some(versions) => format!("the versions loaded are {}", versions.values().map(|t| t.version.as_str()).collect::<Vec<_>>().join(", ")),
            None if self.by_name.is_empty() => "no templates are loaded".to_owned(),
            None => format!("the templates loaded are {}", self.by_name.keys().cloned().collect::<Vec<_>>().join(", ")),
        };
        Error::TemplateNotFound { reference: reference.to_owned(), hint: known }
    }
}

fn template_files(path: &Path) -> Result<Vec<std::path::PathBuf>> {
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let entries = std::fs::read_dir(path).map_err(|error| Error::io(format!("cannot list the workflow templates in {}", path.display()), error))?;
    let mut files: Vec<_> = entries
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|file| file.is_file() && file.extension().is_some_and(|extension| EXTENSIONS.iter().any(|known| extension == *known)))
        .collect();
    files.sort();
    Ok(files)
}
