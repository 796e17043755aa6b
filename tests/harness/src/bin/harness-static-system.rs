//! Starts the harness's static emulated system (`daos_test_harness::system()`), says where it
//! lives and exits: the process whose exit `tests/cleanup.rs` checks cleans up after it.

fn main() {
    let system = daos_test_harness::system();
    if !(system.emulated && system.agent_socket().exists()) {
        eprintln!("the static system is not a running emulated one");
        std::process::exit(1);
    }
    println!("AGENT_DIR={}", system.agent_dir.display());
}
