//! The README's first command, as a program: it starts an emulated DAOS system (agent and an
//! 8 GiB pool), runs `daos-csi` in all roles, and then does what the external-provisioner and
//! kubelet would do for a PersistentVolumeClaim and for an inline ephemeral volume. Every step is
//! printed; any failure stops the run with a non-zero exit, and every process it started is
//! stopped on the way out.

mod csi;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use daos_test_harness::{detach_mounts_under, unescape_mountinfo};
use sha2::{Digest, Sha256};

const DRIVER_NAME: &str = "csi.daos.io";
const POOL: &str = "tank";
const MIB: u64 = 1 << 20;

type Result<T> = std::result::Result<T, String>;

fn main() -> ExitCode {
    let options = match Options::parse() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("quickstart: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("quickstart: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut world = World::new();
    let outcome = runtime.block_on(run(&options, &mut world));
    world.shut_down();
    match outcome {
        Ok(()) => {
            println!("\nquickstart: every step passed");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("\nquickstart FAILED: {e}");
            world.print_driver_log_tail();
            ExitCode::FAILURE
        }
    }
}

struct Options {
    bin_dir: PathBuf,
    data_mib: u64,
}

impl Options {
    fn parse() -> Result<Options> {
        let mut bin_dir = std::env::current_exe()
            .ok()
            .and_then(|p| p.parent().map(Path::to_path_buf))
            .unwrap_or_default();
        let mut data_mib = 1024;
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--bin-dir" => bin_dir = args.next().ok_or("--bin-dir needs a value")?.into(),
                "--data-mib" => {
                    data_mib = args
                        .next()
                        .and_then(|v| v.parse().ok())
                        .ok_or("--data-mib needs a number")?
                }
                other => return Err(format!("unknown argument {other}")),
            }
        }
        Ok(Options { bin_dir, data_mib })
    }

    fn bin(&self, name: &str) -> Result<PathBuf> {
        let path = self.bin_dir.join(name);
        if path.is_file() {
            Ok(path)
        } else {
            Err(format!("{} is missing (build it first)", path.display()))
        }
    }
}

/// Everything the run creates: a work directory and the processes it started.
struct World {
    dir: PathBuf,
    agent: Option<Child>,
    driver: Option<Child>,
}

impl World {
    fn new() -> World {
        let dir = std::env::temp_dir().join(format!("daos-csi-quickstart-{}", std::process::id()));
        World {
            dir,
            agent: None,
            driver: None,
        }
    }

    fn agent_dir(&self) -> PathBuf {
        self.dir.join("agent")
    }
    fn kubelet_root(&self) -> PathBuf {
        self.dir.join("kubelet")
    }
    fn state_dir(&self) -> PathBuf {
        self.dir.join("state")
    }
    fn endpoint(&self) -> PathBuf {
        self.dir.join("csi.sock")
    }
    fn driver_log(&self) -> PathBuf {
        self.dir.join("daos-csi.log")
    }

    /// Stops the driver (SIGTERM: it leaves mounts alone) and the agent, detaches whatever is
    /// still mounted below the work directory, and removes it.
    fn shut_down(&mut self) {
        if let Some(child) = self.driver.take() {
            stop(child, "daos-csi");
        }
        if let Some(child) = self.agent.take() {
            stop(child, "daos_agent");
        }
        for point in detach_mounts_under(&self.dir) {
            println!("    detached leftover mount {point}");
        }
        // dfuse processes exit once their mounts are gone; give them a moment.
        std::thread::sleep(Duration::from_millis(200));
        if std::env::var_os("QUICKSTART_KEEP").is_none() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    fn print_driver_log_tail(&self) {
        if let Ok(log) = std::fs::read_to_string(self.driver_log()) {
            let lines: Vec<&str> = log.lines().collect();
            eprintln!("--- last lines of the daos-csi log ---");
            for l in &lines[lines.len().saturating_sub(30)..] {
                eprintln!("{l}");
            }
        }
    }
}

fn stop(mut child: Child, name: &str) {
    // SAFETY: kill(2) on a child we spawned and have not reaped.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                println!("    {name} stopped ({status})");
                return;
            }
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                println!("    {name} did not stop on SIGTERM and was killed");
                return;
            }
        }
    }
}

fn step(text: &str) {
    println!("==> {text}");
}

