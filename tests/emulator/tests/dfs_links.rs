//! libdfs fidelity of what a tree copy uses: `dfs_get_symlink_value` (its size protocol and
//! refusals), `dfs_osetattr` on a link itself, and `dfs_mount_snap`'s arguments
//! (src/client/dfs/{obj,mnt}.c of DAOS 2.6.5 and 2.8.0).

mod common;

use std::ffi::CStr;
use std::ptr::{null, null_mut};

use common::{Emu, c};
use daos_emulator::capi::*;
use daos_emulator::ffi::*;

fn sys() -> &'static Emu {
    common::shared_system("8GiB", |_| {})
}

/// A new POSIX container mounted read-write: (pool, container, mount).
/// The handles live until the process ends.
fn posix(prefix: &str) -> (daos_handle_t, daos_handle_t, *mut dfs_t) {
    sys();
    let made = common::create_posix_mounted("tank", prefix);
    (made.poh, made.coh, made.dfs)
}

fn lookup(dfs: *mut dfs_t, name: &str, flags: i32) -> *mut dfs_obj_t {
    let mut obj: *mut dfs_obj_t = null_mut();
    let mut mode: mode_t = 0;
    // SAFETY: live mount; valid name and out-pointers.
    let rc = unsafe {
        dfs_lookup_rel(
            dfs,
            null_mut(),
            c(name).as_ptr(),
            flags,
            &mut obj,
            &mut mode,
            null_mut(),
        )
    };
    assert_eq!(rc, 0, "lookup {name}");
    obj
}

#[test]
fn symlink_values_report_their_size_and_fit_a_small_buffer() {
    let (_, _, dfs) = posix("linkval");
    let file = common::dfs_create(dfs, "f", libc::S_IFREG | 0o644, None);
    let created = common::dfs_create(dfs, "l", libc::S_IFLNK | 0o777, Some("some/target"));
    let looked_up = lookup(dfs, "l", libc::O_RDONLY | libc::O_NOFOLLOW);
    for link in [created, looked_up] {
        // A zero size (or no buffer) only reports the size, NUL included.
        let mut size: daos_size_t = 0;
        // SAFETY: a live object; NULL buffer with size 0.
        assert_eq!(
            unsafe { dfs_get_symlink_value(link, null_mut(), &mut size) },
            0
        );
        assert_eq!(size, 12);
        let mut buf = [0x7fu8; 32];
        size = 32;
        // SAFETY: the buffer holds `size` bytes.
        assert_eq!(
            unsafe { dfs_get_symlink_value(link, buf.as_mut_ptr().cast(), &mut size) },
            0
        );
        assert_eq!(size, 12);
        assert_eq!(CStr::from_bytes_until_nul(&buf).unwrap(), c"some/target");
        // Too small: the start of the target, NUL-terminated; the size says what it needs.
        let mut small = [0x7fu8; 8];
        size = 5;
        // SAFETY: the buffer holds more than `size` bytes.
        assert_eq!(
            unsafe { dfs_get_symlink_value(link, small.as_mut_ptr().cast(), &mut size) },
            0
        );
        assert_eq!(size, 12);
        assert_eq!(&small[..6], b"some\0\x7f");
    }
    let mut size: daos_size_t = 8;
    let mut buf = [0u8; 8];
    // SAFETY: live objects and valid buffers; NULL objects and sizes are refused.
    unsafe {
        assert_eq!(
            dfs_get_symlink_value(file, buf.as_mut_ptr().cast(), &mut size),
            libc::EINVAL
        );
        assert_eq!(
            dfs_get_symlink_value(null_mut(), buf.as_mut_ptr().cast(), &mut size),
            libc::EINVAL
        );
        assert_eq!(
            dfs_get_symlink_value(created, buf.as_mut_ptr().cast(), null_mut()),
            libc::EINVAL
        );
        for o in [file, created, looked_up] {
            dfs_release(o);
        }
    }
}

#[test]
fn a_mode_set_on_a_link_never_reaches_its_target() {
    let (_, _, dfs) = posix("linkmode");
    let file = common::dfs_create(dfs, "f", libc::S_IFREG | 0o644, None);
    let made = common::dfs_create(dfs, "l", libc::S_IFLNK | 0o777, Some("f"));
    let link = lookup(dfs, "l", libc::O_RDWR | libc::O_NOFOLLOW);
    // SAFETY: zeroed stat is a valid buffer.
    let mut st: stat = unsafe { std::mem::zeroed() };
    st.st_mode = libc::S_IFLNK | 0o700;
    // SAFETY: live mount and object; valid buffer.
    assert_eq!(
        unsafe { dfs_osetattr(dfs, link, &mut st, DFS_SET_ATTR_MODE as i32) },
        0
    );
    // SAFETY: as above.
    let mut target: stat = unsafe { std::mem::zeroed() };
    // SAFETY: live mount; valid name and buffer.
    assert_eq!(
        unsafe { dfs_stat(dfs, null_mut(), c"f".as_ptr(), &mut target) },
        0
    );
    assert_eq!(target.st_mode, libc::S_IFREG | 0o644);
    // SAFETY: objects of this test, released once.
    unsafe {
        for o in [file, made, link] {
            dfs_release(o);
        }
    }
}

#[test]
fn a_snapshot_mount_is_read_only_whatever_the_flags() {
    let (poh, coh, dfs) = posix("snapflags");
    let f = common::dfs_create(dfs, "f", libc::S_IFREG | 0o644, None);
    let mut epoch: daos_epoch_t = 0;
    // SAFETY: live handle; valid out-pointer; no name, no event.
    assert_eq!(
        unsafe { daos_cont_create_snap(coh, &mut epoch, null_mut(), null_mut()) },
        0
    );
    let mut snap: *mut dfs_t = null_mut();
    // SAFETY: live handles; valid out-pointer. libdfs mounts O_RDONLY whatever flags say.
    assert_eq!(
        unsafe { dfs_mount_snap(poh, coh, libc::O_RDWR, epoch, null(), &mut snap) },
        0
    );
    let mut obj: *mut dfs_obj_t = null_mut();
    // SAFETY: live snapshot mount; valid name and out-pointer.
    let rc = unsafe {
        dfs_open(
            snap,
            null_mut(),
            c"g".as_ptr(),
            libc::S_IFREG | 0o644,
            libc::O_RDWR | libc::O_CREAT,
            0,
            0,
            null(),
            &mut obj,
        )
    };
    assert_eq!(rc, libc::EPERM);
    let mut other: *mut dfs_t = null_mut();
    // SAFETY: as above; DAOS_EPOCH_MAX is refused, and so is epoch 0 without a name.
    unsafe {
        assert_eq!(
            dfs_mount_snap(poh, coh, libc::O_RDONLY, u64::MAX, null(), &mut other),
            libc::EINVAL
        );
        assert_eq!(
            dfs_mount_snap(poh, coh, libc::O_RDONLY, 0, null(), &mut other),
            libc::EINVAL
        );
        assert_eq!(dfs_umount(snap), 0);
        dfs_release(f);
    }
}
