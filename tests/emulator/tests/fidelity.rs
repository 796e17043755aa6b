//! Fidelity fixes: read-only container handles cannot change the container (server
//! capability checks), fault rules keep their own use counts, a fault rule is in effect for
//! the next operation once `dmg fault set` has returned, and dmg sizes parse like go-humanize.

mod common;

use std::ffi::{CString, c_char, c_void};
use std::ptr::null_mut;

use common::{Emu, c, label, open_container};
use daos_emulator::capi::*;
use daos_emulator::ffi::*;

const NO_PERM: i32 = -1001;
const NONEXIST: i32 = -1005;
const UNREACH: i32 = -1006;
const NOSPACE: i32 = -1007;

/// Fault rules are system-wide: tests that set them take turns.
static FAULTS: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn sys() -> &'static Emu {
    common::shared_system("8GiB", |_| {})
}

/// Closes the handles `cohs` of the container `l`, destroys it and disconnects `poh`.
fn tear_down(poh: daos_handle_t, l: &str, cohs: &[daos_handle_t]) {
    // SAFETY: blocking calls on handles the caller owns and does not use again.
    unsafe {
        for coh in cohs {
            assert_eq!(daos_cont_close(*coh, null_mut()), 0);
        }
        assert_eq!(daos_cont_destroy2(poh, c(l).as_ptr(), 0, null_mut()), 0);
        assert_eq!(daos_pool_disconnect(poh, null_mut()), 0);
    }
}

fn connect(pool: &str) -> daos_handle_t {
    sys();
    common::pool_connect(pool)
}

fn create(poh: daos_handle_t, l: &str) {
    common::create_container(poh, l, null_mut());
}

fn set_attr(coh: daos_handle_t, name: &str, value: &[u8]) -> i32 {
    let n = c(name);
    let names = [n.as_ptr()];
    let values = [value.as_ptr() as *const c_void];
    let sizes = [value.len()];
    // SAFETY: arrays of one entry that outlive the blocking call.
    unsafe {
        daos_cont_set_attr(
            coh,
            1,
            names.as_ptr(),
            values.as_ptr(),
            sizes.as_ptr(),
            null_mut(),
        )
    }
}

fn del_attr(coh: daos_handle_t, name: &str) -> i32 {
    let n = c(name);
    let names = [n.as_ptr()];
    // SAFETY: an array of one entry that outlives the blocking call.
    unsafe { daos_cont_del_attr(coh, 1, names.as_ptr(), null_mut()) }
}

fn get_attr(coh: daos_handle_t, name: &str) -> Result<Vec<u8>, i32> {
    let n = c(name);
    let names = [n.as_ptr()];
    let mut buf = vec![0u8; 64];
    let bufs = [buf.as_mut_ptr() as *mut c_void];
    let mut sizes = [buf.len()];
    // SAFETY: arrays of one entry that outlive the blocking call.
    let rc = unsafe {
        daos_cont_get_attr(
            coh,
            1,
            names.as_ptr(),
            bufs.as_ptr(),
            sizes.as_mut_ptr(),
            null_mut(),
        )
    };
    if rc != 0 {
        return Err(rc);
    }
    buf.truncate(sizes[0]);
    Ok(buf)
}

fn set_label(coh: daos_handle_t, l: &str) -> i32 {
    // SAFETY: a property made and freed by the library; blocking call.
    unsafe {
        let p = daos_prop_alloc(1);
        (*(*p).dpp_entries).dpe_type = daos_cont_props_DAOS_PROP_CO_LABEL;
        let s = c(l);
        assert_eq!(
            daos_prop_set_str(
                p,
                daos_cont_props_DAOS_PROP_CO_LABEL,
                s.as_ptr(),
                l.len() as u64
            ),
            0
        );
        let rc = daos_cont_set_prop(coh, p, null_mut());
        daos_prop_free(p);
        rc
    }
}

