//! libdfs fidelity: which modes `dfs_chmod`/`dfs_osetattr` refuse, what `dfs_readdir` fills
//! in, and how `dfs_read`/`dfs_write`/`dfs_punch` check their arguments and report through
//! events (src/client/dfs/{obj,readdir,io}.c of DAOS 2.6.5 and 2.8.0).

mod common;

use std::ffi::{CStr, c_void};
use std::ptr::{null, null_mut};

use common::{Emu, c};
use daos_emulator::capi::*;
use daos_emulator::ffi::*;

fn sys() -> &'static Emu {
    common::shared_system("8GiB", |_| {})
}

/// A fresh POSIX container, mounted read-write, with its handles.
struct Fs {
    poh: daos_handle_t,
    coh: daos_handle_t,
    dfs: *mut dfs_t,
}

impl Fs {
    /// The handles and the mount are released in Drop.
    fn new(prefix: &str) -> Fs {
        sys();
        let made = common::create_posix_mounted("tank", prefix);
        Fs {
            poh: made.poh,
            coh: made.coh,
            dfs: made.dfs,
        }
    }

    /// The root directory, looked up read-write; the caller releases it.
    fn root(&self) -> *mut dfs_obj_t {
        let mut root: *mut dfs_obj_t = null_mut();
        // SAFETY: live mount; valid path and out-pointer.
        let rc = unsafe {
            dfs_lookup(
                self.dfs,
                c("/").as_ptr(),
                libc::O_RDWR,
                &mut root,
                null_mut(),
                null_mut(),
            )
        };
        assert_eq!(rc, 0, "lookup /");
        root
    }

    fn read_only(&self) -> *mut dfs_t {
        let mut ro: *mut dfs_t = null_mut();
        // SAFETY: live handles; the caller unmounts.
        assert_eq!(
            unsafe { dfs_mount(self.poh, self.coh, libc::O_RDONLY, &mut ro) },
            0
        );
        ro
    }

    fn open(&self, name: &str, mode: u32, flags: i32, value: Option<&str>) -> *mut dfs_obj_t {
        let mut obj: *mut dfs_obj_t = null_mut();
        let value = value.map(c);
        // SAFETY: live mount; valid strings and out-pointer.
        let rc = unsafe {
            dfs_open(
                self.dfs,
                null_mut(),
                c(name).as_ptr(),
                mode,
                flags,
                0,
                0,
                value.as_ref().map_or(null(), |v| v.as_ptr()),
                &mut obj,
            )
        };
        assert_eq!(rc, 0, "open {name}");
        obj
    }

    /// `st_mode` of an entry of the root, or of the root itself (`None`).
    fn mode_of(&self, name: Option<&str>) -> u32 {
        let name = name.map(c);
        // SAFETY: zeroed stat is a valid buffer.
        let mut st: stat = unsafe { std::mem::zeroed() };
        // SAFETY: live mount; name NULL (the root) or a string; valid buffer.
        let rc = unsafe {
            dfs_stat(
                self.dfs,
                null_mut(),
                name.as_ref().map_or(null(), |n| n.as_ptr()),
                &mut st,
            )
        };
        assert_eq!(rc, 0, "stat {name:?}");
        st.st_mode
    }
}

impl Drop for Fs {
    fn drop(&mut self) {
        // SAFETY: the mount and handles this value owns, released once.
        unsafe {
            dfs_umount(self.dfs);
            daos_cont_close(self.coh, null_mut());
            daos_pool_disconnect(self.poh, null_mut());
        }
    }
}

fn chmod(dfs: *mut dfs_t, name: Option<&str>, mode: u32) -> i32 {
    let name = name.map(c);
    // SAFETY: live mount; NULL parent is the root; name NULL or a string.
    unsafe {
        dfs_chmod(
            dfs,
            null_mut(),
            name.as_ref().map_or(null(), |n| n.as_ptr()),
            mode,
        )
    }
}

