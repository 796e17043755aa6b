//! The Prometheus endpoint (`--metrics-addr`): scraped over HTTP after a volume's life, with
//! exact counts for every call made, a refused call, a killed and replaced dfuse, mounts by
//! state, and the pool gauges against what GetCapacity answered.

use daos_csi_e2e::*;
use daos_test_harness::unique_label;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A port nobody listens on right now (the driver binds it a moment later).
pub(crate) fn free_port() -> SocketAddr {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("binding a probe port");
    probe.local_addr().expect("probe address")
}

/// One scrape: samples keyed by `name{k="v",...}` with the labels sorted, plus the names
/// that have a `# TYPE` line.
pub(crate) struct Scrape {
    samples: HashMap<String, f64>,
    typed: Vec<String>,
    text: String,
}

fn series_key(name: &str, labels: &[(&str, &str)]) -> String {
    let mut labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    labels.sort();
    if labels.is_empty() {
        name.to_string()
    } else {
        format!("{name}{{{}}}", labels.join(","))
    }
}

/// Parses `name{k="v",...} value` (values here have no escapes beyond `\"`).
fn parse_sample(line: &str) -> (String, f64) {
    let (series, value) = line
        .rsplit_once(' ')
        .unwrap_or_else(|| panic!("sample without a value: {line:?}"));
    let value: f64 = value
        .parse()
        .unwrap_or_else(|_| panic!("bad sample value in {line:?}"));
    let Some((name, rest)) = series.split_once('{') else {
        return (series.to_string(), value);
    };
    let body = rest
        .strip_suffix('}')
        .unwrap_or_else(|| panic!("unclosed labels in {line:?}"));
    let mut labels = Vec::new();
    let mut chars = body.chars().peekable();
    while chars.peek().is_some() {
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        assert_eq!(
            chars.next(),
            Some('"'),
            "label {key} of {line:?} is not quoted"
        );
        let mut val = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\\' => val.push(chars.next().expect("escape")),
                '"' => break,
                c => val.push(c),
            }
        }
        labels.push((key, val));
        if chars.peek() == Some(&',') {
            chars.next();
        }
    }
    let refs: Vec<(&str, &str)> = labels
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    (series_key(name, &refs), value)
}

impl Scrape {
    fn parse(text: String) -> Scrape {
        let mut samples = HashMap::new();
        let mut typed = Vec::new();
        for line in text.lines() {
            if let Some(t) = line.strip_prefix("# TYPE ") {
                typed.push(t.split(' ').next().unwrap_or_default().to_string());
            } else if !line.starts_with('#') && !line.trim().is_empty() {
                let (key, value) = parse_sample(line);
                assert!(
                    samples.insert(key.clone(), value).is_none(),
                    "series {key} appears twice"
                );
            }
        }
        Scrape {
            samples,
            typed,
            text,
        }
    }

    fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.samples.get(&series_key(name, labels)).copied()
    }

    /// The value, 0 when the series is absent (a counter not yet incremented).
    pub(crate) fn count(&self, name: &str, labels: &[(&str, &str)]) -> u64 {
        self.get(name, labels).unwrap_or(0.0) as u64
    }

    fn rpc(&self, method: &str, code: &str) -> u64 {
        self.count(
            "daos_csi_grpc_requests_total",
            &[("method", method), ("code", code)],
        )
    }

    fn mounts(&self) -> (u64, u64) {
        (
            self.count("daos_csi_mounts", &[("state", "healthy")]),
            self.count("daos_csi_mounts", &[("state", "dead")]),
        )
    }

    /// Every sample belongs to a family with a TYPE line, and every name carries the prefix.
    fn assert_well_formed(&self) {
        for key in self.samples.keys() {
            let name = key.split('{').next().unwrap_or(key);
            assert!(
                name.starts_with("daos_csi_"),
                "{name} lacks the daos_csi_ prefix"
            );
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| {
                    name.strip_suffix(s)
                        .filter(|base| self.typed.iter().any(|t| t == base))
                })
                .unwrap_or(name);
            assert!(
                self.typed.iter().any(|t| t == family),
                "{name} has no # TYPE line:\n{}",
                self.text
            );
        }
    }
}

