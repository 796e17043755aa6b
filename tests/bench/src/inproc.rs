//! Items 4 and 5: the `daos` crate against the emulated libdaos, in this process.
//!
//! 4. What the event queues are worth: container creates with 1 ms of injected latency per
//!    DAOS call, one after another through the blocking API, then 256 at a time through one
//!    [`EventQueue`].
//! 5. What shelling out cost the first DAOS driver: POSIX container creates in process (one
//!    pool connection, reused) against a `daos`-like program run once per create
//!    (`daos-emu-cli`: init, connect, create, disconnect, fini, as `daos container create`).

use crate::report::{Figure, Samples, Target};
use daos::{Daos, EventQueue, Pool, PoolAccess, PosixContainerSpec, Properties};
use daos_test_harness::TestSystem;
use futures::stream::{self, StreamExt};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const ASYNC_IN_FLIGHT: usize = 256;
const INJECTED_DELAY_MS: u64 = 1;
/// The emulator rereads the fault file at most every 50 ms.
const FAULT_RELOAD: Duration = Duration::from_millis(200);

/// Container creates of item 4 and item 5 (full run, `--quick`).
pub fn counts(quick: bool) -> (usize, usize) {
    if quick { (1_000, 200) } else { (10_000, 1_000) }
}

/// A fresh pool for one side of a comparison, so that neither side pays for the other's
/// containers (the emulator keeps a pool's containers in one directory).
fn fresh_pool(system: &TestSystem, label: &str) -> String {
    if system.emulated {
        system.create_pool(label, "8G");
        label.to_string()
    } else {
        system.pool.clone()
    }
}

fn connect(daos: &Arc<Daos>, pool: &str) -> Result<Pool, String> {
    Pool::connect(daos, pool, None, PoolAccess::ReadWrite)
        .map_err(|e| format!("connecting to pool {pool}: {e}"))
}

/// Item 4.
///
/// Besides (a) and (b) it times (c): the async run again with no injected latency. That is
/// the emulator's own ceiling: (b) cannot finish faster than (c), so wall(a) / wall(c) bounds
/// the speedup any client could show on this machine.
pub fn event_queues(system: &TestSystem, quick: bool) -> Result<Vec<Figure>, String> {
    let (creates, _) = counts(quick);
    let pools = [
        fresh_pool(system, "bench-eq-blocking"),
        fresh_pool(system, "bench-eq-async"),
        fresh_pool(system, "bench-eq-ceiling"),
    ];
    let daos = Daos::init().map_err(|e| format!("daos_init: {e}"))?;
    let eq = EventQueue::new(&daos).map_err(|e| format!("daos_eq_create: {e}"))?;
    let [blocking_pool, async_pool, ceiling_pool] = [0, 1, 2].map(|i| connect(&daos, &pools[i]));
    let (blocking_pool, async_pool, ceiling_pool) = (blocking_pool?, async_pool?, ceiling_pool?);

    if !system.inject_fault("*", None, None, Some(INJECTED_DELAY_MS)) {
        return Err("needs the emulator: latency cannot be injected into real DAOS".into());
    }
    std::thread::sleep(FAULT_RELOAD);
    let with_latency = blocking_and_async(&blocking_pool, &async_pool, &eq, creates);
    system.clear_faults();
    std::thread::sleep(FAULT_RELOAD);
    let ((blocking, blocking_wall), (concurrent, async_wall)) = with_latency?;

    eprintln!(
        "bench: item 4c: {creates} async creates, {ASYNC_IN_FLIGHT} in flight, no injected latency"
    );
    let (ceiling, ceiling_wall) = async_creates(&ceiling_pool, &eq, "bench-ceiling", creates)?;

    let speedup = blocking_wall.as_secs_f64() / async_wall.as_secs_f64();
    let bound = blocking_wall.as_secs_f64() / ceiling_wall.as_secs_f64();
    // What (b) paid for the injected latency beyond (c), against what (a) paid for it.
    let injected = Duration::from_millis(INJECTED_DELAY_MS * creates as u64).as_secs_f64();
    let paid = (async_wall.as_secs_f64() - ceiling_wall.as_secs_f64()).max(0.0);
    let hidden = (100.0 * (1.0 - paid / injected)).clamp(0.0, 100.0);
    let rate = |wall: Duration| creates as f64 / wall.as_secs_f64();
    Ok(vec![
        Figure::latency(
            4,
            "(a) create, blocking, 1 at a time, +1 ms",
            &blocking,
            Target::None,
        )
        .note(format!(
            "{creates} creates in {:.2} s ({:.0}/s)",
            blocking_wall.as_secs_f64(),
            rate(blocking_wall)
        )),
        Figure::latency(
            4,
            "(b) create, async, 256 in flight, +1 ms",
            &concurrent,
            Target::None,
        )
        .note(format!(
            "{creates} creates in {:.3} s ({:.0}/s); latency from submit to completion",
            async_wall.as_secs_f64(),
            rate(async_wall)
        )),
        Figure::latency(
            4,
            "(c) create, async, 256 in flight, +0 ms",
            &ceiling,
            Target::None,
        )
        .note(format!(
            "{creates} creates in {:.3} s ({:.0}/s): the emulator's own limit; \
                 wall(a) / wall(c) = {bound:.1}x is the most (b) could show here",
            ceiling_wall.as_secs_f64(),
            rate(ceiling_wall)
        )),
        Figure::value(
            4,
            "injected latency hidden by the queue",
            creates,
            hidden,
            "%",
            Target::None,
        )
        .note(format!(
            "1 - (wall(b) - wall(c)) / ({creates} x {INJECTED_DELAY_MS} ms); (a) pays all of it"
        )),
        Figure::value(
            4,
            "event queue speedup, wall (a) / wall (b)",
            creates,
            speedup,
            "x",
            Target::AtLeast(100.0),
        ),
    ])
}

