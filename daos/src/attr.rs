//! Container user attributes (`daos_cont_{list,get,set,del}_attr`).
//!
//! Attributes are small named byte strings stored with the container (dfuse reads its cache
//! settings from them; this crate keeps snapshot names in them). Names are 1 to
//! [`MAX_NAME_LEN`] bytes without NUL; values must not be empty (DAOS refuses zero-length
//! values with `-DER_INVAL`).
//!
//! Reads are two-phase, as libdaos requires: first the sizes, then the data into buffers of
//! those sizes, again if a value grew in between.
//!
//! ```no_run
//! # fn demo(cont: &daos::Container) -> daos::Result<()> {
//! cont.set_attrs(&[("owner-app", b"csi"), ("size", b"10G")])?;
//! let values = cont.get_attrs(&["owner-app", "missing"])?;
//! assert_eq!(values, vec![Some(b"csi".to_vec()), None]);
//! assert!(cont.list_attrs()?.contains(&"size".to_string()));
//! cont.delete_attrs(&["size"])?;
//! # Ok(()) }
//! ```

use std::ffi::{CString, c_char, c_void};

use crate::container::Container;
use crate::eq::{EventQueue, OpFuture, Operation, SendPtr, run_blocking};
use crate::error::{Der, Error, Result, check_rc};
use crate::pool::LIST_RETRIES;

/// Longest attribute name in bytes (`DAOS_ATTR_NAME_MAX`).
pub const MAX_NAME_LEN: usize = daos_sys::DAOS_ATTR_NAME_MAX as usize;

/// Checks attribute names as libdaos does, so the error says which one is wrong.
fn names_to_c(op: &'static str, names: &[&str]) -> Result<Vec<CString>> {
    if names.is_empty() {
        return Err(Error::invalid(op, "no attribute names"));
    }
    names
        .iter()
        .map(|n| {
            if n.is_empty() || n.len() > MAX_NAME_LEN {
                return Err(Error::invalid(
                    op,
                    format!("attribute name {n:?} must be 1-{MAX_NAME_LEN} bytes"),
                ));
            }
            CString::new(*n).map_err(|_| {
                Error::invalid(op, format!("attribute name {n:?} contains a NUL byte"))
            })
        })
        .collect()
}

/// `daos_cont_get_attr`; with no buffers it only fetches sizes.
struct GetAttrs {
    cont: Container,
    names: Vec<CString>,
    name_ptrs: SendPtr<Vec<*const c_char>>,
    /// One buffer per name; empty when only sizes are wanted.
    buffers: Vec<Vec<u8>>,
    buffer_ptrs: SendPtr<Vec<*mut c_void>>,
    sizes: Vec<usize>,
}

impl GetAttrs {
    fn new(cont: &Container, names: Vec<CString>, capacities: Option<&[usize]>) -> GetAttrs {
        let buffers: Vec<Vec<u8>> = capacities
            .map(|c| c.iter().map(|&n| vec![0u8; n]).collect())
            .unwrap_or_default();
        let sizes = capacities.map_or_else(|| vec![0; names.len()], <[usize]>::to_vec);
        GetAttrs {
            cont: cont.clone(),
            names,
            name_ptrs: SendPtr(Vec::new()),
            buffers,
            buffer_ptrs: SendPtr(Vec::new()),
            sizes,
        }
    }
}

impl Operation for GetAttrs {
    type Output = (Vec<usize>, Vec<Vec<u8>>);

    unsafe fn launch(&mut self, ev: *mut daos_sys::daos_event_t) -> i32 {
        self.name_ptrs.0 = self.names.iter().map(|n| n.as_ptr()).collect();
        self.buffer_ptrs.0 = self
            .buffers
            .iter_mut()
            .map(|b| b.as_mut_ptr() as *mut c_void)
            .collect();
        let buffers = if self.buffers.is_empty() {
            std::ptr::null()
        } else {
            self.buffer_ptrs.0.as_ptr()
        };
        // SAFETY: names, pointer arrays, buffers (each as long as its size entry) and sizes are
        // owned by this operation and stay in place until completion.
        unsafe {
            daos_sys::daos_cont_get_attr(
                self.cont.raw_handle(),
                self.names.len() as i32,
                self.name_ptrs.0.as_ptr(),
                buffers,
                self.sizes.as_mut_ptr(),
                ev,
            )
        }
    }

