//! The emulated dfuse: mounts a POSIX container of the emulated system with FUSE.
//!
//! Command line and start-up behaviour follow `src/client/dfuse/dfuse_main.c` (DAOS 2.8):
//! without `-f` it forks before touching DAOS, the parent waits on a pipe and exits 0 once the
//! mount is registered, or prints `Exiting <rc> <DER name>` and exits with `-(rc + 1000)`.
//! Error texts go to stderr. It installs no SIGTERM handler: killing it leaves a dead mount
//! (ENOTCONN) until `fusermount3 -u`. An unmount ends it with status 0.

use std::ffi::CString;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use daos_emulator::client::{self, COO_RO, COO_RW, PC_RO};
use daos_emulator::der::{self, Der};
use daos_emulator::fusefs::{ContainerFs, Options};

#[derive(Parser, Debug)]
#[command(
    name = "dfuse",
    disable_help_flag = true,
    disable_version_flag = true,
    infer_long_args = true
)]
struct Args {
    /// Mount point (deprecated form).
    #[arg(short = 'm', long = "mountpoint")]
    mountpoint: Option<PathBuf>,
    /// Pool label or UUID (deprecated form).
    #[arg(long)]
    pool: Option<String>,
    /// Container label or UUID (deprecated form).
    #[arg(long)]
    container: Option<String>,
    /// Path to load UNS attributes from.
    #[arg(long)]
    path: Option<String>,
    /// DAOS system name.
    #[arg(long = "sys-name")]
    sys_name: Option<String>,
    /// Total threads.
    #[arg(short = 't', long = "thread-count")]
    thread_count: Option<i32>,
    /// Event queues (each takes one thread).
    #[arg(short = 'e', long = "eq-count", default_value_t = 1)]
    eq_count: i32,
    /// Stay in the foreground.
    #[arg(short = 'f', long)]
    foreground: bool,
    /// Enable caching (default).
    #[arg(long = "enable-caching")]
    enable_caching: bool,
    /// Write-back cache (default).
    #[arg(long = "enable-wb-cache")]
    enable_wb_cache: bool,
    /// Disable all caching.
    #[arg(long = "disable-caching")]
    disable_caching: bool,
    /// Write-through.
    #[arg(long = "disable-wb-cache")]
    disable_wb_cache: bool,
    /// fstab-style options (pool=, container=, ro, multi_user).
    #[arg(short = 'o')]
    options: Option<String>,
    /// Multi-user mode (allow_other).
    #[arg(long = "multi-user")]
    multi_user: bool,
    /// Read-only mount.
    #[arg(long = "read-only")]
    read_only: bool,
    /// Snapshot name (read-only).
    #[arg(long)]
    snap: Option<String>,
    /// Snapshot epoch, decimal or 0x.. (read-only).
    #[arg(long = "snap-epoch")]
    snap_epoch: Option<String>,
    /// Local flock support.
    #[arg(long = "enable-local-flock")]
    enable_local_flock: bool,
    /// Show help.
    #[arg(short = 'h', long)]
    help: bool,
    /// Show version.
    #[arg(short = 'v', long)]
    version: bool,
    /// The mount point, then optionally the pool and the container.
    positional: Vec<String>,
}

const USAGE: &str = "usage: dfuse [OPTIONS] [mountpoint [pool container]]

Options:
	-m --mountpoint=<path>	Mount point to use (deprecated, use positional argument)
	   --pool=name		pool UUID/label
	   --container=name	container UUID/label
	   --path=<path>	Path to load UNS pool/container data
	   --sys-name=STR	DAOS system name context for servers
	-t --thread-count=count	Total number of threads to use
	-e --eq-count=count	Number of event queues to use
	-f --foreground		Run in foreground
	   --enable-caching	Enable all caching (default)
	   --enable-wb-cache	Use write-back cache rather than write-through (default)
	   --disable-caching	Disable all caching
	   --disable-wb-cache	Use write-through rather than write-back cache
	-o options		mount style options string
	   --multi-user		Run dfuse in multi user mode
	   --read-only		Mount in read-only mode
	   --snap=name		Mount a snapshot by name (read-only)
	   --snap-epoch=epoch	Mount a snapshot by epoch (read-only)
	-h --help		Show this help
	-v --version		Show version

