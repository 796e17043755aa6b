//! Prometheus metrics: a small registry in the text exposition format
//! (version 0.0.4), the gRPC layer that counts every CSI call, and the
//! `/metrics` HTTP endpoint (`--metrics-addr`).
//!
//! Hand-rolled rather than a metrics crate: the families are few and fixed,
//! and the node plugin's idle memory budget is small. Every label value is
//! bounded: methods are the CSI method names (anything else is `other`),
//! codes are gRPC code names, DAOS results are DER/errno names, pools are the
//! ones StorageClasses name.
//!
//! Recording is always on (it is a few map updates per call); only the HTTP
//! endpoint is optional.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tonic::Code;

/// Upper bounds of the latency histogram buckets, in seconds. CSI calls range
/// from sub-millisecond (Probe) to the dfuse start timeout (stage).
const LATENCY_BUCKETS: [f64; 14] = [
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// Every CSI v1 method; anything else is counted as `other`.
const CSI_METHODS: [&str; 26] = [
    "GetPluginInfo",
    "GetPluginCapabilities",
    "Probe",
    "CreateVolume",
    "DeleteVolume",
    "ControllerPublishVolume",
    "ControllerUnpublishVolume",
    "ValidateVolumeCapabilities",
    "ListVolumes",
    "GetCapacity",
    "ControllerGetCapabilities",
    "CreateSnapshot",
    "DeleteSnapshot",
    "ListSnapshots",
    "GetSnapshot",
    "ControllerExpandVolume",
    "ControllerGetVolume",
    "ControllerModifyVolume",
    "NodeStageVolume",
    "NodeUnstageVolume",
    "NodePublishVolume",
    "NodeUnpublishVolume",
    "NodeGetVolumeStats",
    "NodeExpandVolume",
    "NodeGetCapabilities",
    "NodeGetInfo",
];

/// The `method` label for a gRPC path (`/csi.v1.Controller/CreateVolume`).
pub fn method_label(path: &str) -> &'static str {
    let Some((service, method)) = path.trim_start_matches('/').split_once('/') else {
        return "other";
    };
    if !matches!(
        service,
        "csi.v1.Identity" | "csi.v1.Controller" | "csi.v1.Node"
    ) {
        return "other";
    }
    CSI_METHODS
        .iter()
        .find(|m| **m == method)
        .copied()
        .unwrap_or("other")
}

/// The canonical name of a gRPC status code (as in grpc's `statuscodes.md`).
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

#[derive(Debug, Clone)]
struct Histogram {
    /// Cumulative counts are computed at render time; these are per bucket
    /// (the last slot is +Inf).
    buckets: [u64; LATENCY_BUCKETS.len() + 1],
    sum: f64,
    count: u64,
}

impl Histogram {
    fn new() -> Histogram {
        Histogram {
            buckets: [0; LATENCY_BUCKETS.len() + 1],
            sum: 0.0,
            count: 0,
        }
    }

    fn observe(&mut self, seconds: f64) {
        let slot = LATENCY_BUCKETS
            .iter()
            .position(|le| seconds <= *le)
            .unwrap_or(LATENCY_BUCKETS.len());
        self.buckets[slot] += 1;
        self.sum += seconds;
        self.count += 1;
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct PoolBytes {
    total: u64,
    free: u64,
}

/// Everything counted; [`Registry::render`] formats a clone taken under the
/// lock, so formatting never holds it.
#[derive(Default, Clone)]
struct Counters {
    grpc_requests: BTreeMap<(&'static str, &'static str), u64>,
    grpc_latency: BTreeMap<&'static str, Histogram>,
    daos_calls: BTreeMap<(&'static str, &'static str), u64>,
    dfuse_started: u64,
    dfuse_restarted: u64,
    dfuse_exited: BTreeMap<String, u64>,
    pool_bytes: BTreeMap<(String, String), PoolBytes>,
    /// Volumes made from a content source: bytes and entries copied.
    copy_bytes: u64,
    copy_entries: u64,
}

/// Which families a process exports, by the roles it runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Families {
    /// gRPC calls and DAOS calls (controller or node role).
    pub csi: bool,
    /// Pool capacity gauges (controller role).
    pub pools: bool,
    /// dfuse process counters (mounter role).
    pub dfuse: bool,
}

/// The metrics of one process. [`global`] is the one the driver records
/// into; tests make their own.
#[derive(Default)]
pub struct Registry {
    counters: Mutex<Counters>,
}

static GLOBAL: LazyLock<Registry> = LazyLock::new(Registry::default);

/// The process-wide registry.
pub fn global() -> &'static Registry {
    &GLOBAL
}

