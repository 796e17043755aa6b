//! Finds the DAOS headers (and, for a real install, the libraries), runs
//! bindgen over them and tells dependents which DAOS API version they got.
//!
//! Order of preference, as libgit2-sys does for libgit2:
//! 1. feature `emulator`: always `vendor-headers/` (the emulator implements
//!    exactly that ABI) and no system library is linked;
//! 2. `DAOS_DIR` (with `include/daos.h` and `libdaos.so` in `lib64/` or `lib/`);
//! 3. the usual prefixes `/usr` and `/opt/daos`;
//! 4. otherwise `vendor-headers/` without a library (docs.rs, `cargo publish`'s
//!    verification build); a binary then fails to link, and the build says why.
//!
//! The choice is written to `$OUT_DIR/daos-sys-source.txt` and printed on the
//! build script's stdout (`cargo build -vv`); cargo warnings are kept for what
//! needs the user's attention.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Prefixes searched when `DAOS_DIR` is not set.
const DEFAULT_PREFIXES: &[&str] = &["/usr", "/opt/daos"];

/// Libraries a binary calling libdaos, libdfs and libduns directly must name:
/// modern `ld` does not resolve symbols through another library's DT_NEEDED.
const DAOS_LIBS: &[&str] = &["daos", "daos_common", "gurt", "dfs", "duns", "uuid"];

/// Libraries whose symbols libdaos.so uses without naming them in its
/// DT_NEEDED (it names only libdaos_common and libnuma; src/client/api/SConscript,
/// src/common/SConscript): crt_* (libcart), ec_*/isal_* (libisal,
/// libisal_crypto), protobuf_c_* (libprotobuf-c), LZ4_* (liblz4). At run time
/// they arrive through libdaos_common, but a linker that checks a shared
/// library's undefined symbols (rust-lld, the default on x86_64 Linux, with
/// its --no-allow-shlib-undefined) only sees the libraries on the command line.
/// Linking them as dylibs reaches every binary that depends on daos-sys.
const PROVIDER_LIBS: &[&str] = &["cart", "isal", "isal_crypto", "protobuf-c", "lz4", "numa"];

/// Of [`PROVIDER_LIBS`], the ones every DAOS client install has: not finding
/// one of them means the link will likely fail, which deserves a warning.
const ESSENTIAL_PROVIDERS: &[&str] = &["cart", "isal", "isal_crypto", "protobuf-c"];

/// Directories the dynamic loader and the linker search without being told;
/// 64-bit ones first, since /usr/lib holds 32-bit libraries on some systems.
const SYSTEM_LIB_DIRS: &[&str] = &["/usr/lib64", "/lib64", "/usr/lib", "/lib"];

/// Also searched for providers, but passed to the linker with `-L` (it does
/// not always look there by itself).
const LOCAL_LIB_DIRS: &[&str] = &["/usr/local/lib64", "/usr/local/lib"];

const ALLOWLIST: &str = "daos_.*|dfs_.*|duns_.*|d_.*|DAOS_.*|DFS_.*|DUNS_.*|DER_.*|DPI_.*|D_.*";
/// Items outside the common prefixes that the API needs by name.
const EXTRA_ALLOWLIST: &str = "DRS_.*|OC_UNKNOWN|MAX_OBJ_CLASS_NAME_LEN|NUM_DAOS_ACL_TYPES|uuid_t";

/// Where the headers come from.
enum HeaderSource {
    /// Our own declarations; `version_dir` is `vendor-headers/v2.6` when asked for.
    Vendor {
        root: PathBuf,
        version_dir: Option<PathBuf>,
        why: VendorReason,
    },
    /// A DAOS installation found on this machine.
    Installed {
        prefix: PathBuf,
        include: PathBuf,
        lib: PathBuf,
    },
}

/// Why the vendor headers were bound.
#[derive(Clone, Copy, PartialEq)]
enum VendorReason {
    Emulator,
    DocsRs,
    NoInstall,
}