async fn run(options: &Options, world: &mut World) -> Result<()> {
    std::fs::create_dir_all(&world.dir)
        .map_err(|e| format!("create {}: {e}", world.dir.display()))?;
    for d in [world.agent_dir(), world.kubelet_root(), world.state_dir()] {
        std::fs::create_dir_all(&d).map_err(|e| format!("create {}: {e}", d.display()))?;
    }
    println!("quickstart: working in {}", world.dir.display());

    step("start the emulated daos_agent");
    world.agent = Some(start_agent(options, &world.agent_dir())?);

    step("create an 8 GiB pool `tank` (dmg pool create --size 8GiB tank)");
    let pool_uuid = create_pool(options, &world.agent_dir())?;
    println!("    pool {POOL} = {pool_uuid}");

    step("start daos-csi with the controller, node and mounter roles");
    world.driver = Some(start_driver(options, world)?);
    let mut csi = csi::Client::connect(&world.endpoint(), Duration::from_secs(30)).await?;
    csi.wait_ready(Duration::from_secs(30)).await?;
    let info = csi.plugin_info().await?;
    println!("    {} {} is ready", info.name, info.vendor_version);

    persistent_volume(&mut csi, options, world).await?;
    ephemeral_volume(&mut csi, world, &pool_uuid).await?;
    Ok(())
}

async fn persistent_volume(csi: &mut csi::Client, options: &Options, world: &World) -> Result<()> {
    let name = format!("pvc-quickstart-{}", std::process::id());
    step(&format!(
        "CreateVolume {name} (2 GiB, pool {POOL}) as the external-provisioner would"
    ));
    let volume = csi.create_volume(&name, 2 << 30, &[("pool", POOL)]).await?;
    println!("    volume id {}", volume.volume_id);
    let mut ctx: Vec<_> = volume.volume_context.iter().collect();
    ctx.sort();
    for (k, v) in ctx {
        println!("    context {k} = {v}");
    }

    let staging = staging_path(world, &volume.volume_id);
    let target = target_path(world, "pod-a", &name);
    step("NodeStageVolume: one dfuse for the volume on this node");
    csi.stage(&volume, &staging).await?;
    expect_mount(&staging, "fuse.daos")?;
    step("NodePublishVolume: bind mount into the pod's target directory");
    csi.publish(&volume, &staging, &target, false).await?;
    expect_mount(&target, "fuse.daos")?;

    let source = world.dir.join("source.bin");
    step(&format!(
        "write {} MiB of pseudo-random data to a local file",
        options.data_mib
    ));
    let expected = write_source_file(&source, options.data_mib)?;
    step(&format!(
        "dd {} MiB into the volume through the pod's target",
        options.data_mib
    ));
    let rate = dd(&source, &target.join("data"))?;
    println!("    {rate}");
    let _ = std::fs::remove_file(&source);

    step("NodeGetVolumeStats");
    let stats = csi.volume_stats(&volume.volume_id, &target).await?;
    println!("    {stats}");

    step("NodeUnpublishVolume and NodeUnstageVolume");
    csi.unpublish(&volume.volume_id, &target).await?;
    csi.unstage(&volume.volume_id, &staging).await?;
    expect_no_mount(&target)?;
    expect_no_mount(&staging)?;

    step("stage and publish again (a fresh dfuse) and verify every byte");
    let target_b = target_path(world, "pod-b", &name);
    csi.stage(&volume, &staging).await?;
    csi.publish(&volume, &staging, &target_b, true).await?;
    let actual = sha256_file(&target_b.join("data"))?;
    if actual != expected {
        return Err(format!(
            "data read back differs: sha256 {actual} != {expected}"
        ));
    }
    println!("    sha256 {actual} matches");
    if std::fs::write(target_b.join("ro-check"), b"x").is_ok() {
        return Err("a read-only publish accepted a write".into());
    }
    println!("    the read-only publish refuses writes");
    csi.unpublish(&volume.volume_id, &target_b).await?;
    csi.unstage(&volume.volume_id, &staging).await?;

    step("DeleteVolume");
    csi.delete_volume(&volume.volume_id).await?;
    let left = csi.list_volume_ids().await?;
    if left.contains(&volume.volume_id) {
        return Err(format!(
            "{} is still listed after DeleteVolume",
            volume.volume_id
        ));
    }
    println!("    the container is gone");
    Ok(())
}

