//! Compiles `tests/c/abi_layout.c` (static assertions of upstream sizes,
//! offsets and numbers) against `vendor-headers/` for both the 2.8 and the 2.6
//! version header, with the C compiler itself, so the headers are checked as
//! C and independently of which headers this build of daos-sys bound.

use std::path::{Path, PathBuf};
use std::process::Command;

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn compile_and_run(extra_include: Option<&Path>, name: &str) {
    let root = manifest_dir();
    let vendor = root.join("vendor-headers");
    let out_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let exe = out_dir.join(name);
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_owned());

    let mut cmd = Command::new(&cc);
    cmd.args(["-std=c11", "-Wall", "-Wextra", "-Werror"]);
    if let Some(dir) = extra_include {
        cmd.arg("-I").arg(dir);
    }
    cmd.arg("-I")
        .arg(&vendor)
        .arg(root.join("tests/c/abi_layout.c"))
        .arg("-o")
        .arg(&exe);
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cc}: {e}"));
    assert!(
        out.status.success(),
        "{cc} rejected the vendor headers ({name}):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let status = Command::new(&exe).status().expect("run abi_layout");
    assert!(status.success());
}

#[test]
fn vendor_headers_match_the_2_8_abi() {
    compile_and_run(None, "abi_layout_2_8");
}

#[test]
fn vendor_headers_match_the_2_6_abi() {
    let v26 = manifest_dir().join("vendor-headers/v2.6");
    compile_and_run(Some(&v26), "abi_layout_2_6");
}

#[test]
fn version_headers_name_their_api() {
    let read = |p: &str| std::fs::read_to_string(manifest_dir().join(p)).expect(p);
    let v28 = read("vendor-headers/daos_version.h");
    let v26 = read("vendor-headers/v2.6/daos_version.h");
    assert!(v28.contains("#define DAOS_API_VERSION_MINOR 8"));
    assert!(v26.contains("#define DAOS_API_VERSION_MINOR 7"));
    assert!(v26.contains("#define DAOS_VERSION_MINOR 6"));
}