    fn finish(self, rc: i32) -> Result<(Vec<usize>, Vec<Vec<u8>>)> {
        // libdaos reports NONEXIST only when none of the names exists: all sizes are 0 then.
        if rc == Der::Nonexist.rc() {
            return Ok((vec![0; self.names.len()], self.buffers));
        }
        check_rc("daos_cont_get_attr", rc).map_err(|e| e.with_context(self.cont.describe()))?;
        Ok((self.sizes, self.buffers))
    }
}

/// What one get step found.
enum Fetched {
    /// A value is larger than its buffer: fetch again with these capacities.
    Again(Vec<usize>),
    /// Values (`None` for missing names).
    Done(Vec<Option<Vec<u8>>>),
}

fn fetched(capacities: Option<&[usize]>, sizes: Vec<usize>, buffers: Vec<Vec<u8>>) -> Fetched {
    match capacities {
        None if sizes.iter().all(|&s| s == 0) => Fetched::Done(vec![None; sizes.len()]),
        None => Fetched::Again(sizes),
        Some(caps) if sizes.iter().zip(caps).any(|(s, c)| s > c) => Fetched::Again(sizes),
        Some(_) => Fetched::Done(
            buffers
                .into_iter()
                .zip(sizes)
                .map(|(mut b, s)| {
                    // A size of 0 means the name does not exist (values are never empty).
                    (s > 0).then(|| {
                        b.truncate(s);
                        b
                    })
                })
                .collect(),
        ),
    }
}

struct SetAttrs {
    cont: Container,
    names: Vec<CString>,
    values: Vec<Vec<u8>>,
    name_ptrs: SendPtr<Vec<*const c_char>>,
    value_ptrs: SendPtr<Vec<*const c_void>>,
    sizes: Vec<usize>,
}

impl Operation for SetAttrs {
    type Output = ();

    unsafe fn launch(&mut self, ev: *mut daos_sys::daos_event_t) -> i32 {
        self.name_ptrs.0 = self.names.iter().map(|n| n.as_ptr()).collect();
        self.value_ptrs.0 = self
            .values
            .iter()
            .map(|v| v.as_ptr() as *const c_void)
            .collect();
        self.sizes = self.values.iter().map(Vec::len).collect();
        // SAFETY: all arrays and the data they point to are owned by this operation.
        unsafe {
            daos_sys::daos_cont_set_attr(
                self.cont.raw_handle(),
                self.names.len() as i32,
                self.name_ptrs.0.as_ptr(),
                self.value_ptrs.0.as_ptr(),
                self.sizes.as_ptr(),
                ev,
            )
        }
    }

    fn finish(self, rc: i32) -> Result<()> {
        check_rc("daos_cont_set_attr", rc).map_err(|e| e.with_context(self.cont.describe()))
    }
}

pub(crate) struct DeleteAttrs {
    cont: Container,
    names: Vec<CString>,
    name_ptrs: SendPtr<Vec<*const c_char>>,
}

impl Operation for DeleteAttrs {
    type Output = ();

    unsafe fn launch(&mut self, ev: *mut daos_sys::daos_event_t) -> i32 {
        self.name_ptrs.0 = self.names.iter().map(|n| n.as_ptr()).collect();
        // SAFETY: names and their pointer array are owned by this operation.
        unsafe {
            daos_sys::daos_cont_del_attr(
                self.cont.raw_handle(),
                self.names.len() as i32,
                self.name_ptrs.0.as_ptr(),
                ev,
            )
        }
    }

    fn finish(self, rc: i32) -> Result<()> {
        check_rc("daos_cont_del_attr", rc).map_err(|e| e.with_context(self.cont.describe()))
    }
}

/// `daos_cont_list_attr` into a buffer of the given size (0: size only).
struct ListAttrs {
    cont: Container,
    buffer: Vec<u8>,
    size: usize,
}

enum Names {
    /// The names need this many bytes (NUL terminators included).
    Size(usize),
    /// The names.
    Done(Vec<String>),
}