fn acl(strs: &[&str]) -> *mut daos_acl {
    let owned: Vec<CString> = strs.iter().map(|s| c(s)).collect();
    let ptrs: Vec<*const c_char> = owned.iter().map(|s| s.as_ptr()).collect();
    let mut a: *mut daos_acl = null_mut();
    // SAFETY: an array of valid strings; the ACL is freed by the caller.
    let rc = unsafe { daos_acl_from_strs(ptrs.as_ptr() as *mut _, ptrs.len(), &mut a) };
    assert_eq!(rc, 0);
    a
}

fn acl_prop(a: *mut daos_acl) -> *mut daos_prop_t {
    // SAFETY: the entry takes a copy of the ACL (freed with the property).
    unsafe {
        let p = daos_prop_alloc(1);
        (*(*p).dpp_entries).dpe_type = daos_cont_props_DAOS_PROP_CO_ACL;
        assert_eq!(
            daos_prop_entry_set_ptr(
                (*p).dpp_entries,
                a as *const c_void,
                daos_acl_get_size(a) as u64
            ),
            0
        );
        p
    }
}

fn create_snap(coh: daos_handle_t) -> Result<u64, i32> {
    let mut e = 0;
    // SAFETY: valid out-pointer; blocking call.
    let rc = unsafe { daos_cont_create_snap(coh, &mut e, null_mut(), null_mut()) };
    if rc == 0 { Ok(e) } else { Err(rc) }
}

fn destroy_snap(coh: daos_handle_t, e: u64) -> i32 {
    let epr = daos_epoch_range_t {
        epr_lo: e,
        epr_hi: e,
    };
    // SAFETY: blocking call.
    unsafe { daos_cont_destroy_snap(coh, epr, null_mut()) }
}

fn nsnapshots(coh: daos_handle_t) -> u32 {
    let mut info = daos_cont_info_t::default();
    // SAFETY: valid out-pointer; blocking call.
    assert_eq!(
        unsafe { daos_cont_query(coh, &mut info, null_mut(), null_mut()) },
        0
    );
    info.ci_nsnapshots
}

