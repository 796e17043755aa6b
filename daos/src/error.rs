//! The one error type of this crate.
//!
//! libdaos reports failures as **negative DER codes** (`-DER_NONEXIST` = -1005, table in
//! `daos_errno.h`), libdfs and libduns as **positive errnos** (`ENOENT` = 2). An [`Error`] keeps
//! that code exactly as the C library returned it, the name of the C function that failed
//! (`daos_cont_create_with_label`), and optionally what it was applied to (a label, a path).
//!
//! Some errors never reach C: an argument this crate can tell is wrong (a label with a space,
//! a string with a NUL byte) is refused up front with the code libdaos would have returned,
//! usually `-DER_INVAL`. Such an error names the Rust method that refused it
//! (`Pool::create_container`), not a C function that was never called, and says so:
//! [`Error::is_from_daos`] is false for it.
//!
//! Names in messages are always quoted the same way (`pool "tank"`, `container "vol-1"`,
//! `system "daos_server"`, `path "/a"`), so a name with odd characters stays readable.
//!
//! Callers decide what to do from the *class* of failure, which is the same whichever library
//! produced it: [`Error::is_not_found`] is true for `-DER_NONEXIST`, `-DER_CONT_NONEXIST` and
//! `ENOENT` alike.
//!
//! ```
//! use daos::{Der, Error};
//!
//! let err = Error::from_rc("daos_cont_open2", -1005).with_context("container \"vol-1\"");
//! assert_eq!(err.der(), Some(Der::Nonexist));
//! assert_eq!(err.name(), "DER_NONEXIST");
//! assert!(err.is_not_found());
//! assert_eq!(
//!     err.to_string(),
//!     "daos_cont_open2 (container \"vol-1\"): DER_NONEXIST(-1005): the entity does not exist"
//! );
//!
//! let refused = Error::invalid("Pool::create_container", "label \"a b\" has a space");
//! assert!(refused.is_invalid() && !refused.is_from_daos());
//! assert_eq!(
//!     refused.to_string(),
//!     "Pool::create_container: label \"a b\" has a space \
//!      (DER_INVAL(-1003), raised by the Rust bindings, not returned by DAOS)"
//! );
//! ```

use std::borrow::Cow;
use std::fmt;

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

