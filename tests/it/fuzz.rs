//! Property tests (fuzzing within `cargo test`) of the parsers that take untrusted text:
//! the config file, Accept-Encoding / If-None-Match headers. Any crash found becomes a
//! regression case below.

use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use kiteportal::config::{build, parse_toml, Overrides};
use kiteportal::routes::negotiation::{if_none_match, negotiate, Encoding};
use proptest::prelude::*;

fn headers(name: &'static str, value: &str) -> Option<HeaderMap> {
    let v = HeaderValue::from_str(value).ok()?;
    let mut h = HeaderMap::new();
    h.insert(HeaderName::from_static(name), v);
    Some(h)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn accept_encoding_never_panics_and_picks_an_available_variant(
        value in "[ -~]{0,200}", has_gzip: bool, has_br: bool
    ) {
        if let Some(h) = headers("accept-encoding", &value) {
            match negotiate(&h, has_gzip, has_br) {
                Encoding::Gzip => prop_assert!(has_gzip),
                Encoding::Brotli => prop_assert!(has_br),
                Encoding::Identity => {}
            }
        }
    }

    #[test]
    fn if_none_match_never_panics(value in "[ -~]{0,200}") {
        if let Some(h) = headers("if-none-match", &value) {
            let _ = if_none_match(&h, &HeaderValue::from_static("\"abc\""));
        }
    }

    #[test]
    fn config_text_never_panics(text in "(?s).{0,400}") {
        if let Ok(file) = parse_toml(&text) {
            let _ = build(&Overrides::default(), file);
        }
    }

    #[test]
    fn config_values_never_panic(
        interval in "[ -~]{0,20}", url in "[ -~]{0,60}", bind in "[ -~]{0,30}",
        cidr in "[ -~]{0,30}", limit in any::<i64>(), secs in any::<f64>()
    ) {
        let esc = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
        let text = format!(
            "bind = \"{}\"\ntrusted_proxies = [\"{}\"]\nservices_interval = {secs:?}\n\
             [metrics]\ninterval = \"{}\"\n[weather]\nurl = \"{}\"\n[forgejo]\nlimit = {limit}\n",
            esc(&bind), esc(&cidr), esc(&interval), esc(&url)
        );
        if let Ok(file) = parse_toml(&text) {
            let _ = build(&Overrides::default(), file);
        }
    }
}

#[test]
fn regressions() {
    // Seeds worth keeping: odd q-values and separators.
    for v in [
        "br;q=NaN",
        "gzip;q=-1",
        "br;q=1e999",
        ";;;,,,",
        "*;q=0.0000001",
        "gzip;q",
    ] {
        let h = headers("accept-encoding", v).unwrap();
        let _ = negotiate(&h, true, true);
    }
    for t in [
        "[metrics]\ninterval = 1e300",
        "[metrics]\ninterval = -0.0",
        "services_interval = nan",
        "services_interval = inf",
    ] {
        if let Ok(file) = parse_toml(t) {
            assert!(build(&Overrides::default(), file).is_err(), "{t}");
        }
    }
}

// ---------------------------------------------------------------------------------------
// /proc text and upstream JSON.

use kiteportal::host::{cpu, diskio, memory, mounts, network, system};
use serde_json::Value;

fn fixture_text(rel: &str) -> String {
    std::fs::read_to_string(crate::common::fixture(rel)).unwrap()
}

/// Real /proc files from the committed fake host tree, as seeds to mutate.
fn proc_seeds() -> Vec<String> {
    [
        "stat",
        "meminfo",
        "1/mounts",
        "diskstats",
        "net/dev",
        "loadavg",
        "uptime",
    ]
    .iter()
    .filter_map(|f| std::fs::read_to_string(crate::common::fixture(&format!("host/proc/{f}"))).ok())
    .collect()
}

/// Mutates `seed` at a few places: replaces bytes, cuts, duplicates a line.
fn mutate(seed: &str, edits: &[(usize, u8)], cut: usize) -> String {
    let mut b = seed.as_bytes().to_vec();
    for &(at, byte) in edits {
        if !b.is_empty() {
            let i = at % b.len();
            b[i] = byte;
        }
    }
    if !b.is_empty() {
        b.truncate(cut % (b.len() + 1));
    }
    String::from_utf8_lossy(&b).into_owned()
}

