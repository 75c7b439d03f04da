//! Containers from cgroup v2 end to end: the real binary reads the fake hierarchy in
//! `tests/fixtures/cgroup/` (all three layouts) over a real socket while its counters
//! advance, with golden values in `/api/metrics` and `/metrics` and the OOM-kill log line;
//! the sampler on trees that change or are wrong (a FIFO, cgroup v1, no root, a flood of
//! directories). The parsers' property tests are beside them (`host/cgroup/parse_props.rs`).

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use kiteportal::config::{HostConfig, MetricsConfig};
use kiteportal::host::Sampler;
use serde_json::{json, Value};

use crate::common::{
    closed_port, fixture, get, metrics_json, next_sample, step_until_golden, Portal,
};
use crate::host::copy_tree;

const A: &str = "3f2a1b2c3d4e5f60718293a4b5c6d7e8f90123456789abcdef0123456789abcd";
const B: &str = "b0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1";
const C: &str = "c0ffee0123456789abcdef0123456789abcdef0123456789abcdef0123456789";

fn dir_a() -> String {
    format!("system.slice/docker-{A}.scope")
}
fn dir_b() -> String {
    format!("docker/{B}")
}
fn dir_c() -> String {
    format!("machine.slice/libpod-{C}.scope")
}

/// (container directory, file, key, added per step). Keys are a flat-keyed file's first
/// column, or `MAJ:MIN rbytes` / `MAJ:MIN wbytes` for a device line of `io.stat`.
fn rules() -> Vec<(String, &'static str, &'static str, u64)> {
    vec![
        (dir_a(), "cpu.stat", "usage_usec", 500_000),
        (dir_a(), "io.stat", "8:0 rbytes", 40_960),
        (dir_a(), "io.stat", "8:0 wbytes", 81_920),
        (dir_a(), "io.stat", "253:0 rbytes", 8_192),
        (dir_b(), "cpu.stat", "usage_usec", 250_000),
        (dir_b(), "memory.events", "oom", 1),
        (dir_b(), "memory.events", "oom_kill", 1),
        (dir_c(), "cpu.stat", "usage_usec", 100_000),
    ]
}

/// Adds `k` steps of the rules of `file` to its text.
fn bump(text: &str, dir: &str, file: &str, k: u64) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let mut toks: Vec<String> = line.split_whitespace().map(String::from).collect();
        for (d, f, key, step) in rules() {
            if d != dir || f != file {
                continue;
            }
            match key.split_once(' ') {
                Some((dev, field)) if toks.first().map(String::as_str) == Some(dev) => {
                    for t in toks.iter_mut() {
                        if let Some(v) = t.strip_prefix(&format!("{field}=")) {
                            let v: u64 = v.parse().unwrap();
                            *t = format!("{field}={}", v + k * step);
                        }
                    }
                }
                None if toks.first().map(String::as_str) == Some(key) => {
                    let v: u64 = toks[1].parse().unwrap();
                    toks[1] = (v + k * step).to_string();
                }
                _ => {}
            }
        }
        out.push_str(&toks.join(" "));
        out.push('\n');
    }
    out
}

/// A private copy of the fake hierarchy: `cgroup` is a symlink to the tree of the current
/// step (switched atomically), `proc` the fake host's (pids 1337 and 42 have command lines).
pub(crate) struct FakeCgroups {
    dir: tempfile::TempDir,
}

impl FakeCgroups {
    pub(crate) fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        copy_tree(&fixture("host/proc"), &dir.path().join("proc"));
        copy_tree(&fixture("host/sys"), &dir.path().join("sys"));
        copy_tree(&fixture("host/root"), &dir.path().join("root"));
        let f = FakeCgroups { dir };
        f.set_state(0);
        f
    }
    pub(crate) fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }
    /// The tree of step `k`, created on first use.
    fn state(&self, k: u64) -> PathBuf {
        let state = self.path(&format!("cg{k}"));
        if !state.exists() {
            copy_tree(&fixture("cgroup"), &state);
            for (d, f, _, _) in rules() {
                let p = state.join(&d).join(f);
                let base = fs::read_to_string(fixture("cgroup").join(&d).join(f)).unwrap();
                fs::write(&p, bump(&base, &d, f, k)).unwrap();
            }
        }
        state
    }
    pub(crate) fn set_state(&self, k: u64) {
        crate::common::swap_symlink(&self.state(k), &self.path("cgroup"));
    }
    fn host_config(&self) -> HostConfig {
        HostConfig {
            proc: self.path("proc"),
            sys: self.path("sys"),
            root: self.path("root"),
            name: "fake".into(),
            cgroup: self.path("cgroup"),
        }
    }
}

