//! The emulated dmg: pool administration of an emulated system, plus fault injection.
//!
//! Pool commands follow `src/control/cmd/dmg/pool.go` (DAOS 2.8): sizes parse like go-humanize
//! (`8G` = 8×10⁹ bytes, `8GiB` = 8×2³⁰), the tier ratio defaults to 6% SCM / 94% NVMe, and
//! destroy refuses a pool with containers unless `--recursive` and one with open handles
//! unless `--force`. `-j` prints `{"response": ..., "error": ..., "status": ...}`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args as ClapArgs, Parser, Subcommand};
use daos_emulator::faults::{self, FaultRule};
use daos_emulator::label::NameOrUuid;
use daos_emulator::state::{DEFAULT_AGENT_DIR, PoolCreate, PoolError, PoolMeta, System};
use serde_json::json;

#[derive(Parser, Debug)]
#[command(name = "dmg", about = "Emulated DAOS management tool")]
struct Cli {
    /// Agent directory of the emulated system (default: $DAOS_AGENT_DRPC_DIR).
    #[arg(long = "agent-dir", global = true)]
    agent_dir: Option<PathBuf>,
    /// JSON output.
    #[arg(short = 'j', long = "json", global = true)]
    json: bool,
    /// Accepted for compatibility (insecure transport).
    #[arg(short = 'i', long = "insecure", global = true)]
    insecure: bool,
    /// Accepted for compatibility (config file).
    #[arg(short = 'o', long = "config-path", global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Pool commands.
    #[command(subcommand)]
    Pool(PoolCmd),
    /// Fault injection (emulator extension).
    #[command(subcommand)]
    Fault(FaultCmd),
}

#[derive(Subcommand, Debug)]
enum PoolCmd {
    /// Create a pool.
    Create(CreateArgs),
    /// List pools.
    #[command(alias = "ls")]
    List {
        /// Verbose listing.
        #[arg(short = 'v', long)]
        verbose: bool,
    },
    /// Query a pool.
    Query {
        /// Pool label or UUID.
        pool: String,
    },
    /// Destroy a pool.
    Destroy {
        /// Evict open handles.
        #[arg(short = 'f', long)]
        force: bool,
        /// Destroy its containers too.
        #[arg(short = 'r', long)]
        recursive: bool,
        /// Pool label or UUID.
        pool: String,
    },
}

#[derive(ClapArgs, Debug)]
struct CreateArgs {
    /// Total size (K M G T P, also KiB.. and KB..).
    #[arg(short = 'z', long)]
    size: Option<String>,
    /// Tier ratio in percent, e.g. `6,94`.
    #[arg(short = 't', long = "tier-ratio")]
    tier_ratio: Option<String>,
    /// SCM size (manual allocation).
    #[arg(short = 's', long = "scm-size")]
    scm_size: Option<String>,
    /// NVMe size (manual allocation).
    #[arg(short = 'n', long = "nvme-size")]
    nvme_size: Option<String>,
    /// Label (deprecated form; prefer the positional label).
    #[arg(long)]
    label: Option<String>,
    /// Owner user (`name@`).
    #[arg(short = 'u', long = "user")]
    user: Option<String>,
    /// Owner group (`name@`).
    #[arg(short = 'g', long = "group")]
    group: Option<String>,
    /// Pool label.
    pool_label: Option<String>,
}

#[derive(Subcommand, Debug)]
enum FaultCmd {
    /// Add a fault rule.
    Set {
        /// C function name, or `*`.
        #[arg(long)]
        op: String,
        /// Error code (negative DER, or errno for DFS calls).
        #[arg(long, allow_hyphen_values = true)]
        der: Option<i32>,
        /// Only the first N matching calls.
        #[arg(long)]
        count: Option<u32>,
        /// Delay in milliseconds.
        #[arg(long = "delay-ms")]
        delay_ms: Option<u64>,
        /// Only calls on this pool (label or UUID).
        #[arg(long)]
        pool: Option<String>,
    },
    /// Remove one fault rule (by the id `fault set` printed); the others keep their counts.
    Remove {
        /// Rule id.
        id: String,
    },
    /// Remove every fault rule and reset every count.
    Clear,
    /// Show the fault rules.
    List,
}