(daos-csi emulated dfuse)";

/// dfuse's exit status for a DAOS error code: `-(rc + 1000)`, truncated to 8 bits by exit(3).
fn exit_status(rc: i32) -> i32 {
    if rc == 0 { 0 } else { -(rc + 1000) }
}

struct Config {
    mountpoint: PathBuf,
    foreground: bool,
    pool: Option<String>,
    cont: Option<String>,
    path: Option<String>,
    sys: Option<String>,
    threads: usize,
    multi_user: bool,
    read_only: bool,
    caching: bool,
    snap_epoch: Option<u64>,
    snap_name: Option<String>,
}

fn parse() -> Result<Config, i32> {
    let args = match Args::try_parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            eprintln!("{USAGE}");
            return Err(Der::INVAL.0);
        }
    };
    if args.help {
        println!("{USAGE}");
        return Err(0);
    }
    if args.version {
        println!("dfuse version 2.8.0, libdaos 2.8.0 (emulated)");
        return Err(0);
    }
    let mut mountpoint = args.mountpoint.clone();
    let (mut pool, mut cont) = (args.pool.clone(), args.container.clone());
    let mut read_only = args.read_only;
    let mut multi_user = args.multi_user;
    if let Some(o) = &args.options {
        for tok in o.split(',') {
            if let Some(p) = tok.strip_prefix("pool=") {
                pool = Some(p.to_string());
            } else if let Some(c) = tok.strip_prefix("container=") {
                cont = Some(c.to_string());
            } else if tok == "ro" {
                read_only = true;
            } else if tok == "multi_user" {
                multi_user = true;
            }
        }
    }
    let mut pos = args.positional.iter();
    if let Some(m) = pos.next() {
        mountpoint = Some(PathBuf::from(m));
    }
    if let Some(p) = pos.next() {
        pool = Some(p.clone());
    }
    if let Some(c) = pos.next() {
        cont = Some(c.clone());
    }
    if pos.next().is_some() {
        eprintln!("{USAGE}");
        return Err(Der::INVAL.0);
    }
    let Some(mountpoint) = mountpoint else {
        eprintln!("Mountpoint is required");
        eprintln!("{USAGE}");
        return Err(Der::INVAL.0);
    };
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let total = args.thread_count.unwrap_or(cores.min(16) as i32);
    let threads = total - args.eq_count;
    if threads < 1 {
        eprintln!("Dfuse needs at least one fuse thread.");
        return Err(Der::INVAL.0);
    }
    let snap_epoch = match &args.snap_epoch {
        None => None,
        Some(s) => {
            let v = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
                Some(h) => u64::from_str_radix(h, 16),
                None => s.parse(),
            };
            match v {
                Ok(e) => Some(e),
                Err(_) => {
                    eprintln!("Invalid snapshot epoch: {s}");
                    return Err(Der::INVAL.0);
                }
            }
        }
    };
    if snap_epoch.is_some() || args.snap.is_some() {
        read_only = true;
    }
    let _ = (
        args.enable_caching,
        args.enable_wb_cache,
        args.disable_wb_cache,
        args.enable_local_flock,
    );
    Ok(Config {
        mountpoint,
        foreground: args.foreground,
        pool,
        cont,
        path: args.path,
        sys: args.sys_name,
        threads: threads as usize,
        multi_user,
        read_only,
        caching: !args.disable_caching,
        snap_epoch,
        snap_name: args.snap,
    })
}

/// The parent side of backgrounding: waits for the child's report.
fn wait_for_child(read_end: OwnedFd) -> ! {
    let mut f = std::fs::File::from(read_end);
    let mut buf = [0u8; 4];
    match f.read_exact(&mut buf) {
        Ok(()) => {
            let rc = i32::from_ne_bytes(buf);
            if rc == 0 {
                std::process::exit(0);
            }
            eprintln!("Exiting {rc} {}", der::errstr(rc).to_string_lossy());
            std::process::exit(exit_status(rc));
        }
        Err(_) => {
            eprintln!("Child process died without reporting failure");
            std::process::exit(2);
        }
    }
}