impl Registry {
    fn with<T>(&self, f: impl FnOnce(&mut Counters) -> T) -> T {
        f(&mut self.counters.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// One finished CSI call.
    pub fn grpc_call(&self, method: &'static str, code: &'static str, elapsed: Duration) {
        self.with(|c| {
            *c.grpc_requests.entry((method, code)).or_default() += 1;
            c.grpc_latency
                .entry(method)
                .or_insert_with(Histogram::new)
                .observe(elapsed.as_secs_f64());
        });
    }

    /// One DAOS operation of the driver and how it ended.
    pub fn daos_call<T>(&self, operation: &'static str, result: &Result<T, daos::Error>) {
        let code = match result {
            Ok(_) => "DER_SUCCESS",
            Err(e) => e.name(),
        };
        self.with(|c| *c.daos_calls.entry((operation, code)).or_default() += 1);
    }

    /// A dfuse was started; `replacing` when it replaces a broken one.
    pub fn dfuse_started(&self, replacing: bool) {
        self.with(|c| {
            c.dfuse_started += 1;
            if replacing {
                c.dfuse_restarted += 1;
            }
        });
    }

    /// A dfuse exited: `code` is its exit code, a signal name (`SIGKILL`), or
    /// `unknown` for an adopted process whose status only its parent saw.
    pub fn dfuse_exited(&self, code: &str) {
        self.with(|c| *c.dfuse_exited.entry(code.to_string()).or_default() += 1);
    }

    /// A pool's size as a GetCapacity just saw it.
    pub fn pool_capacity(&self, system: &str, pool: &str, total: u64, free: u64) {
        self.with(|c| {
            c.pool_bytes.insert(
                (system.to_string(), pool.to_string()),
                PoolBytes { total, free },
            );
        });
    }

    /// A content copy (CreateVolume from a snapshot or a volume) moved
    /// `bytes` more bytes and `entries` more files, directories and links.
    pub fn copied(&self, bytes: u64, entries: u64) {
        self.with(|c| {
            c.copy_bytes += bytes;
            c.copy_entries += entries;
        });
    }

    /// The text exposition of the recorded families in `families`.
    pub fn render(&self, families: Families, out: &mut String) {
        let c = self.with(|c| c.clone());
        family(
            out,
            "daos_csi_build_info",
            "gauge",
            "Version of the running daos-csi binary (always 1).",
        );
        sample(
            out,
            "daos_csi_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))],
            1,
        );
        if families.csi {
            c.render_grpc(out);
            c.render_daos(out);
        }
        if families.pools {
            c.render_pools(out);
            c.render_copies(out);
        }
        if families.dfuse {
            c.render_dfuse(out);
        }
    }
}

impl Counters {
    fn render_grpc(&self, out: &mut String) {
        family(
            out,
            "daos_csi_grpc_requests_total",
            "counter",
            "CSI calls served, by method and gRPC status code.",
        );
        for ((method, code), n) in &self.grpc_requests {
            sample(
                out,
                "daos_csi_grpc_requests_total",
                &[("method", method), ("code", code)],
                *n,
            );
        }
        family(
            out,
            "daos_csi_grpc_request_duration_seconds",
            "histogram",
            "Time to answer a CSI call, by method.",
        );
        for (method, h) in &self.grpc_latency {
            let mut cumulative = 0;
            for (i, n) in h.buckets.iter().enumerate() {
                cumulative += n;
                let le = LATENCY_BUCKETS
                    .get(i)
                    .map_or_else(|| "+Inf".to_string(), |b| b.to_string());
                sample(
                    out,
                    "daos_csi_grpc_request_duration_seconds_bucket",
                    &[("method", method), ("le", &le)],
                    cumulative,
                );
            }
            let labels = [("method", *method)];
            line(
                out,
                "daos_csi_grpc_request_duration_seconds_sum",
                &labels,
                &h.sum.to_string(),
            );
            sample(
                out,
                "daos_csi_grpc_request_duration_seconds_count",
                &labels,
                h.count,
            );
        }
    }

    fn render_copies(&self, out: &mut String) {
        for (name, help, value) in [
            (
                "daos_csi_copy_bytes_total",
                "Bytes copied into volumes made from a snapshot or another volume.",
                self.copy_bytes,
            ),
            (
                "daos_csi_copy_entries_total",
                "Files, directories and symbolic links copied into volumes made from a snapshot or another volume.",
                self.copy_entries,
            ),
        ] {
            family(out, name, "counter", help);
            sample(out, name, &[], value);
        }
    }

    fn render_daos(&self, out: &mut String) {
        family(
            out,
            "daos_csi_daos_calls_total",
            "counter",
            "DAOS operations of the driver, by operation and result (DER_SUCCESS, or the DER/errno name of the failure).",
        );
        for ((operation, code), n) in &self.daos_calls {
            sample(
                out,
                "daos_csi_daos_calls_total",
                &[("operation", operation), ("code", code)],
                *n,
            );
        }
    }

    fn render_pools(&self, out: &mut String) {
        for (name, help, value) in [
            (
                "daos_csi_pool_total_bytes",
                "Size of a pool, as GetCapacity last saw it.",
                (|b: &PoolBytes| b.total) as fn(&PoolBytes) -> u64,
            ),
            (
                "daos_csi_pool_free_bytes",
                "Free bytes of a pool, as GetCapacity last saw it (its available_capacity).",
                |b: &PoolBytes| b.free,
            ),
        ] {
            family(out, name, "gauge", help);
            for ((system, pool), bytes) in &self.pool_bytes {
                sample(
                    out,
                    name,
                    &[("system", system), ("pool", pool)],
                    value(bytes),
                );
            }
        }
    }

    fn render_dfuse(&self, out: &mut String) {
        family(
            out,
            "daos_csi_dfuse_started_total",
            "counter",
            "dfuse processes started by the mounter.",
        );
        sample(out, "daos_csi_dfuse_started_total", &[], self.dfuse_started);
        family(
            out,
            "daos_csi_dfuse_restarted_total",
            "counter",
            "dfuse processes started to replace a dead or broken one (also counted as started).",
        );
        sample(
            out,
            "daos_csi_dfuse_restarted_total",
            &[],
            self.dfuse_restarted,
        );
        family(
            out,
            "daos_csi_dfuse_exited_total",
            "counter",
            "dfuse processes that exited, by exit code (or signal name; unknown for adopted processes).",
        );
        for (code, n) in &self.dfuse_exited {
            sample(out, "daos_csi_dfuse_exited_total", &[("code", code)], *n);
        }
    }
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn sample(out: &mut String, name: &str, labels: &[(&str, &str)], value: u64) {
    line(out, name, labels, &value.to_string());
}

fn line(out: &mut String, name: &str, labels: &[(&str, &str)], value: &str) {
    out.push_str(name);
    if !labels.is_empty() {
        out.push('{');
        for (i, (k, v)) in labels.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, "{k}=\"{}\"", escape(v));
        }
        out.push('}');
    }
    let _ = writeln!(out, " {value}");
}

/// Label value escaping of the text format: backslash, quote, newline.
fn escape(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    for ch in v.chars() {
        match ch {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s
}

// ------------------------------------------------------------ gRPC layer

/// A tower layer for the tonic server: counts every CSI call by method and
/// status code and observes its latency, in one place for all services.
#[derive(Clone, Copy, Debug, Default)]
pub struct GrpcMetricsLayer;

impl<S> tower::Layer<S> for GrpcMetricsLayer {
    type Service = GrpcMetrics<S>;

    fn layer(&self, inner: S) -> GrpcMetrics<S> {
        GrpcMetrics { inner }
    }
}

#[derive(Clone, Debug)]
pub struct GrpcMetrics<S> {
    inner: S,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

impl<S, B, R> tower::Service<http::Request<B>> for GrpcMetrics<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let method = method_label(request.uri().path());
        let start = Instant::now();
        let call = self.inner.call(request);
        Box::pin(async move {
            let result = call.await;
            let code = match &result {
                Ok(response) => response_code(response.headers()),
                Err(_) => "UNKNOWN",
            };
            global().grpc_call(method, code, start.elapsed());
            result
        })
    }
}

/// The status of a unary answer, from its headers: tonic sends a failed
/// call as a trailers-only response (grpc-status in the headers); a
/// successful one has its status (OK) in the trailers after the message.
fn response_code(headers: &http::HeaderMap) -> &'static str {
    match headers.get("grpc-status") {
        None => "OK",
        Some(v) => v
            .to_str()
            .ok()
            .and_then(|s| s.parse::<i32>().ok())
            .map_or("UNKNOWN", |n| code_name(Code::from_i32(n))),
    }
}

// ------------------------------------------------------------ mounts

/// `daos_csi_mounts{state}`: dfuse mounts (and binds of them) under the
/// kubelet root, from mountinfo, each checked with a `statfs` under a
/// deadline at scrape time ([`crate::sysmount::probe`]: a mount whose
/// previous check is still stuck in the kernel answers at once, so a hung
/// mount costs one thread, not one per scrape).
pub struct MountCensus {
    kubelet_root: PathBuf,
    deadline: Duration,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MountCounts {
    pub healthy: u64,
    pub dead: u64,
}

impl MountCensus {
    pub fn new(kubelet_root: &Path, deadline: Duration) -> MountCensus {
        MountCensus {
            kubelet_root: kubelet_root.to_path_buf(),
            deadline,
        }
    }

