//! Benchmarks of the host sampler against this machine's procfs (one full sample, and each
//! source alone) and of the `/api/metrics` handler (through the whole actix app, with its
//! middleware, minus the socket). Target: a full sample ≤ 200 µs. The containers source
//! runs on generated cgroup v2 trees of 0, 20 and 200 containers (target: 20 containers
//! add ≤ 100 µs to a sample).

use std::hint::black_box;

use actix_web::test::{call_service, init_service, read_body, TestRequest};
use criterion::{criterion_group, criterion_main, Criterion};
use kiteportal::config::{self, Config, FileConfig, Overrides};
use kiteportal::host::{
    cgroup, cpu, disk, diskio, memory, mounts, network, sensors, system, Sampler,
};
use kiteportal::state::AppState;

fn config() -> Config {
    // The built-in defaults: /proc, /sys, / and the default interface excludes.
    config::build(&Overrides::default(), FileConfig::default()).expect("default config")
}

fn sources(c: &mut Criterion) {
    let cfg = config();
    let proc = cfg.host.proc.clone();
    let sys = cfg.host.sys.clone();
    let mut buf = String::new();

    let mut sampler = Sampler::new(&cfg.host, &cfg.metrics);
    sampler.sample();
    c.bench_function("sample/full", |b| b.iter(|| black_box(sampler.sample())));

    c.bench_function("source/cpu", |b| {
        b.iter(|| black_box(cpu::read(&proc, &mut buf).ok()))
    });
    c.bench_function("source/loadavg+uptime", |b| {
        b.iter(|| {
            black_box(system::read_loadavg(&proc, &mut buf).ok());
            black_box(system::read_uptime(&proc, &mut buf).ok())
        })
    });
    c.bench_function("source/processes", |b| {
        b.iter(|| black_box(system::read_processes(&proc).ok()))
    });
    c.bench_function("source/memory", |b| {
        b.iter(|| black_box(memory::read(&proc, &mut buf).ok()))
    });
    let mut table = mounts::MountTable::default();
    c.bench_function("source/mounts", |b| {
        b.iter(|| black_box(table.read(&proc, &mut buf).map(|m| m.len()).ok()))
    });
    let mounts = table
        .read(&proc, &mut buf)
        .map(|m| m.to_vec())
        .unwrap_or_default();
    let mut disks = disk::Disks::new(cfg.host.root.clone(), disk::statvfs, disk::PROBE_DEADLINE);
    c.bench_function("source/statvfs (probe threads)", |b| {
        b.iter(|| {
            let mut errors = Default::default();
            black_box(disks.sample(&mounts, &mut errors))
        })
    });
    let mut block = diskio::BlockDevices::new(sys.clone());
    c.bench_function("source/diskstats", |b| {
        b.iter(|| black_box(block.read(&proc, &mut buf).ok()))
    });
    let exclude = cfg.metrics.net_exclude.clone();
    c.bench_function("source/net_dev", |b| {
        b.iter(|| black_box(network::read(&proc, &exclude, &mut buf).ok()))
    });
    let mut temps = sensors::Sensors::new(sys.clone());
    c.bench_function("source/sensors", |b| {
        b.iter(|| black_box(temps.read(&mut buf).ok()))
    });
}

/// The same files through procfs-core's parsers, to compare with the hand-written ones.
fn procfs_core_parsers(c: &mut Criterion) {
    use procfs_core::FromRead;
    let proc = config().host.proc;
    c.bench_function("compare/procfs-core meminfo", |b| {
        b.iter(|| black_box(procfs_core::Meminfo::from_file(proc.join("meminfo")).ok()))
    });
    c.bench_function("compare/procfs-core mounts", |b| {
        b.iter(|| black_box(Vec::<procfs_core::MountEntry>::from_file(proc.join("1/mounts")).ok()))
    });
    c.bench_function("compare/procfs-core net_dev", |b| {
        b.iter(|| {
            black_box(
                procfs_core::net::InterfaceDeviceStatus::from_file(proc.join("1/net/dev")).ok(),
            )
        })
    });
}

/// A cgroup v2 tree of `n` Docker (systemd driver) containers as the kernel lays it out,
/// each with the files the sampler reads and a first process (this process, so the
/// command line resolves).
fn cgroup_tree(dir: &std::path::Path, n: usize) {
    let w = |p: std::path::PathBuf, t: &str| std::fs::write(p, t).expect("write");
    std::fs::create_dir_all(dir.join("system.slice/docker.service")).expect("mkdir");
    w(
        dir.join("cgroup.controllers"),
        "cpuset cpu io memory pids\n",
    );
    let me = std::process::id().to_string();
    for i in 0..n {
        let d = dir.join(format!("system.slice/docker-{i:064x}.scope"));
        std::fs::create_dir_all(&d).expect("mkdir");
        w(d.join("cgroup.procs"), &format!("{me}\n"));
        w(
            d.join("cpu.stat"),
            "usage_usec 8123456\nuser_usec 6092592\nsystem_usec 2030864\nnr_periods 0\n\
             nr_throttled 0\nthrottled_usec 0\nnr_bursts 0\nburst_usec 0\n",
        );
        w(d.join("memory.current"), "268435456\n");
        w(d.join("memory.max"), "max\n");
        w(
            d.join("memory.events"),
            "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n",
        );
        w(d.join("pids.current"), "12\n");
        w(
            d.join("io.stat"),
            "8:0 rbytes=1048576 wbytes=2097152 rios=100 wios=200 dbytes=0 dios=0\n",
        );
    }
}

fn containers(c: &mut Criterion) {
    let cfg = config();
    for n in [0usize, 20, 200] {
        let dir = tempfile::tempdir().expect("tempdir");
        cgroup_tree(dir.path(), n);
        let mut source =
            cgroup::Cgroups::new(dir.path().to_path_buf(), cfg.host.proc.clone(), Vec::new());
        let _ = source.read();
        c.bench_function(&format!("containers/read/{n}"), |b| {
            b.iter(|| black_box(source.read().map(|v| v.len()).ok()))
        });
        let mut host = cfg.host.clone();
        host.cgroup = dir.path().to_path_buf();
        let mut sampler = Sampler::new(&host, &cfg.metrics);
        sampler.sample();
        c.bench_function(&format!("containers/sample_full/{n}"), |b| {
            b.iter(|| black_box(sampler.sample()))
        });
    }
}

fn handler(c: &mut Criterion) {
    let state = AppState::new(config());
    let config = state.config();
    let mut sampler = Sampler::new(&config.host, &config.metrics);
    state.metrics.publish(sampler.sample());
    state.metrics.publish(sampler.sample());
    let sys = actix_web::rt::System::new();
    let app = sys.block_on(init_service(kiteportal::server::app(state)));
    c.bench_function("handler/api_metrics", |b| {
        b.iter(|| {
            sys.block_on(async {
                let resp =
                    call_service(&app, TestRequest::get().uri("/api/metrics").to_request()).await;
                black_box(read_body(resp).await)
            })
        })
    });
}

criterion_group!(benches, sources, procfs_core_parsers, containers, handler);
criterion_main!(benches);
