//! DAOS error numbers, their names and descriptions, and the errno mapping.
//!
//! Mirrors `src/include/daos_errno.h` (names, numbers, description texts) and the static inline
//! `daos_errno2der` / `daos_der2errno` of `src/include/daos/common.h` (daos-stack/daos v2.8.0).

use std::ffi::CStr;
use std::fmt;

/// A negative DAOS error code as the C API returns it (`-DER_NONEXIST` is `Der(-1005)`).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Der(pub i32);

/// Result of an emulated DAOS operation.
pub type DerResult<T> = Result<T, Der>;

macro_rules! der_table {
    ($($name:ident = $value:expr, $desc:expr;)*) => {
        impl Der {
            $(
                #[doc = $desc]
                pub const $name: Der = Der(-$value);
            )*
        }

        /// (code, C name, C description) of every known code.
        static TABLE: &[(i32, &CStr, &CStr)] = &[
            $(($value, to_cstr(concat!("DER_", stringify!($name), "\0")), to_cstr(concat!($desc, "\0"))),)*
        ];
    };
}

const fn to_cstr(s: &'static str) -> &'static CStr {
    match CStr::from_bytes_with_nul(s.as_bytes()) {
        Ok(c) => c,
        Err(_) => panic!("not NUL-terminated"),
    }
}

der_table! {
    NO_PERM = 1001, "Operation not permitted";
    NO_HDL = 1002, "Invalid handle";
    INVAL = 1003, "Invalid parameters";
    EXIST = 1004, "Entity already exists";
    NONEXIST = 1005, "The specified entity does not exist";
    UNREACH = 1006, "Unreachable node";
    NOSPACE = 1007, "No space on storage target";
    ALREADY = 1008, "Operation already performed";
    NOMEM = 1009, "Out of memory";
    NOSYS = 1010, "Function not implemented";
    TIMEDOUT = 1011, "Time out";
    BUSY = 1012, "Device or resource busy";
    AGAIN = 1013, "Try again";
    PROTO = 1014, "Incompatible protocol";
    UNINIT = 1015, "Device or resource not initialized";
    TRUNC = 1016, "Buffer too short";
    OVERFLOW = 1017, "Data too long for defined data type or buffer size";
    CANCELED = 1018, "Operation canceled";
    OOG = 1019, "Out of group or member list";
    HG = 1020, "Transport layer mercury error";
    UNREG = 1021, "RPC or protocol version not registered";
    ADDRSTR_GEN = 1022, "Failed to generate an address string";
    PMIX = 1023, "PMIx layer error";
    IVCB_FORWARD = 1024, "Incast variable unavailable locally. Must forward";
    MISC = 1025, "Miscellaneous error";
    BADPATH = 1026, "Bad path name";
    NOTDIR = 1027, "Not a directory";
    CORPC_INCOMPLETE = 1028, "Collective RPC failed";
    NO_RAS_RANK = 1029, "No rank is subscribed to RAS";
    NOTATTACH = 1030, "Service group not attached";
    MISMATCH = 1031, "Version mismatch";
    EXCLUDED = 1032, "Rank has been excluded";
    NOREPLY = 1033, "User provided RPC handler did not send reply back";
    DOS = 1034, "Denial of service";
    BAD_TARGET = 1035, "Incorrect target for the RPC";
    GRPVER = 1036, "Group versioning mismatch";
    HLC_SYNC = 1037, "HLC synchronization error";
    NO_SHMEM = 1038, "Not enough shared memory free";
    ADD_METRIC_FAILED = 1039, "Failed to add the specified metric";
    DURATION_MISMATCH = 1040, "Duration end not paired with duration start";
    OP_NOT_PERMITTED = 1041, "Operation not permitted for metric type provided";
    EXCEEDS_PATH_LEN = 1042, "Path name exceeds permitted length";
    METRIC_NOT_FOUND = 1043, "Read failed because metric not found";
    SHMEM_PERMS = 1044, "Unable to access shared memory segment due to incompatible user or group permissions";
    HG_FATAL = 1045, "Fatal transport layer mercury error";
    QUOTA_LIMIT = 1046, "Quota limit reached on the requested resource";
    IO = 2001, "I/O error";
    FREE_MEM = 2002, "Memory free error";
    ENOENT = 2003, "Entity not found";
    NOTYPE = 2004, "Unknown object type";
    NOSCHEMA = 2005, "Unknown object schema";
    NOLOCAL = 2006, "Object is not local";
    STALE = 2007, "Stale pool map version";
    NOTLEADER = 2008, "Not service leader";
    TGT_CREATE = 2009, "Target create error";
    EP_RO = 2010, "Epoch is read only";
    EP_OLD = 2011, "Epoch is too old. All data have been recycled";
    KEY2BIG = 2012, "Key is too large";
    REC2BIG = 2013, "Record is too large";
    IO_INVAL = 2014, "I/O buffers do not match object extents";
    EQ_BUSY = 2015, "Event queue is busy";
    DOMAIN = 2016, "Domain of cluster component do not match";
    SHUTDOWN = 2017, "Service should shut down";
    INPROGRESS = 2018, "Operation now in progress";
    NOTAPPLICABLE = 2019, "Not applicable";
    NOTREPLICA = 2020, "Not a service replica";
    CSUM = 2021, "Checksum error";
    DF_INVAL = 2022, "Unsupported durable format";
    DF_INCOMPT = 2023, "Incompatible durable format version";
    REC_SIZE = 2024, "Record size error";
    TX_RESTART = 2025, "Transaction should restart";
    DATA_LOSS = 2026, "Data lost or not recoverable";
    OP_CANCELED = 2027, "Operation canceled";
    TX_BUSY = 2028, "TX is not committed";
    AGENT_INCOMPAT = 2029, "Agent is incompatible with libdaos";
    NEED_TX = 2030, "To be handled via distributed transaction";
    RF = 2031, "Failures exceed RF";
    FETCH_AGAIN = 2032, "Fetch again";
    TX_UNCERTAIN = 2033, "TX status is uncertain";
    AGENT_COMM = 2034, "Agent communication error";
    ID_MISMATCH = 2035, "ID mismatch";
    TGT_RETRY = 2036, "Retry with other target";
    NOTSUPPORTED = 2037, "Operation not supported";
    CONTROL_INCOMPAT = 2038, "Control protocol incompatible";
    NO_SERVICE = 2039, "No service available";
    TX_ID_REUSED = 2040, "The TX ID may be reused";
    UPDATE_AGAIN = 2041, "Update again";
    NVME_IO = 2042, "NVMe I/O error";
    NO_CERT = 2043, "Unable to access one or more certificates";
    BAD_CERT = 2044, "Invalid certificate";
    VOS_PARTIAL_UPDATE = 2045, "VOS partial update error";
    CHKPT_BUSY = 2046, "Checkpointing is busy";
    DIV_BY_ZERO = 2047, "Division by zero";
    OVERLOAD_RETRY = 2048, "retry later because of overloaded service";
    NOT_RESUME = 2049, "Cannot resume former DAOS check instance";
    CONT_NONEXIST = 2050, "The specified container does not exist";
    CONT_DESTROYING = 2051, "The container is being destroyed";
    IGNORE = 2052, "Operation ignored";
}

impl Der {
    /// `DER_SUCCESS`.
    pub const SUCCESS: Der = Der(0);

    /// The C return value (negative, 0 for success).
    pub fn rc(self) -> i32 {
        self.0
    }

    /// `"DER_NONEXIST"`; `"DER_SUCCESS"` for 0 and `"DER_UNKNOWN"` for anything unknown.
    pub fn name(self) -> &'static CStr {
        errstr(self.0)
    }

    /// The errno libdfs/libduns report for this code (`daos_der2errno`).
    pub fn to_errno(self) -> i32 {
        der2errno(self.0)
    }
}

