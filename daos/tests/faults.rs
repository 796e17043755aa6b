//! Behaviour that needs injected faults or delays (emulator only; on a real DAOS system each
//! test says it was not run). Faults are system-wide, so these tests run one at a time and live
//! in their own test binary.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{TempContainer, daos, fault_lock, inject, pool};
use daos::{ContainerAccess, Der, Destroy, EventQueue, Pool, PoolAccess, Properties};
use daos_test_harness::unique_label;
use futures::executor::block_on;

#[test]
fn no_space_is_reported() {
    let _serial = fault_lock();
    let (sys, _) = daos();
    let pool = pool();
    let Some(_fault) = inject(
        sys,
        "daos_cont_create_with_label",
        Some(Der::Nospace.rc()),
        Some(1),
        None,
    ) else {
        return;
    };
    let err = pool
        .create_container(&unique_label("full"), &Properties::new())
        .unwrap_err();
    assert!(err.is_no_space(), "{err}");
    // Only the first call was told to fail.
    let c = TempContainer::plain("notfull");
    assert!(!c.uuid.is_nil());
}

#[test]
fn dfs_write_without_space_is_no_space() {
    let _serial = fault_lock();
    let (sys, _) = daos();
    let c = TempContainer::posix("dfsfull");
    let cont = c.open();
    let fs = cont.mount_dfs(ContainerAccess::ReadWrite).unwrap();
    let Some(_fault) = inject(sys, "dfs_write", Some(Der::Nospace.rc()), None, None) else {
        return;
    };
    let err = fs.write_file("/f", b"data").unwrap_err();
    assert!(err.is_no_space(), "{err}");
}

#[test]
fn truncated_container_list_is_retried() {
    let _serial = fault_lock();
    let (sys, _) = daos();
    let c = TempContainer::plain("trunc");
    let Some(_fault) = inject(
        sys,
        "daos_pool_list_cont",
        Some(Der::Trunc.rc()),
        Some(2),
        None,
    ) else {
        return;
    };
    let listed = c.pool.list_containers().unwrap();
    assert!(listed.iter().any(|e| e.uuid == c.uuid));
}

#[test]
fn transient_errors_are_unavailable_and_pass() {
    let _serial = fault_lock();
    let (sys, _) = daos();
    let c = TempContainer::plain("unreach");
    let cont = c.open();
    let Some(_fault) = inject(
        sys,
        "daos_cont_query",
        Some(Der::Unreach.rc()),
        Some(1),
        None,
    ) else {
        return;
    };
    let err = cont.query().unwrap_err();
    assert!(err.is_unavailable(), "{err}");
    assert_eq!(cont.query().unwrap().uuid, c.uuid);
}

#[test]
fn operations_complete_out_of_order() {
    let _serial = fault_lock();
    let (sys, daos) = daos();
    let eq = EventQueue::new(&daos).unwrap();
    let c = TempContainer::plain("order");
    let cont = c.open();
    let Some(_fault) = inject(sys, "daos_cont_set_attr", None, None, Some(600)) else {
        return;
    };
    let order = Arc::new(Mutex::new(Vec::new()));
    let slow = {
        let order = Arc::clone(&order);
        let fut = cont.set_attrs_async(&eq, &[("slow", b"1")]);
        async move {
            fut.await.unwrap();
            order.lock().unwrap().push("slow");
        }
    };
    let fast: Vec<_> = (0..10)
        .map(|_| {
            let order = Arc::clone(&order);
            let fut = cont.query_async(&eq);
            async move {
                fut.await.unwrap();
                order.lock().unwrap().push("fast");
            }
        })
        .collect();
    assert!(eq.in_flight() >= 1);
    block_on(futures::future::join(slow, futures::future::join_all(fast)));
    let order = order.lock().unwrap();
    assert_eq!(order.len(), 11);
    assert_eq!(
        order.last(),
        Some(&"slow"),
        "the delayed operation finished last: {order:?}"
    );
    assert_eq!(cont.get_attr("slow").unwrap().as_deref(), Some(&b"1"[..]));
}

