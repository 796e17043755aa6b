//! daos-csi-bench: the figures the README reports, from one run against the DAOS emulator.
//!
//! 1. CreateVolume / DeleteVolume latency, and throughput with 64 callers.
//! 2. NodePublishVolume / NodeUnpublishVolume of a staged volume.
//! 3. A node with 200 volumes staged and 1,000 publishes: wall time, node plugin and mounter
//!    memory at idle and at peak.
//! 4. Event queues: 10,000 container creates with 1 ms injected per DAOS call, blocking one at
//!    a time against 256 in flight.
//! 5. Shelling out: 1,000 creates in process against a CLI process per create.
//! 6. Data path: dd through the published bind mount against the dfuse mount itself.
//! 7. Streaming a 1 GiB file through the `daos` crate (many chunks in flight, and one call at
//!    a time) against dfuse on the same container.
//! 8. Copying a snapshot of 10,000 small files, and of one 1 GiB file, into a new container:
//!    `daos::copy_tree` as the driver runs it (16 operations in flight), one operation at a
//!    time, and `cp -a` between two dfuse mounts.
//!
//! Items 1-3 and 6 run the real `daos-csi` binary (found beside this executable, or
//! `$DAOS_CSI_BIN`) over its unix socket; 4, 5, 7 and 8 call the `daos` crate in this process.
//! Build everything in release first: `ci/bench.sh` does, then runs this.

mod copy;
mod csi;
mod fileio;
mod host;
mod inproc;
mod report;
mod rig;

use clap::Parser;
use report::{Figure, Target};
use serde::Serialize;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

#[derive(Parser, Debug)]
#[command(
    name = "daos-csi-bench",
    about = "Benchmarks of daos-csi on the DAOS emulator"
)]
struct Args {
    /// Run only these items (1-8), e.g. `--only 4` or `--only 1,2`.
    #[arg(long, value_delimiter = ',', value_parser = clap::value_parser!(u8).range(1..=8))]
    only: Vec<u8>,
    /// Smaller sample counts: a smoke run of every item in about a minute.
    #[arg(long)]
    quick: bool,
    /// Also write the figures, the machine and the run's settings to this JSON file.
    #[arg(long)]
    json: Option<PathBuf>,
}

impl Args {
    fn wants(&self, item: u8) -> bool {
        self.only.is_empty() || self.only.contains(&item)
    }
}

#[derive(Serialize)]
struct RunJson<'a> {
    machine: &'a host::Machine,
    quick: bool,
    unix_time: u64,
    wall_seconds: f64,
    load_average_at_end: String,
    figures: Vec<report::FigureJson>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let machine = host::Machine::describe();
    let started = Instant::now();
    println!("daos-csi-bench on {}", machine.one_line());
    if cfg!(debug_assertions) {
        println!("WARNING: a debug build; its figures mean nothing (use --release)");
    }
    let counts = csi::Counts::new(args.quick);
    let mut figures = Vec::new();
    let mut failures = 0;

    // Items 4, 5, 7 and 8 call libdaos in this process: its system must be in the environment
    // before any other thread exists, so they run first.
    if args.wants(4) || args.wants(5) || args.wants(7) || args.wants(8) {
        let system = daos_csi_e2e::daos_system("8G");
        if system.is_emulated() {
            // SAFETY: no thread of ours exists yet; the harness's only thread drains the
            // agent's output and never reads the environment. libdaos reads the variable at
            // daos_init, later, on this thread.
            unsafe { std::env::set_var("DAOS_AGENT_DRPC_DIR", &system.agent_dir) };
        }
        if args.wants(4) {
            run_item(4, &mut figures, &mut failures, || {
                inproc::event_queues(&system, args.quick)
            });
        }
        if args.wants(5) {
            run_item(5, &mut figures, &mut failures, || {
                inproc::shell_out(&system, args.quick)
            });
        }
        if args.wants(7) {
            run_item(7, &mut figures, &mut failures, || {
                fileio::streaming(&system, args.quick)
            });
        }
        if args.wants(8) {
            run_item(8, &mut figures, &mut failures, || {
                copy::copying(&system, args.quick)
            });
        }
    }

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    if args.wants(1) {
        run_item(1, &mut figures, &mut failures, || {
            runtime.block_on(csi::controller(counts))
        });
    }
    if args.wants(2) {
        run_item(2, &mut figures, &mut failures, || {
            runtime.block_on(csi::publish(counts))
        });
    }
    if args.wants(3) {
        run_item(3, &mut figures, &mut failures, || {
            runtime.block_on(csi::node_at_scale(counts))
        });
    }
    if args.wants(6) {
        run_item(6, &mut figures, &mut failures, || {
            runtime.block_on(csi::data_path(counts))
        });
    }
    drop(runtime);

    figures.sort_by_key(|f| f.item);
    let wall = started.elapsed();
    println!();
    println!("{}", report::table(&figures));
    print!("{}", report::notes(&figures));
    let load_at_end = host::load_average();
    println!(
        "machine: {}; {} run in {:.0} s, load average {load_at_end} at the end",
        machine.one_line(),
        if args.quick { "quick" } else { "full" },
        wall.as_secs_f64()
    );
    if let Some(path) = &args.json {
        let run = RunJson {
            machine: &machine,
            quick: args.quick,
            unix_time: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
            wall_seconds: wall.as_secs_f64(),
            load_average_at_end: load_at_end.clone(),
            figures: figures.iter().map(Figure::to_json).collect(),
        };
        let written = serde_json::to_vec_pretty(&run)
            .map_err(|e| e.to_string())
            .and_then(|json| std::fs::write(path, json).map_err(|e| e.to_string()));
        if let Err(e) = written {
            eprintln!("cannot write {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
        println!("figures written to {}", path.display());
    }
    if failures > 0 {
        println!("{failures} item(s) could not be measured (see FAILED rows)");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// Runs one item; an error or a panic (the e2e helpers panic on a failed call) becomes a
/// FAILED row, and the other items still run.
fn run_item(
    item: u8,
    figures: &mut Vec<Figure>,
    failures: &mut usize,
    body: impl FnOnce() -> Result<Vec<Figure>, String>,
) {
    let start = Instant::now();
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "panicked".to_string());
        Err(message)
    });
    match outcome {
        Ok(mut done) => {
            eprintln!(
                "bench: item {item} done in {:.1} s",
                start.elapsed().as_secs_f64()
            );
            for figure in &done {
                eprintln!(
                    "{}",
                    report::table(std::slice::from_ref(figure))
                        .lines()
                        .nth(2)
                        .unwrap_or("")
                );
            }
            figures.append(&mut done);
        }
        Err(message) => {
            eprintln!("bench: item {item} FAILED: {message}");
            *failures += 1;
            let first_line = message.lines().next().unwrap_or("").to_string();
            figures.push(
                Figure::value(item, "FAILED (see note)", 0, 0.0, "", Target::Failed)
                    .note(first_line),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_names_items_one_to_eight() {
        let args = Args::try_parse_from(["bench", "--only", "1,8"]).expect("1 and 8 are items");
        assert!(args.wants(8) && args.wants(1) && !args.wants(7));
        assert!(Args::try_parse_from(["bench", "--only", "9"]).is_err());
        assert!(Args::try_parse_from(["bench", "--only", "0"]).is_err());
        assert!(Args::try_parse_from(["bench"]).expect("no items").wants(8));
    }
}
