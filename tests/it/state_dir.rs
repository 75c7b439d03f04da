//! The state directory as hostile ground, and the history through reloads: a FIFO or a
//! symbolic link where the history or its temporary file belongs, a FIFO as the
//! configuration file, a read-only or full filesystem (in a mount namespace of the
//! test's own), a `state_dir` added by reload, and a services task that outlives its
//! reload. The process always stops on SIGTERM within 5 s and the kept history is intact.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{bin, closed_port, free_port, get, hup, wait_for, Portal};
use crate::stub::{Reply, Stub};
use crate::trust::{config_path, reload_with};

/// Buckets and checks of the seeded history (300 half-hours of 60 checks).
const SEEDED_BUCKETS: i64 = 300;
const SEEDED_CHECKS: u64 = 300 * 60;

/// A valid version-1 history of service `kept` written by an earlier run.
fn seeded_history() -> String {
    let newest = chrono::Utc::now().timestamp() / 1800;
    let buckets: Vec<String> = (newest - SEEDED_BUCKETS + 1..=newest)
        .map(|s| format!("[{s},60,60]"))
        .collect();
    format!(
        r#"{{"format":"kiteportal-service-history","version":1,"saved_at":"{}","services":[{{"name":"kept","status":"up","since":"2026-01-01T00:00:00Z","buckets":[{}]}}]}}"#,
        chrono::Utc::now().to_rfc3339(),
        buckets.join(",")
    )
}

/// The checks of service `name` in a state file's text.
fn checks_in(text: &str, name: &str) -> u64 {
    let v: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text:.200}"));
    v["services"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["name"] == name)
        .flat_map(|s| s["buckets"].as_array().unwrap().clone())
        .map(|b| b[1].as_u64().unwrap())
        .sum()
}

fn mkfifo(path: &Path) {
    let ok = Command::new("mkfifo").arg(path).status().unwrap().success();
    assert!(ok, "mkfifo {}", path.display());
}

fn is_fifo(path: &Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_fifo())
}

fn services_config(stub: &Stub, state_dir: &Path) -> String {
    format!(
        "services_interval = \"250ms\"\nstate_dir = {state_dir:?}\n\
         [[services]]\nname = \"kept\"\nurl = \"{}/up\"\n",
        stub.url()
    )
}

fn up_stub() -> Stub {
    let stub = Stub::start();
    stub.set("/up", Reply::text(200, "ok"));
    stub
}

/// Waits until `/api/services` is `ok` (the first round landed).
fn services_ok(p: &Portal) -> Value {
    wait_for(Duration::from_secs(5), "services ok", || {
        let v = get(p.addr, "/api/services", &[]).ok()?.json();
        (v["status"] == "ok").then_some(v)
    })
}

fn stops_promptly(mut p: Portal, what: &str) -> String {
    let t = Instant::now();
    let status = p.terminate(Duration::from_secs(5));
    let log = p.log_text();
    assert!(
        status.is_some_and(|s| s.success()),
        "{what}: no clean exit within 5 s ({:?}): {log}",
        t.elapsed()
    );
    log
}

#[test]
fn a_fifo_or_a_link_at_the_temporary_file_costs_nothing() {
    let stub = up_stub();
    for what in ["fifo", "symlink"] {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("services.json");
        std::fs::write(&file, seeded_history()).unwrap();
        let tmp = dir.path().join("services.json.tmp");
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        match what {
            "fifo" => mkfifo(&tmp),
            _ => std::os::unix::fs::symlink(&victim, &tmp).unwrap(),
        }
        let p = Portal::builder()
            .config(&services_config(&stub, dir.path()))
            .start();
        services_ok(&p);
        stops_promptly(p, what);
        assert_eq!(
            std::fs::read_to_string(&victim).unwrap(),
            "precious",
            "{what}"
        );
        let kept = checks_in(&std::fs::read_to_string(&file).unwrap(), "kept");
        assert!(kept > SEEDED_CHECKS, "{what}: history lost ({kept} checks)");
        assert!(
            !tmp.exists() && std::fs::symlink_metadata(&tmp).is_err(),
            "{what}"
        );
    }
}

