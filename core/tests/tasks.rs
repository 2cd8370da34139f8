//! Loading tasks: directories, zips, the registry's lookups and warnings, the watcher,
//! and the errors bad task files get.

mod support;

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use cogwork_core::task::{Registry, Task};
use cogwork_core::{runtime, Error, RunOptions};
use serde_json::json;
use support::{write_json, write_task, write_versioned_task};

fn zip_dir(dir: &Path, archive: &Path, prefix: &str) {
    let mut zip = zip::ZipWriter::new(std::fs::File::create(archive).unwrap());
    for entry in std::fs::read_dir(dir).unwrap().flatten().filter(|e| e.path().is_file()) {
        zip.start_file(format!("{prefix}{}", entry.file_name().to_string_lossy()), zip::write::SimpleFileOptions::default()).unwrap();
        zip.write_all(&std::fs::read(entry.path()).unwrap()).unwrap();
    }
    zip.finish().unwrap();
}

fn invalid_task_file(error: Error) -> (String, String) {
    match error {
        Error::InvalidTask { file, reason, .. } => (file, reason),
        other => panic!("expected InvalidTask, got {other:?}"),
    }
}

#[test]
fn sources_can_be_a_task_directory_a_zip_or_a_directory_of_tasks() {
    let root = tempfile::tempdir().unwrap();
    let many = root.path().join("many");
    write_task(&many, "one", "(input) => 1");
    write_task(&many, "two", "(input) => 2");
    let single = write_task(root.path(), "single", "(input) => 3");
    let staged = write_task(&root.path().join("staging"), "zipped", "(input) => 4");
    let archive = root.path().join("zipped.zip");
    zip_dir(&staged, &archive, "zipped/");

    let registry = Registry::load(&[many, single, archive]).unwrap();
    let labels: Vec<_> = registry.tasks().iter().map(|t| t.metadata.label.clone()).collect();
    assert_eq!(labels, ["one", "single", "two", "zipped"]);
    assert!(registry.warnings().is_empty());
}

