//! Which DAOS the tests run against, and what the machine must allow.

use daos_test_harness::TestSystem;
use std::ops::Deref;
use std::path::Path;

/// The DAOS system a test uses: a private emulated one (its own agent, pool `tank`), or the real
/// pool named by `DAOS_TEST_POOL`, shared by every test of the process.
pub enum DaosSystem {
    Emulated(TestSystem),
    Real(&'static TestSystem),
}

impl Deref for DaosSystem {
    type Target = TestSystem;
    fn deref(&self) -> &TestSystem {
        match self {
            DaosSystem::Emulated(system) => system,
            DaosSystem::Real(system) => system,
        }
    }
}

impl DaosSystem {
    pub fn is_emulated(&self) -> bool {
        self.emulated
    }

    /// One line saying what this test runs against, printed by every test.
    pub fn describe(&self) -> String {
        if self.emulated {
            format!(
                "emulated DAOS (agent dir {}, pool {}, dfuse {})",
                self.agent_dir.display(),
                self.pool,
                self.dfuse_path().display()
            )
        } else {
            format!(
                "REAL DAOS (pool {}, agent dir {}, dfuse {})",
                self.pool,
                self.agent_dir.display(),
                self.dfuse_path().display()
            )
        }
    }
}

/// True when `DAOS_TEST_POOL` names a real pool to run against.
pub fn real_daos_requested() -> bool {
    std::env::var("DAOS_TEST_POOL").is_ok_and(|pool| !pool.is_empty())
}

/// The system for one test (or test group): a fresh emulated system with a pool of
/// `pool_size`, or the real pool when `DAOS_TEST_POOL` is set.
pub fn daos_system(pool_size: &str) -> DaosSystem {
    if real_daos_requested() {
        DaosSystem::Real(daos_test_harness::system())
    } else {
        DaosSystem::Emulated(daos_test_harness::private_system(pool_size))
    }
}

fn is_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| value == "true")
}

/// Mounting FUSE file systems needs root and /dev/fuse. Under CI a machine without them is a
/// broken test environment and the test fails; elsewhere the test prints `SKIP:` and returns
/// false.
pub fn privileged_or_skip(test: &str) -> bool {
    let mut missing = Vec::new();
    if !nix::unistd::geteuid().is_root() {
        missing.push("root");
    }
    if !Path::new("/dev/fuse").exists() {
        missing.push("/dev/fuse");
    }
    if missing.is_empty() {
        return true;
    }
    let reason = format!("{test} needs {}", missing.join(" and "));
    if is_ci() {
        panic!("{reason}, which CI (CI=true) must provide");
    }
    println!("SKIP: {reason}");
    false
}

/// Tests that stop the agent or inject faults can only run on the emulator.
pub fn emulator_only_or_skip(test: &str) -> bool {
    if real_daos_requested() {
        println!("SKIP: {test} stops the DAOS agent, which only the emulator allows");
        return false;
    }
    true
}

/// Says once per test process, on the real stderr (not captured by the test runner), what the
/// tests run against, so every test log shows it.
pub fn announce_once(system: &DaosSystem) {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        use std::io::Write;
        let what = if system.is_emulated() && !real_daos_requested() {
            "the DAOS EMULATOR (a private emulated system per test)".to_string()
        } else {
            format!(
                "{} DAOS pool {} (agent dir {}), dfuse {}",
                if system.is_emulated() {
                    "an external emulated"
                } else {
                    "a REAL"
                },
                system.pool,
                system.agent_dir.display(),
                system.dfuse_path().display()
            )
        };
        let _ = writeln!(std::io::stderr(), "daos-csi e2e: running against {what}");
    });
}
