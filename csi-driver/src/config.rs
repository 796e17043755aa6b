//! Command-line flags (each also an environment variable `DAOS_CSI_*`) and the
//! typed configuration derived from them.
//!
//! A flag given on the command line wins over its variable, so the manifests in
//! `deploy/` pass only fixed wiring as flags and everything a site may change
//! (ports, pools, directories) as variables, which an overlay patches by name.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};

/// Where libdaos looks for the agent socket when `DAOS_AGENT_DRPC_DIR` is
/// unset (DAOS's default `runtime_dir`).
pub const DEFAULT_AGENT_DIR: &str = "/var/run/daos_agent";

/// The roles one process can play; any subset may run together.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, ValueEnum)]
pub enum Role {
    /// CSI Identity + Controller services: creates and deletes containers.
    Controller,
    /// CSI Identity + Node services: stage, publish, stats.
    Node,
    /// The only code that runs dfuse; serves the node role on a local socket.
    Mounter,
}

/// Log line format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// daos-csi: a Kubernetes CSI driver for DAOS POSIX containers.
#[derive(Parser, Debug, Clone)]
#[command(name = "daos-csi", version, about)]
pub struct Flags {
    /// Roles this process runs (comma-separated subset of controller,node,mounter).
    #[arg(long, env = "DAOS_CSI_ROLES", value_delimiter = ',', required = true)]
    pub roles: Vec<Role>,

