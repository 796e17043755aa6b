//! Arguments refused before any C call: the error names the Rust function that refused it,
//! never a C function that was not called, and quotes what was wrong.

mod common;

use common::{TempContainer, pool};
use daos::duns;

fn assert_refused_by(err: &daos::Error, op: &str, quoted: &str) {
    assert!(err.is_invalid(), "{err}");
    assert!(!err.is_from_daos(), "{err}");
    assert_eq!(err.op(), op, "{err}");
    let msg = err.to_string();
    assert!(msg.contains(quoted), "{msg}");
    assert!(!msg.contains("duns_"), "names a C function: {msg}");
}

#[test]
fn duns_paths_and_containers_with_nul_bytes_name_the_rust_function() {
    let pool = pool();
    let err = duns::resolve_path("/a\0b").unwrap_err();
    assert_refused_by(&err, "duns::resolve_path", "path \"/a\\0b\"");
    let err = duns::destroy_path(&pool, "/a\0b").unwrap_err();
    assert_refused_by(&err, "duns::destroy_path", "path \"/a\\0b\"");
    let err = duns::link_container(&pool, "bad label", "/tmp/x").unwrap_err();
    assert_refused_by(&err, "duns::link_container", "container \"bad label\"");
    let c = TempContainer::plain("dunsarg");
    let err = duns::link_container(&pool, c.uuid, "/tmp/a\0b").unwrap_err();
    assert_refused_by(&err, "duns::link_container", "path \"/tmp/a\\0b\"");
}
