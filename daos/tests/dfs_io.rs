//! DFS as a library for long-running tools: mounts that own what they need, open files with
//! positioned, streaming and asynchronous I/O, and directory listings in batches.

mod common;

use std::io::{Read, Seek, SeekFrom, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{TempContainer, daos, fault_lock, inject, rw_mount};
use daos::{ContainerAccess, Der, Dfs, EventQueue, FileType};

/// Every test of this binary takes the fault lock: one of them injects a `dfs_write` fault,
/// and fault rules are system-wide.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    fault_lock()
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u64 * 31 + seed as u64) as u8)
        .collect()
}

/// A tool's state: a mount kept beside other fields, outliving the `Container` it came from.
struct Tool {
    fs: Dfs,
    written: usize,
}

#[test]
fn a_mount_owns_its_container_and_moves_into_threads_and_tasks() {
    let _serial = serial();
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

    // The container cannot be closed under the mount; an open file keeps the mount.
    let cont = tool.fs.container().clone();
    let busy = cont.close().unwrap_err();
    assert!(busy.is_busy(), "{busy}");
    let file = tool.fs.open_file("/a").unwrap();
    let other = tool.fs.clone();
    let err = other.unmount().unwrap_err();
    assert!(err.is_busy() && !err.is_from_daos(), "{err}");
    let err = tool.fs.unmount().unwrap_err();
    assert!(err.is_busy(), "the open file still uses the mount: {err}");
    // The file alone keeps the mount, and the mount the container, working.
    let mut back = String::new();
    let mut file = file;
    file.read_to_string(&mut back).unwrap();
    assert_eq!(back, "from a struct");
    drop(file);
    // Everything released: the container can be destroyed without force.
    c.pool.destroy_container(&c.label, false).unwrap();
}

#[test]
fn files_support_positioned_io_cursors_and_sizes() {
    let _serial = serial();
    let (_c, fs) = rw_mount("fileio");
    let f = fs.create_file("/f", 0o640).unwrap();
    assert_eq!(f.len().unwrap(), 0);
    assert!(f.is_empty().unwrap());
    f.write_at(b"hello world", 0).unwrap();
    f.write_at(b"HELLO", 0).unwrap();
    let mut buf = [0u8; 32];
    assert_eq!(f.read_at(&mut buf, 0).unwrap(), 11);
    assert_eq!(&buf[..11], b"HELLO world");
    assert_eq!(f.read_at(&mut buf, 6).unwrap(), 5, "short at the end");
    assert_eq!(f.read_at(&mut buf, 11).unwrap(), 0, "at the end");
    assert_eq!(f.read_at(&mut buf, 1 << 40).unwrap(), 0, "past the end");
    // A write past the end leaves a hole of zeros.
    f.write_at(b"!", 20).unwrap();
    assert_eq!(f.len().unwrap(), 21);
    assert_eq!(f.read_at(&mut buf, 11).unwrap(), 10);
    assert_eq!(&buf[..10], b"\0\0\0\0\0\0\0\0\0!");
    let md = f.metadata().unwrap();
    assert!(md.is_file());
    assert_eq!((md.size, md.permissions()), (21, 0o640));

    // Cursor I/O through std::io; clones have their own cursor.
    let mut w = fs.open_options().write(true).open("/f").unwrap();
    w.seek(SeekFrom::End(0)).unwrap();
    w.write_all(b"tail").unwrap();
    assert_eq!(w.position(), 25);
    let mut r = fs.open_file("/f").unwrap();
    r.seek(SeekFrom::Start(6)).unwrap();
    let mut word = [0u8; 5];
    r.read_exact(&mut word).unwrap();
    assert_eq!(&word, b"world");
    let mut r2 = r.clone();
    r2.seek(SeekFrom::Current(-5)).unwrap();
    assert_eq!(r2.position(), 6);
    assert_eq!(r.position(), 11);
    let mut rest = Vec::new();
    r.read_to_end(&mut rest).unwrap();
    assert_eq!(rest.len(), 14);
    assert!(rest.ends_with(b"!tail"));
    let err = r.seek(SeekFrom::Current(-100)).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);

    // Punch frees a range (zeros), reaching the end it truncates; set_len cuts and extends.
    f.punch(1, 3).unwrap();
    assert_eq!(f.read_at(&mut buf, 0).unwrap(), 25);
    assert_eq!(&buf[..6], b"H\0\0\0O ");
    f.punch(20, 100).unwrap();
    assert_eq!(f.len().unwrap(), 20, "a punch to the end truncates");
    f.punch(50, 10).unwrap();
    assert_eq!(f.len().unwrap(), 20, "past the end: nothing");
    f.set_len(5).unwrap();
    assert_eq!(f.len().unwrap(), 5);
    f.set_len(4096).unwrap();
    assert_eq!(f.len().unwrap(), 4096);
    assert_eq!(fs.stat("/f").unwrap().size, 4096);
    let err = f.punch(0, u64::MAX).unwrap_err();
    assert!(err.is_invalid() && !err.is_from_daos(), "{err}");
    assert_eq!(f.len().unwrap(), 4096, "the refused punch changed nothing");
}