    /// CSI gRPC endpoint (unix socket), e.g. unix:///csi/csi.sock.
    #[arg(
        long,
        env = "DAOS_CSI_ENDPOINT",
        default_value = "unix:///csi/csi.sock"
    )]
    pub endpoint: String,

    /// CSI driver name (GetPluginInfo; tag on the containers this driver creates).
    #[arg(long, env = "DAOS_CSI_DRIVER_NAME", default_value = "csi.daos.io")]
    pub driver_name: String,

    /// Node id reported by NodeGetInfo (default: the host name).
    #[arg(long, env = "DAOS_CSI_NODE_ID")]
    pub node_id: Option<String>,

    /// Directory of the DAOS agent socket; exported as DAOS_AGENT_DRPC_DIR for
    /// libdaos and for every dfuse (default: DAOS_AGENT_DRPC_DIR, else
    /// /var/run/daos_agent).
    #[arg(long, env = "DAOS_CSI_DAOS_AGENT_DIR")]
    pub daos_agent_dir: Option<PathBuf>,

    /// dfuse program (a path, or a name looked up on PATH).
    #[arg(long, env = "DAOS_CSI_DFUSE_PATH", default_value = "dfuse")]
    pub dfuse_path: PathBuf,

    /// Directory for the mounter's state file and dfuse logs.
    #[arg(long, env = "DAOS_CSI_STATE_DIR", default_value = "/var/lib/daos-csi")]
    pub state_dir: PathBuf,

    /// kubelet root: every staging/target path must be inside it.
    #[arg(
        long,
        env = "DAOS_CSI_KUBELET_ROOT",
        default_value = "/var/lib/kubelet"
    )]
    pub kubelet_root: PathBuf,

    /// Unix socket of the mounter's local API.
    #[arg(
        long,
        env = "DAOS_CSI_MOUNTER_SOCKET",
        default_value = "/var/lib/daos-csi/mounter.sock"
    )]
    pub mounter_socket: PathBuf,

    /// Pools (labels or UUIDs) allowed for CSI inline ephemeral volumes; empty
    /// refuses every inline volume.
    #[arg(long, env = "DAOS_CSI_EPHEMERAL_POOLS", value_delimiter = ',')]
    pub ephemeral_pools: Vec<String>,

    /// Pools (labels or UUIDs) this driver may use at all: creating volumes,
    /// staging and publishing, snapshots, expansion, capacity. Empty allows
    /// every pool the agent lets it reach. Removing what exists is never
    /// refused.
    #[arg(long, env = "DAOS_CSI_ALLOWED_POOLS", value_delimiter = ',')]
    pub allowed_pools: Vec<String>,

    /// Advertise CREATE_DELETE_SNAPSHOT and LIST_SNAPSHOTS (VolumeSnapshots
    /// as DAOS container snapshots, restorable into new volumes). Off by
    /// default: it needs the VolumeSnapshot CRDs and csi-snapshotter in the
    /// cluster.
    #[arg(
        long,
        env = "DAOS_CSI_SNAPSHOTS",
        default_value_t = false,
        action = clap::ArgAction::Set,
        value_parser = clap::builder::BoolishValueParser::new(),
        num_args = 0..=1,
        default_missing_value = "true"
    )]
    pub snapshots: bool,

    /// Pools whose containers ListVolumes reports, besides the pools used
    /// through this process since it started.
    #[arg(long, env = "DAOS_CSI_LIST_POOLS", value_delimiter = ',')]
    pub list_pools: Vec<String>,

    /// DAOS system name used when a StorageClass/volume does not name one.
    #[arg(long, env = "DAOS_CSI_DEFAULT_SYSTEM")]
    pub default_system: Option<String>,

    /// Log format.
    #[arg(long, env = "DAOS_CSI_LOG_FORMAT", value_enum, default_value = "text")]
    pub log_format: LogFormat,

    /// How long to wait for a started dfuse to show its mount.
    #[arg(long, env = "DAOS_CSI_DFUSE_READY_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub dfuse_ready_timeout: Duration,

    /// Deadline of statfs/stat calls on a mount (a dead FUSE daemon can hang them).
    #[arg(long, env = "DAOS_CSI_STATS_TIMEOUT", default_value = "5s", value_parser = parse_duration)]
    pub stats_timeout: Duration,

    /// How long a CreateVolume from a snapshot or a volume waits for its copy
    /// before answering ABORTED ("in progress"; the provisioner retries). Keep
    /// it below the provisioner's --timeout.
    #[arg(long, env = "DAOS_CSI_COPY_WAIT", default_value = "20s", value_parser = parse_duration)]
    pub copy_wait: Duration,

    /// How a volume made from a snapshot or a volume is copied: `dfs` reads
    /// the snapshot through DFS (`dfs_mount_snap`, DAOS 2.8 only), `objects`
    /// copies every object of the snapshot's object index table (DAOS 2.6 and
    /// 2.8; snapshots are then taken with an object index), `auto` is `dfs`
    /// on a DAOS 2.8 build and `objects` on a 2.6 build.
    #[arg(long, env = "DAOS_CSI_COPY_ROUTE", value_enum, default_value = "auto")]
    pub copy_route: CopyRouteFlag,

    /// Address of the Prometheus /metrics endpoint (IP:PORT or :PORT); off when unset.
    #[arg(long, env = "DAOS_CSI_METRICS_ADDR")]
    pub metrics_addr: Option<String>,
}

/// `--copy-route` as given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CopyRouteFlag {
    Auto,
    Dfs,
    Objects,
}

/// Configuration after validation, shared by every role.
#[derive(Debug, Clone)]
pub struct Config {
    pub roles: BTreeSet<Role>,
    pub endpoint: PathBuf,
    pub driver_name: String,
    pub node_id: String,
    pub dfuse_path: PathBuf,
    pub state_dir: PathBuf,
    pub kubelet_root: PathBuf,
    pub mounter_socket: PathBuf,
    pub ephemeral_pools: Vec<String>,
    pub allowed_pools: Vec<String>,
    /// Whether the controller advertises its snapshot capabilities.
    pub snapshots: bool,
    pub list_pools: Vec<String>,
    pub default_system: Option<String>,
    pub dfuse_ready_timeout: Duration,
    pub stats_timeout: Duration,
    /// How long CreateVolume waits for a content copy.
    pub copy_wait: Duration,
    /// How content is copied into a new volume.
    pub copy_route: crate::copies::CopyRoute,
    /// Where libdaos will look for the agent socket (for Probe).
    pub agent_socket: PathBuf,
    /// The /metrics endpoint, when enabled.
    pub metrics_addr: Option<SocketAddr>,
}

