//! Host metrics end to end: the sampler and the real binary pointed at the fake host tree
//! in `tests/fixtures/host/` (golden values derived by hand from its files, counters
//! advanced between samples), `/api/metrics/history`, `/metrics` through promtool, and a
//! sanity run against this machine's own procfs.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use kiteportal::config::{HostConfig, MetricsConfig};
use kiteportal::host::Sampler;
use serde_json::{json, Value};

use crate::common::{fixture, get, metrics_json, next_sample, step_until_golden, Portal};

// ---------------------------------------------------------------------------------------
// The fake host and how its counters advance.

/// Copies a tree, keeping symlinks as symlinks (the namespace links dangle on purpose).
pub(crate) fn copy_tree(src: &Path, dst: &Path) {
    fs::create_dir_all(dst).unwrap();
    for e in fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        let ft = e.file_type().unwrap();
        let to = dst.join(e.file_name());
        if ft.is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(e.path()).unwrap(), &to).unwrap();
        } else if ft.is_dir() {
            copy_tree(&e.path(), &to);
        } else {
            fs::copy(e.path(), &to).unwrap();
        }
    }
}

type Rule = (&'static str, &'static [(usize, u64)]);

// Per step, /proc/stat (token 0 is the name; then user nice system idle iowait irq
// softirq steal guest guest_nice):
//   cpu0: user +300, system +100, idle +500, iowait +50, steal +50, guest +200 (inside
//         user) → 1000 ticks, busy 450 → 45 %
//   cpu1: user +100, idle +850, irq +50 → 1000 ticks, busy 150 → 15 %
//   cpu:  the sum → 2000 ticks, busy 600 → 30 %, iowait 50 → 2.5 %, steal 50 → 2.5 %
const STAT: &[Rule] = &[
    (
        "cpu",
        &[
            (1, 400),
            (3, 100),
            (4, 1350),
            (5, 50),
            (6, 50),
            (8, 50),
            (9, 200),
        ],
    ),
    (
        "cpu0",
        &[(1, 300), (3, 100), (4, 500), (5, 50), (8, 50), (9, 200)],
    ),
    ("cpu1", &[(1, 100), (4, 850), (6, 50)]),
];
// diskstats: token 5 = sectors read, 9 = sectors written (512 bytes each).
const DISKSTATS: &[Rule] = &[
    ("sda", &[(3, 10), (5, 2048), (7, 20), (9, 4096)]),
    ("sda2", &[(5, 2048), (9, 4096)]),
    ("nvme0n1", &[(9, 1024)]),
    ("nvme0n1p1", &[(9, 1024)]),
    ("sdb", &[(5, 8)]),
    ("loop0", &[(5, 999)]),
    ("dm-0", &[(5, 999), (9, 999)]),
];
// net/dev: token 1 = received bytes, 9 = sent bytes.
const NETDEV: &[Rule] = &[
    ("eth0:", &[(1, 250_000), (9, 50_000)]),
    ("wg0:", &[(1, 1000), (9, 3000)]),
    ("lo:", &[(1, 5555), (9, 5555)]),
    ("veth12ab:", &[(1, 777), (9, 777)]),
];

