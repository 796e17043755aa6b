//! The exported C ABI: every function `vendor-headers/` declares, under the names libdaos,
//! libdaos_common, libgurt, libdfs and libduns export (the `...2` symbols of the renamed calls,
//! and their plain names as aliases, as upstream's weak aliases).
//!
//! Each function body runs inside `guard` so that no panic crosses the C boundary: a panic
//! becomes `-DER_MISC` (DAOS calls), `EIO` (DFS/DUNS calls) or a null pointer.

use std::ffi::{CStr, c_char, c_int};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use crate::der::Der;
use crate::events::{self, SendPtr};
use crate::ffi::daos_event_t;

mod acl;
mod cont;
mod dfs;
mod duns;
mod eq;
mod gurt;
mod obj;
mod pool;
mod prop;

pub use acl::*;
pub use cont::*;
pub use dfs::*;
pub use duns::*;
pub use eq::*;
pub use gurt::*;
pub use obj::*;
pub use pool::*;
pub use prop::*;

/// Runs an exported function body; a panic returns `on_panic`.
pub(crate) fn guard<T>(on_panic: T, f: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(on_panic)
}

/// A DAOS call body: a panic is `-DER_MISC`.
pub(crate) fn daos_guard(f: impl FnOnce() -> c_int) -> c_int {
    guard(Der::MISC.0, f)
}

/// A DFS/DUNS call body: a panic is `EIO`.
pub(crate) fn dfs_guard(f: impl FnOnce() -> c_int) -> c_int {
    guard(libc::EIO, f)
}

/// A C string argument; `None` for NULL or invalid UTF-8.
///
/// # Safety
/// `p` must be NULL or point to a NUL-terminated string valid for the duration of the call.
pub(crate) unsafe fn cstr<'a>(p: *const c_char) -> Option<&'a str> {
    if p.is_null() {
        return None;
    }
    // SAFETY: the caller promises a valid NUL-terminated string.
    unsafe { CStr::from_ptr(p) }.to_str().ok()
}

/// A malloc'ed copy of `s` (freed by the caller with free(3), as DAOS strings are).
pub(crate) fn strdup(s: &str) -> *mut c_char {
    let bytes = s.as_bytes();
    // SAFETY: malloc of len+1 bytes; checked for NULL before use.
    let p = unsafe { libc::malloc(bytes.len() + 1) } as *mut u8;
    if p.is_null() {
        return std::ptr::null_mut();
    }
    // SAFETY: p has room for len+1 bytes and does not overlap `bytes`.
    unsafe {
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), p, bytes.len());
        *p.add(bytes.len()) = 0;
    }
    p as *mut c_char
}

/// A malloc'ed copy of `bytes`.
pub(crate) fn memdup(bytes: &[u8]) -> *mut libc::c_void {
    // SAFETY: malloc of the exact size (at least 1 so the pointer is unique); checked.
    let p = unsafe { libc::malloc(bytes.len().max(1)) } as *mut u8;
    if !p.is_null() {
        // SAFETY: p has room for bytes.len() bytes.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), p, bytes.len()) };
    }
    p as *mut libc::c_void
}

/// The fault, if any, for a call of `op` on the pools named by `pools`.
fn fault(op: &str, pools: &[String]) -> crate::faults::FaultAction {
    match crate::client::library() {
        Ok(lib) => {
            let ids: Vec<&str> = pools.iter().map(String::as_str).collect();
            crate::faults::check(&lib.system, op, &ids)
        }
        Err(_) => Default::default(),
    }
}

/// Runs a DAOS operation (blocking with a NULL event, asynchronously otherwise), applying any
/// injected fault. The body returns 0 or a negative DER code.
pub(crate) fn run_daos(
    op: &str,
    pools: &[String],
    ev: *mut daos_event_t,
    body: impl FnOnce() -> c_int + Send + 'static,
) -> c_int {
    let f = fault(op, pools);
    match f.der() {
        Some(code) => events::launch(ev, f.delay, Box::new(move || code)),
        None => events::launch(ev, f.delay, Box::new(body)),
    }
}

/// Runs a DFS operation: the body returns 0 or an errno. Blocking calls return the errno;
/// an event carries the matching DER code, as the DAOS task under libdfs reports it.
pub(crate) fn run_dfs(
    op: &str,
    pools: &[String],
    ev: *mut daos_event_t,
    body: impl FnOnce() -> c_int + Send + 'static,
) -> c_int {
    let f = fault(op, pools);
    let body: Box<dyn FnOnce() -> c_int + Send> = match f.errno() {
        Some(code) => Box::new(move || code),
        None => Box::new(body),
    };
    if ev.is_null() {
        return events::launch(ev, f.delay, body);
    }
    events::launch(
        ev,
        f.delay,
        Box::new(move || {
            let e = body();
            if e == 0 {
                0
            } else {
                crate::der::errno2der(e).0
            }
        }),
    )
}

/// The injected fault for a synchronous DFS call with no event (applies the delay here).
pub(crate) fn dfs_fault_now(op: &str, pools: &[String]) -> Option<c_int> {
    let f = fault(op, pools);
    if let Some(d) = f.delay {
        std::thread::sleep(d);
    }
    f.errno()
}

/// Writes through an out-pointer captured for an asynchronous completion.
///
/// # Safety
/// `p` must be NULL or valid for writes until the operation completes (DAOS contract).
pub(crate) unsafe fn put<T>(p: SendPtr<T>, v: T) {
    if !p.0.is_null() {
        // SAFETY: per the function contract.
        unsafe { p.0.write(v) };
    }
}

/// Completes an operation with an out-parameter: stores the value through `p` and returns 0,
/// or returns the DER code and leaves `*p` alone.
///
/// # Safety
/// As [`put`]: `p` is NULL or valid for a write until the operation completes.
pub(crate) unsafe fn put_result<T>(p: SendPtr<T>, result: crate::der::DerResult<T>) -> c_int {
    match result {
        Ok(v) => {
            // SAFETY: per the function contract.
            unsafe { put(p, v) };
            0
        }
        Err(e) => e.0,
    }
}

#[allow(dead_code)]
pub(crate) fn millis(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

/// Compile-time proof that every function the vendor headers declare is exported here with
/// exactly the declared signature.
mod abi_check {
    include!(concat!(env!("OUT_DIR"), "/abi_check.rs"));
}
