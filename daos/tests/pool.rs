//! Pools: connect, query, list containers, create/destroy/open containers, and their errors.

mod common;

use common::{TempContainer, daos, pool};
use daos::{
    ContainerAccess, ContainerRef, Daos, Der, Destroy, Pool, PoolAccess, PropType, Properties,
};
use daos_test_harness::unique_label;

#[test]
fn connect_by_label_and_by_uuid_reach_the_same_pool() {
    let (sys, daos) = daos();
    let by_label = Pool::connect(&daos, &sys.pool, None, PoolAccess::ReadOnly).unwrap();
    let by_uuid = Pool::connect(
        &daos,
        &by_label.uuid().to_string(),
        None,
        PoolAccess::ReadOnly,
    )
    .unwrap();
    assert_eq!(by_label.uuid(), by_uuid.uuid());
    assert!(!by_label.uuid().is_nil());
    if !daos::label::is_uuid_string(&sys.pool) {
        assert_eq!(by_label.label(), Some(sys.pool.as_str()));
    }
    assert_eq!(by_uuid.label(), None);
    assert_eq!(by_label.access(), PoolAccess::ReadOnly);
    assert_eq!(by_label.system(), None);
    assert!(daos::sys::daos_handle_is_valid(by_label.raw_handle()));
    by_uuid.disconnect().unwrap();
    by_label.disconnect().unwrap();
}

#[test]
fn system_names() {
    let (sys, daos) = daos();
    assert!(matches!(Daos::api_version(), "2.6" | "2.8"));
    // The default DAOS system name, unless the real system under test is named otherwise.
    let name = std::env::var("DAOS_TEST_SYSTEM").unwrap_or_else(|_| "daos_server".to_string());
    let pool = Pool::connect(&daos, &sys.pool, Some(&name), PoolAccess::ReadOnly).unwrap();
    assert_eq!(pool.system(), Some(name.as_str()));
    // DAOS system names are at most 15 characters.
    assert!(
        Pool::connect(
            &daos,
            &sys.pool,
            Some("a-much-too-long-system-name"),
            PoolAccess::ReadOnly
        )
        .is_err()
    );
}

#[test]
fn connect_to_a_missing_pool_is_not_found() {
    let (_, daos) = daos();
    let err = Pool::connect(
        &daos,
        &unique_label("no-such-pool"),
        None,
        PoolAccess::ReadOnly,
    )
    .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert_eq!(err.op(), "daos_pool_connect2");
    let err = Pool::connect(
        &daos,
        "6d6d7b2a-0000-4000-8000-000000000001",
        None,
        PoolAccess::ReadOnly,
    )
    .unwrap_err();
    assert!(err.is_not_found(), "{err}");
}

#[test]
fn connect_with_an_invalid_pool_name_is_invalid() {
    let (_, daos) = daos();
    for bad in ["", "bad name", "a/b", "pool\0x"] {
        let err = Pool::connect(&daos, bad, None, PoolAccess::ReadOnly).unwrap_err();
        assert!(err.is_invalid(), "{bad:?}: {err}");
        assert_eq!(err.der(), Some(Der::Inval));
    }
}

#[test]
fn query_reports_consistent_space() {
    let pool = pool();
    let info = pool.query().unwrap();
    assert_eq!(info.uuid, pool.uuid());
    assert!(info.total_bytes > 0);
    assert!(info.free_bytes <= info.total_bytes);
    assert_eq!(info.total_bytes, info.scm_total + info.nvme_total);
    assert_eq!(info.free_bytes, info.scm_free + info.nvme_free);
    assert!(info.ntargets > 0);
    assert!(info.nnodes > 0);
    assert_eq!(info.label.as_deref(), pool.label());
}

#[test]
fn created_containers_are_listed_and_destroyed_ones_are_not() {
    let pool = pool();
    let a = TempContainer::plain("list-a");
    let b = TempContainer::plain("list-b");
    let listed = pool.list_containers().unwrap();
    for c in [&a, &b] {
        let entry = listed
            .iter()
            .find(|e| e.uuid == c.uuid)
            .unwrap_or_else(|| panic!("{} not listed", c.label));
        assert_eq!(entry.label.as_deref(), Some(c.label.as_str()));
    }
    pool.destroy_container(&a.label, Destroy::IfUnused).unwrap();
    let listed = pool.list_containers().unwrap();
    assert!(!listed.iter().any(|e| e.uuid == a.uuid));
    assert!(listed.iter().any(|e| e.uuid == b.uuid));
}

#[test]
fn container_count_follows_creates_and_destroys() {
    let (sys, daos) = common::daos();
    // Other tests share the system pool; on the emulator a pool of our own gives exact counts.
    let pool = if sys.emulated {
        let label = unique_label("count-pool");
        sys.create_pool(&label, "1GiB");
        Pool::connect(&daos, &label, None, PoolAccess::ReadWrite).unwrap()
    } else {
        pool()
    };
    let before = pool.container_count().unwrap();
    let a = unique_label("count-a");
    let b = unique_label("count-b");
    pool.create_container(&a, &Properties::new()).unwrap();
    pool.create_container(&b, &Properties::new()).unwrap();
    let after = pool.container_count().unwrap();
    pool.destroy_container(&a, Destroy::Force).unwrap();
    let after_destroy = pool.container_count().unwrap();
    pool.destroy_container(&b, Destroy::Force).unwrap();
    if sys.emulated {
        assert_eq!((before, after, after_destroy), (0, 2, 1));
        assert_eq!(pool.container_count().unwrap(), 0);
    } else {
        assert!(after >= 2, "count {after} after creating two containers");
    }
}

