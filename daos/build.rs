//! Re-emits the DAOS API version that `daos-sys` detected (through the `links = "daos"`
//! metadata `DEP_DAOS_API_VERSION`) as the same cfgs, so this crate can gate on them.

fn main() {
    println!("cargo:rustc-check-cfg=cfg(daos_api_2_6)");
    println!("cargo:rustc-check-cfg=cfg(daos_api_2_8)");
    println!("cargo:rerun-if-env-changed=DEP_DAOS_API_VERSION");
    let version = std::env::var("DEP_DAOS_API_VERSION").unwrap_or_default();
    let normalized: String = version
        .trim()
        .trim_start_matches("daos_api_")
        .chars()
        .map(|c| if c == '.' { '_' } else { c })
        .collect();
    let cfg = if normalized.starts_with("2_6") || normalized.starts_with("2_7") {
        // libdaos 2.6.x reports API version 2.7 (daos_version.h); both mean the 2.6 API.
        "daos_api_2_6"
    } else {
        // Unknown or missing: the vendored headers are 2.8, so that is the default.
        "daos_api_2_8"
    };
    println!("cargo:rustc-cfg={cfg}");
}
