//! The emulated dfuse: real FUSE mounts (root and /dev/fuse; skipped with a note otherwise,
//! failed under CI=true).

mod common;

use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::Emu;

fn mountinfo_line(mnt: &Path) -> Option<String> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let want = mnt.to_str()?;
    info.lines()
        .find(|l| l.split(' ').nth(4) == Some(want))
        .map(str::to_string)
}

fn posix_container(e: &Emu, label: &str) {
    let out = e
        .cmd("daos-emu-cli")
        .args(["container", "create", "--type", "POSIX", "tank", label])
        .output()
        .unwrap();
    common::assert_exited_0(&out, format_args!("container create {label}"));
}

fn mountpoint(e: &Emu, name: &str) -> PathBuf {
    let p = e.dir.join(name);
    std::fs::create_dir_all(&p).unwrap();
    p
}

fn dfuse(e: &Emu, args: &[&str]) -> std::process::Output {
    e.cmd("dfuse").args(args).output().unwrap()
}

/// A fresh system (pool `tank` of `size`) with a POSIX container `vol`, and a mount point.
fn system_with_volume(size: &str) -> (Emu, PathBuf) {
    let e = Emu::start(size);
    posix_container(&e, "vol");
    let mnt = mountpoint(&e, "mnt");
    (e, mnt)
}

/// `umount`, then waits until the kernel no longer lists the mount.
fn unmount(mnt: &Path) {
    assert!(Command::new("umount").arg(mnt).status().unwrap().success());
    wait_unmounted(mnt);
}

/// Detaches a FUSE mount as its user would (`fusermount3 -u`).
fn fusermount_u(mnt: &Path) {
    assert!(
        Command::new("fusermount3")
            .arg("-u")
            .arg(mnt)
            .status()
            .unwrap()
            .success()
    );
}

fn wait_unmounted(mnt: &Path) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while mountinfo_line(mnt).is_some() {
        assert!(Instant::now() < deadline, "still mounted");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn mount_statfs_io_and_unmount() {
    if !common::can_mount() {
        return;
    }
    let (e, mnt) = system_with_volume("2G");
    let out = dfuse(&e, &[mnt.to_str().unwrap(), "tank", "vol", "--multi-user"]);
    common::assert_exited_0(&out, "dfuse");
    let line = mountinfo_line(&mnt).expect("mounted once the launcher exited 0");
    assert!(line.contains(" - fuse.daos dfuse "), "{line}");
    assert!(
        line.contains("default_permissions") && line.contains("allow_other"),
        "{line}"
    );

    // SAFETY: statvfs on a path with a valid out-parameter.
    let st = unsafe {
        let mut st: libc::statvfs = std::mem::zeroed();
        let c = std::ffi::CString::new(mnt.to_str().unwrap()).unwrap();
        assert_eq!(libc::statvfs(c.as_ptr(), &mut st), 0);
        st
    };
    assert_eq!(
        st.f_frsize * st.f_blocks,
        2_000_000_000,
        "statfs is the pool size"
    );

    let root = std::fs::metadata(&mnt).unwrap();
    assert_eq!(root.mode() & 0o7777, 0o755);
    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(mnt.join("file"), &data).unwrap();
    assert_eq!(std::fs::read(mnt.join("file")).unwrap(), data);
    std::fs::create_dir(mnt.join("d")).unwrap();
    std::fs::rename(mnt.join("file"), mnt.join("d/moved")).unwrap();
    std::os::unix::fs::symlink("d/moved", mnt.join("ln")).unwrap();
    assert_eq!(std::fs::read(mnt.join("ln")).unwrap().len(), data.len());
    // dfs_osetattr refuses the sticky bit, so chmod through dfuse does too; setgid is kept.
    let err = std::fs::set_permissions(&mnt, std::fs::Permissions::from_mode(0o1777)).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ENOTSUP), "{err}");
    assert_eq!(std::fs::metadata(&mnt).unwrap().mode() & 0o7777, 0o755);
    std::fs::set_permissions(mnt.join("d"), std::fs::Permissions::from_mode(0o2775)).unwrap();
    assert_eq!(
        std::fs::metadata(mnt.join("d")).unwrap().mode() & 0o7777,
        0o2775
    );
    std::fs::set_permissions(mnt.join("d/moved"), std::fs::Permissions::from_mode(0o600)).unwrap();
    std::os::unix::fs::chown(mnt.join("d/moved"), Some(4321), Some(4321)).unwrap();
    let m = std::fs::metadata(mnt.join("d/moved")).unwrap();
    assert_eq!((m.mode() & 0o777, m.uid(), m.gid()), (0o600, 4321, 4321));
    // SAFETY: statvfs as above.
    let free_after = unsafe {
        let mut st: libc::statvfs = std::mem::zeroed();
        let c = std::ffi::CString::new(mnt.to_str().unwrap()).unwrap();
        libc::statvfs(c.as_ptr(), &mut st);
        st.f_bavail * st.f_frsize
    };
    assert_eq!(
        free_after,
        2_000_000_000 - data.len() as u64,
        "writes are charged to the pool"
    );

    // The container is busy for another process while mounted.
    let busy = e
        .cmd("daos-emu-cli")
        .args(["container", "destroy", "tank", "vol"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&busy.stderr).contains("DER_BUSY"));

    unmount(&mnt);
    let gone = e
        .cmd("daos-emu-cli")
        .args(["container", "destroy", "tank", "vol"])
        .output()
        .unwrap();
    assert!(
        gone.status.success(),
        "dfuse released its handle: {}",
        String::from_utf8_lossy(&gone.stderr)
    );
}