impl Config {
    /// Validates the flags. `agent_dir` is the DAOS_AGENT_DRPC_DIR in force.
    pub fn from_flags(flags: Flags, agent_dir: Option<PathBuf>) -> Result<Config, String> {
        let roles: BTreeSet<Role> = flags.roles.iter().copied().collect();
        if roles.is_empty() {
            return Err("--roles must name at least one of controller,node,mounter".into());
        }
        let endpoint = parse_endpoint(&flags.endpoint)?;
        validate_driver_name(&flags.driver_name)?;
        let node_id = match flags.node_id.filter(|n| !n.is_empty()) {
            Some(n) => n,
            None => hostname()?,
        };
        if !flags.kubelet_root.is_absolute() {
            return Err("--kubelet-root must be an absolute path".into());
        }
        if !flags.state_dir.is_absolute() {
            return Err("--state-dir must be an absolute path".into());
        }
        if !flags.mounter_socket.is_absolute() {
            return Err("--mounter-socket must be an absolute path".into());
        }
        if let Some(system) = &flags.default_system {
            crate::volume::SystemName::parse(system)
                .map_err(|e| format!("--default-system: {e}"))?;
        }
        // `tank, other` in an environment variable is two pools.
        let ephemeral_pools = non_empty(flags.ephemeral_pools);
        let allowed_pools = non_empty(flags.allowed_pools);
        let list_pools = non_empty(flags.list_pools);
        for pool in ephemeral_pools
            .iter()
            .chain(&allowed_pools)
            .chain(&list_pools)
        {
            crate::volume::EntityName::parse(pool)
                .map_err(|e| format!("pool list entry {pool:?}: {e}"))?;
        }
        let copy_route = crate::copies::CopyRoute::choose(flags.copy_route)?;
        let metrics_addr = match flags.metrics_addr.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(a) => Some(crate::metrics::parse_addr(a)?),
        };
        let agent_socket = agent_dir
            .unwrap_or_else(|| PathBuf::from(DEFAULT_AGENT_DIR))
            .join("daos_agent.sock");
        Ok(Config {
            roles,
            endpoint,
            driver_name: flags.driver_name,
            node_id,
            dfuse_path: flags.dfuse_path,
            state_dir: flags.state_dir,
            kubelet_root: flags.kubelet_root,
            mounter_socket: flags.mounter_socket,
            ephemeral_pools,
            allowed_pools,
            snapshots: flags.snapshots,
            list_pools,
            default_system: flags.default_system.filter(|s| !s.is_empty()),
            dfuse_ready_timeout: flags.dfuse_ready_timeout,
            stats_timeout: flags.stats_timeout,
            copy_wait: flags.copy_wait,
            copy_route,
            agent_socket,
            metrics_addr,
        })
    }

    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

fn non_empty(list: Vec<String>) -> Vec<String> {
    list.into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// `unix:///abs/path`, `unix:/abs/path` or a bare absolute path.
pub fn parse_endpoint(endpoint: &str) -> Result<PathBuf, String> {
    let path = endpoint
        .strip_prefix("unix://")
        .or_else(|| endpoint.strip_prefix("unix:"))
        .unwrap_or(endpoint);
    if !path.starts_with('/') {
        return Err(format!(
            "--endpoint {endpoint:?}: only unix sockets with an absolute path are supported (unix:///path)"
        ));
    }
    Ok(PathBuf::from(path))
}

/// GetPluginInfo name rules: at most 63 characters, alphanumerics at both
/// ends, dashes, dots and alphanumerics between.
pub fn validate_driver_name(name: &str) -> Result<(), String> {
    let ok_len = !name.is_empty() && name.len() <= 63;
    let ends_ok = name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    let chars_ok = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    if ok_len && ends_ok && chars_ok {
        Ok(())
    } else {
        Err(format!(
            "--driver-name {name:?}: must be 1-63 characters of [A-Za-z0-9.-], starting and ending alphanumeric"
        ))
    }
}

/// Durations as `30s`, `500ms`, `2m`, `1h`, or bare seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a duration (e.g. 30s, 500ms, 2m)"))?;
    let d = match unit {
        "" | "s" => Duration::from_secs(n),
        "ms" => Duration::from_millis(n),
        "m" => Duration::from_secs(n.saturating_mul(60)),
        "h" => Duration::from_secs(n.saturating_mul(3600)),
        _ => return Err(format!("{s:?}: unknown unit {unit:?} (use ms, s, m or h)")),
    };
    if d.is_zero() {
        return Err(format!("{s:?}: must be greater than zero"));
    }
    Ok(d)
}