type Timed = (Samples, Duration);

fn blocking_and_async(
    blocking_pool: &Pool,
    async_pool: &Pool,
    eq: &EventQueue,
    creates: usize,
) -> Result<(Timed, Timed), String> {
    // Make sure the injected latency is in force before anything is timed.
    let probe = Instant::now();
    blocking_pool
        .create_container("bench-eq-probe", &Properties::new())
        .map_err(|e| format!("probe create: {e}"))?;
    if probe.elapsed() < Duration::from_millis(INJECTED_DELAY_MS) {
        return Err(format!(
            "the injected {INJECTED_DELAY_MS} ms latency is not in force (a create took {:?})",
            probe.elapsed()
        ));
    }
    eprintln!("bench: item 4a: {creates} blocking creates, one at a time");
    let blocking = blocking_creates(blocking_pool, creates)?;
    eprintln!("bench: item 4b: {creates} async creates, {ASYNC_IN_FLIGHT} in flight");
    let concurrent = async_creates(async_pool, eq, "bench-async", creates)?;
    Ok((blocking, concurrent))
}

fn blocking_creates(pool: &Pool, creates: usize) -> Result<Timed, String> {
    let props = Properties::new();
    let mut samples = Samples::with_capacity(creates);
    let start = Instant::now();
    for i in 0..creates {
        let t = Instant::now();
        pool.create_container(&format!("bench-seq-{i}"), &props)
            .map_err(|e| format!("blocking create {i}: {e}"))?;
        samples.push(t.elapsed());
    }
    Ok((samples, start.elapsed()))
}

fn async_creates(
    pool: &Pool,
    eq: &EventQueue,
    prefix: &str,
    creates: usize,
) -> Result<Timed, String> {
    let props = Properties::new();
    let start = Instant::now();
    let results: Vec<Result<Duration, String>> = futures::executor::block_on(
        stream::iter(0..creates)
            .map(|i| {
                let t = Instant::now();
                let create = pool.create_container_async(eq, &format!("{prefix}-{i}"), &props);
                async move {
                    create
                        .await
                        .map(|_| t.elapsed())
                        .map_err(|e| format!("async create {i}: {e}"))
                }
            })
            .buffer_unordered(ASYNC_IN_FLIGHT)
            .collect(),
    );
    let wall = start.elapsed();
    let mut samples = Samples::with_capacity(creates);
    for result in results {
        samples.push(result?);
    }
    Ok((samples, wall))
}

/// Item 5.
pub fn shell_out(system: &TestSystem, quick: bool) -> Result<Vec<Figure>, String> {
    let (_, creates) = counts(quick);
    let daos = Daos::init().map_err(|e| format!("daos_init: {e}"))?;
    let in_process_pool = connect(&daos, &fresh_pool(system, "bench-inproc"))?;
    let cli_pool = fresh_pool(system, "bench-cli");

    eprintln!("bench: item 5: {creates} POSIX container creates in process");
    let mut in_process = Samples::with_capacity(creates);
    let start = Instant::now();
    for i in 0..creates {
        let t = Instant::now();
        in_process_pool
            .create_posix_container(&PosixContainerSpec::new(format!("bench-inproc-{i}")))
            .map_err(|e| format!("in-process create {i}: {e}"))?;
        in_process.push(t.elapsed());
    }
    let in_process_wall = start.elapsed();

    eprintln!("bench: item 5: {creates} POSIX container creates, one CLI process each");
    let cli = system.bin("daos-emu-cli");
    let mut shelled = Samples::with_capacity(creates);
    let start = Instant::now();
    for i in 0..creates {
        let t = Instant::now();
        let output = Command::new(&cli)
            .args(["container", "create", "--type", "POSIX", &cli_pool])
            .arg(format!("bench-cli-{i}"))
            .envs(system.env())
            .output()
            .map_err(|e| format!("running {}: {e}", cli.display()))?;
        shelled.push(t.elapsed());
        if !output.status.success() {
            return Err(format!(
                "daos-emu-cli create {i} failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            ));
        }
    }
    let shelled_wall = start.elapsed();

    let ratio = shelled_wall.as_secs_f64() / in_process_wall.as_secs_f64();
    Ok(vec![
        Figure::latency(5, "POSIX create, in process", &in_process, Target::None).note(format!(
            "{creates} creates in {:.2} s over one pool connection",
            in_process_wall.as_secs_f64()
        )),
        Figure::latency(5, "POSIX create, CLI process per call", &shelled, Target::None).note(
            format!(
                "{creates} runs of daos-emu-cli in {:.2} s (fork+exec, daos_init, connect, create, disconnect, fini)",
                shelled_wall.as_secs_f64()
            ),
        ),
        Figure::value(
            5,
            "shell-out cost (wall CLI / wall in process)",
            creates,
            ratio,
            "x",
            Target::None,
        ),
    ])
}