/// Parses a size like go-humanize's ParseBytes.
fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().map_err(|_| format!("invalid size {s:?}"))?;
    let unit = unit.trim().to_ascii_lowercase();
    let mult: f64 = match unit.as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "ki" | "kib" => 1024.0,
        "m" | "mb" => 1e6,
        "mi" | "mib" => 1024f64.powi(2),
        "g" | "gb" => 1e9,
        "gi" | "gib" => 1024f64.powi(3),
        "t" | "tb" => 1e12,
        "ti" | "tib" => 1024f64.powi(4),
        "p" | "pb" => 1e15,
        "pi" | "pib" => 1024f64.powi(5),
        _ => return Err(format!("invalid size {s:?}")),
    };
    Ok((n * mult) as u64)
}

fn human(bytes: u64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB", "PB"];
    let mut v = bytes as f64;
    let mut i = 0;
    while v >= 1000.0 && i < units.len() - 1 {
        v /= 1000.0;
        i += 1;
    }
    if i == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", units[i])
    }
}

fn out_json(response: serde_json::Value, error: Option<String>, status: i32) {
    let v = json!({ "response": response, "error": error, "status": status });
    println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
}

fn pool_json(sys: &System, m: &PoolMeta) -> serde_json::Value {
    let dir = sys.find_pool(&NameOrUuid::Uuid(m.uuid)).ok();
    let used = dir
        .as_ref()
        .and_then(|d| d.usage().ok())
        .map(|(u, _)| u)
        .unwrap_or(0);
    let total = m.total_bytes();
    let scm_used = if total == 0 {
        0
    } else {
        ((used as u128 * m.scm_bytes as u128) / total as u128) as u64
    };
    json!({
        "uuid": m.uuid.to_string(),
        "label": m.label,
        "state": "Ready",
        "total_targets": m.ntargets,
        "active_targets": m.ntargets,
        "disabled_targets": 0,
        "total_engines": m.nnodes,
        "svc_reps": [0],
        "tier_stats": [
            {"media_type": "scm", "total": m.scm_bytes, "free": m.scm_bytes.saturating_sub(scm_used)},
            {"media_type": "nvme", "total": m.nvme_bytes, "free": m.nvme_bytes.saturating_sub(used - scm_used)}
        ],
        "usage": {"total": total, "free": total.saturating_sub(used), "used": used},
        "containers": dir.map(|d| d.list_conts().len()).unwrap_or(0),
    })
}

fn fail(json: bool, msg: String, status: i32) -> ExitCode {
    if json {
        out_json(serde_json::Value::Null, Some(msg), status);
    } else {
        eprintln!("ERROR: dmg: {msg}");
    }
    ExitCode::FAILURE
}

fn principal(name: Option<&String>, fallback: Option<String>) -> Option<String> {
    match name {
        Some(n) if n.contains('@') => Some(n.clone()),
        Some(n) => Some(format!("{n}@")),
        None => fallback.map(|f| format!("{f}@")),
    }
}

