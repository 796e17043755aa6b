//! Test data: deterministic byte patterns, file digests, and the fixed-size numbered records
//! the restart workload writes.

use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;

/// Fills `buf` with a pseudo-random pattern determined by `seed` (xorshift64*), so data
/// written through one mount can be checked through another without keeping a copy.
pub fn fill_pattern(seed: u64, buf: &mut [u8]) {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    for chunk in buf.chunks_mut(8) {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        let word = state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes();
        chunk.copy_from_slice(&word[..chunk.len()]);
    }
}

pub type Digest256 = [u8; 32];

pub fn hex(digest: &Digest256) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes `len` bytes of the `seed` pattern to `path` in 1 MiB writes, fsyncs, and returns
/// the SHA-256 of what was written.
pub fn write_pattern_file(path: &Path, seed: u64, len: usize) -> std::io::Result<Digest256> {
    const CHUNK: usize = 1 << 20;
    let mut file = File::create(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; CHUNK];
    let mut written = 0;
    let mut block = 0u64;
    while written < len {
        let n = CHUNK.min(len - written);
        fill_pattern(seed.wrapping_add(block), &mut buf[..n]);
        file.write_all(&buf[..n])?;
        hasher.update(&buf[..n]);
        written += n;
        block += 1;
    }
    file.sync_all()?;
    Ok(hasher.finalize().into())
}

/// SHA-256 of a file's content, read in 1 MiB pieces.
pub fn sha256_file(path: &Path) -> std::io::Result<(Digest256, u64)> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        total += n as u64;
    }
    Ok((hasher.finalize().into(), total))
}

/// Size of one workload record.
pub const RECORD_SIZE: usize = 4096;
const RECORD_MAGIC: &[u8; 8] = b"E2EREC01";

/// Record number `seq`: magic, the sequence number, then a pattern seeded by it.
pub fn record(seq: u64) -> Vec<u8> {
    let mut rec = vec![0u8; RECORD_SIZE];
    rec[..8].copy_from_slice(RECORD_MAGIC);
    rec[8..16].copy_from_slice(&seq.to_le_bytes());
    fill_pattern(seq, &mut rec[16..]);
    rec
}

/// Checks a file of records: whole records only, numbered 0, 1, 2 ... in order, each with its
/// expected content. Returns how many there are, or what is wrong with the first bad one.
pub fn verify_records(path: &Path) -> Result<u64, String> {
    let data = std::fs::read(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    if data.len() % RECORD_SIZE != 0 {
        return Err(format!(
            "{} is {} bytes, not a whole number of {RECORD_SIZE}-byte records",
            path.display(),
            data.len()
        ));
    }
    for (seq, rec) in data.chunks(RECORD_SIZE).enumerate() {
        let expected = record(seq as u64);
        if rec != expected.as_slice() {
            let found_seq = u64::from_le_bytes(rec[8..16].try_into().unwrap_or([0; 8]));
            return Err(format!(
                "record {seq} is damaged (magic ok: {}, sequence field {found_seq})",
                &rec[..8] == RECORD_MAGIC
            ));
        }
    }
    Ok((data.len() / RECORD_SIZE) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_differ_by_seed_and_repeat_by_seed() {
        let (mut a, mut b, mut c) = (vec![0u8; 100], vec![0u8; 100], vec![0u8; 100]);
        fill_pattern(1, &mut a);
        fill_pattern(1, &mut b);
        fill_pattern(2, &mut c);
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn verify_records_finds_a_damaged_record() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("records");
        let mut data: Vec<u8> = (0..4).flat_map(record).collect();
        std::fs::write(&path, &data).expect("write");
        assert_eq!(verify_records(&path), Ok(4));
        data[2 * RECORD_SIZE + 100] ^= 1;
        std::fs::write(&path, &data).expect("write");
        assert!(verify_records(&path).unwrap_err().contains("record 2"));
        std::fs::write(&path, &data[..RECORD_SIZE + 10]).expect("write");
        assert!(verify_records(&path).is_err());
    }
}