impl Operation for ListAttrs {
    type Output = Names;

    unsafe fn launch(&mut self, ev: *mut daos_sys::daos_event_t) -> i32 {
        self.size = self.buffer.len();
        let buf = if self.buffer.is_empty() {
            std::ptr::null_mut()
        } else {
            self.buffer.as_mut_ptr() as *mut c_char
        };
        // SAFETY: buffer and size are owned by this operation.
        unsafe { daos_sys::daos_cont_list_attr(self.cont.raw_handle(), buf, &mut self.size, ev) }
    }

    fn finish(self, rc: i32) -> Result<Names> {
        check_rc("daos_cont_list_attr", rc).map_err(|e| e.with_context(self.cont.describe()))?;
        if self.buffer.is_empty() || self.size > self.buffer.len() {
            return Ok(Names::Size(self.size));
        }
        let names = self.buffer[..self.size]
            .split(|&b| b == 0)
            .filter(|n| !n.is_empty())
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .collect();
        Ok(Names::Done(names))
    }
}

fn set_op(cont: &Container, attrs: &[(&str, &[u8])]) -> Result<SetAttrs> {
    const OP: &str = "daos_cont_set_attr";
    let names: Vec<&str> = attrs.iter().map(|(n, _)| *n).collect();
    let names = names_to_c(OP, &names)?;
    if let Some((name, _)) = attrs.iter().find(|(_, v)| v.is_empty()) {
        return Err(Error::invalid(
            OP,
            format!("attribute {name:?}: DAOS does not store empty values"),
        ));
    }
    Ok(SetAttrs {
        cont: cont.clone(),
        names,
        values: attrs.iter().map(|(_, v)| v.to_vec()).collect(),
        name_ptrs: SendPtr(Vec::new()),
        value_ptrs: SendPtr(Vec::new()),
        sizes: Vec::new(),
    })
}

fn delete_op(cont: &Container, names: &[&str]) -> Result<DeleteAttrs> {
    Ok(DeleteAttrs {
        cont: cont.clone(),
        names: names_to_c("daos_cont_del_attr", names)?,
        name_ptrs: SendPtr(Vec::new()),
    })
}

/// Deleting one attribute, for multi-step operations of other modules.
pub(crate) fn delete_op_for(cont: &Container, name: &str) -> Result<DeleteAttrs> {
    delete_op(cont, &[name])
}

fn list_retry_error(op: &'static str) -> Error {
    Error::from_der(op, Der::Trunc).with_context("attributes kept growing between size and fetch")
}

impl Container {
    /// The value of one attribute, `None` if it does not exist.
    pub fn get_attr(&self, name: &str) -> Result<Option<Vec<u8>>> {
        Ok(self.get_attrs(&[name])?.pop().flatten())
    }

    /// The values of several attributes, in order; `None` for names that do not exist.
    pub fn get_attrs(&self, names: &[&str]) -> Result<Vec<Option<Vec<u8>>>> {
        let c_names = names_to_c("daos_cont_get_attr", names)?;
        let mut capacities: Option<Vec<usize>> = None;
        for _ in 0..LIST_RETRIES {
            let (sizes, buffers) =
                run_blocking(GetAttrs::new(self, c_names.clone(), capacities.as_deref()))?;
            match fetched(capacities.as_deref(), sizes, buffers) {
                Fetched::Done(values) => return Ok(values),
                Fetched::Again(caps) => capacities = Some(caps),
            }
        }
        Err(list_retry_error("daos_cont_get_attr"))
    }

