//! libdaos's behaviour before init and without a working agent. Its own test binary: init
//! state is per process and DAOS_AGENT_DRPC_DIR is read at the first successful daos_init.

mod common;

use std::ffi::CString;
use std::os::unix::net::UnixListener;
use std::ptr::null_mut;

use common::Emu;
use daos_emulator::capi::*;
use daos_emulator::ffi::*;

fn connect(pool: &str) -> Result<daos_handle_t, i32> {
    let mut poh = daos_handle_t::default();
    let p = CString::new(pool).unwrap();
    // SAFETY: valid arguments; blocking call.
    let rc = unsafe {
        daos_pool_connect2(
            p.as_ptr(),
            std::ptr::null(),
            DAOS_PC_RW,
            &mut poh,
            null_mut(),
            null_mut(),
        )
    };
    if rc == 0 { Ok(poh) } else { Err(rc) }
}

fn set_agent_dir(dir: &std::path::Path) {
    // SAFETY: this test binary has a single test; nothing else reads the environment meanwhile.
    unsafe { std::env::set_var("DAOS_AGENT_DRPC_DIR", dir) };
}

#[test]
fn init_matrix_credentials_and_eviction() {
    // SAFETY: calls into the emulated libdaos with valid arguments throughout.
    unsafe {
        // Before daos_init.
        assert_eq!(daos_fini(), -1015, "DER_UNINIT");
        let mut eq = daos_handle_t::default();
        assert_eq!(daos_eq_create(&mut eq), -1015);
        let mut ev = daos_event_t::default();
        assert_eq!(
            daos_event_init(&mut ev, daos_handle_t::default(), null_mut()),
            -1015
        );
        assert_eq!(connect("tank").err(), Some(-1015));

        // No socket at all: the agent was never started.
        let empty = std::env::temp_dir().join(format!("emu-noagent-{}", common::nanos()));
        std::fs::create_dir_all(&empty).unwrap();
        set_agent_dir(&empty);
        assert_eq!(daos_init(), -2034, "DER_AGENT_COMM");
        // A socket file nobody listens on: the agent died.
        drop(UnixListener::bind(empty.join("daos_agent.sock")).unwrap());
        assert_eq!(daos_init(), -1025, "DER_MISC");
        std::fs::remove_dir_all(&empty).unwrap();

        let mut emu = Emu::start("1G");
        set_agent_dir(&emu.dir);
        assert_eq!(daos_init(), 0);
        assert_eq!(daos_init(), 0, "reference counted");
        assert_eq!(daos_fini(), 0);
        let poh = connect("tank").unwrap();
        let label = CString::new("survivor").unwrap();
        let mut uuid: uuid_t = [0; 16];
        assert_eq!(
            daos_cont_create_with_label(poh, label.as_ptr(), null_mut(), &mut uuid, null_mut()),
            0
        );
        let mut coh = daos_handle_t::default();
        assert_eq!(
            daos_cont_open2(
                poh,
                label.as_ptr(),
                DAOS_COO_RW,
                &mut coh,
                null_mut(),
                null_mut()
            ),
            0
        );

        // The agent is killed: its socket stays. Connect asks it for credentials and fails;
        // what is already open keeps working.
        emu.stop_agent(false);
        assert_eq!(connect("tank").err(), Some(-1025), "refused: DER_MISC");
        let mut info = daos_cont_info_t::default();
        assert_eq!(daos_cont_query(coh, &mut info, null_mut(), null_mut()), 0);
        std::fs::remove_file(emu.dir.join("daos_agent.sock")).unwrap();
        assert_eq!(
            connect("tank").err(),
            Some(-1005),
            "missing socket at connect: DER_NONEXIST"
        );

        // A restarted agent serves again; a clean stop evicts the handles of local processes.
        emu.start_agent();
        let poh2 = connect("tank").unwrap();
        emu.stop_agent(true);
        assert_eq!(
            daos_cont_query(coh, &mut info, null_mut(), null_mut()),
            -1002,
            "evicted: DER_NO_HDL"
        );
        let mut pinfo = daos_pool_info_t::default();
        assert_eq!(
            daos_pool_query(poh2, null_mut(), &mut pinfo, null_mut(), null_mut()),
            -1002
        );
        assert_eq!(daos_cont_close(coh, null_mut()), 0);
        assert_eq!(daos_pool_disconnect(poh, null_mut()), 0);
        assert_eq!(daos_pool_disconnect(poh2, null_mut()), 0);
        emu.start_agent();
        assert!(connect("tank").is_ok());
        assert_eq!(daos_fini(), 0);
        assert_eq!(daos_fini(), -1015);
    }
}
