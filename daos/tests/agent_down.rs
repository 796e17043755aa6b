//! libdaos without a reachable agent: `Daos::init` fails with an "unavailable" error and
//! succeeds once the agent is back. Its own test binary, because libdaos reads
//! DAOS_AGENT_DRPC_DIR at init and this test changes it; one test function, because the
//! environment is process-wide.

use std::os::unix::net::UnixListener;
use std::time::{Duration, Instant};

use daos::{Daos, Der, Pool, PoolAccess};
use daos_test_harness::{TestSystem, fresh_dir, private_system};

fn set_agent_dir(dir: &std::path::Path) {
    // SAFETY: this binary has one test, which runs alone and makes no DAOS call concurrently.
    unsafe { std::env::set_var("DAOS_AGENT_DRPC_DIR", dir) };
}

/// A working system: the real one configured for the tests, or a private emulated one.
fn working_system() -> (Option<TestSystem>, std::path::PathBuf, String) {
    match std::env::var("DAOS_TEST_POOL") {
        Ok(pool) if !pool.is_empty() => {
            let dir = std::env::var_os("DAOS_AGENT_DRPC_DIR")
                .map_or_else(|| "/var/run/daos_agent".into(), Into::into);
            (None, dir, pool)
        }
        _ => {
            let sys = private_system("1G");
            let (dir, pool) = (sys.agent_dir.clone(), sys.pool.clone());
            (Some(sys), dir, pool)
        }
    }
}

#[test]
fn init_fails_while_the_agent_is_unreachable_and_recovers() {
    let (emulated, good_dir, pool) = working_system();

    // 1. No socket at all (agent never started, wrong directory).
    let empty = fresh_dir("no-agent");
    set_agent_dir(&empty);
    let err = Daos::init().unwrap_err();
    assert!(err.is_unavailable(), "{err}");
    assert_eq!(err.op(), "daos_init");
    assert_eq!(err.der(), Some(Der::AgentComm), "{err}");
    let msg = err.to_string();
    let socket = empty.join("daos_agent.sock");
    assert!(
        msg.contains(&format!("{socket:?}")),
        "names the socket: {msg}"
    );
    assert!(msg.contains("does not exist"), "{msg}");
    assert!(msg.contains("DAOS_AGENT_DRPC_DIR points there"), "{msg}");

    // 2. A socket file nobody listens on (agent killed).
    let dead = fresh_dir("dead-agent");
    drop(UnixListener::bind(dead.join("daos_agent.sock")).unwrap());
    set_agent_dir(&dead);
    let err = Daos::init().unwrap_err();
    assert!(err.is_unavailable(), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains(&format!("{:?}", dead.join("daos_agent.sock"))),
        "{msg}"
    );
    assert!(msg.contains("refused the connection"), "{msg}");

    // 2b. No DAOS_AGENT_DRPC_DIR: the default path is named, with the variable to set.
    let default_socket = std::path::Path::new("/var/run/daos_agent/daos_agent.sock");
    if !default_socket.exists() {
        // SAFETY: as in set_agent_dir.
        unsafe { std::env::remove_var("DAOS_AGENT_DRPC_DIR") };
        let msg = Daos::init().unwrap_err().to_string();
        assert!(msg.contains(&format!("{default_socket:?}")), "{msg}");
        assert!(msg.contains("set DAOS_AGENT_DRPC_DIR"), "{msg}");
    }

    // 3. The agent is there: the same call, retried, now works.
    set_agent_dir(&good_dir);
    let daos = Daos::init().expect("init after the agent came up");
    let pool = Pool::connect(&daos, &pool, None, PoolAccess::ReadOnly).unwrap();
    assert!(pool.query().unwrap().total_bytes > 0);
    drop(pool);

    // 4. The agent goes away after init (emulator only): connects fail as unavailable until
    //    it is back.
    if let Some(sys) = &emulated {
        sys.stop_agent(false);
        let err = Pool::connect(&daos, &sys.pool, None, PoolAccess::ReadOnly).unwrap_err();
        assert!(err.is_unavailable(), "{err}");
        let socket = good_dir.join("daos_agent.sock");
        assert_eq!(daos.agent_socket().path, socket);
        assert!(
            err.to_string().contains(&format!("{socket:?}")),
            "a connect without an agent names its socket: {err}"
        );
        sys.start_agent();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match Pool::connect(&daos, &sys.pool, None, PoolAccess::ReadOnly) {
                Ok(_) => break,
                Err(e) if e.is_unavailable() && Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50))
                }
                Err(e) => panic!("{e}"),
            }
        }
    } else {
        eprintln!("real DAOS: the agent is not ours to stop; step 4 was not run");
    }
    drop(daos);

    // 5. After a full fini, init works again.
    let again = Daos::init().unwrap();
    drop(again);
    let _ = std::fs::remove_dir_all(&empty);
    let _ = std::fs::remove_dir_all(&dead);
}
