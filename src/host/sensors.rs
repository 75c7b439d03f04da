//! Temperatures: `<sys>/class/hwmon/*/temp*_input` with their `temp*_label` (or the chip's
//! `name`), else `<sys>/class/thermal/thermal_zone*/temp` with its `type`.

use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{read_file, round2, Temperature};

/// How often the sensor files are looked for again (hot-plugged chips, loaded drivers).
const REDISCOVER: Duration = Duration::from_secs(60);

/// At most this many sensors are reported.
pub(crate) const MAX_SENSORS: usize = 64;

/// Parses a sysfs temperature (millidegrees Celsius, e.g. `45000`). Values outside what
/// a working sensor reports (a disconnected probe reads -273 °C or 127 °C+) are `None`.
pub(crate) fn parse_millidegrees(text: &str) -> Option<f64> {
    let v: i64 = text.trim().parse().ok()?;
    let c = v as f64 / 1000.0;
    (-60.0..=150.0).contains(&c).then(|| round2(c))
}

/// The label of hwmon sensor `index` of chip `chip`: its `temp*_label` when the driver
/// gives one (`Package id 0`), else the chip name (`nvme`), numbered when the chip has
/// several sensors.
pub(crate) fn hwmon_label(
    chip: &str,
    label: Option<&str>,
    index: u32,
    chip_sensors: usize,
) -> String {
    match label.map(str::trim).filter(|l| !l.is_empty()) {
        Some(l) if chip.is_empty() => l.to_string(),
        Some(l) => format!("{chip} {l}"),
        None if chip_sensors > 1 => format!("{chip} {index}"),
        None => chip.to_string(),
    }
}

/// Sorts directory names by their trailing number (`hwmon10` after `hwmon9`).
fn trailing_number(name: &str) -> u32 {
    let digits = name.trim_start_matches(|c: char| !c.is_ascii_digit());
    let digits: String = digits.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().unwrap_or(u32::MAX)
}

fn sorted_entries(dir: &Path, prefix: &str) -> Vec<(u32, String)> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<(u32, String)> = rd
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(prefix))
        .map(|n| (trailing_number(&n), n))
        .collect();
    v.sort();
    v
}

fn read_trimmed(path: &Path, buf: &mut String) -> Option<String> {
    read_file(path, buf).ok()?;
    Some(buf.trim().to_string())
}

/// Finds the sensor files: (label, file with millidegrees).
pub(crate) fn discover(sys: &Path) -> Vec<(String, PathBuf)> {
    let mut buf = String::new();
    let mut out = Vec::new();
    let hwmon = sys.join("class/hwmon");
    for (_, dir) in sorted_entries(&hwmon, "hwmon") {
        let dir = hwmon.join(dir);
        let chip = read_trimmed(&dir.join("name"), &mut buf).unwrap_or_default();
        let inputs: Vec<(u32, String)> = sorted_entries(&dir, "temp")
            .into_iter()
            .filter(|(_, n)| n.ends_with("_input"))
            .collect();
        for (index, file) in &inputs {
            let label = read_trimmed(&dir.join(format!("temp{index}_label")), &mut buf);
            out.push((
                hwmon_label(&chip, label.as_deref(), *index, inputs.len()),
                dir.join(file),
            ));
        }
    }
    if out.is_empty() {
        let thermal = sys.join("class/thermal");
        for (index, dir) in sorted_entries(&thermal, "thermal_zone") {
            let dir = thermal.join(dir);
            let label = read_trimmed(&dir.join("type"), &mut buf)
                .filter(|t| !t.is_empty())
                .unwrap_or_else(|| format!("zone {index}"));
            out.push((label, dir.join("temp")));
        }
    }
    out.truncate(MAX_SENSORS);
    out
}

/// The temperature sensors, discovered once a minute and read every sample.
pub struct Sensors {
    sys: PathBuf,
    files: Vec<(String, PathBuf)>,
    found_at: Option<Instant>,
}

impl Sensors {
    pub fn new(sys: PathBuf) -> Self {
        Sensors {
            sys,
            files: Vec::new(),
            found_at: None,
        }
    }

    /// Reads every sensor. A machine without sensors (most VMs) gives an empty list;
    /// a sensor that fails to read or reads nonsense is left out.
    pub fn read(&mut self, buf: &mut String) -> io::Result<Vec<Temperature>> {
        if self.found_at.is_none_or(|t| t.elapsed() >= REDISCOVER) {
            self.files = discover(&self.sys);
            self.found_at = Some(Instant::now());
        }
        let mut out = Vec::with_capacity(self.files.len());
        let mut failed = false;
        for (label, path) in &self.files {
            match read_file(path, buf) {
                Ok(()) => out.extend(parse_millidegrees(buf).map(|celsius| Temperature {
                    label: label.clone(),
                    celsius,
                })),
                Err(_) => failed = true,
            }
        }
        if failed {
            // A chip went away: look again next time.
            self.found_at = None;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn millidegrees() {
        let cases = [
            ("45000\n", Some(45.0)),
            ("45123", Some(45.12)),
            ("-5500", Some(-5.5)),
            ("0", Some(0.0)),
            ("-273150", None),
            ("127000000", None),
            ("", None),
            ("hot", None),
        ];
        for (t, want) in cases {
            assert_eq!(parse_millidegrees(t), want, "{t:?}");
        }
    }

    #[test]
    fn labels() {
        assert_eq!(
            hwmon_label("coretemp", Some("Package id 0\n"), 1, 3),
            "coretemp Package id 0"
        );
        assert_eq!(hwmon_label("nvme", None, 1, 1), "nvme");
        assert_eq!(hwmon_label("nvme", Some(" "), 2, 2), "nvme 2");
        assert_eq!(hwmon_label("", Some("Tctl"), 1, 1), "Tctl");
    }

    fn write(p: &Path, text: &str) {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    #[test]
    fn thermal_zones_when_no_hwmon() {
        let dir = tempfile::tempdir().unwrap();
        let sys = dir.path();
        write(&sys.join("class/thermal/thermal_zone0/temp"), "41000\n");
        write(
            &sys.join("class/thermal/thermal_zone0/type"),
            "x86_pkg_temp\n",
        );
        write(&sys.join("class/thermal/thermal_zone10/temp"), "39500\n");
        write(&sys.join("class/thermal/thermal_zone2/temp"), "-273000\n");
        write(&sys.join("class/thermal/thermal_zone2/type"), "acpitz\n");
        std::fs::create_dir_all(sys.join("class/thermal/cooling_device0")).unwrap();
        let mut s = Sensors::new(sys.to_path_buf());
        let got = s.read(&mut String::new()).unwrap();
        assert_eq!(
            got,
            vec![
                Temperature {
                    label: "x86_pkg_temp".into(),
                    celsius: 41.0
                },
                Temperature {
                    label: "zone 10".into(),
                    celsius: 39.5
                },
            ]
        );
    }

    #[test]
    fn no_sensors_is_an_empty_list() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Sensors::new(dir.path().to_path_buf());
        assert_eq!(s.read(&mut String::new()).unwrap(), vec![]);
    }
}
