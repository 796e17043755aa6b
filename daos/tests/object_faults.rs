//! Object operations under injected delays and errors (emulator only; on a real DAOS system
//! each test says so and returns). A binary of its own: injected faults apply to every
//! operation of the test system, so they must not meet the other object tests.

mod common;

use std::sync::{Arc, Mutex};

use common::{TempContainer, daos, fault_lock, inject};
use daos::{Der, EventQueue, Extents, ObjectAccess, ObjectClass, ObjectType, Recx, Tx};
use futures::executor::block_on;
use futures::future::join_all;

#[test]
fn object_operations_complete_out_of_order() {
    let _serial = fault_lock();
    let (sys, daos) = daos();
    let eq = EventQueue::new(&daos).unwrap();
    let c = TempContainer::plain("objorder");
    let cont = c.open();
    let oid = cont
        .new_object_id(ObjectType::MultiHashed, ObjectClass::DEFAULT)
        .unwrap();
    let obj = cont.open_object(oid, ObjectAccess::ReadWrite).unwrap();
    let extents = Extents::new(1, vec![Recx::new(0, 4096)]);
    for i in 0..20u8 {
        obj.update_array(Tx::NONE, b"d", &[b'k', i], &extents, &[i; 4096])
            .unwrap();
    }
    // Only the first update from now on is slow.
    let Some(_fault) = inject(sys, "daos_obj_update", None, Some(1), Some(700)) else {
        return;
    };
    let order = Arc::new(Mutex::new(Vec::new()));
    let slow = {
        let order = Arc::clone(&order);
        let fut = obj.update_array_async(&eq, Tx::NONE, b"slow", b"a", &extents, vec![0xee; 4096]);
        async move {
            let given_back = fut.await.unwrap();
            order.lock().unwrap().push(usize::MAX);
            given_back
        }
    };
    let fast: Vec<_> = (0..20u8)
        .map(|i| {
            let order = Arc::clone(&order);
            let fut = obj.fetch_array_async(&eq, Tx::NONE, b"d", &[b'k', i], &extents, Vec::new());
            async move {
                let data = fut.await.unwrap();
                order.lock().unwrap().push(usize::from(i));
                data
            }
        })
        .collect();
    assert!(eq.in_flight() >= 1);
    let (given_back, fetched) = block_on(futures::future::join(slow, join_all(fast)));
    assert_eq!(
        given_back,
        vec![0xee; 4096],
        "the update's buffer survives the wait"
    );
    for (i, data) in fetched.into_iter().enumerate() {
        assert_eq!(data, vec![i as u8; 4096], "fetch {i}");
    }
    let order = order.lock().unwrap();
    assert_eq!(order.len(), 21);
    assert_eq!(
        order.last(),
        Some(&usize::MAX),
        "the delayed update, submitted first, finished last: {order:?}"
    );
    assert_eq!(
        obj.fetch_array(Tx::NONE, b"slow", b"a", &extents).unwrap(),
        vec![0xee; 4096]
    );
}

#[test]
fn a_failed_fetch_reaches_its_future_and_frees_its_buffer() {
    let _serial = fault_lock();
    let (sys, daos) = daos();
    let eq = EventQueue::new(&daos).unwrap();
    let c = TempContainer::plain("objfail");
    let cont = c.open();
    let oid = cont
        .new_object_id(ObjectType::MultiHashed, ObjectClass::DEFAULT)
        .unwrap();
    let obj = cont.open_object(oid, ObjectAccess::ReadWrite).unwrap();
    obj.update_single(Tx::NONE, b"d", b"a", b"value").unwrap();
    let Some(_fault) = inject(
        sys,
        "daos_obj_fetch",
        Some(Der::Unreach.rc()),
        Some(1),
        Some(200),
    ) else {
        return;
    };
    let err =
        block_on(obj.fetch_single_into_async(&eq, Tx::NONE, b"d", b"a", vec![0; 5])).unwrap_err();
    assert_eq!(err.der(), Some(Der::Unreach), "{err}");
    assert!(err.is_unavailable());
    // The fault was used up: the same call now succeeds.
    assert_eq!(
        block_on(obj.fetch_single_into_async(&eq, Tx::NONE, b"d", b"a", vec![0; 5])).unwrap(),
        Some(b"value".to_vec())
    );
    block_on(eq.close()).unwrap();
}

#[test]
fn a_dropped_update_still_writes_its_owned_buffer() {
    let _serial = fault_lock();
    let (sys, daos) = daos();
    let eq = EventQueue::new(&daos).unwrap();
    let c = TempContainer::plain("objdrop");
    let cont = c.open();
    let oid = cont
        .new_object_id(ObjectType::MultiHashed, ObjectClass::DEFAULT)
        .unwrap();
    let obj = cont.open_object(oid, ObjectAccess::ReadWrite).unwrap();
    let extents = Extents::new(1, vec![Recx::new(0, 1 << 20)]);
    let data: Vec<u8> = (0..1u32 << 20).map(|i| (i % 253) as u8).collect();
    let Some(_fault) = inject(sys, "daos_obj_update", None, Some(1), Some(500)) else {
        return;
    };
    let pending = obj.update_array_async(&eq, Tx::NONE, b"d", b"a", &extents, data.clone());
    let single = obj.update_single_async(&eq, Tx::NONE, b"d", b"s", b"kept".to_vec());
    drop(pending);
    drop(single);
    drop(obj);
    // Memory freed now would be reused by these and written over.
    let scribble: Vec<Vec<u8>> = (0..64).map(|_| vec![0xaa; 1 << 16]).collect();
    assert!(eq.in_flight() >= 1, "the delayed update still runs");
    block_on(eq.close()).unwrap();
    drop(scribble);

    let obj = cont.open_object(oid, ObjectAccess::ReadOnly).unwrap();
    assert_eq!(
        obj.fetch_array(Tx::NONE, b"d", b"a", &extents).unwrap(),
        data
    );
    assert_eq!(
        obj.fetch_single(Tx::NONE, b"d", b"s").unwrap().as_deref(),
        Some(&b"kept"[..])
    );
}
