//! The emulated C API, called in process as the daos crate calls libdaos.

mod common;

use std::ffi::{CStr, c_char, c_void};
use std::ptr::{null, null_mut};
use std::time::{Duration, Instant};

use common::{Emu, c, label};
use daos_emulator::capi::*;
use daos_emulator::ffi::*;

const NONEXIST: i32 = -1005;
const INVAL: i32 = -1003;
const EXIST: i32 = -1004;
const BUSY: i32 = -1012;
const NO_HDL: i32 = -1002;
const TRUNC: i32 = -1016;
const NOSYS: i32 = -1010;
const OVERFLOW: i32 = -1017;
const NO_PERM: i32 = -1001;

/// Fault rules are system-wide: tests that set them take turns.
static FAULTS: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn sys() -> &'static Emu {
    common::shared_system("8G", |_| {})
}

fn connect(pool: &str) -> daos_handle_t {
    sys();
    common::pool_connect(pool)
}

fn create(poh: daos_handle_t, l: &str) -> uuid::Uuid {
    uuid::Uuid::from_bytes(common::create_container(poh, l, null_mut()))
}

fn create_posix(poh: daos_handle_t, l: &str) {
    let mut u: uuid_t = [0; 16];
    // SAFETY: valid arguments.
    let rc = unsafe {
        dfs_cont_create_with_label(
            poh,
            c(l).as_ptr(),
            null_mut(),
            &mut u,
            null_mut(),
            null_mut(),
        )
    };
    assert_eq!(rc, 0, "dfs create {l}");
}

fn open(poh: daos_handle_t, l: &str, flags: u32) -> Result<daos_handle_t, i32> {
    let mut coh = daos_handle_t::default();
    // SAFETY: valid arguments; blocking call.
    let rc =
        unsafe { daos_cont_open2(poh, c(l).as_ptr(), flags, &mut coh, null_mut(), null_mut()) };
    if rc == 0 { Ok(coh) } else { Err(rc) }
}

fn destroy(poh: daos_handle_t, l: &str, force: bool) -> i32 {
    // SAFETY: valid arguments; blocking call.
    unsafe { daos_cont_destroy2(poh, c(l).as_ptr(), i32::from(force), null_mut()) }
}

fn close(coh: daos_handle_t) -> i32 {
    // SAFETY: blocking call.
    unsafe { daos_cont_close(coh, null_mut()) }
}

#[test]
fn error_strings() {
    // SAFETY: the returned strings are static.
    unsafe {
        assert_eq!(CStr::from_ptr(d_errstr(-1003)), c"DER_INVAL");
        assert_eq!(CStr::from_ptr(d_errstr(0)), c"DER_SUCCESS");
        assert_eq!(CStr::from_ptr(d_errstr(7)), c"DER_UNKNOWN");
        assert_eq!(CStr::from_ptr(d_errdesc(-1012)), c"Device or resource busy");
        assert_eq!(
            CStr::from_ptr(d_errdesc(-9999)),
            c"Unknown error code -9999"
        );
    }
}

#[test]
fn pool_connect_errors() {
    sys();
    let mut poh = daos_handle_t::default();
    // SAFETY: valid or deliberately wrong arguments; blocking calls.
    unsafe {
        let tank = c("tank");
        assert_eq!(
            daos_pool_connect2(
                c("nope").as_ptr(),
                null(),
                DAOS_PC_RW,
                &mut poh,
                null_mut(),
                null_mut()
            ),
            NONEXIST
        );
        let other = c(&uuid::Uuid::new_v4().to_string());
        assert_eq!(
            daos_pool_connect2(
                other.as_ptr(),
                null(),
                DAOS_PC_RO,
                &mut poh,
                null_mut(),
                null_mut()
            ),
            NONEXIST
        );
        assert_eq!(
            daos_pool_connect2(tank.as_ptr(), null(), 0, &mut poh, null_mut(), null_mut()),
            INVAL
        );
        assert_eq!(
            daos_pool_connect2(
                tank.as_ptr(),
                null(),
                DAOS_PC_RO | DAOS_PC_RW,
                &mut poh,
                null_mut(),
                null_mut()
            ),
            INVAL
        );
        assert_eq!(
            daos_pool_connect2(
                tank.as_ptr(),
                null(),
                DAOS_PC_RO,
                null_mut(),
                null_mut(),
                null_mut()
            ),
            INVAL
        );
        let long = c("a-system-name-too-long");
        assert_eq!(
            daos_pool_connect2(
                tank.as_ptr(),
                long.as_ptr(),
                DAOS_PC_RO,
                &mut poh,
                null_mut(),
                null_mut()
            ),
            OVERFLOW
        );
        assert_eq!(
            daos_pool_connect2(
                tank.as_ptr(),
                c("other").as_ptr(),
                DAOS_PC_RO,
                &mut poh,
                null_mut(),
                null_mut()
            ),
            INVAL
        );
        assert_eq!(
            daos_pool_connect2(
                tank.as_ptr(),
                c("daos_server").as_ptr(),
                DAOS_PC_RO,
                &mut poh,
                null_mut(),
                null_mut()
            ),
            0
        );
        assert_eq!(daos_pool_disconnect(poh, null_mut()), 0);
        assert_eq!(
            daos_pool_disconnect(poh, null_mut()),
            NO_HDL,
            "a closed handle is unknown"
        );
        // A container-typed cookie is not a pool handle.
        assert_eq!(
            daos_pool_disconnect(daos_handle_t { cookie: 5 }, null_mut()),
            NO_HDL
        );
    }
}

#[test]
fn pool_query_fills_space_only_when_asked() {
    let poh = connect("tank");
    // SAFETY: valid arguments; blocking calls.
    unsafe {
        let mut info = daos_pool_info_t::default();
        assert_eq!(
            daos_pool_query(poh, null_mut(), &mut info, null_mut(), null_mut()),
            0
        );
        assert_eq!(info.pi_ntargets, 8);
        assert_eq!(
            info.pi_space.ps_space.s_total,
            [0, 0],
            "no space without DPI_SPACE"
        );
        info.pi_bits = daos_pool_info_bit_DPI_SPACE as u64;
        assert_eq!(
            daos_pool_query(poh, null_mut(), &mut info, null_mut(), null_mut()),
            0
        );
        let [scm, nvme] = info.pi_space.ps_space.s_total;
        assert_eq!(scm + nvme, 8_000_000_000, "8G as dmg parses it");
        assert_eq!(scm, 480_000_000, "6% SCM");
        assert!(info.pi_space.ps_space.s_free[1] <= nvme);
        let mut ranks: *mut d_rank_list_t = null_mut();
        let prop = daos_prop_alloc(0);
        assert_eq!(
            daos_pool_query(poh, &mut ranks, &mut info, prop, null_mut()),
            0
        );
        assert_eq!((*ranks).rl_nr, 1);
        let e = daos_prop_entry_get(prop, daos_pool_props_DAOS_PROP_PO_LABEL);
        assert_eq!(CStr::from_ptr((*e).__bindgen_anon_1.dpe_str), c"tank");
        d_rank_list_free(ranks);
        daos_prop_free(prop);
        daos_pool_disconnect(poh, null_mut());
    }
}