macro_rules! der_table {
    ($( $(#[$attr:meta])* $variant:ident = $value:literal, $name:literal, $desc:literal; )*) => {
        /// A DAOS error number (`enum daos_errno` in `daos_errno.h`), as its positive value.
        ///
        /// libdaos returns the negated value; [`Der::rc`] gives that. Codes marked "2.8" exist
        /// only from DAOS 2.8 on; the table is complete for 2.6 and 2.8 so that an error from
        /// either is named correctly whichever headers this crate was built against.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(i32)]
        #[non_exhaustive]
        pub enum Der {
            $(
                #[doc = concat!("`", $name, "` (", stringify!($value), "): ", $desc, ".")]
                $(#[$attr])*
                $variant = $value,
            )*
        }

        impl Der {
            /// Every known code, in numeric order.
            pub const ALL: &'static [Der] = &[$(Der::$variant),*];

            /// The C name, e.g. `"DER_NONEXIST"` (what `d_errstr` returns).
            pub const fn name(self) -> &'static str {
                match self { $(Der::$variant => $name,)* }
            }

            /// A short description in plain words.
            pub const fn description(self) -> &'static str {
                match self { $(Der::$variant => $desc,)* }
            }

            /// The code for a positive DER number (1005) or a libdaos return value (-1005).
            pub const fn from_code(code: i32) -> Option<Der> {
                match code.unsigned_abs() {
                    $($value => Some(Der::$variant),)*
                    _ => None,
                }
            }

            /// Looks a code up by its C name (`"DER_NONEXIST"`).
            pub fn from_name(name: &str) -> Option<Der> {
                match name { $($name => Some(Der::$variant),)* _ => None }
            }
        }
    };
}

der_table! {
    // GURT range (DER_ERR_GURT_BASE = 1000).
    NoPerm = 1001, "DER_NO_PERM", "permission denied";
    NoHdl = 1002, "DER_NO_HDL", "the handle is invalid or already closed";
    Inval = 1003, "DER_INVAL", "invalid parameters";
    Exist = 1004, "DER_EXIST", "the entity already exists";
    Nonexist = 1005, "DER_NONEXIST", "the entity does not exist";
    Unreach = 1006, "DER_UNREACH", "the destination cannot be reached";
    Nospace = 1007, "DER_NOSPACE", "no space left on the storage target";
    Already = 1008, "DER_ALREADY", "the operation was already done";
    Nomem = 1009, "DER_NOMEM", "out of memory";
    Nosys = 1010, "DER_NOSYS", "the function is not implemented";
    Timedout = 1011, "DER_TIMEDOUT", "the operation timed out";
    Busy = 1012, "DER_BUSY", "the resource is busy (still in use)";
    Again = 1013, "DER_AGAIN", "temporary failure, try again";
    Proto = 1014, "DER_PROTO", "the peers speak incompatible protocols";
    Uninit = 1015, "DER_UNINIT", "the library is not initialized";
    Trunc = 1016, "DER_TRUNC", "the buffer is too short for the result";
    Overflow = 1017, "DER_OVERFLOW", "a value is too long for its type";
    Canceled = 1018, "DER_CANCELED", "the operation was canceled";
    Oog = 1019, "DER_OOG", "the rank is outside the group";
    Hg = 1020, "DER_HG", "network transport (Mercury) error";
    Unreg = 1021, "DER_UNREG", "the RPC opcode is not registered";
    AddrstrGen = 1022, "DER_ADDRSTR_GEN", "could not generate an address string";
    Pmix = 1023, "DER_PMIX", "PMIx layer error";
    IvcbForward = 1024, "DER_IVCB_FORWARD", "the IV callback must forward the request";
    Misc = 1025, "DER_MISC", "unclassified error (often: the DAOS agent refused the connection)";
    Badpath = 1026, "DER_BADPATH", "bad path name";
    Notdir = 1027, "DER_NOTDIR", "not a directory";
    CorpcIncomplete = 1028, "DER_CORPC_INCOMPLETE", "a collective RPC did not complete everywhere";
    NoRasRank = 1029, "DER_NO_RAS_RANK", "no rank is subscribed to RAS events";
    Notattach = 1030, "DER_NOTATTACH", "not attached to the service group";
    Mismatch = 1031, "DER_MISMATCH", "versions or contents do not match";
    Excluded = 1032, "DER_EXCLUDED", "the rank was excluded from the system";
    Noreply = 1033, "DER_NOREPLY", "no reply was received";
    Dos = 1034, "DER_DOS", "refused to protect the service (resource limit)";
    BadTarget = 1035, "DER_BAD_TARGET", "the RPC went to the wrong target";
    Grpver = 1036, "DER_GRPVER", "group membership versions disagree";
    HlcSync = 1037, "DER_HLC_SYNC", "hybrid logical clocks are out of sync";
    NoShmem = 1038, "DER_NO_SHMEM", "not enough shared memory";
    AddMetricFailed = 1039, "DER_ADD_METRIC_FAILED", "a telemetry metric could not be added";
    DurationMismatch = 1040, "DER_DURATION_MISMATCH", "telemetry duration start and end disagree";
    OpNotPermitted = 1041, "DER_OP_NOT_PERMITTED", "the operation is not allowed on this metric";
    ExceedsPathLen = 1042, "DER_EXCEEDS_PATH_LEN", "the telemetry path name is too long";
    MetricNotFound = 1043, "DER_METRIC_NOT_FOUND", "the telemetry metric was not found";
    ShmemPerms = 1044, "DER_SHMEM_PERMS", "shared memory has the wrong permissions";
    HgFatal = 1045, "DER_HG_FATAL", "fatal network transport error";
    QuotaLimit = 1046, "DER_QUOTA_LIMIT", "the RPC quota is exhausted (not a storage quota)";
    // DAOS range (DER_ERR_DAOS_BASE = 2000).
    Io = 2001, "DER_IO", "I/O error";
    FreeMem = 2002, "DER_FREE_MEM", "memory could not be freed";
    Enoent = 2003, "DER_ENOENT", "the entry was not found";
    Notype = 2004, "DER_NOTYPE", "unknown object type";
    Noschema = 2005, "DER_NOSCHEMA", "unknown object schema";
    Nolocal = 2006, "DER_NOLOCAL", "the object is not local";
    Stale = 2007, "DER_STALE", "stale information (for example an old pool map)";
    Notleader = 2008, "DER_NOTLEADER", "this replica is not the service leader";
    TgtCreate = 2009, "DER_TGT_CREATE", "a storage target could not be created";
    EpRo = 2010, "DER_EP_RO", "the epoch is read-only";
    EpOld = 2011, "DER_EP_OLD", "the epoch is too old and its data was discarded";
    Key2big = 2012, "DER_KEY2BIG", "the key is too big";
    Rec2big = 2013, "DER_REC2BIG", "the record is too big";
    IoInval = 2014, "DER_IO_INVAL", "I/O buffers do not match the request";
    EqBusy = 2015, "DER_EQ_BUSY", "the event queue still has events";
    Domain = 2016, "DER_DOMAIN", "invalid fault domain";
    Shutdown = 2017, "DER_SHUTDOWN", "the service is shutting down";
    Inprogress = 2018, "DER_INPROGRESS", "the operation is still in progress";
    Notapplicable = 2019, "DER_NOTAPPLICABLE", "not applicable here";
    Notreplica = 2020, "DER_NOTREPLICA", "this engine is not a service replica";
    Csum = 2021, "DER_CSUM", "checksum mismatch";
    DfInval = 2022, "DER_DF_INVAL", "invalid on-disk format";
    DfIncompt = 2023, "DER_DF_INCOMPT", "incompatible on-disk format version";
    RecSize = 2024, "DER_REC_SIZE", "wrong record size";
    TxRestart = 2025, "DER_TX_RESTART", "the transaction must be restarted";
    DataLoss = 2026, "DER_DATA_LOSS", "data was lost or cannot be recovered";
    OpCanceled = 2027, "DER_OP_CANCELED", "the operation was canceled";
    TxBusy = 2028, "DER_TX_BUSY", "the transaction is busy";
    AgentIncompat = 2029, "DER_AGENT_INCOMPAT", "the DAOS agent is incompatible with this libdaos";
    NeedTx = 2030, "DER_NEED_TX", "the update must be done in a transaction";
    Rf = 2031, "DER_RF", "failures exceed the redundancy factor";
    FetchAgain = 2032, "DER_FETCH_AGAIN", "fetch again from another replica";
    TxUncertain = 2033, "DER_TX_UNCERTAIN", "the transaction outcome is unknown";
    AgentComm = 2034, "DER_AGENT_COMM", "could not talk to the DAOS agent";
    IdMismatch = 2035, "DER_ID_MISMATCH", "identifiers do not match";
    TgtRetry = 2036, "DER_TGT_RETRY", "retry on another target";
    Notsupported = 2037, "DER_NOTSUPPORTED", "the operation is not supported";
    ControlIncompat = 2038, "DER_CONTROL_INCOMPAT", "DAOS control components are incompatible";
    NoService = 2039, "DER_NO_SERVICE", "no service is available";
    TxIdReused = 2040, "DER_TX_ID_REUSED", "a transaction identifier was reused";
    UpdateAgain = 2041, "DER_UPDATE_AGAIN", "update again on another replica";
    NvmeIo = 2042, "DER_NVME_IO", "NVMe I/O error";
    NoCert = 2043, "DER_NO_CERT", "no certificate is available";
    BadCert = 2044, "DER_BAD_CERT", "the certificate is invalid";
    VosPartialUpdate = 2045, "DER_VOS_PARTIAL_UPDATE", "the storage update was partial";
    ChkptBusy = 2046, "DER_CHKPT_BUSY", "a checkpoint is running, try again";
    DivByZero = 2047, "DER_DIV_BY_ZERO", "division by zero";
    OverloadRetry = 2048, "DER_OVERLOAD_RETRY", "the service is overloaded, retry later";
    NotResume = 2049, "DER_NOT_RESUME", "the check cannot resume where it stopped";
    ContNonexist = 2050, "DER_CONT_NONEXIST", "the container does not exist";
    /// Added in DAOS 2.8.
    ContDestroying = 2051, "DER_CONT_DESTROYING", "the container is being destroyed";
    /// Added in DAOS 2.8.
    Ignore = 2052, "DER_IGNORE", "a failure the caller may ignore";
}

impl Der {
    /// The value libdaos returns for this code (negative, e.g. -1005).
    pub const fn rc(self) -> i32 {
        -(self as i32)
    }
}

impl fmt::Display for Der {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({})", self.name(), self.rc())
    }
}