#[test]
fn create_container_with_properties() {
    let pool = pool();
    let label = unique_label("props");
    let props = Properties::from_pairs(&[("rd_fac", "0"), ("max_snapshot", "5")]).unwrap();
    let uuid = pool.create_container(&label, &props).unwrap();
    let cont = pool
        .open_container(&label, ContainerAccess::ReadOnly)
        .unwrap();
    assert_eq!(cont.uuid(), uuid);
    let got = cont.properties().unwrap();
    assert_eq!(got.get_label(), Some(label.as_str()));
    assert_eq!(got.get_u64(PropType::REDUN_FAC), Some(0));
    assert_eq!(got.get_u64(PropType::SNAPSHOT_MAX), Some(5));
    drop(cont);
    pool.destroy_container(&label, Destroy::IfUnused).unwrap();
}

#[test]
fn duplicate_label_is_exists() {
    let pool = pool();
    let c = TempContainer::plain("dup");
    let err = pool
        .create_container(&c.label, &Properties::new())
        .unwrap_err();
    assert!(err.is_exists(), "{err}");
    assert_eq!(err.name(), "DER_EXIST");
}

#[test]
fn invalid_labels_are_refused_before_reaching_daos() {
    let pool = pool();
    let uuid_shaped = "0b7f4bd2-6c0e-4f7e-9e3a-3c1f3e6f8a10";
    let too_long = "x".repeat(128);
    for bad in [
        "",
        "has space",
        "slash/",
        uuid_shaped,
        &too_long,
        "container_label_not_set",
    ] {
        let err = pool.create_container(bad, &Properties::new()).unwrap_err();
        assert!(err.is_invalid(), "{bad:?}: {err}");
    }
    let err = pool
        .create_container("ok", &Properties::new().label("other"))
        .unwrap_err();
    assert!(err.is_invalid(), "{err}");
}

#[test]
fn destroy_missing_container_is_not_found() {
    let pool = pool();
    let err = pool
        .destroy_container(&unique_label("gone"), Destroy::IfUnused)
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    let err = pool
        .destroy_container("bad label!", Destroy::IfUnused)
        .unwrap_err();
    assert!(err.is_invalid(), "{err}");
}

#[test]
fn destroy_of_an_open_container_is_busy_unless_forced() {
    let pool = pool();
    let c = TempContainer::plain("busy");
    let open = c.open();
    let err = pool
        .destroy_container(&c.label, Destroy::IfUnused)
        .unwrap_err();
    assert!(err.is_busy(), "{err}");
    assert!(
        pool.list_containers()
            .unwrap()
            .iter()
            .any(|e| e.uuid == c.uuid)
    );
    pool.destroy_container(&c.label, Destroy::Force).unwrap();
    assert!(
        !pool
            .list_containers()
            .unwrap()
            .iter()
            .any(|e| e.uuid == c.uuid)
    );
    // The evicted handle is dead; dropping it must not crash (the close failure is logged).
    drop(open);
}

#[test]
fn open_missing_container_is_not_found() {
    let pool = pool();
    let err = pool
        .open_container(&unique_label("nothing"), ContainerAccess::ReadOnly)
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert_eq!(err.op(), "daos_cont_open2");
    let err = pool
        .open_container("no such/label", ContainerAccess::ReadOnly)
        .unwrap_err();
    assert!(err.is_invalid(), "{err}");
}

#[test]
fn disconnect_is_busy_while_containers_or_clones_are_alive() {
    let (sys, daos) = daos();
    let pool = Pool::connect(&daos, &sys.pool, None, PoolAccess::ReadWrite).unwrap();
    let c = TempContainer::plain("hold");
    let cont = pool
        .open_container(&c.label, ContainerAccess::ReadOnly)
        .unwrap();
    let err = pool.clone().disconnect().unwrap_err();
    assert!(err.is_busy(), "{err}");
    // The container keeps the connection usable after the failed disconnect of a clone.
    assert_eq!(cont.query().unwrap().uuid, c.uuid);
    assert_eq!(cont.pool().uuid(), pool.uuid());
    drop(cont);
    pool.disconnect().unwrap();
}

#[test]
fn read_only_pool_connection_cannot_create_containers() {
    let (sys, daos) = daos();
    let ro = Pool::connect(&daos, &sys.pool, None, PoolAccess::ReadOnly).unwrap();
    let err = ro
        .create_container(&unique_label("ro"), &Properties::new())
        .unwrap_err();
    assert!(err.is_no_permission(), "{err}");
}