fn create(sys: &System, json: bool, a: &CreateArgs) -> ExitCode {
    let label = match (&a.pool_label, &a.label) {
        (Some(l), None) | (None, Some(l)) => l.clone(),
        (Some(_), Some(_)) => {
            return fail(
                json,
                "can't set label property with label argument".into(),
                -1003,
            );
        }
        (None, None) => {
            return fail(
                json,
                "the required argument `<pool label>` was not provided".into(),
                -1003,
            );
        }
    };
    let (scm, nvme) = match (&a.size, &a.scm_size, &a.nvme_size) {
        (Some(s), None, None) => {
            let total = match parse_size(s) {
                Ok(t) => t,
                Err(e) => return fail(json, e, -1003),
            };
            let scm_pct = match &a.tier_ratio {
                None => 6.0,
                Some(r) => match r
                    .split(',')
                    .next()
                    .and_then(|p| p.trim().trim_end_matches('%').parse::<f64>().ok())
                {
                    Some(p) if (0.0..=100.0).contains(&p) => p,
                    _ => return fail(json, format!("invalid tier ratio {r}"), -1003),
                },
            };
            let scm = (total as f64 * scm_pct / 100.0) as u64;
            (scm, total - scm)
        }
        (None, Some(s), n) => {
            let scm = match parse_size(s) {
                Ok(v) => v,
                Err(e) => return fail(json, e, -1003),
            };
            let nvme = match n.as_deref().map(parse_size).transpose() {
                Ok(v) => v.unwrap_or(0),
                Err(e) => return fail(json, e, -1003),
            };
            (scm, nvme)
        }
        (Some(_), _, _) => {
            return fail(
                json,
                "--size may not be mixed with --scm-size or --nvme-size".into(),
                -1003,
            );
        }
        (None, None, _) => {
            return fail(
                json,
                "either --size or --scm-size must be supplied".into(),
                -1003,
            );
        }
    };
    let (uid, gid) = daos_emulator::fsutil::euid_egid();
    let Some(owner) = principal(a.user.as_ref(), daos_emulator::fsutil::user_name(uid)) else {
        return fail(json, format!("no user name for uid {uid}"), -1005);
    };
    let Some(group) = principal(a.group.as_ref(), daos_emulator::fsutil::group_name(gid)) else {
        return fail(json, format!("no group name for gid {gid}"), -1005);
    };
    let req = PoolCreate {
        label,
        scm_bytes: scm,
        nvme_bytes: nvme,
        owner,
        owner_group: group,
        acl: None,
    };
    match sys.create_pool(&req) {
        Ok(m) => {
            if json {
                out_json(
                    json!({"uuid": m.uuid.to_string(), "svc_ldr": 0, "svc_reps": [0], "tgt_ranks": [0], "tier_bytes": [m.scm_bytes, m.nvme_bytes]}),
                    None,
                    0,
                );
            } else {
                println!("{}", m.uuid);
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            let status = match &e {
                PoolError::Der(d) => d.0,
                _ => -1004,
            };
            fail(json, format!("pool create failed: {e}"), status)
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let _ = (cli.insecure, &cli.config);
    let dir = cli
        .agent_dir
        .clone()
        .or_else(|| {
            std::env::var_os("DAOS_AGENT_DRPC_DIR")
                .filter(|d| !d.is_empty())
                .map(PathBuf::from)
        })
        .unwrap_or_else(|| PathBuf::from(DEFAULT_AGENT_DIR));
    let sys = System::new(&dir);
    let json = cli.json;
    if let Cmd::Fault(f) = &cli.cmd {
        let r = match f {
            FaultCmd::Set {
                op,
                der,
                count,
                delay_ms,
                pool,
            } => faults::set(
                &dir,
                FaultRule {
                    id: None,
                    op: op.clone(),
                    pool: pool.clone(),
                    der: *der,
                    count: *count,
                    delay_ms: *delay_ms,
                },
            )
            .map(|id| println!("{id}")),
            FaultCmd::Remove { id } => faults::remove(&dir, id),
            FaultCmd::Clear => faults::clear(&dir),
            FaultCmd::List => {
                let rules = faults::list(&dir);
                println!(
                    "{}",
                    serde_json::to_string_pretty(&rules).unwrap_or_default()
                );
                Ok(())
            }
        };
        return match r {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(json, format!("fault: {e}"), -1025),
        };
    }
    if !sys.exists() {
        return fail(
            json,
            format!(
                "no emulated DAOS system under {} (start daos_agent first)",
                dir.display()
            ),
            -1006,
        );
    }
    let Cmd::Pool(p) = &cli.cmd else {
        return ExitCode::FAILURE;
    };
    match p {
        PoolCmd::Create(a) => create(&sys, json, a),
        PoolCmd::List { verbose } => {
            let pools = sys.list_pools();
            if json {
                let list: Vec<_> = pools.iter().map(|m| pool_json(&sys, m)).collect();
                out_json(json!({ "pools": list }), None, 0);
            } else if pools.is_empty() {
                println!("No pools in system");
            } else {
                println!(
                    "{:<16} {:<10} {:<6} {:<6}{}",
                    "Pool",
                    "Size",
                    "State",
                    "Used",
                    if *verbose { " UUID" } else { "" }
                );
                for m in &pools {
                    let v = pool_json(&sys, m);
                    let used = v["usage"]["used"].as_u64().unwrap_or(0);
                    let pct = if m.total_bytes() == 0 {
                        0
                    } else {
                        used * 100 / m.total_bytes()
                    };
                    let uuid = if *verbose {
                        format!(" {}", m.uuid)
                    } else {
                        String::new()
                    };
                    println!(
                        "{:<16} {:<10} {:<6} {:<6}{uuid}",
                        m.label.clone().unwrap_or_default(),
                        human(m.total_bytes()),
                        "Ready",
                        format!("{pct}%")
                    );
                }
            }
            ExitCode::SUCCESS
        }
        PoolCmd::Query { pool } => {
            let Some(id) = NameOrUuid::parse(pool) else {
                return fail(json, format!("invalid pool {pool:?}"), -1003);
            };
            let m = match sys.find_pool(&id).and_then(|d| d.meta()) {
                Ok(m) => m,
                Err(e) => return fail(json, format!("pool query failed: {e}"), e.0),
            };
            let v = pool_json(&sys, &m);
            if json {
                out_json(v, None, 0);
            } else {
                println!(
                    "Pool {}, ntarget={}, disabled=0, leader=0, version=1, state=Ready",
                    m.uuid, m.ntargets
                );
                println!("Pool space info:");
                println!("- Target count:{}", m.ntargets);
                for (i, t) in v["tier_stats"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .iter()
                    .enumerate()
                {
                    let name = if i == 0 { "SCM" } else { "NVMe" };
                    println!("- Storage tier {i} ({name}):");
                    println!("  Total size: {}", human(t["total"].as_u64().unwrap_or(0)));
                    println!("  Free: {}", human(t["free"].as_u64().unwrap_or(0)));
                }
            }
            ExitCode::SUCCESS
        }
        PoolCmd::Destroy {
            force,
            recursive,
            pool,
        } => {
            let Some(id) = NameOrUuid::parse(pool) else {
                return fail(json, format!("invalid pool {pool:?}"), -1003);
            };
            match sys.destroy_pool(&id, *force, *recursive) {
                Ok(()) => {
                    if json {
                        out_json(serde_json::Value::Null, None, 0);
                    } else {
                        println!("Pool-destroy command succeeded");
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    let (msg, status) = match &e {
                        PoolError::HasContainers => (
                            "Pool-destroy command failed: cannot destroy a pool with existing containers (retry with --recursive)".to_string(),
                            -1012,
                        ),
                        PoolError::Der(d) => (format!("Pool-destroy command failed: {d}"), d.0),
                        other => (format!("Pool-destroy command failed: {other}"), -1025),
                    };
                    fail(json, msg, status)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_like_humanize() {
        assert_eq!(parse_size("8G").unwrap(), 8_000_000_000);
        assert_eq!(parse_size("8GB").unwrap(), 8_000_000_000);
        assert_eq!(parse_size("8GiB").unwrap(), 8 << 30);
        assert_eq!(parse_size("1.5 TB").unwrap(), 1_500_000_000_000);
        assert_eq!(parse_size("4096").unwrap(), 4096);
        assert!(parse_size("8X").is_err());
    }
}