#[test]
fn list_containers_truncates_and_names_unlabeled() {
    // Own pool, so other tests' containers do not interfere.
    sys().dmg(&["pool", "create", "--size", "1G", "listpool"]);
    let poh = connect("listpool");
    create(poh, "first");
    // SAFETY: valid arguments; blocking calls.
    unsafe {
        let mut u: uuid_t = [0; 16];
        assert_eq!(daos_cont_create2(poh, &mut u, null_mut(), null_mut()), 0);
        let mut n: daos_size_t = 0;
        assert_eq!(daos_pool_list_cont(poh, &mut n, null_mut(), null_mut()), 0);
        assert_eq!(n, 2);
        let mut buf = vec![daos_pool_cont_info::default(); 2];
        n = 1;
        assert_eq!(
            daos_pool_list_cont(poh, &mut n, buf.as_mut_ptr(), null_mut()),
            TRUNC
        );
        assert_eq!(n, 2, "the needed count comes back with TRUNC");
        assert_eq!(
            daos_pool_list_cont(poh, &mut n, buf.as_mut_ptr(), null_mut()),
            0
        );
        let mut labels: Vec<String> = buf
            .iter()
            .map(|e| {
                CStr::from_ptr(e.pci_label.as_ptr())
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        labels.sort();
        assert_eq!(
            labels,
            vec!["container_label_not_set".to_string(), "first".to_string()]
        );
        daos_pool_disconnect(poh, null_mut());
    }
}

#[test]
fn container_create_rules() {
    let poh = connect("tank");
    let l = label("rules");
    create(poh, &l);
    // SAFETY: valid or deliberately wrong arguments; blocking calls.
    unsafe {
        let mut u: uuid_t = [0; 16];
        assert_eq!(
            daos_cont_create_with_label(poh, c(&l).as_ptr(), null_mut(), &mut u, null_mut()),
            EXIST
        );
        for bad in [
            "has space",
            "",
            "6a1e7f6c-9b1b-4f9e-9b0a-2c3d4e5f6a7b",
            &"x".repeat(128),
        ] {
            assert_eq!(
                daos_cont_create_with_label(poh, c(bad).as_ptr(), null_mut(), &mut u, null_mut()),
                INVAL,
                "{bad:?}"
            );
        }
        // A label in the properties of create_with_label, an owner other than the caller, a
        // status: all invalid.
        let p = daos_prop_alloc(1);
        (*(*p).dpp_entries).dpe_type = daos_cont_props_DAOS_PROP_CO_LABEL;
        daos_prop_set_str(p, daos_cont_props_DAOS_PROP_CO_LABEL, c("x").as_ptr(), 1);
        assert_eq!(
            daos_cont_create_with_label(poh, c(&label("y")).as_ptr(), p, &mut u, null_mut()),
            INVAL
        );
        daos_prop_free(p);
        let p = daos_prop_alloc(1);
        (*(*p).dpp_entries).dpe_type = daos_cont_props_DAOS_PROP_CO_OWNER;
        daos_prop_set_str(
            p,
            daos_cont_props_DAOS_PROP_CO_OWNER,
            c("nobody@").as_ptr(),
            7,
        );
        assert_eq!(
            daos_cont_create_with_label(poh, c(&label("o")).as_ptr(), p, &mut u, null_mut()),
            INVAL
        );
        daos_prop_free(p);
        let p = daos_prop_alloc(1);
        (*(*p).dpp_entries).dpe_type = daos_cont_props_DAOS_PROP_CO_STATUS;
        assert_eq!(
            daos_cont_create_with_label(poh, c(&label("s")).as_ptr(), p, &mut u, null_mut()),
            INVAL
        );
        daos_prop_free(p);
        // Duplicate property types.
        let p = daos_prop_alloc(2);
        (*(*p).dpp_entries).dpe_type = daos_cont_props_DAOS_PROP_CO_REDUN_FAC;
        (*(*p).dpp_entries.add(1)).dpe_type = daos_cont_props_DAOS_PROP_CO_REDUN_FAC;
        assert_eq!(
            daos_cont_create_with_label(poh, c(&label("d")).as_ptr(), p, &mut u, null_mut()),
            INVAL
        );
        daos_prop_free(p);
        // Properties from the CLI syntax are accepted.
        let mut p: *mut daos_prop_t = null_mut();
        let s = c("rd_fac:1;cksum:sha256");
        assert_eq!(daos_prop_from_str(s.as_ptr(), 21, &mut p), 0);
        let l2 = label("props");
        assert_eq!(
            daos_cont_create_with_label(poh, c(&l2).as_ptr(), p, &mut u, null_mut()),
            0
        );
        daos_prop_free(p);
        let coh = open(poh, &l2, DAOS_COO_RO).unwrap();
        let q = daos_prop_alloc(2);
        (*(*q).dpp_entries).dpe_type = daos_cont_props_DAOS_PROP_CO_REDUN_FAC;
        (*(*q).dpp_entries.add(1)).dpe_type = daos_cont_props_DAOS_PROP_CO_CSUM;
        assert_eq!(daos_cont_query(coh, null_mut(), q, null_mut()), 0);
        assert_eq!((*(*q).dpp_entries).__bindgen_anon_1.dpe_val, 1);
        assert_eq!((*(*q).dpp_entries.add(1)).__bindgen_anon_1.dpe_val, 5);
        daos_prop_free(q);
        close(coh);
        daos_pool_disconnect(poh, null_mut());
    }
}

#[test]
fn query_all_properties_has_2_8_defaults_and_owner() {
    let poh = connect("tank");
    let l = label("q");
    let u = create(poh, &l);
    let coh = open(poh, &l, DAOS_COO_RO).unwrap();
    // SAFETY: valid arguments; blocking calls.
    unsafe {
        let mut info = daos_cont_info_t::default();
        let p = daos_prop_alloc(0);
        assert_eq!(daos_cont_query(coh, &mut info, p, null_mut()), 0);
        assert_eq!(uuid::Uuid::from_bytes(info.ci_uuid), u);
        assert_eq!(info.ci_nhandles, 1);
        assert_eq!(info.ci_nsnapshots, 0);
        assert_eq!((*p).dpp_nr, 26, "every container property");
        let get = |t| daos_prop_entry_get(p, t);
        assert_eq!(
            CStr::from_ptr(
                (*get(daos_cont_props_DAOS_PROP_CO_LABEL))
                    .__bindgen_anon_1
                    .dpe_str
            )
            .to_str()
            .unwrap(),
            l
        );
        assert_eq!(
            (*get(daos_cont_props_DAOS_PROP_CO_CSUM))
                .__bindgen_anon_1
                .dpe_val,
            2,
            "CRC32"
        );
        assert_eq!(
            (*get(daos_cont_props_DAOS_PROP_CO_CSUM_SERVER_VERIFY))
                .__bindgen_anon_1
                .dpe_val,
            1
        );
        assert_eq!(
            (*get(daos_cont_props_DAOS_PROP_CO_LAYOUT_TYPE))
                .__bindgen_anon_1
                .dpe_val,
            0
        );
        let user = daos_emulator::fsutil::user_name(libc::geteuid()).unwrap() + "@";
        assert_eq!(
            CStr::from_ptr(
                (*get(daos_cont_props_DAOS_PROP_CO_OWNER))
                    .__bindgen_anon_1
                    .dpe_str
            )
            .to_str()
            .unwrap(),
            user
        );
        let acl = (*get(daos_cont_props_DAOS_PROP_CO_ACL))
            .__bindgen_anon_1
            .dpe_val_ptr as *mut daos_acl;
        assert_eq!(daos_acl_validate(acl), 0);
        let mut strs: *mut *mut c_char = null_mut();
        let mut n = 0usize;
        assert_eq!(daos_acl_to_strs(acl, &mut strs, &mut n), 0);
        let got: Vec<String> = (0..n)
            .map(|i| CStr::from_ptr(*strs.add(i)).to_string_lossy().into_owned())
            .collect();
        assert_eq!(got, vec!["A::OWNER@:rwdtTaAo", "A:G:GROUP@:rwtT"]);
        for i in 0..n {
            libc::free((*strs.add(i)).cast());
        }
        libc::free(strs.cast());
        daos_prop_free(p);
        // A listed query fills only the listed types.
        let p = daos_prop_alloc(1);
        (*(*p).dpp_entries).dpe_type = daos_cont_props_DAOS_PROP_CO_REDUN_LVL;
        assert_eq!(daos_cont_query(coh, null_mut(), p, null_mut()), 0);
        assert_eq!((*p).dpp_nr, 1);
        assert_eq!((*(*p).dpp_entries).__bindgen_anon_1.dpe_val, 2);
        daos_prop_free(p);
    }
    close(coh);
    // SAFETY: blocking call.
    unsafe { daos_pool_disconnect(poh, null_mut()) };
}

#[test]
fn handle_lifetimes_and_busy_rules() {
    let poh = connect("tank");
    let l = label("busy");
    create_posix(poh, &l);
    let coh = open(poh, &l, DAOS_COO_RW).unwrap();
    // SAFETY: valid arguments; blocking calls.
    unsafe {
        assert_eq!(
            daos_pool_disconnect(poh, null_mut()),
            BUSY,
            "a container is open through the pool handle"
        );
        let mut dfs: *mut dfs_t = null_mut();
        assert_eq!(dfs_mount(poh, coh, libc::O_RDWR, &mut dfs), 0);
        assert_eq!(close(coh), BUSY, "DFS is mounted on the handle");
        assert_eq!(destroy(poh, &l, false), BUSY, "open handles");
        assert_eq!(dfs_umount(dfs), 0);
        // Forced destroy evicts: the open handle then fails as unknown.
        assert_eq!(destroy(poh, &l, true), 0);
        let mut info = daos_cont_info_t::default();
        assert_eq!(
            daos_cont_query(coh, &mut info, null_mut(), null_mut()),
            NO_HDL
        );
        assert_eq!(open(poh, &l, DAOS_COO_RO).err(), Some(NONEXIST));
        assert_eq!(destroy(poh, &l, false), NONEXIST);
        assert_eq!(close(coh), 0, "closing an evicted handle frees it locally");
        for bad in [
            0,
            DAOS_COO_RO | DAOS_COO_RW,
            DAOS_COO_RO | DAOS_COO_EVICT_ALL,
            1 << 9,
        ] {
            assert_eq!(
                open(poh, "whatever", bad).err(),
                Some(INVAL),
                "flags {bad:#x}"
            );
        }
        assert_eq!(open(poh, "bad label!", DAOS_COO_RO).err(), Some(INVAL));
        assert_eq!(daos_pool_disconnect(poh, null_mut()), 0);
    }
}

fn helper(e: &Emu, args: &[&str]) -> std::process::Child {
    e.cmd("daos-emu-helper")
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

fn read_line(child: &mut std::process::Child) -> String {
    use std::io::BufRead;
    let mut s = String::new();
    std::io::BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut s)
        .unwrap();
    s.trim().to_string()
}

#[test]
fn handles_of_other_processes_block_destroy_until_they_close_or_die() {
    let poh = connect("tank");
    let l = label("xproc");
    create(poh, &l);
    let mut holder = helper(sys(), &["hold", "tank", &l]);
    assert_eq!(read_line(&mut holder), "ready");
    assert_eq!(destroy(poh, &l, false), BUSY, "open in another process");
    drop(holder.stdin.take());
    assert!(holder.wait().unwrap().success());
    assert_eq!(destroy(poh, &l, false), 0, "closed by its process");

    // A process that dies with the container open keeps it busy until the agent's process
    // monitor evicts its handles (within its interval), as on a DAOS server.
    create(poh, &l);
    let mut dier = helper(sys(), &["hold-and-die", "tank", &l]);
    assert_eq!(read_line(&mut dier), "ready");
    assert!(dier.wait().unwrap().success());
    let died = Instant::now();
    assert_eq!(destroy(poh, &l, false), BUSY, "just after the death");
    let limit = daos_emulator::state::PROCESS_MONITOR_INTERVAL + Duration::from_secs(2);
    let rc = loop {
        let rc = destroy(poh, &l, false);
        if rc != BUSY || died.elapsed() > limit {
            break rc;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(rc, 0, "destroyed once the agent evicted the dead handle");
    assert_eq!(open(poh, &l, DAOS_COO_RO).err(), Some(NONEXIST));

    // A forced destroy from another process evicts this process's handle.
    create(poh, &l);
    let coh = open(poh, &l, DAOS_COO_RW).unwrap();
    let mut killer = helper(sys(), &["destroy", "tank", &l]);
    assert_eq!(read_line(&mut killer), BUSY.to_string());
    killer.wait().unwrap();
    let mut killer = helper(sys(), &["destroy", "tank", &l, "force"]);
    assert_eq!(read_line(&mut killer), "0");
    killer.wait().unwrap();
    // SAFETY: blocking calls.
    unsafe {
        assert_eq!(
            daos_cont_query(coh, null_mut(), null_mut(), null_mut()),
            NO_HDL
        );
        close(coh);
        daos_pool_disconnect(poh, null_mut());
    }
}

#[test]
fn set_prop_renames_and_refuses_immutable_properties() {
    let poh = connect("tank");
    let (a, b) = (label("ren-a"), label("ren-b"));
    create(poh, &a);
    create(poh, &b);
    let coh = open(poh, &a, DAOS_COO_RW).unwrap();
    // SAFETY: valid arguments; blocking calls.
    unsafe {
        let p = daos_prop_alloc(1);
        (*(*p).dpp_entries).dpe_type = daos_cont_props_DAOS_PROP_CO_LABEL;
        daos_prop_set_str(
            p,
            daos_cont_props_DAOS_PROP_CO_LABEL,
            c(&b).as_ptr(),
            b.len() as u64,
        );
        assert_eq!(daos_cont_set_prop(coh, p, null_mut()), EXIST, "label taken");
        let new = label("ren-c");
        daos_prop_set_str(
            p,
            daos_cont_props_DAOS_PROP_CO_LABEL,
            c(&new).as_ptr(),
            new.len() as u64,
        );
        assert_eq!(daos_cont_set_prop(coh, p, null_mut()), 0);
        daos_prop_free(p);
        assert_eq!(
            open(poh, &a, DAOS_COO_RO).err(),
            Some(NONEXIST),
            "the old label is free"
        );
        let other = open(poh, &new, DAOS_COO_RO).unwrap();
        close(other);
        let p = daos_prop_alloc(1);
        (*(*p).dpp_entries).dpe_type = daos_cont_props_DAOS_PROP_CO_LAYOUT_TYPE;
        (*(*p).dpp_entries).__bindgen_anon_1.dpe_val = 1;
        assert_eq!(
            daos_cont_set_prop(coh, p, null_mut()),
            INVAL,
            "layout is immutable"
        );
        daos_prop_free(p);
    }
    close(coh);
    // SAFETY: blocking call.
    unsafe { daos_pool_disconnect(poh, null_mut()) };
}

#[test]
fn acl_calls_and_helpers() {
    let poh = connect("tank");
    let l = label("acl");
    create(poh, &l);
    let coh = open(poh, &l, DAOS_COO_RW).unwrap();
    // SAFETY: valid arguments; blocking calls; freed with the library's functions.
    unsafe {
        let strs = [c("A::bob@:rw"), c("A:G:devs@:r")];
        let ptrs: Vec<*const c_char> = strs.iter().map(|s| s.as_ptr()).collect();
        let mut acl: *mut daos_acl = null_mut();
        assert_eq!(daos_acl_from_strs(ptrs.as_ptr() as *mut _, 2, &mut acl), 0);
        assert_eq!(daos_cont_update_acl(coh, acl, null_mut()), 0);
        daos_acl_free(acl);
        let mut p: *mut daos_prop_t = null_mut();
        assert_eq!(daos_cont_get_acl(coh, &mut p, null_mut()), 0);
        assert_eq!((*p).dpp_nr, 3);
        let a = (*daos_prop_entry_get(p, daos_cont_props_DAOS_PROP_CO_ACL))
            .__bindgen_anon_1
            .dpe_val_ptr as *mut daos_acl;
        let mut ace: *mut daos_ace = null_mut();
        assert_eq!(
            daos_acl_get_ace_for_principal(
                a,
                daos_acl_principal_type_DAOS_ACL_USER,
                c("bob@").as_ptr(),
                &mut ace
            ),
            0
        );
        assert_eq!(
            (*ace).dae_allow_perms,
            u64::from(daos_acl_perm_DAOS_ACL_PERM_READ | daos_acl_perm_DAOS_ACL_PERM_WRITE)
        );
        let mut buf = [0 as c_char; 64];
        assert_eq!(daos_ace_to_str(ace, buf.as_mut_ptr(), 64), 0);
        assert_eq!(CStr::from_ptr(buf.as_ptr()), c"A::bob@:rw");
        assert_eq!(daos_ace_to_str(ace, buf.as_mut_ptr(), 4), TRUNC);
        daos_prop_free(p);
        assert_eq!(
            daos_cont_delete_acl(
                coh,
                daos_acl_principal_type_DAOS_ACL_USER,
                c("bob@").as_ptr() as *mut _,
                null_mut()
            ),
            0
        );
        assert_eq!(
            daos_cont_delete_acl(
                coh,
                daos_acl_principal_type_DAOS_ACL_USER,
                c("bob@").as_ptr() as *mut _,
                null_mut()
            ),
            NONEXIST
        );
        // Overwriting with an ACL that lets nobody else in: the owner keeps get/set-ACL
        // rights whatever its entry says.
        let none = [c("A::EVERYONE@:r")];
        let ptrs: Vec<*const c_char> = none.iter().map(|s| s.as_ptr()).collect();
        assert_eq!(daos_acl_from_strs(ptrs.as_ptr() as *mut _, 1, &mut acl), 0);
        let mut owner_only = acl;
        let mut ace: *mut daos_ace = null_mut();
        assert_eq!(daos_ace_from_str(c("A::OWNER@:t").as_ptr(), &mut ace), 0);
        assert_eq!(daos_acl_add_ace(&mut owner_only, ace), 0);
        daos_ace_free(ace);
        assert_eq!(daos_cont_overwrite_acl(coh, owner_only, null_mut()), 0);
        daos_acl_free(owner_only);
        // With only t for itself, the owner still has one read-kind (t, a) and one
        // write-kind (A) capability: the server lets an RW open through and the handle
        // refuses writes (fidelity.rs shows the refusal).
        let rw = open(poh, &l, DAOS_COO_RW).expect("RW open with owner t + aA");
        close(rw);
        let ro = open(poh, &l, DAOS_COO_RO).unwrap();
        close(ro);
        // Invalid ACE strings.
        assert_eq!(daos_ace_from_str(c("A::bob:rw").as_ptr(), &mut ace), INVAL);
        assert_eq!(
            daos_ace_from_str(c("A:G:OWNER@:rw").as_ptr(), &mut ace),
            INVAL
        );
    }
    close(coh);
    // SAFETY: blocking call.
    unsafe { daos_pool_disconnect(poh, null_mut()) };
}

#[test]
fn attribute_semantics() {
    let poh = connect("tank");
    let l = label("attr");
    create(poh, &l);
    let coh = open(poh, &l, DAOS_COO_RW).unwrap();
    // SAFETY: arrays sized as passed; blocking calls.
    unsafe {
        let names = [c("a"), c("bb")];
        let np: Vec<*const c_char> = names.iter().map(|n| n.as_ptr()).collect();
        let vals: [&[u8]; 2] = [b"one", b"second"];
        let vp: Vec<*const c_void> = vals.iter().map(|v| v.as_ptr().cast()).collect();
        let sizes = [3usize, 6];
        assert_eq!(
            daos_cont_set_attr(coh, 2, np.as_ptr(), vp.as_ptr(), sizes.as_ptr(), null_mut()),
            0
        );
        let zero = [0usize];
        assert_eq!(
            daos_cont_set_attr(coh, 1, np.as_ptr(), vp.as_ptr(), zero.as_ptr(), null_mut()),
            INVAL,
            "zero-size value"
        );
        assert_eq!(
            daos_cont_set_attr(coh, 0, np.as_ptr(), vp.as_ptr(), sizes.as_ptr(), null_mut()),
            INVAL
        );
        let long = c(&"n".repeat(512));
        let lp = [long.as_ptr()];
        assert_eq!(
            daos_cont_set_attr(coh, 1, lp.as_ptr(), vp.as_ptr(), sizes.as_ptr(), null_mut()),
            INVAL,
            "512-char name"
        );
        let ok = c(&"n".repeat(511));
        let okp = [ok.as_ptr()];
        assert_eq!(
            daos_cont_set_attr(
                coh,
                1,
                okp.as_ptr(),
                vp.as_ptr(),
                sizes.as_ptr(),
                null_mut()
            ),
            0,
            "511 is the limit"
        );
        assert_eq!(daos_cont_del_attr(coh, 1, okp.as_ptr(), null_mut()), 0);

        // List: the size counts each trailing NUL; names that do not fit are left out.
        let mut size = 0usize;
        assert_eq!(
            daos_cont_list_attr(coh, null_mut(), &mut size, null_mut()),
            0
        );
        assert_eq!(size, 2 + 3);
        let mut buf = [0x7f as c_char; 3];
        size = 3;
        assert_eq!(
            daos_cont_list_attr(coh, buf.as_mut_ptr(), &mut size, null_mut()),
            0
        );
        assert_eq!(size, 5);
        assert_eq!(CStr::from_ptr(buf.as_ptr()), c"a");
        assert_eq!(buf[2], 0x7f, "\"bb\" did not fit and was not copied");

        // Get: sizes only, truncated values, a missing name among present ones.
        let q = [c("bb"), c("missing")];
        let qp: Vec<*const c_char> = q.iter().map(|n| n.as_ptr()).collect();
        let mut sz = [0usize; 2];
        assert_eq!(
            daos_cont_get_attr(coh, 2, qp.as_ptr(), null(), sz.as_mut_ptr(), null_mut()),
            0
        );
        assert_eq!(sz, [6, 0]);
        let mut small = [0u8; 3];
        let bufs: [*mut c_void; 2] = [small.as_mut_ptr().cast(), null_mut()];
        sz = [3, 0];
        assert_eq!(
            daos_cont_get_attr(
                coh,
                2,
                qp.as_ptr(),
                bufs.as_ptr(),
                sz.as_mut_ptr(),
                null_mut()
            ),
            0
        );
        assert_eq!(&small, b"sec");
        assert_eq!(sz[0], 6, "the real size");
        let only_missing = [q[1].as_ptr()];
        assert_eq!(
            daos_cont_get_attr(
                coh,
                1,
                only_missing.as_ptr(),
                null(),
                sz.as_mut_ptr(),
                null_mut()
            ),
            NONEXIST
        );

        // Delete: names that do not exist are skipped, even when none exists (the server's
        // rdb_tx_delete never reports a missing key).
        assert_eq!(daos_cont_del_attr(coh, 2, qp.as_ptr(), null_mut()), 0);
        assert_eq!(daos_cont_del_attr(coh, 2, qp.as_ptr(), null_mut()), 0);
        assert_eq!(
            daos_cont_get_attr(coh, 2, qp.as_ptr(), null(), sz.as_mut_ptr(), null_mut()),
            NONEXIST,
            "both are gone"
        );
    }
    close(coh);
    // SAFETY: blocking call.
    unsafe { daos_pool_disconnect(poh, null_mut()) };
}

#[test]
fn snapshots() {
    let poh = connect("tank");
    let l = label("snap");
    create(poh, &l);
    let coh = open(poh, &l, DAOS_COO_RW).unwrap();
    // SAFETY: valid arguments; blocking calls.
    unsafe {
        let mut e1 = 0u64;
        assert_eq!(
            daos_cont_create_snap(coh, &mut e1, c("named").as_ptr() as *mut _, null_mut()),
            NOSYS
        );
        assert_eq!(
            daos_cont_create_snap(coh, null_mut(), null_mut(), null_mut()),
            INVAL
        );
        assert_eq!(
            daos_cont_create_snap_opt(coh, &mut e1, null_mut(), 2, null_mut()),
            NOSYS,
            "OIT without CR"
        );
        assert_eq!(
            daos_cont_create_snap(coh, &mut e1, null_mut(), null_mut()),
            0
        );
        let mut e2 = 0u64;
        assert_eq!(
            daos_cont_create_snap_opt(coh, &mut e2, null_mut(), 3, null_mut()),
            0
        );
        assert!(e2 > e1);
        let now = d_hlc2unixnsec(d_hlc_get());
        assert!(now >= d_hlc2unixnsec(e2));
        let mut nr = 0i32;
        let mut anchor = daos_anchor_t::default();
        assert_eq!(
            daos_cont_list_snap(
                coh,
                &mut nr,
                null_mut(),
                null_mut(),
                &mut anchor,
                null_mut()
            ),
            0
        );
        assert_eq!(nr, 2);
        let mut epochs = [0u64; 1];
        nr = 1;
        assert_eq!(
            daos_cont_list_snap(
                coh,
                &mut nr,
                epochs.as_mut_ptr(),
                null_mut(),
                &mut anchor,
                null_mut()
            ),
            0
        );
        assert_eq!(
            (nr, epochs[0], anchor.da_type),
            (2, e1, 3),
            "total count, first epoch, EOF anchor"
        );
        let mut info = daos_cont_info_t::default();
        daos_cont_query(coh, &mut info, null_mut(), null_mut());
        assert_eq!((info.ci_nsnapshots, info.ci_lsnapshot), (2, e2));
        assert_eq!(
            daos_cont_destroy_snap(
                coh,
                daos_epoch_range_t {
                    epr_lo: e1,
                    epr_hi: e2
                },
                null_mut()
            ),
            INVAL,
            "ranges"
        );
        assert_eq!(
            daos_cont_destroy_snap(
                coh,
                daos_epoch_range_t {
                    epr_lo: 0,
                    epr_hi: 0
                },
                null_mut()
            ),
            INVAL
        );
        let just_e1 = daos_epoch_range_t {
            epr_lo: e1,
            epr_hi: e1,
        };
        assert_eq!(daos_cont_destroy_snap(coh, just_e1, null_mut()), 0);
        assert_eq!(
            daos_cont_destroy_snap(coh, just_e1, null_mut()),
            NONEXIST,
            "destroyed once"
        );
        let ro = open(poh, &l, DAOS_COO_RO).unwrap();
        assert_eq!(
            daos_cont_create_snap(ro, &mut e1, null_mut(), null_mut()),
            NO_PERM,
            "needs a writable handle"
        );
        close(ro);
    }
    close(coh);
    // SAFETY: blocking call.
    unsafe { daos_pool_disconnect(poh, null_mut()) };
}

struct Done {
    order: std::sync::Mutex<Vec<usize>>,
    thread: std::sync::Mutex<Option<std::thread::ThreadId>>,
}

unsafe extern "C" fn on_done(arg: *mut c_void, _ev: *mut daos_event_t, rc: i32) -> i32 {
    // SAFETY: arg is the (index, &Done) pair the test keeps alive until every event completed.
    let (i, done) = unsafe { &*(arg as *const (usize, &Done)) };
    done.order.lock().unwrap().push(*i);
    *done.thread.lock().unwrap() = Some(std::thread::current().id());
    rc
}

#[test]
fn events_complete_out_of_order_on_the_polling_thread() {
    let poh = connect("tank");
    let l = label("ev");
    create(poh, &l);
    let coh = open(poh, &l, DAOS_COO_RW).unwrap();
    const N: usize = 256;
    let _faults = FAULTS.lock().unwrap_or_else(|e| e.into_inner());
    // SAFETY: events, callback arguments and out-buffers live in boxes that outlive completion.
    unsafe {
        let mut eq = daos_handle_t::default();
        assert_eq!(daos_eq_create(&mut eq), 0);
        let done = Done {
            order: Default::default(),
            thread: Default::default(),
        };
        let mut evs: Vec<Box<daos_event_t>> = (0..N).map(|_| Box::default()).collect();
        let args: Vec<Box<(usize, &Done)>> = (0..N).map(|i| Box::new((i, &done))).collect();
        let mut infos: Vec<Box<daos_cont_info_t>> = (0..N).map(|_| Box::default()).collect();
        daos_emulator::faults::set(
            &sys().dir,
            daos_emulator::faults::FaultRule {
                op: "daos_cont_query".into(),
                delay_ms: Some(1),
                ..Default::default()
            },
        )
        .unwrap();
        let start = Instant::now();
        for i in 0..N {
            assert_eq!(daos_event_init(&mut *evs[i], eq, null_mut()), 0);
            assert_eq!(
                daos_event_register_comp_cb(
                    &mut *evs[i],
                    Some(on_done),
                    (&*args[i]) as *const _ as *mut c_void
                ),
                0
            );
            assert_eq!(
                daos_cont_query(coh, &mut *infos[i], null_mut(), &mut *evs[i]),
                0
            );
        }
        let mut busy = daos_event_t::default();
        assert_eq!(daos_eq_destroy(eq, 0), BUSY, "events in flight");
        let mut got = 0;
        let mut out = vec![null_mut::<daos_event_t>(); 64];
        while got < N {
            let n = daos_eq_poll(eq, 1, 1_000_000, 64, out.as_mut_ptr());
            assert!(n >= 0);
            for e in &out[..n as usize] {
                assert_eq!((**e).ev_error, 0);
            }
            got += n as usize;
        }
        let elapsed = start.elapsed();
        daos_emulator::faults::clear(&sys().dir).unwrap();
        assert!(
            elapsed < Duration::from_millis(500),
            "256 ops with a 1 ms delay took {elapsed:?}"
        );
        let order = done.order.lock().unwrap().clone();
        assert_eq!(order.len(), N);
        assert_ne!(
            order,
            (0..N).collect::<Vec<_>>(),
            "completions came back in submission order"
        );
        assert_eq!(
            *done.thread.lock().unwrap(),
            Some(std::thread::current().id()),
            "callbacks run on the poller"
        );
        assert!(
            infos
                .iter()
                .all(|i| uuid::Uuid::from_bytes(i.ci_uuid) != uuid::Uuid::nil())
        );
        assert_eq!(
            daos_eq_poll(eq, 1, 0, 4, out.as_mut_ptr()),
            0,
            "nothing in flight"
        );
        assert_eq!(daos_eq_poll(eq, 1, 0, 0, out.as_mut_ptr()), INVAL);
        for e in evs.iter_mut() {
            assert_eq!(daos_event_fini(&mut **e), 0);
        }
        assert_eq!(daos_event_init(&mut busy, eq, null_mut()), 0);
        daos_emulator::faults::set(
            &sys().dir,
            daos_emulator::faults::FaultRule {
                op: "daos_cont_query".into(),
                delay_ms: Some(200),
                ..Default::default()
            },
        )
        .unwrap();
        let mut info = daos_cont_info_t::default();
        assert_eq!(daos_cont_query(coh, &mut info, null_mut(), &mut busy), 0);
        assert_eq!(
            daos_cont_query(coh, &mut info, null_mut(), &mut busy),
            NO_PERM,
            "an event that is not READY"
        );
        assert_eq!(daos_event_fini(&mut busy), BUSY, "still running");
        let mut flag = false;
        assert_eq!(daos_event_test(&mut busy, -1, &mut flag), 0);
        assert!(flag);
        daos_emulator::faults::clear(&sys().dir).unwrap();
        assert_eq!(daos_event_fini(&mut busy), 0);
        assert_eq!(daos_eq_destroy(eq, 0), 0);
        assert_eq!(daos_eq_poll(eq, 0, 0, 1, out.as_mut_ptr()), NONEXIST);
    }
    close(coh);
    // SAFETY: blocking call.
    unsafe { daos_pool_disconnect(poh, null_mut()) };
}

#[test]
fn counted_faults_fail_the_first_calls_of_any_process() {
    let _faults = FAULTS.lock().unwrap_or_else(|e| e.into_inner());
    sys().dmg(&["pool", "create", "--size", "1G", "faultpool"]);
    let poh = connect("faultpool");
    daos_emulator::faults::set(
        &sys().dir,
        daos_emulator::faults::FaultRule {
            op: "daos_cont_destroy".into(),
            pool: Some("faultpool".into()),
            der: Some(-1006),
            count: Some(2),
            ..Default::default()
        },
    )
    .unwrap();
    let l = label("fault");
    create(poh, &l);
    assert_eq!(destroy(poh, &l, false), -1006);
    // The second use is taken by another process.
    let out = sys()
        .cmd("daos-emu-cli")
        .args(["container", "destroy", "faultpool", &l])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("DER_UNREACH"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(destroy(poh, &l, false), 0, "both uses are gone");
    daos_emulator::faults::clear(&sys().dir).unwrap();
    // SAFETY: blocking call.
    unsafe { daos_pool_disconnect(poh, null_mut()) };
}

#[test]
fn dfs_posix_containers() {
    let poh = connect("tank");
    let l = label("dfs");
    create_posix(poh, &l);
    let plain = label("plain");
    create(poh, &plain);
    // SAFETY: valid arguments; blocking calls.
    unsafe {
        let pc = open(poh, &plain, DAOS_COO_RW).unwrap();
        let mut dfs: *mut dfs_t = null_mut();
        assert_eq!(
            dfs_mount(poh, pc, libc::O_RDWR, &mut dfs),
            libc::EINVAL,
            "not a POSIX container"
        );
        close(pc);

        let coh = open(poh, &l, DAOS_COO_RW).unwrap();
        assert_eq!(dfs_mount(poh, coh, libc::O_RDWR, &mut dfs), 0);
        let mut st: stat = std::mem::zeroed();
        assert_eq!(dfs_stat(dfs, null_mut(), null(), &mut st), 0);
        assert_eq!(st.st_mode, libc::S_IFDIR | 0o755);
        assert_eq!((st.st_uid, st.st_gid), (libc::geteuid(), libc::getegid()));
        assert_eq!(dfs_chown(dfs, null_mut(), null(), 1234, 5678, 0), 0);
        assert_eq!(dfs_chmod(dfs, null_mut(), null(), 0o2775), 0);
        assert_eq!(dfs_stat(dfs, null_mut(), null(), &mut st), 0);
        assert_eq!(
            (st.st_uid, st.st_gid, st.st_mode & 0o7777),
            (1234, 5678, 0o2775)
        );

        assert_eq!(dfs_mkdir(dfs, null_mut(), c("d").as_ptr(), 0o750, 0), 0);
        assert_eq!(
            dfs_mkdir(dfs, null_mut(), c("d").as_ptr(), 0o750, 0),
            libc::EEXIST
        );
        let mut dir: *mut dfs_obj_t = null_mut();
        assert_eq!(
            dfs_lookup(
                dfs,
                c("/d").as_ptr(),
                libc::O_RDWR,
                &mut dir,
                null_mut(),
                null_mut()
            ),
            0
        );
        let mut f: *mut dfs_obj_t = null_mut();
        let name = c("file");
        assert_eq!(
            dfs_open(
                dfs,
                dir,
                name.as_ptr(),
                libc::S_IFREG | 0o640,
                libc::O_RDWR | libc::O_CREAT,
                0,
                0,
                null(),
                &mut f
            ),
            0
        );
        let data = b"hello dfs".to_vec();
        let mut iov = d_iov_t {
            iov_buf: data.as_ptr() as *mut c_void,
            iov_buf_len: data.len(),
            iov_len: data.len(),
        };
        let mut sgl = d_sg_list_t {
            sg_nr: 1,
            sg_nr_out: 0,
            sg_iovs: &mut iov,
        };
        assert_eq!(dfs_write(dfs, f, &mut sgl, 0, null_mut()), 0);
        let mut size = 0;
        assert_eq!(dfs_get_size(dfs, f, &mut size), 0);
        assert_eq!(size, 9);
        let mut back = vec![0u8; 16];
        // libdfs reads sum(iov_len) bytes (src/client/dfs/io.c); the capacity is not a length.
        let mut riov = d_iov_t {
            iov_buf: back.as_mut_ptr().cast(),
            iov_buf_len: 16,
            iov_len: 16,
        };
        let mut rsgl = d_sg_list_t {
            sg_nr: 1,
            sg_nr_out: 0,
            sg_iovs: &mut riov,
        };
        let mut got = 0;
        assert_eq!(dfs_read(dfs, f, &mut rsgl, 0, &mut got, null_mut()), 0);
        assert_eq!(&back[..got as usize], b"hello dfs");
        assert_eq!(dfs_ostat(dfs, f, &mut st), 0);
        assert_eq!(
            st.st_mode,
            libc::S_IFREG | 0o640,
            "the mode as given, no umask"
        );
        dfs_release(f);
        // Symlinks resolve inside the container.
        assert_eq!(
            dfs_open(
                dfs,
                null_mut(),
                c("ln").as_ptr(),
                libc::S_IFLNK | 0o777,
                libc::O_RDWR | libc::O_CREAT,
                0,
                0,
                c("/d/file").as_ptr(),
                &mut f
            ),
            0
        );
        dfs_release(f);
        assert_eq!(
            dfs_lookup(
                dfs,
                c("/ln").as_ptr(),
                libc::O_RDONLY,
                &mut f,
                null_mut(),
                &mut st
            ),
            0
        );
        assert_eq!(st.st_size, 9);
        dfs_release(f);
        let mut anchor = daos_anchor_t::default();
        let mut nr = 8u32;
        let mut ents: Vec<dirent> = vec![std::mem::zeroed(); 8];
        assert_eq!(
            dfs_readdir(dfs, dir, &mut anchor, &mut nr, ents.as_mut_ptr()),
            0
        );
        assert_eq!((nr, anchor.da_type), (1, 3));
        assert_eq!(CStr::from_ptr(ents[0].d_name.as_ptr()), c"file");
        dfs_release(dir);
        assert_eq!(
            dfs_remove(dfs, null_mut(), c("d").as_ptr(), false, null_mut()),
            libc::ENOTEMPTY
        );
        assert_eq!(
            dfs_remove(dfs, null_mut(), c("d").as_ptr(), true, null_mut()),
            0
        );
        let mut attr = dfs_attr_t::default();
        assert_eq!(dfs_query(dfs, &mut attr), 0);
        assert_eq!(attr.da_chunk_size, 1 << 20);
        assert_eq!(dfs_umount(dfs), 0);

        // Container owner and root directory ownership together.
        assert_eq!(
            dfs_cont_set_owner(
                coh,
                c("root@").as_ptr() as *mut _,
                0,
                c("root@").as_ptr() as *mut _,
                0
            ),
            0
        );
        close(coh);
        assert_eq!(
            dfs_connect(
                c("tank").as_ptr(),
                null(),
                c(&l).as_ptr(),
                libc::O_RDONLY,
                null_mut(),
                &mut dfs
            ),
            0
        );
        assert_eq!(dfs_stat(dfs, null_mut(), null(), &mut st), 0);
        assert_eq!((st.st_uid, st.st_gid), (0, 0));
        assert_eq!(
            dfs_mkdir(dfs, null_mut(), c("x").as_ptr(), 0o755, 0),
            libc::EPERM,
            "read-only mount"
        );
        assert_eq!(dfs_disconnect(dfs), 0);
        assert_eq!(
            destroy(poh, &l, false),
            0,
            "dfs_disconnect closed its handles"
        );
        daos_pool_disconnect(poh, null_mut());
    }
}

/// A read-write DFS mount of the container `l` of `pool`, by `dfs_connect`.
fn dfs_connect_rw(pool: &str, l: &str) -> *mut dfs_t {
    let mut dfs: *mut dfs_t = null_mut();
    // SAFETY: valid arguments; blocking call.
    let rc = unsafe {
        dfs_connect(
            c(pool).as_ptr(),
            null(),
            c(l).as_ptr(),
            libc::O_RDWR,
            null_mut(),
            &mut dfs,
        )
    };
    assert_eq!(rc, 0, "dfs_connect {pool}/{l}");
    dfs
}

/// A regular file `name` in the root of `dfs`, created if need be and open read-write.
fn create_file(dfs: *mut dfs_t, name: &str) -> *mut dfs_obj_t {
    let mut f: *mut dfs_obj_t = null_mut();
    // SAFETY: a live mount; valid name and out-pointer.
    let rc = unsafe {
        dfs_open(
            dfs,
            null_mut(),
            c(name).as_ptr(),
            libc::S_IFREG | 0o644,
            libc::O_RDWR | libc::O_CREAT,
            0,
            0,
            null(),
            &mut f,
        )
    };
    assert_eq!(rc, 0, "create {name}");
    f
}

/// Free bytes of the pool `poh`, over both tiers.
fn free_bytes(poh: daos_handle_t) -> u64 {
    let mut info = daos_pool_info_t {
        pi_bits: daos_pool_info_bit_DPI_SPACE as u64,
        ..Default::default()
    };
    // SAFETY: valid arguments; blocking call.
    let rc = unsafe { daos_pool_query(poh, null_mut(), &mut info, null_mut(), null_mut()) };
    assert_eq!(rc, 0);
    info.pi_space.ps_space.s_free.iter().sum()
}

#[test]
fn pool_space_accounting_and_enospc() {
    sys().dmg(&["pool", "create", "--size", "1MB", "tiny"]);
    let poh = connect("tiny");
    let l = label("full");
    create_posix(poh, &l);
    // SAFETY: valid arguments; blocking calls.
    unsafe {
        let dfs = dfs_connect_rw("tiny", &l);
        let f = create_file(dfs, "f");
        let chunk = vec![7u8; 600_000];
        let mut iov = d_iov_t {
            iov_buf: chunk.as_ptr() as *mut c_void,
            iov_buf_len: chunk.len(),
            iov_len: chunk.len(),
        };
        let mut sgl = d_sg_list_t {
            sg_nr: 1,
            sg_nr_out: 0,
            sg_iovs: &mut iov,
        };
        assert_eq!(dfs_write(dfs, f, &mut sgl, 0, null_mut()), 0);
        assert_eq!(
            dfs_write(dfs, f, &mut sgl, 0, null_mut()),
            0,
            "overwriting takes no new space"
        );
        assert_eq!(
            dfs_write(dfs, f, &mut sgl, 600_000, null_mut()),
            libc::ENOSPC
        );
        assert_eq!(free_bytes(poh), 1_000_000 - 600_000);
        dfs_release(f);
        assert_eq!(
            dfs_remove(dfs, null_mut(), c("f").as_ptr(), false, null_mut()),
            0
        );
        assert_eq!(free_bytes(poh), 1_000_000);
        dfs_disconnect(dfs);
        // Destroying a container gives its space back.
        let dfs = dfs_connect_rw("tiny", &l);
        let f = create_file(dfs, "g");
        assert_eq!(dfs_write(dfs, f, &mut sgl, 0, null_mut()), 0);
        dfs_release(f);
        dfs_disconnect(dfs);
        assert_eq!(destroy(poh, &l, false), 0);
        assert_eq!(free_bytes(poh), 1_000_000);
        daos_pool_disconnect(poh, null_mut());
    }
}

#[test]
fn duns_links_and_resolves() {
    let poh = connect("tank");
    let l = label("uns");
    create_posix(poh, &l);
    let base = sys().dir.join(format!("uns-{}", common::nanos()));
    std::fs::create_dir_all(&base).unwrap();
    let link = base.join("link");
    // SAFETY: valid arguments; the attr is zero-initialised and freed with duns_destroy_attr.
    unsafe {
        let lp = c(link.to_str().unwrap());
        assert_eq!(duns_link_cont(poh, c(&l).as_ptr(), lp.as_ptr()), 0);
        assert_eq!(
            duns_link_cont(poh, c(&l).as_ptr(), lp.as_ptr()),
            libc::EEXIST
        );
        let mut attr = duns_attr_t {
            da_flags: 2,
            ..Default::default()
        };
        assert_eq!(duns_resolve_path(lp.as_ptr(), &mut attr), 0);
        assert_eq!(attr.da_type, 1);
        let pool_uuid = CStr::from_ptr(attr.da_pool.as_ptr())
            .to_str()
            .unwrap()
            .to_string();
        assert!(daos_emulator::label::is_uuid_string(&pool_uuid));
        duns_destroy_attr(&mut attr);
        // Without NO_REVERSE_LOOKUP a path below the link resolves to it, with the rest.
        let mut attr = duns_attr_t::default();
        let below = c(link.join("a/b").to_str().unwrap());
        assert_eq!(duns_resolve_path(below.as_ptr(), &mut attr), 0);
        assert_eq!(CStr::from_ptr(attr.da_rel_path), c"/a/b");
        duns_destroy_attr(&mut attr);
        let mut attr = duns_attr_t {
            da_flags: 2,
            ..Default::default()
        };
        assert_eq!(
            duns_resolve_path(c(base.to_str().unwrap()).as_ptr(), &mut attr),
            libc::ENODATA
        );
        assert_eq!(
            duns_resolve_path(c(base.join("none").to_str().unwrap()).as_ptr(), &mut attr),
            libc::ENOENT
        );
        assert_eq!(
            duns_resolve_path(c("daos://tank/vol/some/dir").as_ptr(), &mut attr),
            0
        );
        assert_eq!(CStr::from_ptr(attr.da_cont.as_ptr()), c"vol");
        assert_eq!(CStr::from_ptr(attr.da_rel_path), c"/some/dir");
        assert_eq!(duns_set_sys_name(&mut attr, c("daos_server").as_ptr()), 0);
        duns_destroy_attr(&mut attr);
        assert_eq!(duns_destroy_path(poh, lp.as_ptr()), 0);
        assert!(!link.exists());
        assert_eq!(open(poh, &l, DAOS_COO_RO).err(), Some(NONEXIST));
        daos_pool_disconnect(poh, null_mut());
    }
    let _ = std::fs::remove_dir_all(&base);
}

#[test]
fn container_create_and_destroy_are_cheap() {
    let poh = connect("tank");
    let n = 200;
    let start = Instant::now();
    for i in 0..n {
        let l = format!("perf-{}-{i}", std::process::id());
        create_posix(poh, &l);
        assert_eq!(destroy(poh, &l, false), 0);
    }
    let per = start.elapsed() / n;
    eprintln!("container create+destroy: {per:?} per pair (in process)");
    // About 0.5 ms on an idle machine; the bound only catches a gross regression on a busy
    // CI machine (a per-call scan of every container, an fsync per file).
    assert!(
        per < Duration::from_millis(25),
        "create+destroy took {per:?}"
    );
    // SAFETY: blocking call.
    unsafe { daos_pool_disconnect(poh, null_mut()) };
}