    /// [`Container::get_attrs`] through an event queue.
    pub fn get_attrs_async(
        &self,
        eq: &EventQueue,
        names: &[&str],
    ) -> impl Future<Output = Result<Vec<Option<Vec<u8>>>>> + Send + 'static + use<> {
        let c_names = names_to_c("daos_cont_get_attr", names);
        let submitter = eq.submitter();
        let cont = self.clone();
        async move {
            let c_names = c_names?;
            let mut capacities: Option<Vec<usize>> = None;
            for _ in 0..LIST_RETRIES {
                let op = GetAttrs::new(&cont, c_names.clone(), capacities.as_deref());
                let (sizes, buffers) = submitter.submit(op).await?;
                match fetched(capacities.as_deref(), sizes, buffers) {
                    Fetched::Done(values) => return Ok(values),
                    Fetched::Again(caps) => capacities = Some(caps),
                }
            }
            Err(list_retry_error("daos_cont_get_attr"))
        }
    }

    /// Sets attributes, creating or replacing them. Values must not be empty.
    pub fn set_attrs(&self, attrs: &[(&str, &[u8])]) -> Result<()> {
        run_blocking(set_op(self, attrs)?)
    }

    /// Sets one attribute.
    pub fn set_attr(&self, name: &str, value: &[u8]) -> Result<()> {
        self.set_attrs(&[(name, value)])
    }

    /// [`Container::set_attrs`] through an event queue.
    pub fn set_attrs_async(&self, eq: &EventQueue, attrs: &[(&str, &[u8])]) -> OpFuture<()> {
        match set_op(self, attrs) {
            Ok(op) => eq.submit(op),
            Err(e) => OpFuture::ready(Err(e)),
        }
    }

    /// Names of all attributes.
    pub fn list_attrs(&self) -> Result<Vec<String>> {
        let mut size = 0;
        for _ in 0..LIST_RETRIES {
            match run_blocking(ListAttrs {
                cont: self.clone(),
                buffer: vec![0; size],
                size: 0,
            })? {
                Names::Done(names) => return Ok(names),
                Names::Size(0) => return Ok(Vec::new()),
                Names::Size(n) => size = n,
            }
        }
        Err(list_retry_error("daos_cont_list_attr"))
    }

    /// [`Container::list_attrs`] through an event queue.
    pub fn list_attrs_async(
        &self,
        eq: &EventQueue,
    ) -> impl Future<Output = Result<Vec<String>>> + Send + 'static + use<> {
        let submitter = eq.submitter();
        let cont = self.clone();
        async move {
            let mut size = 0;
            for _ in 0..LIST_RETRIES {
                match submitter
                    .submit(ListAttrs {
                        cont: cont.clone(),
                        buffer: vec![0; size],
                        size: 0,
                    })
                    .await?
                {
                    Names::Done(names) => return Ok(names),
                    Names::Size(0) => return Ok(Vec::new()),
                    Names::Size(n) => size = n,
                }
            }
            Err(list_retry_error("daos_cont_list_attr"))
        }
    }

    /// Deletes attributes. Names that do not exist are skipped: a DAOS server reports success
    /// for them (`ds_rsvc_del_attr` never sees a missing key), so deleting is idempotent.
    pub fn delete_attrs(&self, names: &[&str]) -> Result<()> {
        run_blocking(delete_op(self, names)?)
    }

    /// [`Container::delete_attrs`] through an event queue.
    pub fn delete_attrs_async(&self, eq: &EventQueue, names: &[&str]) -> OpFuture<()> {
        match delete_op(self, names) {
            Ok(op) => eq.submit(op),
            Err(e) => OpFuture::ready(Err(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_checks() {
        assert!(names_to_c("op", &[]).unwrap_err().is_invalid());
        assert!(names_to_c("op", &[""]).unwrap_err().is_invalid());
        assert!(names_to_c("op", &["a\0b"]).unwrap_err().is_invalid());
        assert!(
            names_to_c("op", &[&"x".repeat(MAX_NAME_LEN + 1)])
                .unwrap_err()
                .is_invalid()
        );
        assert_eq!(
            names_to_c("op", &[&"x".repeat(MAX_NAME_LEN)])
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn two_phase_decisions() {
        assert!(
            matches!(fetched(None, vec![0, 0], vec![]), Fetched::Done(v) if v == vec![None, None])
        );
        assert!(matches!(fetched(None, vec![3, 0], vec![]), Fetched::Again(c) if c == vec![3, 0]));
        let done = fetched(Some(&[3, 0]), vec![2, 0], vec![b"abc".to_vec(), vec![]]);
        assert!(matches!(done, Fetched::Done(v) if v == vec![Some(b"ab".to_vec()), None]));
        assert!(
            matches!(fetched(Some(&[3]), vec![5], vec![vec![0; 3]]), Fetched::Again(c) if c == vec![5])
        );
    }
}