    pub async fn count(&self) -> std::io::Result<MountCounts> {
        let dfuse =
            crate::mountinfo::MountTable::read()?.of_type(crate::mountinfo::DFUSE_FSTYPE)?;
        let mut checks = tokio::task::JoinSet::new();
        for m in dfuse
            .into_iter()
            .filter(|m| m.mount_point.starts_with(&self.kubelet_root))
        {
            let deadline = self.deadline;
            checks.spawn(async move {
                matches!(
                    crate::sysmount::probe(&m.mount_point, deadline).await,
                    crate::sysmount::PathHealth::Live
                )
            });
        }
        let mut counts = MountCounts::default();
        while let Some(done) = checks.join_next().await {
            match done {
                Ok(true) => counts.healthy += 1,
                _ => counts.dead += 1,
            }
        }
        Ok(counts)
    }
}

// ------------------------------------------------------------ HTTP endpoint

/// What one process's `/metrics` shows.
pub struct Exporter {
    pub registry: &'static Registry,
    pub families: Families,
    /// Node role: mounts by state.
    pub census: Option<MountCensus>,
}

impl Exporter {
    pub async fn render(&self) -> String {
        let mut out = String::with_capacity(8192);
        self.registry.render(self.families, &mut out);
        if let Some(census) = &self.census {
            family(
                &mut out,
                "daos_csi_mounts",
                "gauge",
                "DAOS (dfuse) mounts under the kubelet root, staging and published, by state: healthy (statfs answers) or dead (ENOTCONN, error or no answer in time).",
            );
            match census.count().await {
                Ok(c) => {
                    sample(
                        &mut out,
                        "daos_csi_mounts",
                        &[("state", "healthy")],
                        c.healthy,
                    );
                    sample(&mut out, "daos_csi_mounts", &[("state", "dead")], c.dead);
                }
                Err(e) => tracing::warn!(error = %e, "metrics: cannot read mountinfo"),
            }
        }
        out
    }
}

/// Longest request head read; Prometheus sends a few hundred bytes.
const MAX_HEAD: usize = 8192;
/// Connections served at once; more are closed unanswered.
const MAX_CONNECTIONS: usize = 16;
/// Time a client gets to send its request and read the answer.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(10);

/// Binds the metrics listener (at start, so a taken port fails the process
/// early with a clear message).
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, String> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| format!("--metrics-addr {addr}: {e}"))
}