fn parse_all_proc(text: &str) {
    let _ = cpu::parse_str(text);
    let _ = memory::parse_str(text);
    let _ = mounts::parse_str(text);
    let _ = diskio::parse_str(text);
    let _ = network::parse_str(text);
    let _ = system::parse_loadavg_str(text);
    let _ = system::parse_uptime_str(text);
}

fn arb_ticks() -> impl Strategy<Value = cpu::Ticks> {
    any::<[u64; 10]>().prop_map(cpu::Ticks::from_array)
}

/// Arbitrary JSON, a few levels deep.
fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f)
            .map(Value::Number)
            .unwrap_or(Value::Null)),
        "[ -~]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            proptest::collection::btree_map(
                prop_oneof![
                    Just("current_condition".to_string()),
                    Just("weather".to_string()),
                    Just("data".to_string()),
                    Just("commit".to_string()),
                    Just("sha".to_string()),
                    Just("temp_C".to_string()),
                    "[a-z_]{1,10}"
                ],
                inner,
                0..8
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Replaces the value at a pseudo-random place in `v` with `with`.
fn graft(v: &mut Value, path: &[usize], with: Value) {
    let Some((&first, rest)) = path.split_first() else {
        *v = with;
        return;
    };
    match v {
        Value::Array(a) if !a.is_empty() => {
            let n = a.len();
            graft(&mut a[first % n], rest, with)
        }
        Value::Object(o) if !o.is_empty() => {
            let n = o.len();
            let key = o.keys().nth(first % n).cloned().unwrap();
            graft(o.get_mut(&key).unwrap(), rest, with)
        }
        _ => *v = with,
    }
}

fn parse_all_json(doc: &Value) {
    let _ = kiteportal::feeds::weather::parse(doc);
    let _ = kiteportal::feeds::peers::parse(doc);
    if let Ok(repos) = kiteportal::feeds::forgejo::parse_repos(doc, "https://git.example") {
        for r in &repos {
            let _ = kiteportal::feeds::forgejo::parse_commits(doc, r, "https://git.example");
        }
    }
    let repo = kiteportal::feeds::forgejo::Repo {
        owner: "o".into(),
        name: "n".into(),
        full_name: "o/n".into(),
        html_url: "https://git.example/o/n".into(),
        empty: false,
    };
    let _ = kiteportal::feeds::forgejo::parse_commits(doc, &repo, "https://git.example");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, ..ProptestConfig::default() })]

    #[test]
    fn proc_parsers_never_panic_on_arbitrary_text(text in "(?s)[ -~\n\t]{0,600}") {
        parse_all_proc(&text);
    }

    #[test]
    fn proc_parsers_never_panic_on_mutated_real_files(
        which in 0usize..7, edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..6), cut in any::<usize>()
    ) {
        let seeds = proc_seeds();
        prop_assume!(!seeds.is_empty());
        parse_all_proc(&mutate(&seeds[which % seeds.len()], &edits, cut));
    }

    #[test]
    fn cpu_shares_stay_within_0_and_100(prev in arb_ticks(), cur in arb_ticks()) {
        if let Some(u) = cpu::delta(&prev, &cur) {
            for v in [u.busy, u.iowait, u.steal] {
                prop_assert!(v.is_finite() && (0.0..=100.0).contains(&v), "{v}");
            }
        }
    }

    #[test]
    fn network_rates_are_never_negative(
        a in proptest::collection::vec((0u8..4, any::<u64>(), any::<u64>()), 0..6),
        b in proptest::collection::vec((0u8..4, any::<u64>(), any::<u64>()), 0..6),
        elapsed in prop_oneof![Just(0.0f64), Just(-1.0), Just(f64::NAN), 0.001f64..100.0],
    ) {
        let mk = |v: &[(u8, u64, u64)]| v.iter().map(|(n, rx, tx)| network::Counters { name: format!("eth{n}"), rx_bytes: *rx, tx_bytes: *tx }).collect::<Vec<_>>();
        let net = network::delta(Some(&mk(&a)), &mk(&b), elapsed);
        for r in net.interfaces.iter().flat_map(|i| [i.rx_bytes_per_sec, i.tx_bytes_per_sec]).chain([net.rx_bytes_per_sec, net.tx_bytes_per_sec]).flatten() {
            prop_assert!(r.is_finite() && r >= 0.0, "{r}");
        }
        let mkd = |v: &[(u8, u64, u64)]| v.iter().map(|(n, r, w)| diskio::Counters { device: format!("sd{n}"), read_bytes: *r, write_bytes: *w }).collect::<Vec<_>>();
        for d in diskio::delta(Some(&mkd(&a)), &mkd(&b), elapsed) {
            for r in [d.read_bytes_per_sec, d.write_bytes_per_sec].into_iter().flatten() {
                prop_assert!(r.is_finite() && r >= 0.0, "{r}");
            }
        }
    }

    #[test]
    fn upstream_parsers_never_panic_on_arbitrary_json(doc in arb_json()) {
        parse_all_json(&doc);
    }

    #[test]
    fn upstream_parsers_never_panic_on_grafted_fixtures(
        which in 0usize..4, path in proptest::collection::vec(any::<usize>(), 0..6), with in arb_json()
    ) {
        let files = ["wttr/j1.json", "forgejo/repos_search.json", "forgejo/repo_commits.json", "forgejo/repo_commits_fast.json"];
        let mut doc: Value = serde_json::from_str(&fixture_text(files[which])).unwrap();
        graft(&mut doc, &path, with);
        parse_all_json(&doc);
    }
}

