//! Raw objects on disk: what `daos_obj_update` wrote, per container.
//!
//! ```text
//! pools/<uuid>/objs/<cuuid>/<hi>.<lo>/stamp     the HLC of the object's last update (8 bytes)
//! pools/<uuid>/objs/<cuuid>/<hi>.<lo>/k<name>   one dkey: its akeys and values (value.rs)
//! pools/<uuid>/objs/<cuuid>.lock                flock: exclusive to change, shared to freeze
//! pools/<uuid>/snaps/<cuuid>/<epoch>.objs/      the same, frozen by a snapshot (hard links)
//! ```
//!
//! Every dkey file is replaced atomically (write + rename), so a reader never sees half an
//! update and a snapshot can share files with the live store through hard links.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::io;
use std::path::{Path, PathBuf};

use super::Oid;
use super::value::{self, Akeys};
use crate::fsutil;

/// Keys up to this many bytes are named by their hex; longer ones by a hash.
const HEX_NAME_MAX: usize = 100;

/// The raw objects of one container (live or frozen at a snapshot).
#[derive(Clone, Debug)]
pub struct RawStore {
    dir: PathBuf,
}

fn obj_dir_name(oid: Oid) -> String {
    format!("{:016x}.{:016x}", oid.hi, oid.lo)
}

fn parse_obj_dir_name(name: &str) -> Option<Oid> {
    let (hi, lo) = name.split_once('.')?;
    if hi.len() != 16 || lo.len() != 16 {
        return None;
    }
    Some(Oid {
        hi: u64::from_str_radix(hi, 16).ok()?,
        lo: u64::from_str_radix(lo, 16).ok()?,
    })
}

/// The file name of a dkey: `k` + hex, or `h` + two 64-bit hashes for long keys.
fn dkey_file_name(key: &[u8]) -> String {
    if key.len() <= HEX_NAME_MAX {
        return format!("k{}", fsutil::hex_encode(key));
    }
    let mut a = DefaultHasher::new();
    key.hash(&mut a);
    let mut b = DefaultHasher::new();
    (key.len(), key).hash(&mut b);
    0xda05_u16.hash(&mut b);
    format!("h{:016x}{:016x}", a.finish(), b.finish())
}

impl RawStore {
    /// The store rooted at `dir` (it may not exist yet).
    pub fn at(dir: PathBuf) -> RawStore {
        RawStore { dir }
    }

    /// Its directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn obj_dir(&self, oid: Oid) -> PathBuf {
        self.dir.join(obj_dir_name(oid))
    }

    /// Every object with at least one dkey, sorted.
    pub fn objects(&self) -> Vec<Oid> {
        let mut out: Vec<Oid> = std::fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| parse_obj_dir_name(&e.file_name().to_string_lossy()))
            .filter(|oid| !self.dkey_files(*oid).is_empty())
            .collect();
        out.sort();
        out
    }

    /// True when the object has data.
    pub fn exists(&self, oid: Oid) -> bool {
        !self.dkey_files(oid).is_empty()
    }

    fn dkey_files(&self, oid: Oid) -> Vec<PathBuf> {
        std::fs::read_dir(self.obj_dir(oid))
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| {
                let n = e.file_name();
                let n = n.to_string_lossy();
                n.starts_with('k') || n.starts_with('h')
            })
            .map(|e| e.path())
            .collect()
    }

    /// The HLC of the object's last update (0 when it has none).
    pub fn hlc(&self, oid: Oid) -> u64 {
        std::fs::read(self.obj_dir(oid).join("stamp"))
            .ok()
            .and_then(|b| b.get(..8).and_then(|s| s.try_into().ok()))
            .map(u64::from_le_bytes)
            .unwrap_or(0)
    }

    /// The object's dkeys, sorted.
    pub fn dkeys(&self, oid: Oid) -> io::Result<Vec<Vec<u8>>> {
        let mut out = Vec::new();
        for path in self.dkey_files(oid) {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if let Some(hex) = name.strip_prefix('k') {
                out.extend(fsutil::hex_decode(hex));
            } else {
                match std::fs::read(&path) {
                    Ok(b) => out.push(value::decode(&b)?.0),
                    // Punched while this listed.
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e),
                }
            }
        }
        out.sort();
        Ok(out)
    }

    /// One dkey's akeys; `None` when the object has no such dkey.
    pub fn read_dkey(&self, oid: Oid, key: &[u8]) -> io::Result<Option<Akeys>> {
        match std::fs::read(self.obj_dir(oid).join(dkey_file_name(key))) {
            Ok(b) => {
                let (stored, akeys) = value::decode(&b)?;
                Ok((stored == key).then_some(akeys))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Replaces one dkey (removes it when `akeys` is empty) and stamps the object with `hlc`.
    /// The caller holds the container's exclusive lock.
    pub fn write_dkey(&self, oid: Oid, key: &[u8], akeys: &Akeys, hlc: u64) -> io::Result<()> {
        let dir = self.obj_dir(oid);
        fsutil::ensure_dir(&dir)?;
        let path = dir.join(dkey_file_name(key));
        if akeys.is_empty() {
            match std::fs::remove_file(&path) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        } else {
            fsutil::write_atomic(&path, &value::encode(key, akeys)?)?;
        }
        self.stamp(oid, hlc)
    }

    /// Records the HLC of the object's last update.
    pub fn stamp(&self, oid: Oid, hlc: u64) -> io::Result<()> {
        let dir = self.obj_dir(oid);
        fsutil::ensure_dir(&dir)?;
        fsutil::write_atomic(&dir.join("stamp"), &hlc.to_le_bytes())
    }

    /// Removes the whole object.
    pub fn remove(&self, oid: Oid) -> io::Result<()> {
        match fsutil::remove_tree(&self.obj_dir(oid)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Freezes this store into `dst` (a snapshot): every file is hard-linked, which is a
    /// copy because the store only ever replaces files, never changes them in place.
    pub fn freeze_into(&self, dst: &Path) -> io::Result<()> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        for obj in entries.flatten() {
            let to_obj = dst.join(obj.file_name());
            for f in std::fs::read_dir(obj.path())?.flatten() {
                let name = f.file_name();
                if name.to_string_lossy().starts_with('.') {
                    continue;
                }
                fsutil::ensure_dir(&to_obj)?;
                match std::fs::hard_link(f.path(), to_obj.join(&name)) {
                    Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                    _ => {}
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objects::value::Value;

    #[test]
    fn long_keys_are_hashed_and_read_back() {
        let dir = std::env::temp_dir().join(format!("emu-store-{}", fsutil::unix_nanos()));
        let s = RawStore::at(dir.clone());
        let oid = Oid { lo: 7, hi: 1 << 56 };
        let long = vec![b'x'; 255];
        let mut akeys = Akeys::new();
        akeys.insert(b"a".to_vec(), Value::Single(b"v".to_vec()));
        s.write_dkey(oid, &long, &akeys, 42).unwrap();
        s.write_dkey(oid, b"short", &akeys, 43).unwrap();
        assert_eq!(s.dkeys(oid).unwrap(), vec![b"short".to_vec(), long.clone()]);
        assert!(s.read_dkey(oid, &long).unwrap().is_some());
        assert!(s.read_dkey(oid, &long[..254]).unwrap().is_none());
        assert_eq!(s.hlc(oid), 43);
        assert_eq!(s.objects(), vec![oid]);
        s.write_dkey(oid, b"short", &Akeys::new(), 44).unwrap();
        s.write_dkey(oid, &long, &Akeys::new(), 45).unwrap();
        assert!(s.objects().is_empty());
        let _ = fsutil::remove_tree(&dir);
    }
}
