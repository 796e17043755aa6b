//! `/proc/self/mountinfo`: the one source of truth for what is mounted where.
//!
//! Device-number heuristics miss bind mounts of the same file system, so every
//! mount decision in the driver reads this file (see proc(5) for the format).

use std::io;
use std::path::{Path, PathBuf};

/// File system type dfuse mounts show (`fsname=dfuse`, `subtype=daos`).
pub const DFUSE_FSTYPE: &str = "fuse.daos";

/// One line of mountinfo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountEntry {
    pub mount_id: u32,
    pub parent_id: u32,
    /// `major:minor` of the mounted file system; equal for binds of one mount.
    pub device: String,
    /// Root of the mount inside its file system (`/` unless a subtree was bound).
    pub root: PathBuf,
    pub mount_point: PathBuf,
    /// Per-mount options (`rw`/`ro`, `nosuid`, ...).
    pub mount_options: Vec<String>,
    pub fs_type: String,
    pub source: String,
    pub super_options: Vec<String>,
}

impl MountEntry {
    pub fn is_dfuse(&self) -> bool {
        self.fs_type == DFUSE_FSTYPE
    }

    pub fn is_read_only(&self) -> bool {
        self.mount_options.iter().any(|o| o == "ro")
    }

    /// Whether `self` shows the same mounted file system tree as `other`
    /// (one is a bind mount of the other, or they are the same mount).
    pub fn same_tree_as(&self, other: &MountEntry) -> bool {
        self.device == other.device && self.root == other.root
    }
}

/// Reads the table and returns the top-most mount at `path`.
pub fn lookup(path: &Path) -> io::Result<Option<MountEntry>> {
    MountTable::read()?.top_at(path)
}

/// One reading of the mount table, parsed only where a question needs it.
///
/// A Kubernetes node carries hundreds of mounts and a CSI call asks about
/// one or two paths: parsing every line into owned strings for each
/// question cost more time and memory than the rest of the call.
#[derive(Debug, Clone)]
pub struct MountTable {
    text: String,
}

impl MountTable {
    pub fn read() -> io::Result<MountTable> {
        // A mount point anywhere on the host that is not UTF-8 must not make
        // every question fail; such a line can only be mangled, and no path
        // this driver asks about is one.
        let bytes = std::fs::read("/proc/self/mountinfo")?;
        Ok(MountTable::from_text(
            String::from_utf8(bytes)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
        ))
    }

    pub fn from_text(text: String) -> MountTable {
        MountTable { text }
    }

    /// The mounts at `path`, bottom first (the last one is visible).
    pub fn mounts_at(&self, path: &Path) -> io::Result<Vec<MountEntry>> {
        // The kernel writes mount points normalised (`/a//b/` is `/a/b`).
        let normal: PathBuf = path.components().collect();
        let wanted = escape(&normal);
        self.parse_where(|line| raw_field(line, 4) == Some(wanted.as_str()))
    }

    /// The top-most mount at `path`.
    pub fn top_at(&self, path: &Path) -> io::Result<Option<MountEntry>> {
        Ok(self.mounts_at(path)?.pop())
    }

    /// Every mount of file system type `fs_type` (e.g. [`DFUSE_FSTYPE`]).
    pub fn of_type(&self, fs_type: &str) -> io::Result<Vec<MountEntry>> {
        self.parse_where(|line| raw_fs_type(line) == Some(fs_type))
    }

    /// Every mount of the file system on device `device` (`major:minor`),
    /// whatever its root: a mount and all the binds of it or of its subtrees.
    pub fn on_device(&self, device: &str) -> io::Result<Vec<MountEntry>> {
        self.parse_where(|line| raw_field(line, 2) == Some(device))
    }

    /// Every mount showing the same tree as `mount` (the same device and
    /// root): `mount` itself and its binds.
    pub fn same_tree_as(&self, mount: &MountEntry) -> io::Result<Vec<MountEntry>> {
        Ok(self
            .on_device(&mount.device)?
            .into_iter()
            .filter(|m| m.same_tree_as(mount))
            .collect())
    }

    fn parse_where(&self, wanted: impl Fn(&str) -> bool) -> io::Result<Vec<MountEntry>> {
        self.text
            .lines()
            .filter(|l| !l.trim().is_empty() && wanted(l))
            .map(|l| parse_line(l).map_err(invalid_data))
            .collect()
    }
}

