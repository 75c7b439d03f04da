//! The deploy files: the per-host configs validate and point at each other, and the
//! container image's defaults, compose.yaml and the systemd unit agree with the binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::bin;

const HOSTS: [(&str, &str); 2] = [("monk", "kscloud1"), ("kscloud1", "monk")];

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(repo(rel)).unwrap()
}

/// `kiteportal check-config` on a deploy config, with nothing inherited from the
/// environment but what is given.
fn check_config(config: &str, env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(bin());
    cmd.arg("check-config").arg("--config").arg(repo(config));
    for (k, _) in std::env::vars() {
        if k.starts_with("KITEPORTAL_") || k.starts_with("HOST_") {
            cmd.env_remove(k);
        }
    }
    cmd.envs(env.iter().copied());
    cmd.output().unwrap()
}

fn token_file(dir: &tempfile::TempDir, token: &str) -> String {
    let p = dir.path().join("forgejo_token");
    std::fs::write(&p, format!("{token}\n")).unwrap();
    p.display().to_string()
}

#[test]
fn deploy_configs_validate_and_point_at_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let token = "deploy-test-token-5f1c9a";
    let tf = token_file(&dir, token);
    for (host, peer) in HOSTS {
        let out = check_config(
            &format!("deploy/{host}.toml"),
            &[("KITEPORTAL_FORGEJO_TOKEN_FILE", &tf)],
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "deploy/{host}.toml: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!stdout.contains(token), "token printed for {host}");
        let c: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(c["host"]["name"], host);
        let peers = c["peers"].as_array().unwrap();
        assert_eq!(peers.len(), 1, "{host}: {peers:?}");
        assert_eq!(peers[0]["name"], peer);
        let peer_url = peers[0]["url"].as_str().unwrap();
        // Peers talk over Tailscale (100.64.0.0/10), never over the public internet.
        let ip: std::net::Ipv4Addr = peer_url
            .trim_start_matches("http://")
            .split(':')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(ip.octets()[0], 100, "{host}: {peer_url}");
        assert!((64..128).contains(&ip.octets()[1]), "{host}: {peer_url}");
        assert!(peer_url.ends_with(":8080"), "{host}: {peer_url}");
        assert_eq!(c["forgejo"]["token"], "********");
        assert!(c["forgejo"]["url"].is_string(), "{host}: activity feed on");
        let excl: Vec<&str> = c["metrics"]["net_exclude"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        for bridge in ["veth*", "docker*", "br-*"] {
            assert!(excl.contains(&bridge), "{host}: {bridge} not excluded");
        }
    }
    // The peer of each is the other's published address: monk's peer URL is what
    // kscloud1 calls monk, and the other way round; they differ.
    let urls: Vec<String> = HOSTS
        .iter()
        .map(|(h, _)| {
            let out = check_config(
                &format!("deploy/{h}.toml"),
                &[("KITEPORTAL_FORGEJO_TOKEN_FILE", &tf)],
            );
            let c: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            c["peers"][0]["url"].as_str().unwrap().to_string()
        })
        .collect();
    assert_ne!(urls[0], urls[1]);
}

#[test]
fn deploy_config_without_its_secret_is_refused() {
    // The configs name the compose secret's path; where it does not exist the error must
    // name the key (exit 2), not start without the activity feed.
    if Path::new("/run/secrets/forgejo_token").exists() {
        return;
    }
    let out = check_config("deploy/monk.toml", &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("forgejo.token_file"), "{err}");
}

#[test]
fn image_environment_overrides_the_file() {
    // The Containerfile's ENV must win over a config file's bind and root (environment >
    // file), so a host config copied from a bare-metal install still works in the image.
    let containerfile = read("Containerfile");
    assert!(containerfile.contains("KITEPORTAL_BIND=0.0.0.0:8080"));
    assert!(containerfile.contains("HOST_ROOT=/host"));
    assert!(containerfile.contains("HOST_CGROUP=/host/sys/fs/cgroup"));
    let dir = tempfile::tempdir().unwrap();
    let tf = token_file(&dir, "x-token-1234");
    let out = check_config(
        "deploy/kscloud1.toml",
        &[
            ("KITEPORTAL_FORGEJO_TOKEN_FILE", &tf),
            ("KITEPORTAL_BIND", "0.0.0.0:8080"),
            ("HOST_ROOT", "/host"),
            ("HOST_CGROUP", "/host/sys/fs/cgroup"),
        ],
    );
    assert!(out.status.success());
    let c: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(c["bind"], "0.0.0.0:8080");
    assert_eq!(c["host"]["root"], "/host");
    assert_eq!(c["host"]["cgroup"], "/host/sys/fs/cgroup");
    // Under `pid: host` the container's own /proc is the host's: no HOST_PROC needed.
    assert_eq!(c["host"]["proc"], "/proc");
}

#[test]
fn compose_and_unit_use_the_binary_as_it_is() {
    let compose = read("compose.yaml");
    for needle in [
        "container_name: homepage",
        "pid: host",
        "target: /host",
        "propagation: rslave",
        "KITEPORTAL_FORGEJO_TOKEN_FILE: /run/secrets/forgejo_token",
        // The folder, so a config saved as a new file is what SIGHUP reloads.
        "source: ./deploy\n",
        "target: /etc/kiteportal\n",
        "KITEPORTAL_CONFIG: /etc/kiteportal/${KITEPORTAL_HOST:-monk}.toml",
        "source: kiteportal-state",
        "target: /var/lib/kiteportal",
        "KITEPORTAL_STATE_DIR: /var/lib/kiteportal",
        "external: true",
        "\"/usr/local/bin/kiteportal\", \"healthcheck\"",
        "read_only: true",
        "source: kiteportal-state",
        "target: /var/lib/kiteportal",
        "KITEPORTAL_STATE_DIR: /var/lib/kiteportal",
    ] {
        assert!(compose.contains(needle), "compose.yaml lacks {needle}");
    }
    // The history's directory exists in the image, owned by the user the image runs as.
    let containerfile = read("Containerfile");
    assert!(containerfile.contains("KITEPORTAL_STATE_DIR=/var/lib/kiteportal"));
    assert!(containerfile.contains("--chown=65532:65532 /state /var/lib/kiteportal"));
    assert!(containerfile.contains("USER 65532:65532"));
    let unit = read("deploy/kiteportal.service");
    assert!(unit
        .contains("ExecStart=/usr/local/bin/kiteportal --config /etc/kiteportal/kiteportal.toml"));
    assert!(unit.contains("Environment=KITEPORTAL_FORGEJO_TOKEN_FILE=%d/forgejo_token"));
    // Every subcommand the deploy files call exists.
    for sub in ["healthcheck", "check-config"] {
        let out = Command::new(bin()).args([sub, "--help"]).output().unwrap();
        assert!(out.status.success(), "kiteportal {sub} --help");
    }
}
