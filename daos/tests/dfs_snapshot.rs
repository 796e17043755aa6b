//! Read-only DFS mounts of a container snapshot (`dfs_mount_snap`, DAOS 2.8 on).
#![cfg(not(daos_api_2_6))]

mod common;

use common::TempContainer;
use daos::{ContainerAccess, Epoch};

#[test]
fn a_snapshot_mount_shows_the_tree_as_it_was_and_refuses_writes() {
    let c = TempContainer::posix("snapmount");
    let cont = c.open();
    let fs = cont.mount_dfs(ContainerAccess::ReadWrite).unwrap();
    fs.mkdir("/d", 0o750).unwrap();
    fs.write_file("/d/kept", b"old kept").unwrap();
    fs.write_file("/changed", b"old content").unwrap();
    fs.write_file("/deleted", b"will go").unwrap();
    let epoch = cont.create_snapshot().unwrap();

    fs.write_file("/changed", b"new content, longer").unwrap();
    fs.remove("/deleted", false).unwrap();
    fs.write_file("/added", b"after the snapshot").unwrap();

    let snap = cont.mount_dfs_snapshot(epoch).unwrap();
    assert!(snap.is_read_only());
    assert_eq!(snap.read_file("/changed").unwrap(), b"old content");
    assert_eq!(snap.read_file("/deleted").unwrap(), b"will go");
    assert_eq!(snap.read_file("/d/kept").unwrap(), b"old kept");
    assert!(!snap.exists("/added").unwrap());
    assert_eq!(snap.stat("/d").unwrap().permissions(), 0o750);
    let mut names: Vec<String> = snap
        .read_dir("/")
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    names.sort();
    assert_eq!(names, ["changed", "d", "deleted"]);
    // The live tree is untouched by the snapshot mount.
    assert_eq!(fs.read_file("/changed").unwrap(), b"new content, longer");

    // libdfs refuses every change on a mount that is not O_RDWR with EPERM
    // (src/client/dfs/obj.c: `dfs->amode != O_RDWR`).
    let refused = [
        snap.write_file("/new", b"x").unwrap_err(),
        snap.mkdir("/newdir", 0o755).unwrap_err(),
        snap.remove("/changed", false).unwrap_err(),
        snap.chmod("/changed", 0o600).unwrap_err(),
    ];
    for err in refused {
        assert_eq!(err.errno(), Some(libc::EPERM), "{err}");
        assert!(err.is_no_permission(), "{err}");
    }
    assert_eq!(snap.read_file("/changed").unwrap(), b"old content");
    // A mount of the snapshot owns its container clone: it outlives the value it came from.
    drop(cont);
    assert_eq!(snap.read_file("/d/kept").unwrap(), b"old kept");
}

#[test]
fn an_epoch_that_is_no_snapshot_is_refused() {
    let c = TempContainer::posix("snapmissing");
    let cont = c.open();
    let fs = cont.mount_dfs(ContainerAccess::ReadWrite).unwrap();
    fs.write_file("/f", b"x").unwrap();
    let epoch = cont.create_snapshot().unwrap();
    cont.destroy_snapshot(epoch).unwrap();

    // An epoch from before the container existed: libdfs finds no root entry there (ENOENT).
    let early = cont.mount_dfs_snapshot(Epoch(1)).unwrap_err();
    assert!(early.is_not_found(), "{early}");
    assert_eq!(early.op(), "dfs_mount_snap");
    assert!(early.to_string().contains("snapshot 1"), "{early}");
    // A destroyed snapshot (the emulator keeps no view of epochs that are not snapshots).
    let gone = cont.mount_dfs_snapshot(epoch).unwrap_err();
    assert!(gone.is_not_found(), "{gone}");
    // 0 means "by name" to libdfs, and no name is given; DAOS_EPOCH_MAX is refused.
    for bad in [Epoch(0), Epoch(u64::MAX)] {
        let err = cont.mount_dfs_snapshot(bad).unwrap_err();
        assert_eq!(err.errno(), Some(libc::EINVAL), "{bad}: {err}");
    }
}

#[test]
fn a_plain_container_has_no_file_system_to_mount_at_a_snapshot() {
    let c = TempContainer::plain("snapplain");
    let cont = c.open();
    let epoch = cont.create_snapshot().unwrap();
    let err = cont.mount_dfs_snapshot(epoch).unwrap_err();
    assert_eq!(err.errno(), Some(libc::EINVAL), "{err}");
}
