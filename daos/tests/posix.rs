//! POSIX containers through libdfs: creation options, root ownership, and file operations.

mod common;

use common::{TempContainer, pool};
use daos::{ContainerAccess, FileType, PosixContainerSpec, PropType, Properties};
use daos_test_harness::unique_label;

#[test]
fn default_posix_container_has_a_posix_layout_and_a_root() {
    let c = TempContainer::posix("posix");
    let cont = c.open();
    let props = cont.properties().unwrap();
    assert_eq!(
        props.get_u64(PropType::LAYOUT_TYPE),
        Some(1),
        "layout POSIX"
    );
    let fs = cont.mount_dfs(ContainerAccess::ReadOnly).unwrap();
    let root = fs.stat("/").unwrap();
    assert!(root.is_dir());
    // SAFETY: geteuid has no preconditions.
    assert_eq!(root.uid, unsafe { libc::geteuid() });
    assert_eq!(root.permissions(), 0o755);
    assert!(fs.read_dir("/").unwrap().is_empty());
    let attrs = fs.query().unwrap();
    assert!(attrs.chunk_size > 0);
    let usage = fs.statfs().unwrap();
    assert!(usage.total_bytes > 0 && usage.free_bytes <= usage.total_bytes);
    assert_eq!(fs.container().uuid(), c.uuid);
}

#[test]
fn spec_options_are_applied() {
    let mut spec = PosixContainerSpec::new(unique_label("spec"));
    spec.chunk_size = Some(4 << 20);
    spec.object_class = Some("SX".into());
    spec.hints = Some("file:single,dir:max".into());
    spec.root_owner = Some((1234, 5678));
    spec.root_mode = Some(0o2770);
    spec.properties = Properties::from_pairs(&[("rd_fac", "0"), ("group", "root@")]).unwrap();
    let c = TempContainer::posix_with(spec);
    let cont = c.open();
    let props = cont.properties().unwrap();
    assert_eq!(props.get_owner_group(), Some("root@"));
    assert_eq!(props.get_u64(PropType::REDUN_FAC), Some(0));
    let fs = cont.mount_dfs(ContainerAccess::ReadOnly).unwrap();
    let attrs = fs.query().unwrap();
    assert_eq!(attrs.chunk_size, 4 << 20);
    assert_eq!(
        attrs.object_class,
        daos::dfs::object_class_id("SX").unwrap()
    );
    // libdfs reports the hints it kept, if any; it never invents others.
    assert!(
        attrs.hints == "file:single,dir:max" || attrs.hints.is_empty(),
        "{attrs:?}"
    );
    let root = fs.stat("/").unwrap();
    assert_eq!((root.uid, root.gid), (1234, 5678));
    assert_eq!(root.permissions(), 0o2770);
    assert!(root.is_dir());
}

#[test]
fn unknown_object_class_is_invalid_and_creates_nothing() {
    let pool = pool();
    let mut spec = PosixContainerSpec::new(unique_label("badclass"));
    spec.object_class = Some("NO_SUCH_CLASS".into());
    let err = pool.create_posix_container(&spec).unwrap_err();
    assert!(err.is_invalid(), "{err}");
    assert!(
        !pool
            .list_containers()
            .unwrap()
            .iter()
            .any(|e| e.label.as_deref() == Some(spec.label.as_str()))
    );
}

/// libdfs refuses object classes that tolerate fewer failures than the container's
/// redundancy factor, before it creates anything. (Only refusals and RF 0 are asserted: on a
/// real single-engine system a redundant container cannot be opened at all.)
#[test]
fn object_classes_must_tolerate_the_redundancy_factor() {
    let pool = pool();
    let refused = [
        ("S1", None, "1"),
        ("SX", None, "2"),
        ("EC_2P1G1", None, "2"),
        ("RP_2G1", None, "2"),
        // The file class overrides the default one, and is checked on its own.
        ("RP_3G1", Some("S1"), "1"),
    ];
    for (class, file_class, rf) in refused {
        let mut spec = PosixContainerSpec::new(unique_label("rfclass"));
        spec.object_class = Some(class.into());
        spec.file_object_class = file_class.map(str::to_string);
        spec.properties = Properties::from_pairs(&[("rd_fac", rf)]).unwrap();
        let err = pool.create_posix_container(&spec).unwrap_err();
        assert!(
            err.is_invalid(),
            "{class}/{file_class:?} with RF {rf}: {err}"
        );
        assert!(
            !pool
                .list_containers()
                .unwrap()
                .iter()
                .any(|e| e.label.as_deref() == Some(spec.label.as_str())),
            "{class} with RF {rf} left a container"
        );
    }
    let mut spec = PosixContainerSpec::new(unique_label("rf0"));
    spec.object_class = Some("S1".into());
    spec.properties = Properties::from_pairs(&[("rd_fac", "0")]).unwrap();
    pool.create_posix_container(&spec).expect("S1 with RF 0");
    pool.destroy_container(&spec.label, false).expect("destroy");
}