#[test]
fn a_read_only_handle_cannot_change_the_container() {
    let poh = connect("tank");
    let l = label("ro");
    create(poh, &l);
    let rw = open_container(poh, &l, DAOS_COO_RW);
    assert_eq!(set_attr(rw, "kept", b"v1"), 0);
    let e = create_snap(rw).unwrap();
    let ro = open_container(poh, &l, DAOS_COO_RO);
    // SAFETY: valid arguments; blocking calls; objects freed with the library's functions.
    unsafe {
        // Attributes need the write capability (cont_attr_set / cont_attr_del).
        assert_eq!(set_attr(ro, "kept", b"v2"), NO_PERM, "set_attr");
        assert_eq!(set_attr(ro, "new", b"x"), NO_PERM, "set_attr of a new name");
        assert_eq!(del_attr(ro, "kept"), NO_PERM, "del_attr");
        // Properties: general ones need set-prop, the ACL set-ACL, owner/group set-owner.
        assert_eq!(set_label(ro, &label("renamed")), NO_PERM, "set_prop label");
        let a = acl(&["A::OWNER@:rwdtTaAo", "A::bob@:r"]);
        let p = acl_prop(a);
        assert_eq!(
            daos_cont_set_prop(ro, p, null_mut()),
            NO_PERM,
            "set_prop ACL"
        );
        daos_prop_free(p);
        assert_eq!(
            daos_cont_overwrite_acl(ro, a, null_mut()),
            NO_PERM,
            "overwrite_acl"
        );
        assert_eq!(
            daos_cont_update_acl(ro, a, null_mut()),
            NO_PERM,
            "update_acl"
        );
        daos_acl_free(a);
        assert_eq!(
            daos_cont_delete_acl(
                ro,
                daos_acl_principal_type_DAOS_ACL_OWNER,
                null_mut(),
                null_mut()
            ),
            NO_PERM,
            "delete_acl of an entry that exists"
        );
        assert_eq!(
            daos_cont_delete_acl(
                ro,
                daos_acl_principal_type_DAOS_ACL_USER,
                c("nobody-here@").as_ptr() as *mut _,
                null_mut()
            ),
            NONEXIST,
            "the server looks the entry up before it checks the capability"
        );
        let root = c("root@");
        assert_eq!(
            daos_cont_set_owner(ro, root.as_ptr() as *mut _, null_mut(), null_mut()),
            NO_PERM,
            "set_owner"
        );
        assert_eq!(
            daos_cont_set_owner_no_check(ro, null_mut(), root.as_ptr() as *mut _, null_mut()),
            NO_PERM,
            "set_owner_no_check"
        );
        // Snapshots need the write capability (ds_cont_snap_create / _destroy).
        assert_eq!(create_snap(ro), Err(NO_PERM), "create_snap");
        let mut e2 = 0;
        assert_eq!(
            daos_cont_create_snap_opt(
                ro,
                &mut e2,
                null_mut(),
                daos_snapshot_opts_DAOS_SNAP_OPT_CR,
                null_mut()
            ),
            NO_PERM,
            "create_snap_opt"
        );
        assert_eq!(destroy_snap(ro, e), NO_PERM, "destroy_snap");

        // Reading is what a read-only handle is for.
        assert_eq!(get_attr(ro, "kept").unwrap(), b"v1");
        let mut size = 0usize;
        assert_eq!(
            daos_cont_list_attr(ro, null_mut(), &mut size, null_mut()),
            0
        );
        assert_eq!(size, "kept\0".len());
        let mut p: *mut daos_prop_t = null_mut();
        assert_eq!(daos_cont_get_acl(ro, &mut p, null_mut()), 0);
        daos_prop_free(p);
        assert_eq!(nsnapshots(ro), 1, "the snapshot is still there");
    }
    // Nothing changed, and the read-write handle can still do all of it.
    assert_eq!(get_attr(rw, "kept").unwrap(), b"v1");
    assert_eq!(get_attr(rw, "new"), Err(NONEXIST));
    assert_eq!(set_attr(rw, "kept", b"v2"), 0);
    assert_eq!(del_attr(rw, "kept"), 0);
    let renamed = label("renamed");
    assert_eq!(set_label(rw, &renamed), 0);
    assert_eq!(destroy_snap(rw, e), 0);
    assert_eq!(nsnapshots(ro), 0);
    // SAFETY: blocking calls on handles we own.
    unsafe {
        assert_eq!(daos_cont_close(ro, null_mut()), 0);
        assert_eq!(daos_cont_close(rw, null_mut()), 0);
        assert_eq!(
            daos_cont_destroy2(poh, c(&renamed).as_ptr(), 0, null_mut()),
            0
        );
        assert_eq!(daos_pool_disconnect(poh, null_mut()), 0);
    }
}

#[test]
fn a_handle_keeps_the_capabilities_it_was_opened_with() {
    let poh = connect("tank");
    let l = label("capas");
    create(poh, &l);
    let rw = open_container(poh, &l, DAOS_COO_RW);
    // The owner takes write and set-prop away from everybody, itself included; the server
    // fixed this handle's capabilities at open, so it keeps them.
    let a = acl(&["A::OWNER@:rta"]);
    // SAFETY: blocking calls; the ACL is freed with the library's function.
    unsafe {
        assert_eq!(daos_cont_overwrite_acl(rw, a, null_mut()), 0);
        daos_acl_free(a);
    }
    assert_eq!(set_attr(rw, "still", b"yes"), 0);
    let ro = open_container(poh, &l, DAOS_COO_RO);
    assert_eq!(set_attr(ro, "still", b"no"), NO_PERM);
    assert_eq!(get_attr(ro, "still").unwrap(), b"yes");
    tear_down(poh, &l, &[ro, rw]);
}

