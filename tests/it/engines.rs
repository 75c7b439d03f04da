//! The page in a second browser engine: Firefox (Debian's `firefox-esr`, headless, its own
//! `--screenshot`) renders the same page as Chromium, with no console errors from the page.
//! Without Firefox the test skips locally; under `CI=true` that is a failure.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::common::Portal;

/// Viewport of both screenshots.
const SIZE: (u32, u32) = (1440, 900);

pub(crate) fn installed(cmd: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {cmd}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Decoded RGBA pixels of a PNG file.
pub(crate) fn rgba(path: &Path) -> (u32, u32, Vec<u8>) {
    let decoder = png::Decoder::new(std::fs::File::open(path).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    buf.truncate(info.buffer_size());
    let px = match info.color_type {
        png::ColorType::Rgba => buf,
        png::ColorType::Rgb => buf
            .chunks(3)
            .flat_map(|c| [c[0], c[1], c[2], 255])
            .collect(),
        other => panic!("unexpected PNG colour type {other:?}"),
    };
    (info.width, info.height, px)
}

/// Mean colour of each cell of a `cols × rows` grid over the image.
fn grid(img: &(u32, u32, Vec<u8>), cols: u32, rows: u32) -> Vec<[f64; 3]> {
    let (w, h, px) = img;
    let mut out = Vec::new();
    for gy in 0..rows {
        for gx in 0..cols {
            let (x0, x1) = (gx * w / cols, (gx + 1) * w / cols);
            let (y0, y1) = (gy * h / rows, (gy + 1) * h / rows);
            let mut sum = [0.0; 3];
            for y in y0..y1 {
                for x in x0..x1 {
                    let i = ((y * w + x) * 4) as usize;
                    for c in 0..3 {
                        sum[c] += f64::from(px[i + c]);
                    }
                }
            }
            let n = f64::from((x1 - x0) * (y1 - y0)).max(1.0);
            out.push(sum.map(|s| s / n));
        }
    }
    out
}

fn firefox_shot(url: &str, dir: &Path) -> (PathBuf, String) {
    let profile = dir.join("firefox-profile");
    std::fs::create_dir_all(&profile).unwrap();
    // Content console messages and script errors go to stdout; nothing phones home.
    std::fs::write(
        profile.join("user.js"),
        "user_pref(\"devtools.console.stdout.content\", true);\n\
         user_pref(\"app.update.enabled\", false);\n\
         user_pref(\"browser.shell.checkDefaultBrowser\", false);\n\
         user_pref(\"datareporting.policy.dataSubmissionEnabled\", false);\n\
         user_pref(\"toolkit.telemetry.enabled\", false);\n",
    )
    .unwrap();
    let out = dir.join("firefox.png");
    let o = Command::new("timeout")
        .arg("90")
        .arg("firefox-esr")
        .args(["--headless", "--no-remote", "--profile"])
        .arg(&profile)
        .arg(format!("--window-size={},{}", SIZE.0, SIZE.1))
        .arg("--screenshot")
        .arg(&out)
        .arg(url)
        .env("MOZ_HEADLESS", "1")
        .output()
        .unwrap();
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(out.exists(), "firefox made no screenshot: {log}");
    (out, log)
}

fn chromium_shot(url: &str, dir: &Path) -> PathBuf {
    let out = dir.join("chromium.png");
    let o = Command::new("timeout")
        .arg("90")
        .arg("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
        ])
        .arg(format!(
            "--user-data-dir={}",
            dir.join("chromium-profile").display()
        ))
        .arg(format!("--window-size={},{}", SIZE.0, SIZE.1))
        .arg(format!("--screenshot={}", out.display()))
        .arg(url)
        .output()
        .unwrap();
    assert!(
        out.exists(),
        "chromium made no screenshot: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    out
}

/// Lines of Firefox's output that come from the page itself: its console errors and
/// warnings, and uncaught script errors at its address. (The browser's own chrome code
/// also logs, e.g. failing to reach its update servers offline; that is not the page's.)
fn page_errors(log: &str, origin: &str) -> Vec<String> {
    log.lines()
        .filter(|l| {
            l.starts_with("console.error: \"")
                || l.starts_with("console.warn: \"")
                || (l.starts_with("JavaScript error: ") && l.contains(origin))
                || (l.contains("Content-Security-Policy") && l.contains(origin))
        })
        .map(str::to_string)
        .collect()
}

#[test]
fn firefox_renders_the_page_like_chromium_without_errors() {
    let missing: Vec<&str> = ["firefox-esr", "chromium"]
        .into_iter()
        .filter(|c| !installed(c))
        .collect();
    if !missing.is_empty() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but {missing:?} not installed (apt-get install firefox-esr chromium)"
        );
        eprintln!("skipping second-engine test: {missing:?} not installed");
        return;
    }
    // A still page: nothing live changes between the two screenshots but the numbers.
    let p = Portal::builder()
        .config("[metrics]\ninterval = \"30s\"\n")
        .start();
    std::thread::sleep(Duration::from_millis(300));
    let url = p.url("/");
    let origin = p.url("");
    let (ff, log) = firefox_shot(&url, p.dir.path());
    let errors = page_errors(&log, &origin);
    assert!(errors.is_empty(), "console errors in Firefox: {errors:#?}");
    let ch = chromium_shot(&url, p.dir.path());

    let (a, b) = (rgba(&ff), rgba(&ch));
    assert_eq!((a.0, a.1), SIZE, "firefox screenshot size");
    assert_eq!((b.0, b.1), SIZE, "chromium screenshot size");
    // Same layout and colours: a 24 × 15 grid of mean colours (60 px cells) differs
    // little. Fonts rasterise differently and live numbers move, so a cell may differ
    // some; a missing stylesheet, a collapsed grid or a blank page differs a lot.
    let (ga, gb) = (grid(&a, 24, 15), grid(&b, 24, 15));
    let diffs: Vec<f64> = ga
        .iter()
        .zip(&gb)
        .map(|(x, y)| (0..3).map(|c| (x[c] - y[c]).abs()).sum::<f64>() / 3.0)
        .collect();
    let mean = diffs.iter().sum::<f64>() / diffs.len() as f64;
    let far = diffs.iter().filter(|d| **d > 25.0).count();
    eprintln!("cell difference: mean {mean:.2}, {far} cells over 25");
    assert!(
        mean < 6.0 && far <= diffs.len() / 20,
        "Firefox and Chromium render differently: mean cell difference {mean:.1}, \
         {far} of {} cells differ by more than 25 (screenshots in {})",
        diffs.len(),
        p.dir.path().display()
    );
    // Not a blank page: light text and neon on the dark base, in both.
    for (name, img) in [("Firefox", &a), ("Chromium", &b)] {
        let lit = img
            .2
            .chunks(4)
            .filter(|p| p[..3].iter().any(|v| *v > 150))
            .count();
        let share = lit as f64 / f64::from(SIZE.0 * SIZE.1);
        assert!(
            share > 0.01,
            "the {name} screenshot looks blank ({share:.4} lit)"
        );
    }
}