/// Adds `k` times each rule's deltas to the numeric tokens of the line naming it.
fn bump(text: &str, rules: &[Rule], k: u64) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let mut toks: Vec<String> = line.split_whitespace().map(String::from).collect();
        match rules.iter().find(|(n, _)| toks.iter().any(|t| t == n)) {
            Some((_, deltas)) => {
                for &(i, d) in deltas.iter() {
                    let v: u64 = toks[i].parse().unwrap();
                    toks[i] = (v + k * d).to_string();
                }
                out.push_str(&toks.join(" "));
            }
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

/// Writes the counter files of step `k` into a proc tree (a copy of the fixture's).
fn advance(proc: &Path, k: u64) {
    let base = fixture("host/proc");
    let w = |rel: &str, text: String| {
        let tmp = proc.join(format!("{rel}.tmp"));
        fs::write(&tmp, text).unwrap();
        fs::rename(&tmp, proc.join(rel)).unwrap();
    };
    let r = |rel: &str| fs::read_to_string(base.join(rel)).unwrap();
    w("stat", bump(&r("stat"), STAT, k));
    w("diskstats", bump(&r("diskstats"), DISKSTATS, k));
    w("1/net/dev", bump(&r("1/net/dev"), NETDEV, k));
    w("uptime", format!("{}.67 20000.00\n", 12345 + k));
}

/// A private copy of the fake host: `proc` (a symlink to the current state's tree, so a
/// running binary switches states atomically), `sys`, `root`.
struct FakeHost {
    dir: tempfile::TempDir,
}

impl FakeHost {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        copy_tree(&fixture("host/sys"), &dir.path().join("sys"));
        copy_tree(&fixture("host/root"), &dir.path().join("root"));
        let h = FakeHost { dir };
        h.set_state(0);
        h
    }
    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }
    /// Points `proc` at the tree of step `k` (created on first use).
    fn set_state(&self, k: u64) {
        let state = self.path(&format!("state{k}"));
        if !state.exists() {
            copy_tree(&fixture("host/proc"), &state);
            advance(&state, k);
        }
        crate::common::swap_symlink(&state, &self.path("proc"));
    }
    fn host_config(&self) -> HostConfig {
        HostConfig {
            proc: self.path("proc"),
            sys: self.path("sys"),
            root: self.path("root"),
            name: "fake".into(),
            cgroup: self.path("sys/fs/cgroup"),
        }
    }
}

