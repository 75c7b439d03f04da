//! The README stays true: every configuration key is in its table.

use std::path::Path;

#[test]
fn readme_configuration_table_lists_every_key() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let table: Vec<&str> = readme
        .lines()
        .skip_while(|l| !l.starts_with("## Configuration"))
        .take_while(|l| !l.starts_with("## ") || l.starts_with("## Configuration"))
        .filter(|l| l.starts_with("| `"))
        .collect();
    let keys: Vec<String> = table
        .iter()
        .filter_map(|l| l.split('`').nth(1).map(str::to_string))
        .collect();
    for key in kiteportal::config::KEYS {
        assert!(
            keys.iter().any(|k| k == key),
            "README's configuration table lacks `{key}`"
        );
    }
    for key in &keys {
        assert!(
            kiteportal::config::KEYS.contains(&key.as_str()),
            "README documents unknown key `{key}`"
        );
    }
}