fn hostname() -> Result<String, String> {
    nix::unistd::gethostname()
        .map_err(|e| format!("cannot read the host name for --node-id: {e}"))?
        .into_string()
        .map_err(|_| "the host name is not UTF-8; pass --node-id".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn endpoints() {
        assert_eq!(
            parse_endpoint("unix:///csi/csi.sock").unwrap(),
            PathBuf::from("/csi/csi.sock")
        );
        assert_eq!(
            parse_endpoint("unix:/csi/csi.sock").unwrap(),
            PathBuf::from("/csi/csi.sock")
        );
        assert_eq!(
            parse_endpoint("/csi/csi.sock").unwrap(),
            PathBuf::from("/csi/csi.sock")
        );
        assert!(parse_endpoint("tcp://127.0.0.1:10000").is_err());
        assert!(parse_endpoint("unix://relative.sock").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("7").unwrap(), Duration::from_secs(7));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("5 parsecs").is_err());
        assert!(parse_duration("s").is_err());
        assert!(parse_duration("-1s").is_err());
    }

    #[test]
    fn driver_names() {
        assert!(validate_driver_name("csi.daos.io").is_ok());
        assert!(validate_driver_name("a").is_ok());
        assert!(validate_driver_name("-csi.daos.io").is_err());
        assert!(validate_driver_name("csi_daos").is_err());
        assert!(validate_driver_name(&"a".repeat(64)).is_err());
        assert!(validate_driver_name("").is_err());
    }

    #[test]
    fn flags_parse_with_roles_and_lists() {
        let flags = Flags::try_parse_from([
            "daos-csi",
            "--roles",
            "controller,node",
            "--node-id",
            "n1",
            "--ephemeral-pools",
            "tank,other",
            "--allowed-pools",
            "tank, 5a2d1f10-0c1e-4b2a-9d3e-7f6a5b4c3d2e",
            "--dfuse-ready-timeout",
            "10s",
        ])
        .unwrap();
        let cfg = Config::from_flags(flags, Some(PathBuf::from("/tmp/agent"))).unwrap();
        assert!(cfg.has(Role::Controller) && cfg.has(Role::Node) && !cfg.has(Role::Mounter));
        assert_eq!(cfg.ephemeral_pools, vec!["tank", "other"]);
        assert_eq!(
            cfg.allowed_pools,
            vec!["tank", "5a2d1f10-0c1e-4b2a-9d3e-7f6a5b4c3d2e"]
        );
        assert_eq!(cfg.dfuse_ready_timeout, Duration::from_secs(10));
        assert_eq!(
            cfg.agent_socket,
            PathBuf::from("/tmp/agent/daos_agent.sock")
        );
        assert_eq!(cfg.node_id, "n1");
        assert_eq!(cfg.metrics_addr, None);
    }

    #[test]
    fn metrics_address() {
        let parse = |addr: &str| {
            let flags =
                Flags::try_parse_from(["daos-csi", "--roles", "node", "--metrics-addr", addr])
                    .unwrap();
            Config::from_flags(flags, None).map(|c| c.metrics_addr)
        };
        assert_eq!(
            parse(":9815").unwrap(),
            Some("0.0.0.0:9815".parse().unwrap())
        );
        assert_eq!(parse("").unwrap(), None);
        assert!(parse("nowhere").is_err());
    }

    #[test]
    fn flags_reject_bad_values() {
        assert!(Flags::try_parse_from(["daos-csi", "--roles", "gardener"]).is_err());
        let flags = Flags::try_parse_from([
            "daos-csi",
            "--roles",
            "node",
            "--ephemeral-pools",
            "bad pool",
        ])
        .unwrap();
        assert!(Config::from_flags(flags, None).is_err());
        let flags = Flags::try_parse_from([
            "daos-csi",
            "--roles",
            "controller",
            "--allowed-pools",
            "tank,no/slash",
        ])
        .unwrap();
        let err = Config::from_flags(flags, None).unwrap_err();
        assert!(err.contains("no/slash"), "{err}");
        let flags = Flags::try_parse_from(["daos-csi", "--roles", "node", "--kubelet-root", "rel"])
            .unwrap();
        assert!(Config::from_flags(flags, None).is_err());
    }

    /// Marks the child run of `environment_sets_the_metrics_port_when_no_flag_does`.
    const CHILD_RUN: &str = "DAOS_CSI_CONFIG_TEST_CHILD";

    /// The manifests set ports through `DAOS_CSI_METRICS_ADDR`, not a flag: the
    /// variable must take effect when the flag is absent, and a flag must still
    /// win. clap reads the environment of the process, which a test cannot change
    /// without racing its neighbours, so the checks run in a child process (this
    /// test binary, filtered to this test) whose environment is set at spawn.
    #[test]
    fn environment_sets_the_metrics_port_when_no_flag_does() {
        if std::env::var_os(CHILD_RUN).is_some() {
            let flags = Flags::try_parse_from(["daos-csi", "--roles", "node"]).unwrap();
            let cfg = Config::from_flags(flags, None).unwrap();
            assert_eq!(cfg.metrics_addr, Some("0.0.0.0:19815".parse().unwrap()));
            let flags =
                Flags::try_parse_from(["daos-csi", "--roles", "node", "--metrics-addr", ":9999"])
                    .unwrap();
            let cfg = Config::from_flags(flags, None).unwrap();
            assert_eq!(cfg.metrics_addr, Some("0.0.0.0:9999".parse().unwrap()));
            return;
        }
        let test = "config::tests::environment_sets_the_metrics_port_when_no_flag_does";
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", test, "--test-threads=1"])
            .env(CHILD_RUN, "1")
            .env("DAOS_CSI_METRICS_ADDR", ":19815")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "child run failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // The filter must have matched: a child that ran nothing also succeeds.
        assert!(stdout.contains("1 passed"), "child ran no test:\n{stdout}");
    }

    #[test]
    fn snapshots_are_off_unless_asked_for() {
        let parse = |extra: &[&str]| {
            let mut argv = vec!["daos-csi", "--roles", "controller"];
            argv.extend_from_slice(extra);
            Flags::try_parse_from(argv).map(|f| f.snapshots)
        };
        assert!(!parse(&[]).unwrap());
        assert!(parse(&["--snapshots"]).unwrap());
        assert!(parse(&["--snapshots=true"]).unwrap());
        assert!(!parse(&["--snapshots=false"]).unwrap());
        assert!(parse(&["--snapshots=maybe"]).is_err());
    }

    #[test]
    fn copy_route_follows_the_build_unless_asked() {
        use crate::copies::{CopyRoute, DFS_READS_SNAPSHOTS};
        let route = |extra: &[&str]| {
            let mut argv = vec!["daos-csi", "--roles", "controller"];
            argv.extend_from_slice(extra);
            let flags = Flags::try_parse_from(argv).map_err(|e| e.to_string())?;
            Config::from_flags(flags, None).map(|c| c.copy_route)
        };
        let auto = if DFS_READS_SNAPSHOTS {
            CopyRoute::Dfs
        } else {
            CopyRoute::Objects
        };
        assert_eq!(route(&[]), Ok(auto));
        assert_eq!(route(&["--copy-route", "auto"]), Ok(auto));
        assert_eq!(
            route(&["--copy-route", "objects"]),
            Ok(CopyRoute::Objects),
            "the object route works on every build"
        );
        match route(&["--copy-route", "dfs"]) {
            Ok(r) => assert!(DFS_READS_SNAPSHOTS && r == CopyRoute::Dfs),
            Err(e) => assert!(
                !DFS_READS_SNAPSHOTS && e.contains("dfs_mount_snap"),
                "a 2.6 build refuses the DFS route, saying why: {e}"
            ),
        }
        assert!(route(&["--copy-route", "rsync"]).is_err());
    }

    #[test]
    fn every_flag_is_an_environment_variable_named_after_it() {
        for arg in Flags::command().get_arguments() {
            let Some(long) = arg.get_long() else { continue };
            if matches!(long, "help" | "version") {
                continue;
            }
            let expected = format!("DAOS_CSI_{}", long.to_uppercase().replace('-', "_"));
            assert_eq!(
                arg.get_env().and_then(|e| e.to_str()),
                Some(expected.as_str()),
                "--{long}"
            );
        }
    }

    /// `(flag, default cell)` of every row of a README's flag table.
    fn readme_flag_rows(readme: &str) -> Vec<(String, String)> {
        readme
            .lines()
            .filter_map(|line| {
                let rest = line.strip_prefix("| `--")?;
                let (flag, rest) = rest.split_once('`')?;
                let default = rest.trim_start_matches(' ').strip_prefix('|')?;
                let default = default.split_once(" |").map_or(default, |(d, _)| d);
                Some((flag.to_string(), default.trim().to_string()))
            })
            .collect()
    }

    /// What a flag's default cell must show, from the code that applies it.
    fn documented_default(arg: &clap::Arg) -> Option<String> {
        if arg.is_required_set() {
            return Some("(required)".into());
        }
        if let Some(value) = arg.get_default_values().first() {
            return Some(format!("`{}`", value.to_string_lossy()));
        }
        match arg.get_long()? {
            "daos-agent-dir" => Some(format!("`{DEFAULT_AGENT_DIR}`")),
            "default-system" => Some(format!("`{}`", crate::volume::DEFAULT_SYSTEM)),
            _ => None,
        }
    }

    /// Both flag tables list exactly the flags clap knows, with the defaults the
    /// code applies: the tables went stale before (a missing --allowed-pools, a
    /// wrong --daos-agent-dir default).
    #[test]
    fn readme_flag_tables_match_the_flags() {
        let flags: Vec<clap::Arg> = Flags::command()
            .get_arguments()
            .filter(|a| {
                a.get_long()
                    .is_some_and(|l| !matches!(l, "help" | "version"))
            })
            .cloned()
            .collect();
        for (name, readme) in [
            ("csi-driver/README.md", include_str!("../README.md")),
            ("README.md", include_str!("../../README.md")),
        ] {
            let rows = readme_flag_rows(readme);
            let listed: Vec<&str> = rows.iter().map(|(f, _)| f.as_str()).collect();
            let known: Vec<&str> = flags.iter().filter_map(|a| a.get_long()).collect();
            for flag in &known {
                assert!(listed.contains(flag), "{name} has no row for --{flag}");
            }
            for flag in &listed {
                assert!(
                    known.contains(flag),
                    "{name} lists --{flag}, which is no flag"
                );
            }
            for arg in &flags {
                let long = arg.get_long().unwrap_or_default();
                let Some(expected) = documented_default(arg) else {
                    continue;
                };
                let (_, cell) = rows.iter().find(|(f, _)| f == long).unwrap();
                assert!(
                    cell.contains(&expected),
                    "{name}: the default of --{long} is {expected}, the table says {cell}"
                );
            }
        }
    }
}