#[test]
fn a_fifo_or_a_link_at_the_history_is_refused_and_left_alone() {
    let stub = up_stub();
    for what in ["fifo", "symlink"] {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("services.json");
        let elsewhere = dir.path().join("elsewhere.json");
        std::fs::write(&elsewhere, seeded_history()).unwrap();
        match what {
            "fifo" => mkfifo(&file),
            _ => std::os::unix::fs::symlink(&elsewhere, &file).unwrap(),
        }
        let p = Portal::builder()
            .config(&services_config(&stub, dir.path()))
            .start();
        // Not pending forever: the first round lands at once, the file is a warning.
        services_ok(&p);
        let says = if what == "fifo" {
            "not a regular file"
        } else {
            "symbolic link"
        };
        let log = p.log_text();
        assert!(
            log.lines().any(|l| l.contains("WARN") && l.contains(says)),
            "{what}: {log}"
        );
        // The other feeds survive a reload; signals are answered.
        let text = std::fs::read_to_string(config_path(&p)).unwrap();
        reload_with(
            &p,
            &format!("{text}\n[weather]\nlocation = \"Oslo\"\n"),
            "applied weather",
        );
        wait_for(
            Duration::from_secs(5),
            "the new weather task's first try",
            || {
                let v = get(p.addr, "/api/weather", &[]).ok()?.json();
                (v["status"] == "error").then_some(())
            },
        );
        stops_promptly(p, what);
        match what {
            "fifo" => assert!(is_fifo(&file), "the FIFO was replaced"),
            _ => assert!(std::fs::symlink_metadata(&file).unwrap().is_symlink()),
        }
        let kept = checks_in(&std::fs::read_to_string(&elsewhere).unwrap(), "kept");
        assert_eq!(kept, SEEDED_CHECKS, "{what}: the link's target was written");
    }
}

#[test]
fn a_fifo_as_the_configuration_file_is_an_error_and_sigterm_still_stops() {
    let p = Portal::builder().start();
    let cfg = config_path(&p);
    std::fs::remove_file(&cfg).unwrap();
    mkfifo(&cfg);
    hup(&p);
    wait_for(Duration::from_secs(5), "the reload error", || {
        p.log_text()
            .lines()
            .any(|l| l.contains("reload:") && l.contains("not a regular file"))
            .then_some(())
    });
    assert_eq!(get(p.addr, "/api/health", &[]).unwrap().status, 200);
    stops_promptly(p, "fifo config");
}

#[test]
fn a_state_dir_added_by_reload_needs_a_restart_and_is_never_written() {
    let stub = up_stub();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("services.json");
    let seeded = seeded_history();
    std::fs::write(&file, &seeded).unwrap();
    let without = format!(
        "services_interval = \"250ms\"\n[[services]]\nname = \"kept\"\nurl = \"{}/up\"\n",
        stub.url()
    );
    let p = Portal::builder().config(&without).start();
    services_ok(&p);
    let with = format!("state_dir = {:?}\n{without}", dir.path());
    reload_with(&p, &with, "needs a restart: state_dir");
    std::thread::sleep(Duration::from_millis(600));
    stops_promptly(p, "state_dir by reload");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        seeded,
        "written over unread"
    );
}

#[test]
fn a_services_task_that_outlives_its_reload_never_writes() {
    // The first service's check hangs past the reload's 2 s grace (the probe times out
    // after 5 s); the reload replaces it by another service.
    let hang = TcpListener::bind("127.0.0.1:0").unwrap();
    let hang_url = format!("http://{}/", hang.local_addr().unwrap());
    let stub = up_stub();
    let dir = tempfile::tempdir().unwrap();
    // A 30 s interval gives the probe its full 5 s timeout.
    let config = |name: &str, url: &str| {
        format!(
            "services_interval = \"30s\"\nstate_dir = {:?}\n\
             [[services]]\nname = \"{name}\"\nurl = \"{url}\"\n",
            dir.path()
        )
    };
    let p = Portal::builder()
        .config(&config("removed", &hang_url))
        .start();
    let _held = wait_for(Duration::from_secs(5), "the hanging probe", || {
        hang.set_nonblocking(true).unwrap();
        hang.accept().ok()
    });
    reload_with(
        &p,
        &config("added", &format!("{}/up", stub.url())),
        "applied services",
    );
    // The old probe times out (5 s after it started) while the new task runs.
    std::thread::sleep(Duration::from_secs(5));
    let v = services_ok(&p);
    assert_eq!(v["data"]["services"][0]["name"], "added");
    stops_promptly(p, "stale task");
    let text = std::fs::read_to_string(dir.path().join("services.json")).unwrap();
    assert!(checks_in(&text, "added") > 0, "{text}");
    assert!(!text.contains("\"removed\""), "the old task wrote: {text}");
}