#[test]
fn read_write_open_needs_a_read_and_a_write_capability_not_write_permission() {
    let poh = connect("tank");
    let l = label("rwopen");
    create(poh, &l);
    let rw = open_container(poh, &l, DAOS_COO_RW);
    // The owner keeps only get-prop for itself; it still has get-ACL and set-ACL (the owner
    // always does), one capability of each kind, so the server lets an RW open through
    // and the handle refuses writes instead.
    let a = acl(&["A::OWNER@:t"]);
    // SAFETY: blocking calls; the ACL is freed with the library's function.
    unsafe {
        assert_eq!(daos_cont_overwrite_acl(rw, a, null_mut()), 0);
        daos_acl_free(a);
        assert_eq!(daos_cont_close(rw, null_mut()), 0);
    }
    let again = open_container(poh, &l, DAOS_COO_RW);
    assert_eq!(set_attr(again, "denied", b"x"), NO_PERM);
    let ro = open_container(poh, &l, DAOS_COO_RO);
    tear_down(poh, &l, &[ro, again]);
}

fn query_rc(coh: daos_handle_t) -> i32 {
    let mut info = daos_cont_info_t::default();
    // SAFETY: valid out-pointer; blocking call.
    unsafe { daos_cont_query(coh, &mut info, null_mut(), null_mut()) }
}

fn fault_set(args: &[&str]) -> String {
    let mut all = vec!["fault", "set"];
    all.extend_from_slice(args);
    sys().dmg(&all).trim().to_string()
}

#[test]
fn fault_counts_survive_adding_and_removing_other_rules() {
    let _faults = FAULTS.lock().unwrap_or_else(|e| e.into_inner());
    sys().dmg(&["fault", "clear"]);
    let poh = connect("tank");
    let l = label("counts");
    create(poh, &l);
    let coh = open_container(poh, &l, DAOS_COO_RW);
    let first = fault_set(&["--op", "daos_cont_query", "--der=-1006", "--count", "2"]);
    assert!(!first.is_empty(), "dmg fault set prints the rule id");
    assert_eq!(query_rc(coh), UNREACH);
    assert_eq!(query_rc(coh), UNREACH);
    assert_eq!(query_rc(coh), 0, "two uses, then none");
    // Adding other rules used to re-arm every counted rule.
    let other = fault_set(&["--op", "daos_cont_list_attr", "--der=-1007", "--count", "1"]);
    assert_ne!(first, other);
    assert_eq!(
        query_rc(coh),
        0,
        "still used up after another rule was added"
    );
    // A rule with a use left keeps it when another rule is removed.
    fault_set(&["--op", "daos_cont_get_acl", "--der=-1007", "--count", "2"]);
    let mut p: *mut daos_prop_t = null_mut();
    // SAFETY: valid out-pointer; blocking call.
    let get_acl = |p: &mut *mut daos_prop_t| unsafe { daos_cont_get_acl(coh, p, null_mut()) };
    assert_eq!(get_acl(&mut p), NOSPACE);
    sys().dmg(&["fault", "remove", &other]);
    let mut size = 0usize;
    // SAFETY: valid out-pointer; blocking call.
    let rc = unsafe { daos_cont_list_attr(coh, null_mut(), &mut size, null_mut()) };
    assert_eq!(rc, 0, "the removed rule is gone");
    assert_eq!(get_acl(&mut p), NOSPACE, "one use was left");
    assert_eq!(get_acl(&mut p), 0);
    // SAFETY: the property from the successful call.
    unsafe { daos_prop_free(p) };
    assert_eq!(query_rc(coh), 0);
    let (ok, out) = sys().dmg_status(&["fault", "remove", &other]);
    assert!(!ok, "removing a rule twice fails: {out}");
    // Clear resets everything: the same rule is fresh again.
    sys().dmg(&["fault", "clear"]);
    fault_set(&["--op", "daos_cont_query", "--der=-1006", "--count", "1"]);
    assert_eq!(query_rc(coh), UNREACH);
    assert_eq!(query_rc(coh), 0);
    sys().dmg(&["fault", "clear"]);
    tear_down(poh, &l, &[coh]);
}