/// C name of a Linux errno (`"ENOENT"` for 2), or `None` for numbers not listed.
///
/// The list covers the errnos libdfs, libduns and the kernel return for the operations this
/// crate wraps.
pub fn errno_name(errno: i32) -> Option<&'static str> {
    Some(match errno {
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::ESRCH => "ESRCH",
        libc::EINTR => "EINTR",
        libc::EIO => "EIO",
        libc::ENXIO => "ENXIO",
        libc::E2BIG => "E2BIG",
        libc::EBADF => "EBADF",
        libc::EAGAIN => "EAGAIN",
        libc::ENOMEM => "ENOMEM",
        libc::EACCES => "EACCES",
        libc::EFAULT => "EFAULT",
        libc::EBUSY => "EBUSY",
        libc::EEXIST => "EEXIST",
        libc::EXDEV => "EXDEV",
        libc::ENODEV => "ENODEV",
        libc::ENOTDIR => "ENOTDIR",
        libc::EISDIR => "EISDIR",
        libc::EINVAL => "EINVAL",
        libc::ENFILE => "ENFILE",
        libc::EMFILE => "EMFILE",
        libc::ENOTTY => "ENOTTY",
        libc::EFBIG => "EFBIG",
        libc::ENOSPC => "ENOSPC",
        libc::ESPIPE => "ESPIPE",
        libc::EROFS => "EROFS",
        libc::EMLINK => "EMLINK",
        libc::EPIPE => "EPIPE",
        libc::ERANGE => "ERANGE",
        libc::EDEADLK => "EDEADLK",
        libc::ENAMETOOLONG => "ENAMETOOLONG",
        libc::ENOLCK => "ENOLCK",
        libc::ENOSYS => "ENOSYS",
        libc::ENOTEMPTY => "ENOTEMPTY",
        libc::ELOOP => "ELOOP",
        libc::ENODATA => "ENODATA",
        libc::ENOTSUP => "ENOTSUP",
        libc::EOVERFLOW => "EOVERFLOW",
        libc::ECANCELED => "ECANCELED",
        libc::ETIMEDOUT => "ETIMEDOUT",
        libc::ECONNREFUSED => "ECONNREFUSED",
        libc::ECONNRESET => "ECONNRESET",
        libc::EHOSTUNREACH => "EHOSTUNREACH",
        libc::ENETUNREACH => "ENETUNREACH",
        libc::ENOTCONN => "ENOTCONN",
        libc::ESTALE => "ESTALE",
        libc::EPROTO => "EPROTO",
        libc::EALREADY => "EALREADY",
        libc::EINPROGRESS => "EINPROGRESS",
        libc::EDQUOT => "EDQUOT",
        libc::ENOTSOCK => "ENOTSOCK",
        libc::EADDRINUSE => "EADDRINUSE",
        libc::ESHUTDOWN => "ESHUTDOWN",
        libc::ERESTART => "ERESTART",
        _ => return None,
    })
}