#[test]
fn file_errors_name_what_refused_them() {
    let _serial = serial();
    let (c, fs) = rw_mount("fileerr");
    fs.write_file("/data", b"0123456789").unwrap();
    fs.mkdir("/dir", 0o755).unwrap();
    let ro = fs.open_file("/data").unwrap();
    let err = ro.write_at(b"x", 0).unwrap_err();
    assert!(err.is_no_permission(), "{err}");
    assert_eq!((err.op(), err.errno()), ("dfs_write", Some(libc::EPERM)));
    let err = ro.set_len(0).unwrap_err();
    assert!(err.is_no_permission(), "{err}");
    assert_eq!(fs.read_file("/data").unwrap(), b"0123456789");
    let mut ro_cursor = ro.clone();
    let err = ro_cursor.write(b"x").unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::PermissionDenied);

    // Offsets whose end does not fit are refused before any call.
    let err = ro.write_at(b"xy", u64::MAX).unwrap_err();
    assert!(err.is_invalid() && !err.is_from_daos(), "{err}");
    assert_eq!(err.op(), "File::write_at");
    let mut buf = [0u8; 4];
    let err = ro.read_at(&mut buf, u64::MAX - 1).unwrap_err();
    assert_eq!(err.op(), "File::read_at");

    let err = fs.open_file("/missing").unwrap_err();
    assert!(err.is_not_found(), "{err}");
    let err = fs.open_file("/dir").unwrap_err();
    // libdfs itself refuses it (open_file, src/client/dfs/obj.c), with EINVAL.
    assert!(
        err.is_invalid() && err.is_from_daos() && err.errno() == Some(libc::EINVAL),
        "a directory is not a file: {err}"
    );
    let err = fs.open_file("/").unwrap_err();
    assert!(err.is_invalid() && !err.is_from_daos(), "{err}");
    let err = fs
        .open_options()
        .write(true)
        .create_new(true)
        .open("/data")
        .unwrap_err();
    assert!(err.is_exists(), "{err}");
    let err = fs.open_options().create(true).open("/new").unwrap_err();
    assert!(
        err.is_invalid() && !err.is_from_daos(),
        "create needs write: {err}"
    );
    assert!(!fs.exists("/new").unwrap());
    let err = fs.open_options().read(false).open("/data").unwrap_err();
    assert!(err.is_invalid(), "{err}");

    // A read-only mount refuses write opens and creation.
    let ro_fs = c.open().mount_dfs(ContainerAccess::ReadOnly).unwrap();
    let err = ro_fs.create_file("/x", 0o644).unwrap_err();
    assert!(err.is_no_permission(), "{err}");
    let err = ro_fs.open_options().write(true).open("/data").unwrap_err();
    assert!(err.is_no_permission(), "{err}");
    assert_eq!(ro_fs.open_file("/data").unwrap().len().unwrap(), 10);
}