fn metrics_config() -> MetricsConfig {
    MetricsConfig {
        interval: Duration::from_millis(250),
        history: Duration::from_secs(60),
        net_exclude: ["lo", "veth*", "docker*", "br-*", "virbr*"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
    }
}

// ---------------------------------------------------------------------------------------
// Golden values.

fn close(got: &Value, want: f64) -> bool {
    got.as_f64()
        .is_some_and(|g| (g - want).abs() <= 0.006 + want.abs() * 1e-9)
}

/// Differences between `s` and what step `k` of the fake host must give (`k == 0`: the
/// first sample, without rates). Empty when all is right.
///
/// `span` bounds the interval each counter's rate covers (a counter is timed where it is
/// read, not at the start of the sample): the time from the end of the previous sample
/// call to the start of this one, and from the start of the previous to the end of this.
/// `None` (samples taken by the server) allows a quarter of the sample's interval.
fn check(s: &Value, k: u64, host: &str, fake: &FakeHost, span: Option<(f64, f64)>) -> Vec<String> {
    let mut bad = Vec::new();
    let mut eq = |what: &str, got: &Value, want: Value| {
        if *got != want {
            bad.push(format!("{what}: got {got}, want {want}"));
        }
    };
    eq("host", &s["host"], json!(host));
    eq("uptime_seconds", &s["uptime_seconds"], json!(12345 + k));
    eq("processes", &s["processes"], json!(3));
    eq("errors", &s["errors"], json!({}));
    eq(
        "view",
        &s["view"],
        json!({
            "pid_namespace": "host", "net_namespace": "host",
            "proc": fake.path("proc").display().to_string(),
            "sys": fake.path("sys").display().to_string(),
            "root": fake.path("root").display().to_string(),
        }),
    );
    eq(
        "memory",
        &s["memory"],
        json!({
            "total_bytes": 8_192_000_000u64, "used_bytes": 2_048_000_000u64,
            "available_bytes": 6_144_000_000u64, "percent": 25.0,
            "swap_total_bytes": 2_048_000_000u64, "swap_used_bytes": 512_000_000u64,
        }),
    );
    eq(
        "temperatures",
        &s["temperatures"],
        json!([
            {"label": "coretemp Package id 0", "celsius": 45.0},
            {"label": "coretemp Core 0", "celsius": 41.5},
            {"label": "nvme", "celsius": 38.85},
        ]),
    );
    let iv = s["interval_seconds"].as_f64().unwrap_or(-1.0);
    let cpu = if k == 0 {
        json!({"percent": null, "cores": [null, null], "core_ids": [0, 1], "count": 2, "iowait_percent": null,
               "steal_percent": null, "load": [0.52, 0.41, 0.3]})
    } else {
        json!({"percent": 30.0, "cores": [45.0, 15.0], "core_ids": [0, 1], "count": 2, "iowait_percent": 2.5,
               "steal_percent": 2.5, "load": [0.52, 0.41, 0.3]})
    };
    eq("cpu", &s["cpu"], cpu);
    let interval_ok = if k == 0 {
        iv == 0.0
    } else {
        iv > 0.0 && iv < 30.0
    };
    if !interval_ok {
        bad.push(format!("interval_seconds: {iv}"));
    }

    // Rates: the step's byte deltas over the counter's interval, which lies in `span`.
    let (lo, hi) = span.unwrap_or((iv * 0.75, iv * 1.25));
    let rate = |what: &str, got: &Value, delta: f64| -> Option<String> {
        let ok = if k == 0 {
            got.is_null()
        } else {
            got.as_f64()
                .is_some_and(|g| g >= delta / hi - 0.006 && g <= delta / lo + 0.006)
        };
        (!ok).then(|| format!("{what}: got {got}, want {delta} over {lo}..{hi} s"))
    };
    let io = &s["disk_io"];
    let devices: Vec<&str> = io
        .as_array()
        .map(|a| a.iter().filter_map(|d| d["device"].as_str()).collect())
        .unwrap_or_default();
    if devices != ["sda", "sdb", "nvme0n1"] {
        bad.push(format!("disk_io devices: {devices:?}"));
    } else {
        bad.extend(rate(
            "sda read",
            &io[0]["read_bytes_per_sec"],
            2048.0 * 512.0,
        ));
        bad.extend(rate(
            "sda write",
            &io[0]["write_bytes_per_sec"],
            4096.0 * 512.0,
        ));
        bad.extend(rate("sdb read", &io[1]["read_bytes_per_sec"], 8.0 * 512.0));
        bad.extend(rate("sdb write", &io[1]["write_bytes_per_sec"], 0.0));
        bad.extend(rate("nvme read", &io[2]["read_bytes_per_sec"], 0.0));
        bad.extend(rate(
            "nvme write",
            &io[2]["write_bytes_per_sec"],
            1024.0 * 512.0,
        ));
    }
    let net = &s["network"];
    let names: Vec<&str> = net["interfaces"]
        .as_array()
        .map(|a| a.iter().filter_map(|i| i["name"].as_str()).collect())
        .unwrap_or_default();
    if names != ["eth0", "wg0"] {
        bad.push(format!("interfaces: {names:?}"));
    } else {
        let (eth, wg) = (&net["interfaces"][0], &net["interfaces"][1]);
        bad.extend(rate("network rx", &net["rx_bytes_per_sec"], 251_000.0));
        bad.extend(rate("network tx", &net["tx_bytes_per_sec"], 53_000.0));
        bad.extend(rate("eth0 rx", &eth["rx_bytes_per_sec"], 250_000.0));
        bad.extend(rate("eth0 tx", &eth["tx_bytes_per_sec"], 50_000.0));
        bad.extend(rate("wg0 rx", &wg["rx_bytes_per_sec"], 1000.0));
        bad.extend(rate("wg0 tx", &wg["tx_bytes_per_sec"], 3000.0));
        let mut eq = |what: &str, got: &Value, want: u64| {
            if *got != json!(want) {
                bad.push(format!("{what}: got {got}, want {want}"));
            }
        };
        eq(
            "eth0 rx total",
            &eth["rx_bytes_total"],
            5_000_000 + 250_000 * k,
        );
        eq(
            "eth0 tx total",
            &eth["tx_bytes_total"],
            3_000_000 + 50_000 * k,
        );
        eq("wg0 rx total", &wg["rx_bytes_total"], 2000 + 1000 * k);
        eq("wg0 tx total", &wg["tx_bytes_total"], 7000 + 3000 * k);
    }

    // Disks: which mounts is exact; the sizes come from the temp dir's real filesystem,
    // so they are checked against its statvfs and for consistency.
    let disks = s["disks"].as_array().cloned().unwrap_or_default();
    let ids: Vec<(String, String, String)> = disks
        .iter()
        .map(|d| {
            let f = |k: &str| d[k].as_str().unwrap_or("?").to_string();
            (f("mount"), f("device"), f("fs"))
        })
        .collect();
    let want: Vec<(String, String, String)> = [
        ("/", "/dev/sda2", "ext4"),
        ("/data", "/dev/nvme0n1p1", "xfs"),
        ("/mnt/my disk", "/dev/sdb1", "ext4"),
    ]
    .iter()
    .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
    .collect();
    if ids != want {
        bad.push(format!("disks: {ids:?}"));
    }
    let st = rustix::fs::statvfs(fake.path("root")).unwrap();
    let frsize = if st.f_frsize > 0 {
        st.f_frsize
    } else {
        st.f_bsize
    };
    for d in &disks {
        let n = |k: &str| d[k].as_u64().unwrap_or(u64::MAX);
        let (total, used, free) = (n("total_bytes"), n("used_bytes"), n("free_bytes"));
        if total != st.f_blocks * frsize {
            bad.push(format!("{} total_bytes {total} != statvfs", d["mount"]));
        }
        if used.saturating_add(free) > total || free == 0 || used == 0 {
            bad.push(format!(
                "{} used {used} + free {free} vs total {total}",
                d["mount"]
            ));
        }
        let pct = (used as f64 * 100.0 / (used + free) as f64 * 100.0).round() / 100.0;
        if !close(&d["percent"], pct) {
            bad.push(format!("{} percent {} != {pct}", d["mount"], d["percent"]));
        }
    }
    bad
}

// ---------------------------------------------------------------------------------------
// The sampler against the fake host, step by step (no timing involved).

#[test]
fn sampler_golden_values_from_the_fake_host() {
    let fake = FakeHost::new();
    // A generous statvfs deadline: this test is about values, and a loaded CI machine can
    // be slow to start the probe threads (the deadline itself is tested in disk.rs).
    let mut sampler = Sampler::new(&fake.host_config(), &metrics_config())
        .with_probe_deadline(Duration::from_secs(10));
    let t0 = Instant::now();
    let first = serde_json::to_value(sampler.sample()).unwrap();
    let t0_end = Instant::now();
    let bad = check(&first, 0, "fake", &fake, None);
    assert!(bad.is_empty(), "first sample: {bad:#?}\n{first:#}");

    fake.set_state(1);
    std::thread::sleep(Duration::from_millis(200));
    let t1 = Instant::now();
    let second = serde_json::to_value(sampler.sample()).unwrap();
    let span = (
        (t1 - t0_end).as_secs_f64(),
        (Instant::now() - t0).as_secs_f64(),
    );
    let bad = check(&second, 1, "fake", &fake, Some(span));
    assert!(bad.is_empty(), "second sample: {bad:#?}\n{second:#}");

    // Counters going backwards (reboot, interface re-created): null for that interval,
    // never negative, and the rest keeps its rates.
    let proc = fake.path("state1");
    let net = fs::read_to_string(proc.join("1/net/dev")).unwrap();
    fs::write(
        proc.join("1/net/dev"),
        net.replace("eth0: 5250000", "eth0: 10"),
    )
    .unwrap();
    let stat = fs::read_to_string(proc.join("stat")).unwrap();
    let cpu0 = stat.lines().nth(1).unwrap().to_string();
    fs::write(
        proc.join("stat"),
        stat.replace(&cpu0, "cpu0 1 0 0 1 0 0 0 0 0 0"),
    )
    .unwrap();
    // Rates need at least 1 ms between samples (below that they are null, not spikes).
    std::thread::sleep(Duration::from_millis(200));
    let s = serde_json::to_value(sampler.sample()).unwrap();
    let eth = &s["network"]["interfaces"][0];
    assert_eq!(eth["name"], "eth0");
    assert!(eth["rx_bytes_per_sec"].is_null(), "{s:#}");
    assert_eq!(eth["tx_bytes_per_sec"], 0.0);
    assert!(s["network"]["rx_bytes_per_sec"].is_null(), "{s:#}");
    assert_eq!(s["network"]["interfaces"][1]["rx_bytes_per_sec"], 0.0);
    assert!(s["cpu"]["cores"][0].is_null(), "{s:#}");
    assert_eq!(s["cpu"]["cores"][1], Value::Null); // no ticks passed on cpu1 either
    assert!(s["cpu"]["percent"].is_null()); // the aggregate did not move
    assert_eq!(s["errors"], json!({}));

    // A section that cannot be read is null with its reason; the rest still serves.
    // Without pid 1's files, mounts and traffic come from the process's own namespace.
    fs::remove_file(proc.join("meminfo")).unwrap();
    fs::remove_file(proc.join("1/net/dev")).unwrap();
    fs::remove_file(proc.join("1/mounts")).unwrap();
    fs::write(proc.join("loadavg"), "garbage\n").unwrap();
    let s = serde_json::to_value(sampler.sample()).unwrap();
    assert!(s["memory"].is_null());
    assert!(
        s["errors"]["memory"].as_str().unwrap().contains("meminfo"),
        "{s:#}"
    );
    assert!(s["cpu"]["load"].is_null());
    assert!(s["errors"]["load"].as_str().unwrap().contains("loadavg"));
    assert_eq!(s["cpu"]["count"], 2);
    assert_eq!(s["network"]["interfaces"][0]["name"], "eth0");
    assert_eq!(s["network"]["interfaces"][0]["rx_bytes_total"], 77);
    assert_eq!(s["disks"], json!([])); // the container's own overlay root only
    assert_eq!(s["processes"], 3);
    assert_eq!(s["errors"].as_object().unwrap().len(), 2, "{s:#}");
}

#[test]
fn sampler_without_a_procfs_reports_every_section() {
    let dir = tempfile::tempdir().unwrap();
    let host = HostConfig {
        proc: dir.path().join("missing-proc"),
        sys: dir.path().join("missing-sys"),
        root: dir.path().to_path_buf(),
        name: "none".into(),
        cgroup: dir.path().join("missing-sys/fs/cgroup"),
    };
    let mut sampler = Sampler::new(&host, &metrics_config());
    let s = serde_json::to_value(sampler.sample()).unwrap();
    for key in [
        "cpu",
        "load",
        "uptime",
        "memory",
        "disks",
        "disk_io",
        "network",
        "processes",
        "containers",
    ] {
        assert!(s["errors"][key].is_string(), "{key}: {s:#}");
    }
    for key in [
        "cpu",
        "memory",
        "disks",
        "disk_io",
        "network",
        "processes",
        "uptime_seconds",
        "containers",
    ] {
        assert!(s[key].is_null(), "{key}: {s:#}");
    }
    assert_eq!(s["temperatures"], json!([]));
    assert_eq!(s["view"]["pid_namespace"], "container");
}

// ---------------------------------------------------------------------------------------
// The real binary against the fake host.

fn start_fake(fake: &FakeHost) -> Portal {
    Portal::builder()
        .config("[metrics]\ninterval = \"250ms\"\nhistory = \"1m\"")
        .env("HOST_PROC", fake.path("proc").to_str().unwrap())
        .env("HOST_SYS", fake.path("sys").to_str().unwrap())
        .env("HOST_ROOT", fake.path("root").to_str().unwrap())
        .start()
}

#[test]
fn binary_serves_golden_metrics_and_history_from_the_fake_host() {
    let fake = FakeHost::new();
    let portal = start_fake(&fake);
    // Primed before the server listened: a sample is there at once.
    let last = metrics_json(&portal);
    assert_eq!(last["host"], "testhost");
    assert!(
        chrono::DateTime::parse_from_rfc3339(last["timestamp"].as_str().unwrap()).is_ok(),
        "{last}"
    );
    if last["interval_seconds"] == 0.0 {
        let bad = check(&last, 0, "testhost", &fake, None);
        assert!(bad.is_empty(), "primed sample: {bad:#?}\n{last:#}");
    }

    // Advance the counters one step after each sample. A step applied while a sample
    // was being read would mix two states; the next step then gives a clean interval,
    // so a few attempts are allowed (every full step gives the same golden values).
    let s = step_until_golden(
        &portal,
        last,
        |k| fake.set_state(k),
        |s, k| check(s, k, "testhost", &fake, None),
    );

    // The history holds compact points of the same samples, oldest first.
    let r = get(portal.addr, "/api/metrics/history", &[]).unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.header("cache-control"), Some("private, no-store"));
    let h = r.json();
    assert_eq!(h["interval_seconds"], 0.25);
    let points = h["samples"].as_array().unwrap();
    assert!(points.len() >= 2, "{h:#}");
    let times: Vec<&str> = points
        .iter()
        .map(|p| p["timestamp"].as_str().unwrap())
        .collect();
    let mut sorted = times.clone();
    sorted.sort();
    assert_eq!(times, sorted, "oldest first");
    let p = points
        .iter()
        .find(|p| p["timestamp"] == s["timestamp"])
        .unwrap_or_else(|| panic!("sample {} not in history {h:#}", s["timestamp"]));
    assert_eq!(
        *p,
        json!({
            "timestamp": s["timestamp"], "cpu_percent": 30.0, "memory_percent": 25.0,
            "rx_bytes_per_sec": s["network"]["rx_bytes_per_sec"],
            "tx_bytes_per_sec": s["network"]["tx_bytes_per_sec"],
        })
    );
    assert!(p["rx_bytes_per_sec"].as_f64().unwrap() > 0.0);
    assert!(portal
        .log_text()
        .contains("host view: host PID and network namespaces"));
}