/// Who produced an [`Error`]: the C library, or this crate before (or instead of) calling it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// A C function returned the code; `op` is its name.
    Daos,
    /// This crate raised it (argument check, state of its own handles); `op` names the Rust
    /// method.
    Crate,
}

/// Which numbering an [`Error`]'s code belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Domain {
    /// Negative DER code (libdaos, or a check made by this crate).
    Der,
    /// Positive errno (libdfs, libduns).
    Errno,
}

/// A failed DAOS operation: the code, the C function that reported it, and what it acted on.
///
/// `code()` is exactly what the C library returned: a negative DER code from libdaos
/// (-1005 for `DER_NONEXIST`), or a positive errno from libdfs/libduns (2 for `ENOENT`).
/// Checks this crate makes before calling C (an invalid label, a string with a NUL byte)
/// report `-DER_INVAL` like libdaos would, with `op` naming the Rust method that refused the
/// argument; [`Error::is_from_daos`] tells the two apart.
#[derive(Clone, PartialEq, Eq)]
pub struct Error {
    code: i32,
    domain: Domain,
    origin: Origin,
    op: &'static str,
    context: Option<Cow<'static, str>>,
}

impl Error {
    /// An error from a libdaos return value (`rc`, normally a negative DER code).
    ///
    /// A positive `rc` is taken as a DER number too (some callers negate), so
    /// `from_rc(op, 1005)` and `from_rc(op, -1005)` are the same error.
    pub fn from_rc(op: &'static str, rc: i32) -> Error {
        Error {
            code: -(rc.saturating_abs()),
            domain: Domain::Der,
            origin: Origin::Daos,
            op,
            context: None,
        }
    }