/// Where the child reports to its waiting parent (None in the foreground).
struct Reporter(Option<std::fs::File>);

impl Reporter {
    fn send(&mut self, rc: i32) {
        if let Some(mut f) = self.0.take() {
            let _ = f.write_all(&rc.to_ne_bytes());
            if rc == 0 {
                detach_stdio();
            }
        }
    }
}

fn detach_stdio() {
    let _ = std::env::set_current_dir("/");
    if let Ok(null) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
    {
        for fd in 0..3 {
            // SAFETY: dup2 onto the standard descriptors of this process.
            unsafe { libc::dup2(null.as_raw_fd(), fd) };
        }
    }
}

fn strerror(e: i32) -> String {
    std::io::Error::from_raw_os_error(e)
        .to_string()
        .split(" (os error")
        .next()
        .unwrap_or_default()
        .to_string()
}

/// Parses a cache time attribute: seconds, or a number with s/m/h/d.
fn parse_time(v: &[u8]) -> Option<Duration> {
    let s = std::str::from_utf8(v).ok()?.trim_end_matches('\0').trim();
    let (num, mult) = match s.chars().last()? {
        's' => (&s[..s.len() - 1], 1),
        'm' => (&s[..s.len() - 1], 60),
        'h' => (&s[..s.len() - 1], 3600),
        'd' => (&s[..s.len() - 1], 86400),
        _ => (s, 1),
    };
    num.parse::<u64>()
        .ok()
        .map(|n| Duration::from_secs(n * mult))
}

/// Mounts with mount(2) as root: source `dfuse`, type `fuse.daos`. `Ok(None)` on EPERM (the
/// caller falls back to fusermount3).
fn kernel_mount(cfg: &Config) -> Result<Option<OwnedFd>, std::io::Error> {
    let dev = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/fuse")?;
    let fd: OwnedFd = dev.into();
    // SAFETY: getuid/getgid have no preconditions.
    let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
    let mut opts = format!(
        "fd={},rootmode=40000,user_id={uid},group_id={gid},default_permissions",
        fd.as_raw_fd()
    );
    if cfg.multi_user {
        opts.push_str(",allow_other");
    }
    let mut flags = libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOATIME;
    if cfg.read_only {
        flags |= libc::MS_RDONLY;
    }
    let target =
        CString::new(cfg.mountpoint.as_os_str().as_bytes()).map_err(std::io::Error::other)?;
    let opts = CString::new(opts).map_err(std::io::Error::other)?;
    // SAFETY: mount(2) with NUL-terminated strings; the fuse fd stays open for the session.
    let rc = unsafe {
        libc::mount(
            c"dfuse".as_ptr(),
            target.as_ptr(),
            c"fuse.daos".as_ptr(),
            flags,
            opts.as_ptr().cast(),
        )
    };
    if rc == 0 {
        return Ok(Some(fd));
    }
    let err = std::io::Error::last_os_error();
    if err.raw_os_error() == Some(libc::EPERM) {
        Ok(None)
    } else {
        Err(err)
    }
}

fn run(cfg: Config, reporter: &mut Reporter) -> i32 {
    if cfg.cont.is_some() && cfg.pool.is_none() {
        eprintln!("Container name specified without pool");
        return Der::INVAL.0;
    }
    if let Err(e) = client::init() {
        return e.0;
    }
    let rc = serve(cfg, reporter);
    let _ = client::fini();
    rc
}

