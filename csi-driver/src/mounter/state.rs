//! The mounter's record of the dfuse processes it runs: a small JSON file,
//! replaced atomically (write a temporary file, fsync, rename), read once at
//! start so that a restarted mounter finds what the previous one left.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::MountSpec;

const FILE_NAME: &str = "mounter-state.json";
const VERSION: u32 = 1;

/// One running (or last known) dfuse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MountRecord {
    pub spec: MountSpec,
    pub pid: u32,
    pub log: PathBuf,
    /// Seconds since the epoch when dfuse was started.
    pub started: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateFile {
    pub version: u32,
    /// Keyed by mountpoint.
    pub mounts: BTreeMap<PathBuf, MountRecord>,
}

pub fn path(state_dir: &Path) -> PathBuf {
    state_dir.join(FILE_NAME)
}

/// Reads the state; a missing file is an empty state. A file that does not
/// parse is moved aside (kept for inspection) and an empty state returned,
/// so that a bad file never stops the mounter from serving.
pub fn load(state_dir: &Path) -> io::Result<StateFile> {
    let p = path(state_dir);
    let text = match std::fs::read_to_string(&p) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(StateFile::default()),
        Err(e) => return Err(e),
    };
    match serde_json::from_str::<StateFile>(&text) {
        Ok(s) if s.version == VERSION => Ok(s),
        Ok(s) => {
            set_aside(&p, &format!("unknown state version {}", s.version))?;
            Ok(StateFile::default())
        }
        Err(e) => {
            set_aside(&p, &e.to_string())?;
            Ok(StateFile::default())
        }
    }
}

fn set_aside(p: &Path, why: &str) -> io::Result<()> {
    let aside = p.with_extension("json.unreadable");
    tracing::error!(file = %p.display(), moved_to = %aside.display(), %why, "mounter state file is unreadable; starting empty");
    std::fs::rename(p, aside)
}

/// Replaces the state file atomically.
pub fn save(state_dir: &Path, state: &StateFile) -> io::Result<()> {
    std::fs::create_dir_all(state_dir)?;
    let p = path(state_dir);
    let tmp = p.with_extension("json.tmp");
    let mut body = serde_json::to_vec_pretty(&StateFile {
        version: VERSION,
        mounts: state.mounts.clone(),
    })
    .map_err(io::Error::other)?;
    body.push(b'\n');
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&body)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, &p)?;
    // The rename is durable only once the directory is synced.
    std::fs::File::open(state_dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(mp: &str) -> MountRecord {
        MountRecord {
            spec: MountSpec {
                volume_id: "v".into(),
                mountpoint: mp.into(),
                pool: "tank".into(),
                container: "c".into(),
                system: None,
                read_only: false,
                multi_user: true,
                caching: None,
                wb_cache: None,
                thread_count: None,
                eq_count: None,
                ephemeral: false,
            },
            pid: 4242,
            log: "/var/lib/daos-csi/logs/x.log".into(),
            started: 1,
        }
    }

    #[test]
    fn save_then_load_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load(dir.path()).unwrap(), StateFile::default());
        let mut s = StateFile::default();
        s.mounts.insert("/k/a".into(), record("/k/a"));
        s.mounts.insert("/k/b".into(), record("/k/b"));
        save(dir.path(), &s).unwrap();
        let back = load(dir.path()).unwrap();
        assert_eq!(back.mounts, s.mounts);
        assert_eq!(back.version, VERSION);
        assert!(!dir.path().join("mounter-state.json.tmp").exists());
    }

    #[test]
    fn corrupt_file_is_set_aside() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(path(dir.path()), b"{ not json").unwrap();
        assert!(load(dir.path()).unwrap().mounts.is_empty());
        assert!(dir.path().join("mounter-state.json.unreadable").exists());
        assert!(!path(dir.path()).exists());
    }
}