    /// An error for a known DER code.
    pub fn from_der(op: &'static str, der: Der) -> Error {
        Error::from_rc(op, der.rc())
    }

    /// An error from a libdfs/libduns return value (a positive errno).
    ///
    /// A negative value is taken as a negated errno (older DFS calls returned `-errno`).
    pub fn from_errno(op: &'static str, errno: i32) -> Error {
        Error {
            code: errno.saturating_abs(),
            domain: Domain::Errno,
            origin: Origin::Daos,
            op,
            context: None,
        }
    }

    /// `-DER_INVAL` raised by this crate's own argument checks, before any C call.
    ///
    /// `op` names the Rust method that refused the argument (`"Pool::connect"`) and `why`
    /// says what is wrong with it.
    pub fn invalid(op: &'static str, why: impl Into<Cow<'static, str>>) -> Error {
        Error::raised(op, Der::Inval, why)
    }

    /// An error this crate raises itself, without a C call returning it: `der` is the code
    /// libdaos would use for the situation (`DER_BUSY` for a pool whose clones are still
    /// alive), `op` the Rust method, `why` the explanation.
    pub fn raised(op: &'static str, der: Der, why: impl Into<Cow<'static, str>>) -> Error {
        Error {
            origin: Origin::Crate,
            ..Error::from_der(op, der)
        }
        .with_context(why)
    }

    /// Whether a DAOS C function returned this error (then [`Error::op`] is its name), as
    /// opposed to this crate raising it before or instead of calling DAOS.
    pub fn is_from_daos(&self) -> bool {
        self.origin == Origin::Daos
    }

    /// Adds (or replaces) what the operation was applied to, e.g. `container "vol-1"`.
    pub fn with_context(mut self, context: impl Into<Cow<'static, str>>) -> Error {
        self.context = Some(context.into());
        self
    }

    /// The code as the C library returned it: negative DER code, or positive errno.
    pub fn code(&self) -> i32 {
        self.code
    }

    /// The DER code, when the error came from libdaos (or from this crate's checks).
    pub fn der(&self) -> Option<Der> {
        match self.domain {
            Domain::Der => Der::from_code(self.code),
            Domain::Errno => None,
        }
    }

    /// The errno, when the error came from libdfs or libduns.
    pub fn errno(&self) -> Option<i32> {
        match self.domain {
            Domain::Der => None,
            Domain::Errno => Some(self.code),
        }
    }

