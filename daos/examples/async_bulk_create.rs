//! Creates (and then destroys) many containers at once through one event queue, on a
//! single-threaded tokio runtime: every operation is in flight inside DAOS together, and the
//! runtime thread never blocks.
//!
//! ```text
//! cargo run -p daos --features emulator --example async_bulk_create -- tank 200
//! ```
//!
//! Arguments: `POOL [COUNT]` (COUNT defaults to 200).

use std::process::ExitCode;
use std::time::Instant;

use daos::{Daos, Destroy, EventQueue, Pool, PoolAccess, Properties};
use futures::future::join_all;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    // Display, not Debug: the error already says what failed, on what, and why.
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let pool_name = args.next().ok_or("usage: async_bulk_create POOL [COUNT]")?;
    let count: usize = args.next().map_or(Ok(200), |n| n.parse())?;

    let daos = Daos::init()?;
    let eq = EventQueue::new(&daos)?;
    let pool = Pool::connect_async(&eq, pool_name.as_str(), None, PoolAccess::ReadWrite).await?;

    let run = std::process::id();
    let labels: Vec<String> = (0..count).map(|i| format!("bulk-{run}-{i}")).collect();
    let props = Properties::new().redundancy_factor(0);

    let start = Instant::now();
    // Each call submits its operation at once; the futures only carry the results.
    let creates: Vec<_> = labels
        .iter()
        .map(|label| pool.create_container_async(&eq, label, &props))
        .collect();
    println!("{count} creates submitted, all in flight at once");
    let created = join_all(creates).await;
    let failures = created.iter().filter(|r| r.is_err()).count();
    println!(
        "created {} containers in {:?} ({failures} failed)",
        count - failures,
        start.elapsed()
    );
    if let Some(Err(e)) = created.iter().find(|r| r.is_err()) {
        println!("first failure: {e}");
    }

    let start = Instant::now();
    let destroys = created
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .map(|uuid| pool.destroy_container_async(&eq, uuid, Destroy::IfUnused));
    let destroyed = join_all(destroys).await;
    println!(
        "destroyed {} in {:?}",
        destroyed.iter().filter(|r| r.is_ok()).count(),
        start.elapsed()
    );

    // Waits for anything still in flight and destroys the queue, without blocking the runtime.
    eq.close().await?;
    Ok(())
}
