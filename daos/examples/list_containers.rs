//! Connects to a pool and lists its containers with their handle and snapshot counts.
//!
//! ```text
//! cargo run -p daos --features emulator --example list_containers -- tank
//! ```
//!
//! Arguments: `POOL [SYSTEM]`, the pool's label or UUID and, optionally, the DAOS system name.
//! The DAOS agent is found through `DAOS_AGENT_DRPC_DIR` (see the crate README for running
//! this against the emulator).

use std::process::ExitCode;

use daos::{ContainerAccess, Daos, Pool, PoolAccess};

fn main() -> ExitCode {
    // Display, not Debug: the error already says what failed, on what, and why.
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let pool_name = args.next().ok_or("usage: list_containers POOL [SYSTEM]")?;
    let system = args.next();

    let daos = Daos::init()?;
    let pool = Pool::connect(&daos, &pool_name, system.as_deref(), PoolAccess::ReadOnly)?;
    let info = pool.query()?;
    println!(
        "pool {} ({}): {} of {} bytes free, {} targets on {} engines",
        pool_name, info.uuid, info.free_bytes, info.total_bytes, info.ntargets, info.nnodes
    );

    let containers = pool.list_containers()?;
    println!("{} containers", containers.len());
    for entry in &containers {
        let label = entry.label.as_deref().unwrap_or("(no label)");
        // A container destroyed since the listing is simply skipped.
        match pool.open_container(entry, ContainerAccess::ReadOnly) {
            Ok(cont) => {
                let q = cont.query()?;
                println!(
                    "  {}  {label}  {} open handles (ours included), {} snapshots",
                    entry.uuid, q.nhandles, q.nsnapshots
                );
            }
            Err(e) if e.is_not_found() => println!("  {}  {label}  (just destroyed)", entry.uuid),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}