fn metrics_config() -> MetricsConfig {
    MetricsConfig {
        interval: Duration::from_millis(250),
        history: Duration::from_secs(60),
        net_exclude: vec!["lo".into()],
    }
}

/// A sampler on `host` with a generous statvfs deadline (a loaded machine is slow to
/// start the probe threads; this file is about containers).
fn sampler(host: &HostConfig) -> Sampler {
    Sampler::new(host, &metrics_config()).with_probe_deadline(Duration::from_secs(10))
}

/// Differences between the `containers` section of `s` and step `k` of the fake
/// hierarchy (`k == 0`: the first sample, rates null). Empty when all is right.
fn check(s: &Value, k: u64) -> Vec<String> {
    let mut bad = Vec::new();
    // Other sections may miss a deadline on a loaded machine; this test is about ours.
    if !s["errors"]["containers"].is_null() {
        bad.push(format!("errors: {}", s["errors"]));
    }
    let Some(list) = s["containers"].as_array() else {
        return vec![format!("containers: {}", s["containers"])];
    };
    let iv = s["interval_seconds"].as_f64().unwrap_or(-1.0);
    let ids: Vec<&str> = list.iter().filter_map(|c| c["id"].as_str()).collect();
    // Sorted by memory, largest first; the conmon scope and the engine's services are not
    // containers.
    if ids != ["3f2a1b2c3d4e", "b0d1e2f3a4b5", "c0ffee012345"] {
        return vec![format!("ids: {ids:?}")];
    }
    let mut eq = |what: &str, got: &Value, want: Value| {
        if *got != want {
            bad.push(format!("{what}: got {got}, want {want}"));
        }
    };
    let fixed = |c: &Value| {
        json!({
            "id": c["id"], "name": c["name"], "engine": c["engine"], "command": c["command"],
            "service": c["service"], "memory_bytes": c["memory_bytes"],
            "memory_current_bytes": c["memory_current_bytes"],
            "memory_limit_bytes": c["memory_limit_bytes"], "oom_kills": c["oom_kills"],
            "processes": c["processes"],
        })
    };
    eq(
        "forgejo",
        &fixed(&list[0]),
        json!({"id": "3f2a1b2c3d4e", "name": "forgejo web", "engine": "docker",
               "command": "forgejo web", "service": null,
               // memory.current less inactive_file (memory.stat), as docker stats shows.
               "memory_bytes": 201_326_592u64, "memory_current_bytes": 268_435_456u64,
               "memory_limit_bytes": 536_870_912u64, "oom_kills": 0, "processes": 12}),
    );
    eq(
        "postgres",
        &fixed(&list[1]),
        json!({"id": "b0d1e2f3a4b5", "name": "db", "engine": "docker",
               "command": "postgres -c shared_buffers=128MB", "service": "Forgejo",
               "memory_bytes": 134_217_728u64, "memory_current_bytes": 134_217_728u64,
               "memory_limit_bytes": null,
               "oom_kills": 2 + k, "processes": 7}),
    );
    eq(
        "podman",
        &fixed(&list[2]),
        json!({"id": "c0ffee012345", "name": "photos", "engine": "podman",
               "command": null, "service": null, "memory_bytes": 67_108_864u64,
               "memory_current_bytes": 67_108_864u64,
               "memory_limit_bytes": 104_857_600u64, "oom_kills": 0, "processes": 3}),
    );
    // Rates over the measured interval; CPU as a share of the fake host's 2 CPUs. The
    // section is timed where it is read, so its interval is the sample's give or take the
    // reads before it: a quarter of the interval allowed.
    let mut rate = |what: &str, got: &Value, per_step: Option<f64>| {
        let ok = match (k, per_step) {
            (0, _) | (_, None) => got.is_null(),
            (_, Some(d)) => got
                .as_f64()
                .is_some_and(|g| g >= d / (iv * 1.25) - 0.006 && g <= d / (iv * 0.75) + 0.006),
        };
        if !ok {
            bad.push(format!("{what}: got {got}, want {per_step:?}/{iv}"));
        }
    };
    let cpu = |usec: f64| Some(usec / 1e6 / 2.0 * 100.0);
    rate("forgejo cpu", &list[0]["cpu_percent"], cpu(500_000.0));
    rate("db cpu", &list[1]["cpu_percent"], cpu(250_000.0));
    rate("photos cpu", &list[2]["cpu_percent"], cpu(100_000.0));
    rate(
        "forgejo read",
        &list[0]["read_bytes_per_sec"],
        Some(40_960.0 + 8_192.0),
    );
    rate(
        "forgejo write",
        &list[0]["write_bytes_per_sec"],
        Some(81_920.0),
    );
    rate("db read", &list[1]["read_bytes_per_sec"], Some(0.0));
    rate("db write", &list[1]["write_bytes_per_sec"], Some(0.0));
    rate(
        "photos read (no io.stat)",
        &list[2]["read_bytes_per_sec"],
        None,
    );
    rate("photos write", &list[2]["write_bytes_per_sec"], None);
    bad
}