    /// The C name of the code: `"DER_NONEXIST"`, `"ENOENT"`, or `"DER_UNKNOWN"` /
    /// `"EUNKNOWN"` for numbers this crate does not know.
    pub fn name(&self) -> &'static str {
        match self.domain {
            Domain::Der => self.der().map_or("DER_UNKNOWN", Der::name),
            Domain::Errno => errno_name(self.code).unwrap_or("EUNKNOWN"),
        }
    }

    /// A description of the code in plain words.
    pub fn description(&self) -> Cow<'static, str> {
        match self.domain {
            Domain::Der => match self.der() {
                Some(der) => Cow::Borrowed(der.description()),
                None => Cow::Owned(format!("unknown DAOS error {}", self.code)),
            },
            Domain::Errno => Cow::Owned(strerror(self.code)),
        }
    }

    /// The C function that failed, e.g. `"daos_cont_create_with_label"`; for an error this
    /// crate raised itself ([`Error::is_from_daos`] false), the Rust method, e.g.
    /// `"Pool::create_container"`.
    pub fn op(&self) -> &'static str {
        self.op
    }

    /// What the operation acted on, if recorded.
    pub fn context(&self) -> Option<&str> {
        self.context.as_deref()
    }

    fn is_der(&self, ders: &[Der]) -> bool {
        self.der().is_some_and(|d| ders.contains(&d))
    }

    fn is_errno(&self, errnos: &[i32]) -> bool {
        self.errno().is_some_and(|e| errnos.contains(&e))
    }

    /// The pool, container, attribute, snapshot or path does not exist:
    /// `DER_NONEXIST`, `DER_CONT_NONEXIST`, `DER_ENOENT`, `ENOENT`.
    pub fn is_not_found(&self) -> bool {
        self.is_der(&[Der::Nonexist, Der::ContNonexist, Der::Enoent])
            || self.is_errno(&[libc::ENOENT])
    }

    /// The label or entry is already taken: `DER_EXIST`, `EEXIST`.
    pub fn is_exists(&self) -> bool {
        self.is_der(&[Der::Exist]) || self.is_errno(&[libc::EEXIST])
    }

    /// Something still uses the object (open handles, a mount): `DER_BUSY`, `DER_EQ_BUSY`,
    /// `EBUSY`. A destroy without `force` of a container that dfuse holds open gets this.
    pub fn is_busy(&self) -> bool {
        self.is_der(&[Der::Busy, Der::EqBusy]) || self.is_errno(&[libc::EBUSY])
    }

    /// The caller's identity may not do this: `DER_NO_PERM`, `DER_EP_RO`, `EPERM`, `EACCES`.
    pub fn is_no_permission(&self) -> bool {
        self.is_der(&[Der::NoPerm, Der::EpRo]) || self.is_errno(&[libc::EPERM, libc::EACCES])
    }

    /// The pool is full: `DER_NOSPACE`, `ENOSPC`, `EDQUOT`.
    pub fn is_no_space(&self) -> bool {
        self.is_der(&[Der::Nospace]) || self.is_errno(&[libc::ENOSPC, libc::EDQUOT])
    }

    /// The request itself is wrong (bad label, bad property, bad name): `DER_INVAL`,
    /// `DER_BADPATH`, `DER_NOTDIR`, `EINVAL`, `ENAMETOOLONG`, `ENOTDIR`.
    pub fn is_invalid(&self) -> bool {
        self.is_der(&[Der::Inval, Der::Badpath, Der::Notdir])
            || self.is_errno(&[libc::EINVAL, libc::ENAMETOOLONG, libc::ENOTDIR])
    }

    /// The operation is not implemented by this DAOS version: `DER_NOSYS`,
    /// `DER_NOTSUPPORTED`, `ENOSYS`, `ENOTSUP` (named snapshots on 2.6/2.8, for example).
    pub fn is_not_supported(&self) -> bool {
        self.is_der(&[Der::Nosys, Der::Notsupported])
            || self.is_errno(&[libc::ENOSYS, libc::ENOTSUP])
    }

    /// The operation ran out of time: `DER_TIMEDOUT`, `ETIMEDOUT`.
    pub fn is_timed_out(&self) -> bool {
        self.is_der(&[Der::Timedout]) || self.is_errno(&[libc::ETIMEDOUT])
    }

    /// The DAOS agent, the network or the DAOS service is (for now) out of reach; retrying later
    /// with backoff is the right response.
    ///
    /// True for `DER_AGENT_COMM` (agent socket missing), `DER_UNREACH`, transport errors
    /// (`DER_HG`, `DER_HG_FATAL`, `DER_NOREPLY`), service churn (`DER_NOTLEADER`,
    /// `DER_NOTREPLICA`, `DER_NO_SERVICE`, `DER_OOG`, `DER_GRPVER`, `DER_EXCLUDED`,
    /// `DER_SHUTDOWN`, `DER_STALE`, `DER_INPROGRESS`, `DER_AGAIN`, `DER_TX_RESTART`,
    /// `DER_OVERLOAD_RETRY`), `DER_UNINIT`, and the errnos `EHOSTUNREACH`, `ENETUNREACH`,
    /// `ECONNREFUSED`, `ESHUTDOWN`, `EAGAIN`, `ESTALE`.
    ///
    /// `DER_MISC` counts only when `daos_init` or `daos_pool_connect2` returned it: at those
    /// points libdaos talks to nothing but the agent, and `DER_MISC` is how it reports a socket
    /// that refuses connections (agent died and left its socket file behind). Elsewhere
    /// `DER_MISC` is an unclassified failure and not assumed to be transient.
    pub fn is_unavailable(&self) -> bool {
        const DERS: &[Der] = &[
            Der::AgentComm,
            Der::Unreach,
            Der::Hg,
            Der::HgFatal,
            Der::Noreply,
            Der::Notleader,
            Der::Notreplica,
            Der::NoService,
            Der::Oog,
            Der::Grpver,
            Der::Excluded,
            Der::Shutdown,
            Der::Stale,
            Der::Inprogress,
            Der::Again,
            Der::TxRestart,
            Der::OverloadRetry,
            Der::Uninit,
        ];
        let misc_from_agent = self.der() == Some(Der::Misc)
            && self.origin == Origin::Daos
            && matches!(self.op, "daos_init" | "daos_pool_connect2" | "dfs_init");
        misc_from_agent
            || self.is_der(DERS)
            || self.is_errno(&[
                libc::EHOSTUNREACH,
                libc::ENETUNREACH,
                libc::ECONNREFUSED,
                libc::ESHUTDOWN,
                libc::EAGAIN,
                libc::ESTALE,
            ])
    }
}

