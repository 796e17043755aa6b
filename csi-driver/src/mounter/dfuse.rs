//! dfuse command lines: every value validated, argv built without a shell.
//!
//! The mounter runs `dfuse --foreground [options] MOUNTPOINT POOL CONTAINER`
//! (positional form; daos-facts §9). Values come from CSI requests and
//! volume contexts, which any PV author or pod author may influence, so each
//! is checked against DAOS's own rules before it reaches an argv.

use std::path::{Path, PathBuf};

use tonic::Status;

use super::MountSpec;
use crate::volume::{EntityName, SystemName};

/// Largest thread/EQ count passed to dfuse.
const MAX_COUNT: u32 = 1024;
/// Longest volume id accepted (CSI ids are at most 128 bytes by spec).
const MAX_VOLUME_ID: usize = 512;

fn invalid(msg: String) -> Status {
    Status::invalid_argument(msg)
}

/// Checks every field of `spec` and returns it with the mountpoint resolved
/// inside `kubelet_root`. Blocking (resolves the mountpoint's parent).
pub fn validate(spec: &MountSpec, kubelet_root: &Path) -> Result<MountSpec, Status> {
    let id = &spec.volume_id;
    if id.is_empty() || id.len() > MAX_VOLUME_ID || id.chars().any(char::is_control) {
        return Err(invalid(format!(
            "volume_id {id:?}: 1-{MAX_VOLUME_ID} printable characters"
        )));
    }
    for (field, value) in [("pool", &spec.pool), ("container", &spec.container)] {
        EntityName::parse(value).map_err(|e| invalid(format!("{field}: {e}")))?;
        // A leading '-' is a valid label character but would read as an option.
        if value.starts_with('-') {
            return Err(invalid(format!(
                "{field} {value:?}: names starting with '-' are not supported"
            )));
        }
    }
    if let Some(system) = &spec.system {
        SystemName::parse(system).map_err(|e| invalid(format!("system: {e}")))?;
    }
    for (field, value) in [
        ("thread_count", spec.thread_count),
        ("eq_count", spec.eq_count),
    ] {
        if let Some(n) = value
            && (n == 0 || n > MAX_COUNT)
        {
            return Err(invalid(format!("{field} {n}: must be 1 to {MAX_COUNT}")));
        }
    }
    let raw = spec
        .mountpoint
        .to_str()
        .ok_or_else(|| invalid("mountpoint is not UTF-8".into()))?;
    let mountpoint = crate::paths::contain(kubelet_root, "mountpoint", raw)?;
    Ok(MountSpec {
        mountpoint,
        ..spec.clone()
    })
}

/// dfuse arguments for a validated spec.
pub fn args(spec: &MountSpec) -> Vec<String> {
    let mut a = vec!["--foreground".to_string()];
    if let Some(system) = &spec.system {
        a.push("--sys-name".into());
        a.push(system.clone());
    }
    if spec.multi_user {
        a.push("--multi-user".into());
    }
    if spec.read_only {
        a.push("--read-only".into());
    }
    match spec.caching {
        Some(true) => a.push("--enable-caching".into()),
        Some(false) => a.push("--disable-caching".into()),
        None => {}
    }
    match spec.wb_cache {
        Some(true) => a.push("--enable-wb-cache".into()),
        Some(false) => a.push("--disable-wb-cache".into()),
        None => {}
    }
    if let Some(n) = spec.thread_count {
        a.push("--thread-count".into());
        a.push(n.to_string());
    }
    if let Some(n) = spec.eq_count {
        a.push("--eq-count".into());
        a.push(n.to_string());
    }
    a.push(spec.mountpoint.display().to_string());
    a.push(spec.pool.clone());
    a.push(spec.container.clone());
    a
}

