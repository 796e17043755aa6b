//! What an object holds: dkeys → akeys → a single value or an array of fixed-size records,
//! as VOS keeps them (`src/vos`), reduced to the latest epoch.

use std::collections::BTreeMap;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::Arc;

/// The akeys of one dkey.
pub type Akeys = BTreeMap<Vec<u8>, Value>;

/// One akey's value.
#[derive(Clone, Debug)]
pub enum Value {
    /// A single value (`DAOS_IOD_SINGLE`).
    Single(Vec<u8>),
    /// An array of records (`DAOS_IOD_ARRAY`).
    Array(ArrayVal),
}

/// The extents of an array value, sorted by index and never overlapping.
#[derive(Clone, Debug, Default)]
pub struct ArrayVal {
    /// Record size in bytes.
    pub rsize: u64,
    /// Extents with data.
    pub exts: Vec<Ext>,
}

/// `nr` records from record `idx`.
#[derive(Clone, Debug)]
pub struct Ext {
    /// First record.
    pub idx: u64,
    /// Records.
    pub nr: u64,
    /// Their bytes (`nr * rsize`).
    pub data: Data,
}

/// Where an extent's bytes are.
#[derive(Clone, Debug)]
pub enum Data {
    /// In memory (raw objects).
    Mem(Vec<u8>),
    /// In a host file from byte `off` on (the projection of a DFS file: read on demand).
    File {
        /// The file.
        path: Arc<PathBuf>,
        /// Byte offset of the extent's first record.
        off: u64,
    },
}

impl Ext {
    /// Records `[from, to)` of this extent (inside it).
    fn slice(&self, from: u64, to: u64, rsize: u64) -> Ext {
        let skip = (from - self.idx) * rsize;
        let data = match &self.data {
            Data::Mem(v) => {
                let start = skip as usize;
                let end = start + ((to - from) * rsize) as usize;
                Data::Mem(v.get(start..end).map(<[u8]>::to_vec).unwrap_or_default())
            }
            Data::File { path, off } => Data::File {
                path: path.clone(),
                off: off + skip,
            },
        };
        Ext {
            idx: from,
            nr: to - from,
            data,
        }
    }

    fn end(&self) -> u64 {
        self.idx.saturating_add(self.nr)
    }

    /// Copies this extent's bytes of records `[from, from + out.len() / rsize)` into `out`.
    fn read_into(&self, from: u64, rsize: u64, out: &mut [u8]) -> io::Result<()> {
        let skip = (from - self.idx) * rsize;
        match &self.data {
            Data::Mem(v) => {
                let start = skip as usize;
                let src = v
                    .get(start..start + out.len())
                    .ok_or_else(|| io::Error::from(io::ErrorKind::InvalidData))?;
                out.copy_from_slice(src);
            }
            Data::File { path, off } => {
                let f = std::fs::File::open(path.as_ref())?;
                let mut done = 0;
                while done < out.len() {
                    let n = f.read_at(&mut out[done..], off + skip + done as u64)?;
                    if n == 0 {
                        // The file shrank since it was indexed: the rest reads as a hole.
                        out[done..].fill(0);
                        break;
                    }
                    done += n;
                }
            }
        }
        Ok(())
    }
}

impl ArrayVal {
    /// Removes records `[idx, idx + nr)`.
    pub fn punch(&mut self, idx: u64, nr: u64) {
        let end = idx.saturating_add(nr);
        let mut kept = Vec::with_capacity(self.exts.len() + 1);
        for e in self.exts.drain(..) {
            if e.end() <= idx || e.idx >= end {
                kept.push(e);
                continue;
            }
            if e.idx < idx {
                kept.push(e.slice(e.idx, idx, self.rsize));
            }
            if e.end() > end {
                kept.push(e.slice(end, e.end(), self.rsize));
            }
        }
        self.exts = kept;
    }

    /// Writes `data` (`nr` records) at record `idx`, replacing what was there.
    pub fn write(&mut self, idx: u64, nr: u64, data: Vec<u8>) {
        self.punch(idx, nr);
        let pos = self.exts.partition_point(|e| e.idx < idx);
        self.exts.insert(
            pos,
            Ext {
                idx,
                nr,
                data: Data::Mem(data),
            },
        );
        self.coalesce();
    }

    /// Joins adjacent in-memory extents so that a value written piece by piece stays small.
    fn coalesce(&mut self) {
        let mut out: Vec<Ext> = Vec::with_capacity(self.exts.len());
        for e in self.exts.drain(..) {
            if let Some(last) = out.last_mut()
                && last.end() == e.idx
                && let (Data::Mem(a), Data::Mem(b)) = (&mut last.data, &e.data)
            {
                a.extend_from_slice(b);
                last.nr += e.nr;
                continue;
            }
            out.push(e);
        }
        self.exts = out;
    }

    /// The extents with data as (index, count), adjacent ones merged (`daos_obj_list_recx`).
    pub fn recxs(&self) -> Vec<(u64, u64)> {
        let mut out: Vec<(u64, u64)> = Vec::new();
        for e in &self.exts {
            match out.last_mut() {
                Some(last) if last.0.saturating_add(last.1) == e.idx => last.1 += e.nr,
                _ => out.push((e.idx, e.nr)),
            }
        }
        out
    }

    /// Fills `out` with records `[idx, idx + out.len() / rsize)`; holes read as zeros.
    pub fn read(&self, idx: u64, out: &mut [u8]) -> io::Result<()> {
        out.fill(0);
        let rsize = self.rsize.max(1);
        let end = idx.saturating_add(out.len() as u64 / rsize);
        for e in &self.exts {
            if e.end() <= idx || e.idx >= end {
                continue;
            }
            let from = e.idx.max(idx);
            let to = e.end().min(end);
            let start = ((from - idx) * rsize) as usize;
            let stop = ((to - idx) * rsize) as usize;
            e.read_into(from, rsize, &mut out[start..stop])?;
        }
        Ok(())
    }