fn strerror(errno: i32) -> String {
    let text = std::io::Error::from_raw_os_error(errno).to_string();
    // std appends " (os error N)"; the name is printed next to it already.
    match text.rfind(" (os error ") {
        Some(cut) => text[..cut].to_string(),
        None => text,
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.origin == Origin::Crate {
            // The context is the whole explanation; the description of the code would only
            // repeat it less precisely.
            return write!(
                f,
                "{}: {} ({}({}), raised by the Rust bindings, not returned by DAOS)",
                self.op,
                self.context
                    .as_deref()
                    .unwrap_or(self.description().as_ref()),
                self.name(),
                self.code
            );
        }
        f.write_str(self.op)?;
        if let Some(context) = &self.context {
            write!(f, " ({context})")?;
        }
        write!(
            f,
            ": {}({}): {}",
            self.name(),
            self.code,
            self.description()
        )
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("op", &self.op)
            .field("code", &self.code)
            .field("name", &self.name())
            .field("context", &self.context)
            .field("from_daos", &self.is_from_daos())
            .finish()
    }
}

impl std::error::Error for Error {}

/// Converts a libdaos return value into a `Result`.
pub(crate) fn check_rc(op: &'static str, rc: i32) -> Result<()> {
    if rc == 0 {
        Ok(())
    } else {
        Err(Error::from_rc(op, rc))
    }
}

