//! A sample directory tree written through a mount, and a description of a tree to compare
//! two of them entry by entry: type, permission bits, owner, size, mtime, link target, and the
//! SHA-256 of every file.

use crate::data::{hex, sha256_file, write_pattern_file};
use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

/// One entry as compared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub kind: &'static str,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    pub mtime: i64,
    /// A link's target, or a file's SHA-256.
    pub content: String,
}

/// Every entry under `root` (the root itself as ""), by relative path, without following
/// symbolic links.
pub fn describe(root: &Path) -> std::io::Result<BTreeMap<PathBuf, Entry>> {
    let mut out = BTreeMap::new();
    walk(root, Path::new(""), &mut out)?;
    Ok(out)
}

fn walk(root: &Path, rel: &Path, out: &mut BTreeMap<PathBuf, Entry>) -> std::io::Result<()> {
    let path = root.join(rel);
    let meta = std::fs::symlink_metadata(&path)?;
    let ft = meta.file_type();
    let (kind, content) = if ft.is_symlink() {
        ("symlink", std::fs::read_link(&path)?.display().to_string())
    } else if ft.is_dir() {
        ("dir", String::new())
    } else {
        ("file", hex(&sha256_file(&path)?.0))
    };
    out.insert(
        rel.to_path_buf(),
        Entry {
            kind,
            mode: meta.mode() & 0o7777,
            uid: meta.uid(),
            gid: meta.gid(),
            // A directory's size is the file system's own business.
            size: if ft.is_dir() { 0 } else { meta.size() },
            mtime: meta.mtime(),
            content,
        },
    );
    if ft.is_dir() {
        for child in std::fs::read_dir(&path)? {
            walk(root, &rel.join(child?.file_name()), out)?;
        }
    }
    Ok(())
}

fn set_mtime(path: &Path, secs: u64) -> std::io::Result<()> {
    std::fs::File::options()
        .write(true)
        .open(path)?
        .set_modified(UNIX_EPOCH + Duration::from_secs(secs))
}

/// Writes a tree that exercises what a copy must keep: nested and empty directories, an
/// empty file, files of several sizes (one of several MiB, not a whole number of MiB), a
/// sparse file, symbolic links (relative, absolute, dangling), modes, owners and mtimes.
pub fn write_sample(root: &Path, seed: u64) -> std::io::Result<()> {
    let dir = |p: &str, mode: u32| -> std::io::Result<PathBuf> {
        let path = root.join(p);
        std::fs::create_dir_all(&path)?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))?;
        Ok(path)
    };
    let a = dir("a", 0o755)?;
    let deep = dir("a/b/c", 0o750)?;
    dir("empty", 0o700)?;
    std::fs::write(root.join("empty-file"), b"")?;
    std::fs::write(a.join("small.txt"), format!("small file {seed}\n"))?;
    write_pattern_file(&a.join("big.bin"), seed, (5 << 20) + 12_345)?;
    write_pattern_file(&deep.join("deep.bin"), seed + 1, 70_000)?;
    let sparse = std::fs::File::create(root.join("sparse.bin"))?;
    sparse.set_len(3 << 20)?;
    drop(sparse);
    std::os::unix::fs::symlink("a/small.txt", root.join("link-relative"))?;
    std::os::unix::fs::symlink("/etc/hostname", root.join("link-absolute"))?;
    std::os::unix::fs::symlink("nowhere", root.join("link-dangling"))?;
    let owned = root.join("owned.txt");
    std::fs::write(&owned, b"owned by someone else")?;
    std::os::unix::fs::chown(&owned, Some(1234), Some(5678))?;
    std::fs::set_permissions(&owned, std::fs::Permissions::from_mode(0o640))?;
    for (i, file) in ["a/small.txt", "owned.txt", "empty-file", "sparse.bin"]
        .iter()
        .enumerate()
    {
        set_mtime(&root.join(file), 1_600_000_000 + i as u64 * 1000)?;
    }
    Ok(())
}

/// The entries of `got` that differ from `want` (missing, extra or changed), for a message.
pub fn differences(want: &BTreeMap<PathBuf, Entry>, got: &BTreeMap<PathBuf, Entry>) -> Vec<String> {
    let mut out = Vec::new();
    for (path, w) in want {
        match got.get(path) {
            None => out.push(format!("{} missing", path.display())),
            Some(g) if g != w => out.push(format!("{}: want {w:?}, got {g:?}", path.display())),
            Some(_) => {}
        }
    }
    for path in got.keys().filter(|p| !want.contains_key(*p)) {
        out.push(format!("{} should not be there", path.display()));
    }
    out
}
