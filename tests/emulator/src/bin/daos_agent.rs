//! The emulated daos_agent: owns an emulated system's state directory and answers libdaos on
//! `<runtime dir>/daos_agent.sock`.
//!
//! Like the real agent's process monitor (`src/control/cmd/daos_agent/procmon.go`), it evicts
//! the handles of a client that exits without closing them: at once when its `daos_fini`
//! says so, else within three seconds of its death.
//!
//! Like the real agent (`src/control/cmd/daos_agent/start.go`), SIGTERM/SIGINT shut it down:
//! it evicts the pool handles of local processes (unless `--disable-auto-evict`), removes its
//! socket and exits 0; SIGUSR1 evicts handles and keeps running. SIGKILL leaves the socket
//! file behind, so clients then get ECONNREFUSED.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use daos_emulator::state::{DEFAULT_AGENT_DIR, System};

#[derive(Parser, Debug)]
#[command(name = "daos_agent", about = "Emulated DAOS agent")]
struct Args {
    /// Socket directory (default: $DAOS_AGENT_DRPC_DIR, else /var/run/daos_agent).
    #[arg(long = "runtime-dir", short = 'r')]
    runtime_dir: Option<PathBuf>,
    /// Exit when the parent process dies (for tests).
    #[arg(long = "exit-with-parent")]
    exit_with_parent: bool,
    /// Keep client handles when the agent stops (the real agent's `disable_auto_evict`).
    #[arg(long = "disable-auto-evict")]
    disable_auto_evict: bool,
    /// Accepted for compatibility with the real agent; ignored.
    #[arg(short = 'o', long = "config-path")]
    config: Option<PathBuf>,
    /// Accepted for compatibility (`daos_agent start`).
    command: Option<String>,
}

fn handle(stream: UnixStream, system: &System, system_name: &str) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let uid = daos_emulator::agent::peer_uid(&stream);
    let mut reader = BufReader::new(&stream);
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() || line.is_empty() {
        return;
    }
    // A client's daos_fini: what it left open is evicted now (procmon.go, NotifyExit).
    if line.trim() == "EXIT"
        && let Some(pid) = daos_emulator::agent::peer_pid(&stream)
    {
        system.evict_handles_of(pid);
    }
    let answer = daos_emulator::agent::answer(line.trim(), system_name, uid);
    let mut w = &stream;
    let _ = w.write_all(format!("{answer}\n").as_bytes());
}

fn shutdown(system: &System, evict: bool) -> ! {
    let _ = std::fs::remove_file(system.socket_path());
    if evict {
        let n = system.evict_all_handles();
        if n > 0 {
            eprintln!("daos_agent: evicted {n} handle(s) of local processes");
        }
    }
    std::process::exit(0);
}

fn main() {
    let args = Args::parse();
    let _ = (&args.config, &args.command);
    let dir = args
        .runtime_dir
        .clone()
        .or_else(|| {
            std::env::var_os("DAOS_AGENT_DRPC_DIR")
                .filter(|d| !d.is_empty())
                .map(PathBuf::from)
        })
        .unwrap_or_else(|| PathBuf::from(DEFAULT_AGENT_DIR));

    // Block the shutdown signals before any thread exists so that only sigwait sees them.
    // SAFETY: building a signal set and masking it for this (single-threaded) process.
    let set = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for s in [libc::SIGTERM, libc::SIGINT, libc::SIGUSR1, libc::SIGHUP] {
            libc::sigaddset(&mut set, s);
        }
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        set
    };

    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("daos_agent: cannot create {}: {e}", dir.display());
        std::process::exit(1);
    }
    let system = System::new(&dir);
    if let Err(e) = system.create_layout() {
        eprintln!(
            "daos_agent: cannot create the emulated system under {}: {e}",
            dir.display()
        );
        std::process::exit(1);
    }
    let sock = system.socket_path();
    if sock.exists() {
        if UnixStream::connect(&sock).is_ok() {
            eprintln!(
                "daos_agent: another agent is listening on {}",
                sock.display()
            );
            std::process::exit(1);
        }
        let _ = std::fs::remove_file(&sock);
    }
    let listener = match UnixListener::bind(&sock) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("daos_agent: cannot bind {}: {e}", sock.display());
            std::process::exit(1);
        }
    };
    let _ = std::fs::set_permissions(&sock, std::fs::Permissions::from_mode(0o777));
    let evict = !args.disable_auto_evict;

    {
        let system = system.clone();
        std::thread::spawn(move || {
            loop {
                let mut sig: libc::c_int = 0;
                // SAFETY: sigwait on the set blocked above, with a valid out-parameter.
                if unsafe { libc::sigwait(&set, &mut sig) } != 0 {
                    continue;
                }
                if sig == libc::SIGUSR1 {
                    system.evict_all_handles();
                    continue;
                }
                shutdown(&system, evict);
            }
        });
    }
    if args.exit_with_parent {
        // SAFETY: getppid has no preconditions.
        let parent = unsafe { libc::getppid() };
        let system = system.clone();
        std::thread::spawn(move || {
            loop {
                std::thread::sleep(Duration::from_millis(200));
                // SAFETY: as above.
                if unsafe { libc::getppid() } != parent {
                    shutdown(&system, evict);
                }
            }
        });
    }

    {
        // The process monitor: a client that dies keeps its handles open on the server until
        // this notices (procmon.go checks each client every MonWaitTime; disable_auto_evict
        // only concerns the agent's own shutdown).
        let system = system.clone();
        std::thread::spawn(move || {
            loop {
                std::thread::sleep(daos_emulator::state::PROCESS_MONITOR_INTERVAL);
                let n = system.evict_dead_handles();
                if n > 0 {
                    eprintln!("daos_agent: evicted {n} handle(s) of exited processes");
                }
            }
        });
    }

    let name = system.name();
    println!("daos_agent listening on {}", sock.display());
    let _ = std::io::stdout().flush();
    for conn in listener.incoming() {
        match conn {
            Ok(stream) => {
                let name = name.clone();
                let system = system.clone();
                std::thread::spawn(move || handle(stream, &system, &name));
            }
            Err(e) => eprintln!("daos_agent: accept: {e}"),
        }
    }
}