#[test]
fn posix_create_errors() {
    let pool = pool();
    let c = TempContainer::posix("dupfs");
    let err = pool
        .create_posix_container(&PosixContainerSpec::new(c.label.clone()))
        .unwrap_err();
    assert!(err.is_exists(), "{err}");
    let err = pool
        .create_posix_container(&PosixContainerSpec::new("bad label"))
        .unwrap_err();
    assert!(err.is_invalid(), "{err}");
    let mut spec = PosixContainerSpec::new(unique_label("labelprop"));
    spec.properties = Properties::new().label("x");
    assert!(pool.create_posix_container(&spec).unwrap_err().is_invalid());
}

#[test]
fn files_and_directories() {
    let c = TempContainer::posix("files");
    let cont = c.open();
    let fs = cont.mount_dfs(ContainerAccess::ReadWrite).unwrap();
    fs.mkdir("/d", 0o750).unwrap();
    assert!(fs.mkdir("/d", 0o750).unwrap_err().is_exists());
    assert!(fs.mkdir("/missing/d", 0o750).unwrap_err().is_not_found());
    fs.mkdir_all("/d/e/f", 0o755).unwrap();
    fs.mkdir_all("/d/e/f", 0o755).unwrap();
    assert!(fs.stat("/d/e/f").unwrap().is_dir());
    assert_eq!(fs.stat("/d").unwrap().permissions(), 0o750);

    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    fs.write_file("/d/big.bin", &data).unwrap();
    assert_eq!(fs.read_file("/d/big.bin").unwrap(), data);
    let st = fs.stat("d/big.bin").unwrap();
    assert!(st.is_file());
    assert_eq!(st.size, data.len() as u64);
    // Rewriting truncates.
    fs.write_file("/d/big.bin", b"short").unwrap();
    assert_eq!(fs.read_file("/d/big.bin").unwrap(), b"short");
    fs.write_file("/d/empty", b"").unwrap();
    fs.write_file_with_mode("/d/secret", b"s", 0o600).unwrap();
    assert_eq!(fs.stat("/d/secret").unwrap().permissions(), 0o600);
    fs.remove("/d/secret", false).unwrap();
    assert_eq!(fs.read_file("/d/empty").unwrap(), b"");

    fs.chown("/d/big.bin", 42, 43).unwrap();
    fs.chmod("/d/big.bin", 0o600).unwrap();
    let st = fs.stat("/d/big.bin").unwrap();
    assert_eq!((st.uid, st.gid, st.permissions()), (42, 43, 0o600));

    let mut entries = fs.read_dir("/d").unwrap();
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    let summary: Vec<(&str, FileType)> = entries
        .iter()
        .map(|e| (e.name.as_str(), e.file_type))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("big.bin", FileType::File),
            ("e", FileType::Directory),
            ("empty", FileType::File)
        ]
    );
    assert_eq!(fs.read_dir("/").unwrap().len(), 1);

    assert!(fs.stat("/d/nothing").unwrap_err().is_not_found());
    assert!(!fs.exists("/d/nothing").unwrap());
    assert!(fs.exists("/d/empty").unwrap());
    assert!(fs.read_file("/nothing").unwrap_err().is_not_found());
    assert!(fs.stat("/d/../x").unwrap_err().is_invalid());
    assert!(
        fs.stat("/d/big.bin/x").is_err(),
        "a file is not a directory"
    );

    let err = fs.remove("/d", false).unwrap_err();
    assert!(
        !err.is_not_found(),
        "a non-empty directory is not removed: {err}"
    );
    fs.remove("/d/empty", false).unwrap();
    fs.remove("/d", true).unwrap();
    assert!(!fs.exists("/d").unwrap());
    assert!(fs.remove("/", true).is_err());
    fs.unmount().unwrap();
    // With the mount gone the container closes cleanly.
    cont.close().unwrap();
}