impl fmt::Debug for Der {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({})", self.name().to_string_lossy(), self.0)
    }
}

impl fmt::Display for Der {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

fn lookup(rc: i32) -> Option<&'static (i32, &'static CStr, &'static CStr)> {
    let code = rc.checked_neg()?;
    TABLE.iter().find(|(c, _, _)| *c == code)
}

/// `d_errstr`: the name of a (negative) code.
pub fn errstr(rc: i32) -> &'static CStr {
    if rc == 0 {
        return c"DER_SUCCESS";
    }
    lookup(rc)
        .map(|(_, name, _)| *name)
        .unwrap_or(c"DER_UNKNOWN")
}

/// `d_errdesc` for a known code; `None` for an unknown one (the caller formats that case).
pub fn errdesc(rc: i32) -> Option<&'static CStr> {
    if rc == 0 {
        return Some(c"Success");
    }
    lookup(rc).map(|(_, _, desc)| *desc)
}

/// `daos_errno2der`: a positive errno to a negative DER code.
pub fn errno2der(errno: i32) -> Der {
    match errno {
        0 => Der::SUCCESS,
        libc::EPERM | libc::EACCES => Der::NO_PERM,
        libc::ENOMEM => Der::NOMEM,
        libc::EDQUOT | libc::ENOSPC => Der::NOSPACE,
        libc::EEXIST => Der::EXIST,
        libc::ENOENT => Der::NONEXIST,
        libc::ECANCELED => Der::CANCELED,
        libc::EBUSY => Der::BUSY,
        libc::EOVERFLOW => Der::OVERFLOW,
        libc::EBADF => Der::NO_HDL,
        libc::ENOSYS => Der::NOSYS,
        libc::ETIMEDOUT => Der::TIMEDOUT,
        libc::EAGAIN => Der::AGAIN,
        libc::EPROTO => Der::PROTO,
        libc::EINVAL => Der::INVAL,
        libc::ENOTDIR => Der::NOTDIR,
        libc::EIO => Der::IO,
        libc::ENOTSUP => Der::NOTSUPPORTED,
        _ => Der::MISC,
    }
}