impl HeaderSource {
    /// Include directories, most specific first.
    fn include_dirs(&self) -> Vec<PathBuf> {
        match self {
            HeaderSource::Vendor {
                root, version_dir, ..
            } => version_dir.iter().cloned().chain([root.clone()]).collect(),
            HeaderSource::Installed { include, .. } => vec![include.clone()],
        }
    }

    fn main_include_dir(&self) -> &Path {
        match self {
            HeaderSource::Vendor { root, .. } => root,
            HeaderSource::Installed { include, .. } => include,
        }
    }
}

/// The numbers of `daos_version.h`.
struct DaosVersion {
    api: (u32, u32, u32),
    package: Option<(u32, u32, u32)>,
}

impl DaosVersion {
    /// The `daos_api_*` cfg name and the `api_version` metadata value.
    /// API 2.7 is what every 2.6.x release reports; 2.8 and later (master is
    /// 2.9) keep the 2.8 ABI for the subset we use.
    fn api_flavour(&self) -> (&'static str, &'static str) {
        match self.api {
            (2, 7, _) => ("daos_api_2_6", "2.6"),
            (2, minor, _) if minor >= 8 => ("daos_api_2_8", "2.8"),
            (major, minor, fix) => panic!(
                "daos-sys: DAOS API {major}.{minor}.{fix} is not supported; \
                 daos-sys supports DAOS 2.6 (API 2.7) and 2.8 (API 2.8)"
            ),
        }
    }
}

fn main() {
    println!("cargo::rerun-if-env-changed=DAOS_DIR");
    println!("cargo::rerun-if-env-changed=DAOS_VENDOR_VERSION");
    println!("cargo::rerun-if-env-changed=DOCS_RS");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rustc-check-cfg=cfg(daos_api_2_6)");
    println!("cargo::rustc-check-cfg=cfg(daos_api_2_8)");

    let manifest_dir =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    // A symlink to the workspace's vendor-headers/, so that the published
    // crate carries the headers too.
    let vendor_root = manifest_dir.join("vendor-headers");
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));

    let source = choose_source(&vendor_root);
    let version = read_version(&source);
    let (cfg, api) = version.api_flavour();

    report_choice(&source, &version, &out_dir);
    generate_bindings(&source, &vendor_root, &out_dir);
    link(&source);

    println!("cargo::rustc-cfg={cfg}");
    println!("cargo::metadata=api_version={api}");
    println!(
        "cargo::metadata=include={}",
        source.main_include_dir().display()
    );
    if let HeaderSource::Vendor {
        version_dir: Some(dir),
        ..
    } = &source
    {
        println!("cargo::metadata=version_include={}", dir.display());
    }
    if let Some((major, minor, fix)) = version.package {
        println!("cargo::metadata=daos_version={major}.{minor}.{fix}");
    }
}

fn choose_source(vendor_root: &Path) -> HeaderSource {
    if env::var_os("CARGO_FEATURE_EMULATOR").is_some() {
        return vendor_source(vendor_root, VendorReason::Emulator);
    }
    if env::var_os("DOCS_RS").is_some() {
        return vendor_source(vendor_root, VendorReason::DocsRs);
    }
    if env::var_os("DAOS_VENDOR_VERSION").is_some() {
        println!(
            "cargo::warning=daos-sys: DAOS_VENDOR_VERSION only applies with the `emulator` feature; \
             looking for a DAOS install"
        );
    }
    if let Some(installed) = find_install() {
        return installed;
    }
    println!(
        "cargo::warning=daos-sys: no DAOS installation found (looked at $DAOS_DIR and {prefixes}: \
         none has include/daos.h and libdaos.so in lib64/ or lib/); bound the vendor headers \
         (DAOS 2.8 API), so binaries will not link. Point the build at DAOS with \
         DAOS_DIR=/path/to/prefix, or build against the emulator with `--features emulator`.",
        prefixes = DEFAULT_PREFIXES.join(", ")
    );
    vendor_source(vendor_root, VendorReason::NoInstall)
}