#[test]
fn foreground_exits_zero_on_unmount_and_killed_dfuse_leaves_enotconn() {
    if !common::can_mount() {
        return;
    }
    let (e, mnt) = system_with_volume("1G");
    let mut fg = e
        .cmd("dfuse")
        .args(["-f", mnt.to_str().unwrap(), "tank", "vol"])
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while mountinfo_line(&mnt).is_none() {
        assert!(Instant::now() < deadline, "no mount");
        std::thread::sleep(Duration::from_millis(20));
    }
    fusermount_u(&mnt);
    assert!(
        fg.wait().unwrap().success(),
        "foreground dfuse exits 0 after an unmount"
    );

    let out = dfuse(&e, &[mnt.to_str().unwrap(), "tank", "vol"]);
    assert!(out.status.success());
    let pid = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|d| d.file_name().to_str()?.parse::<i32>().ok())
        .find(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|c| {
                    String::from_utf8_lossy(&c).contains(mnt.to_str().unwrap())
                        && String::from_utf8_lossy(&c).contains("dfuse")
                })
                .unwrap_or(false)
        })
        .expect("the daemon");
    // SAFETY: signalling the daemon we started.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    std::thread::sleep(Duration::from_millis(300));
    let err = std::fs::metadata(&mnt).unwrap_err();
    assert_eq!(
        err.raw_os_error(),
        Some(libc::ENOTCONN),
        "a killed dfuse leaves a dead mount"
    );

    let stale = dfuse(&e, &[mnt.to_str().unwrap(), "tank", "vol"]);
    assert!(!stale.status.success());
    let text = String::from_utf8_lossy(&stale.stderr);
    assert!(
        text.contains("Stale mount point, run fusermount3 and retry"),
        "{text}"
    );
    assert!(text.contains("Exiting -1025 DER_MISC"), "{text}");
    fusermount_u(&mnt);
}

#[test]
fn launch_failures_are_reported_like_dfuse() {
    let (e, mnt) = system_with_volume("1G");
    let out = dfuse(&e, &[mnt.to_str().unwrap(), "tank", "nope"]);
    assert_eq!(out.status.code(), Some(5), "-(DER_NONEXIST + 1000)");
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains("Failed to connect to container: 2")
            && text.contains("Exiting -1005 DER_NONEXIST"),
        "{text}"
    );
    let out = dfuse(
        &e,
        &[e.dir.join("missing").to_str().unwrap(), "tank", "vol"],
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("Mount point does not exist"));
    let out = dfuse(&e, &["--container", "vol", mnt.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "container without pool: -(DER_INVAL + 1000)"
    );
    let out = dfuse(&e, &[]);
    assert_eq!(out.status.code(), Some(3), "no mount point");
    // A container that is not POSIX cannot be mounted.
    let plain = e
        .cmd("daos-emu-cli")
        .args(["container", "create", "tank", "plain"])
        .output()
        .unwrap();
    assert!(plain.status.success());
    let out = dfuse(&e, &[mnt.to_str().unwrap(), "tank", "plain"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("Failed to connect to container: 22"));
}

#[test]
fn full_pool_gives_enospc_and_read_only_mounts_refuse_writes() {
    if !common::can_mount() {
        return;
    }
    let (e, mnt) = system_with_volume("8MB");
    assert!(
        dfuse(&e, &[mnt.to_str().unwrap(), "tank", "vol"])
            .status
            .success()
    );
    let mut f = std::fs::File::create(mnt.join("fill")).unwrap();
    let block = vec![1u8; 1 << 20];
    let mut written = 0;
    let err = loop {
        match f.write_all(&block) {
            Ok(()) => written += block.len(),
            Err(e) => break e,
        }
        assert!(written <= 8_000_000, "wrote past the pool size");
    };
    assert_eq!(err.raw_os_error(), Some(libc::ENOSPC));
    assert_eq!(written, 7 << 20);
    drop(f);
    std::fs::remove_file(mnt.join("fill")).unwrap();
    std::fs::write(mnt.join("small"), b"fits again").unwrap();
    unmount(&mnt);

    let out = dfuse(&e, &[mnt.to_str().unwrap(), "tank", "vol", "--read-only"]);
    common::assert_exited_0(&out, "dfuse --read-only");
    assert!(mountinfo_line(&mnt).unwrap().contains(" ro,"));
    let mut s = String::new();
    std::fs::File::open(mnt.join("small"))
        .unwrap()
        .read_to_string(&mut s)
        .unwrap();
    assert_eq!(s, "fits again");
    let err = std::fs::write(mnt.join("new"), b"x").unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EROFS));
    unmount(&mnt);
}

#[test]
fn dd_throughput() {
    if !common::can_mount() {
        return;
    }
    let (e, mnt) = system_with_volume("4GiB");
    assert!(
        dfuse(&e, &[mnt.to_str().unwrap(), "tank", "vol"])
            .status
            .success()
    );
    let start = Instant::now();
    let out = Command::new("dd")
        .args([
            "if=/dev/zero",
            &format!("of={}", mnt.join("big").display()),
            "bs=1M",
            "count=256",
        ])
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let secs = start.elapsed().as_secs_f64();
    common::assert_exited_0(&out, "dd");
    let mbps = 256.0 / secs;
    eprintln!("dd 256 MiB through dfuse: {mbps:.0} MiB/s");
    assert!(mbps > 30.0, "{mbps:.0} MiB/s");
    assert_eq!(std::fs::metadata(mnt.join("big")).unwrap().len(), 256 << 20);
    unmount(&mnt);
}
