//! DFS as a library for long-running tools: mounts that own what they need.

mod common;

use common::TempContainer;
use daos::{ContainerAccess, Dfs};

/// A tool's state: a mount kept beside other fields, outliving the `Container` it came from.
struct Tool {
    fs: Dfs,
    written: usize,
}

#[test]
fn a_mount_owns_its_container_and_moves_into_threads_and_tasks() {
    let c = TempContainer::posix("owned");
    let mut tool = {
        let cont = c.open();
        let fs = cont.mount_dfs(ContainerAccess::ReadWrite).unwrap();
        // The container value goes away; the mount keeps the handle open.
        drop(cont);
        Tool { fs, written: 0 }
    };
    tool.fs.write_file("/a", b"from a struct").unwrap();
    tool.written += 1;
    let fs = tool.fs.clone();
    std::thread::spawn(move || fs.write_file("/b", b"from a thread"))
        .join()
        .unwrap()
        .unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let fs = tool.fs.clone();
    let listed = rt.block_on(async move {
        tokio::task::spawn_blocking(move || fs.read_dir("/"))
            .await
            .unwrap()
    });
    assert_eq!(listed.unwrap().len(), 2);
    assert_eq!(tool.written, 1);

    // The container cannot be closed under the mount; the last clone unmounts.
    let cont = tool.fs.container().clone();
    let busy = cont.close().unwrap_err();
    assert!(busy.is_busy(), "{busy}");
    let other = tool.fs.clone();
    let err = other.unmount().unwrap_err();
    assert!(err.is_busy() && !err.is_from_daos(), "{err}");
    tool.fs.unmount().unwrap();
    // Everything released: the container can be destroyed without force.
    c.pool.destroy_container(&c.label, false).unwrap();
}