fn vendor_source(vendor_root: &Path, why: VendorReason) -> HeaderSource {
    let requested = env::var("DAOS_VENDOR_VERSION").ok();
    let version_dir = match requested.as_deref() {
        Some("2.6") if why == VendorReason::Emulator => Some(vendor_root.join("v2.6")),
        None | Some("") | Some("2.8") | Some("2.6") => None,
        Some(other) => panic!(
            "daos-sys: DAOS_VENDOR_VERSION={other:?} is not supported; use 2.6 or 2.8 (the default)"
        ),
    };
    HeaderSource::Vendor {
        root: vendor_root.to_path_buf(),
        version_dir,
        why,
    }
}

fn find_install() -> Option<HeaderSource> {
    if let Some(dir) = env::var_os("DAOS_DIR") {
        // An explicit DAOS_DIR that is wrong is a mistake to report, not a
        // reason to pick up some other DAOS silently.
        let dir = PathBuf::from(dir);
        return Some(install_at(&dir).unwrap_or_else(|why| {
            panic!(
                "daos-sys: DAOS_DIR={} is not a DAOS install: {why}",
                dir.display()
            )
        }));
    }
    DEFAULT_PREFIXES
        .iter()
        .find_map(|p| install_at(Path::new(p)).ok())
}

/// A prefix counts as a DAOS install when its headers are there and one of its
/// library directories holds `libdaos.so`, the name `-ldaos` needs.
fn install_at(prefix: &Path) -> Result<HeaderSource, String> {
    let include = prefix.join("include");
    if !include.join("daos.h").is_file() {
        return Err(format!("there is no {}", include.join("daos.h").display()));
    }
    let candidates = lib_dirs_of(prefix);
    if let Some(lib) = candidates.iter().find(|d| d.join("libdaos.so").exists()) {
        return Ok(HeaderSource::Installed {
            prefix: prefix.to_path_buf(),
            include,
            lib: lib.clone(),
        });
    }
    let versioned: Vec<String> = candidates
        .iter()
        .filter_map(|d| versioned_lib(d, "daos"))
        .map(|p| p.display().to_string())
        .collect();
    let looked = candidates
        .iter()
        .map(|d| d.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    Err(if versioned.is_empty() {
        format!("no libdaos.so in {looked}")
    } else {
        format!(
            "no libdaos.so in {looked}, only {} (install the DAOS development package, \
             which adds the libdaos.so link)",
            versioned.join(", ")
        )
    })
}

/// The library directories of an install prefix, in search order.
fn lib_dirs_of(prefix: &Path) -> Vec<PathBuf> {
    let mut dirs = vec![prefix.join("lib64"), prefix.join("lib")];
    if let Some(triple) = multiarch_triple() {
        dirs.push(prefix.join("lib").join(triple));
    }
    dirs
}

/// The Debian-style multiarch directory name of the target (`x86_64-linux-gnu`).
fn multiarch_triple() -> Option<String> {
    let arch = env::var("CARGO_CFG_TARGET_ARCH").ok()?;
    let os = env::var("CARGO_CFG_TARGET_OS").ok()?;
    let target_env = env::var("CARGO_CFG_TARGET_ENV").ok()?;
    Some(format!("{arch}-{os}-{target_env}"))
}

/// `lib<name>.so.<N...>` in `dir`, the highest version when there are several.
fn versioned_lib(dir: &Path, name: &str) -> Option<PathBuf> {
    let prefix = format!("lib{name}.so.");
    let mut found: Vec<PathBuf> = fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&prefix))
        })
        .collect();
    // The highest major version; within it the shortest name: libisal.so.2 is
    // the soname link, libisal.so.2.0.31 the file; either works, the soname is
    // what the binary should record.
    found.sort_by_key(|p| {
        let version = p
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_prefix(&prefix))
            .map(version_numbers)
            .unwrap_or_default();
        (
            std::cmp::Reverse(version.first().copied()),
            p.as_os_str().len(),
        )
    });
    found.into_iter().next()
}

/// The numbers of a dotted version (`2.0.31` is `[2, 0, 31]`); parsing stops at the first
/// part that is not a number.
fn version_numbers(text: &str) -> Vec<u64> {
    text.split('.')
        .map_while(|part| part.parse().ok())
        .collect()
}

