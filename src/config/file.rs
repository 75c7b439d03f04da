//! Reading the configuration file: a regular file with a size cap, parsed from TOML into
//! [`FileConfig`] (every key optional, unknown keys rejected by `deny_unknown_fields`).

use std::path::Path;

use super::build::FileConfig;
use crate::error::StartupError;

/// Largest configuration file accepted (a config is a few KiB; anything bigger is a mistake).
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// Reads and parses one config file; the error names the file and the key.
pub(crate) fn read_file(path: &Path) -> Result<FileConfig, StartupError> {
    let text = read_regular_bounded(path, MAX_CONFIG_BYTES)
        .map_err(|why| StartupError::new(format!("config file '{}': {why}", path.display())))?;
    parse_toml(&text)
        .map_err(|why| StartupError::new(format!("config file '{}': {why}", path.display())))
}

/// Parses the TOML text of a config file.
pub fn parse_toml(text: &str) -> Result<FileConfig, String> {
    toml::from_str(text).map_err(|e| {
        // toml's message already names the key ("unknown field `x`", "invalid type").
        e.to_string().trim().replace('\n', "\n  ")
    })
}

/// Reads a file that must be a regular file (the configuration, the token file): a FIFO
/// there would block start-up, or a reload and with it the signals, until something
/// writes to it.
pub(super) fn read_regular_bounded(path: &Path, max: u64) -> Result<String, String> {
    read_bounded_from(
        crate::files::open_regular(path).map_err(|e| {
            // open_regular names the path; the key and value are named by the caller.
            let msg = e.to_string();
            let why = msg
                .strip_prefix(&format!("{}: ", path.display()))
                .unwrap_or(&msg)
                .to_string();
            std::io::Error::new(e.kind(), why)
        }),
        max,
    )
}

fn read_bounded_from(f: std::io::Result<std::fs::File>, max: u64) -> Result<String, String> {
    let f = f.map_err(|e| format!("cannot be read: {e}"))?;
    let mut text = String::new();
    if !crate::files::read_capped_text(f, max, &mut text)
        .map_err(|e| format!("cannot be read: {e}"))?
    {
        return Err(format!("is larger than {} KiB", max >> 10));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_fail_and_are_named() {
        for (toml, key) in [
            ("colour = 1", "colour"),
            ("[metrics]\nintervall = \"2s\"", "intervall"),
            (
                "[[services]]\nname = \"a\"\nurl = \"https://a\"\nlink = \"x\"",
                "link",
            ),
            (
                "[[containers]]\nmatch = \"a\"\nname = \"b\"\nlabel = \"x\"",
                "label",
            ),
        ] {
            let err = parse_toml(toml).unwrap_err();
            assert!(err.contains(key), "{err}");
        }
    }

    /// The field names serde expects in a table, read from its "unknown field" message.
    fn fields_of(section: Option<&str>) -> Vec<String> {
        let toml = match section {
            Some(s) => format!("[{s}]\nzz_unknown = 1"),
            None => "zz_unknown = 1".into(),
        };
        let err = parse_toml(&toml).unwrap_err();
        let expected = err.split("expected").nth(1).unwrap_or("");
        expected
            .split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn keys_list_matches_the_file_format() {
        let mut keys = Vec::new();
        for top in fields_of(None) {
            if [
                "host",
                "metrics",
                "weather",
                "forgejo",
                "stream",
                "limits",
                "uptime_kuma",
                "access",
            ]
            .contains(&top.as_str())
            {
                for f in fields_of(Some(&top)) {
                    keys.push(format!("{top}.{f}"));
                }
            } else {
                keys.push(top);
            }
        }
        keys.sort();
        let mut documented: Vec<String> =
            super::super::KEYS.iter().map(|k| k.to_string()).collect();
        documented.sort();
        assert_eq!(keys, documented);
    }
}