#[test]
fn deeply_nested_json_is_an_error_not_a_stack_overflow() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(serde_json::from_str::<Value>(&deep).is_err());
}

#[test]
fn regression_cpu_counters_near_u64_max() {
    // Found by `cpu_shares_stay_within_0_and_100`: idle + iowait deltas overflowed.
    let zero = cpu::Ticks {
        user: 0,
        nice: 0,
        system: 0,
        idle: 0,
        iowait: 0,
        irq: 0,
        softirq: 0,
        steal: 0,
        guest: 0,
        guest_nice: 0,
    };
    let cur = cpu::Ticks {
        idle: u64::MAX,
        iowait: u64::MAX,
        user: u64::MAX,
        ..zero
    };
    let u = cpu::delta(&zero, &cur).unwrap();
    assert!((0.0..=100.0).contains(&u.busy) && (0.0..=100.0).contains(&u.iowait));
}

#[test]
fn hundreds_of_interfaces_and_odd_mount_points() {
    let mut dev = String::from(
        "Inter-|   Receive                                                |  Transmit\n \
         face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n",
    );
    for i in 0..500 {
        dev.push_str(&format!(
            "veth{i:04}: {} 1 0 0 0 0 0 0 {} 1 0 0 0 0 0 0\n",
            i * 1000,
            i * 10
        ));
    }
    let cur = network::parse_str(&dev).unwrap();
    assert_eq!(cur.len(), 500);
    let net = network::delta(Some(&cur), &cur, 2.0);
    assert_eq!(net.interfaces.len(), 500);
    assert!(net
        .interfaces
        .iter()
        .all(|i| i.rx_bytes_per_sec == Some(0.0)));

    let mut mounts = String::new();
    for i in 0..300 {
        mounts.push_str(&format!(
            "/dev/sd{i} /mnt/my\\040disk\\011{i} ext4 rw,relatime 0 0\n"
        ));
    }
    mounts.push_str("/dev/sdz /mnt/back\\134slash ext4 rw 0 0\nbroken line\n\n");
    let parsed = mounts::parse_str(&mounts);
    assert!(
        parsed.iter().any(|m| m.mount_point == "/mnt/my disk\t7"),
        "{:?}",
        &parsed[..2]
    );
    assert!(parsed.iter().any(|m| m.mount_point == "/mnt/back\\slash"));
}

