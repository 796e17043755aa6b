//! The unified namespace: linking a path to a container and resolving it.

mod common;

use common::TempContainer;
use daos_test_harness::{fresh_dir, system};

#[test]
fn link_and_resolve() {
    let c = TempContainer::posix("duns");
    let dir = fresh_dir("duns");
    let link = dir.join("vol");
    let link_str = link.to_str().unwrap();
    match daos::duns::link_container(&c.pool, &c.label, link_str) {
        Ok(()) => {}
        Err(e) if e.errno() == Some(libc::ENOTSUP) => {
            // CI's temporary directory supports user xattrs; there, a skip would hide a bug.
            assert!(
                std::env::var_os("CI").is_none(),
                "{} has no user xattrs: {e}",
                dir.display()
            );
            eprintln!("SKIP: {} has no user xattrs: {e}", dir.display());
            return;
        }
        Err(e) => panic!("{e}"),
    }
    assert!(link.is_dir());
    let attr = daos::duns::resolve_path(link_str).unwrap();
    assert_eq!(attr.pool, c.pool.uuid().to_string());
    assert_eq!(attr.container, c.uuid.to_string());
    assert_eq!(attr.layout, 1, "POSIX");
    let err = daos::duns::link_container(&c.pool, &c.label, link_str).unwrap_err();
    assert!(err.is_exists(), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn resolving_an_ordinary_directory_fails() {
    system();
    let dir = fresh_dir("plain");
    let err = daos::duns::resolve_path(dir.to_str().unwrap()).unwrap_err();
    assert!(
        matches!(
            err.errno(),
            Some(libc::ENODATA) | Some(libc::ENOTSUP) | Some(libc::ENOENT)
        ),
        "{err}"
    );
    let err = daos::duns::resolve_path(dir.join("missing").to_str().unwrap()).unwrap_err();
    assert!(err.errno().is_some(), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn daos_urls_resolve_without_the_file_system() {
    system();
    let attr = daos::duns::resolve_path("daos://tank/vol-1/sub/dir").unwrap();
    assert_eq!(attr.pool, "tank");
    assert_eq!(attr.container, "vol-1");
    assert_eq!(attr.rel_path.as_deref(), Some("/sub/dir"));
}

#[test]
fn link_into_a_missing_directory_fails() {
    let c = TempContainer::posix("dunsbad");
    let err =
        daos::duns::link_container(&c.pool, &c.label, "/nonexistent-dir/for/sure/vol").unwrap_err();
    assert!(err.is_not_found(), "{err}");
}

#[test]
fn destroy_path_removes_the_link_and_its_container() {
    let c = TempContainer::posix("dunsdel");
    let dir = fresh_dir("dunsdel");
    let link = dir.join("vol");
    let link_str = link.to_str().unwrap();
    match daos::duns::link_container(&c.pool, &c.label, link_str) {
        Ok(()) => {}
        Err(e) if e.errno() == Some(libc::ENOTSUP) => {
            // CI's temporary directory supports user xattrs; there, a skip would hide a bug.
            assert!(
                std::env::var_os("CI").is_none(),
                "{} has no user xattrs: {e}",
                dir.display()
            );
            eprintln!("SKIP: {} has no user xattrs: {e}", dir.display());
            return;
        }
        Err(e) => panic!("{e}"),
    }
    daos::duns::destroy_path(&c.pool, link_str).unwrap();
    assert!(!link.exists());
    assert!(
        !c.pool
            .list_containers()
            .unwrap()
            .iter()
            .any(|e| e.uuid == c.uuid)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn resolve_with_flags_parses_pool_and_container_from_the_path() {
    system();
    let flags = daos::duns::flags::NO_PREFIX | daos::duns::flags::NO_CHECK_PATH;
    let attr = daos::duns::resolve_path_with_flags("/tank/vol-2/a", flags).unwrap();
    assert_eq!(
        (attr.pool.as_str(), attr.container.as_str()),
        ("tank", "vol-2")
    );
}