#[test]
fn root_of_a_fresh_container_can_be_given_away() {
    let c = TempContainer::posix("chroot");
    let cont = c.open();
    {
        let fs = cont.mount_dfs(ContainerAccess::ReadWrite).unwrap();
        fs.chown("/", 2000, 3000).unwrap();
        // libdfs refuses the sticky bit (ENOTSUP); the crate says so before calling it.
        let err = fs.chmod("/", 0o1777).unwrap_err();
        assert!(err.is_not_supported() && !err.is_from_daos(), "{err}");
        assert_eq!(err.op(), "Dfs::chmod", "no C function was called");
        assert_eq!(fs.stat("/").unwrap().permissions(), 0o755, "unchanged");
        // Setuid and setgid are kept.
        fs.chmod("/", 0o6777).unwrap();
        assert_eq!(fs.stat("/").unwrap().permissions(), 0o6777);
        fs.chmod("/", 0o2777).unwrap();
    }
    let fs = cont.mount_dfs(ContainerAccess::ReadOnly).unwrap();
    let root = fs.stat("/").unwrap();
    assert_eq!(
        (root.uid, root.gid, root.permissions()),
        (2000, 3000, 0o2777)
    );
}

#[test]
fn a_sticky_root_mode_is_refused_before_anything_is_created() {
    let pool = pool();
    let mut spec = PosixContainerSpec::new(unique_label("sticky"));
    spec.root_mode = Some(0o1777);
    let err = pool.create_posix_container(&spec).unwrap_err();
    assert!(err.is_not_supported() && !err.is_from_daos(), "{err}");
    assert_eq!(err.op(), "Pool::create_posix_container");
    assert!(
        !pool
            .list_containers()
            .unwrap()
            .iter()
            .any(|e| e.label.as_deref() == Some(spec.label.as_str())),
        "nothing was created"
    );
}

#[test]
fn listing_reports_the_type_of_every_entry() {
    let c = TempContainer::posix("types");
    let cont = c.open();
    let fs = cont.mount_dfs(ContainerAccess::ReadWrite).unwrap();
    fs.mkdir("/dir", 0o755).unwrap();
    fs.write_file("/file", b"x").unwrap();
    fs.symlink("/link", "/file").unwrap();
    fs.symlink("/dangling", "/nowhere").unwrap();
    let mut entries: Vec<(String, FileType)> = fs
        .read_dir("/")
        .unwrap()
        .into_iter()
        .map(|e| (e.name, e.file_type))
        .collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        entries,
        vec![
            ("dangling".to_string(), FileType::Symlink),
            ("dir".to_string(), FileType::Directory),
            ("file".to_string(), FileType::File),
            ("link".to_string(), FileType::Symlink),
        ]
    );
}

#[test]
fn a_plain_container_cannot_be_mounted() {
    let c = TempContainer::plain("notposix");
    let cont = c.open();
    let err = cont.mount_dfs(ContainerAccess::ReadOnly).unwrap_err();
    assert!(err.is_invalid(), "{err}");
    assert_eq!(err.op(), "dfs_mount");
}

#[test]
fn mounts_are_shared_across_threads() {
    let c = TempContainer::posix("threads");
    let cont = c.open();
    let fs = cont.mount_dfs(ContainerAccess::ReadWrite).unwrap();
    std::thread::scope(|s| {
        for i in 0..8 {
            let fs = &fs;
            s.spawn(move || {
                let path = format!("/t{i}");
                fs.write_file(&path, path.as_bytes()).unwrap();
                assert_eq!(fs.read_file(&path).unwrap(), path.as_bytes());
            });
        }
    });
    assert_eq!(fs.read_dir("/").unwrap().len(), 8);
}