#[test]
fn asynchronous_reads_and_writes_complete_out_of_order_with_owned_buffers() {
    let _serial = serial();
    let (_c, fs) = rw_mount("asyncio");
    let (_, d) = daos();
    let eq = EventQueue::new(&d).unwrap();
    let f = fs.create_file("/f", 0o644).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        // Many writes in flight at once, then many reads.
        let writes: Vec<_> = (0..16u8)
            .map(|i| f.write_at_async(&eq, u64::from(i) * 4096, pattern(4096, i)))
            .collect();
        for (i, w) in writes.into_iter().enumerate() {
            let buf = w.await.unwrap();
            assert_eq!(buf, pattern(4096, i as u8), "the buffer comes back");
        }
        assert_eq!(f.len().unwrap(), 16 * 4096);
        let reads: Vec<_> = (0..16u8)
            .map(|i| f.read_at_async(&eq, u64::from(i) * 4096, 4096))
            .collect();
        for (i, r) in reads.into_iter().enumerate() {
            assert_eq!(r.await.unwrap(), pattern(4096, i as u8));
        }
        // Short and empty reads at and past the end.
        assert_eq!(
            f.read_at_async(&eq, 16 * 4096 - 10, 100)
                .await
                .unwrap()
                .len(),
            10
        );
        assert!(f.read_at_async(&eq, 1 << 40, 100).await.unwrap().is_empty());
        let reused = f.read_into_async(&eq, 0, vec![7; 8]).await.unwrap();
        assert_eq!(reused, pattern(8, 0));
        // Errors: a read-only open (refused before launch), a bad offset (before any call).
        let ro = fs.open_file("/f").unwrap();
        let err = ro.write_at_async(&eq, 0, vec![1]).await.unwrap_err();
        assert_eq!((err.op(), err.errno()), ("dfs_write", Some(libc::EPERM)));
        let err = ro.read_at_async(&eq, u64::MAX, 2).await.unwrap_err();
        assert!(err.is_invalid() && !err.is_from_daos(), "{err}");
        // A future dropped early leaves the write to finish on its own.
        drop(f.write_at_async(&eq, 0, pattern(4096, 99)));
    });
    // Dropping the queue no longer waits for what is in flight; closing it does.
    eq.close_blocking().unwrap();
    assert_eq!(fs.read_file("/f").unwrap()[..4096], pattern(4096, 99)[..]);
}