pub(crate) async fn scrape(addr: SocketAddr) -> Scrape {
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .unwrap_or_else(|e| panic!("connecting to the metrics endpoint {addr}: {e}"));
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nAccept: text/plain\r\n\r\n")
        .await
        .expect("sending the scrape request");
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .await
        .expect("reading the scrape");
    let (head, body) = response
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP head in {response:?}"));
    assert!(head.starts_with("HTTP/1.1 200"), "scrape answered {head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: text/plain; version=0.0.4"),
        "{head}"
    );
    let scraped = Scrape::parse(body.to_string());
    scraped.assert_well_formed();
    scraped
}

/// Scrapes until `check` holds (counters set by background tasks, such as a reaped dfuse),
/// or fails with the last scrape.
async fn scrape_until(addr: SocketAddr, what: &str, check: impl Fn(&Scrape) -> bool) -> Scrape {
    let start = std::time::Instant::now();
    loop {
        let s = scrape(addr).await;
        if check(&s) {
            return s;
        }
        if start.elapsed() > Duration::from_secs(15) {
            panic!("{what}: not seen within 15 s; last scrape:\n{}", s.text);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_a_volume_lifecycle() {
    if !privileged_or_skip("metrics_count_a_volume_lifecycle") {
        return;
    }
    within(Duration::from_secs(180), "metrics lifecycle", async {
        let addr = free_port();
        let cluster = Cluster::start(ClusterConfig {
            extra_args: vec!["--metrics-addr".into(), addr.to_string()],
            ..ClusterConfig::default()
        })
        .await;

        // Before anything: the families are there, no mount, no dfuse.
        let first = scrape(addr).await;
        for family in [
            "daos_csi_build_info",
            "daos_csi_grpc_requests_total",
            "daos_csi_grpc_request_duration_seconds",
            "daos_csi_daos_calls_total",
            "daos_csi_pool_free_bytes",
            "daos_csi_pool_total_bytes",
            "daos_csi_dfuse_started_total",
            "daos_csi_dfuse_restarted_total",
            "daos_csi_dfuse_exited_total",
            "daos_csi_mounts",
        ] {
            assert!(
                first.typed.iter().any(|t| t == family),
                "family {family} missing:\n{}",
                first.text
            );
        }
        assert_eq!(first.get("daos_csi_dfuse_started_total", &[]), Some(0.0));
        assert_eq!(first.mounts(), (0, 0));

        let capacity = cluster.capacity().await.must("GetCapacity");
        assert!(capacity.available_capacity > 0, "{capacity:?}");

        let name = format!("pvc-{}", unique_label("metrics"));
        // No attribute caching: once dfuse is killed, nothing about its mount can be asked
        // of it (the second NodeStageVolume below must not need to).
        let volume = cluster
            .create_volume(&name, &[("dfuseCaching", "false")])
            .await
            .must("CreateVolume");
        let id = volume.volume_id.clone();
        // A refused call: no name.
        assert_status(
            cluster.create_volume("", &[]).await,
            Code::InvalidArgument,
            &["name"],
            "CreateVolume without a name",
        );

        let staging = cluster.stage(&volume).await.must("NodeStageVolume");
        let target = cluster
            .publish(&volume, &staging, "pod-m", false)
            .await
            .must("NodePublishVolume");
        let up = scrape(addr).await;
        assert_eq!(up.count("daos_csi_dfuse_started_total", &[]), 1);
        assert_eq!(
            up.mounts(),
            (2, 0),
            "staging mount and its bind, both healthy"
        );

        // dfuse dies: both mounts are dead, and the mounter saw it killed.
        let dfuse = cluster
            .dfuse_for(&staging, &id)
            .expect("the volume's dfuse");
        kill(Pid::from_raw(dfuse.pid), Signal::SIGKILL).expect("killing dfuse");
        let dead = scrape_until(addr, "dfuse killed by SIGKILL", |s| {
            s.count("daos_csi_dfuse_exited_total", &[("code", "SIGKILL")]) == 1
        })
        .await;
        assert_eq!(dead.mounts(), (0, 2), "both mounts dead:\n{}", dead.text);

        // kubelet stages again: the dead dfuse is replaced (a restart); the pod's bind of the
        // old mount stays dead until it is unpublished.
        cluster.stage(&volume).await.must("NodeStageVolume again");
        let replaced = scrape(addr).await;
        assert_eq!(replaced.count("daos_csi_dfuse_started_total", &[]), 2);
        assert_eq!(replaced.count("daos_csi_dfuse_restarted_total", &[]), 1);
        assert_eq!(replaced.mounts(), (1, 1), "{}", replaced.text);

        cluster
            .unpublish(&id, &target)
            .await
            .must("NodeUnpublishVolume");
        cluster
            .unstage(&id, &staging)
            .await
            .must("NodeUnstageVolume");
        cluster
            .delete_volume_after_a_kill(&id)
            .await
            .must("DeleteVolume");

        let end = scrape_until(addr, "dfuse exited 0 after unstage", |s| {
            s.count("daos_csi_dfuse_exited_total", &[("code", "0")]) == 1
        })
        .await;
        let rpc_counts = [
            ("GetCapacity", "OK", 1),
            ("CreateVolume", "OK", 1),
            ("CreateVolume", "INVALID_ARGUMENT", 1),
            ("NodeStageVolume", "OK", 2),
            ("NodePublishVolume", "OK", 1),
            ("NodeUnpublishVolume", "OK", 1),
            ("NodeUnstageVolume", "OK", 1),
            ("DeleteVolume", "OK", 1),
            ("DeleteVolume", "INVALID_ARGUMENT", 0),
            ("ListVolumes", "OK", 0),
        ];
        for (method, code, n) in rpc_counts {
            assert_eq!(end.rpc(method, code), n, "{method} {code}:\n{}", end.text);
        }
        assert!(end.rpc("GetPluginInfo", "OK") >= 1, "the start-up probe");
        assert_eq!(
            end.count(
                "daos_csi_grpc_request_duration_seconds_count",
                &[("method", "CreateVolume")]
            ),
            2,
            "both CreateVolume calls timed"
        );
        assert_eq!(
            end.count(
                "daos_csi_grpc_request_duration_seconds_bucket",
                &[("method", "CreateVolume"), ("le", "+Inf")]
            ),
            2
        );

        let daos_ok = |op: &str| {
            end.count(
                "daos_csi_daos_calls_total",
                &[("operation", op), ("code", "DER_SUCCESS")],
            )
        };
        assert_eq!(daos_ok("init"), 1, "{}", end.text);
        // Cached connections: one for the pool by label (the StorageClass), one by UUID (the
        // volume id DeleteVolume gets).
        assert_eq!(daos_ok("pool_connect"), 2, "{}", end.text);
        assert_eq!(daos_ok("pool_query"), 1);
        assert_eq!(daos_ok("volume_create"), 1);
        assert_eq!(daos_ok("volume_delete"), 1);

        assert_eq!(end.count("daos_csi_dfuse_started_total", &[]), 2);
        assert_eq!(end.count("daos_csi_dfuse_restarted_total", &[]), 1);
        assert_eq!(
            end.count("daos_csi_dfuse_exited_total", &[("code", "SIGKILL")]),
            1
        );
        assert_eq!(end.mounts(), (0, 0), "nothing mounted after unstage");

        // The pool gauges hold what GetCapacity saw: its answer is the free bytes.
        let free_key = end
            .samples
            .keys()
            .find(|k| k.starts_with("daos_csi_pool_free_bytes{"))
            .unwrap_or_else(|| panic!("no pool gauge:\n{}", end.text))
            .clone();
        assert!(
            free_key.contains(&format!("pool={:?}", cluster.pool())),
            "{free_key}"
        );
        assert_eq!(
            end.samples[&free_key] as i64, capacity.available_capacity,
            "free bytes gauge vs GetCapacity"
        );
        let total_key = free_key.replace("daos_csi_pool_free_bytes", "daos_csi_pool_total_bytes");
        let total = end.samples.get(&total_key).copied().unwrap_or(0.0) as i64;
        assert!(
            total >= capacity.available_capacity && total > 0,
            "total {total} vs free {}",
            capacity.available_capacity
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_endpoint_is_off_by_default_and_rejects_other_paths() {
    if !privileged_or_skip("metrics_endpoint_is_off_by_default_and_rejects_other_paths") {
        return;
    }
    within(Duration::from_secs(60), "metrics endpoint", async {
        let addr = free_port();
        let cluster = Cluster::start(ClusterConfig {
            layout: Layout::Roles("controller"),
            extra_args: vec!["--metrics-addr".into(), addr.to_string()],
            ..ClusterConfig::default()
        })
        .await;
        // A controller exports no node or mounter families.
        let s = scrape(addr).await;
        assert!(s.typed.iter().any(|t| t == "daos_csi_pool_free_bytes"));
        assert!(
            !s.typed.iter().any(|t| t == "daos_csi_mounts"),
            "{}",
            s.text
        );
        assert!(
            !s.typed.iter().any(|t| t == "daos_csi_dfuse_started_total"),
            "{}",
            s.text
        );
        let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
        stream
            .write_all(b"GET /secrets HTTP/1.0\r\n\r\n")
            .await
            .expect("send");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.expect("read");
        assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
        drop(cluster);

        // Without the flag the process listens on no TCP port at all.
        let mut quiet = Cluster::start(ClusterConfig {
            layout: Layout::Roles("controller"),
            ..ClusterConfig::default()
        })
        .await;
        let pid = quiet.csi_process.pid().expect("controller pid");
        assert!(
            quiet.csi_process.is_running(),
            "the controller should be running"
        );
        let listening = tcp_listen_sockets_of(pid);
        assert!(
            listening.is_empty(),
            "the driver listens on TCP without --metrics-addr: {listening:?}"
        );
        // The same check finds the endpoint when the flag is given.
        let with_flag = free_port();
        let _loud = Cluster::start(ClusterConfig {
            layout: Layout::Roles("controller"),
            extra_args: vec!["--metrics-addr".into(), with_flag.to_string()],
            ..ClusterConfig::default()
        })
        .await;
        let loud_pid = _loud.csi_process.pid().expect("controller pid");
        assert_eq!(
            tcp_listen_sockets_of(loud_pid),
            vec![with_flag.port()],
            "exactly the metrics port"
        );
    })
    .await;
}

/// Local ports of the TCP sockets in LISTEN state that process `pid` holds (from its fds and
/// /proc/net/tcp{,6}).
fn tcp_listen_sockets_of(pid: i32) -> Vec<u16> {
    let inodes: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("reading the driver's fds")
        .flatten()
        .filter_map(|fd| std::fs::read_link(fd.path()).ok())
        .filter_map(|link| {
            let link = link.to_string_lossy().into_owned();
            link.strip_prefix("socket:[")
                .and_then(|rest| rest.strip_suffix(']'))
                .map(str::to_string)
        })
        .collect();
    let mut ports = Vec::new();
    for table in ["tcp", "tcp6"] {
        let text = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")).unwrap_or_default();
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
            let (Some(local), Some(state), Some(inode)) =
                (fields.get(1), fields.get(3), fields.get(9))
            else {
                continue;
            };
            if *state == "0A" && inodes.iter().any(|i| i == inode) {
                let port = local
                    .rsplit_once(':')
                    .and_then(|(_, p)| u16::from_str_radix(p, 16).ok())
                    .expect("port of a listening socket");
                ports.push(port);
            }
        }
    }
    ports
}