#[test]
fn dropped_future_completes_inside_daos_and_frees_its_operation() {
    let _serial = fault_lock();
    let (sys, daos) = daos();
    let eq = EventQueue::new(&daos).unwrap();
    let pool = Pool::connect(&daos, &sys.pool, None, PoolAccess::ReadWrite).unwrap();
    let label = unique_label("late");
    let Some(_fault) = inject(sys, "daos_cont_create_with_label", None, None, Some(500)) else {
        return;
    };
    drop(pool.create_container_async(&eq, &label, &Properties::new()));
    assert_eq!(
        eq.in_flight(),
        1,
        "still running inside DAOS after the drop"
    );
    // The operation holds a clone of the pool until it completes.
    let err = pool.clone().disconnect().unwrap_err();
    assert!(err.is_busy(), "{err}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while eq.in_flight() > 0 {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(
        pool.list_containers()
            .unwrap()
            .iter()
            .any(|e| e.label.as_deref() == Some(label.as_str()))
    );
    pool.destroy_container(&label, Destroy::IfUnused).unwrap();
    pool.disconnect()
        .expect("the completed operation released its pool clone");
}

/// Lists the pool until every label shows up (the operations creating them were abandoned),
/// then destroys them.
fn await_created_then_destroy(pool: &Pool, labels: &[String]) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let listed = pool.list_containers().unwrap();
        let missing: Vec<_> = labels
            .iter()
            .filter(|l| {
                !listed
                    .iter()
                    .any(|e| e.label.as_deref() == Some(l.as_str()))
            })
            .collect();
        if missing.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "never created: {missing:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    for l in labels {
        pool.destroy_container(l, Destroy::IfUnused).unwrap();
    }
}

/// Counts 10 ms ticks until `stop` is set: proof that the runtime thread was free meanwhile.
fn ticker(stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<u32> {
    tokio::spawn(async move {
        let mut ticks = 0;
        while !stop.load(Ordering::Relaxed) {
            tokio::time::sleep(Duration::from_millis(10)).await;
            ticks += 1;
        }
        ticks
    })
}

fn current_thread_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
}

#[test]
fn dropping_a_busy_queue_does_not_stall_a_current_thread_runtime() {
    let _serial = fault_lock();
    let (sys, daos) = daos();
    let pool = pool();
    let labels: Vec<String> = (0..5).map(|_| unique_label("drain")).collect();
    let Some(_fault) = inject(sys, "daos_cont_create_with_label", None, None, Some(700)) else {
        return;
    };
    let (drop_took, ticks) = current_thread_runtime().block_on(async {
        let eq = EventQueue::new(&daos).unwrap();
        let creates: Vec<_> = labels
            .iter()
            .map(|l| pool.create_container_async(&eq, l, &Properties::new()))
            .collect();
        assert_eq!(eq.in_flight(), labels.len());
        let stop = Arc::new(AtomicBool::new(false));
        let ticking = ticker(Arc::clone(&stop));
        tokio::task::yield_now().await;
        let start = Instant::now();
        drop(creates);
        drop(eq);
        let drop_took = start.elapsed();
        tokio::time::sleep(Duration::from_millis(300)).await;
        stop.store(true, Ordering::Relaxed);
        (drop_took, ticking.await.unwrap())
    });
    assert!(
        drop_took < Duration::from_millis(200),
        "drop blocked the runtime thread for {drop_took:?}"
    );
    assert!(ticks >= 10, "the other task ticked only {ticks} times");
    // The abandoned operations still ran to completion inside DAOS.
    await_created_then_destroy(&pool, &labels);
}