#[test]
fn prometheus_exposition_passes_promtool() {
    let promtool = Path::new("/usr/bin/promtool");
    if !promtool.exists() {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "promtool is required in CI (Debian package prometheus)"
        );
        eprintln!("skipping: /usr/bin/promtool not installed");
        return;
    }
    let fake = FakeHost::new();
    let portal = start_fake(&fake);
    let first = metrics_json(&portal);
    fake.set_state(1);
    // A sample with every section (a busy machine may miss a statvfs deadline once).
    let mut s = next_sample(&portal, &first);
    for _ in 0..20 {
        if s["errors"] == json!({}) {
            break;
        }
        s = next_sample(&portal, &s);
    }
    let r = get(portal.addr, "/metrics", &[]).unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let text = r.text();
    for line in [
        "kiteportal_memory_used_bytes 2048000000",
        "kiteportal_disk_total_bytes{mount=\"/mnt/my disk\",device=\"/dev/sdb1\",fs=\"ext4\"}",
        "kiteportal_temperature_celsius{sensor=\"coretemp Package id 0\"} 45",
        "kiteportal_uptime_seconds 1234",
        "kiteportal_feed_status{feed=\"activity\",status=\"disabled\"} 1",
        "kiteportal_http_requests_total{code=\"2xx\"}",
        "kiteportal_task_panics_total 0",
        "kiteportal_network_receive_bytes_total{interface=\"eth0\"}",
        "kiteportal_host_view_info{pid_namespace=\"host\",net_namespace=\"host\"} 1",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
    for line in [
        // The counters of step 1 (ticks of 1/100 s; sectors of 512 bytes): cpu0's user
        // 5000 + 300, idle 40000 + 500, steal 150 + 50; cpu1's irq 50 + 50.
        "# TYPE kiteportal_cpu_seconds_total counter",
        "kiteportal_cpu_seconds_total{cpu=\"0\",mode=\"user\"} 53",
        "kiteportal_cpu_seconds_total{cpu=\"0\",mode=\"idle\"} 405",
        "kiteportal_cpu_seconds_total{cpu=\"0\",mode=\"steal\"} 2",
        "kiteportal_cpu_seconds_total{cpu=\"1\",mode=\"irq\"} 1",
        "kiteportal_disk_read_bytes_total{device=\"sda\"} 11288576",
        "kiteportal_disk_written_bytes_total{device=\"sda\"} 22577152",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
    crate::common::promtool_check(promtool, &text);
}

// ---------------------------------------------------------------------------------------
// This machine's own procfs.

fn meminfo_kib(key: &str) -> u64 {
    let text = fs::read_to_string("/proc/meminfo").unwrap();
    text.lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            (k == key).then(|| v.split_whitespace().next()?.parse().ok())?
        })
        .unwrap()
}