/// Converts a libdfs/libduns return value (errno) into a `Result`.
pub(crate) fn check_errno(op: &'static str, rc: i32) -> Result<()> {
    if rc == 0 {
        Ok(())
    } else {
        Err(Error::from_errno(op, rc))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_consistent() {
        for (i, der) in Der::ALL.iter().enumerate() {
            assert_eq!(Der::from_code(*der as i32), Some(*der));
            assert_eq!(Der::from_code(der.rc()), Some(*der));
            assert_eq!(Der::from_name(der.name()), Some(*der));
            assert!(der.name().starts_with("DER_"));
            assert!(!der.description().is_empty());
            if i > 0 {
                assert!(
                    (Der::ALL[i - 1] as i32) < (*der as i32),
                    "table out of order at {der:?}"
                );
            }
        }
        assert_eq!(Der::ALL.len(), 46 + 52);
        assert_eq!(Der::from_code(-1000), None);
        assert_eq!(Der::from_code(0), None);
    }

    #[test]
    fn well_known_values() {
        assert_eq!(Der::NoPerm.rc(), -1001);
        assert_eq!(Der::Nonexist as i32, 1005);
        assert_eq!(Der::Misc as i32, 1025);
        assert_eq!(Der::AgentComm as i32, 2034);
        assert_eq!(Der::ContNonexist as i32, 2050);
        assert_eq!(Der::Trunc.name(), "DER_TRUNC");
        assert_eq!(Der::Nosys.to_string(), "DER_NOSYS(-1010)");
    }

    #[test]
    fn der_errors() {
        let e = Error::from_rc("daos_cont_create_with_label", -1004).with_context("label \"a\"");
        assert_eq!(e.code(), -1004);
        assert_eq!(e.der(), Some(Der::Exist));
        assert_eq!(e.errno(), None);
        assert_eq!(e.name(), "DER_EXIST");
        assert!(e.is_exists());
        assert!(!e.is_not_found());
        assert_eq!(e.op(), "daos_cont_create_with_label");
        assert_eq!(e.context(), Some("label \"a\""));
        assert!(e.to_string().contains("DER_EXIST(-1004)"));
        assert_eq!(Error::from_rc("x", 1005), Error::from_rc("x", -1005));
    }

    #[test]
    fn errno_errors() {
        let e = Error::from_errno("dfs_lookup", libc::ENOENT);
        assert_eq!(e.code(), 2);
        assert_eq!(e.der(), None);
        assert_eq!(e.errno(), Some(2));
        assert_eq!(e.name(), "ENOENT");
        assert!(e.is_not_found());
        assert_eq!(
            e.to_string(),
            "dfs_lookup: ENOENT(2): No such file or directory"
        );
        assert_eq!(Error::from_errno("x", 9999).name(), "EUNKNOWN");
    }

    #[test]
    fn unknown_der() {
        let e = Error::from_rc("daos_x", -4242);
        assert_eq!(e.der(), None);
        assert_eq!(e.name(), "DER_UNKNOWN");
        assert!(e.to_string().contains("unknown DAOS error -4242"));
    }

    #[test]
    fn predicates() {
        let der = |d: Der| Error::from_der("daos_op", d);
        let errno = |e: i32| Error::from_errno("dfs_op", e);
        assert!(der(Der::Nonexist).is_not_found());
        assert!(der(Der::ContNonexist).is_not_found());
        assert!(errno(libc::ENOENT).is_not_found());
        assert!(errno(libc::EEXIST).is_exists());
        assert!(der(Der::Busy).is_busy());
        assert!(errno(libc::EBUSY).is_busy());
        assert!(der(Der::NoPerm).is_no_permission());
        assert!(errno(libc::EACCES).is_no_permission());
        assert!(der(Der::Nospace).is_no_space());
        assert!(errno(libc::ENOSPC).is_no_space());
        assert!(der(Der::Inval).is_invalid());
        assert!(errno(libc::EINVAL).is_invalid());
        assert!(der(Der::Nosys).is_not_supported());
        assert!(der(Der::Timedout).is_timed_out());
        assert!(der(Der::AgentComm).is_unavailable());
        assert!(der(Der::Unreach).is_unavailable());
        assert!(errno(libc::ECONNREFUSED).is_unavailable());
        assert!(!der(Der::Inval).is_unavailable());
        // DER_MISC is transient only where libdaos talks to the agent alone.
        assert!(Error::from_der("daos_init", Der::Misc).is_unavailable());
        assert!(Error::from_der("daos_pool_connect2", Der::Misc).is_unavailable());
        assert!(!Error::from_der("daos_cont_query", Der::Misc).is_unavailable());
        // Nothing is two things at once.
        assert!(!der(Der::Busy).is_not_found());
        assert!(!der(Der::Nonexist).is_busy());
    }

    #[test]
    fn raised_errors_say_daos_did_not_return_them() {
        let e = Error::invalid("Pool::connect", "pool \"a b\" is not a label");
        assert!(!e.is_from_daos());
        assert!(e.is_invalid());
        assert_eq!(e.op(), "Pool::connect");
        assert_eq!(
            e.to_string(),
            "Pool::connect: pool \"a b\" is not a label \
             (DER_INVAL(-1003), raised by the Rust bindings, not returned by DAOS)"
        );
        let busy = Error::raised("Pool::disconnect", Der::Busy, "clones alive");
        assert!(busy.is_busy() && !busy.is_from_daos());
        assert!(Error::from_rc("daos_init", -1003).is_from_daos());
        assert!(Error::from_errno("dfs_open", 2).is_from_daos());
        // Same code, different origin: not the same error.
        assert_ne!(
            Error::from_der("x", Der::Inval).with_context("y"),
            Error::invalid("x", "y")
        );
        // DER_MISC means "agent refused us" only when libdaos said so.
        assert!(!Error::raised("daos_init", Der::Misc, "made up").is_unavailable());
    }
}
