//! Open containers: query, properties, close, user attributes and snapshots.

mod common;

use common::{TempContainer, pool};
use daos::{Acl, ContainerAccess, Der, Epoch, PropType, Properties};
use daos_test_harness::unique_label;

#[test]
fn open_by_label_or_uuid_and_query() {
    let c = TempContainer::plain("query");
    let by_label = c
        .pool
        .open_container(&c.label, ContainerAccess::ReadWrite)
        .unwrap();
    let by_uuid = c
        .pool
        .open_container(&c.uuid.to_string(), ContainerAccess::ReadOnly)
        .unwrap();
    assert_eq!(by_label.uuid(), c.uuid);
    assert_eq!(by_uuid.uuid(), c.uuid);
    assert_eq!(by_label.label(), Some(c.label.as_str()));
    assert_eq!(by_uuid.label(), None);
    assert_eq!(by_uuid.access(), ContainerAccess::ReadOnly);
    let info = by_uuid.query().unwrap();
    assert_eq!(info.uuid, c.uuid);
    assert_eq!(info.label.as_deref(), Some(c.label.as_str()));
    assert!(info.nhandles >= 2, "two handles are open: {info:?}");
    assert_eq!(info.nsnapshots, 0);
    assert_eq!(info.latest_snapshot, None);
    assert!(daos::sys::daos_handle_is_valid(by_label.raw_handle()));
}

#[test]
fn close_reports_and_refuses_while_clones_live() {
    let c = TempContainer::plain("close");
    let cont = c.open();
    let clone = cont.clone();
    let err = clone.close().unwrap_err();
    assert!(err.is_busy(), "{err}");
    // The remaining clone still works, then closes for real.
    cont.query().unwrap();
    cont.close().unwrap();
    // With no handle left a plain destroy succeeds.
    c.pool.destroy_container(&c.label, false).unwrap();
}

#[test]
fn properties_round_trip() {
    let c = TempContainer::plain("prop");
    let cont = c.open();
    let all = cont.properties().unwrap();
    assert_eq!(all.get_label(), Some(c.label.as_str()));
    assert!(all.get_owner().is_some_and(|o| o.ends_with('@')), "{all:?}");
    assert!(all.contains(PropType::REDUN_FAC));
    let acl = all.get_acl().expect("a container always has an ACL");
    assert!(acl.get(&daos::acl::Principal::Owner).is_some(), "{acl}");
    let some = cont
        .properties_of(&[PropType::LABEL, PropType::LAYOUT_TYPE])
        .unwrap();
    assert_eq!(some.get_label(), Some(c.label.as_str()));
    assert!(!some.contains(PropType::REDUN_FAC));
}

#[test]
fn relabel_through_set_properties() {
    let c = TempContainer::plain("relabel");
    let cont = c.open();
    let new_label = unique_label("renamed");
    cont.set_properties(&Properties::new().label(new_label.clone()))
        .unwrap();
    assert_eq!(
        cont.query().unwrap().label.as_deref(),
        Some(new_label.as_str())
    );
    let again = c
        .pool
        .open_container(&new_label, ContainerAccess::ReadOnly)
        .unwrap();
    assert_eq!(again.uuid(), c.uuid);
    let err = c
        .pool
        .open_container(&c.label, ContainerAccess::ReadOnly)
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    // Renaming onto another container's label is refused.
    let other = TempContainer::plain("taken");
    let err = cont
        .set_properties(&Properties::new().label(other.label.clone()))
        .unwrap_err();
    assert!(err.is_exists(), "{err}");
    // An invalid label never reaches DAOS.
    let err = cont
        .set_properties(&Properties::new().label("no spaces allowed"))
        .unwrap_err();
    assert!(err.is_invalid(), "{err}");
    cont.set_properties(&Properties::new()).unwrap();
}

