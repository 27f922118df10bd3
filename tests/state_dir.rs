//! `state_dir` that cannot hold the store — empty, the filesystem root, a regular file, a folder
//! of someone's files, their own `db/` folder — is refused by `validate` and by every command
//! before anything starts (exit 2, naming the file, line and key), and nothing is written there.

mod common;

use common::{Workdir, stderr};
use std::collections::BTreeSet;
use std::path::Path;

fn config(state_dir: Option<&str>) -> String {
    let key = state_dir.map_or(String::new(), |d| format!("state_dir = \"{d}\"\n"));
    format!("[settings]\n{key}timezone = \"Asia/Shanghai\"\n")
}

fn listing(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// `validate`, `backfill` and `run` on `w` each exit 2 with `want` in their message.
async fn refused(w: &Workdir, want: &str) {
    let archive = "-\n标题\n正文。\n2025-07-02\n";
    for args in [&["validate"][..], &["backfill", "-"], &["run"]] {
        let out = w.run_with_stdin(args, Some(archive.as_bytes())).await;
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: want {want:?} in {err}");
    }
}

#[tokio::test]
async fn empty_and_root_state_dirs_are_refused() {
    let w = Workdir::raw(&config(Some("")));
    refused(
        &w,
        "sources.toml:2: [settings] state_dir: must name a folder for the store",
    )
    .await;
    let w = Workdir::raw(&config(Some("/")));
    refused(
        &w,
        "sources.toml:2: [settings] state_dir: \"/\" is the filesystem root",
    )
    .await;
    assert_eq!(
        listing(w.path()),
        BTreeSet::from(["sources.toml".to_owned()])
    );
}

#[tokio::test]
async fn a_file_or_someone_elses_folder_is_refused_and_left_alone() {
    // A regular file.
    let w = Workdir::raw(&config(Some("notes.txt")));
    std::fs::write(w.path().join("notes.txt"), "mine").expect("file");
    refused(&w, "sources.toml:2: [settings] state_dir: state dir").await;
    refused(&w, "notes.txt exists and is not a folder").await;
    assert_eq!(
        std::fs::read_to_string(w.path().join("notes.txt"))
            .ok()
            .as_deref(),
        Some("mine")
    );

    // A folder of other files, named by the default `state`.
    let w = Workdir::raw(&config(None));
    let state = w.path().join("state");
    std::fs::create_dir(&state).expect("dir");
    std::fs::write(state.join("thesis.docx"), "x").expect("file");
    refused(&w, "sources.toml:1: [settings] state_dir:").await;
    refused(&w, "holds other files (thesis.docx), not a newswatch store").await;
    assert_eq!(listing(&state), BTreeSet::from(["thesis.docx".to_owned()]));

    // The user's own `db/` folder inside the state dir.
    let w = Workdir::raw(&config(Some("work")));
    let db = w.path().join("work").join("db");
    std::fs::create_dir_all(&db).expect("dir");
    std::fs::write(db.join("customers.csv"), "a,b").expect("file");
    refused(&w, "a `db` folder with other files (customers.csv)").await;
    assert_eq!(listing(&db), BTreeSet::from(["customers.csv".to_owned()]));
}

#[tokio::test]
async fn a_store_of_its_own_passes() {
    let w = Workdir::raw(&config(Some("state")));
    let archive = "-\n标题\n正文。\n2025-07-02\n";
    let first = w
        .run_with_stdin(&["backfill", "-"], Some(archive.as_bytes()))
        .await;
    assert!(first.status.success(), "{}", stderr(&first));
    let again = w.run(&["validate"]).await;
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(listing(&w.path().join("state")).contains("db"));
}