#[test]
fn the_sticky_bit_is_refused_and_setuid_setgid_are_kept() {
    let fs = Fs::new("sticky");
    // The root, by NULL name, and an entry.
    assert_eq!(chmod(fs.dfs, None, 0o1777), libc::ENOTSUP);
    assert_eq!(fs.mode_of(None), libc::S_IFDIR | 0o755, "root unchanged");
    assert_eq!(chmod(fs.dfs, None, 0o6777), 0);
    assert_eq!(fs.mode_of(None), libc::S_IFDIR | 0o6777);
    let f = fs.open(
        "f",
        libc::S_IFREG | 0o644,
        libc::O_RDWR | libc::O_CREAT,
        None,
    );
    assert_eq!(
        chmod(fs.dfs, Some("f"), libc::S_ISVTX | 0o644),
        libc::ENOTSUP
    );
    assert_eq!(chmod(fs.dfs, Some("f"), 0o4755), 0);
    assert_eq!(fs.mode_of(Some("f")), libc::S_IFREG | 0o4755);
    // The sticky check comes before the lookup, after the mount and name checks.
    assert_eq!(chmod(fs.dfs, Some("missing"), 0o1777), libc::ENOTSUP);
    assert_eq!(chmod(fs.dfs, Some("missing"), 0o777), libc::ENOENT);
    let ro = fs.read_only();
    assert_eq!(
        chmod(ro, None, 0o1777),
        libc::EPERM,
        "read-only mount first"
    );
    // A different file type in the mode is refused.
    assert_eq!(
        chmod(fs.dfs, Some("f"), libc::S_IFDIR | 0o755),
        libc::EINVAL
    );

    // dfs_osetattr with DFS_SET_ATTR_MODE: the type must match, the sticky bit is refused.
    // SAFETY: zeroed stat is a valid buffer.
    let mut st: stat = unsafe { std::mem::zeroed() };
    st.st_mode = libc::S_IFREG | 0o1644;
    // SAFETY: live mount and object; valid buffer.
    unsafe {
        assert_eq!(
            dfs_osetattr(fs.dfs, f, &mut st, DFS_SET_ATTR_MODE as i32),
            libc::ENOTSUP
        );
        st.st_mode = 0o644;
        assert_eq!(
            dfs_osetattr(fs.dfs, f, &mut st, DFS_SET_ATTR_MODE as i32),
            libc::EINVAL,
            "no file type"
        );
        st.st_mode = libc::S_IFREG | 0o2640;
        assert_eq!(
            dfs_osetattr(fs.dfs, f, &mut st, DFS_SET_ATTR_MODE as i32),
            0
        );
        assert_eq!(st.st_mode, libc::S_IFREG | 0o2640);
        dfs_release(f);
        dfs_umount(ro);
    }
    // Creating is not checked: mkdir and open store the mode they are given.
    // SAFETY: live mount; valid name.
    let rc = unsafe { dfs_mkdir(fs.dfs, null_mut(), c("tmp").as_ptr(), 0o1777, 0) };
    assert_eq!(rc, 0);
    assert_eq!(fs.mode_of(Some("tmp")), libc::S_IFDIR | 0o1777);
}

