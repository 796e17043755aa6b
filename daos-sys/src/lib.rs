//! Raw FFI declarations for the DAOS client libraries: libdaos,
//! libdaos_common, libgurt, libdfs and libduns.
//!
//! This crate only declares and links; the safe API is the `daos` crate.
//! Items keep their C names (`daos_init`, `daos_pool_connect2`,
//! `dfs_cont_create_with_label`, `daos_handle_t`, ...). Enum constants carry
//! their enum's name (`daos_errno_DER_NONEXIST`), and the renaming macros of
//! the C headers are not reproduced: call `daos_pool_connect2`,
//! `daos_cont_open2`, `daos_cont_create2` and `daos_cont_destroy2`.
//!
//! The declarations come from bindgen over an installed DAOS (`DAOS_DIR`,
//! `/usr`, `/opt/daos`) or, with the `emulator` feature, over the project's
//! `vendor-headers/`; the emulator then provides the symbols. The build sets
//! exactly one of the cfgs `daos_api_2_6` / `daos_api_2_8` and exports the
//! same choice to dependents as `DEP_DAOS_API_VERSION` (`2.6` or `2.8`).
//!
//! The C headers' static inline helpers cannot be bound; [`inline`] has Rust
//! equivalents, re-exported at the crate root.

#![allow(non_upper_case_globals, non_camel_case_types, non_snake_case)]

#[cfg(feature = "emulator")]
extern crate daos_emulator as _;

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