/// Runs the portal inside a mount namespace of its own whose state directory is a small
/// tmpfs, prepared by `prepare` (shell), then filled or made read-only. Returns the exit
/// status, how long the stop took, the state file as it was after the stop, and the log.
// A panic on the way (the portal never became healthy) leaves the child to the test
// process's end; every other path waits for it.
#[allow(clippy::zombie_processes)]
fn run_in_namespace(prepare: &str, config: &str) -> Option<(bool, Duration, String, String)> {
    let probe = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "true"])
        .stderr(Stdio::null())
        .status();
    if !probe.is_ok_and(|s| s.success()) {
        let msg = "read-only/full state dir: cannot create a mount namespace (needs root)";
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{msg}");
        eprintln!("skipping: {msg}");
        return None;
    }
    let work = tempfile::tempdir().unwrap();
    let state = work.path().join("state");
    std::fs::create_dir(&state).unwrap();
    std::fs::write(work.path().join("seed.json"), seeded_history()).unwrap();
    let cfg = work.path().join("kiteportal.toml");
    std::fs::write(&cfg, format!("state_dir = {state:?}\n{config}")).unwrap();
    let port = free_port();
    let (pidfile, out, log) = (
        work.path().join("pid"),
        work.path().join("after.json"),
        work.path().join("portal.log"),
    );
    let script = format!(
        "set -e; D={state:?}; mount -t tmpfs -o size=128k tmpfs \"$D\"; \
         cp {seed:?} \"$D/services.json\"; {prepare}; set +e; \
         {bin:?} --config {cfg:?} >{log:?} 2>&1 & echo $! > {pidfile:?}; wait $!; rc=$?; \
         cp \"$D/services.json\" {out:?}; exit $rc",
        seed = work.path().join("seed.json"),
        bin = bin(),
    );
    let mut sh = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", &script])
        .env("KITEPORTAL_BIND", format!("127.0.0.1:{port}"))
        .env(
            "KITEPORTAL_WEATHER_URL",
            format!("http://127.0.0.1:{}", closed_port()),
        )
        .env("RUST_LOG", "info")
        .env_remove("KITEPORTAL_CONFIG")
        .spawn()
        .unwrap();
    let addr = format!("127.0.0.1:{port}").parse().unwrap();
    wait_for(Duration::from_secs(10), "services ok", || {
        let v = get(addr, "/api/services", &[]).ok()?.json();
        (v["status"] == "ok").then_some(())
    });
    let pid = std::fs::read_to_string(&pidfile).unwrap();
    let t = Instant::now();
    Command::new("kill")
        .args(["-TERM", pid.trim()])
        .status()
        .unwrap();
    let mut status = None;
    while t.elapsed() < Duration::from_secs(5) && status.is_none() {
        status = sh.try_wait().unwrap();
        std::thread::sleep(Duration::from_millis(20));
    }
    let took = t.elapsed();
    if status.is_none() {
        let _ = sh.kill();
        let _ = sh.wait();
    }
    let after = std::fs::read_to_string(&out).unwrap_or_default();
    let log = std::fs::read_to_string(&log).unwrap_or_default();
    Some((status.is_some_and(|s| s.success()), took, after, log))
}

#[test]
fn a_read_only_or_full_state_dir_stops_promptly_with_the_history_intact() {
    let stub = up_stub();
    let config = format!(
        "services_interval = \"250ms\"\n[[services]]\nname = \"kept\"\nurl = \"{}/up\"\n",
        stub.url()
    );
    let cases: [(&str, &str); 2] = [
        ("read-only", "mount -o remount,ro \"$D\""),
        // Fill what is left (dd stops at ENOSPC).
        (
            "full",
            "dd if=/dev/zero of=\"$D/filler\" bs=4k 2>/dev/null || true",
        ),
    ];
    for (what, prepare) in cases {
        let Some((ok, took, after, log)) = run_in_namespace(prepare, &config) else {
            return;
        };
        assert!(ok, "{what}: no clean exit ({took:?}): {log}");
        assert!(took < Duration::from_secs(5), "{what}: {took:?}");
        assert_eq!(checks_in(&after, "kept"), SEEDED_CHECKS, "{what}: {log}");
        assert!(
            log.lines()
                .any(|l| l.contains("WARN") && l.contains("cannot be written")),
            "{what}: {log}"
        );
    }
}