#[test]
fn acl_and_owner_group_given_at_create_are_stored() {
    let pool = pool();
    let label = unique_label("acl");
    let acl = Acl::from_strs(&["A::OWNER@:rwdtTaAo", "A:G:GROUP@:rwtT", "A::EVERYONE@:r"]).unwrap();
    let props = Properties::new().acl(acl.clone()).owner_group("root@");
    let uuid = pool.create_container(&label, &props).unwrap();
    let _guard = TempContainer {
        pool: pool.clone(),
        label: label.clone(),
        uuid,
    };
    let cont = pool
        .open_container(&label, ContainerAccess::ReadOnly)
        .unwrap();
    let got = cont.properties().unwrap();
    assert_eq!(got.get_owner_group(), Some("root@"));
    let mut want = acl.to_strs();
    let mut have = got.get_acl().unwrap().to_strs();
    want.sort();
    have.sort();
    assert_eq!(have, want);
    drop(cont);
    pool.destroy_container(&label, false).unwrap();
}

#[test]
fn attributes_set_get_list_delete() {
    let c = TempContainer::plain("attrs");
    let cont = c.open();
    assert_eq!(cont.get_attr("absent").unwrap(), None);
    assert!(!cont.list_attrs().unwrap().contains(&"a".to_string()));
    cont.set_attrs(&[("a", b"1"), ("b", b"two")]).unwrap();
    cont.set_attr("c", b"three").unwrap();
    assert_eq!(cont.get_attr("a").unwrap().as_deref(), Some(&b"1"[..]));
    assert_eq!(
        cont.get_attrs(&["c", "missing", "b"]).unwrap(),
        vec![Some(b"three".to_vec()), None, Some(b"two".to_vec())]
    );
    let mut names = cont.list_attrs().unwrap();
    names.sort();
    for n in ["a", "b", "c"] {
        assert!(names.contains(&n.to_string()), "{names:?}");
    }
    // Replacing with a longer value exercises the size-then-fetch path.
    let big = vec![0x5a_u8; 200_000];
    cont.set_attr("a", &big).unwrap();
    assert_eq!(cont.get_attr("a").unwrap(), Some(big));
    cont.delete_attrs(&["a", "b"]).unwrap();
    assert_eq!(
        cont.get_attrs(&["a", "b", "c"]).unwrap(),
        vec![None, None, Some(b"three".to_vec())]
    );
    // Deleting names that do not exist succeeds, as on a real DAOS server: alone or with
    // others that do exist.
    cont.delete_attrs(&["a"]).unwrap();
    cont.delete_attrs(&["never-set"]).unwrap();
    cont.delete_attrs(&["a", "c"]).unwrap();
    assert_eq!(cont.get_attr("c").unwrap(), None);
}

#[test]
fn invalid_attributes_are_refused() {
    let c = TempContainer::plain("badattr");
    let cont = c.open();
    let long = "n".repeat(512);
    for (name, value) in [
        ("", &b"v"[..]),
        ("empty", &b""[..]),
        (long.as_str(), &b"v"[..]),
        ("nul\0", &b"v"[..]),
    ] {
        let err = cont.set_attrs(&[(name, value)]).unwrap_err();
        assert!(err.is_invalid(), "{name:?}: {err}");
    }
    assert!(cont.get_attrs(&[]).unwrap_err().is_invalid());
    assert!(cont.delete_attrs(&[""]).unwrap_err().is_invalid());
    // 511 bytes is the longest name DAOS accepts.
    let longest = "n".repeat(511);
    cont.set_attr(&longest, b"ok").unwrap();
    assert_eq!(
        cont.get_attr(&longest).unwrap().as_deref(),
        Some(&b"ok"[..])
    );
}

/// DAOS refuses attribute updates through a handle without write capability
/// (`cont_attr_set` in `src/container/srv_container.c` checks `ds_sec_cont_can_write_data`).
#[test]
fn attributes_need_a_read_write_handle_to_change() {
    let c = TempContainer::plain("roattr");
    let ro = c
        .pool
        .open_container(&c.label, ContainerAccess::ReadOnly)
        .unwrap();
    let err = ro.set_attr("x", b"y").unwrap_err();
    assert!(err.is_no_permission(), "{err}");
}