fn read_version(source: &HeaderSource) -> DaosVersion {
    let path = source
        .include_dirs()
        .into_iter()
        .map(|d| d.join("daos_version.h"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "daos-sys: no daos_version.h under {}",
                source.main_include_dir().display()
            )
        });
    println!("cargo::rerun-if-changed={}", path.display());
    let text = fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("daos-sys: cannot read {}: {e}", path.display()));
    let api = version_triple(&text, "DAOS_API_VERSION").unwrap_or_else(|| {
        panic!(
            "daos-sys: {} does not define DAOS_API_VERSION_MAJOR/MINOR/FIX",
            path.display()
        )
    });
    DaosVersion {
        api,
        package: version_triple(&text, "DAOS_VERSION"),
    }
}

/// Reads `<prefix>_MAJOR`, `_MINOR` and `_FIX` from `#define` lines.
fn version_triple(text: &str, prefix: &str) -> Option<(u32, u32, u32)> {
    let number = |suffix: &str| -> Option<u32> {
        let name = format!("{prefix}_{suffix}");
        text.lines().find_map(|line| {
            let mut words = line.split_whitespace();
            if words.next()? != "#define" || words.next()? != name {
                return None;
            }
            words
                .next()?
                .trim_matches(|c| c == '(' || c == ')')
                .parse()
                .ok()
        })
    };
    Some((number("MAJOR")?, number("MINOR")?, number("FIX")?))
}

/// Says which headers were bound, once, where it can be looked up: the
/// build script's stdout (shown by `cargo build -vv`) and a file in OUT_DIR.
fn report_choice(source: &HeaderSource, version: &DaosVersion, out_dir: &Path) {
    let api = version.api;
    let package = version
        .package
        .map(|(a, b, c)| format!(", DAOS {a}.{b}.{c}"))
        .unwrap_or_default();
    let what = match source {
        HeaderSource::Vendor {
            version_dir, why, ..
        } => format!(
            "vendor-headers{} ({})",
            if version_dir.is_some() { " + v2.6" } else { "" },
            match why {
                VendorReason::Emulator => "feature `emulator`; the emulator provides the symbols",
                VendorReason::DocsRs => "docs.rs; nothing linked",
                VendorReason::NoInstall => "no DAOS install found",
            },
        ),
        HeaderSource::Installed { include, lib, .. } => format!(
            "installed DAOS headers {} and libraries in {}",
            include.display(),
            lib.display()
        ),
    };
    let line = format!(
        "daos-sys: using {what}; API {}.{}.{}{package}",
        api.0, api.1, api.2
    );
    println!("{line}");
    let path = out_dir.join("daos-sys-source.txt");
    fs::write(&path, format!("{line}\n"))
        .unwrap_or_else(|e| panic!("daos-sys: cannot write {}: {e}", path.display()));
}

/// Emits the link directives for the chosen source.
fn link(source: &HeaderSource) {
    match source {
        // The emulator's rlib provides every symbol; docs are never linked.
        HeaderSource::Vendor {
            why: VendorReason::Emulator | VendorReason::DocsRs,
            ..
        } => {}
        // Name the libraries anyway, so that a binary fails with "cannot find
        // -ldaos" rather than with a page of undefined references.
        HeaderSource::Vendor {
            why: VendorReason::NoInstall,
            ..
        } => {
            for name in DAOS_LIBS {
                println!("cargo::rustc-link-lib=dylib={name}");
            }
        }
        HeaderSource::Installed { prefix, lib, .. } => link_install(prefix, lib),
    }
}