#[test]
fn lookup_by_label_uuid_or_label_at_version_and_newest_version_wins() {
    let root = tempfile::tempdir().unwrap();
    for version in ["1.2.0", "1.10.0", "1.9.3"] {
        write_versioned_task(root.path(), &format!("v{version}"), "calc", "uuid-calc", version, "(i) => 1");
    }
    let registry = Registry::load(&[root.path().to_path_buf()]).unwrap();
    assert_eq!(registry.lookup("calc").unwrap().metadata.version, "1.10.0");
    assert_eq!(registry.lookup("uuid-calc").unwrap().metadata.version, "1.10.0");
    assert_eq!(registry.lookup("calc@1.9.3").unwrap().metadata.version, "1.9.3");
    match registry.lookup("calc@2.0.0").unwrap_err() {
        Error::TaskNotFound { hint, .. } => assert!(hint.contains("1.10.0") && hint.contains("1.2.0"), "{hint}"),
        other => panic!("{other:?}"),
    }
    match registry.lookup("other").unwrap_err() {
        Error::TaskNotFound { hint, .. } => assert!(hint.contains("calc"), "{hint}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_bare_label_resolves_to_the_release_ahead_of_its_pre_releases() {
    let root = tempfile::tempdir().unwrap();
    // The precedence example of semver.org §11, written in a shuffled order.
    let newest_first = ["1.0.0", "1.0.0-rc.1", "1.0.0-beta.11", "1.0.0-beta.2", "1.0.0-beta", "1.0.0-alpha.beta", "1.0.0-alpha.1", "1.0.0-alpha"];
    for (index, version) in newest_first.iter().rev().enumerate() {
        write_versioned_task(root.path(), &format!("v{index}"), "calc", "uuid-calc", version, "(i) => 1");
    }
    let registry = Registry::load(&[root.path().to_path_buf()]).unwrap();
    assert_eq!(registry.lookup("calc").unwrap().metadata.version, "1.0.0");
    let versions: Vec<_> = registry.tasks().iter().map(|t| t.metadata.version.clone()).collect();
    assert_eq!(versions, newest_first);
    assert_eq!(registry.lookup("calc@1.0.0-beta").unwrap().metadata.version, "1.0.0-beta");
}

#[test]
fn build_metadata_plays_no_part_in_which_version_is_newest() {
    let root = tempfile::tempdir().unwrap();
    write_versioned_task(root.path(), "a", "calc", "uuid-calc", "1.0.0+zzz", "(i) => 1");
    write_versioned_task(root.path(), "b", "calc", "uuid-calc", "1.0.1+aaa", "(i) => 1");
    let registry = Registry::load(&[root.path().to_path_buf()]).unwrap();
    assert_eq!(registry.lookup("calc").unwrap().metadata.version, "1.0.1+aaa");
    assert_eq!(registry.lookup("calc@1.0.0+zzz").unwrap().metadata.version, "1.0.0+zzz");
}

#[test]
fn a_version_that_is_not_semver_is_an_invalid_task_naming_metadata_json() {
    let root = tempfile::tempdir().unwrap();
    for version in ["1", "1.0", "v1.0.0", "01.0.0", "1.0.0-", "1.0.0-beta..1", "latest"] {
        let task = write_versioned_task(root.path(), "calc", "calc", "uuid-calc", version, "(i) => 1");
        let (file, reason) = invalid_task_file(Task::load(&task).unwrap_err());
        assert_eq!(file, "metadata.json", "{version}");
        assert!(reason.contains("semantic version") && reason.contains(version), "{version}: {reason}");
    }
}

#[test]
fn main_js_that_does_not_parse_is_an_invalid_task_naming_the_line_and_column() {
    let root = tempfile::tempdir().unwrap();
    let task = write_task(root.path(), "typo", "(input) => {\n  return input.a +* 2;\n}");
    let (file, reason) = invalid_task_file(Task::load(&task).unwrap_err());
    assert_eq!(file, "main.js");
    assert!(reason.starts_with("SyntaxError") && reason.contains("line 2, col 19"), "{reason}");

    // Unclosed to the end, where the parser itself gives no position.
    for unclosed in ["(input) => {\n  return 1;\n", "(input) => {\n  return `total:\n"] {
        std::fs::write(task.join("main.js"), unclosed).unwrap();
        let (file, reason) = invalid_task_file(Task::load(&task).unwrap_err());
        assert_eq!(file, "main.js");
        assert!(reason.contains("line 3, col 1, the end of main.js"), "{reason}");
    }
}

#[test]
fn an_engine_refuses_to_open_with_a_task_whose_main_js_does_not_parse() {
    let root = tempfile::tempdir().unwrap();
    write_task(root.path(), "fine", "(input) => 1");
    write_task(root.path(), "typo", "(input) => { return ;; }}");
    let error = runtime::block_on(cogwork_core::Engine::open(support::options(root.path(), 1))).err().expect("the engine refuses the task");
    let (file, reason) = invalid_task_file(error);
    assert_eq!(file, "main.js");
    assert!(reason.contains("line 1, col 25"), "{reason}");
}

#[test]
fn the_same_uuid_and_version_in_two_places_is_a_warning_naming_both_paths() {
    let root = tempfile::tempdir().unwrap();
    let first = write_versioned_task(&root.path().join("a"), "dup", "dup", "uuid-dup", "1.0.0", "(i) => 'first'");
    let second = write_versioned_task(&root.path().join("b"), "dup", "dup", "uuid-dup", "1.0.0", "(i) => 'second'");
    let registry = Registry::load(&[first.clone(), second.clone()]).unwrap();
    let warning = &registry.warnings()[0];
    assert!(warning.contains(&first.display().to_string()) && warning.contains(&second.display().to_string()), "{warning}");
    assert_eq!(registry.lookup("dup").unwrap().origin, first);
}

#[test]
fn bad_task_files_are_named_with_the_cause() {
    let root = tempfile::tempdir().unwrap();
    let task = write_task(root.path(), "broken", "(i) => 1");

    std::fs::write(task.join("metadata.json"), "{\"uuid\": ").unwrap();
    let (file, reason) = invalid_task_file(Task::load(&task).unwrap_err());
    assert_eq!(file, "metadata.json");
    assert!(reason.contains("EOF"), "{reason}");

    write_json(&task.join("metadata.json"), &json!({"uuid": "u", "version": "1.0.0"}));
    let (_, reason) = invalid_task_file(Task::load(&task).unwrap_err());
    assert!(reason.contains("label"), "{reason}");

    write_json(&task.join("metadata.json"), &json!({"uuid": "u", "version": "1.0.0", "label": "broken"}));
    write_json(&task.join("input.schema.json"), &json!({"type": "no-such-type"}));
    let (file, reason) = invalid_task_file(Task::load(&task).unwrap_err());
    assert_eq!(file, "input.schema.json");
    assert!(reason.contains("not a valid JSON Schema"), "{reason}");

    std::fs::remove_file(task.join("input.schema.json")).unwrap();
    std::fs::remove_file(task.join("main.js")).unwrap();
    let (file, _) = invalid_task_file(Task::load(&task).unwrap_err());
    assert_eq!(file, "main.js");
}

#[test]
fn a_zip_entry_escaping_the_archive_root_is_refused() {
    let root = tempfile::tempdir().unwrap();
    let archive = root.path().join("evil.zip");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&archive).unwrap());
    zip.start_file("../../etc/evil.js", zip::write::SimpleFileOptions::default()).unwrap();
    zip.write_all(b"x").unwrap();
    zip.finish().unwrap();
    let (file, reason) = invalid_task_file(Task::load(&archive).unwrap_err());
    assert_eq!(file, "../../etc/evil.js");
    assert!(reason.contains("escapes"), "{reason}");
}

