//! Generates the C types of the DAOS ABI the emulator implements from the project's own
//! declarations in `vendor-headers/` (no linking: the emulator *is* the library).
//!
//! Outputs, in OUT_DIR:
//! - `daos_abi.rs`: types and constants (bindgen), without the function declarations;
//! - `daos_sigs.rs`: one `pub type NAME = unsafe extern "C" fn(..)` per declared function;
//! - `abi_check.rs`: `const _: sigs::NAME = capi::NAME;` for every declared function, so the
//!   crate does not compile unless it exports each of them with exactly the declared signature.
//!
//! `DAOS_VENDOR_VERSION=2.6` selects the 2.6 flavour of the headers, the same switch daos-sys
//! honours, so both crates always agree on the layouts.

use std::env;
use std::fs;
use std::path::PathBuf;

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    // A symlink to the workspace's vendor-headers/, which `cargo package` follows, so the
    // published crate carries the declarations it implements.
    let headers = manifest.join("vendor-headers");
    let wrapper = headers.join("wrapper.h");
    println!("cargo:rerun-if-changed={}", headers.display());
    println!("cargo:rerun-if-env-changed=DAOS_VENDOR_VERSION");
    println!("cargo::rustc-check-cfg=cfg(emu_api_2_6)");

    let mut builder = bindgen::Builder::default()
        .header(wrapper.display().to_string())
        .allowlist_function("daos_.*|dfs_.*|duns_.*|d_.*")
        .allowlist_type("daos_.*|dfs_.*|duns_.*|d_.*")
        .allowlist_var("daos_.*|dfs_.*|duns_.*|d_.*|DAOS_.*|DFS_.*|DUNS_.*|DER_.*|DPI_.*")
        .prepend_enum_name(true)
        .derive_default(true)
        .layout_tests(true)
        .generate_comments(false)
        .parse_callbacks(Box::new(bindgen::CargoCallbacks::new()));

    if env::var("DAOS_VENDOR_VERSION").as_deref() == Ok("2.6") {
        builder = builder.clang_arg(format!("-I{}", headers.join("v2.6").display()));
        println!("cargo:rustc-cfg=emu_api_2_6");
    }
    builder = builder.clang_arg(format!("-I{}", headers.display()));

    let text = builder
        .generate()
        .expect("bindgen over vendor-headers/wrapper.h failed")
        .to_string();
    let split = split_functions(&text);

    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    fs::write(out.join("daos_abi.rs"), &split.types).expect("write daos_abi.rs");

    let mut sigs = String::from("use super::ffi::*;\n");
    let mut check = String::new();
    for (name, sig) in &split.functions {
        sigs.push_str(&format!("pub type {name} = unsafe extern \"C\" fn{sig};\n"));
        check.push_str(&format!(
            "const _: crate::sigs::{name} = crate::capi::{name};\n"
        ));
    }
    let names: Vec<String> = split
        .functions
        .iter()
        .map(|(n, _)| format!("{n:?}"))
        .collect();
    sigs.push_str(&format!(
        "pub const DECLARED: &[&str] = &[{}];\n",
        names.join(", ")
    ));
    fs::write(out.join("daos_sigs.rs"), sigs).expect("write daos_sigs.rs");
    fs::write(out.join("abi_check.rs"), check).expect("write abi_check.rs");
}

struct Split {
    types: String,
    /// (name, "(args) -> ret") of every declared function.
    functions: Vec<(String, String)>,
}

/// Takes the `unsafe extern "C" { pub fn ...; }` blocks out of bindgen's output.
fn split_functions(text: &str) -> Split {
    let mut types = String::new();
    let mut functions = Vec::new();
    let mut block: Option<String> = None;
    for line in text.lines() {
        if let Some(body) = block.as_mut() {
            if line == "}" {
                functions.extend(parse_decls(body));
                block = None;
            } else {
                body.push_str(line.trim());
                body.push(' ');
            }
        } else if line.ends_with("extern \"C\" {") {
            block = Some(String::new());
        } else {
            types.push_str(line);
            types.push('\n');
        }
    }
    Split { types, functions }
}

fn parse_decls(body: &str) -> Vec<(String, String)> {
    body.split(';')
        .filter_map(|decl| {
            let decl = decl.trim().strip_prefix("pub fn ")?;
            let open = decl.find('(')?;
            let name = decl[..open].trim().to_string();
            let sig = decl[open..].replace(", )", ")");
            Some((name, sig))
        })
        .collect()
}