/// Serves `GET /metrics` (HTTP/1.x, one request per connection) until
/// `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    exporter: Arc<Exporter>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), String> {
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, "serving Prometheus metrics at /metrics");
    }
    let mut connections = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) if connections.len() < MAX_CONNECTIONS => {
                    let exporter = Arc::clone(&exporter);
                    connections.spawn(async move {
                        if tokio::time::timeout(CONNECTION_TIMEOUT, answer(stream, &exporter)).await.is_err() {
                            tracing::debug!("metrics connection timed out");
                        }
                    });
                }
                Ok(_) => tracing::warn!("metrics: too many connections; closing one unanswered"),
                Err(e) => tracing::warn!(error = %e, "metrics accept failed"),
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    connections.abort_all();
    Ok(())
}

async fn answer(mut stream: TcpStream, exporter: &Exporter) {
    let mut head = Vec::with_capacity(512);
    let mut buf = [0u8; 1024];
    while !head_complete(&head) {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
        if head.len() > MAX_HEAD {
            break;
        }
    }
    let (status, body) = match request_target(&head) {
        Some(("GET" | "HEAD", "/metrics")) => ("200 OK", exporter.render().await),
        Some(("GET" | "HEAD", "/")) => ("200 OK", "daos-csi: metrics at /metrics\n".to_string()),
        Some(("GET" | "HEAD", _)) => ("404 Not Found", "not found; try /metrics\n".to_string()),
        Some(_) => (
            "405 Method Not Allowed",
            "only GET and HEAD are served\n".to_string(),
        ),
        None => ("400 Bad Request", "bad request\n".to_string()),
    };
    let is_head = matches!(request_target(&head), Some(("HEAD", _)));
    let mut response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    if !is_head {
        response.push_str(&body);
    }
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

fn head_complete(head: &[u8]) -> bool {
    head.windows(4).any(|w| w == b"\r\n\r\n") || head.windows(2).any(|w| w == b"\n\n")
}

/// `(method, path)` of an HTTP/1.x request line, the query string dropped.
fn request_target(head: &[u8]) -> Option<(&str, &str)> {
    let text = std::str::from_utf8(head).ok()?;
    let first = text.lines().next()?;
    let mut parts = first.split(' ');
    let method = parts.next()?;
    let target = parts.next()?;
    let version = parts.next()?;
    if !version.starts_with("HTTP/1.") || parts.next().is_some() {
        return None;
    }
    Some((method, target.split('?').next().unwrap_or(target)))
}

/// `--metrics-addr`: `IP:PORT`, `[IPv6]:PORT`, or `:PORT` (every IPv4 address).
pub fn parse_addr(s: &str) -> Result<SocketAddr, String> {
    let s = s.trim();
    let full = if s.starts_with(':') {
        format!("0.0.0.0{s}")
    } else {
        s.to_string()
    };
    full.parse().map_err(|_| {
        format!("--metrics-addr {s:?}: expected IP:PORT, [IPv6]:PORT or :PORT (e.g. :9810)")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn families_all() -> Families {
        Families {
            csi: true,
            pools: true,
            dfuse: true,
        }
    }

    #[test]
    fn methods_are_bounded() {
        assert_eq!(
            method_label("/csi.v1.Controller/CreateVolume"),
            "CreateVolume"
        );
        assert_eq!(
            method_label("/csi.v1.Node/NodeStageVolume"),
            "NodeStageVolume"
        );
        assert_eq!(method_label("/csi.v1.Identity/Probe"), "Probe");
        assert_eq!(method_label("/csi.v1.Controller/Evil"), "other");
        assert_eq!(method_label("/grpc.health.v1.Health/Check"), "other");
        assert_eq!(method_label("/"), "other");
        assert_eq!(method_label(""), "other");
    }

    #[test]
    fn codes_from_headers() {
        let mut h = http::HeaderMap::new();
        assert_eq!(response_code(&h), "OK");
        h.insert("grpc-status", http::HeaderValue::from_static("3"));
        assert_eq!(response_code(&h), "INVALID_ARGUMENT");
        h.insert("grpc-status", http::HeaderValue::from_static("x"));
        assert_eq!(response_code(&h), "UNKNOWN");
    }

    #[test]
    fn text_format() {
        let r = Registry::default();
        r.grpc_call("CreateVolume", "OK", Duration::from_millis(3));
        r.grpc_call("CreateVolume", "OK", Duration::from_secs(100));
        r.grpc_call(
            "CreateVolume",
            "INVALID_ARGUMENT",
            Duration::from_micros(10),
        );
        r.daos_call::<()>("pool_query", &Ok(()));
        r.daos_call::<()>(
            "container_destroy",
            &Err(daos::Error::from_der("daos_cont_destroy", daos::Der::Busy)),
        );
        r.dfuse_started(false);
        r.dfuse_started(true);
        r.dfuse_exited("0");
        r.dfuse_exited("SIGKILL");
        r.pool_capacity("daos_server", "ta\"nk", 100, 40);
        let mut out = String::new();
        r.render(families_all(), &mut out);
        for want in [
            "daos_csi_build_info{version=\"",
            "# TYPE daos_csi_grpc_requests_total counter\n",
            "daos_csi_grpc_requests_total{method=\"CreateVolume\",code=\"OK\"} 2\n",
            "daos_csi_grpc_requests_total{method=\"CreateVolume\",code=\"INVALID_ARGUMENT\"} 1\n",
            "daos_csi_grpc_request_duration_seconds_bucket{method=\"CreateVolume\",le=\"0.001\"} 1\n",
            "daos_csi_grpc_request_duration_seconds_bucket{method=\"CreateVolume\",le=\"0.005\"} 2\n",
            "daos_csi_grpc_request_duration_seconds_bucket{method=\"CreateVolume\",le=\"60\"} 2\n",
            "daos_csi_grpc_request_duration_seconds_bucket{method=\"CreateVolume\",le=\"+Inf\"} 3\n",
            "daos_csi_grpc_request_duration_seconds_count{method=\"CreateVolume\"} 3\n",
            "daos_csi_daos_calls_total{operation=\"pool_query\",code=\"DER_SUCCESS\"} 1\n",
            "daos_csi_daos_calls_total{operation=\"container_destroy\",code=\"DER_BUSY\"} 1\n",
            "daos_csi_dfuse_started_total 2\n",
            "daos_csi_dfuse_restarted_total 1\n",
            "daos_csi_dfuse_exited_total{code=\"0\"} 1\n",
            "daos_csi_dfuse_exited_total{code=\"SIGKILL\"} 1\n",
            "daos_csi_pool_total_bytes{system=\"daos_server\",pool=\"ta\\\"nk\"} 100\n",
            "daos_csi_pool_free_bytes{system=\"daos_server\",pool=\"ta\\\"nk\"} 40\n",
        ] {
            assert!(out.contains(want), "missing {want:?} in:\n{out}");
        }
        // Only the families of the roles asked for.
        let mut node_only = String::new();
        r.render(
            Families {
                csi: true,
                ..Families::default()
            },
            &mut node_only,
        );
        assert!(!node_only.contains("daos_csi_dfuse_started_total"));
        assert!(!node_only.contains("daos_csi_pool_free_bytes"));
        assert!(node_only.contains("daos_csi_grpc_requests_total"));
    }

    #[test]
    fn request_lines() {
        assert_eq!(
            request_target(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"),
            Some(("GET", "/metrics"))
        );
        assert_eq!(
            request_target(b"GET /metrics?x=1 HTTP/1.0\r\n\r\n"),
            Some(("GET", "/metrics"))
        );
        assert_eq!(request_target(b"GET /metrics\r\n\r\n"), None);
        assert_eq!(request_target(b"\xff\xfe"), None);
        assert!(head_complete(b"GET / HTTP/1.0\r\n\r\n"));
        assert!(!head_complete(b"GET / HTTP/1.0\r\n"));
    }

    #[test]
    fn addresses() {
        assert_eq!(
            parse_addr(":9810").unwrap(),
            "0.0.0.0:9810".parse().unwrap()
        );
        assert_eq!(
            parse_addr("127.0.0.1:1").unwrap(),
            "127.0.0.1:1".parse().unwrap()
        );
        assert!(parse_addr("[::1]:9810").is_ok());
        assert!(parse_addr("localhost").is_err());
        assert!(parse_addr("9810").is_err());
    }

    #[tokio::test]
    async fn endpoint_answers_http() {
        let listener = bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let exporter = Arc::new(Exporter {
            registry: global(),
            families: Families::default(),
            census: None,
        });
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(listener, exporter, async {
            let _ = rx.await;
        }));
        let get = |req: &'static str| async move {
            let mut s = TcpStream::connect(addr).await.unwrap();
            s.write_all(req.as_bytes()).await.unwrap();
            let mut out = String::new();
            s.read_to_string(&mut out).await.unwrap();
            out
        };
        let ok = get("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").await;
        assert!(ok.starts_with("HTTP/1.1 200 OK\r\n"), "{ok}");
        assert!(ok.contains("text/plain; version=0.0.4"), "{ok}");
        assert!(ok.contains("daos_csi_build_info"), "{ok}");
        let (head, body) = ok.split_once("\r\n\r\n").unwrap();
        assert!(
            head.contains(&format!("Content-Length: {}", body.len())),
            "{head}"
        );
        assert!(
            get("GET /nope HTTP/1.0\r\n\r\n")
                .await
                .starts_with("HTTP/1.1 404")
        );
        assert!(
            get("POST /metrics HTTP/1.0\r\n\r\n")
                .await
                .starts_with("HTTP/1.1 405")
        );
        assert!(get("garbage\r\n\r\n").await.starts_with("HTTP/1.1 400"));
        let head = get("HEAD /metrics HTTP/1.0\r\n\r\n").await;
        assert!(head.ends_with("\r\n\r\n"), "{head}");
        tx.send(()).unwrap();
        server.await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn census_ignores_other_mounts() {
        let root = tempfile::tempdir().unwrap();
        let census = MountCensus::new(root.path(), Duration::from_secs(2));
        assert_eq!(census.count().await.unwrap(), MountCounts::default());
    }
}
