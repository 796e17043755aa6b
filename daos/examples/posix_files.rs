//! Creates a POSIX container, writes and reads files through DFS, then destroys it.
//!
//! ```text
//! cargo run -p daos --features emulator --example posix_files -- tank demo-fs
//! ```
//!
//! Arguments: `POOL [LABEL]` (LABEL defaults to `daos-rs-example`). Pass `--keep` after them
//! to leave the container in place, for example to look at it through dfuse.

use std::process::ExitCode;

use daos::{ContainerAccess, Daos, Destroy, Pool, PoolAccess, PosixContainerSpec, Properties};

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
    let args: Vec<String> = std::env::args().skip(1).collect();
    let keep = args.iter().any(|a| a == "--keep");
    let mut names = args.iter().filter(|a| *a != "--keep");
    let pool_name = names
        .next()
        .ok_or("usage: posix_files POOL [LABEL] [--keep]")?;
    let label = names.next().map_or("daos-rs-example", String::as_str);

    let daos = Daos::init()?;
    let pool = Pool::connect(&daos, pool_name, None, PoolAccess::ReadWrite)?;

    // Container properties use the names of `daos container create --properties`.
    let mut spec = PosixContainerSpec::new(label);
    spec.properties = Properties::from_pairs(&[("rd_fac", "0"), ("cksum", "crc32")])?;
    match pool.create_posix_container(&spec) {
        Ok(uuid) => println!("created POSIX container {label} ({uuid})"),
        Err(e) if e.is_exists() => println!("container {label} exists; reusing it"),
        Err(e) => return Err(e.into()),
    }

    {
        let cont = pool.open_container(label, ContainerAccess::ReadWrite)?;
        cont.set_attrs(&[("example", b"posix_files")])?;
        let fs = cont.mount_dfs(ContainerAccess::ReadWrite)?;
        if !fs.exists("/data")? {
            fs.mkdir("/data", 0o755)?;
        }
        fs.write_file("/data/hello.txt", b"hello from Rust\n")?;
        let back = fs.read_file("/data/hello.txt")?;
        print!("read back: {}", String::from_utf8_lossy(&back));
        for entry in fs.read_dir("/data")? {
            let stat = fs.stat(&format!("/data/{}", entry.name))?;
            println!(
                "  /data/{}  {} bytes, mode {:o}",
                entry.name, stat.size, stat.mode
            );
        }
        let usage = fs.statfs()?;
        println!("pool space seen by DFS: {usage:?}");
        // The mount, then the container handle, are released here, in that order.
    }

    if keep {
        println!("kept {label}");
    } else {
        pool.destroy_container(label, Destroy::IfUnused)?;
        println!("destroyed {label}");
    }
    Ok(())
}
