//! Mount state as the kernel reports it in /proc/self/mountinfo.

use std::path::{Path, PathBuf};

/// One line of /proc/self/mountinfo.
#[derive(Clone, Debug)]
pub struct MountEntry {
    pub mount_id: u32,
    pub root: String,
    pub mount_point: PathBuf,
    pub options: String,
    pub fs_type: String,
    pub source: String,
}

/// Undoes the octal escapes (`\040` for space ...) mountinfo uses in paths.
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 3 < bytes.len() {
            let digits = &bytes[i + 1..i + 4];
            if digits.iter().all(|d| (b'0'..=b'7').contains(d)) {
                let value = digits
                    .iter()
                    .fold(0u32, |acc, d| acc * 8 + u32::from(d - b'0'));
                out.push(value as u8);
                i += 4;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn parse_line(line: &str) -> Option<MountEntry> {
    let (before, after) = line.split_once(" - ")?;
    let fields: Vec<&str> = before.split(' ').collect();
    let tail: Vec<&str> = after.split(' ').collect();
    if fields.len() < 6 || tail.len() < 2 {
        return None;
    }
    Some(MountEntry {
        mount_id: fields[0].parse().ok()?,
        root: unescape(fields[3]),
        mount_point: PathBuf::from(unescape(fields[4])),
        options: fields[5].to_string(),
        fs_type: tail[0].to_string(),
        source: unescape(tail[1]),
    })
}

/// Every mount of this process's mount namespace.
pub fn mountinfo() -> Vec<MountEntry> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").expect("reading mountinfo");
    text.lines().filter_map(parse_line).collect()
}

/// The mounts stacked on exactly `path`.
pub fn mounts_at(path: &Path) -> Vec<MountEntry> {
    mountinfo()
        .into_iter()
        .filter(|m| m.mount_point == path)
        .collect()
}

pub fn is_mounted(path: &Path) -> bool {
    !mounts_at(path).is_empty()
}

/// Mounts on `dir` or anywhere below it.
pub fn mounts_under(dir: &Path) -> Vec<MountEntry> {
    mountinfo()
        .into_iter()
        .filter(|m| m.mount_point.starts_with(dir))
        .collect()
}

/// True when the mount on `path` is read-only for this mount point (`ro` in its options).
pub fn is_read_only(entry: &MountEntry) -> bool {
    entry.options.split(',').any(|o| o == "ro")
}

/// Detaches every mount below `dir`, deepest first: test clean-up after a failure, so one
/// broken test cannot leave mounts behind for the next.
pub fn detach_all_under(dir: &Path) {
    let mut mounts = mounts_under(dir);
    mounts.sort_by_key(|m| std::cmp::Reverse(m.mount_point.components().count()));
    for mount in mounts {
        let _ = nix::mount::umount2(&mount.mount_point, nix::mount::MntFlags::MNT_DETACH);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_fuse_line_with_escapes() {
        let line = "612 29 0:77 / /tmp/a\\040b/globalmount rw,nosuid,nodev,relatime shared:300 - fuse.daos dfuse rw,user_id=0,group_id=0,default_permissions";
        let entry = parse_line(line).expect("parsed");
        assert_eq!(entry.mount_id, 612);
        assert_eq!(entry.mount_point, PathBuf::from("/tmp/a b/globalmount"));
        assert_eq!(entry.fs_type, "fuse.daos");
        assert_eq!(entry.source, "dfuse");
        assert!(!is_read_only(&entry));
    }

    #[test]
    fn optional_fields_do_not_shift_the_tail() {
        let line = "30 1 0:5 /sub /mnt/x ro,relatime shared:1 master:2 - tmpfs none rw";
        let entry = parse_line(line).expect("parsed");
        assert_eq!(entry.root, "/sub");
        assert_eq!(entry.fs_type, "tmpfs");
        assert!(is_read_only(&entry));
    }
}
