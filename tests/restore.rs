//! Backup and restore on real stores, through the binary: ids are never reused after a restore,
//! and a restore is all or nothing, checked line by line, with errors naming the file and line.

mod common;

use common::{Workdir, stderr, stdout};
use std::collections::BTreeSet;
use std::path::Path;

const CONFIG: &str = "[settings]\nstate_dir = \"state\"\n";

/// An archive of `n` records whose titles start with `tag`.
fn archive(tag: &str, n: usize) -> String {
    (0..n)
        .map(|i| {
            format!(
                "-\n{tag}第{i}号文章\n{tag}的第{i}篇正文，讲招商引资。\n2025-07-0{}\n",
                i % 9 + 1
            )
        })
        .collect()
}

async fn backfill(w: &Workdir, text: &str) -> String {
    let out = w
        .run_with_stdin(&["backfill", "-"], Some(text.as_bytes()))
        .await;
    assert!(out.status.success(), "backfill: {}", stderr(&out));
    stdout(&out)
}

/// `(id, title)` of every stored article.
async fn exported(w: &Workdir) -> Vec<(u64, String)> {
    let out = w.run(&["export", "--format", "jsonl"]).await;
    assert!(out.status.success(), "export: {}", stderr(&out));
    stdout(&out)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("jsonl");
            (
                v["id"].as_u64().expect("id"),
                v["title"].as_str().expect("title").to_owned(),
            )
        })
        .collect()
}

/// A store written in three runs (each run a separate process), and its backup file.
async fn three_runs_and_a_backup(w: &Workdir) -> std::path::PathBuf {
    for tag in ["甲", "乙", "丙"] {
        backfill(w, &archive(tag, 4)).await;
    }
    let file = w.path().join("state.backup");
    let out = w.run(&["backup", &file.to_string_lossy()]).await;
    assert!(out.status.success(), "backup: {}", stderr(&out));
    file
}

#[tokio::test]
async fn restored_articles_survive_new_imports() {
    let original = Workdir::raw(CONFIG);
    let file = three_runs_and_a_backup(&original).await;
    let before = exported(&original).await;
    assert_eq!(before.len(), 12);

    let copy = Workdir::raw(CONFIG);
    let out = copy.run(&["restore", &file.to_string_lossy()]).await;
    assert!(out.status.success(), "restore: {}", stderr(&out));
    // New articles after the restore, in two more runs.
    backfill(&copy, &archive("丁", 4)).await;
    backfill(&copy, &archive("戊", 4)).await;

    let after = exported(&copy).await;
    let titles: BTreeSet<&str> = after.iter().map(|(_, t)| t.as_str()).collect();
    for (_, title) in &before {
        assert!(
            titles.contains(title.as_str()),
            "restored {title} is still there: {after:?}"
        );
    }
    assert_eq!(after.len(), 20, "12 restored + 8 new: {after:?}");
    let ids: BTreeSet<u64> = after.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids.len(), 20, "no id used twice: {after:?}");
    // Re-importing the restored records finds each one, under its own id and text.
    let again = backfill(&copy, &archive("甲", 4)).await;
    assert!(again.contains("0 imported, 4 duplicate"), "{again}");
    assert_eq!(exported(&copy).await, after, "a duplicate changes nothing");
}

/// The state dir's entries (nothing, when it does not exist).
fn entries(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Restores `text` (as a file named `name`) into `w`; returns (exit code, stderr).
async fn restore(w: &Workdir, name: &str, text: &[u8]) -> (Option<i32>, String) {
    let file = w.path().join(name);
    std::fs::write(&file, text).expect("write backup");
    let out = w.run(&["restore", &file.to_string_lossy()]).await;
    (out.status.code(), stderr(&out))
}

#[tokio::test]
async fn a_bad_backup_leaves_nothing_behind_and_names_its_line() {
    let original = Workdir::raw(CONFIG);
    let file = three_runs_and_a_backup(&original).await;
    let good = std::fs::read_to_string(&file).expect("backup");
    let lines: Vec<&str> = good.lines().collect();
    assert!(lines.len() > 20, "{} lines", lines.len());
    let article_line = lines
        .iter()
        .position(|l| l.contains(r#""tree":"articles""#))
        .expect("an article line");

    let cut_mid_line = &good[..good.len() / 2];
    let cut_at_line = lines[..lines.len() - 5].join("\n") + "\n";
    let garbage = {
        let mut l = lines.clone();
        let entry: serde_json::Value = serde_json::from_str(l[article_line]).expect("entry");
        let bad = serde_json::json!({
            "tree": "articles",
            "key": entry["key"],
            "value": "e25vdCBqc29u", // "{not json"
        })
        .to_string();
        l[article_line] = &bad;
        l.join("\n") + "\n"
    };
    let newer_file = good.replacen(r#""newswatch_backup":2"#, r#""newswatch_backup":9"#, 1);
    let newer_store = good.replacen(
        &format!(r#""format_version":{}"#, newswatch::store::FORMAT_VERSION),
        r#""format_version":99"#,
        1,
    );

    let w = Workdir::raw(CONFIG);
    let state = w.path().join("state");
    let cases: [(&str, &[u8], String); 5] = [
        (
            "cut.backup",
            cut_mid_line.as_bytes(),
            format!("cut.backup:{}", cut_mid_line.lines().count()),
        ),
        (
            "short.backup",
            cut_at_line.as_bytes(),
            "short.backup: the file ends after line".into(),
        ),
        (
            "garbage.backup",
            garbage.as_bytes(),
            format!("garbage.backup:{}: articles entry", article_line + 1),
        ),
        (
            "newer.backup",
            newer_file.as_bytes(),
            "newer.backup:1: backup file format 9 is newer".into(),
        ),
        (
            "future.backup",
            newer_store.as_bytes(),
            "future.backup:1: written by a newer newswatch (store format 99)".into(),
        ),
    ];
    for (name, text, blame) in &cases {
        let (code, err) = restore(&w, name, text).await;
        assert_eq!(code, Some(1), "{name}: {err}");
        assert!(
            err.contains(blame.as_str()),
            "{name}: want {blame:?} in {err}"
        );
        assert!(
            !err.contains("store damaged"),
            "{name}: the file is at fault: {err}"
        );
        assert!(
            entries(&state).is_empty(),
            "{name}: nothing left behind: {:?}",
            entries(&state)
        );
    }
    // A state dir that already holds an empty store keeps it through a failed restore.
    assert!(w.run(&["export"]).await.status.success());
    assert_eq!(entries(&state), BTreeSet::from(["db".to_owned()]));
    let (code, _) = restore(&w, "cut.backup", cut_mid_line.as_bytes()).await;
    assert_eq!(code, Some(1));
    assert_eq!(entries(&state), BTreeSet::from(["db".to_owned()]));

    // The retry with the whole file works, and gives back every article.
    let (code, err) = restore(&w, "good.backup", good.as_bytes()).await;
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(exported(&w).await, exported(&original).await);
    assert_eq!(entries(&state), BTreeSet::from(["db".to_owned()]));
}
