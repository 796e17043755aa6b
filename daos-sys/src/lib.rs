//! Raw FFI declarations for the DAOS client libraries: libdaos,
//! libdaos_common, libgurt, libdfs and libduns.
//!
//! This crate only declares and links; the safe API is the `daos` crate.
//! Items keep their C names (`daos_init`, `daos_pool_connect2`,
//! `dfs_cont_create_with_label`, `daos_handle_t`, ...). Constants of a named
//! enum carry the enum's name (`daos_errno_DER_NONEXIST`,
//! `daos_acl_perm_DAOS_ACL_PERM_READ`), those of an unnamed enum and of
//! macros do not (`DAOS_PROP_CO_LAYOUT_POSIX`, `DAOS_PC_RW`): where upstream
//! uses an enum, so do the vendor headers. The renaming macros of
//! the C headers are not reproduced: call `daos_pool_connect2`,
//! `daos_cont_open2`, `daos_cont_create2` and `daos_cont_destroy2`.
//!
//! The declarations come from bindgen over an installed DAOS (`DAOS_DIR`,
//! `/usr`, `/opt/daos`) or, with the `emulator` feature, over the
//! `vendor-headers/` shipped with this crate; the crate that enables the
//! feature links the emulator, which provides the symbols. Either way the
//! names are upstream's: code that builds against one builds against the
//! other. The build sets exactly one of the cfgs `daos_api_2_6` / `daos_api_2_8` and exports the
//! same choice to dependents as `DEP_DAOS_API_VERSION` (`2.6` or `2.8`).
//!
//! The C headers' static inline helpers cannot be bound; [`inline`] has Rust
//! equivalents, re-exported at the crate root.

#![allow(non_upper_case_globals, non_camel_case_types, non_snake_case)]

mod bindings {
    #![allow(
        non_upper_case_globals,
        non_camel_case_types,
        non_snake_case,
        dead_code,
        unnecessary_transmutes,
        unsafe_op_in_unsafe_fn,
        clippy::all,
        clippy::pedantic,
        rustdoc::all
    )]
    include!(concat!(env!("OUT_DIR"), "/bindings.rs"));
}

pub mod inline;

pub use bindings::*;
pub use inline::*;
