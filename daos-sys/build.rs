//! Finds the DAOS headers (and, for a real install, the libraries), runs
//! bindgen over them and tells dependents which DAOS API version they got.
//!
//! Order of preference, as libgit2-sys does for libgit2:
//! 1. feature `emulator`: always `vendor-headers/` (the emulator implements
//!    exactly that ABI) and no system library is linked;
//! 2. `DAOS_DIR` (with `include/daos.h` and `lib64/` or `lib/`);
//! 3. the usual prefixes `/usr` and `/opt/daos`;
//! 4. otherwise fail, explaining both ways out.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};

/// Prefixes searched when `DAOS_DIR` is not set.
const DEFAULT_PREFIXES: &[&str] = &["/usr", "/opt/daos"];

/// Libraries a binary calling libdaos, libdfs and libduns directly must name:
/// modern `ld` does not resolve symbols through another library's DT_NEEDED.
const DAOS_LIBS: &[&str] = &["daos", "daos_common", "gurt", "dfs", "duns", "uuid"];

const ALLOWLIST: &str = "daos_.*|dfs_.*|duns_.*|d_.*|DAOS_.*|DFS_.*|DUNS_.*|DER_.*|DPI_.*|D_.*";
/// Items outside the common prefixes that the API needs by name.
const EXTRA_ALLOWLIST: &str = "DRS_.*|OC_UNKNOWN|MAX_OBJ_CLASS_NAME_LEN|uuid_t";

/// Where the headers come from.
enum HeaderSource {
    /// Our own declarations; `version_dir` is `vendor-headers/v2.6` when asked for.
    Vendor {
        root: PathBuf,
        version_dir: Option<PathBuf>,
    },
    /// A DAOS installation found on this machine.
    Installed { include: PathBuf, lib: PathBuf },
}

impl HeaderSource {
    /// Include directories, most specific first.
    fn include_dirs(&self) -> Vec<PathBuf> {
        match self {
            HeaderSource::Vendor { root, version_dir } => {
                version_dir.iter().cloned().chain([root.clone()]).collect()
            }
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
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rustc-check-cfg=cfg(daos_api_2_6)");
    println!("cargo::rustc-check-cfg=cfg(daos_api_2_8)");

    let manifest_dir =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let vendor_root = manifest_dir.join("..").join("vendor-headers");
    let emulator = env::var_os("CARGO_FEATURE_EMULATOR").is_some();

    let source = choose_source(&vendor_root, emulator);
    let version = read_version(&source);
    let (cfg, api) = version.api_flavour();

    report_choice(&source, &version, emulator);
    generate_bindings(&source, &vendor_root);

    // With the emulator feature the source is always the vendor headers, so
    // nothing from the system is linked then.
    if let HeaderSource::Installed { lib, .. } = &source {
        println!("cargo::rustc-link-search=native={}", lib.display());
        for name in DAOS_LIBS {
            println!("cargo::rustc-link-lib=dylib={name}");
        }
    }

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

fn choose_source(vendor_root: &Path, emulator: bool) -> HeaderSource {
    if emulator {
        return vendor_source(vendor_root);
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
    panic!(
        "daos-sys: no DAOS installation found (looked at $DAOS_DIR and {prefixes}: none has include/daos.h \
         and lib64/ or lib/).\n\
         Point the build at DAOS with DAOS_DIR=/path/to/daos (a prefix with include/ and lib64/), \
         or build against the emulator with `--features emulator`.",
        prefixes = DEFAULT_PREFIXES.join(", ")
    );
}

fn vendor_source(vendor_root: &Path) -> HeaderSource {
    let version_dir = match env::var("DAOS_VENDOR_VERSION").ok().as_deref() {
        None | Some("") | Some("2.8") => None,
        Some("2.6") => Some(vendor_root.join("v2.6")),
        Some(other) => panic!(
            "daos-sys: DAOS_VENDOR_VERSION={other:?} is not supported; use 2.6 or 2.8 (the default)"
        ),
    };
    HeaderSource::Vendor {
        root: vendor_root.to_path_buf(),
        version_dir,
    }
}

fn find_install() -> Option<HeaderSource> {
    if let Some(dir) = env::var_os("DAOS_DIR") {
        // An explicit DAOS_DIR that is wrong is a mistake to report, not a
        // reason to pick up some other DAOS silently.
        let dir = PathBuf::from(dir);
        return Some(install_at(&dir).unwrap_or_else(|| {
            panic!(
                "daos-sys: DAOS_DIR={} is not a DAOS install: it needs include/daos.h and lib64/ or lib/",
                dir.display()
            )
        }));
    }
    DEFAULT_PREFIXES
        .iter()
        .find_map(|p| install_at(Path::new(p)))
}

/// A prefix counts as a DAOS install when its headers are there and one of its
/// library directories holds libdaos.
fn install_at(prefix: &Path) -> Option<HeaderSource> {
    let include = prefix.join("include");
    if !include.join("daos.h").is_file() {
        return None;
    }
    let lib = ["lib64", "lib"]
        .iter()
        .map(|d| prefix.join(d))
        .find(|d| d.join("libdaos.so").exists())
        .or_else(|| {
            ["lib64", "lib"]
                .iter()
                .map(|d| prefix.join(d))
                .find(|d| d.is_dir())
        })?;
    Some(HeaderSource::Installed { include, lib })
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

fn report_choice(source: &HeaderSource, version: &DaosVersion, emulator: bool) {
    let api = version.api;
    let package = version
        .package
        .map(|(a, b, c)| format!(", DAOS {a}.{b}.{c}"))
        .unwrap_or_default();
    let why = match source {
        HeaderSource::Vendor { version_dir, .. } => format!(
            "vendor-headers{} (feature `emulator`{})",
            if version_dir.is_some() { " + v2.6" } else { "" },
            if emulator {
                "; linking the emulator"
            } else {
                ""
            },
        ),
        HeaderSource::Installed { include, lib } => format!(
            "installed DAOS headers {} and libraries in {}",
            include.display(),
            lib.display()
        ),
    };
    println!(
        "cargo::warning=daos-sys: using {why}; API {}.{}.{}{package}",
        api.0, api.1, api.2
    );
}

fn generate_bindings(source: &HeaderSource, vendor_root: &Path) {
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));
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
