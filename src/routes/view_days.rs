//! The 90-day strip of a service card: one cell per local day that had checks, its
//! share of checks up as a level, a one-line summary and the text a screen reader reads
//! (the days that were not all up, by date).

use crate::feeds::days::DayCell;
use crate::feeds::ServiceStatus;

use super::view_services::{ratio_pct, share_level, CellView};

/// Days named one by one in the screen reader's text before "and N more".
const NAMED_DAYS: usize = 10;

/// The strip as the card shows it.
pub struct DaysView {
    /// "90 days 99.2%".
    pub summary: String,
    /// "last 90 days: 99.2% up; not all up on 2026-11-02 (92.0% up), …".
    pub label: String,
    /// Days with checks, `x` from 0 (90 days ago) to 89 (today).
    pub cells: Vec<CellView>,
}

/// The strip of `s`.
pub fn days_view(s: &ServiceStatus) -> DaysView {
    let cells = s
        .days
        .iter()
        .enumerate()
        .filter(|(_, d)| d.checks > 0)
        .map(|(x, d)| CellView {
            x,
            level: share_level(d.checks, d.up),
            // The strip's text equivalent names the days (see `label`).
            title: String::new(),
        })
        .collect();
    DaysView {
        summary: format!("90 days {}", ratio_pct(s.uptime.quarter)),
        label: label(s.uptime.quarter, &s.days),
        cells,
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