#[test]
fn errors_name_the_system_and_quote_names() {
    let (sys, daos) = daos();
    let err = Pool::connect(&daos, &sys.pool, Some("nosuch"), PoolAccess::ReadOnly).unwrap_err();
    assert!(err.is_from_daos(), "{err}");
    assert_eq!(err.op(), "daos_pool_connect2");
    let msg = err.to_string();
    assert!(msg.contains("in system \"nosuch\""), "{msg}");
    assert!(msg.contains(&format!("pool {:?}", sys.pool)), "{msg}");

    let pool = pool();
    let name = unique_label("absent");
    let quoted = format!("container {name:?} in pool {:?}", sys.pool);
    let err = pool
        .open_container(&name, ContainerAccess::ReadOnly)
        .unwrap_err();
    assert!(err.to_string().contains(&quoted), "{err}");
    let err = pool
        .destroy_container(&name, Destroy::IfUnused)
        .unwrap_err();
    assert!(err.to_string().contains(&quoted), "{err}");
    let c = TempContainer::plain("dup");
    let err = pool
        .create_container(&c.label, &Properties::new())
        .unwrap_err();
    assert!(
        err.to_string()
            .contains(&format!("container {:?} in pool {:?}", c.label, sys.pool)),
        "{err}"
    );
}

#[test]
fn argument_errors_name_the_rust_method_not_an_uncalled_c_function() {
    let (sys, daos) = daos();
    let pool = pool();
    let cases: Vec<(daos::Error, &str, &str)> = vec![
        (
            Pool::connect(&daos, "bad name", None, PoolAccess::ReadOnly).unwrap_err(),
            "Pool::connect",
            "pool \"bad name\"",
        ),
        (
            Pool::connect(&daos, &sys.pool, Some("sys\0x"), PoolAccess::ReadOnly).unwrap_err(),
            "Pool::connect",
            "system name \"sys\\0x\"",
        ),
        (
            pool.create_container("bad label", &Properties::new())
                .unwrap_err(),
            "Pool::create_container",
            "\"bad label\"",
        ),
        (
            pool.open_container("bad label", ContainerAccess::ReadOnly)
                .unwrap_err(),
            "Pool::open_container",
            "container \"bad label\"",
        ),
        (
            pool.destroy_container("bad label", Destroy::IfUnused)
                .unwrap_err(),
            "Pool::destroy_container",
            "container \"bad label\"",
        ),
        (
            Properties::from_pairs(&[("no_such_prop", "1")]).unwrap_err(),
            "Properties::from_pairs",
            "\"no_such_prop\"",
        ),
        (
            pool.clone().disconnect().unwrap_err(),
            "Pool::disconnect",
            "other clones",
        ),
    ];
    for (err, op, names) in cases {
        assert!(!err.is_from_daos(), "{err}");
        assert_eq!(err.op(), op, "{err}");
        let msg = err.to_string();
        assert!(msg.contains(names), "{msg}");
        assert!(msg.contains("not returned by DAOS"), "{msg}");
        assert!(!msg.contains("daos_"), "names a C function: {msg}");
    }
}

#[test]
fn containers_are_named_by_label_uuid_listing_entry_or_handle() {
    let (sys, daos) = daos();
    let pool = pool();
    let c = TempContainer::plain("refs");
    let label: &str = &c.label;
    let uuid_string = c.uuid.to_string();
    let entry = pool
        .list_containers()
        .unwrap()
        .into_iter()
        .find(|e| e.uuid == c.uuid)
        .unwrap();
    let opened = vec![
        pool.open_container(label, ContainerAccess::ReadOnly),
        pool.open_container(&c.label, ContainerAccess::ReadOnly),
        pool.open_container(c.uuid, ContainerAccess::ReadOnly),
        pool.open_container(&uuid_string, ContainerAccess::ReadOnly),
        pool.open_container(&entry, ContainerAccess::ReadOnly),
        pool.open_container(ContainerRef::from(&c.uuid), ContainerAccess::ReadOnly),
    ];
    for cont in opened {
        assert_eq!(cont.unwrap().uuid(), c.uuid);
    }
    let handle = c.open();
    assert_eq!(
        pool.open_container(&handle, ContainerAccess::ReadOnly)
            .unwrap()
            .uuid(),
        c.uuid
    );
    // Pools too: by UUID and by label.
    let by_uuid = Pool::connect(&daos, pool.uuid(), None, PoolAccess::ReadOnly).unwrap();
    assert_eq!(by_uuid.uuid(), pool.uuid());
    assert!(Pool::connect(&daos, &sys.pool, None, PoolAccess::ReadOnly).is_ok());

    // Destroy by UUID: refused while open unless forced.
    let err = pool
        .destroy_container(c.uuid, Destroy::IfUnused)
        .unwrap_err();
    assert!(err.is_busy(), "{err}");
    pool.destroy_container(c.uuid, Destroy::Force).unwrap();
    let err = pool
        .open_container(&entry, ContainerAccess::ReadOnly)
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert_eq!(Destroy::default(), Destroy::IfUnused);
    assert_eq!(Destroy::from(true), Destroy::Force);
}