#[test]
fn close_waits_for_in_flight_operations_while_other_tasks_run() {
    let _serial = fault_lock();
    let (sys, daos) = daos();
    let pool = pool();
    let labels: Vec<String> = (0..3).map(|_| unique_label("close")).collect();
    let Some(_fault) = inject(sys, "daos_cont_create_with_label", None, None, Some(700)) else {
        return;
    };
    current_thread_runtime().block_on(async {
        let eq = EventQueue::new(&daos).unwrap();
        let mut creates: Vec<_> = labels
            .iter()
            .map(|l| pool.create_container_async(&eq, l, &Properties::new()))
            .collect();
        // One caller loses interest: its operation must still be waited for.
        drop(creates.pop());
        let stop = Arc::new(AtomicBool::new(false));
        let ticking = ticker(Arc::clone(&stop));
        let start = Instant::now();
        eq.close().await.expect("daos_eq_destroy");
        let waited = start.elapsed();
        stop.store(true, Ordering::Relaxed);
        let ticks = ticking.await.unwrap();
        assert!(
            waited >= Duration::from_millis(400),
            "close returned after {waited:?}, before the delayed operations finished"
        );
        assert!(ticks >= 20, "the other task ticked only {ticks} times");
        assert_eq!(eq.in_flight(), 0);
        for create in creates {
            assert!(!create.await.unwrap().is_nil());
        }
        // A closed queue refuses work, and closing again gives the same answer.
        let err = pool.query_async(&eq).await.unwrap_err();
        assert_eq!(err.der(), Some(Der::Shutdown), "{err}");
        eq.close().await.unwrap();
    });
    let listed = pool.list_containers().unwrap();
    for l in &labels {
        assert!(
            listed
                .iter()
                .any(|e| e.label.as_deref() == Some(l.as_str())),
            "{l}"
        );
    }
    await_created_then_destroy(&pool, &labels);
}

#[test]
fn close_blocking_returns_once_drained() {
    let _serial = fault_lock();
    let (sys, daos) = daos();
    let pool = pool();
    let label = unique_label("closeb");
    let Some(_fault) = inject(sys, "daos_cont_create_with_label", None, None, Some(500)) else {
        return;
    };
    let eq = EventQueue::new(&daos).unwrap();
    drop(pool.create_container_async(&eq, &label, &Properties::new()));
    let start = Instant::now();
    eq.close_blocking().unwrap();
    assert!(start.elapsed() >= Duration::from_millis(300));
    assert_eq!(eq.in_flight(), 0);
    assert!(
        pool.list_containers()
            .unwrap()
            .iter()
            .any(|e| e.label.as_deref() == Some(label.as_str()))
    );
    let err = block_on(pool.list_containers_async(&eq)).unwrap_err();
    assert_eq!(err.der(), Some(Der::Shutdown), "{err}");
    pool.destroy_container(&label, Destroy::IfUnused).unwrap();
}

#[test]
fn a_future_awaited_after_the_queue_is_gone_still_gets_its_result() {
    let _serial = fault_lock();
    let (sys, daos) = daos();
    let eq = EventQueue::new(&daos).unwrap();
    let c = TempContainer::plain("afterq");
    let cont = c.open();
    let Some(_fault) = inject(sys, "daos_cont_query", None, None, Some(300)) else {
        return;
    };
    let fut = cont.query_async(&eq);
    drop(eq);
    assert_eq!(block_on(fut).unwrap().uuid, c.uuid);
}

#[test]
fn a_thousand_delayed_operations_are_in_flight_together() {
    const N: usize = 1000;
    let _serial = fault_lock();
    let (sys, daos) = daos();
    let eq = EventQueue::new(&daos).unwrap();
    let c = TempContainer::plain("thousand-delayed");
    let cont = c.open();
    let Some(_fault) = inject(sys, "daos_cont_query", None, None, Some(3000)) else {
        return;
    };
    let start = Instant::now();
    let queries: Vec<_> = (0..N).map(|_| cont.query_async(&eq)).collect();
    let submitted = start.elapsed();
    if submitted < Duration::from_millis(2500) {
        assert_eq!(
            eq.in_flight(),
            N,
            "all {N} operations wait inside DAOS at once"
        );
    }
    let results = block_on(futures::future::join_all(queries));
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "the delays overlapped instead of adding up"
    );
    assert_eq!(results.len(), N);
    for r in results {
        assert_eq!(r.unwrap().uuid, c.uuid);
    }
}