/// An inline ephemeral volume written the way the first DAOS CSI driver's example pod does it
/// (`volumeAttributes: {poolid: <pool uuid>, uid: "1000"}`).
async fn ephemeral_volume(csi: &mut csi::Client, world: &World, pool_uuid: &str) -> Result<()> {
    let volume_id = format!("csi-{}", &hex_sha256(b"quickstart-inline")[..32]);
    let target = target_path(world, "pod-inline", "dfuse");
    step(
        "NodePublishVolume of an inline ephemeral volume (poolid + uid, like the first DAOS driver's app.yaml)",
    );
    let context = [
        ("csi.storage.k8s.io/ephemeral", "true"),
        ("csi.storage.k8s.io/pod.name", "test-app"),
        ("csi.storage.k8s.io/pod.namespace", "default"),
        ("poolid", pool_uuid),
        ("uid", "1000"),
    ];
    csi.publish_ephemeral(&volume_id, &target, &context).await?;
    expect_mount(&target, "fuse.daos")?;
    let owner =
        std::fs::metadata(&target).map_err(|e| format!("stat {}: {e}", target.display()))?;
    use std::os::unix::fs::MetadataExt;
    if owner.uid() != 1000 {
        return Err(format!(
            "the inline volume's root is owned by uid {}, not 1000",
            owner.uid()
        ));
    }
    std::fs::write(target.join("hello"), b"hello from an inline volume\n")
        .map_err(|e| format!("write into the inline volume: {e}"))?;
    println!("    mounted, root owned by uid 1000, writable");
    step("NodeUnpublishVolume of the inline volume (unmounts and destroys its container)");
    csi.unpublish(&volume_id, &target).await?;
    expect_no_mount(&target)?;
    Ok(())
}

fn start_agent(options: &Options, dir: &Path) -> Result<Child> {
    let child = Command::new(options.bin("daos_agent")?)
        .arg("--runtime-dir")
        .arg(dir)
        .arg("--exit-with-parent")
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| format!("start daos_agent: {e}"))?;
    let socket = dir.join("daos_agent.sock");
    wait_for(Duration::from_secs(20), || {
        std::os::unix::net::UnixStream::connect(&socket).is_ok()
    })
    .map_err(|_| "daos_agent did not listen within 20 s".to_string())?;
    println!("    listening on {}", socket.display());
    Ok(child)
}