/// The fields procfs-core 0.17 requires in a meminfo (every kernel since 2.6 writes them).
const MEMINFO_REQUIRED: &[&str] = &[
    "MemTotal",
    "MemFree",
    "Buffers",
    "Cached",
    "SwapCached",
    "Active",
    "Inactive",
    "SwapTotal",
    "SwapFree",
    "Dirty",
    "Writeback",
    "Mapped",
    "Slab",
    "Committed_AS",
    "VmallocTotal",
    "VmallocUsed",
    "VmallocChunk",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    /// Where our meminfo parser is kept (see `host::memory::parse_str`), procfs-core is its
    /// oracle: on kernel-shaped text both read the same numbers.
    #[test]
    fn meminfo_agrees_with_procfs_core(
        values in proptest::collection::vec(1u64..(1 << 40), MEMINFO_REQUIRED.len()),
        available in proptest::option::of(0u64..(1 << 40)),
        shmem in proptest::option::of(0u64..(1 << 40)),
        sreclaimable in proptest::option::of(0u64..(1 << 40)),
    ) {
        use procfs_core::FromRead;
        let mut text = String::new();
        for (k, v) in MEMINFO_REQUIRED.iter().zip(&values) {
            text.push_str(&format!("{:<16}{v:>12} kB\n", format!("{k}:")));
        }
        for (k, v) in [("MemAvailable", available), ("Shmem", shmem), ("SReclaimable", sreclaimable)] {
            if let Some(v) = v {
                text.push_str(&format!("{k}: {v} kB\n"));
            }
        }
        text.push_str("HugePages_Total:       0\n");
        let ours = memory::parse_str(&text).unwrap();
        let oracle = procfs_core::Meminfo::from_read(text.as_bytes()).unwrap();
        prop_assert_eq!(ours.total, oracle.mem_total);
        prop_assert_eq!(ours.free, oracle.mem_free);
        prop_assert_eq!(ours.available, oracle.mem_available);
        prop_assert_eq!(ours.buffers, oracle.buffers);
        prop_assert_eq!(ours.cached, oracle.cached);
        prop_assert_eq!(ours.shmem, oracle.shmem.unwrap_or(0));
        prop_assert_eq!(ours.sreclaimable, oracle.s_reclaimable.unwrap_or(0));
        prop_assert_eq!((ours.swap_total, ours.swap_free), (oracle.swap_total, oracle.swap_free));
    }

    /// The same for net/dev on the modern layout (a space after the colon).
    #[test]
    fn net_dev_agrees_with_procfs_core(
        ifaces in proptest::collection::btree_map(
            "[a-z][a-z0-9_.-]{0,12}",
            proptest::collection::vec(any::<u64>(), 16),
            0..20,
        )
    ) {
        use procfs_core::FromRead;
        let mut text = String::from(
            "Inter-|   Receive                                                |  Transmit\n \
             face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n",
        );
        for (name, c) in &ifaces {
            let cols: Vec<String> = c.iter().map(u64::to_string).collect();
            text.push_str(&format!("{name:>6}: {}\n", cols.join(" ")));
        }
        let ours = network::parse_str(&text).unwrap();
        let oracle = procfs_core::net::InterfaceDeviceStatus::from_read(text.as_bytes()).unwrap();
        prop_assert_eq!(ours.len(), oracle.0.len());
        for c in &ours {
            let o = &oracle.0[&c.name];
            prop_assert_eq!((c.rx_bytes, c.tx_bytes), (o.recv_bytes, o.sent_bytes));
        }
    }
}

#[test]
fn procfs_core_meminfo_panics_where_ours_refuses() {
    // The evidence for keeping our meminfo parser: hostile text that procfs-core 0.17
    // panics on (a debug build checks the overflow; a release build would wrap).
    for text in [
        "MemTotal: 18446744073709551615 kB\n",
        "MemTotal: 1 kB\n\u{e9} 5 kB\n",
    ] {
        let ours = memory::parse_str(text);
        let theirs = std::panic::catch_unwind(|| {
            use procfs_core::FromRead;
            procfs_core::Meminfo::from_read(text.as_bytes()).map(|m| m.mem_total)
        });
        assert!(
            theirs.is_err(),
            "procfs-core no longer panics on {text:?}: revisit"
        );
        let _ = ours;
    }
}
