//! Copying a DFS tree between containers (`copy_tree`), and the entry metadata it needs:
//! symbolic link targets and owner, mode and mtime set without following links.

mod common;

use std::time::{Duration, UNIX_EPOCH};

use common::{listing, rw_mount};
use daos::{ContainerAccess, SetAttributes};

#[test]
fn link_targets_are_read_as_stored() {
    let (_c, fs) = rw_mount("readlink");
    fs.mkdir("/d", 0o755).unwrap();
    fs.write_file("/d/f", b"x").unwrap();
    fs.symlink("/rel", "d/f").unwrap();
    fs.symlink("/d/abs", "/d/f").unwrap();
    fs.symlink("/dangling", "nowhere/at/all").unwrap();
    let long = "t".repeat(200);
    fs.symlink("/long", &long).unwrap();
    assert_eq!(fs.read_link("/rel").unwrap(), "d/f");
    assert_eq!(fs.read_link("/d/abs").unwrap(), "/d/f");
    assert_eq!(fs.read_link("/dangling").unwrap(), "nowhere/at/all");
    assert_eq!(fs.read_link("/long").unwrap(), long);

    // Not a link: libdfs answers EINVAL (obj.c: `!S_ISLNK(obj->mode)`), for files and
    // directories alike, and ENOENT for nothing at all.
    for not_a_link in ["/d/f", "/d", "/"] {
        let err = fs.read_link(not_a_link).unwrap_err();
        assert_eq!(err.errno(), Some(libc::EINVAL), "{not_a_link}: {err}");
        assert!(err.to_string().contains(not_a_link), "{err}");
    }
    assert!(fs.read_link("/missing").unwrap_err().is_not_found());
}

#[test]
fn attributes_apply_to_the_entry_itself_not_to_a_link_target() {
    let (_c, fs) = rw_mount("setattr");
    fs.mkdir("/d", 0o755).unwrap();
    fs.write_file_with_mode("/d/f", b"data", 0o644).unwrap();
    fs.symlink("/l", "/d/f").unwrap();
    let mtime = UNIX_EPOCH + Duration::new(1_600_000_000, 123_456_789);

    fs.set_attributes(
        "/d/f",
        &SetAttributes {
            mode: Some(0o640),
            uid: Some(1234),
            gid: Some(5678),
            mtime: Some(mtime),
        },
    )
    .unwrap();
    let st = fs.stat("/d/f").unwrap();
    assert_eq!(
        (st.permissions(), st.uid, st.gid, st.mtime),
        (0o640, 1234, 5678, mtime)
    );
    assert!(st.is_file());

    // On the link: owner and mtime of the link change, its target's do not.
    let link_mtime = UNIX_EPOCH + Duration::from_secs(1_500_000_000);
    fs.set_attributes(
        "/l",
        &SetAttributes {
            uid: Some(42),
            gid: Some(43),
            mtime: Some(link_mtime),
            ..SetAttributes::default()
        },
    )
    .unwrap();
    let link = fs.read_dir("/").unwrap();
    let link = link.iter().find(|e| e.name == "l").unwrap();
    assert_eq!(
        (link.stat.uid, link.stat.gid, link.stat.mtime),
        (42, 43, link_mtime)
    );
    let target = fs.stat("/d/f").unwrap();
    assert_eq!((target.uid, target.gid, target.mtime), (1234, 5678, mtime));

    // Directories and the root, and only the fields asked for.
    fs.set_attributes(
        "/d",
        &SetAttributes {
            mode: Some(0o750),
            ..SetAttributes::default()
        },
    )
    .unwrap();
    let d = fs.stat("/d").unwrap();
    assert_eq!(d.permissions(), 0o750);
    assert!(d.is_dir());
    fs.set_attributes(
        "/",
        &SetAttributes {
            gid: Some(77),
            mtime: Some(mtime),
            ..SetAttributes::default()
        },
    )
    .unwrap();
    let root = fs.stat("/").unwrap();
    assert_eq!((root.gid, root.mtime), (77, mtime));
}

#[test]
fn attribute_changes_that_libdfs_refuses() {
    let (c, fs) = rw_mount("setattrerr");
    fs.write_file("/f", b"x").unwrap();
    let sticky = fs
        .set_attributes(
            "/f",
            &SetAttributes {
                mode: Some(0o1777),
                ..SetAttributes::default()
            },
        )
        .unwrap_err();
    assert!(sticky.is_not_supported(), "{sticky}");
    assert_eq!(sticky.op(), "Dfs::set_attributes");
    let early = fs
        .set_attributes(
            "/f",
            &SetAttributes {
                mtime: Some(UNIX_EPOCH - Duration::from_secs(1)),
                ..SetAttributes::default()
            },
        )
        .unwrap_err();
    assert!(early.is_invalid(), "{early}");
    let missing = fs
        .set_attributes(
            "/missing",
            &SetAttributes {
                uid: Some(1),
                ..SetAttributes::default()
            },
        )
        .unwrap_err();
    assert!(missing.is_not_found(), "{missing}");
    assert!(
        fs.set_attributes("/missing", &SetAttributes::default())
            .unwrap_err()
            .is_not_found()
    );
    fs.set_attributes("/f", &SetAttributes::default()).unwrap();

    // A read-only mount refuses with EPERM (obj.c: `dfs->amode != O_RDWR`).
    let ro = c.open().mount_dfs(ContainerAccess::ReadOnly).unwrap();
    let err = ro
        .set_attributes(
            "/f",
            &SetAttributes {
                uid: Some(1),
                ..SetAttributes::default()
            },
        )
        .unwrap_err();
    assert_eq!(err.errno(), Some(libc::EPERM), "{err}");
    assert_eq!(fs.stat("/f").unwrap().uid, 0);
}

#[test]
fn copy_tree_keeps_content_and_metadata_of_every_entry() {
    let (_src_c, src) = rw_mount("copy-src");
    let (_dst_c, dst) = rw_mount("copy-dst");
    let data_bytes = common::write_copy_sample(&src);

    let (_, lib) = common::daos();
    let eq = daos::EventQueue::new(&lib).unwrap();
    let mut reports = Vec::new();
    let total = daos::copy_tree(
        &src,
        &dst,
        &eq,
        &daos::CopyOptions {
            in_flight: 4,
            chunk_size: 1 << 20,
        },
        &mut |p| reports.push(*p),
    )
    .unwrap();

    let (mut want, mut got) = (Vec::new(), Vec::new());
    listing(&src, "/", &mut want);
    listing(&dst, "/", &mut got);
    assert_eq!(want, got);
    assert_eq!((total.files, total.directories, total.symlinks), (3, 3, 2));
    assert_eq!(total.bytes, data_bytes);
    assert_eq!(reports.last(), Some(&total), "progress ends at the totals");
    assert!(
        reports.windows(2).all(|w| w[0].bytes <= w[1].bytes),
        "progress only grows"
    );
}
