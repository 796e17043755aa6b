//! Links a program against a DAOS install the way issue 9 found one: libdaos.so
//! names only libdaos_common in DT_NEEDED and takes `crt_progress` from
//! libcart, which arrives through libdaos_common at run time. rustc's default
//! linker on x86_64 Linux (rust-lld) rejects such a library unless the
//! provider is on the link line, which is daos-sys's job.
//!
//! No DAOS is needed: the test builds a tiny fake install with the C compiler
//! (libraries plus the vendor headers) and a throwaway crate that depends on
//! this one by path, builds it with `DAOS_DIR` set, and runs it. The fake
//! libraries live in a prefix outside the loader's path, like /opt/daos.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

fn cc(args: &[&str], cwd: &Path) {
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_owned());
    let out = run(Command::new(&cc).args(args).current_dir(cwd));
    assert!(
        out.status.success(),
        "{cc} {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A library `lib<name>.so` in `dir` built from `source` and linked against
/// `needs` (`-l` arguments). With `run_time_only`, the file and soname are
/// `lib<name>.so.1` and there is no `lib<name>.so`, as on a node without the
/// development package.
fn shared_lib(dir: &Path, name: &str, source: &str, needs: &[&str], run_time_only: bool) {
    let c = format!("{name}.c");
    fs::write(dir.join(&c), source).expect("write C source");
    let file = if run_time_only {
        format!("lib{name}.so.1")
    } else {
        format!("lib{name}.so")
    };
    let _ = fs::remove_file(dir.join(format!("lib{name}.so")));
    let soname = format!("-Wl,-soname,{file}");
    let mut args = vec![
        "-shared",
        "-fPIC",
        "-o",
        &file,
        &c,
        &soname,
        "-L.",
        "-Wl,--no-as-needed",
    ];
    args.extend(needs.iter().copied());
    cc(&args, dir);
}

/// The fake install: `<prefix>/include` holds the vendor headers (2.8 API),
/// `<prefix>/lib64` the libraries, with libdaos under-linked as upstream's.
fn fake_install(prefix: &Path, with_libdaos: bool) {
    let include = prefix.join("include");
    let lib = prefix.join("lib64");
    fs::create_dir_all(&include).expect("mkdir include");
    fs::create_dir_all(&lib).expect("mkdir lib64");
    for entry in fs::read_dir(manifest_dir().join("vendor-headers")).expect("vendor-headers") {
        let path = entry.expect("dir entry").path();
        if path.extension().is_some_and(|e| e == "h") {
            fs::copy(&path, include.join(path.file_name().expect("file name")))
                .expect("copy header");
        }
    }
    // The libraries libdaos leans on: one only as a run-time .so.1 (linked by
    // file name), one with its development link.
    shared_lib(
        &lib,
        "cart",
        "int crt_progress(void *ctx, long timeout) { (void)ctx; return (int)timeout + 7; }\n",
        &[],
        true,
    );
    shared_lib(
        &lib,
        "isal",
        "int ec_encode_data(int len) { return len * 2; }\n",
        &[],
        false,
    );
    shared_lib(
        &lib,
        "daos_common",
        "int crt_progress(void *, long);\nint ec_encode_data(int);\n\
         int daos_common_ready(void) { return crt_progress(0, 0) == 7 && ec_encode_data(1) == 2; }\n",
        &["-l:libcart.so.1", "-lisal"],
        false,
    );
    shared_lib(
        &lib,
        "gurt",
        "int d_hlc_ready(void) { return 1; }\n",
        &[],
        false,
    );
    if !with_libdaos {
        return;
    }
    // crt_progress and ec_encode_data are used, but only libdaos_common is
    // linked: the upstream defect.
    shared_lib(
        &lib,
        "daos",
        "int crt_progress(void *, long);\nint ec_encode_data(int);\nint daos_common_ready(void);\n\
         int daos_init(void) {\n\
             return daos_common_ready() && crt_progress(0, 35) == 42 && ec_encode_data(3) == 6\n\
                 ? 0 : -1003;\n\
         }\n\
         int daos_fini(void) { return 0; }\n",
        &["-ldaos_common"],
        false,
    );
    shared_lib(
        &lib,
        "dfs",
        "int dfs_init(void) { return 0; }\n",
        &["-ldaos"],
        false,
    );
    shared_lib(
        &lib,
        "duns",
        "int duns_ready(void) { return 1; }\n",
        &["-ldaos"],
        false,
    );
}

/// A crate outside the workspace that calls `daos_init` through daos-sys.
fn probe_crate(dir: &Path) {
    fs::create_dir_all(dir.join("src")).expect("mkdir probe");
    let manifest = format!(
        "[package]\nname = \"daos-sys-link-probe\"\nversion = \"0.0.0\"\nedition = \"2024\"\n\
         publish = false\n\n[dependencies]\ndaos-sys = {{ path = {:?} }}\n\n[workspace]\n",
        manifest_dir().display().to_string()
    );
    fs::write(dir.join("Cargo.toml"), manifest).expect("write probe manifest");
    fs::write(
        dir.join("src/main.rs"),
        "fn main() {\n    // SAFETY: the fake daos_init takes no arguments and touches nothing of ours.\n    \
         let rc = unsafe { daos_sys::daos_init() };\n    println!(\"daos_init={rc}\");\n    \
         std::process::exit(if rc == 0 { 0 } else { 1 });\n}\n",
    )
    .expect("write probe main");
    // The workspace's (or the packaged crate's) lock file pins the same bindgen,
    // so nothing new is resolved and the build works offline.
    let lock = [
        manifest_dir().join("../Cargo.lock"),
        manifest_dir().join("Cargo.lock"),
    ]
    .into_iter()
    .find(|p| p.is_file())
    .expect("a Cargo.lock beside or above daos-sys");
    fs::copy(lock, dir.join("Cargo.lock")).expect("copy lock");
}

/// `cargo build` of the probe against `prefix`, with the default linker.
fn build_probe(probe: &Path, prefix: &Path) -> Output {
    let cargo = std::env::var("CARGO")
        .ok()
        .or_else(|| option_env!("CARGO").map(str::to_owned))
        .unwrap_or_else(|| "cargo".to_owned());
    // One target dir for every probe, so bindgen is compiled once.
    run(Command::new(cargo)
        .args(["build", "--offline"])
        .current_dir(probe)
        .env("DAOS_DIR", prefix)
        .env("CARGO_TARGET_DIR", scratch("link-probe-target"))
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("DAOS_VENDOR_VERSION")
        .env_remove("LD_LIBRARY_PATH"))
}

#[test]
fn default_linker_rejects_the_fake_install_on_its_own() {
    // The premise: the fake install reproduces issue 9 with the plain toolchain,
    // so the next test passing is daos-sys's doing.
    let root = scratch("link-premise");
    let prefix = root.join("daos");
    fake_install(&prefix, true);
    let main = root.join("main.rs");
    fs::write(
        &main,
        "unsafe extern \"C\" { fn daos_init() -> i32; }\n\
         fn main() { println!(\"{}\", unsafe { daos_init() }); }\n",
    )
    .expect("write main.rs");
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let out = run(Command::new(rustc)
        .arg("--edition=2024")
        .arg(&main)
        .arg("-o")
        .arg(root.join("premise"))
        .arg("-L")
        .arg(prefix.join("lib64"))
        .args(["-l", "daos", "-l", "daos_common"]));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("crt_progress"),
        "expected the default linker to refuse libdaos.so's undefined crt_progress, got \
         status {:?}:\n{stderr}",
        out.status
    );
}