fn link_install(prefix: &Path, lib: &Path) {
    let mut private_dirs = Vec::new();
    add_search_dir(&mut private_dirs, lib);
    for name in DAOS_LIBS {
        println!("cargo::rustc-link-lib=dylib={name}");
    }

    let search = provider_search_dirs(prefix, lib);
    let mut missing = Vec::new();
    for name in PROVIDER_LIBS {
        match find_provider(&search, name) {
            Some((dir, file)) => {
                add_search_dir(&mut private_dirs, &dir);
                match file {
                    ProviderFile::DevLink => println!("cargo::rustc-link-lib=dylib={name}"),
                    ProviderFile::Versioned(file) => {
                        println!("cargo::rustc-link-lib=dylib:+verbatim={file}")
                    }
                }
            }
            None if ESSENTIAL_PROVIDERS.contains(name) => missing.push(format!("lib{name}")),
            None => {}
        }
    }
    if !missing.is_empty() {
        println!(
            "cargo::warning=daos-sys: could not find {} (searched {}); libdaos uses their symbols \
             without naming them, so linking with rust-lld may fail with \"undefined reference: \
             ... disallowed by --no-allow-shlib-undefined\". Install them, or link with \
             RUSTFLAGS=\"-C link-arg=-Wl,--allow-shlib-undefined\".",
            missing.join(", "),
            search
                .iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }

    // rustc-link-arg reaches only this package's own tests and examples; for
    // everything else the directories go out as metadata (DEP_DAOS_RPATH) and,
    // when the loader would not find them, as a warning.
    for dir in &private_dirs {
        println!("cargo::rustc-link-arg=-Wl,-rpath,{}", dir.display());
    }
    let joined = env::join_paths(&private_dirs)
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    println!("cargo::metadata=lib_dir={}", lib.display());
    println!("cargo::metadata=rpath={joined}");
    let unreachable: Vec<&PathBuf> = private_dirs
        .iter()
        .filter(|d| !loader_finds_libraries_in(d))
        .collect();
    if !unreachable.is_empty() {
        let dirs = env::join_paths(&unreachable)
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        println!(
            "cargo::warning=daos-sys: the DAOS libraries in {dirs} are not on the dynamic \
             loader's path, so binaries will not start as they are: run them with \
             LD_LIBRARY_PATH={dirs}, add the directories to /etc/ld.so.conf.d/ and run ldconfig, \
             or build with RUSTFLAGS=\"-C link-arg=-Wl,-rpath,{dirs}\"."
        );
    }
}

/// Records `dir` for `-L` (and rpath) unless the linker searches it anyway.
fn add_search_dir(dirs: &mut Vec<PathBuf>, dir: &Path) {
    if is_system_dir(dir) || dirs.iter().any(|d| d == dir) {
        return;
    }
    println!("cargo::rustc-link-search=native={}", dir.display());
    dirs.push(dir.to_path_buf());
}

fn system_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    if let Some(triple) = multiarch_triple() {
        dirs.push(Path::new("/usr/lib").join(&triple));
        dirs.push(Path::new("/lib").join(&triple));
    }
    dirs.extend(SYSTEM_LIB_DIRS.iter().map(PathBuf::from));
    dirs
}

fn is_system_dir(dir: &Path) -> bool {
    let dir = fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    system_dirs()
        .iter()
        .any(|s| fs::canonicalize(s).unwrap_or_else(|_| s.clone()) == dir)
}

/// Where the libraries libdaos leans on may be: beside it, in the prereq tree
/// a source build installs (`<prefix>/prereq/<build type>/<component>/lib64`,
/// site_scons/prereq_tools/base.py), and the system directories.
fn provider_search_dirs(prefix: &Path, lib: &Path) -> Vec<PathBuf> {
    let mut dirs = vec![lib.to_path_buf()];
    dirs.extend(lib_dirs_of(prefix));
    let prereq = prefix.join("prereq");
    for build_type in sorted_subdirs(&prereq) {
        for component in sorted_subdirs(&build_type) {
            dirs.extend(lib_dirs_of(&component));
        }
    }
    dirs.extend(system_dirs());
    dirs.extend(LOCAL_LIB_DIRS.iter().map(PathBuf::from));
    let mut unique: Vec<PathBuf> = Vec::new();
    for dir in dirs {
        if dir.is_dir() && !unique.contains(&dir) {
            unique.push(dir);
        }
    }
    unique
}

fn sorted_subdirs(dir: &Path) -> Vec<PathBuf> {
    let mut subdirs: Vec<PathBuf> = fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default();
    subdirs.sort();
    subdirs
}