fn serve(cfg: Config, reporter: &mut Reporter) -> i32 {
    let (mut pool, mut cont) = (cfg.pool.clone(), cfg.cont.clone());
    if let Some(p) = &cfg.path {
        if pool.is_some() {
            eprintln!("Pool specified multiple ways");
            return Der::INVAL.0;
        }
        match daos_emulator::capi::resolve_pool_cont(p, 2) {
            Ok((pl, c)) => (pool, cont) = (Some(pl), Some(c)),
            Err(libc::ENOENT) => {
                eprintln!("Attr path does not exist");
                return der::errno2der(libc::ENOENT).0;
            }
            Err(e) => {
                eprintln!("Error reading attr from path: {e} ({})", strerror(e));
                return der::errno2der(e).0;
            }
        }
    }
    let mp = cfg.mountpoint.to_string_lossy().into_owned();
    match daos_emulator::capi::resolve_pool_cont(&mp, 2) {
        Ok((pl, c)) => {
            if pool.is_some() {
                eprintln!("Pool specified multiple ways");
                return Der::INVAL.0;
            }
            (pool, cont) = (Some(pl), Some(c));
        }
        Err(libc::ENOENT) => {
            eprintln!("Mount point does not exist");
            return der::errno2der(libc::ENOENT).0;
        }
        Err(libc::ENOTCONN) => {
            eprintln!("Stale mount point, run fusermount3 and retry");
            return der::errno2der(libc::ENOTCONN).0;
        }
        Err(e) if e == libc::ENODATA || e == libc::ENOTSUP => {}
        Err(e) => {
            eprintln!("Error resolving mount point: {e} ({})", strerror(e));
            return der::errno2der(e).0;
        }
    }
    let (Some(pool), Some(cont)) = (pool, cont) else {
        eprintln!(
            "The emulated dfuse needs a pool and a container (multi-pool mounts are not emulated)"
        );
        return Der::INVAL.0;
    };
    let ph = match client::pool_connect(&pool, cfg.sys.as_deref(), PC_RO) {
        Ok(h) => h,
        Err(d) => {
            let e = d.to_errno();
            eprintln!("Failed to connect to pool: {e} ({})", strerror(e));
            return der::errno2der(e).0;
        }
    };
    let open = |flags| client::cont_open(&ph, &cont, flags);
    let ch = match if cfg.read_only {
        open(COO_RO)
    } else {
        open(COO_RW).or_else(|e| {
            if e == Der::NO_PERM {
                open(COO_RO)
            } else {
                Err(e)
            }
        })
    } {
        Ok(h) => h,
        Err(d) => {
            let e = d.to_errno();
            eprintln!("Failed to connect to container: {e} ({})", strerror(e));
            let _ = client::pool_disconnect(ph.cookie);
            return der::errno2der(e).0;
        }
    };
    let rc = mount_and_serve(&cfg, &ch, reporter);
    let _ = client::cont_close(ch.cookie);
    let _ = client::pool_disconnect(ph.cookie);
    rc
}

