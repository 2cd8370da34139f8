//! Reading a task's files from a directory or a .zip archive into memory.
//!
//! Archives are untrusted: entries that would escape the archive's root (`../`, absolute
//! paths) are refused, and sizes are checked against what is actually decompressed, not
//! what the headers claim, so a zip bomb stops at the limit instead of filling memory.
//! What macOS adds to an archive it makes (`__MACOSX/`, `.DS_Store`) is not the task's and
//! is skipped.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Largest total uncompressed size of a task archive.
const MAX_ARCHIVE_BYTES: u64 = 64 << 20;
/// Most entries a task archive may hold.
const MAX_ARCHIVE_ENTRIES: usize = 10_000;

/// A task's files by path relative to the task root (`main.js`, `tests/basic.json`).
pub(crate) struct TaskFiles {
    /// The directory or archive the files came from.
    pub origin: PathBuf,
    files: BTreeMap<String, Vec<u8>>,
}

impl TaskFiles {
    pub fn read(origin: &Path) -> Result<TaskFiles> {
        let files = if origin.is_dir() { read_dir(origin)? } else { read_zip(origin)? };
        Ok(TaskFiles { origin: origin.to_path_buf(), files })
    }

    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.files.get(name).map(Vec::as_slice)
    }

    /// Files directly under `dir/` whose names end with `suffix`, sorted by name.
    pub fn list<'a>(&'a self, dir: &str, suffix: &'a str) -> impl Iterator<Item = (&'a str, &'a [u8])> + 'a {
        let prefix = format!("{dir}/");
        self.files.iter().filter_map(move |(name, bytes)| {
            let rest = name.strip_prefix(&prefix)?;
            (!rest.contains('/') && rest.ends_with(suffix)).then_some((name.as_str(), bytes.as_slice()))
        })
    }

    pub fn error(&self, file: &str, reason: impl Into<String>) -> Error {
        Error::InvalidTask { path: self.origin.clone(), file: file.to_string(), reason: reason.into() }
    }
}

/// The files a task is made of; anything else in the directory is not the task's business.
const TASK_FILES: [&str; 6] = ["metadata.json", "main.js", "input.schema.json", "input.schema", "output.schema.json", "output.schema"];

fn read_dir(root: &Path) -> Result<BTreeMap<String, Vec<u8>>> {
    let read = |path: &Path| std::fs::read(path).map_err(|e| Error::io(format!("cannot read {}", path.display()), e));
    let mut files = BTreeMap::new();
    for name in TASK_FILES {
        let path = root.join(name);
        if path.is_file() {
            files.insert(name.to_string(), read(&path)?);
        }
    }
    let tests = root.join("tests");
    for entry in std::fs::read_dir(&tests).into_iter().flatten() {
        let path = entry.map_err(|e| Error::io(format!("cannot list {}", tests.display()), e))?.path();
        if path.is_file() && path.extension().is_some_and(|ext| ext == "json") {
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            files.insert(format!("tests/{name}"), read(&path)?);
        }
    }
    Ok(files)
}

fn read_zip(path: &Path) -> Result<BTreeMap<String, Vec<u8>>> {
    let invalid = |file: &str, reason: String| Error::InvalidTask { path: path.to_path_buf(), file: file.into(), reason };
    let file = std::fs::File::open(path).map_err(|e| Error::io(format!("cannot open {}", path.display()), e))?;
    let mut archive = zip::ZipArchive::new(file).map_err(|e| invalid("(archive)", format!("not a readable zip archive: {e}")))?;
    if archive.len() > MAX_ARCHIVE_ENTRIES {
        return Err(invalid("(archive)", format!("{} entries exceed the limit of {MAX_ARCHIVE_ENTRIES}", archive.len())));
    }
    let mut files = BTreeMap::new();
    let mut budget = MAX_ARCHIVE_BYTES;
    for index in 0..archive.len() {
        let mut entry = archive.by_index(index).map_err(|e| invalid("(archive)", format!("entry {index} is unreadable: {e}")))?;
        let raw_name = entry.name().map(|name| name.to_string()).unwrap_or_else(|_| format!("entry {index}"));
        let Some(name) = entry.enclosed_name() else {
            return Err(invalid(&raw_name, "path escapes the archive root; rebuild the archive with relative paths".into()));
        };
        if entry.is_dir() || is_finder_metadata(&name) {
            continue;
        }
        let mut bytes = Vec::new();
        // Read one byte past the budget so an entry lying about its size is caught.
        (&mut entry).take(budget + 1).read_to_end(&mut bytes).map_err(|e| invalid(&raw_name, format!("cannot decompress: {e}")))?;
        if bytes.len() as u64 > budget {
            return Err(invalid(&raw_name, format!("archive decompresses to more than {} MiB; refusing it as a possible zip bomb", MAX_ARCHIVE_BYTES >> 20)));
        }
        budget -= bytes.len() as u64;
        files.insert(name.to_string_lossy().replace('\\', "/"), bytes);
    }
    Ok(strip_common_root(files))
}

/// Finder's "Compress" stores resource forks as AppleDouble files under a top-level
/// `__MACOSX/` folder, and folders carry `.DS_Store` view settings; left in, they would
/// also hide the archive's common root.
fn is_finder_metadata(name: &Path) -> bool {
    name.starts_with("__MACOSX") || name.file_name().is_some_and(|file| file == ".DS_Store")
}

/// Archives made with `zip -r task.zip task/` put everything under one folder: look inside it.
fn strip_common_root(files: BTreeMap<String, Vec<u8>>) -> BTreeMap<String, Vec<u8>> {
    if files.contains_key("metadata.json") {
        return files;
    }
    let Some(root) = files.keys().next().and_then(|name| name.split_once('/')).map(|(root, _)| format!("{root}/")) else {
        return files;
    };
    if !files.keys().all(|name| name.starts_with(&root)) {
        return files;
    }
    files.into_iter().map(|(name, bytes)| (name[root.len()..].to_string(), bytes)).collect()
}