fn create_pool(options: &Options, agent_dir: &Path) -> Result<String> {
    let out = Command::new(options.bin("dmg")?)
        .args(["pool", "create", "--size", "8GiB", POOL])
        .env("DAOS_AGENT_DRPC_DIR", agent_dir)
        .output()
        .map_err(|e| format!("run dmg: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        return Err(format!(
            "dmg pool create failed: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    first_uuid(&text).ok_or_else(|| format!("dmg printed no pool UUID: {text}"))
}

fn start_driver(options: &Options, world: &World) -> Result<Child> {
    let log = std::fs::File::create(world.driver_log())
        .map_err(|e| format!("create the driver log: {e}"))?;
    let log_err = log.try_clone().map_err(|e| e.to_string())?;
    let child = Command::new(options.bin("daos-csi")?)
        .arg("--roles=controller,node,mounter")
        .arg(format!("--endpoint=unix://{}", world.endpoint().display()))
        .arg(format!("--driver-name={DRIVER_NAME}"))
        .arg("--node-id=quickstart-node")
        .arg(format!("--daos-agent-dir={}", world.agent_dir().display()))
        .arg(format!("--dfuse-path={}", options.bin("dfuse")?.display()))
        .arg(format!("--state-dir={}", world.state_dir().display()))
        .arg(format!("--kubelet-root={}", world.kubelet_root().display()))
        .arg(format!(
            "--mounter-socket={}",
            world.state_dir().join("mounter.sock").display()
        ))
        .arg(format!("--ephemeral-pools={POOL}"))
        .arg("--log-format=text")
        .stdout(log)
        .stderr(log_err)
        .spawn()
        .map_err(|e| format!("start daos-csi: {e}"))?;
    println!("    logging to {}", world.driver_log().display());
    Ok(child)
}

fn staging_path(world: &World, volume_id: &str) -> PathBuf {
    let dir = world
        .kubelet_root()
        .join("plugins/kubernetes.io/csi")
        .join(DRIVER_NAME)
        .join(hex_sha256(volume_id.as_bytes()))
        .join("globalmount");
    // kubelet creates the staging directory itself.
    let _ = std::fs::create_dir_all(&dir);
    dir
}

fn target_path(world: &World, pod: &str, pv: &str) -> PathBuf {
    let parent = world
        .kubelet_root()
        .join("pods")
        .join(pod)
        .join("volumes/kubernetes.io~csi")
        .join(pv);
    // kubelet creates the parent; the driver creates the target itself.
    let _ = std::fs::create_dir_all(&parent);
    parent.join("mount")
}

/// Writes `mib` MiB from a fast deterministic generator and returns the data's sha256.
fn write_source_file(path: &Path, mib: u64) -> Result<String> {
    use std::io::Write;
    let file =
        std::fs::File::create(path).map_err(|e| format!("create {}: {e}", path.display()))?;
    let mut out = std::io::BufWriter::with_capacity(4 * MIB as usize, file);
    let mut hasher = Sha256::new();
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut block = vec![0u8; MIB as usize];
    for _ in 0..mib {
        for chunk in block.chunks_exact_mut(8) {
            // xorshift64*: fast, and incompressible enough that no layer can cheat.
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            chunk.copy_from_slice(&state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
        }
        hasher.update(&block);
        out.write_all(&block)
            .map_err(|e| format!("write {}: {e}", path.display()))?;
    }
    out.flush()
        .map_err(|e| format!("flush {}: {e}", path.display()))?;
    Ok(hex(&hasher.finalize()))
}

/// Copies with `dd` and returns dd's own summary line (bytes, seconds, rate).
fn dd(source: &Path, dest: &Path) -> Result<String> {
    let out = Command::new("dd")
        .arg(format!("if={}", source.display()))
        .arg(format!("of={}", dest.display()))
        .args(["bs=1M", "conv=fsync"])
        .output()
        .map_err(|e| format!("run dd: {e}"))?;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if !out.status.success() {
        return Err(format!("dd failed: {stderr}"));
    }
    Ok(stderr.lines().last().unwrap_or_default().to_string())
}

fn sha256_file(path: &Path) -> Result<String> {
    use std::io::Read;
    let mut file =
        std::fs::File::open(path).map_err(|e| format!("open {}: {e}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 4 * MIB as usize];
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| format!("read {}: {e}", path.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

fn hex_sha256(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn first_uuid(text: &str) -> Option<String> {
    text.split(|c: char| !(c.is_ascii_hexdigit() || c == '-'))
        .find(|w| is_uuid(w))
        .map(str::to_string)
}

fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups
            .iter()
            .all(|g| g.chars().all(|c| c.is_ascii_hexdigit()))
}

/// The mount at `path` as /proc/self/mountinfo lists it: (fs type, source).
fn mount_at(path: &Path) -> Option<(String, String)> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let wanted = path.to_string_lossy();
    info.lines().rev().find_map(|line| {
        let fields: Vec<&str> = line.split(' ').collect();
        let point = unescape_mountinfo(fields.get(4)?);
        if point != wanted {
            return None;
        }
        let sep = fields.iter().position(|f| *f == "-")?;
        Some((
            fields.get(sep + 1)?.to_string(),
            fields.get(sep + 2)?.to_string(),
        ))
    })
}

fn expect_mount(path: &Path, fstype: &str) -> Result<()> {
    match mount_at(path) {
        Some((t, source)) if t == fstype => {
            println!("    {} is a {t} mount (source {source})", path.display());
            Ok(())
        }
        Some((t, _)) => Err(format!(
            "{} is a {t} mount, expected {fstype}",
            path.display()
        )),
        None => Err(format!("{} is not a mount point", path.display())),
    }
}

fn expect_no_mount(path: &Path) -> Result<()> {
    match mount_at(path) {
        None => Ok(()),
        Some((t, _)) => Err(format!("{} is still mounted ({t})", path.display())),
    }
}

fn wait_for(timeout: Duration, mut ready: impl FnMut() -> bool) -> std::result::Result<(), ()> {
    let deadline = Instant::now() + timeout;
    while !ready() {
        if Instant::now() > deadline {
            return Err(());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}