#[test]
fn a_rule_is_in_effect_as_soon_as_dmg_fault_set_returns() {
    let _faults = FAULTS.lock().unwrap_or_else(|e| e.into_inner());
    sys().dmg(&["fault", "clear"]);
    let poh = connect("tank");
    let l = label("visible");
    create(poh, &l);
    let coh = open_container(poh, &l, DAOS_COO_RW);
    // This process has the rules cached; each change comes from another process (dmg) and
    // must be seen by the very next call, with no sleep.
    for round in 0..10 {
        assert_eq!(query_rc(coh), 0, "round {round}: no rule");
        fault_set(&["--op", "daos_cont_query", "--der=-1006"]);
        assert_eq!(query_rc(coh), UNREACH, "round {round}: right after set");
        sys().dmg(&["fault", "clear"]);
    }
    // A fresh process sees it too.
    fault_set(&["--op", "daos_cont_destroy", "--der=-1006", "--count", "1"]);
    let out = sys()
        .cmd("daos-emu-cli")
        .args(["container", "destroy", "tank", &l])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("DER_UNREACH"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    sys().dmg(&["fault", "clear"]);
    tear_down(poh, &l, &[coh]);
}

#[test]
fn dmg_sizes_are_go_humanize_sizes() {
    let poh = connect("tank");
    let total = |poh: daos_handle_t| {
        let mut info = daos_pool_info_t {
            pi_bits: daos_pool_info_bit_DPI_SPACE as u64,
            ..Default::default()
        };
        // SAFETY: valid out-pointer; blocking call.
        let rc = unsafe { daos_pool_query(poh, null_mut(), &mut info, null_mut(), null_mut()) };
        assert_eq!(rc, 0);
        info.pi_space.ps_space.s_total.iter().sum::<u64>()
    };
    assert_eq!(total(poh), 8 << 30, "8GiB is binary");
    let decimal = label("dec");
    sys().dmg(&["pool", "create", "--size", "8G", &decimal]);
    let dec = connect(&decimal);
    assert_eq!(total(dec), 8_000_000_000, "8G is decimal, as real dmg");
    // SAFETY: blocking calls on handles we own.
    unsafe {
        assert_eq!(daos_pool_disconnect(dec, null_mut()), 0);
        assert_eq!(daos_pool_disconnect(poh, null_mut()), 0);
    }
    sys().dmg(&["pool", "destroy", &decimal]);
}

fn create_with_label_rc(poh: daos_handle_t, l: &str) -> i32 {
    let mut u: uuid_t = [0; 16];
    // SAFETY: valid arguments; blocking call.
    unsafe { daos_cont_create_with_label(poh, c(l).as_ptr(), null_mut(), &mut u, null_mut()) }
}

fn dfs_create_with_label_rc(poh: daos_handle_t, l: &str) -> i32 {
    let mut u: uuid_t = [0; 16];
    // SAFETY: valid arguments; no handle or mount requested.
    unsafe {
        dfs_cont_create_with_label(
            poh,
            c(l).as_ptr(),
            null_mut(),
            &mut u,
            null_mut(),
            null_mut(),
        )
    }
}

#[test]
fn a_fault_on_a_function_applies_to_the_functions_built_on_it_as_one_call() {
    let _faults = FAULTS.lock().unwrap_or_else(|e| e.into_inner());
    sys().dmg(&["fault", "clear"]);
    // A pool of its own: the rules below name it, so the containers other tests create
    // meanwhile (in tank) neither use the counts nor fail.
    sys().dmg(&["pool", "create", "--size", "1GiB", "wrapped"]);
    let poh = connect("wrapped");
    // The daos crate creates through daos_cont_create_with_label, which libdaos implements
    // with daos_cont_create: a rule on the latter must catch it, and use one count.
    let on_pool = ["--pool", "wrapped"];
    let rule = |args: &[&str]| fault_set(&[args, &on_pool[..]].concat());
    rule(&["--op", "daos_cont_create", "--der=-1007", "--count", "2"]);
    let (a, b, d) = (label("wrap-a"), label("wrap-b"), label("wrap-d"));
    assert_eq!(create_with_label_rc(poh, &a), NOSPACE);
    assert_eq!(
        dfs_create_with_label_rc(poh, &d),
        libc::ENOSPC,
        "libdfs creates through daos_cont_create too; its errno"
    );
    assert_eq!(create_with_label_rc(poh, &b), 0, "two calls, two uses");
    sys().dmg(&["fault", "clear"]);
    // A rule on the wrapper does not reach the function underneath.
    rule(&["--op", "daos_cont_create_with_label", "--der=-1007"]);
    let mut u: uuid_t = [0; 16];
    // SAFETY: valid arguments; blocking call.
    let rc = unsafe { daos_cont_create2(poh, &mut u, null_mut(), null_mut()) };
    assert_eq!(rc, 0);
    sys().dmg(&["fault", "clear"]);
    // SAFETY: blocking calls on handles we own.
    unsafe {
        assert_eq!(daos_cont_destroy2(poh, c(&b).as_ptr(), 0, null_mut()), 0);
        let name = CString::new(uuid::Uuid::from_bytes(u).to_string()).unwrap();
        assert_eq!(daos_cont_destroy2(poh, name.as_ptr(), 0, null_mut()), 0);
        let mut info = daos_cont_info_t::default();
        let mut coh = daos_handle_t::default();
        for gone in [&a, &d] {
            let rc = daos_cont_open2(
                poh,
                c(gone).as_ptr(),
                DAOS_COO_RO,
                &mut coh,
                &mut info,
                null_mut(),
            );
            assert_eq!(rc, NONEXIST, "{gone} was not created");
        }
        assert_eq!(daos_pool_disconnect(poh, null_mut()), 0);
    }
}

fn pool_attr_rc(poh: daos_handle_t, names: &[&str], set: Option<&[u8]>) -> i32 {
    let owned: Vec<CString> = names.iter().map(|n| c(n)).collect();
    let ptrs: Vec<*const c_char> = owned.iter().map(|n| n.as_ptr()).collect();
    let n = ptrs.len() as i32;
    // SAFETY: arrays of `n` entries that outlive the blocking calls.
    unsafe {
        match set {
            Some(v) => {
                let values = vec![v.as_ptr() as *const c_void; ptrs.len()];
                let sizes = vec![v.len(); ptrs.len()];
                daos_pool_set_attr(
                    poh,
                    n,
                    ptrs.as_ptr(),
                    values.as_ptr(),
                    sizes.as_ptr(),
                    null_mut(),
                )
            }
            None => daos_pool_del_attr(poh, n, ptrs.as_ptr(), null_mut()),
        }
    }
}

#[test]
fn deleting_attributes_that_do_not_exist_succeeds() {
    let poh = connect("tank");
    let l = label("delattr");
    create(poh, &l);
    let coh = open_container(poh, &l, DAOS_COO_RW);
    // A real server punches the key whether or not it exists (rdb_tx_delete only logs it).
    assert_eq!(del_attr(coh, "never-set"), 0, "container, missing name");
    assert_eq!(set_attr(coh, "once", b"v"), 0);
    assert_eq!(del_attr(coh, "once"), 0);
    assert_eq!(del_attr(coh, "once"), 0, "container, deleted twice");
    assert_eq!(get_attr(coh, "once"), Err(NONEXIST));
    // Pool attributes go through the same server code.
    let pa = format!("{l}-pool-attr");
    assert_eq!(pool_attr_rc(poh, &[&pa], None), 0, "pool, missing name");
    assert_eq!(pool_attr_rc(poh, &[&pa], Some(b"x")), 0);
    let other = format!("{l}-other");
    assert_eq!(pool_attr_rc(poh, &[&pa, &other], None), 0);
    assert_eq!(pool_attr_rc(poh, &[&pa, &other], None), 0, "pool, twice");
    tear_down(poh, &l, &[coh]);
}