#[test]
fn a_binary_links_and_runs_against_an_under_linked_install() {
    let root = scratch("link-install");
    let prefix = root.join("daos");
    fake_install(&prefix, true);
    let probe = root.join("probe");
    probe_crate(&probe);

    let out = build_probe(&probe, &prefix);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the probe did not build against the fake install:\n{stderr}"
    );
    // Which headers were bound is information, not a warning.
    assert!(!stderr.contains("daos-sys: using"), "{stderr}");
    // The libraries are outside the loader's path, and the build says so.
    assert!(
        stderr.contains("not on the dynamic loader's path"),
        "no word about the loader path:\n{stderr}"
    );

    let lib = prefix.join("lib64");
    let exe = scratch("link-probe-target").join("debug/daos-sys-link-probe");
    let ran = run(Command::new(&exe).env("LD_LIBRARY_PATH", &lib));
    assert_eq!(
        String::from_utf8_lossy(&ran.stdout).trim(),
        "daos_init=0",
        "stderr: {}",
        String::from_utf8_lossy(&ran.stderr)
    );
    assert!(ran.status.success());
}

#[test]
fn a_daos_dir_without_libdaos_is_refused() {
    let root = scratch("link-no-libdaos");
    let prefix = root.join("daos");
    // Headers and some libraries, but no libdaos.so: the lib dir exists, which
    // used to be enough.
    let _ = fs::remove_file(prefix.join("lib64/libdaos.so"));
    fake_install(&prefix, false);
    let probe = root.join("probe");
    probe_crate(&probe);

    let out = build_probe(&probe, &prefix);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "built without libdaos.so:\n{stderr}");
    assert!(
        stderr.contains("is not a DAOS install: no libdaos.so in"),
        "unexpected failure:\n{stderr}"
    );
}