#[test]
fn a_zip_made_on_macos_loads_without_its_finder_metadata() {
    let root = tempfile::tempdir().unwrap();
    let staged = write_task(root.path(), "mac", "(input) => 'from a Mac'");
    let archive = root.path().join("mac.zip");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&archive).unwrap());
    let options = zip::write::SimpleFileOptions::default();
    // What Finder's "Compress" writes: the folder, its files, .DS_Store, and AppleDouble
    // companions under a second top-level folder, __MACOSX/.
    zip.add_directory("mac/", options).unwrap();
    for name in ["metadata.json", "main.js"] {
        zip.start_file(format!("mac/{name}"), options).unwrap();
        zip.write_all(&std::fs::read(staged.join(name)).unwrap()).unwrap();
    }
    for (name, bytes) in [("mac/.DS_Store", &b"\0\0\0\x01Bud1"[..]), ("__MACOSX/mac/._main.js", b"\0\x05\x16\x07"), ("__MACOSX/._mac", b"\0\x05\x16\x07")] {
        zip.start_file(name, options).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap();

    let task = Task::load(&archive).unwrap();
    assert_eq!(task.name(), "mac@1.0.0");
    let registry = Registry::load(&[archive]).unwrap();
    assert_eq!(registry.lookup("mac").unwrap().metadata.label, "mac");
}

#[test]
fn a_zip_bomb_stops_at_the_size_limit() {
    let root = tempfile::tempdir().unwrap();
    let archive = root.path().join("bomb.zip");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&archive).unwrap());
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    zip.start_file("main.js", options).unwrap();
    let zeros = vec![b' '; 1 << 20];
    for _ in 0..80 {
        zip.write_all(&zeros).unwrap();
    }
    zip.finish().unwrap();
    assert!(std::fs::metadata(&archive).unwrap().len() < 1 << 20, "the archive itself is small");
    let (file, reason) = invalid_task_file(Task::load(&archive).unwrap_err());
    assert_eq!(file, "main.js");
    assert!(reason.contains("zip bomb"), "{reason}");
}

#[test]
fn a_watched_task_is_reloaded_after_its_main_js_changes() {
    let root = tempfile::tempdir().unwrap();
    let task = write_task(root.path(), "live", "(input) => ({version: 1})");
    runtime::block_on(async {
        let engine = cogwork_core::Engine::open(support::options(root.path(), 1).watch(true)).await.unwrap();
        assert_eq!(engine.run("live", json!({}), RunOptions::default()).await.unwrap().output, json!({"version": 1}));
        std::fs::write(task.join("main.js"), "(input) => ({version: 2})").unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let output = engine.run("live", json!({}), RunOptions::default()).await.unwrap().output;
            if output == json!({"version": 2}) {
                break;
            }
            assert!(Instant::now() < deadline, "the change was not picked up");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        engine.close().await;
    });
}
