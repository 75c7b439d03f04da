//! CLI contract: --help, --version, bad flags, check-config (validation, masking,
//! precedence), healthcheck exit codes, serve refusing a bad config.

use assert_cmd::Command;
use std::time::Duration;

use crate::common::{bin, closed_port, Portal};

fn cmd() -> Command {
    let mut c = Command::new(bin());
    for k in [
        "KITEPORTAL_CONFIG",
        "KITEPORTAL_BIND",
        "KITEPORTAL_HOSTNAME",
        "KITEPORTAL_FORGEJO_TOKEN",
        "KITEPORTAL_FORGEJO_TOKEN_FILE",
        "KITEPORTAL_FORGEJO_URL",
        "KITEPORTAL_WEATHER_URL",
        "KITEPORTAL_WEATHER_LOCATION",
        "HOST_PROC",
        "HOST_SYS",
        "HOST_ROOT",
    ] {
        c.env_remove(k);
    }
    c.timeout(Duration::from_secs(20));
    c
}

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> String {
    let p = dir.path().join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn help_lists_commands_flags_and_their_environment_twins() {
    let out = cmd().arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = stdout(&out);
    for needle in [
        "serve",
        "check-config",
        "healthcheck",
        "--config",
        "KITEPORTAL_CONFIG",
        "--bind",
        "KITEPORTAL_BIND",
        "HOST_PROC",
        "HOST_SYS",
        "HOST_ROOT",
        "KITEPORTAL_HOSTNAME",
        "KITEPORTAL_WEATHER_URL",
        "KITEPORTAL_WEATHER_LOCATION",
        "KITEPORTAL_FORGEJO_URL",
        "KITEPORTAL_FORGEJO_TOKEN_FILE",
        "--version",
    ] {
        assert!(text.contains(needle), "--help lacks {needle}:\n{text}");
    }
    let hc = cmd().args(["healthcheck", "--help"]).output().unwrap();
    assert!(stdout(&hc).contains("--url"));
}

#[test]
fn version_prints_name_and_version() {
    let out = cmd().arg("--version").output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        stdout(&out).trim(),
        format!("kiteportal {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn bad_flag_and_bad_subcommand_exit_2() {
    for args in [
        &["--no-such-flag"][..],
        &["frobnicate"],
        &["healthcheck", "--bogus"],
    ] {
        let out = cmd().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(!stderr(&out).is_empty());
    }
}

#[test]
fn check_config_prints_the_effective_config_with_defaults() {
    let out = cmd().arg("check-config").output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["bind"], "127.0.0.1:8080");
    let names: Vec<&str> = v["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "Portal",
            "Authentik",
            "Forgejo",
            "OpenProject",
            "Open WebUI",
            "Karakeep",
            "Kavita",
            "Grafana",
            "Uptime Kuma"
        ]
    );
    assert!(v["services"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["url"].as_str().unwrap().contains("kitestacks.com")));
    assert_eq!(v["metrics"]["interval"], "2s");
    assert_eq!(v["metrics"]["history"], "10m");
    assert_eq!(v["weather"]["url"], "https://wttr.in");
    assert_eq!(v["forgejo"]["url"], serde_json::Value::Null);
}

#[test]
fn bad_config_exits_2_naming_the_key_and_quoting_the_value() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "[metrics]\ninterval = \"soon\"\n",
            "metrics.interval: 'soon'",
        ),
        (
            "[metrics]\ninterval = \"10ms\"\n",
            "metrics.interval: '10ms'",
        ),
        ("bind = \"300.1.1.1:80\"\n", "bind: '300.1.1.1:80'"),
        (
            "[forgejo]\nurl = \"git.example\"\n",
            "forgejo.url: 'git.example'",
        ),
        (
            "[weather]\nurl = \"javascript:alert(1)\"\n",
            "weather.url: 'javascript:alert(1)'",
        ),
        ("[forgejo]\nlimit = 5000\n", "forgejo.limit: '5000'"),
        ("nonsense = true\n", "nonsense"),
        ("[host]\nnmae = \"x\"\n", "nmae"),
        ("[metrics]\ninterval = [1]\n", "interval"),
        ("this is not toml", "config file"),
    ];
    for (i, (toml, want)) in cases.iter().enumerate() {
        let p = write(&dir, &format!("c{i}.toml"), toml);
        let out = cmd()
            .args(["check-config", "--config", &p])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{toml:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(want), "{toml:?}: {}", stderr(&out));
        assert!(stdout(&out).is_empty());
    }
}

#[test]
fn missing_empty_and_huge_config_files() {
    let dir = tempfile::tempdir().unwrap();
    let out = cmd()
        .args(["check-config", "--config", "/nonexistent/kiteportal.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("/nonexistent/kiteportal.toml"));

    let empty = write(&dir, "empty.toml", "");
    let out = cmd()
        .args(["check-config", "--config", &empty])
        .output()
        .unwrap();
    assert!(out.status.success(), "an empty file means defaults");

    let huge = write(&dir, "huge.toml", &"# padding\n".repeat(200_000));
    let out = cmd()
        .args(["check-config", "--config", &huge])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("larger than"), "{}", stderr(&out));
}

#[test]
fn token_is_masked_and_an_unreadable_token_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let tok = write(&dir, "token", "tok-5ecret-0123456789\n");
    let cfg = write(
        &dir,
        "c.toml",
        &format!("[forgejo]\nurl = \"https://git.example\"\ntoken_file = \"{tok}\"\n"),
    );
    let out = cmd()
        .args(["check-config", "--config", &cfg])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let all = format!("{}{}", stdout(&out), stderr(&out));
    assert!(!all.contains("5ecret"), "{all}");
    assert!(all.contains("********"));

    let out = cmd()
        .args(["check-config"])
        .env("KITEPORTAL_FORGEJO_TOKEN", "env-5ecret-token")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(!stdout(&out).contains("5ecret"));

    let cfg = write(
        &dir,
        "bad.toml",
        "[forgejo]\ntoken_file = \"/nonexistent/secret\"\n",
    );
    let out = cmd()
        .args(["check-config", "--config", &cfg])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("forgejo.token_file: '/nonexistent/secret'"));
}