/// Reads back a spec from the argv of a dfuse this mounter started (for
/// adopting processes found at start without a state record). `None` for
/// command lines this module would not have built.
pub fn spec_from_args(argv: &[String]) -> Option<MountSpec> {
    let mut spec = MountSpec {
        volume_id: String::new(),
        mountpoint: PathBuf::new(),
        pool: String::new(),
        container: String::new(),
        system: None,
        read_only: false,
        multi_user: false,
        caching: None,
        wb_cache: None,
        thread_count: None,
        eq_count: None,
        ephemeral: false,
    };
    let mut foreground = false;
    let mut positional = Vec::new();
    let mut it = argv.iter().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--foreground" => foreground = true,
            "--sys-name" => spec.system = Some(it.next()?.clone()),
            "--multi-user" => spec.multi_user = true,
            "--read-only" => spec.read_only = true,
            "--enable-caching" => spec.caching = Some(true),
            "--disable-caching" => spec.caching = Some(false),
            "--enable-wb-cache" => spec.wb_cache = Some(true),
            "--disable-wb-cache" => spec.wb_cache = Some(false),
            "--thread-count" => spec.thread_count = Some(it.next()?.parse().ok()?),
            "--eq-count" => spec.eq_count = Some(it.next()?.parse().ok()?),
            a if a.starts_with('-') => return None,
            a => positional.push(a.to_string()),
        }
    }
    let [mountpoint, pool, container] = positional.as_slice() else {
        return None;
    };
    if !foreground {
        return None;
    }
    spec.mountpoint = PathBuf::from(mountpoint);
    spec.pool = pool.clone();
    spec.container = container.clone();
    Some(spec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic::Code;

    fn spec(mountpoint: &Path) -> MountSpec {
        MountSpec {
            volume_id: "daos_server/tank/c1".into(),
            mountpoint: mountpoint.to_path_buf(),
            pool: "tank".into(),
            container: "c1".into(),
            system: None,
            read_only: false,
            multi_user: true,
            caching: None,
            wb_cache: None,
            thread_count: None,
            eq_count: None,
            ephemeral: false,
        }
    }

    #[test]
    fn argv_for_defaults_and_every_option() {
        let s = spec(Path::new("/k/m"));
        assert_eq!(
            args(&s),
            ["--foreground", "--multi-user", "/k/m", "tank", "c1"]
        );
        let full = MountSpec {
            system: Some("prod".into()),
            read_only: true,
            multi_user: false,
            caching: Some(false),
            wb_cache: Some(true),
            thread_count: Some(8),
            eq_count: Some(2),
            ..s
        };
        assert_eq!(
            args(&full),
            [
                "--foreground",
                "--sys-name",
                "prod",
                "--read-only",
                "--disable-caching",
                "--enable-wb-cache",
                "--thread-count",
                "8",
                "--eq-count",
                "2",
                "/k/m",
                "tank",
                "c1"
            ]
        );
    }

    #[test]
    fn argv_round_trips_for_adoption() {
        let s = MountSpec {
            system: Some("prod".into()),
            read_only: true,
            caching: Some(true),
            thread_count: Some(3),
            ..spec(Path::new("/k/m"))
        };
        let mut argv = vec!["/usr/bin/dfuse".to_string()];
        argv.extend(args(&s));
        let back = spec_from_args(&argv).unwrap();
        assert_eq!(
            back,
            MountSpec {
                volume_id: String::new(),
                ..s
            }
        );
        // Not ours: daemonised, unknown options, missing positionals.
        assert!(
            spec_from_args(&["dfuse".into(), "/k/m".into(), "tank".into(), "c1".into()]).is_none()
        );
        assert!(
            spec_from_args(&[
                "dfuse".into(),
                "--foreground".into(),
                "-o".into(),
                "x".into()
            ])
            .is_none()
        );
        assert!(spec_from_args(&["dfuse".into(), "--foreground".into(), "/k/m".into()]).is_none());
    }

    #[test]
    fn validation_accepts_good_specs_inside_the_root() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("stage")).unwrap();
        let mp = root.path().join("stage/globalmount");
        let v = validate(&spec(&mp), root.path()).unwrap();
        assert!(
            v.mountpoint
                .starts_with(root.path().canonicalize().unwrap())
        );
        let uuid = MountSpec {
            pool: "0b7f4bd2-6c0e-4f7e-9e3a-3c1f3e6f8a10".into(),
            system: Some("daos_server".into()),
            thread_count: Some(16),
            ..spec(&mp)
        };
        validate(&uuid, root.path()).unwrap();
    }

    #[test]
    fn validation_refuses_injection_and_escapes() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("stage")).unwrap();
        let mp = root.path().join("stage/m");
        let bad = [
            MountSpec {
                pool: "tank; rm -rf /".into(),
                ..spec(&mp)
            },
            MountSpec {
                container: "$(reboot)".into(),
                ..spec(&mp)
            },
            MountSpec {
                container: "--help".into(),
                ..spec(&mp)
            },
            MountSpec {
                pool: String::new(),
                ..spec(&mp)
            },
            MountSpec {
                system: Some("a b".into()),
                ..spec(&mp)
            },
            MountSpec {
                thread_count: Some(0),
                ..spec(&mp)
            },
            MountSpec {
                eq_count: Some(100_000),
                ..spec(&mp)
            },
            MountSpec {
                volume_id: "a\nb".into(),
                ..spec(&mp)
            },
            MountSpec {
                volume_id: String::new(),
                ..spec(&mp)
            },
            spec(Path::new("/etc/m")),
            spec(Path::new("relative/m")),
            spec(&root.path().join("stage/../../m")),
        ];
        for s in bad {
            let err = validate(&s, root.path()).unwrap_err();
            assert_eq!(err.code(), Code::InvalidArgument, "{s:?}");
        }
    }
}
