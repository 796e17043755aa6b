//! The emulated agent's socket protocol, client and server side.
//!
//! Real libdaos talks protobuf dRPC to `daos_agent.sock`; the emulator uses one text line each
//! way but keeps the failure behaviour that matters (`src/common/drpc.c unixcomm_connect`,
//! `src/mgmt/cli_mgmt.c`, `src/security/cli_security.c`):
//! - connect(2) errors map through `daos_errno2der`: a missing socket is `-DER_NONEXIST`, a
//!   socket nobody listens on (`ECONNREFUSED`) `-DER_MISC`, no access `-DER_NO_PERM`;
//! - at `daos_init` (GetAttachInfo) `-DER_NONEXIST` becomes `-DER_AGENT_COMM`;
//! - on pool connect (credential request) the mapped connect error is returned as is, and an
//!   agent that cannot vouch for the caller answers with a failure that becomes `-DER_MISC`.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use crate::der::{Der, DerResult};

const TIMEOUT: Duration = Duration::from_secs(10);

fn connect(socket: &Path) -> DerResult<UnixStream> {
    let stream = UnixStream::connect(socket).map_err(|e| crate::der::from_io(&e))?;
    let _ = stream.set_read_timeout(Some(TIMEOUT));
    let _ = stream.set_write_timeout(Some(TIMEOUT));
    Ok(stream)
}

/// Sends one request line and reads the answer line.
fn call(socket: &Path, request: &str) -> DerResult<String> {
    let mut stream = connect(socket)?;
    stream
        .write_all(format!("{request}\n").as_bytes())
        .map_err(|e| crate::der::from_io(&e))?;
    let mut line = String::new();
    BufReader::new(&stream)
        .read_line(&mut line)
        .map_err(|e| crate::der::from_io(&e))?;
    if line.is_empty() {
        // The agent closed the connection without answering.
        return Err(Der::MISC);
    }
    Ok(line.trim_end().to_string())
}

fn parse_reply(reply: &str) -> DerResult<Vec<String>> {
    let mut words = reply.split(' ').map(str::to_string);
    match words.next().as_deref() {
        Some("OK") => Ok(words.collect()),
        Some("ERR") => {
            let code = words
                .next()
                .and_then(|c| c.parse::<i32>().ok())
                .unwrap_or(Der::MISC.0);
            Err(Der(code))
        }
        _ => Err(Der::AGENT_INCOMPAT),
    }
}

/// GetAttachInfo at `daos_init`: returns the system name.
pub fn attach_info(socket: &Path, sys: Option<&str>) -> DerResult<String> {
    let reply = call(socket, &format!("ATTACH {}", sys.unwrap_or("-"))).map_err(|e| {
        if e == Der::NONEXIST {
            Der::AGENT_COMM
        } else {
            e
        }
    })?;
    parse_reply(&reply)?
        .into_iter()
        .next()
        .ok_or(Der::AGENT_INCOMPAT)
}

/// Credential request at pool connect: the agent identifies the caller by `SO_PEERCRED`.
/// Returns the user principal (`name@`) the agent vouches for.
pub fn request_credentials(socket: &Path) -> DerResult<String> {
    let reply = call(socket, "CRED")?;
    parse_reply(&reply)?.into_iter().next().ok_or(Der::PROTO)
}

/// Process-exit notification at `daos_fini` (failures are ignored, as libdaos does).
pub fn notify_exit(socket: &Path) {
    let _ = call(socket, "EXIT");
}

/// Answers one request line of a connected client (server side).
pub fn answer(request: &str, system_name: &str, peer_uid: Option<u32>) -> String {
    let mut words = request.split_whitespace();
    match words.next() {
        Some("ATTACH") => match words.next() {
            Some("-") | None => format!("OK {system_name}"),
            Some(s) if s == system_name => format!("OK {system_name}"),
            Some(_) => format!("ERR {}", Der::INVAL.0),
        },
        Some("CRED") => match peer_uid.and_then(crate::fsutil::user_name) {
            Some(name) => format!("OK {name}@"),
            // The agent looks the peer up in its own passwd database; a miss is MiscError.
            None => format!("ERR {}", Der::MISC.0),
        },
        Some("EXIT") | Some("PING") => "OK".into(),
        _ => format!("ERR {}", Der::PROTO.0),
    }
}

/// The uid of the process at the other end of a unix socket.
pub fn peer_uid(stream: &UnixStream) -> Option<u32> {
    peer_cred(stream).map(|cred| cred.uid)
}

/// The pid of the process at the other end of a unix socket.
pub fn peer_pid(stream: &UnixStream) -> Option<u32> {
    peer_cred(stream).and_then(|cred| u32::try_from(cred.pid).ok())
}

fn peer_cred(stream: &UnixStream) -> Option<libc::ucred> {
    use std::os::fd::AsRawFd;
    // SAFETY: zeroed ucred is a valid out-parameter for SO_PEERCRED.
    let mut cred: libc::ucred = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: getsockopt on a socket we own, with a buffer of the advertised size.
    let rc = unsafe {
        libc::getsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    };
    (rc == 0).then_some(cred)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixListener;

    #[test]
    fn connect_errors_follow_the_daos_matrix() {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("daos_agent.sock");
        // Missing socket: AGENT_COMM at init, NONEXIST at pool connect.
        assert_eq!(attach_info(&sock, None), Err(Der::AGENT_COMM));
        assert_eq!(request_credentials(&sock), Err(Der::NONEXIST));
        // A socket file nobody listens on.
        drop(UnixListener::bind(&sock).unwrap());
        assert_eq!(attach_info(&sock, None), Err(Der::MISC));
        assert_eq!(request_credentials(&sock), Err(Der::MISC));
    }

    #[test]
    fn answers() {
        assert_eq!(answer("ATTACH -", "daos_server", None), "OK daos_server");
        assert_eq!(
            answer("ATTACH other", "daos_server", None),
            format!("ERR {}", Der::INVAL.0)
        );
        assert_eq!(answer("CRED", "daos_server", Some(0)), "OK root@");
        assert_eq!(
            answer("CRED", "daos_server", Some(3_999_999_999)),
            format!("ERR {}", Der::MISC.0)
        );
        assert_eq!(parse_reply("ERR -1025"), Err(Der::MISC));
        assert_eq!(parse_reply("garbage"), Err(Der::AGENT_INCOMPAT));
    }
}