#[test]
fn real_procfs_sanity() {
    let portal = Portal::builder()
        .config("[metrics]\ninterval = \"250ms\"")
        .env("HOST_PROC", "/proc")
        .env("HOST_SYS", "/sys")
        .env("HOST_ROOT", "/")
        .start();
    let mut s = metrics_json(&portal);
    // Wait for a sample with rates (the first has none).
    while s["interval_seconds"] == 0.0 {
        s = next_sample(&portal, &s);
    }
    let pct = |v: &Value| {
        let p = v.as_f64().unwrap();
        assert!((0.0..=100.0).contains(&p), "{p}: {s:#}");
    };
    // Across 250 ms the kernel may not have ticked (percent null); otherwise in range.
    if !s["cpu"]["percent"].is_null() {
        pct(&s["cpu"]["percent"]);
        pct(&s["cpu"]["iowait_percent"]);
        pct(&s["cpu"]["steal_percent"]);
    }
    for c in s["cpu"]["cores"].as_array().unwrap() {
        if !c.is_null() {
            pct(c);
        }
    }
    assert!(s["cpu"]["count"].as_u64().unwrap() >= 1);
    let m = &s["memory"];
    assert_eq!(m["total_bytes"], meminfo_kib("MemTotal") * 1024);
    assert_eq!(m["swap_total_bytes"], meminfo_kib("SwapTotal") * 1024);
    assert_eq!(
        m["used_bytes"].as_u64().unwrap() + m["available_bytes"].as_u64().unwrap(),
        m["total_bytes"].as_u64().unwrap()
    );
    pct(&m["percent"]);
    for d in s["disks"].as_array().unwrap() {
        pct(&d["percent"]);
        assert!(d["used_bytes"].as_u64().unwrap() <= d["total_bytes"].as_u64().unwrap());
    }
    for i in s["network"]["interfaces"].as_array().unwrap() {
        if let Some(r) = i["rx_bytes_per_sec"].as_f64() {
            assert!(r >= 0.0);
        }
    }
    assert!(s["processes"].as_u64().unwrap() >= 1);
    assert!(s["uptime_seconds"].as_u64().unwrap() > 0);
    assert!(s["load"].is_null()); // load lives under cpu
    assert_eq!(s["cpu"]["load"].as_array().unwrap().len(), 3);
}