#[test]
fn readdir_fills_names_only_and_readdirplus_adds_each_stat() {
    let fs = Fs::new("readdir");
    // SAFETY: live mount; valid names.
    unsafe {
        assert_eq!(
            dfs_mkdir(fs.dfs, null_mut(), c("dir").as_ptr(), 0o755, 0),
            0
        );
    }
    let file = fs.open(
        "file",
        libc::S_IFREG | 0o644,
        libc::O_RDWR | libc::O_CREAT,
        None,
    );
    let link = fs.open(
        "link",
        libc::S_IFLNK | 0o777,
        libc::O_RDWR | libc::O_CREAT,
        Some("/file"),
    );
    let root = fs.root();
    // SAFETY: live mount, objects released below; sentinel-filled dirents and stats of the
    // requested count.
    unsafe {
        dfs_release(file);
        dfs_release(link);
        let mut sentinel: dirent = std::mem::zeroed();
        sentinel.d_type = 0x5a;
        sentinel.d_ino = 77;
        sentinel.d_off = 88;
        sentinel.d_reclen = 99;
        let mut ents = vec![sentinel; 8];
        let mut anchor = daos_anchor_t::default();
        let mut nr = 0u32;
        assert_eq!(
            dfs_readdir(fs.dfs, root, &mut anchor, &mut nr, null_mut()),
            0,
            "nothing asked, nothing checked"
        );
        nr = 8;
        assert_eq!(
            dfs_readdir(fs.dfs, root, &mut anchor, &mut nr, ents.as_mut_ptr()),
            0
        );
        assert_eq!((nr, anchor.da_type), (3, 3));
        let mut names: Vec<String> = ents[..3]
            .iter()
            .map(|d| {
                assert_eq!(
                    (d.d_type, d.d_ino, d.d_off, d.d_reclen),
                    (0x5a, 77, 88, 99),
                    "libdfs writes d_name only"
                );
                CStr::from_ptr(d.d_name.as_ptr())
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        names.sort();
        assert_eq!(names, ["dir", "file", "link"]);

        // readdirplus: the stat of each entry itself (a link is not followed), in batches.
        let mut anchor = daos_anchor_t::default();
        let mut kinds = Vec::new();
        while anchor.da_type != 3 {
            let mut nr = 2u32;
            let mut stats: Vec<stat> = vec![std::mem::zeroed(); 2];
            assert_eq!(
                dfs_readdirplus(
                    fs.dfs,
                    root,
                    &mut anchor,
                    &mut nr,
                    ents.as_mut_ptr(),
                    stats.as_mut_ptr()
                ),
                0
            );
            for i in 0..nr as usize {
                let name = CStr::from_ptr(ents[i].d_name.as_ptr())
                    .to_string_lossy()
                    .into_owned();
                kinds.push((name, stats[i].st_mode & libc::S_IFMT));
            }
        }
        kinds.sort();
        assert_eq!(
            kinds,
            [
                ("dir".to_string(), libc::S_IFDIR),
                ("file".to_string(), libc::S_IFREG),
                ("link".to_string(), libc::S_IFLNK)
            ]
        );
        // Not a directory.
        let f = fs.open("file", libc::S_IFREG, libc::O_RDONLY, None);
        let mut nr = 1u32;
        let mut anchor = daos_anchor_t::default();
        assert_eq!(
            dfs_readdir(fs.dfs, f, &mut anchor, &mut nr, ents.as_mut_ptr()),
            libc::ENOTDIR
        );
        dfs_release(f);
        dfs_release(root);
    }
}

fn sgl_of(iov: &mut d_iov_t) -> d_sg_list_t {
    d_sg_list_t {
        sg_nr: 1,
        sg_nr_out: 0,
        sg_iovs: iov,
    }
}

fn iov(buf: &mut [u8]) -> d_iov_t {
    d_iov_t {
        iov_buf: buf.as_mut_ptr() as *mut c_void,
        iov_buf_len: buf.len(),
        iov_len: buf.len(),
    }
}

/// Polls `eqh` until one event completes; returns its `ev_error`.
fn wait_one(eqh: daos_handle_t) -> i32 {
    let mut done: *mut daos_event_t = null_mut();
    // SAFETY: valid queue and room for one event pointer.
    let n = unsafe { daos_eq_poll(eqh, 1, 5_000_000, 1, &mut done) };
    assert_eq!(n, 1, "one event completes");
    // SAFETY: the completed event, still owned by the caller.
    unsafe { (*done).ev_error }
}

#[test]
fn read_and_write_check_arguments_first_and_events_carry_errnos() {
    let fs = Fs::new("rwio");
    let w = fs.open(
        "data",
        libc::S_IFREG | 0o644,
        libc::O_RDWR | libc::O_CREAT,
        None,
    );
    let r = fs.open("data", libc::S_IFREG, libc::O_RDONLY, None);
    let mut data = *b"0123456789";
    let mut back = [0u8; 16];
    let mut eqh = daos_handle_t::default();
    // SAFETY: valid out-pointer.
    assert_eq!(unsafe { daos_eq_create(&mut eqh) }, 0);
    // SAFETY: zeroed events are what daos_event_init expects.
    let mut ev: Box<daos_event_t> = Box::new(unsafe { std::mem::zeroed() });
    // SAFETY: every buffer, list, object and the event outlive the calls and the polls that
    // complete them.
    unsafe {
        assert_eq!(daos_event_init(&mut *ev, eqh, null_mut()), 0);
        let mut wiov = iov(&mut data);
        let mut wsgl = sgl_of(&mut wiov);
        assert_eq!(dfs_write(fs.dfs, w, &mut wsgl, 0, &mut *ev), 0);
        assert_eq!(wait_one(eqh), 0);
        // A read-only object: refused at once, the event is not launched.
        assert_eq!(dfs_write(fs.dfs, r, &mut wsgl, 0, &mut *ev), libc::EPERM);
        // The root directory is no file.
        let root = fs.root();
        assert_eq!(
            dfs_write(fs.dfs, root, &mut wsgl, 0, &mut *ev),
            libc::EINVAL
        );
        let mut got: daos_size_t = 99;
        let mut riov = iov(&mut back);
        let mut rsgl = sgl_of(&mut riov);
        assert_eq!(
            dfs_read(fs.dfs, root, &mut rsgl, 0, &mut got, &mut *ev),
            libc::EINVAL
        );
        assert_eq!(
            dfs_read(fs.dfs, r, &mut rsgl, 0, null_mut(), &mut *ev),
            libc::EINVAL,
            "no read size"
        );
        dfs_release(root);
        // Short read at the end, nothing past it.
        assert_eq!(dfs_read(fs.dfs, r, &mut rsgl, 4, &mut got, &mut *ev), 0);
        assert_eq!(wait_one(eqh), 0);
        assert_eq!(got, 6);
        assert_eq!(&back[..6], b"456789");
        assert_eq!(
            dfs_read(fs.dfs, r, &mut rsgl, 1 << 40, &mut got, null_mut()),
            0
        );
        assert_eq!(got, 0);
        // The length is iov_len, not the capacity.
        (*rsgl.sg_iovs).iov_len = 3;
        assert_eq!(dfs_read(fs.dfs, r, &mut rsgl, 0, &mut got, null_mut()), 0);
        assert_eq!(got, 3);
        (*rsgl.sg_iovs).iov_len = 0;
        got = 99;
        assert_eq!(dfs_read(fs.dfs, r, &mut rsgl, 0, &mut got, &mut *ev), 0);
        assert_eq!(wait_one(eqh), 0, "an empty read completes its event");
        assert_eq!(got, 0);

        // An error that happens during the I/O comes back as an errno through the event.
        let id = sys().dmg(&[
            "fault",
            "set",
            "--op",
            "dfs_write",
            "--der=-1007",
            "--count",
            "1",
        ]);
        assert_eq!(dfs_write(fs.dfs, w, &mut wsgl, 0, &mut *ev), 0);
        assert_eq!(wait_one(eqh), libc::ENOSPC, "an errno, not -DER_NOSPACE");
        sys().dmg(&["fault", "remove", id.trim()]);

        // Punch: a read-only object is refused; DFS_MAX_FSIZE sets the size (also larger).
        assert_eq!(dfs_punch(fs.dfs, r, 0, 1), libc::EPERM);
        assert_eq!(dfs_punch(fs.dfs, w, 2, 3), 0);
        (*rsgl.sg_iovs).iov_len = 16;
        assert_eq!(dfs_read(fs.dfs, r, &mut rsgl, 0, &mut got, null_mut()), 0);
        assert_eq!(&back[..got as usize], b"01\0\0\x0056789");
        assert_eq!(dfs_punch(fs.dfs, w, 4, DFS_MAX_FSIZE as u64), 0);
        let mut size = 0;
        assert_eq!(dfs_get_size(fs.dfs, w, &mut size), 0);
        assert_eq!(size, 4);
        assert_eq!(dfs_punch(fs.dfs, w, 4096, DFS_MAX_FSIZE as u64), 0);
        assert_eq!(dfs_get_size(fs.dfs, w, &mut size), 0);
        assert_eq!(size, 4096, "extended");
        assert_eq!(dfs_punch(fs.dfs, w, 8192, 10), 0, "past the end: nothing");
        assert_eq!(dfs_get_size(fs.dfs, w, &mut size), 0);
        assert_eq!(size, 4096);

        assert_eq!(daos_event_fini(&mut *ev), 0);
        assert_eq!(daos_eq_destroy(eqh, 0), 0);
        dfs_release(r);
        dfs_release(w);
    }
}
