//! Asynchronous operations through an event queue: every async form, errors, 1,000
//! operations in flight, dropped futures, and use from a tokio runtime.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{TempContainer, daos, pool};
use daos::{ContainerAccess, Destroy, EventQueue, Pool, PoolAccess, Properties};
use daos_test_harness::unique_label;
use futures::executor::block_on;
use futures::future::join_all;

/// Waits until the queue has freed every operation (a future resolves just before its
/// operation is freed).
fn wait_drained(eq: &EventQueue) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while eq.in_flight() > 0 {
        assert!(
            Instant::now() < deadline,
            "operations never completed: {eq:?}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn event_queue() -> Arc<EventQueue> {
    let (_, daos) = daos();
    EventQueue::new(&daos).expect("daos_eq_create")
}

#[test]
fn every_async_form_works() {
    let (sys, _) = daos();
    let eq = event_queue();
    block_on(async {
        let pool = Pool::connect_async(&eq, &sys.pool, None, PoolAccess::ReadWrite)
            .await
            .unwrap();
        let info = pool.query_async(&eq).await.unwrap();
        assert!(info.total_bytes > 0);

        let label = unique_label("async");
        let uuid = pool
            .create_container_async(&eq, &label, &Properties::new())
            .await
            .unwrap();
        assert!(
            pool.list_containers_async(&eq)
                .await
                .unwrap()
                .iter()
                .any(|e| e.uuid == uuid)
        );

        let cont = pool
            .open_container_async(&eq, &label, ContainerAccess::ReadWrite)
            .await
            .unwrap();
        assert_eq!(cont.uuid(), uuid);
        let info = cont.query_async(&eq).await.unwrap();
        assert_eq!(info.label.as_deref(), Some(label.as_str()));

        cont.set_attrs_async(&eq, &[("k1", b"v1"), ("k2", b"v2")])
            .await
            .unwrap();
        assert_eq!(
            cont.get_attrs_async(&eq, &["k2", "nope", "k1"])
                .await
                .unwrap(),
            vec![Some(b"v2".to_vec()), None, Some(b"v1".to_vec())]
        );
        let names = cont.list_attrs_async(&eq).await.unwrap();
        assert!(names.contains(&"k1".to_string()) && names.contains(&"k2".to_string()));
        cont.delete_attrs_async(&eq, &["k1"]).await.unwrap();
        assert_eq!(
            cont.get_attrs_async(&eq, &["k1"]).await.unwrap(),
            vec![None]
        );

        let e1 = cont.create_snapshot_async(&eq).await.unwrap();
        let e2 = cont.create_snapshot_async(&eq).await.unwrap();
        assert_eq!(cont.list_snapshots_async(&eq).await.unwrap(), vec![e1, e2]);
        cont.destroy_snapshot_async(&eq, e1).await.unwrap();
        assert_eq!(cont.list_snapshots_async(&eq).await.unwrap(), vec![e2]);

        cont.close_async(&eq).await.unwrap();
        pool.destroy_container_async(&eq, &label, Destroy::IfUnused)
            .await
            .unwrap();
        assert!(
            !pool
                .list_containers_async(&eq)
                .await
                .unwrap()
                .iter()
                .any(|e| e.uuid == uuid)
        );
    });
    wait_drained(&eq);
}

#[test]
fn async_errors_match_blocking_errors() {
    let (sys, _) = daos();
    let eq = event_queue();
    let pool = pool();
    block_on(async {
        let err = Pool::connect_async(&eq, &unique_label("nopool"), None, PoolAccess::ReadOnly)
            .await
            .unwrap_err();
        assert!(err.is_not_found(), "{err}");
        let err = Pool::connect_async(&eq, "bad name", None, PoolAccess::ReadOnly)
            .await
            .unwrap_err();
        assert!(err.is_invalid(), "{err}");
        let err = pool
            .open_container_async(&eq, &unique_label("nocont"), ContainerAccess::ReadOnly)
            .await
            .unwrap_err();
        assert!(err.is_not_found(), "{err}");
        let c = TempContainer::plain("asyncerr");
        let err = pool
            .create_container_async(&eq, &c.label, &Properties::new())
            .await
            .unwrap_err();
        assert!(err.is_exists(), "{err}");
        let err = pool
            .create_container_async(&eq, "in valid", &Properties::new())
            .await
            .unwrap_err();
        assert!(err.is_invalid(), "{err}");
        let cont = c.open();
        let err = pool
            .destroy_container_async(&eq, &c.label, Destroy::IfUnused)
            .await
            .unwrap_err();
        assert!(err.is_busy(), "{err}");
        let err = cont.set_attrs_async(&eq, &[("x", b"")]).await.unwrap_err();
        assert!(err.is_invalid(), "{err}");
        let err = cont
            .destroy_snapshot_async(&eq, daos::Epoch(77))
            .await
            .unwrap_err();
        assert!(err.is_not_found(), "{err}");
        let err = cont.clone().close_async(&eq).await.unwrap_err();
        assert!(err.is_busy(), "{err}");
        let _ = sys;
    });
}

#[test]
fn a_thousand_operations_in_flight_on_one_queue() {
    const N: usize = 1000;
    let eq = event_queue();
    let c = TempContainer::plain("thousand");
    let cont = c.open();
    let values: Vec<(String, Vec<u8>)> = (0..N)
        .map(|i| {
            (
                format!("attr-{i}"),
                format!("value-{i}-{}", i * 7919).into_bytes(),
            )
        })
        .collect();

    // The set operations are submitted when created, before anything is awaited.
    let sets: Vec<_> = values
        .iter()
        .map(|(k, v)| cont.set_attrs_async(&eq, &[(k.as_str(), v.as_slice())]))
        .collect();
    let queries: Vec<_> = (0..N).map(|_| cont.query_async(&eq)).collect();
    let peak = eq.in_flight();
    let (set_results, query_results) =
        block_on(futures::future::join(join_all(sets), join_all(queries)));
    assert_eq!(set_results.len(), N);
    for r in set_results {
        r.unwrap();
    }
    for q in query_results {
        assert_eq!(q.unwrap().uuid, c.uuid);
    }

    // Reads, all polled together, each with its own buffers.
    let gets = values
        .iter()
        .map(|(k, _)| cont.get_attrs_async(&eq, &[k.as_str()]));
    let got = block_on(join_all(gets));
    for ((k, v), g) in values.iter().zip(got) {
        assert_eq!(g.unwrap(), vec![Some(v.clone())], "{k}");
    }
    wait_drained(&eq);
    eprintln!("peak in flight: {peak}");
}

#[test]
fn dropped_futures_still_complete_and_release_their_memory() {
    let (sys, daos) = daos();
    let eq = EventQueue::new(&daos).unwrap();
    // A private connection: disconnect succeeds only once no operation holds a clone.
    let pool = Pool::connect(&daos, &sys.pool, None, PoolAccess::ReadWrite).unwrap();
    let labels: Vec<String> = (0..20).map(|_| unique_label("dropped")).collect();
    for label in &labels {
        drop(pool.create_container_async(&eq, label, &Properties::new()));
        drop(pool.query_async(&eq));
    }
    wait_drained(&eq);
    let listed = pool.list_containers().unwrap();
    for label in &labels {
        assert!(
            listed
                .iter()
                .any(|e| e.label.as_deref() == Some(label.as_str())),
            "{label} was not created"
        );
        pool.destroy_container(label, Destroy::IfUnused).unwrap();
    }
    pool.disconnect()
        .expect("no operation still holds the pool");
}

#[test]
fn futures_run_on_a_tokio_runtime() {
    let eq = event_queue();
    let c = TempContainer::plain("tokio");
    let cont = c.open();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let results = rt.block_on(async {
        let tasks: Vec<_> = (0..64)
            .map(|i| {
                let fut =
                    cont.set_attrs_async(&eq, &[(&format!("t{i}"), format!("{i}").as_bytes())]);
                tokio::spawn(fut)
            })
            .collect();
        let mut results = Vec::new();
        for t in tasks {
            results.push(t.await.unwrap());
        }
        results
    });
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(cont.get_attr("t63").unwrap().as_deref(), Some(&b"63"[..]));
}

#[test]
fn dropping_the_queue_with_nothing_in_flight_is_quick() {
    let eq = event_queue();
    block_on(pool().query_async(&eq)).unwrap();
    let start = Instant::now();
    drop(eq);
    assert!(start.elapsed() < Duration::from_secs(2));
}