#[test]
fn errors_during_asynchronous_io_arrive_as_errnos() {
    let _serial = fault_lock();
    let (sys, d) = daos();
    let (_c, fs) = rw_mount("asyncerr");
    let f = fs.create_file("/f", 0o644).unwrap();
    let eq = EventQueue::new(&d).unwrap();
    let Some(_fault) = inject(sys, "dfs_write", Some(Der::Nospace.rc()), Some(1), None) else {
        return;
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let err = rt
        .block_on(f.write_at_async(&eq, 0, vec![1; 10]))
        .unwrap_err();
    assert!(err.is_no_space(), "{err}");
    assert_eq!(
        err.errno(),
        Some(libc::ENOSPC),
        "libdfs events carry errnos"
    );
    assert_eq!(f.len().unwrap(), 0);
}

#[test]
fn large_ranges_stream_with_a_bounded_number_of_extents_in_flight() {
    let _serial = serial();
    let (_c, fs) = rw_mount("stream");
    let (_, d) = daos();
    let eq = EventQueue::new(&d).unwrap();
    let f = fs.create_file("/big", 0o644).unwrap();
    const CHUNK: usize = 64 << 10;
    const TOTAL: usize = 8 << 20; // 128 chunks
    const IN_FLIGHT: usize = 4;
    let rt = tokio::runtime::Runtime::new().unwrap();
    let peak = Arc::new(AtomicUsize::new(0));
    let written = rt.block_on(async {
        let mut produced = 0usize;
        let peak = peak.clone();
        let eq2 = eq.clone();
        f.write_chunks(&eq, 0, CHUNK, IN_FLIGHT, move |buf| {
            // No more than IN_FLIGHT writes run while the next chunk is produced.
            peak.fetch_max(eq2.in_flight(), Ordering::Relaxed);
            let n = (TOTAL - produced).min(buf.len());
            for (i, b) in buf[..n].iter_mut().enumerate() {
                *b = ((produced + i) % 251) as u8;
            }
            produced += n;
            Ok(n)
        })
        .await
        .unwrap()
    });
    assert_eq!(written, TOTAL as u64);
    assert!(peak.load(Ordering::Relaxed) <= IN_FLIGHT, "{peak:?}");
    assert_eq!(f.len().unwrap(), TOTAL as u64);

    // Read back a range that ends past the end of the file: chunks in order, the last short.
    let peak = Arc::new(AtomicUsize::new(0));
    let mut next = 1000u64;
    let peak2 = peak.clone();
    let eq2 = eq.clone();
    let delivered = rt.block_on(f.read_chunks(
        &eq,
        1000..(TOTAL as u64 + 12345),
        CHUNK,
        IN_FLIGHT,
        move |offset, chunk| {
            peak2.fetch_max(eq2.in_flight(), Ordering::Relaxed);
            assert_eq!(offset, next, "in file order");
            for (i, b) in chunk.iter().enumerate() {
                assert_eq!(*b, ((offset as usize + i) % 251) as u8);
            }
            next += chunk.len() as u64;
            Ok(())
        },
    ));
    assert_eq!(delivered.unwrap(), TOTAL as u64 - 1000);
    assert!(peak.load(Ordering::Relaxed) <= IN_FLIGHT, "{peak:?}");

    // The stream is a 'static, Send future: a task of its own on a multi-threaded runtime,
    // owning its file and queue.
    let (file, queue) = (f.clone(), eq.clone());
    let copied = rt
        .block_on(rt.spawn(async move {
            let mut sum = 0u64;
            file.read_chunks(&queue, 0..TOTAL as u64, CHUNK, IN_FLIGHT, |_, chunk| {
                sum += chunk.iter().map(|b| u64::from(*b)).sum::<u64>();
                Ok(())
            })
            .await
            .map(|n| (n, sum))
        }))
        .unwrap()
        .unwrap();
    let expected: u64 = (0..TOTAL).map(|i| (i % 251) as u64).sum();
    assert_eq!(copied, (TOTAL as u64, expected));

    // A failing sink stops the stream with its error.
    let err = rt
        .block_on(f.read_chunks(&eq, 0..TOTAL as u64, CHUNK, 2, |offset, _| {
            if offset >= 3 * CHUNK as u64 {
                Err(daos::Error::invalid("sink", "enough"))
            } else {
                Ok(())
            }
        }))
        .unwrap_err();
    assert_eq!(err.op(), "sink");
    // Streaming needs a chunk size and at least one extent in flight.
    let err = rt
        .block_on(f.read_chunks(&eq, 0..10, 0, 1, |_, _| Ok(())))
        .unwrap_err();
    assert!(err.is_invalid() && !err.is_from_daos(), "{err}");
    let err = rt
        .block_on(f.write_chunks(&eq, 0, 10, 0, |_| Ok(0)))
        .unwrap_err();
    assert!(err.is_invalid(), "{err}");
}

#[test]
fn directories_are_listed_in_batches_with_types() {
    let _serial = serial();
    let (_c, fs) = rw_mount("listing");
    fs.mkdir("/d", 0o755).unwrap();
    for i in 0..50 {
        fs.write_file(&format!("/d/f{i:02}"), &vec![0; i]).unwrap();
    }
    fs.mkdir("/d/sub", 0o700).unwrap();
    fs.symlink("/d/ln", "/d/f01").unwrap();
    let mut listing = fs.entries_batched("/d", 7).unwrap();
    let first = listing.next().unwrap().unwrap();
    assert!(!first.name.is_empty());
    let mut all: Vec<_> = std::iter::once(Ok(first))
        .chain(listing)
        .collect::<daos::Result<Vec<_>>>()
        .unwrap();
    assert_eq!(all.len(), 52);
    all.sort_by(|a, b| a.name.cmp(&b.name));
    let f07 = all.iter().find(|e| e.name == "f07").unwrap();
    assert_eq!((f07.file_type, f07.stat.size), (FileType::File, 7));
    let sub = all.iter().find(|e| e.name == "sub").unwrap();
    assert_eq!(
        (sub.file_type, sub.stat.permissions()),
        (FileType::Directory, 0o700)
    );
    let ln = all.iter().find(|e| e.name == "ln").unwrap();
    assert_eq!(ln.file_type, FileType::Symlink, "a link is not followed");
    // The same through read_dir, and for the root.
    assert_eq!(fs.read_dir("/d").unwrap().len(), 52);
    assert_eq!(fs.entries("/").unwrap().count(), 1);
    // An empty directory, a missing one, a file, a zero batch.
    fs.mkdir("/empty", 0o755).unwrap();
    assert!(fs.entries("/empty").unwrap().next().is_none());
    assert!(fs.entries("/nothing").unwrap_err().is_not_found());
    let err = fs.entries("/d/f01").unwrap_err();
    assert!(err.is_invalid(), "{err}");
    assert!(fs.entries_batched("/d", 0).unwrap_err().is_invalid());
    // The listing keeps the mount alive and can move to another thread.
    let listing = fs.entries_batched("/d", 3).unwrap();
    drop(fs);
    let n = std::thread::spawn(move || listing.count()).join().unwrap();
    assert_eq!(n, 52);
}