#[test]
fn snapshots_create_list_destroy() {
    let c = TempContainer::plain("snap");
    let cont = c.open();
    assert!(cont.list_snapshots().unwrap().is_empty());
    let e1 = cont.create_snapshot().unwrap();
    let e2 = cont.create_snapshot().unwrap();
    assert!(e2 > e1, "epochs grow: {e1} {e2}");
    assert_eq!(cont.list_snapshots().unwrap(), vec![e1, e2]);
    let info = cont.query().unwrap();
    assert_eq!(info.nsnapshots, 2);
    assert_eq!(info.latest_snapshot, Some(e2));
    let age = std::time::SystemTime::now()
        .duration_since(e1.to_system_time())
        .unwrap_or_default();
    assert!(
        age < std::time::Duration::from_secs(600),
        "epoch time is close to now: {age:?}"
    );
    cont.destroy_snapshot(e1).unwrap();
    assert_eq!(cont.list_snapshots().unwrap(), vec![e2]);
    let err = cont.destroy_snapshot(e1).unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert!(cont.destroy_snapshot(Epoch(0)).unwrap_err().is_invalid());
    cont.destroy_snapshot(e2).unwrap();
    assert!(cont.list_snapshots().unwrap().is_empty());
}

#[test]
fn native_snapshot_names_are_not_supported() {
    let c = TempContainer::plain("nosys");
    let cont = c.open();
    let err = cont.create_snapshot_with_native_name("mine").unwrap_err();
    assert!(err.is_not_supported(), "{err}");
    assert_eq!(err.der(), Some(Der::Nosys));
    assert!(
        cont.list_snapshots().unwrap().is_empty(),
        "nothing was created"
    );
}

#[test]
fn named_snapshots_through_attributes() {
    let c = TempContainer::plain("named");
    let cont = c.open();
    let plain = cont.create_snapshot().unwrap();
    let nightly = cont.create_named_snapshot("nightly").unwrap();
    let weekly = cont.create_named_snapshot("weekly").unwrap();
    assert_eq!(cont.find_snapshot("nightly").unwrap(), Some(nightly));
    assert_eq!(cont.find_snapshot("absent").unwrap(), None);
    let err = cont.create_named_snapshot("nightly").unwrap_err();
    assert!(err.is_exists(), "{err}");
    let listed = cont.list_named_snapshots().unwrap();
    let names: Vec<(Epoch, Option<&str>)> = listed
        .iter()
        .map(|s| (s.epoch, s.name.as_deref()))
        .collect();
    assert_eq!(
        names,
        vec![
            (plain, None),
            (nightly, Some("nightly")),
            (weekly, Some("weekly"))
        ]
    );
    // The name lives in an attribute named after the epoch.
    let attr = daos::snapshot::snapshot_attr_name(nightly);
    assert_eq!(
        cont.get_attr(&attr).unwrap().as_deref(),
        Some(&b"nightly"[..])
    );
    cont.destroy_snapshot(nightly).unwrap();
    assert_eq!(
        cont.get_attr(&attr).unwrap(),
        None,
        "the name goes with the snapshot"
    );
    assert_eq!(cont.find_snapshot("nightly").unwrap(), None);
    // A stale name (snapshot destroyed behind our back) is ignored.
    cont.set_attr(&daos::snapshot::snapshot_attr_name(Epoch(12345)), b"ghost")
        .unwrap();
    assert_eq!(cont.find_snapshot("ghost").unwrap(), None);
    assert!(cont.create_named_snapshot("").unwrap_err().is_invalid());
}

#[test]
fn snapshots_need_a_read_write_handle() {
    let c = TempContainer::plain("rosnap");
    let ro = c
        .pool
        .open_container(&c.label, ContainerAccess::ReadOnly)
        .unwrap();
    let err = ro.create_snapshot().unwrap_err();
    assert!(err.is_no_permission(), "{err}");
}