fn invalid_data(e: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

/// Field `n` of a line as the kernel wrote it (still escaped).
fn raw_field(line: &str, n: usize) -> Option<&str> {
    line.split(' ').nth(n)
}

/// The file system type field (the one after the ` - ` separator); the
/// kernel escapes it like the others, and the types compared here have
/// nothing to escape.
fn raw_fs_type(line: &str) -> Option<&str> {
    let mut fields = line.split(' ').skip(6);
    fields.find(|f| *f == "-")?;
    fields.next()
}

/// `path` as the kernel writes it in mountinfo: space, tab, newline and
/// backslash as `\ooo` octal.
pub fn escape(path: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let mut out = Vec::with_capacity(path.as_os_str().len());
    for &b in path.as_os_str().as_bytes() {
        if matches!(b, b' ' | b'\t' | b'\n' | b'\\') {
            out.extend_from_slice(format!("\\{b:03o}").as_bytes());
        } else {
            out.push(b);
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses the whole file.
pub fn parse(text: &str) -> Result<Vec<MountEntry>, String> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(parse_line)
        .collect()
}

/// Parses one line:
/// `36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue`
pub fn parse_line(line: &str) -> Result<MountEntry, String> {
    let bad = |what: &str| format!("mountinfo line {line:?}: {what}");
    let fields: Vec<&str> = line.split(' ').collect();
    let sep = fields
        .iter()
        .position(|f| *f == "-")
        .ok_or_else(|| bad("no ' - ' separator"))?;
    if sep < 6 || fields.len() < sep + 4 {
        return Err(bad("too few fields"));
    }
    let mount_id = fields[0].parse().map_err(|_| bad("bad mount id"))?;
    let parent_id = fields[1].parse().map_err(|_| bad("bad parent id"))?;
    Ok(MountEntry {
        mount_id,
        parent_id,
        device: fields[2].to_string(),
        root: PathBuf::from(unescape(fields[3])),
        mount_point: PathBuf::from(unescape(fields[4])),
        mount_options: split_options(fields[5]),
        fs_type: unescape(fields[sep + 1]),
        source: unescape(fields[sep + 2]),
        super_options: split_options(fields[sep + 3]),
    })
}

fn split_options(s: &str) -> Vec<String> {
    s.split(',').map(str::to_string).collect()
}

/// The kernel writes space, tab, newline and backslash as `\ooo` octal.
pub fn unescape(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 3 < bytes.len() {
            let digits = &bytes[i + 1..i + 4];
            if digits.iter().all(|d| (b'0'..=b'7').contains(d)) {
                let value = digits
                    .iter()
                    .fold(0u32, |acc, d| acc * 8 + u32::from(d - b'0'));
                if let Ok(byte) = u8::try_from(value) {
                    out.push(byte);
                    i += 4;
                    continue;
                }
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
22 1 259:2 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p2 rw,errors=remount-ro
36 22 0:45 / /var/lib/kubelet/plugins/kubernetes.io/csi/csi.daos.io/abc/globalmount rw,nosuid,nodev,relatime shared:30 - fuse.daos dfuse rw,user_id=0,group_id=0,default_permissions,allow_other
37 22 0:45 / /var/lib/kubelet/pods/p1/volumes/kubernetes.io~csi/pv1/mount ro,nosuid,nodev,relatime shared:30 - fuse.daos dfuse rw,user_id=0,group_id=0,default_permissions,allow_other
38 22 0:50 /sub /mnt/with\\040space\\011tab rw master:2 - tmpfs tmp\\134fs rw
39 22 0:51 / /mnt/stack rw - tmpfs a rw
40 22 0:52 / /mnt/stack rw - fuse.daos dfuse rw
";

    #[test]
    fn parses_fields_and_optional_tags() {
        let entries = parse(SAMPLE).unwrap();
        assert_eq!(entries.len(), 6);
        let stage = &entries[1];
        assert_eq!(stage.mount_id, 36);
        assert_eq!(stage.parent_id, 22);
        assert_eq!(stage.device, "0:45");
        assert!(stage.is_dfuse());
        assert_eq!(stage.source, "dfuse");
        assert!(!stage.is_read_only());
        assert!(stage.super_options.contains(&"allow_other".to_string()));
    }

    #[test]
    fn bind_mounts_share_device_and_root() {
        let entries = parse(SAMPLE).unwrap();
        let (stage, bind, other) = (&entries[1], &entries[2], &entries[3]);
        assert!(bind.same_tree_as(stage));
        assert!(bind.is_read_only());
        assert!(!other.same_tree_as(stage));
    }

    #[test]
    fn octal_escapes_are_decoded() {
        let entries = parse(SAMPLE).unwrap();
        let e = &entries[3];
        assert_eq!(e.mount_point, PathBuf::from("/mnt/with space\ttab"));
        assert_eq!(e.root, PathBuf::from("/sub"));
        assert_eq!(e.source, "tmp\\fs");
        assert_eq!(unescape("a\\012b"), "a\nb");
        // Not an escape: left as written.
        assert_eq!(unescape("a\\9xyz"), "a\\9xyz");
        assert_eq!(unescape("end\\04"), "end\\04");
        assert_eq!(unescape("x\\"), "x\\");
    }

    #[test]
    fn top_most_mount_wins() {
        let table = MountTable::from_text(SAMPLE.to_string());
        let top = table.top_at(Path::new("/mnt/stack")).unwrap().unwrap();
        assert_eq!(top.mount_id, 40);
        assert!(table.top_at(Path::new("/mnt/none")).unwrap().is_none());
    }

    #[test]
    fn a_table_parses_only_what_is_asked() {
        let text = format!("{SAMPLE}garbage line that does not parse\n");
        let table = MountTable::from_text(text.clone());
        let stack = table.mounts_at(Path::new("/mnt/stack")).unwrap();
        assert_eq!(
            stack.iter().map(|m| m.mount_id).collect::<Vec<_>>(),
            [39, 40]
        );
        assert_eq!(
            table
                .top_at(Path::new("/mnt/stack"))
                .unwrap()
                .unwrap()
                .mount_id,
            40
        );
        let spaced = table
            .top_at(Path::new("/mnt/with space\ttab"))
            .unwrap()
            .unwrap();
        assert_eq!(spaced.mount_id, 38);
        assert!(table.top_at(Path::new("/mnt/none")).unwrap().is_none());
        // Spelled with extra slashes, the same mount point.
        assert_eq!(
            table
                .top_at(Path::new("/mnt//stack/"))
                .unwrap()
                .unwrap()
                .mount_id,
            40
        );
        let dfuse: Vec<u32> = table
            .of_type(DFUSE_FSTYPE)
            .unwrap()
            .iter()
            .map(|m| m.mount_id)
            .collect();
        assert_eq!(dfuse, [36, 37, 40]);
        let stage = table
            .top_at(Path::new(
                "/var/lib/kubelet/plugins/kubernetes.io/csi/csi.daos.io/abc/globalmount",
            ))
            .unwrap()
            .unwrap();
        let tree: Vec<u32> = table
            .same_tree_as(&stage)
            .unwrap()
            .iter()
            .map(|m| m.mount_id)
            .collect();
        assert_eq!(tree, [36, 37]);
        assert_eq!(table.on_device("0:50").unwrap().len(), 1);
        // The whole table does include the bad line, and says so.
        assert!(parse(&text).is_err());
    }

    #[test]
    fn escape_is_the_inverse_of_unescape() {
        for p in ["/a b", "/t\tab", "/n\nl", "/back\\slash", "/plain/é"] {
            let path = Path::new(p);
            assert_eq!(Path::new(&unescape(&escape(path))), path, "{p:?}");
        }
        assert_eq!(escape(Path::new("/a b")), "/a\\040b");
    }

    #[test]
    fn malformed_lines_are_errors() {
        assert!(parse_line("1 2 3").is_err());
        assert!(parse_line("x 22 0:1 / /a rw - tmpfs t rw").is_err());
        assert!(parse_line("1 22 0:1 / /a rw tmpfs t rw").is_err());
    }

    #[test]
    fn reads_this_process_table() {
        let table = MountTable::read().unwrap();
        assert!(table.top_at(Path::new("/")).unwrap().is_some());
    }
}