/// `daos_der2errno`: a negative DER code to the positive errno libdfs returns.
pub fn der2errno(rc: i32) -> i32 {
    match Der(rc) {
        Der::SUCCESS => 0,
        Der::NO_PERM | Der::EP_RO | Der::EP_OLD => libc::EPERM,
        Der::ENOENT | Der::NONEXIST => libc::ENOENT,
        Der::INVAL | Der::NOTYPE | Der::NOSCHEMA | Der::NOLOCAL | Der::NO_HDL | Der::IO_INVAL => {
            libc::EINVAL
        }
        Der::KEY2BIG | Der::REC2BIG => libc::E2BIG,
        Der::EXIST => libc::EEXIST,
        Der::UNREACH => libc::EHOSTUNREACH,
        Der::NOSPACE => libc::ENOSPC,
        Der::ALREADY => libc::EALREADY,
        Der::DOS | Der::NOMEM => libc::ENOMEM,
        Der::TIMEDOUT => libc::ETIMEDOUT,
        Der::BUSY | Der::EQ_BUSY => libc::EBUSY,
        Der::AGAIN => libc::EAGAIN,
        Der::PROTO => libc::EPROTO,
        Der::IO => libc::EIO,
        Der::CANCELED => libc::ECANCELED,
        Der::OVERFLOW => libc::EOVERFLOW,
        Der::BADPATH | Der::NOTDIR => libc::ENOTDIR,
        Der::STALE => libc::ESTALE,
        Der::TX_RESTART => libc::ERESTART,
        Der::NOTSUPPORTED => libc::ENOTSUP,
        _ => libc::EIO,
    }
}

/// An `io::Error` as the DER code libdaos would report for it.
pub fn from_io(e: &std::io::Error) -> Der {
    errno2der(e.raw_os_error().unwrap_or(libc::EIO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_descriptions() {
        assert_eq!(errstr(-1003), c"DER_INVAL");
        assert_eq!(errstr(0), c"DER_SUCCESS");
        assert_eq!(errstr(5), c"DER_UNKNOWN");
        assert_eq!(errstr(-999_999), c"DER_UNKNOWN");
        assert_eq!(errstr(-2034), c"DER_AGENT_COMM");
        assert_eq!(errdesc(-1005), Some(c"The specified entity does not exist"));
        assert_eq!(errdesc(-4242), None);
        assert_eq!(format!("{}", Der::BUSY), "DER_BUSY(-1012)");
    }

    #[test]
    fn errno_round_trips_where_daos_defines_both_ways() {
        for e in [
            libc::ENOENT,
            libc::EEXIST,
            libc::EINVAL,
            libc::ENOSPC,
            libc::EBUSY,
            libc::EIO,
        ] {
            assert_eq!(der2errno(errno2der(e).0), e);
        }
        assert_eq!(errno2der(libc::ECONNREFUSED), Der::MISC);
        assert_eq!(der2errno(Der::NO_HDL.0), libc::EINVAL);
        assert_eq!(der2errno(Der::AGENT_COMM.0), libc::EIO);
    }
}