/// How a provider library can be named on the link line.
enum ProviderFile {
    /// `lib<name>.so` exists: `-l<name>`.
    DevLink,
    /// Only a run-time `lib<name>.so.N` exists: `-l:lib<name>.so.N`.
    Versioned(String),
}

fn find_provider(dirs: &[PathBuf], name: &str) -> Option<(PathBuf, ProviderFile)> {
    dirs.iter().find_map(|dir| {
        if dir.join(format!("lib{name}.so")).exists() {
            return Some((dir.clone(), ProviderFile::DevLink));
        }
        let file = versioned_lib(dir, name)?;
        let file_name = file.file_name()?.to_str()?.to_owned();
        Some((dir.clone(), ProviderFile::Versioned(file_name)))
    })
}

/// Whether a binary would load libraries from `dir` without an rpath: a
/// system directory, one in the ld.so cache, or one on `LD_LIBRARY_PATH`.
fn loader_finds_libraries_in(dir: &Path) -> bool {
    if is_system_dir(dir) {
        return true;
    }
    let on_ld_library_path = env::var_os("LD_LIBRARY_PATH")
        .map(|v| env::split_paths(&v).any(|p| p == dir))
        .unwrap_or(false);
    on_ld_library_path || ld_cache_has_dir(dir)
}

/// `ldconfig -p` lists "libfoo.so.1 (libc6,x86-64) => /dir/libfoo.so.1".
fn ld_cache_has_dir(dir: &Path) -> bool {
    let needle = format!("=> {}/", dir.display());
    ["ldconfig", "/sbin/ldconfig", "/usr/sbin/ldconfig"]
        .iter()
        .find_map(|cmd| Command::new(cmd).arg("-p").output().ok())
        .is_some_and(|out| String::from_utf8_lossy(&out.stdout).contains(&needle))
}

fn generate_bindings(source: &HeaderSource, vendor_root: &Path, out_dir: &Path) {
    let wrapper = match source {
        HeaderSource::Vendor { root, .. } => {
            rerun_if_dir_changed(root);
            root.join("wrapper.h")
        }
        HeaderSource::Installed { .. } => {
            // The gurt functions we use are declared in gurt/common.h, which
            // daos.h does not include; our declarations of them take their
            // types from the installed daos_types.h.
            let gurt = vendor_root.join("gurt_extras.h");
            println!("cargo::rerun-if-changed={}", gurt.display());
            let path = out_dir.join("daos_installed_wrapper.h");
            let text = format!(
                "#include <daos.h>\n#include <daos_fs.h>\n#include <daos_uns.h>\n#include \"{}\"\n",
                gurt.display()
            );
            fs::write(&path, text)
                .unwrap_or_else(|e| panic!("daos-sys: cannot write {}: {e}", path.display()));
            path
        }
    };

    // The same settings for both sources, so that an item has the same Rust
    // name whichever headers were bound.
    let mut builder = bindgen::Builder::default()
        .header(wrapper.to_string_lossy())
        .allowlist_function(ALLOWLIST)
        .allowlist_type(ALLOWLIST)
        .allowlist_var(ALLOWLIST)
        .allowlist_item(EXTRA_ALLOWLIST)
        .prepend_enum_name(true)
        .derive_default(true)
        .derive_debug(true)
        .impl_debug(true)
        .derive_copy(true)
        .layout_tests(true)
        .parse_callbacks(Box::new(bindgen::CargoCallbacks::new()));
    for dir in source.include_dirs() {
        builder = builder.clang_arg(format!("-I{}", dir.display()));
    }
    let bindings = builder
        .generate()
        .unwrap_or_else(|e| panic!("daos-sys: bindgen failed on {}: {e}", wrapper.display()));
    let out = out_dir.join("bindings.rs");
    bindings
        .write_to_file(&out)
        .unwrap_or_else(|e| panic!("daos-sys: cannot write {}: {e}", out.display()));
}

fn rerun_if_dir_changed(dir: &Path) {
    println!("cargo::rerun-if-changed={}", dir.display());
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                rerun_if_dir_changed(&path);
            } else if path.extension().is_some_and(|e| e == "h") {
                println!("cargo::rerun-if-changed={}", path.display());
            }
        }
    }
}