    /// Every record from 0 to the end of the last extent (holes as zeros).
    pub fn read_all(&self) -> io::Result<Vec<u8>> {
        let end = self.exts.last().map(Ext::end).unwrap_or(0);
        let mut out = vec![0u8; (end * self.rsize) as usize];
        self.read(0, &mut out)?;
        Ok(out)
    }
}

/// Serialises akeys for the on-disk store (in-memory data only).
pub fn encode(dkey: &[u8], akeys: &Akeys) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    out.extend_from_slice(b"EMUDKEY1");
    put_bytes(&mut out, dkey);
    out.extend_from_slice(&(akeys.len() as u32).to_le_bytes());
    for (name, v) in akeys {
        put_bytes(&mut out, name);
        match v {
            Value::Single(b) => {
                out.push(1);
                put_bytes(&mut out, b);
            }
            Value::Array(a) => {
                out.push(2);
                out.extend_from_slice(&a.rsize.to_le_bytes());
                out.extend_from_slice(&(a.exts.len() as u32).to_le_bytes());
                for e in &a.exts {
                    out.extend_from_slice(&e.idx.to_le_bytes());
                    out.extend_from_slice(&e.nr.to_le_bytes());
                    let mut bytes = vec![0u8; (e.nr * a.rsize) as usize];
                    e.read_into(e.idx, a.rsize, &mut bytes)?;
                    out.extend_from_slice(&bytes);
                }
            }
        }
    }
    Ok(out)
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(&(b.len() as u64).to_le_bytes());
    out.extend_from_slice(b);
}

/// A cursor over an encoded dkey file.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> io::Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.buf.len())
            .ok_or_else(|| io::Error::from(io::ErrorKind::InvalidData))?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn u64(&mut self) -> io::Result<u64> {
        let mut b = [0u8; 8];
        b.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(b))
    }

    fn u32(&mut self) -> io::Result<u32> {
        let mut b = [0u8; 4];
        b.copy_from_slice(self.take(4)?);
        Ok(u32::from_le_bytes(b))
    }

    fn bytes(&mut self) -> io::Result<Vec<u8>> {
        let n = self.u64()? as usize;
        Ok(self.take(n)?.to_vec())
    }
}

/// Parses what [`encode`] wrote: (dkey, akeys).
pub fn decode(buf: &[u8]) -> io::Result<(Vec<u8>, Akeys)> {
    let mut r = Reader { buf, pos: 0 };
    if r.take(8)? != b"EMUDKEY1" {
        return Err(io::Error::from(io::ErrorKind::InvalidData));
    }
    let dkey = r.bytes()?;
    let n = r.u32()?;
    let mut akeys = Akeys::new();
    for _ in 0..n {
        let name = r.bytes()?;
        let kind = r.take(1)?[0];
        let v = match kind {
            1 => Value::Single(r.bytes()?),
            2 => {
                let rsize = r.u64()?;
                let count = r.u32()?;
                let mut exts = Vec::with_capacity(count as usize);
                for _ in 0..count {
                    let idx = r.u64()?;
                    let nr = r.u64()?;
                    let len = nr
                        .checked_mul(rsize)
                        .ok_or_else(|| io::Error::from(io::ErrorKind::InvalidData))?;
                    let data = r.take(len as usize)?.to_vec();
                    exts.push(Ext {
                        idx,
                        nr,
                        data: Data::Mem(data),
                    });
                }
                Value::Array(ArrayVal { rsize, exts })
            }
            _ => return Err(io::Error::from(io::ErrorKind::InvalidData)),
        };
        akeys.insert(name, v);
    }
    Ok((dkey, akeys))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mem(a: &ArrayVal) -> Vec<u8> {
        a.read_all().unwrap()
    }

    #[test]
    fn overlapping_writes_replace_and_adjacent_ones_merge() {
        let mut a = ArrayVal {
            rsize: 1,
            exts: Vec::new(),
        };
        a.write(0, 4, b"aaaa".to_vec());
        a.write(8, 2, b"bb".to_vec());
        a.write(2, 4, b"cccc".to_vec());
        assert_eq!(a.recxs(), vec![(0, 6), (8, 2)]);
        assert_eq!(mem(&a), b"aacccc\0\0bb");
        a.punch(1, 8);
        assert_eq!(a.recxs(), vec![(0, 1), (9, 1)]);
        assert_eq!(mem(&a), b"a\0\0\0\0\0\0\0\0b");
    }

    #[test]
    fn encoding_round_trips() {
        let mut akeys = Akeys::new();
        akeys.insert(b"s".to_vec(), Value::Single(b"xyz".to_vec()));
        let mut a = ArrayVal {
            rsize: 2,
            exts: Vec::new(),
        };
        a.write(3, 2, b"1234".to_vec());
        akeys.insert(b"a".to_vec(), Value::Array(a));
        let enc = encode(b"dk", &akeys).unwrap();
        let (dk, back) = decode(&enc).unwrap();
        assert_eq!(dk, b"dk");
        match (&back[&b"s".to_vec()], &back[&b"a".to_vec()]) {
            (Value::Single(s), Value::Array(a)) => {
                assert_eq!(s, b"xyz");
                assert_eq!(a.rsize, 2);
                assert_eq!(a.recxs(), vec![(3, 2)]);
            }
            other => panic!("{other:?}"),
        }
        assert!(decode(&enc[..enc.len() - 1]).is_err());
    }
}
