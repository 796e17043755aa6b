//! placeholder during bring-up
#[allow(non_camel_case_types, non_snake_case, non_upper_case_globals, dead_code, unsafe_op_in_unsafe_fn, clippy::all)]
pub mod ffi {
    include!(concat!(env!("OUT_DIR"), "/daos_abi.rs"));
}
