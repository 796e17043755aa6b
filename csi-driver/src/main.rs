//! The daos-csi binary: parses flags, prepares the environment libdaos and
//! dfuse read, then runs the chosen roles (see `daos_csi::server`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use daos_csi::config::{Config, Flags, LogFormat};

/// Environment read by libdaos (at `daos_init`) and inherited by dfuse.
/// Must be set before any thread exists: `setenv` racing a `getenv` in
/// another thread is undefined behaviour in glibc.
fn prepare_environment(flags: &Flags) -> Option<PathBuf> {
    if let Some(dir) = &flags.daos_agent_dir {
        // SAFETY: called from main before the tokio runtime (or any other
        // thread) is started, so no other thread can read the environment.
        unsafe { std::env::set_var("DAOS_AGENT_DRPC_DIR", dir) };
    }
    if std::env::var_os("D_POLL_TIMEOUT").is_none() {
        // Blocking libdaos calls busy-poll the network by default; a
        // long-running service should sleep in the poll instead (µs).
        // SAFETY: as above, still single-threaded.
        unsafe {
            std::env::set_var("D_POLL_TIMEOUT", "1000");
            // Tells the mounter not to pass our choice on to dfuse.
            std::env::set_var(daos_csi::mounter::server::ENV_POLL_TIMEOUT_DEFAULTED, "1");
        }
    }
    std::env::var_os("DAOS_AGENT_DRPC_DIR").map(PathBuf::from)
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colour only for a person at a terminal: log files and collectors must
    // not get escape codes. The check is on stderr, where the lines go.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}

fn main() -> ExitCode {
    let flags = Flags::parse();
    let agent_dir = prepare_environment(&flags);
    init_logging(flags.log_format);
    let cfg = match Config::from_flags(flags, agent_dir) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("invalid configuration: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            tracing::error!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(daos_csi::server::run(cfg)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            ExitCode::FAILURE
        }
    }
}
