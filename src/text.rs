//! Foreign text made safe to keep, show and log, in one place: every string taken from
//! outside the process (an upstream's names, messages, URLs, weather words, peer names,
//! error bodies; a container's command line) goes through [`clean`] (control,
//! bidi-override and zero-width characters removed, length capped) and, where a secret is
//! in play, [`mask`]; numbers and dates through [`finite_in`] and [`plausible_date`].
//! Ground level: `feeds` and `host` both use it.

use chrono::{DateTime, Utc};

/// Longest upstream text quoted in an error detail.
pub const MAX_REASON: usize = 160;
/// Longest name (repository, author, location, peer, mount, interface…).
pub const MAX_NAME: usize = 120;
/// Longest one-line message (a commit's first line, a weather description).
pub const MAX_MESSAGE: usize = 200;

/// What replaces a secret wherever it shows up.
pub const MASK: &str = "********";

/// Characters that change how text around them reads without being visible: the bidi
/// embeddings and overrides (U+202A–202E), the bidi isolates (U+2066–2069), the marks
/// and zero-width characters (U+200B–200F, U+2060–2064, U+FEFF, U+061C, U+00AD).
pub(crate) fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{202A}'..='\u{202E}'
        | '\u{2066}'..='\u{2069}'
        | '\u{200B}'..='\u{200F}'
        | '\u{2060}'..='\u{2064}'
        | '\u{FEFF}'
        | '\u{061C}'
        | '\u{00AD}')
}

/// `s` on one line: line breaks and tabs become spaces, other control characters and
/// invisible ones are dropped, runs of white space fold to one, the ends are trimmed, and at most
/// `max` characters are kept (a cut is marked with `…`).
pub(crate) fn clean(s: &str, max: usize) -> String {
    let mut out = String::with_capacity(s.len().min(4 * max + 8));
    let mut count = 0usize;
    let mut space = false;
    for c in s.chars() {
        if c.is_whitespace() {
            space = !out.is_empty();
            continue;
        }
        if is_invisible(c) || c.is_control() {
            continue;
        }
        let needed = if space { 2 } else { 1 };
        if count + needed > max {
            out.push('…');
            return out;
        }
        if space {
            out.push(' ');
            space = false;
        }
        out.push(c);
        count += needed;
    }
    out
}

/// Like [`clean`], but line breaks stay (each line cleaned, blank lines folded to one,
/// at most `max_lines` lines): for a paragraph of upstream text shown as plain text. At
/// most `max` characters in all, counting each line break as one.
pub(crate) fn clean_lines(s: &str, max: usize, max_lines: usize) -> String {
    let mut out = String::new();
    let (mut count, mut lines) = (0usize, 0usize);
    let mut blank = false;
    for line in s.lines().take(max_lines.saturating_mul(4)) {
        if line.trim().is_empty() {
            blank = !out.is_empty();
            continue;
        }
        let sep = match (out.is_empty(), blank) {
            (true, _) => "",
            (false, true) => "\n\n",
            (false, false) => "\n",
        };
        // Room for the separator and a cut's `…`.
        let room = max.saturating_sub(count + sep.len() + 1);
        if lines >= max_lines || room == 0 {
            break;
        }
        let line = clean(line, room);
        if line.is_empty() {
            continue;
        }
        out.push_str(sep);
        out.push_str(&line);
        count += sep.len() + line.chars().count();
        lines += 1;
        blank = false;
        if line.ends_with('…') {
            break;
        }
    }
    out
}

/// [`clean`] at the error-detail length.
pub(crate) fn clip(s: &str) -> String {
    clean(s, MAX_REASON)
}

/// `s` with every occurrence of `secret` replaced by [`MASK`]. Run it on text that went
/// through [`clean`], so a secret split by invisible characters is whole again and
/// caught. Secrets shorter than 4 characters are not masked (they would mask ordinary
/// words; config refuses such tokens anyway).
pub(crate) fn mask(s: &str, secret: Option<&str>) -> String {
    match secret {
        Some(t) if t.chars().count() >= 4 && s.contains(t) => s.replace(t, MASK),
        _ => s.to_string(),
    }
}

/// `x` when it is a finite number within `lo..=hi`; absurd values (1e308 °C) are bad data.
pub(crate) fn finite_in(x: f64, lo: f64, hi: f64) -> Option<f64> {
    (x.is_finite() && (lo..=hi).contains(&x)).then_some(x)
}

/// `t` when it is a date a real upstream can have written: not before 1990, not more
/// than a day ahead of `now` (clocks drift, time zones confuse; years ahead is forged).
pub(crate) fn plausible_date(t: DateTime<Utc>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let earliest = DateTime::<Utc>::from_timestamp(631_152_000, 0)?; // 1990-01-01
    (t >= earliest && t <= now + chrono::Duration::days(1)).then_some(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_strips_what_forges_lines_and_reorders_text() {
        assert_eq!(clean("a\nb\r\n\tc", 50), "a b c");
        assert_eq!(clean("\u{202E}txt.exe\u{2066}x\u{2069}", 50), "txt.exex");
        assert_eq!(clean("to\u{200B}ken", 50), "token");
        assert_eq!(clean("  padded  ", 50), "padded");
        assert_eq!(clean("\x1b[31mred", 50), "[31mred");
        assert_eq!(clean(&"x".repeat(500), 10), format!("{}…", "x".repeat(10)));
        assert_eq!(clean("abc", 3), "abc");
        assert_eq!(clean("ab cd", 3), "ab…");
        assert_eq!(clean("", 3), "");
    }

    #[test]
    fn paragraphs_keep_their_lines_and_nothing_else() {
        assert_eq!(
            clean_lines("a\u{202E}b\r\n\n\n  c\td \n", 50, 10),
            "ab\n\nc d"
        );
        assert_eq!(clean_lines("1\n2\n3\n4", 50, 2), "1\n2");
        let long = clean_lines(&"x".repeat(5000), 100, 10);
        assert_eq!(long.chars().count(), 100);
        assert!(long.ends_with('…'));
        let many = clean_lines(&"word\n".repeat(10_000), 2000, 20);
        assert_eq!(many.lines().count(), 20);
    }

    #[test]
    fn a_secret_split_by_invisible_characters_is_still_masked() {
        let t = "s3cr3ttoken";
        let s = mask(&clean("repo s3cr\u{200B}3t\u{2060}token!", 100), Some(t));
        assert_eq!(s, "repo ********!");
        assert_eq!(mask("abc", Some("ab")), "abc");
        assert_eq!(mask("abc", None), "abc");
    }

    #[test]
    fn absurd_numbers_and_dates_are_refused() {
        assert_eq!(finite_in(1e308, -100.0, 70.0), None);
        assert_eq!(finite_in(f64::NAN, -100.0, 70.0), None);
        assert_eq!(finite_in(21.5, -100.0, 70.0), Some(21.5));
        let now = Utc::now();
        assert!(plausible_date(now, now).is_some());
        assert!(plausible_date(now + chrono::Duration::days(400), now).is_none());
        let old = DateTime::<Utc>::from_timestamp(0, 0).unwrap();
        assert!(plausible_date(old, now).is_none());
    }
}