fn mount_and_serve(cfg: &Config, ch: &Arc<client::ContHandle>, reporter: &mut Reporter) -> i32 {
    // What dfs_mount checks: the POSIX layout, and the snapshot when one is asked for; a
    // container filled object by object gets its namespace first, as dfs_mount does.
    if cfg.snap_epoch.is_none()
        && cfg.snap_name.is_none()
        && let Err(e) = daos_emulator::objects::materialise::ensure_namespace(ch)
    {
        eprintln!("Failed to connect to container: {e} ({})", strerror(e));
        return der::errno2der(e).0;
    }
    let meta = match ch.dir.meta() {
        Ok(m) => m,
        Err(d) => return d.0,
    };
    let fail = |e: i32| {
        eprintln!("Failed to connect to container: {e} ({})", strerror(e));
        der::errno2der(e).0
    };
    if !meta.is_posix() || meta.dfs.is_none() {
        return fail(if meta.is_posix() {
            libc::EIO
        } else {
            libc::EINVAL
        });
    }
    // dfuse mounts with dfs_mount, which on a read-write handle reserves an object id for
    // the files it creates (mnt.c, daos_cont_alloc_oids): DAOS_PROP_CO_ALLOCED_OID moves
    // past every id its namespace uses. A read-only handle reserves nothing.
    let writable = !cfg.read_only && cfg.snap_epoch.is_none() && cfg.snap_name.is_none();
    if writable {
        match daos_emulator::objects::alloc_oids(ch, 1) {
            Ok(_) => {}
            Err(d) if d == der::Der::NO_PERM => {}
            Err(d) => return fail(der::der2errno(d.0)),
        }
    }
    let root = match (cfg.snap_epoch, &cfg.snap_name) {
        (Some(e), _) if meta.snapshots.contains(&e) => ch.dir.snap_root(e),
        (Some(_), _) | (None, Some(_)) => return fail(libc::ENOENT),
        (None, None) => ch.dir.fs_root(),
    };
    let mut ttl = Duration::from_secs(1);
    if !cfg.caching {
        ttl = Duration::ZERO;
    } else if let Ok(v) = client::cont_get_attrs(ch, &["dfuse-attr-time".to_string()])
        && let Some(Some(t)) = v.first().map(|x| x.as_deref().and_then(parse_time))
    {
        ttl = t;
    }
    let system = ch.pool.lib.system.clone();
    let opts = Options {
        read_only: cfg.read_only,
        cache_ttl: ttl,
    };
    let fs = match ContainerFs::new(&root, ch.clone(), system, opts) {
        Ok(f) => f,
        Err(e) => return fail(e.raw_os_error().unwrap_or(libc::EIO)),
    };
    ch.dfs_mounts
        .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    let mut config = fuser::Config::default();
    config.n_threads = Some(cfg.threads);
    config.clone_fd = true;
    let session = match kernel_mount(cfg) {
        Ok(Some(fd)) => {
            let acl = if cfg.multi_user {
                fuser::SessionACL::All
            } else {
                fuser::SessionACL::Owner
            };
            fuser::Session::from_fd(fs, fd, acl, config)
        }
        Ok(None) => {
            use fuser::MountOption as M;
            config.mount_options = vec![
                M::FSName("dfuse".into()),
                M::Subtype("daos".into()),
                M::DefaultPermissions,
                M::NoAtime,
            ];
            if cfg.read_only {
                config.mount_options.push(M::RO);
            }
            if cfg.multi_user {
                config.acl = fuser::SessionACL::All;
            }
            fuser::Session::new(fs, &cfg.mountpoint, &config)
        }
        Err(e) => {
            eprintln!("Could not mount fuse: {e}");
            ch.dfs_mounts
                .fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
            return Der::INVAL.0;
        }
    };
    let session = match session {
        Ok(s) => s,
        Err(e) => {
            eprintln!("Could not mount fuse: {e}");
            ch.dfs_mounts
                .fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
            return Der::INVAL.0;
        }
    };
    reporter.send(0);
    let r = session.run();
    ch.dfs_mounts
        .fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    match r {
        Ok(()) => 0,
        Err(e) => {
            let errno = e.raw_os_error().unwrap_or(0);
            // An unmount ends the loop with ENODEV: a clean exit.
            if errno == 0 || errno == libc::ENODEV {
                0
            } else {
                der::errno2der(errno).0
            }
        }
    }
}

fn main() {
    let cfg = match parse() {
        Ok(c) => c,
        Err(rc) => std::process::exit(exit_status(rc)),
    };
    let mut reporter = Reporter(None);
    if !cfg.foreground {
        let mut fds = [0; 2];
        // SAFETY: pipe(2) into a two-element array.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            eprintln!("Failed to background");
            std::process::exit(2);
        }
        // SAFETY: both descriptors are fresh and owned here.
        let (r, w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        // SAFETY: no threads exist yet (argument parsing spawns none), so fork is sound.
        match unsafe { libc::fork() } {
            -1 => {
                eprintln!("Failed to background");
                std::process::exit(2);
            }
            0 => {
                drop(r);
                reporter = Reporter(Some(std::fs::File::from(w)));
            }
            _ => {
                drop(w);
                wait_for_child(r);
            }
        }
    }
    let rc = run(cfg, &mut reporter);
    reporter.send(rc);
    std::process::exit(exit_status(rc));
}
