//! Copying a snapshot of a POSIX container object by object (`copy_snapshot_objects`), the
//! route of a DAOS 2.6 client: the copy mounts as the snapshot was, times included.

mod common;

use common::{TempContainer, listing, rw_mount};
use daos::{
    ContainerAccess, Der, EventQueue, ObjectCopyOptions, Properties, copy_snapshot_objects,
    object_copy_properties,
};

/// A container with no objects, made with `props`, as a copy's destination must be.
fn bare_destination(prefix: &str, props: &Properties) -> TempContainer {
    let pool = common::pool();
    let label = daos_test_harness::unique_label(prefix);
    let uuid = pool
        .create_container(&label, props)
        .expect("create the destination");
    TempContainer { pool, label, uuid }
}

/// Copies snapshot `epoch` of `src` into `dst` with `in_flight`, reporting progress.
fn copy(
    src: &daos::Container,
    epoch: daos::Epoch,
    dst: &TempContainer,
    in_flight: usize,
    progress: &mut dyn FnMut(&daos::CopyProgress),
) -> daos::Result<daos::CopyProgress> {
    let (_, lib) = common::daos();
    let eq = EventQueue::new(&lib).unwrap();
    copy_snapshot_objects(
        src,
        epoch,
        &dst.open(),
        &eq,
        &ObjectCopyOptions { in_flight },
        progress,
    )
}

#[test]
fn a_copied_snapshot_mounts_as_the_snapshot_was() {
    let (src_c, src) = rw_mount("objcopy-src");
    let data_bytes = common::write_copy_sample(&src);
    let cont = src_c.open();
    let epoch = cont.create_snapshot_with_object_index().unwrap();
    let mut want = Vec::new();
    listing(&src, "/", &mut want);
    // The source moves on after the snapshot: none of this may reach the copy.
    src.write_file("/a/small", b"changed").unwrap();
    src.write_file("/after", b"after").unwrap();
    src.remove("/empty", false).unwrap();

    let dst_c = bare_destination("objcopy-dst", &object_copy_properties(&cont).unwrap());
    let mut reports = Vec::new();
    let total = copy(&cont, epoch, &dst_c, 4, &mut |p| reports.push(*p)).unwrap();
    assert_eq!((total.files, total.directories, total.symlinks), (3, 3, 2));
    assert_eq!(total.bytes, data_bytes);
    assert_eq!(reports.last(), Some(&total), "progress ends at the totals");

    let copy = dst_c.open().mount_dfs(ContainerAccess::ReadWrite).unwrap();
    let mut got = Vec::new();
    listing(&copy, "/", &mut got);
    assert_eq!(want, got, "content, modes, owners, sizes and mtimes");
    // A file made in the copy takes a new object id: it neither fails nor clobbers one.
    copy.write_file("/a/new", b"new").unwrap();
    assert_eq!(copy.read_file("/a/small").unwrap(), b"small");
    assert_eq!(copy.read_file("/a/new").unwrap(), b"new");
}

#[test]
fn a_snapshot_without_an_object_index_is_refused_saying_why() {
    let (src_c, src) = rw_mount("objcopy-nooit");
    src.write_file("/f", b"x").unwrap();
    let cont = src_c.open();
    let epoch = cont.create_snapshot().unwrap();
    let dst_c = bare_destination("objcopy-nooit-dst", &object_copy_properties(&cont).unwrap());
    let err = copy(&cont, epoch, &dst_c, 16, &mut |_| {}).unwrap_err();
    assert_eq!(err.der(), Some(Der::Nonexist), "{err}");
    assert!(err.to_string().contains("object index"), "{err}");

    // Indexed afterwards, the same snapshot copies.
    cont.create_object_index(epoch).unwrap();
    copy(&cont, epoch, &dst_c, 16, &mut |_| {}).unwrap();
    let copy = dst_c.open().mount_dfs(ContainerAccess::ReadOnly).unwrap();
    assert_eq!(copy.read_file("/f").unwrap(), b"x");
}

#[test]
fn no_operations_in_flight_is_invalid() {
    let (src_c, _src) = rw_mount("objcopy-zero");
    let cont = src_c.open();
    let epoch = cont.create_snapshot_with_object_index().unwrap();
    let err = copy(&cont, epoch, &src_c, 0, &mut |_| {}).unwrap_err();
    assert!(err.is_invalid(), "{err}");
}
