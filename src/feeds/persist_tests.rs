//! Tests of the state file: round trips, migration, hostile files.

use super::*;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

#[test]
fn round_trip_keeps_configured_names_only() {
    let now = at("2026-11-30T10:00:00Z");
    let mut h = History::new(["a", "b"]);
    h.track_mut("a").record(true, now);
    h.track_mut("b").record(false, now);
    h.track_mut("b").record(false, now);
    let bytes = encode(&h, now);
    assert_eq!(decode(&bytes, ["a", "b"], now).unwrap(), h);
    let renamed = decode(&bytes, ["a", "c"], now).unwrap();
    assert_eq!(renamed.get("a"), h.get("a"));
    assert_eq!(renamed.get("c"), Some(&Track::default()));
    assert!(renamed.get("b").is_none());
}

#[test]
fn bad_files_are_rejected_with_a_reason() {
    let now = at("2026-11-30T10:00:00Z");
    let slot = slot_of(now);
    let svc = |b: &str| {
        format!(
            r#"{{"format":"{FORMAT}","version":1,"saved_at":"2026-11-30T09:00:00Z","services":[{{"name":"a","status":"up","since":"2026-11-30T09:00:00Z","buckets":{b}}}]}}"#
        )
    };
    let cases = [
        ("", "not valid JSON"),
        ("{\"format\":", "not valid JSON"),
        ("[1,2]", "not valid JSON"),
        (r#"{"format":"other","version":1}"#, "not a kiteportal"),
        (
            &format!(r#"{{"format":"{FORMAT}","version":9,"services":[]}}"#),
            "format version 9",
        ),
        (&svc(&format!("[[{slot},2,3]]")), "invalid bucket"),
        (&svc(&format!("[[{slot},0,0]]")), "invalid bucket"),
        (
            &svc(&format!("[[{slot},1,1],[{slot},1,1]]")),
            "invalid bucket",
        ),
        (&svc("[[1,\"x\",1]]"), "malformed"),
    ];
    for (text, want) in cases {
        let e = decode(text.as_bytes(), ["a"], now).unwrap_err();
        assert!(e.contains(want), "{text}: {e}");
    }
    assert!(decode(svc(&format!("[[{slot},2,1]]")).as_bytes(), ["a"], now).is_ok());
    // A half hour holds at most one check every 250 ms: 7,200.
    let full = svc(&format!("[[{slot},7200,7200]]"));
    assert!(decode(full.as_bytes(), ["a"], now).is_ok());
    let over = svc(&format!("[[{slot},7201,1]]"));
    assert_eq!(
        decode(over.as_bytes(), ["a"], now).unwrap_err(),
        "has an invalid bucket for 'a'"
    );
}

#[test]
fn a_file_is_believed_about_the_last_week_and_its_statuses_only() {
    let now = at("2026-11-30T10:00:00Z");
    let newest = slot_of(now);
    let file = |status: &str, since: &str, name: &str| {
        format!(
            r#"{{"format":"{FORMAT}","version":1,"saved_at":"2026-11-30T09:00:00Z","services":[{{"name":"{name}","status":"{status}","since":{since},"buckets":[[{},1,1],[{},1,1]]}}]}}"#,
            newest - WEEK_BUCKETS,
            newest - WEEK_BUCKETS + 1
        )
    };
    let h = decode(
        file("up", r#""2026-11-30T09:00:00Z""#, "a").as_bytes(),
        ["a"],
        now,
    )
    .expect("a good file");
    let slots: Vec<i64> = h.get("a").unwrap().buckets.iter().map(|b| b.slot).collect();
    assert_eq!(slots, [newest - WEEK_BUCKETS + 1]);
    for (status, since) in [
        ("up", r#""2026-11-30T11:00:00Z""#),    // began in the future
        ("up", r#""1989-12-31T23:59:59Z""#),    // before 1990
        ("down", r#""-0001-01-01T00:00:00Z""#), // a negative year
        ("unknown", r#""2026-11-30T09:00:00Z""#),
        ("down", "null"),
    ] {
        let e = decode(file(status, since, "a").as_bytes(), ["a"], now).unwrap_err();
        assert_eq!(e, "has an invalid status for 'a'", "{status} {since}");
    }
    let named = file("down", "null", &format!("x\\u001b[2J{}", "y".repeat(100)));
    let e = decode(named.as_bytes(), ["a"], now).unwrap_err();
    assert_eq!(
        e,
        format!("has an invalid status for 'x[2J{}'", "y".repeat(56))
    );
}

#[test]
fn load_never_fails_and_says_whether_the_file_may_be_written() {
    let dir = tempfile::tempdir().unwrap();
    let now = at("2026-11-30T10:00:00Z");
    let p = path_in(dir.path());
    let l = load(&p, ["a"], now);
    assert_eq!(l.history, History::new(["a"]));
    assert!(l.warning.unwrap().contains("does not exist"));
    assert!(l.writable);
    std::fs::write(&p, b"{\"format\": \"kiteportal-serv").unwrap();
    let l = load(&p, ["a"], now);
    assert_eq!(l.history, History::new(["a"]));
    let w = l.warning.unwrap();
    assert!(
        w.contains(&p.display().to_string()) && w.contains("empty"),
        "{w}"
    );
    assert!(l.writable, "a corrupt file is replaced");
    let newer = format!(r#"{{"format":"{FORMAT}","version":9,"services":[]}}"#);
    std::fs::write(&p, newer).unwrap();
    let l = load(&p, ["a"], now);
    assert!(!l.writable, "a newer version's file is left alone");
}

#[test]
fn a_fifo_or_a_link_at_the_file_is_refused_at_once_and_never_written() {
    let dir = tempfile::tempdir().unwrap();
    let now = at("2026-11-30T10:00:00Z");
    let p = path_in(dir.path());
    crate::files::mkfifo(&p);
    let t = std::time::Instant::now();
    let l = load(&p, ["a"], now);
    assert!(t.elapsed() < std::time::Duration::from_secs(1));
    assert!(!l.writable);
    assert!(l.warning.unwrap().contains("not a regular file"));
    std::fs::remove_file(&p).unwrap();
    let target = dir.path().join("elsewhere.json");
    std::fs::write(&target, b"precious").unwrap();
    std::os::unix::fs::symlink(&target, &p).unwrap();
    let l = load(&p, ["a"], now);
    assert!(!l.writable);
    assert!(l.warning.unwrap().contains("symbolic link"));
}

#[test]
fn the_temp_file_is_never_followed_nor_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let p = path_in(dir.path());
    let tmp = p.with_extension("json.tmp");
    let target = dir.path().join("victim");
    std::fs::write(&target, b"precious").unwrap();
    std::os::unix::fs::symlink(&target, &tmp).unwrap();
    write_atomic(&p, b"one").unwrap();
    assert_eq!(std::fs::read(&target).unwrap(), b"precious");
    assert_eq!(std::fs::read(&p).unwrap(), b"one");
    crate::files::mkfifo(&tmp);
    let t = std::time::Instant::now();
    write_atomic(&p, b"two").unwrap();
    assert!(t.elapsed() < std::time::Duration::from_secs(1));
    assert_eq!(std::fs::read(&p).unwrap(), b"two");
    // A link at the final name is replaced, its target untouched.
    std::fs::remove_file(&p).unwrap();
    std::os::unix::fs::symlink(&target, &p).unwrap();
    write_atomic(&p, b"three").unwrap();
    assert_eq!(std::fs::read(&target).unwrap(), b"precious");
    assert!(!std::fs::symlink_metadata(&p).unwrap().is_symlink());
}

#[test]
fn atomic_write_replaces_and_leaves_no_temp() {
    let dir = tempfile::tempdir().unwrap();
    let p = path_in(dir.path());
    write_atomic(&p, b"one").unwrap();
    write_atomic(&p, b"two").unwrap();
    assert_eq!(std::fs::read(&p).unwrap(), b"two");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    assert!(write_atomic(&dir.path().join("no/such/dir/x.json"), b"x").is_err());
}

/// A file written by the previous release (version 1, by the real binary), read by
/// this one: every half-hour bucket kept, the days made from them, and written back
/// as version 2 that reads the same.
#[test]
fn a_version_1_file_is_migrated_without_losing_a_bucket() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/state/services-v1.json"
    );
    let bytes = std::fs::read(path).unwrap();
    let v1: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(v1["version"], 1);
    let saved: DateTime<Utc> = v1["saved_at"].as_str().unwrap().parse().unwrap();
    let now = saved + chrono::Duration::minutes(1);
    let names = ["Forgejo", "Photos"];
    let h = decode(&bytes, names, now).unwrap();
    for s in v1["services"].as_array().unwrap() {
        let t = h.get(s["name"].as_str().unwrap()).unwrap();
        let buckets: Vec<(i64, u32, u32)> =
            t.buckets.iter().map(|b| (b.slot, b.checks, b.up)).collect();
        let want: Vec<(i64, u32, u32)> = serde_json::from_value(s["buckets"].clone()).unwrap();
        assert_eq!(buckets, want, "{}", s["name"]);
        let checks: u32 = want.iter().map(|b| b.1).sum();
        let up: u32 = want.iter().map(|b| b.2).sum();
        let day_checks: u32 = t.days.iter().map(|d| d.checks).sum();
        let day_up: u32 = t.days.iter().map(|d| d.up).sum();
        assert_eq!((day_checks, day_up), (checks, up), "{}", s["name"]);
        assert_eq!(serde_json::to_value(t.status).unwrap(), s["status"]);
    }
    let v2 = encode(&h, now);
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&v2).unwrap()["version"],
        2
    );
    assert_eq!(decode(&v2, names, now).unwrap(), h);
}

#[test]
fn changes_and_days_survive_a_round_trip_and_lies_are_refused() {
    use crate::feeds::changes::Transition;
    let now = at("2026-11-30T10:00:00Z");
    let mut h = History::new(["a"]);
    h.track_mut("a").record(true, now);
    days::add(&mut h.track_mut("a").days, days::day_of(now, 3600), 1, 1);
    h.changes.last_known.insert("a".into(), ServiceState::Up);
    h.changes.push(Transition {
        service: "a".into(),
        from: ServiceState::Down,
        to: ServiceState::Up,
        reason: None,
        detail: None,
        at: now - chrono::Duration::minutes(5),
    });
    let bytes = encode(&h, now);
    let back = decode(&bytes, ["a"], now).unwrap();
    assert_eq!(back.changes, h.changes);
    assert_eq!(back.get("a").unwrap().days, h.get("a").unwrap().days);
    let text = String::from_utf8(bytes).unwrap();
    let lie = text.replace("\"days\":[[", "\"days\":[[1,0,0],[");
    assert!(decode(lie.as_bytes(), ["a"], now)
        .unwrap_err()
        .contains("invalid day"));
    let future = text.replace("2026-11-30T09:55:00Z", "2027-01-01T00:00:00Z");
    assert!(decode(future.as_bytes(), ["a"], now)
        .unwrap_err()
        .contains("invalid change"));
}

#[test]
fn fifty_services_with_a_full_week_stay_under_one_mib() {
    let now = at("2026-11-30T10:00:00Z");
    let names: Vec<String> = (0..50).map(|i| format!("service number {i:02}")).collect();
    let mut h = History::new(names.iter().map(String::as_str));
    let today = days::day_of(now, 0);
    for n in &names {
        let t = h.track_mut(n);
        for i in 0..WEEK_BUCKETS {
            let when = now - chrono::Duration::seconds(i * BUCKET_SECS);
            for _ in 0..60 {
                t.record(i % 7 != 0, when);
            }
        }
        for d in 0..DAYS {
            days::add(&mut t.days, today - DAYS + 1 + d, 2880, 2870);
        }
    }
    for i in 0..KEPT {
        h.changes.push(crate::feeds::changes::Transition {
            service: names[i % 50].clone(),
            from: ServiceState::Up,
            to: ServiceState::Down,
            reason: Some("connection refused".into()),
            detail: Some("x".repeat(MAX_DETAIL)),
            at: now,
        });
    }
    let size = encode(&h, now).len();
    assert!(size < 1 << 20, "{size} bytes");
    eprintln!("50 services, a full week, 90 days and 50 changes: {size} bytes");
}

#[test]
fn a_file_of_exactly_the_cap_is_read_and_one_byte_more_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("services.json");
    std::fs::write(&p, vec![b' '; MAX_BYTES as usize]).unwrap();
    assert_eq!(read_bounded(&p).unwrap().len() as u64, MAX_BYTES);
    std::fs::write(&p, vec![b' '; MAX_BYTES as usize + 1]).unwrap();
    assert_eq!(
        read_bounded(&p).unwrap_err(),
        ("is larger than 4 MiB".to_string(), false)
    );
}

#[test]
fn a_file_s_days_are_windowed_its_buckets_merged_by_day_and_its_texts_clipped() {
    use crate::feeds::changes::Transition;
    let now = at("2026-11-30T10:00:00Z");
    // The window ends one day ahead of UTC's today (a local day may be ahead).
    let today = days::day_of(now, 0) + 1;
    let kept = valid_days(
        &[(today - 200, 1, 1), (today - 5, 2, 1), (today, 3, 3)],
        now,
    );
    let kept: Vec<i32> = kept.unwrap().iter().map(|d| d.day).collect();
    assert_eq!(kept, [today - 5, today]);
    // A day of more checks than a day can hold is a lie; exactly that many is not.
    assert!(valid_days(&[(today, MAX_DAY_CHECKS, 1)], now).is_some());
    assert!(valid_days(&[(today, MAX_DAY_CHECKS + 1, 1)], now).is_none());
    // Two half hours of one day make one day; the next day its own.
    let slot = now.timestamp() / BUCKET_SECS;
    let b = |slot, checks, up| Bucket { slot, checks, up };
    let merged = days_from(&[b(slot, 2, 1), b(slot + 1, 3, 3), b(slot + 48, 1, 0)]);
    let merged: Vec<(u32, u32)> = merged.iter().map(|d| (d.checks, d.up)).collect();
    assert_eq!(merged, [(5, 4), (1, 0)]);
    // A change's reason and detail are clipped as they are read back.
    let mut h = History::new(["a"]);
    h.track_mut("a").record(true, now);
    h.changes.push(Transition {
        service: "a".into(),
        from: ServiceState::Down,
        to: ServiceState::Up,
        reason: Some("r".repeat(500)),
        detail: Some("d".repeat(5000)),
        at: now - chrono::Duration::minutes(5),
    });
    let back = decode(&encode(&h, now), ["a"], now).unwrap();
    let t = back.changes.recent.back().unwrap();
    assert_eq!(t.reason.as_deref().map(str::len), Some(MAX_REASON));
    assert_eq!(t.detail.as_deref().map(str::len), Some(MAX_DETAIL));
}
