//! A second process for the emulator's own tests (not for users):
//! - `hold POOL CONT`: opens the container read-write, prints `ready`, keeps it open until its
//!   standard input closes, then closes and exits 0; on a failure prints the DER code.
//! - `hold-and-die POOL CONT`: opens the container and exits without closing anything.
//! - `destroy POOL CONT [force]`: prints the return code of daos_cont_destroy.

use std::ffi::CString;
use std::io::{Read, Write};

use daos_emulator::capi;
use daos_emulator::ffi::daos_handle_t;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(cmd), Some(pool), Some(cont)) = (args.first(), args.get(1), args.get(2)) else {
        eprintln!("usage: daos-emu-helper hold|hold-and-die|destroy POOL CONT [force]");
        std::process::exit(2);
    };
    let (Ok(pool), Ok(cont)) = (CString::new(pool.as_str()), CString::new(cont.as_str())) else {
        std::process::exit(2)
    };
    // SAFETY: calls into the emulated libdaos with valid arguments.
    unsafe {
        let rc = capi::daos_init();
        if rc != 0 {
            println!("{rc}");
            std::process::exit(1);
        }
        let mut poh = daos_handle_t::default();
        let rc = capi::daos_pool_connect2(
            pool.as_ptr(),
            std::ptr::null(),
            2,
            &mut poh,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        );
        if rc != 0 {
            println!("{rc}");
            std::process::exit(1);
        }
        if cmd == "destroy" {
            let force = i32::from(args.get(3).is_some_and(|f| f == "force"));
            println!(
                "{}",
                capi::daos_cont_destroy2(poh, cont.as_ptr(), force, std::ptr::null_mut())
            );
            return;
        }
        let mut coh = daos_handle_t::default();
        let rc = capi::daos_cont_open2(
            poh,
            cont.as_ptr(),
            2,
            &mut coh,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        );
        if rc != 0 {
            println!("{rc}");
            std::process::exit(1);
        }
        println!("ready");
        let _ = std::io::stdout().flush();
        if cmd == "hold-and-die" {
            std::process::exit(0);
        }
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
        capi::daos_cont_close(coh, std::ptr::null_mut());
        capi::daos_pool_disconnect(poh, std::ptr::null_mut());
        capi::daos_fini();
    }
}
