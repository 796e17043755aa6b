//! The one place DAOS errors become gRPC status codes.
//!
//! DAOS defines no gRPC mapping; this follows the CSI error tables (see
//! daos-facts §7): a missing entity is NOT_FOUND, a busy container (still
//! mounted somewhere) FAILED_PRECONDITION, an unreachable agent or service
//! UNAVAILABLE (the CO retries with back-off), anything unexplained INTERNAL.
//! RPC handlers decide where a code has a special meaning (DeleteVolume of a
//! missing volume is OK), never by re-mapping here.

use daos::{Der, Error};
use tonic::{Code, Status};

/// gRPC code for a DAOS (negative DER) or DFS (positive errno) error.
pub fn code_for(err: &Error) -> Code {
    // The agent-down classification depends on which call failed (DER_MISC
    // from daos_init means "agent refused"), which daos::Error knows.
    if err.is_unavailable() {
        return Code::Unavailable;
    }
    match err.der() {
        Some(der) => code_for_der(der),
        None => err.errno().map_or(Code::Internal, code_for_errno),
    }
}

pub fn code_for_der(der: Der) -> Code {
    use Der::*;
    match der {
        Inval | Notdir | Badpath | Overflow | Trunc => Code::InvalidArgument,
        Nonexist | Enoent | ContNonexist => Code::NotFound,
        Exist => Code::AlreadyExists,
        NoPerm | EpRo => Code::PermissionDenied,
        Nospace | Nomem | Dos | OverloadRetry => Code::ResourceExhausted,
        Busy | EqBusy => Code::FailedPrecondition,
        Unreach | Hg | HgFatal | Noreply | Oog | Notleader | Notreplica | NoService | Again
        | Stale | Grpver | Excluded | Shutdown | AgentComm | Inprogress | TxRestart | Uninit
        | ContDestroying => Code::Unavailable,
        Timedout => Code::DeadlineExceeded,
        Canceled | OpCanceled => Code::Aborted,
        Nosys | Notsupported => Code::Unimplemented,
        AgentIncompat | ControlIncompat | BadCert | NoCert | Rf | DataLoss => {
            Code::FailedPrecondition
        }
        _ => Code::Internal,
    }
}

pub fn code_for_errno(errno: i32) -> Code {
    match errno {
        libc::EINVAL | libc::ENAMETOOLONG | libc::ENOTDIR => Code::InvalidArgument,
        libc::ENOENT => Code::NotFound,
        libc::EEXIST => Code::AlreadyExists,
        libc::EPERM | libc::EACCES => Code::PermissionDenied,
        libc::ENOSPC | libc::EDQUOT | libc::ENOMEM => Code::ResourceExhausted,
        libc::EBUSY => Code::FailedPrecondition,
        libc::EAGAIN
        | libc::EHOSTUNREACH
        | libc::ENETUNREACH
        | libc::ECONNREFUSED
        | libc::ESHUTDOWN
        | libc::ESTALE
        | libc::ENOTCONN => Code::Unavailable,
        libc::ETIMEDOUT => Code::DeadlineExceeded,
        libc::ECANCELED => Code::Aborted,
        libc::ENOSYS | libc::ENOTSUP => Code::Unimplemented,
        _ => Code::Internal,
    }
}

/// A status for `err`, with `what` saying what the driver was doing.
pub fn daos_status(what: impl std::fmt::Display, err: &Error) -> Status {
    let code = code_for(err);
    let hint = match code {
        Code::Unavailable => " (is the DAOS agent running and reachable? the call will be retried)",
        _ => "",
    };
    Status::new(code, format!("{what}: {err}{hint}"))
}

/// INTERNAL for a local I/O failure, keeping the OS error text.
pub fn io_status(what: impl std::fmt::Display, err: &std::io::Error) -> Status {
    let code = match err.kind() {
        std::io::ErrorKind::TimedOut => Code::DeadlineExceeded,
        std::io::ErrorKind::PermissionDenied => Code::PermissionDenied,
        _ => Code::Internal,
    };
    Status::new(code, format!("{what}: {err}"))
}

/// INTERNAL for a background task that panicked or was cancelled.
pub fn join_status(what: &str, err: tokio::task::JoinError) -> Status {
    Status::internal(format!("{what}: worker task failed: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_table() {
        let table = [
            (Der::Inval, Code::InvalidArgument),
            (Der::Overflow, Code::InvalidArgument),
            (Der::Nonexist, Code::NotFound),
            (Der::ContNonexist, Code::NotFound),
            (Der::Exist, Code::AlreadyExists),
            (Der::NoPerm, Code::PermissionDenied),
            (Der::Nospace, Code::ResourceExhausted),
            (Der::Nomem, Code::ResourceExhausted),
            (Der::Busy, Code::FailedPrecondition),
            (Der::AgentComm, Code::Unavailable),
            (Der::Unreach, Code::Unavailable),
            (Der::Timedout, Code::DeadlineExceeded),
            (Der::Canceled, Code::Aborted),
            (Der::Nosys, Code::Unimplemented),
            (Der::BadCert, Code::FailedPrecondition),
            (Der::Rf, Code::FailedPrecondition),
            (Der::NoHdl, Code::Internal),
            (Der::Io, Code::Internal),
            (Der::Csum, Code::Internal),
        ];
        for (der, code) in table {
            let err = Error::from_der("daos_cont_create", der);
            assert_eq!(code_for(&err), code, "{der:?}");
        }
    }

    #[test]
    fn agent_down_is_unavailable() {
        // Agent socket exists but nobody listens: daos_init says DER_MISC.
        assert_eq!(
            code_for(&Error::from_der("daos_init", Der::Misc)),
            Code::Unavailable
        );
        // Elsewhere DER_MISC is just unexplained.
        assert_eq!(
            code_for(&Error::from_der("daos_cont_query", Der::Misc)),
            Code::Internal
        );
        assert_eq!(
            code_for(&Error::from_der("daos_init", Der::AgentComm)),
            Code::Unavailable
        );
    }

    #[test]
    fn errno_table() {
        let table = [
            (libc::ENOENT, Code::NotFound),
            (libc::EEXIST, Code::AlreadyExists),
            (libc::EACCES, Code::PermissionDenied),
            (libc::ENOSPC, Code::ResourceExhausted),
            (libc::EBUSY, Code::FailedPrecondition),
            (libc::EINVAL, Code::InvalidArgument),
            (libc::EIO, Code::Internal),
        ];
        for (errno, code) in table {
            assert_eq!(
                code_for(&Error::from_errno("dfs_chown", errno)),
                code,
                "errno {errno}"
            );
        }
    }

    #[test]
    fn status_message_names_the_operation_and_code() {
        let s = daos_status(
            "creating container pvc-1",
            &Error::from_der("daos_cont_create", Der::NoPerm),
        );
        assert_eq!(s.code(), Code::PermissionDenied);
        assert!(s.message().contains("pvc-1"), "{}", s.message());
        assert!(s.message().contains("DER_NO_PERM"), "{}", s.message());
        let s = daos_status(
            "connecting",
            &Error::from_der("daos_pool_connect2", Der::AgentComm),
        );
        assert!(s.message().contains("agent"), "{}", s.message());
    }
}
