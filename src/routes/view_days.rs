//! The 90-day strip of a service card: one cell per local day that had checks, its
//! share of checks up as a level (drawn as one SVG path per level, so 90 days are three
//! elements, not ninety), a one-line summary and the text a screen reader reads (the
//! days that were not all up, by date).

use crate::feeds::days::DayCell;
use crate::feeds::ServiceStatus;

use super::format::Level;
use super::view_services::{ratio_pct, share_level};

/// Days named one by one in the screen reader's text before "and N more".
const NAMED_DAYS: usize = 10;

/// The strip as the card shows it.
pub struct DaysView {
    /// "90 days 99.2%".
    pub summary: String,
    /// "last 90 days: 99.2% up; not all up on 2026-11-02 (92.0% up), …".
    pub label: String,
    /// One path per level (ok, warn, bad) with a cell for each of its days, `x`
    /// from 0 (90 days ago) to 89 (today).
    pub paths: Vec<LevelPath>,
}

/// The cells of one level, as an SVG path's `d`.
pub struct LevelPath {
    pub level: Level,
    pub d: String,
}

/// The strip of `s`: always one path per level (a bare `M0 0` when no day has it), so a
/// day changing level is a change of a path's `d`, never of the strip's structure (the
/// page's stream then patches it instead of resending the cards).
pub fn days_view(s: &ServiceStatus) -> DaysView {
    let paths = [Level::Ok, Level::Warn, Level::Bad]
        .into_iter()
        .map(|level| {
            let d: String = s
                .days
                .iter()
                .enumerate()
                .filter(|(_, d)| d.checks > 0 && share_level(d.checks, d.up) == level)
                .map(|(x, _)| format!("M{x} 0h.8v8h-.8z"))
                .collect();
            let d = if d.is_empty() { "M0 0".to_string() } else { d };
            LevelPath { level, d }
        })
        .collect();
    DaysView {
        summary: format!("90 days {}", ratio_pct(s.uptime.quarter)),
        label: label(s.uptime.quarter, &s.days),
        paths,
    }
}

fn label(quarter: Option<f64>, days: &[DayCell]) -> String {
    let Some(q) = quarter else {
        return "last 90 days: no checks yet".to_string();
    };
    let bad: Vec<&DayCell> = days.iter().filter(|d| d.up < d.checks).collect();
    let mut text = format!("last 90 days: {} up", ratio_pct(Some(q)));
    if bad.is_empty() {
        text.push_str("; every day with checks was all up");
        return text;
    }
    text.push_str("; not all up on ");
    let named: Vec<String> = bad
        .iter()
        .take(NAMED_DAYS)
        .map(|d| {
            let share = f64::from(d.up) / f64::from(d.checks);
            format!("{} ({} up)", d.date, ratio_pct(Some(share)))
        })
        .collect();
    text.push_str(&named.join(", "));
    if bad.len() > NAMED_DAYS {
        text.push_str(&format!(" and {} more days", bad.len() - NAMED_DAYS));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(date: &str, checks: u32, up: u32) -> DayCell {
        DayCell {
            date: date.parse().unwrap(),
            checks,
            up,
        }
    }

    #[test]
    fn ninety_days_are_one_path_per_level() {
        let mut s = crate::feeds::services::unknown(
            &crate::config::default_services().unwrap()[0],
            chrono::Utc::now(),
        );
        s.days = vec![
            day("2026-11-01", 10, 10),
            day("2026-11-02", 0, 0),
            day("2026-11-03", 10, 9),
        ];
        s.days.push(day("2026-11-04", 10, 1));
        s.days.push(day("2026-11-05", 10, 10));
        let v = days_view(&s);
        let paths: Vec<(&str, &str)> = (v.paths.iter())
            .map(|p| (crate::names::name_of(&p.level), p.d.as_str()))
            .collect();
        assert_eq!(
            paths,
            [
                ("ok", "M0 0h.8v8h-.8zM4 0h.8v8h-.8z"),
                ("warn", "M2 0h.8v8h-.8z"),
                ("bad", "M3 0h.8v8h-.8z")
            ]
        );
    }

    #[test]
    fn a_reader_hears_the_days_that_were_not_all_up() {
        assert_eq!(label(None, &[]), "last 90 days: no checks yet");
        let days = [
            day("2026-11-01", 0, 0),
            day("2026-11-02", 100, 92),
            day("2026-11-03", 50, 50),
        ];
        assert_eq!(
            label(Some(0.946), &days),
            "last 90 days: 94.6% up; not all up on 2026-11-02 (92.0% up)"
        );
        let many: Vec<DayCell> = (1..=12)
            .map(|d| day(&format!("2026-11-{d:02}"), 10, 9))
            .collect();
        assert!(label(Some(0.9), &many).ends_with("2026-11-10 (90.0% up) and 2 more days"));
        assert!(label(Some(1.0), &days[2..]).ends_with("every day with checks was all up"));
    }
}
