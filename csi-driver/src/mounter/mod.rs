//! The mounter: the only part of daos-csi that runs dfuse.
//!
//! It is a separate, rarely-restarted process (its own DaemonSet) so that
//! restarting or upgrading the node plugin never kills a dfuse: a container
//! restart kills every process in its cgroup. The node role talks to it over
//! a local unix socket with a JSON-lines protocol: one [`Request`] per line,
//! one [`Response`] line back.
//!
//! - [`dfuse`]: validation of a mount request and the dfuse argv built from it.
//! - [`state`]: the on-disk record of running dfuse processes.
//! - [`server`]: the socket server, dfuse supervision and adoption at start.

pub mod dfuse;
pub mod server;
pub mod state;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tonic::{Code, Status};

/// Longest request or response line accepted.
pub const MAX_LINE: u64 = 1 << 20;

/// One dfuse mount: what to mount where, and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MountSpec {
    /// CSI volume id (for reporting and matching only; never passed to dfuse).
    pub volume_id: String,
    pub mountpoint: PathBuf,
    /// Pool label or UUID.
    pub pool: String,
    /// Container label or UUID.
    pub container: String,
    /// DAOS system name; `None` = the default system.
    #[serde(default)]
    pub system: Option<String>,
    #[serde(default)]
    pub read_only: bool,
    #[serde(default)]
    pub multi_user: bool,
    #[serde(default)]
    pub caching: Option<bool>,
    #[serde(default)]
    pub wb_cache: Option<bool>,
    #[serde(default)]
    pub thread_count: Option<u32>,
    #[serde(default)]
    pub eq_count: Option<u32>,
    /// An inline ephemeral volume mounted directly at a pod's target path.
    #[serde(default)]
    pub ephemeral: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// Start dfuse for `spec` and wait until it is mounted.
    Mount(MountSpec),
    /// Unmount and stop the dfuse at `mountpoint`; a missing mount is fine.
    Unmount { mountpoint: PathBuf },
    /// Every mount this mounter owns.
    List,
    /// The mount at `mountpoint`, if this mounter owns one there.
    Status { mountpoint: PathBuf },
}

/// What the mounter knows about one of its mounts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MountStatus {
    pub spec: MountSpec,
    pub pid: u32,
    /// The dfuse process is running.
    pub alive: bool,
    /// A dfuse mount is at the mountpoint.
    pub mounted: bool,
    /// dfuse's stdout/stderr.
    pub log: PathBuf,
}

impl MountStatus {
    pub fn healthy(&self) -> bool {
        self.alive && self.mounted
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Response {
    Ok,
    Mounts { mounts: Vec<MountStatus> },
    Mount { mount: Option<MountStatus> },
    Error { code: String, message: String },
}

impl Response {
    pub fn from_status(s: &Status) -> Response {
        Response::Error {
            code: code_name(s.code()).to_string(),
            message: s.message().to_string(),
        }
    }
}

const CODES: [(Code, &str); 9] = [
    (Code::InvalidArgument, "INVALID_ARGUMENT"),
    (Code::NotFound, "NOT_FOUND"),
    (Code::AlreadyExists, "ALREADY_EXISTS"),
    (Code::PermissionDenied, "PERMISSION_DENIED"),
    (Code::FailedPrecondition, "FAILED_PRECONDITION"),
    (Code::Aborted, "ABORTED"),
    (Code::DeadlineExceeded, "DEADLINE_EXCEEDED"),
    (Code::Unavailable, "UNAVAILABLE"),
    (Code::Internal, "INTERNAL"),
];

fn code_name(code: Code) -> &'static str {
    CODES
        .iter()
        .find(|(c, _)| *c == code)
        .map_or("INTERNAL", |(_, n)| n)
}

fn code_from_name(name: &str) -> Code {
    CODES
        .iter()
        .find(|(_, n)| *n == name)
        .map_or(Code::Internal, |(c, _)| *c)
}

/// Client side, used by the node role.
///
/// Connections are kept open between calls (up to [`IDLE_CONNECTIONS`]):
/// a new one per call costs a connect and an accept on every CSI request.
#[derive(Clone)]
pub struct MounterClient {
    socket: PathBuf,
    /// Upper bound on one call (a Mount waits for dfuse to come up).
    timeout: Duration,
    idle: Arc<std::sync::Mutex<Vec<Connection>>>,
}

impl std::fmt::Debug for MounterClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MounterClient")
            .field("socket", &self.socket)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// Connections to the mounter kept open for the next call.
pub const IDLE_CONNECTIONS: usize = 8;

/// One open connection: requests and replies alternate on it.
struct Connection {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
}

impl Connection {
    async fn open(socket: &Path) -> std::io::Result<Connection> {
        let (read, writer) = UnixStream::connect(socket).await?.into_split();
        Ok(Connection {
            reader: BufReader::new(read),
            writer,
        })
    }

    /// Sends one request line and reads its reply line.
    async fn exchange(&mut self, line: &str) -> std::io::Result<String> {
        self.writer.write_all(line.as_bytes()).await?;
        let mut reply = String::new();
        let n = (&mut self.reader)
            .take(MAX_LINE)
            .read_line(&mut reply)
            .await?;
        if n == 0 || !reply.ends_with('\n') {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the mounter closed the connection",
            ));
        }
        Ok(reply)
    }
}

