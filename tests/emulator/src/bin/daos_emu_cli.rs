//! A tiny `daos`-like command line over the emulator's C ABI, to measure what shelling out to
//! a `daos` CLI per operation would cost compared with calling libdaos in process:
//! `daos-emu-cli container create --type POSIX POOL LABEL` and
//! `daos-emu-cli container destroy [--force] POOL LABEL`.

use std::ffi::CString;
use std::process::ExitCode;

use daos_emulator::capi;
use daos_emulator::ffi::{daos_handle_t, uuid_t};

fn der(rc: i32) -> String {
    daos_emulator::der::errstr(rc)
        .to_string_lossy()
        .into_owned()
}

fn usage() -> ExitCode {
    eprintln!("usage: daos-emu-cli container create --type POSIX POOL LABEL");
    eprintln!("       daos-emu-cli container destroy [--force] POOL LABEL");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    let (create, force, posix, rest) = match words.as_slice() {
        ["container" | "cont", "create", rest @ ..] => {
            let posix = rest
                .windows(2)
                .any(|w| w[0] == "--type" && w[1].eq_ignore_ascii_case("posix"))
                || rest.iter().any(|a| a.eq_ignore_ascii_case("--type=posix"));
            let pos: Vec<&str> = rest
                .iter()
                .enumerate()
                .filter(|(i, a)| !a.starts_with("--") && (*i == 0 || rest[i - 1] != "--type"))
                .map(|(_, a)| *a)
                .collect();
            (true, false, posix, pos)
        }
        ["container" | "cont", "destroy", rest @ ..] => {
            let force = rest.iter().any(|a| *a == "--force" || *a == "-f");
            (
                false,
                force,
                false,
                rest.iter()
                    .copied()
                    .filter(|a| !a.starts_with('-'))
                    .collect(),
            )
        }
        _ => return usage(),
    };
    let [pool, label] = rest.as_slice() else {
        return usage();
    };
    let (Ok(pool_c), Ok(label_c)) = (CString::new(*pool), CString::new(*label)) else {
        return usage();
    };

    // SAFETY: plain calls into the emulated libdaos with valid arguments throughout.
    unsafe {
        let rc = capi::daos_init();
        if rc != 0 {
            eprintln!("ERROR: daos: daos_init failed: {}({rc})", der(rc));
            return ExitCode::FAILURE;
        }
        if posix && capi::dfs_init() != 0 {
            eprintln!("ERROR: daos: dfs_init failed");
            return ExitCode::FAILURE;
        }
        let mut poh = daos_handle_t::default();
        let rc = capi::daos_pool_connect2(
            pool_c.as_ptr(),
            std::ptr::null(),
            2,
            &mut poh,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        );
        if rc != 0 {
            eprintln!(
                "ERROR: daos: failed to connect to pool {pool}: {}({rc})",
                der(rc)
            );
            return ExitCode::FAILURE;
        }
        let mut uuid: uuid_t = [0; 16];
        let rc = if create && posix {
            let e = capi::dfs_cont_create_with_label(
                poh,
                label_c.as_ptr(),
                std::ptr::null_mut(),
                &mut uuid,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            );
            if e == 0 {
                0
            } else {
                daos_emulator::der::errno2der(e).0
            }
        } else if create {
            capi::daos_cont_create_with_label(
                poh,
                label_c.as_ptr(),
                std::ptr::null_mut(),
                &mut uuid,
                std::ptr::null_mut(),
            )
        } else {
            capi::daos_cont_destroy2(
                poh,
                label_c.as_ptr(),
                i32::from(force),
                std::ptr::null_mut(),
            )
        };
        capi::daos_pool_disconnect(poh, std::ptr::null_mut());
        if posix {
            capi::dfs_fini();
        }
        capi::daos_fini();
        if rc != 0 {
            let what = if create { "create" } else { "destroy" };
            eprintln!(
                "ERROR: daos: failed to {what} container {label}: {}({rc})",
                der(rc)
            );
            return ExitCode::FAILURE;
        }
        if create {
            println!(
                "Successfully created container {}",
                uuid::Uuid::from_bytes(uuid)
            );
        } else {
            println!("Successfully destroyed container {label}");
        }
    }
    ExitCode::SUCCESS
}