const CONFIG: &str = "[metrics]\ninterval = \"250ms\"\nhistory = \"1m\"\n\
    [[containers]]\nmatch = \"postgres\"\nname = \"db\"\nservice = \"Forgejo\"\n\
    [[containers]]\nmatch = \"C0FFEE\"\nname = \"photos\"\n";

/// The real binary on the fake host and hierarchy `cgroup`, with the owner's names.
pub(crate) fn start(fake: &FakeCgroups, cgroup: &Path) -> Portal {
    Portal::builder()
        .config(CONFIG)
        .config(&format!(
            "[[services]]\nname = \"Forgejo\"\nurl = \"https://git.example\"\n\
             check_url = \"http://127.0.0.1:{}\"",
            closed_port()
        ))
        .env("HOST_PROC", fake.path("proc").to_str().unwrap())
        .env("HOST_SYS", fake.path("sys").to_str().unwrap())
        .env("HOST_ROOT", fake.path("root").to_str().unwrap())
        .env("HOST_CGROUP", cgroup.to_str().unwrap())
        .start()
}

#[test]
fn containers_golden_values_from_the_binary_while_counters_advance() {
    let fake = FakeCgroups::new();
    let portal = start(&fake, &fake.path("cgroup"));
    let last = metrics_json(&portal);
    if last["interval_seconds"] == 0.0 {
        let bad = check(&last, 0);
        assert!(bad.is_empty(), "primed sample: {bad:#?}\n{last:#}");
    }
    let last = step_until_golden(&portal, last, |k| fake.set_state(k), check);

    // Every step kills one process in the postgres container: one warning per sample
    // that saw it, naming the container, and a 24-hour mark.
    let log = portal.log_text();
    assert!(
        log.contains("container db (b0d1e2f3a4b5) OOM-killed: 1 process(es) since the last sample"),
        "{log}"
    );
    let db = &last["containers"][1];
    assert!(db["oom_kills_24h"].as_u64().unwrap() >= 1, "{db}");
    assert!(db["last_oom_kill"].is_string(), "{db}");
    assert_eq!(last["containers"][0]["oom_kills_24h"], 0);
    assert!(last["containers"][0]["last_oom_kill"].is_null());

    let r = get(portal.addr, "/metrics", &[]).unwrap();
    assert_eq!(r.status, 200);
    let text = r.text();
    for line in [
        "# TYPE kiteportal_container_oom_kills_total counter",
        "kiteportal_container_memory_bytes{id=\"3f2a1b2c3d4e\",name=\"forgejo web\"} 201326592",
        "kiteportal_container_memory_current_bytes{id=\"3f2a1b2c3d4e\",name=\"forgejo web\"} 268435456",
        "# TYPE kiteportal_container_cpu_seconds_total counter",
        "# TYPE kiteportal_container_read_bytes_total counter",
        "# TYPE kiteportal_container_written_bytes_total counter",
        "kiteportal_container_memory_limit_bytes{id=\"c0ffee012345\",name=\"photos\"} 104857600",
        "kiteportal_container_processes{id=\"b0d1e2f3a4b5\",name=\"db\"} 7",
        "kiteportal_container_cpu_percent{id=\"3f2a1b2c3d4e\",name=\"forgejo web\"}",
        "kiteportal_container_oom_kills_total{id=\"b0d1e2f3a4b5\",name=\"db\"}",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
    // The raw counters of the step the golden sample was at (db's OOM kills count steps).
    let k = last["containers"][1]["oom_kills"].as_u64().unwrap() - 2;
    let forgejo = "{id=\"3f2a1b2c3d4e\",name=\"forgejo web\"}";
    for line in [
        format!(
            "kiteportal_container_cpu_seconds_total{forgejo} {}",
            (8_123_456 + k * 500_000) as f64 / 1e6
        ),
        format!(
            "kiteportal_container_read_bytes_total{forgejo} {}",
            1_048_576 + 4_096 + k * (40_960 + 8_192)
        ),
        format!(
            "kiteportal_container_written_bytes_total{forgejo} {}",
            2_097_152 + k * 81_920
        ),
        "kiteportal_container_written_bytes_total{id=\"b0d1e2f3a4b5\",name=\"db\"} 0".into(),
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
    // No io.stat (the io controller is off for it), no I/O series.
    assert!(!text.contains("kiteportal_container_read_bytes_total{id=\"c0ffee012345\""));
    // No limit, no series (not a made-up 0).
    assert!(!text.contains("kiteportal_container_memory_limit_bytes{id=\"b0d1e2f3a4b5\""));
    promtool_check(&text);

    // The page's containers tile, rendered without JavaScript: a table, largest first,
    // with the OOM mark on the container killed in the last 24 hours.
    let page = get(portal.addr, "/", &[]).unwrap().text();
    let tile = page
        .split("id=\"containers\"")
        .nth(1)
        .and_then(|t| t.split("</article>").next())
        .unwrap_or_else(|| panic!("no containers tile in\n{page}"));
    assert!(tile.contains("<table class=\"ctr-table\""), "{tile}");
    let names: Vec<&str> = tile
        .split("<th scope=\"row\"")
        .skip(1)
        .filter_map(|r| r.split('>').nth(1)?.split('<').next())
        .collect();
    assert_eq!(names, ["forgejo web", "db", "photos"], "{tile}");
    assert!(tile.contains("OOM-killed"), "{tile}");
    assert!(tile.contains("no limit"), "{tile}");
    // 192 MiB in use (256 MiB less 64 MiB of inactive page cache) of the fake host's
    // 8.192 GB, and of its 512 MiB limit.
    assert!(
        tile.contains(">2.5%<") && tile.contains(">37.5%<"),
        "{tile}"
    );
    // The db container is linked to the Forgejo service: its card tells of the kills.
    let card = page
        .split("data-name=\"Forgejo\"")
        .nth(1)
        .and_then(|c| c.split("</li>").next())
        .unwrap_or_else(|| panic!("no Forgejo card in\n{page}"));
    assert!(
        card.contains("class=\"ctr-note\"") && card.contains("container OOM-killed"),
        "{card}"
    );
}

/// `promtool check metrics` accepts the exposition (skipped where promtool is missing;
/// `host.rs` requires it in CI).
fn promtool_check(text: &str) {
    let promtool = Path::new("/usr/bin/promtool");
    if promtool.exists() {
        crate::common::promtool_check(promtool, text);
    }
}

#[test]
fn containers_fifo_in_the_tree_is_refused_without_a_stall() {
    let fake = FakeCgroups::new();
    let tree = fake.state(0);
    let victim = tree.join(dir_a()).join("memory.current");
    fs::remove_file(&victim).unwrap();
    rustix::fs::mknodat(
        rustix::fs::CWD,
        &victim,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o644),
        0,
    )
    .unwrap();
    let portal = start(&fake, &fake.path("cgroup"));
    let first = metrics_json(&portal);
    // The sampler keeps its schedule (a blocked open would stop it for good).
    let t = Instant::now();
    let s = next_sample(&portal, &first);
    let s = next_sample(&portal, &s);
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    assert!(s["containers"].is_null(), "{s:#}");
    let why = s["errors"]["containers"].as_str().unwrap();
    assert!(
        why.contains("memory.current") && why.contains("not a regular file"),
        "{why}"
    );
    assert_eq!(s["cpu"]["count"], 2);
    assert_eq!(s["memory"]["total_bytes"], 8_192_000_000u64);
    // Logged once, not at every interval.
    let log = portal.log_text();
    assert_eq!(log.matches("not a regular file").count(), 1, "{log}");
}

#[test]
fn containers_on_cgroup_v1_say_so_once_with_the_fix() {
    let fake = FakeCgroups::new();
    let v1 = fake.path("v1");
    for c in [
        "cpu,cpuacct",
        "memory",
        "pids",
        "blkio",
        "systemd",
        "unified",
    ] {
        fs::create_dir_all(v1.join(c).join("docker").join(A)).unwrap();
    }
    let portal = start(&fake, &v1);
    let first = metrics_json(&portal);
    let s = next_sample(&portal, &next_sample(&portal, &first));
    assert!(s["containers"].is_null());
    let why = s["errors"]["containers"].as_str().unwrap();
    assert!(why.contains("cgroup v1 is not supported"), "{why}");
    assert!(why.contains("systemd.unified_cgroup_hierarchy=1"), "{why}");
    assert!(s["cpu"].is_object() && s["memory"].is_object(), "{s:#}");
    let log = portal.log_text();
    assert_eq!(
        log.matches("cgroup v1 is not supported").count(),
        1,
        "{log}"
    );
}

#[test]
fn containers_bad_roots_leave_the_rest_of_the_sample() {
    let fake = FakeCgroups::new();
    let mut host = fake.host_config();
    host.cgroup = fake.path("nowhere");
    let s = serde_json::to_value(sampler(&host).sample()).unwrap();
    assert!(s["containers"].is_null());
    let why = s["errors"]["containers"].as_str().unwrap();
    assert!(
        why.contains("does not exist") && why.contains("HOST_CGROUP"),
        "{why}"
    );
    assert!(s["cpu"].is_object() && s["memory"].is_object(), "{s:#}");
    assert_eq!(s["errors"].as_object().unwrap().len(), 1, "{s:#}");

    // A flood of directories: refused quickly, with the reason.
    let flood = fake.path("flood");
    fs::create_dir_all(flood.join("system.slice")).unwrap();
    fs::write(flood.join("cgroup.controllers"), "cpu memory\n").unwrap();
    for i in 0..1000 {
        fs::create_dir(flood.join(format!("system.slice/docker-{i:064x}.scope"))).unwrap();
    }
    host.cgroup = flood;
    let t = Instant::now();
    let s = serde_json::to_value(sampler(&host).sample()).unwrap();
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    assert!(s["containers"].is_null());
    let why = s["errors"]["containers"].as_str().unwrap();
    assert!(why.contains("more than 500 containers"), "{why}");

    // Malformed text: null with the file named.
    let tree = fake.state(0);
    fs::write(tree.join(dir_b()).join("cpu.stat"), "usage_usec lots\n").unwrap();
    host.cgroup = tree;
    let s = serde_json::to_value(sampler(&host).sample()).unwrap();
    assert!(s["containers"].is_null());
    let why = s["errors"]["containers"].as_str().unwrap();
    assert!(why.contains("cpu.stat") && why.contains("lots"), "{why}");
    assert!(s["cpu"].is_object());

    // A root with no containers: an empty list, not an error.
    host.cgroup = fake.path("sys/fs/cgroup");
    let s = serde_json::to_value(sampler(&host).sample()).unwrap();
    assert_eq!(s["containers"], json!([]));
    assert_eq!(s["errors"], json!({}));
}

#[test]
fn containers_that_appear_or_vanish_between_samples() {
    let fake = FakeCgroups::new();
    let mut sampler = sampler(&fake.host_config());
    let first = serde_json::to_value(sampler.sample()).unwrap();
    assert_eq!(first["containers"].as_array().unwrap().len(), 3);

    // Step 1 for the others; the Podman container stops and a new Docker one starts.
    let tree = fake.state(1);
    fs::remove_dir_all(tree.join(dir_c())).unwrap();
    let new = tree.join(format!("system.slice/docker-{}.scope", "d".repeat(64)));
    fs::create_dir(&new).unwrap();
    fs::write(new.join("cpu.stat"), "usage_usec 5\n").unwrap();
    fs::write(new.join("memory.current"), "4096\n").unwrap();
    fake.set_state(1);
    std::thread::sleep(Duration::from_millis(5));
    let s = serde_json::to_value(sampler.sample()).unwrap();
    let list = s["containers"].as_array().unwrap();
    let ids: Vec<&str> = list.iter().filter_map(|c| c["id"].as_str()).collect();
    assert_eq!(
        ids,
        ["3f2a1b2c3d4e", "b0d1e2f3a4b5", "dddddddddddd"],
        "{s:#}"
    );
    let new = &list[2];
    // New: no rates yet; missing controller files are nulls; named by its short id.
    assert!(new["cpu_percent"].is_null(), "{new}");
    assert!(
        new["processes"].is_null() && new["oom_kills"].is_null(),
        "{new}"
    );
    assert_eq!(new["name"], "dddddddddddd");
    assert!(list[0]["cpu_percent"].as_f64().unwrap() > 0.0, "{s:#}");

    // A counter that goes backwards (the container was re-created with the same id):
    // null for that interval, never negative.
    fs::write(tree.join(dir_a()).join("cpu.stat"), "usage_usec 1\n").unwrap();
    std::thread::sleep(Duration::from_millis(5));
    let s = serde_json::to_value(sampler.sample()).unwrap();
    assert!(s["containers"][0]["cpu_percent"].is_null(), "{s:#}");
    assert_eq!(s["containers"][1]["cpu_percent"], 0.0);
}

#[test]
fn containers_are_the_owners_only() {
    let fake = FakeCgroups::new();
    let p = start(&fake, &fake.path("cgroup"));
    let public = [("CF-Connecting-IP", "203.0.113.9")];
    // Two samples so the OOM note and rates exist; the owner sees everything.
    let first = metrics_json(&p);
    fake.set_state(1);
    let owner = next_sample(&p, &first);
    assert_eq!(
        owner["containers"].as_array().map(Vec::len),
        Some(3),
        "{owner}"
    );

    let r = get(p.addr, "/api/metrics", &public).unwrap();
    let m = r.json();
    assert!(
        m.get("containers").is_none(),
        "public body has containers: {m}"
    );
    assert!(m["errors"].get("containers").is_none());
    let page = get(p.addr, "/", &public).unwrap().text();
    assert!(
        !page.contains("id=\"containers\""),
        "public page has the tile"
    );
    assert!(
        !page.contains("postgres"),
        "public page names a container command"
    );
    let owner_page = get(p.addr, "/", &[]).unwrap().text();
    assert!(owner_page.contains("id=\"containers\""));
    assert_eq!(get(p.addr, "/metrics", &public).unwrap().status, 404);
    assert!(get(p.addr, "/metrics", &[])
        .unwrap()
        .text()
        .contains("kiteportal_container_memory_bytes"));
    let hosts = get(p.addr, "/api/hosts", &public).unwrap().json();
    assert!(hosts["data"][0]["metrics"].get("containers").is_none());
}

#[test]
fn container_command_lines_lose_bidi_overrides_and_invisible_characters() {
    let fake = FakeCgroups::new();
    // Container A's first process (1337) with a right-to-left override that would show
    // "gpj.exe" as "exe.jpg", zero-width characters and an isolate, a NUL-separated line.
    fs::write(
        fake.path("proc/1337/cmdline"),
        "/usr/local/bin/for\u{200B}gejo\0we\u{FEFF}b\0--name\0\u{202E}gpj.exe\0\u{2066}x\u{2069}\u{2060}y\0",
    )
    .unwrap();
    let p = start(&fake, &fake.path("cgroup"));
    let m = metrics_json(&p);
    let list = m["containers"].as_array().unwrap();
    let a = list
        .iter()
        .find(|c| c["id"] == "3f2a1b2c3d4e")
        .unwrap_or_else(|| panic!("no container A in {m}"));
    assert_eq!(a["command"], "forgejo web --name gpj.exe xy", "{a}");
    assert_eq!(a["name"], "forgejo web --name gpj.exe xy", "{a}");
    for c in list {
        for field in ["command", "name"] {
            let s = c[field].as_str().unwrap_or("");
            assert!(
                !s.chars().any(|ch| matches!(ch,
                    '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200B}'..='\u{200F}'
                    | '\u{2060}'..='\u{2064}' | '\u{FEFF}')),
                "{field} {s:?}"
            );
        }
    }
    // The owner's page shows the cleaned label too.
    let page = get(p.addr, "/", &[]).unwrap().text();
    assert!(!page.contains('\u{202E}') && !page.contains('\u{200B}'));
    assert!(page.contains("forgejo web --name gpj.exe xy"));
}