impl MounterClient {
    pub fn new(socket: &Path, timeout: Duration) -> MounterClient {
        MounterClient {
            socket: socket.to_path_buf(),
            timeout,
            idle: Arc::default(),
        }
    }

    fn take_idle(&self) -> Option<Connection> {
        self.idle.lock().ok()?.pop()
    }

    fn keep(&self, conn: Connection) {
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < IDLE_CONNECTIONS
        {
            idle.push(conn);
        }
    }

    /// One request and its reply. A kept connection that fails is dropped
    /// and the request sent once more on a new one: the mounter may have
    /// restarted since. Sending twice is harmless, every request is
    /// idempotent (a Mount of what is mounted, or an Unmount of what is
    /// not, succeeds).
    async fn exchange(&self, line: &str) -> Result<String, Status> {
        if let Some(mut conn) = self.take_idle() {
            match conn.exchange(line).await {
                Ok(reply) => {
                    self.keep(conn);
                    return Ok(reply);
                }
                Err(e) => {
                    tracing::debug!(error = %e, "kept mounter connection failed; reconnecting")
                }
            }
        }
        let socket = self.socket.display();
        let mut conn = Connection::open(&self.socket).await.map_err(|e| {
            Status::unavailable(format!(
                "the daos-csi mounter is not reachable at {socket}: {e} (is the mounter running?)"
            ))
        })?;
        let reply = conn
            .exchange(line)
            .await
            .map_err(|e| Status::unavailable(format!("talking to the mounter at {socket}: {e}")))?;
        self.keep(conn);
        Ok(reply)
    }

    pub async fn call(&self, request: &Request) -> Result<Response, Status> {
        let mut line = serde_json::to_string(request)
            .map_err(|e| Status::internal(format!("encoding a mounter request: {e}")))?;
        line.push('\n');
        let exchange = async {
            let reply = self.exchange(&line).await?;
            serde_json::from_str::<Response>(&reply)
                .map_err(|e| Status::internal(format!("bad reply from the mounter: {e}")))
        };
        // A call cut short by the timeout drops its connection with it, so
        // no late reply is ever read as the answer to another request.
        match tokio::time::timeout(self.timeout, exchange).await {
            Ok(Ok(Response::Error { code, message })) => {
                Err(Status::new(code_from_name(&code), message))
            }
            Ok(result) => result,
            Err(_) => Err(Status::deadline_exceeded(format!(
                "the mounter at {} did not answer within {:?}",
                self.socket.display(),
                self.timeout
            ))),
        }
    }

    pub async fn mount(&self, spec: MountSpec) -> Result<(), Status> {
        match self.call(&Request::Mount(spec)).await? {
            Response::Ok => Ok(()),
            other => Err(unexpected(&other)),
        }
    }

    pub async fn unmount(&self, mountpoint: &Path) -> Result<(), Status> {
        let req = Request::Unmount {
            mountpoint: mountpoint.to_path_buf(),
        };
        match self.call(&req).await? {
            Response::Ok => Ok(()),
            other => Err(unexpected(&other)),
        }
    }

    pub async fn status(&self, mountpoint: &Path) -> Result<Option<MountStatus>, Status> {
        let req = Request::Status {
            mountpoint: mountpoint.to_path_buf(),
        };
        match self.call(&req).await? {
            Response::Mount { mount } => Ok(mount),
            other => Err(unexpected(&other)),
        }
    }

    pub async fn list(&self) -> Result<Vec<MountStatus>, Status> {
        match self.call(&Request::List).await? {
            Response::Mounts { mounts } => Ok(mounts),
            other => Err(unexpected(&other)),
        }
    }
}

fn unexpected(r: &Response) -> Status {
    Status::internal(format!("unexpected reply from the mounter: {r:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_format_is_tagged_json_lines() {
        let req = Request::Unmount {
            mountpoint: "/var/lib/kubelet/x".into(),
        };
        let text = serde_json::to_string(&req).unwrap();
        assert_eq!(
            text,
            r#"{"op":"unmount","mountpoint":"/var/lib/kubelet/x"}"#
        );
        assert_eq!(serde_json::from_str::<Request>(&text).unwrap(), req);
        assert_eq!(
            serde_json::from_str::<Request>(r#"{"op":"list"}"#).unwrap(),
            Request::List
        );

        // Optional fields may be left out.
        let m: Request = serde_json::from_str(
            r#"{"op":"mount","volume_id":"v","mountpoint":"/m","pool":"tank","container":"c"}"#,
        )
        .unwrap();
        let Request::Mount(spec) = m else {
            panic!("not a mount")
        };
        assert!(!spec.read_only && spec.system.is_none() && !spec.ephemeral);

        assert!(serde_json::from_str::<Request>(r#"{"op":"format_disk"}"#).is_err());
    }

    #[test]
    fn error_codes_survive_the_wire() {
        let s = Status::failed_precondition("busy");
        let Response::Error { code, message } = Response::from_status(&s) else {
            panic!()
        };
        assert_eq!(code_from_name(&code), Code::FailedPrecondition);
        assert_eq!(message, "busy");
        assert_eq!(code_from_name("SOMETHING_NEW"), Code::Internal);
    }
}
