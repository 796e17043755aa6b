//! The restart test's workload: appends numbered 4 KiB records to a file, fsyncing each, until
//! a stop file appears. Exits 0 only if every write and fsync succeeded; prints how many
//! records it wrote. Usage: `e2e-writer FILE STOP_FILE [PAUSE_MS]`.

use daos_csi_e2e::data::record;
use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: e2e-writer FILE STOP_FILE [PAUSE_MS]");
        std::process::exit(2);
    }
    let pause = Duration::from_millis(args.get(3).and_then(|p| p.parse().ok()).unwrap_or(2));
    let stop = Path::new(&args[2]);
    let mut file = match File::create(&args[1]) {
        Ok(file) => file,
        Err(e) => {
            eprintln!("e2e-writer: creating {}: {e}", args[1]);
            std::process::exit(1);
        }
    };
    let mut seq = 0u64;
    while !stop.exists() {
        if let Err(e) = file.write_all(&record(seq)).and_then(|()| file.sync_data()) {
            eprintln!("e2e-writer: record {seq} failed: {e}");
            println!("wrote {seq} records");
            std::process::exit(1);
        }
        seq += 1;
        std::thread::sleep(pause);
    }
    println!("wrote {seq} records");
}
