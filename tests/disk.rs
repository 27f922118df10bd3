//! The state dir on a full or read-only filesystem: a clear error, and a store that opens
//! afterwards with everything it acknowledged. Uses a small tmpfs, so it needs root: the tests
//! are ignored by a plain `cargo test`, and `.ci/run` runs them (`-- --ignored`) where it is
//! root. Asked to run, a test that cannot mount fails.

mod common;

use common::{Workdir, stderr, stdout};
use std::path::Path;
use std::process::Command;

/// Mounts a tmpfs of `size` on `dir`.
fn mount(dir: &Path, size: &str) {
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(dir)
        .status();
    assert!(
        mounted.is_ok_and(|s| s.success()),
        "cannot mount a tmpfs on {} (this test needs root)",
        dir.display()
    );
}

fn remount(dir: &Path, opts: &str) {
    let ok = Command::new("mount")
        .args(["-o", &format!("remount,{opts}")])
        .arg(dir)
        .status();
    assert!(ok.is_ok_and(|s| s.success()), "remount {opts}");
}

struct Unmount<'a>(&'a Path);

impl Drop for Unmount<'_> {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.0).status();
    }
}

fn archive(records: usize) -> String {
    (0..records)
        .map(|i| {
            format!(
                "-\n标题{i}\n{}第{i}篇。\n2025-07-02\n",
                "招商引资正文内容".repeat(30)
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs root to mount a tmpfs; .ci/run runs it where it is root"]
async fn full_disk_gives_a_clear_error_and_no_corrupt_store() {
    let w = Workdir::new(None, "0 8 * * *", "");
    let state = w.path().join("state");
    std::fs::create_dir_all(&state).expect("state dir");
    mount(&state, "600k");
    let _guard = Unmount(&state);
    let input = archive(3000);
    let full = w
        .run_with_stdin(&["backfill", "-"], Some(input.as_bytes()))
        .await;
    assert_eq!(full.status.code(), Some(1), "{}", stdout(&full));
    assert!(
        stderr(&full).contains("No space left on device"),
        "{}",
        stderr(&full)
    );
    assert!(!stderr(&full).contains("panicked"));

    remount(&state, "size=32m");
    let export = w.run(&["export"]).await;
    assert!(
        export.status.success(),
        "store opens after the full disk: {}",
        stderr(&export)
    );
    let kept = stdout(&export).matches("\n2025-07-02\n").count();
    let again = w
        .run_with_stdin(&["backfill", "-"], Some(input.as_bytes()))
        .await;
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(
        stdout(&again).contains(&format!("{} imported, {kept} duplicate", 3000 - kept)),
        "{} after {kept}",
        stdout(&again)
    );
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs root to mount a tmpfs; .ci/run runs it where it is root"]
async fn read_only_state_dir_gives_a_clear_error() {
    let w = Workdir::new(None, "0 8 * * *", "");
    let state = w.path().join("state");
    std::fs::create_dir_all(&state).expect("state dir");
    mount(&state, "16m");
    let _guard = Unmount(&state);
    let first = w
        .run_with_stdin(&["backfill", "-"], Some(archive(5).as_bytes()))
        .await;
    assert!(first.status.success(), "{}", stderr(&first));
    remount(&state, "ro");
    let refused = w
        .run_with_stdin(&["backfill", "-"], Some(archive(8).as_bytes()))
        .await;
    assert_eq!(refused.status.code(), Some(1));
    let err = stderr(&refused);
    assert!(
        err.contains("Read-only file system") && err.contains("state"),
        "{err}"
    );
    remount(&state, "rw");
    let export = w.run(&["export"]).await;
    assert_eq!(
        stdout(&export).matches("\n2025-07-02\n").count(),
        5,
        "the acknowledged records are intact"
    );
}