#[test]
fn precedence_is_flag_then_environment_then_file() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(
        &dir,
        "c.toml",
        "bind = \"127.0.0.1:1001\"\n[host]\nname = \"from-file\"\n",
    );
    let run = |extra: &[&str], env: &[(&str, &str)]| {
        let mut c = cmd();
        c.args(["check-config", "--config", &cfg]).args(extra);
        for (k, v) in env {
            c.env(k, v);
        }
        let out = c.output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let v = run(&[], &[]);
    assert_eq!(v["bind"], "127.0.0.1:1001");
    assert_eq!(v["host"]["name"], "from-file");
    let v = run(
        &[],
        &[
            ("KITEPORTAL_BIND", "127.0.0.1:1002"),
            ("KITEPORTAL_HOSTNAME", "from-env"),
        ],
    );
    assert_eq!(v["bind"], "127.0.0.1:1002");
    assert_eq!(v["host"]["name"], "from-env");
    let v = run(
        &["--bind", "127.0.0.1:1003", "--hostname", "from-flag"],
        &[
            ("KITEPORTAL_BIND", "127.0.0.1:1002"),
            ("KITEPORTAL_HOSTNAME", "from-env"),
        ],
    );
    assert_eq!(v["bind"], "127.0.0.1:1003");
    assert_eq!(v["host"]["name"], "from-flag");
    // The config file itself can come from the environment.
    let out = cmd()
        .arg("check-config")
        .env("KITEPORTAL_CONFIG", &cfg)
        .output()
        .unwrap();
    assert!(stdout(&out).contains("from-file"));
}

#[test]
fn serve_refuses_a_bad_config_without_starting() {
    let dir = tempfile::tempdir().unwrap();
    let port = closed_port();
    let cfg = write(
        &dir,
        "c.toml",
        &format!("bind = \"127.0.0.1:{port}\"\n[stream]\nmax_clients = \"many\"\n"),
    );
    let out = cmd().args(["--config", &cfg]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("max_clients"), "{}", stderr(&out));
}

#[test]
fn healthcheck_exit_codes() {
    let portal = Portal::builder().start();
    let ok = cmd()
        .args(["healthcheck", "--url", &portal.url("/api/health")])
        .output()
        .unwrap();
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
    // The default URL is /api/health on the configured bind address.
    let ok = cmd()
        .arg("healthcheck")
        .env("KITEPORTAL_BIND", portal.addr.to_string())
        .output()
        .unwrap();
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
    let not_found = cmd()
        .args(["healthcheck", "--url", &portal.url("/nope")])
        .output()
        .unwrap();
    assert_eq!(not_found.status.code(), Some(1));
    let refused = cmd()
        .args([
            "healthcheck",
            "--url",
            &format!("http://127.0.0.1:{}/api/health", closed_port()),
        ])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
}

#[test]
fn forgejo_token_flag_is_refused_and_says_where_the_token_goes() {
    for args in [
        &["check-config", "--forgejo-token", "s3cret-flag-token"][..],
        &["--forgejo-token=s3cret-flag-token", "check-config"],
        &["serve", "--forgejo-token", "s3cret-flag-token"],
        &["check-config", "--forgejo-token"],
    ] {
        let out = cmd().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains("--forgejo-token is not accepted"), "{err}");
        assert!(err.contains("KITEPORTAL_FORGEJO_TOKEN"), "{err}");
        assert!(err.contains("forgejo.token_file"), "{err}");
        assert!(!err.contains("s3cret"), "{err}");
        assert!(stdout(&out).is_empty());
    }
    // The environment still works, and the help does not list a token flag.
    let out = cmd()
        .arg("check-config")
        .env("KITEPORTAL_FORGEJO_TOKEN", "env-token-123")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("********"), "{}", stdout(&out));
    let help = stdout(&cmd().arg("--help").output().unwrap());
    assert!(!help.contains("--forgejo-token "), "{help}");
}

#[test]
fn a_fifo_as_token_file_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("token");
    let st = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(st.success());
    let cfg = write(
        &dir,
        "c.toml",
        &format!(
            "[forgejo]\nurl = \"https://git.example\"\ntoken_file = \"{}\"\n",
            fifo.display()
        ),
    );
    for sub in ["check-config", "serve"] {
        let t = std::time::Instant::now();
        let out = cmd()
            .args([sub, "--config", &cfg])
            .env("KITEPORTAL_BIND", format!("127.0.0.1:{}", closed_port()))
            .timeout(Duration::from_secs(5))
            .output()
            .unwrap();
        assert!(
            t.elapsed() < Duration::from_secs(3),
            "{sub} took {:?}",
            t.elapsed()
        );
        assert_eq!(out.status.code(), Some(2), "{sub}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains("forgejo.token_file: '"), "{err}");
        assert!(err.contains("not a regular file"), "{err}");
    }
}

#[test]
fn an_unknown_time_zone_is_refused_naming_the_key() {
    let out = Command::new(bin())
        .args(["check-config"])
        .env_remove("KITEPORTAL_CONFIG")
        .env("TZ", "Mars/Olympus_Mons")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("timezone: 'Mars/Olympus_Mons'"), "{err}");
}
