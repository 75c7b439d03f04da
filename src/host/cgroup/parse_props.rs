//! Property tests of the cgroup parsers: they read text from a tree anyone may have
//! planted, so mutated kernel text and any text at all must never panic.

use proptest::prelude::*;

use super::*;

/// Kernel-written samples of each file, mutated below.
const SAMPLES: &[&str] = &[
    "usage_usec 8123456\nuser_usec 6092592\nsystem_usec 2030864\nnr_periods 0\n",
    "low 0\nhigh 0\nmax 17\noom 2\noom_kill 2\noom_group_kill 0\n",
    "8:0 rbytes=1048576 wbytes=2097152 rios=100 wios=200 dbytes=0 dios=0\n\
     253:0 rbytes=4096 wbytes=0 rios=1 wios=0 dbytes=0 dios=0\n",
    "max\n",
    "536870912\n",
    "1337\n1400\n",
    "anon 4096\nfile 8192\nkernel 0\nactive_file 4096\ninactive_file 4096\nslab 0\n",
];

fn mutate(base: &str, edits: &[(usize, u8, u8)]) -> Vec<u8> {
    let mut b = base.as_bytes().to_vec();
    for &(pos, op, byte) in edits {
        let i = if b.is_empty() { 0 } else { pos % (b.len() + 1) };
        match op % 3 {
            0 if i < b.len() => b[i] = byte,
            1 => b.insert(i, byte),
            _ if i < b.len() => {
                b.remove(i);
            }
            _ => {}
        }
    }
    b
}

fn parse_all(text: &str) {
    let _ = parse_cpu_stat(text);
    let _ = parse_memory_events(text);
    if let Ok((r, w)) = parse_io_stat(text) {
        let _ = r.checked_add(w);
    }
    let _ = parse_memory_max(text);
    let _ = parse_inactive_file(text);
    let _ = parse_single("f", text);
    let _ = parse_first_pid(text);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn cgroup_parsers_never_panic_on_mutated_kernel_text(
        which in 0..SAMPLES.len(),
        edits in proptest::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 0..12)
    ) {
        let raw = mutate(SAMPLES[which], &edits);
        parse_all(&String::from_utf8_lossy(&raw));
        let label = parse_cmdline(&raw, 80);
        prop_assert!(label.chars().count() <= 80);
        prop_assert!(!label.chars().any(char::is_control));
    }

    #[test]
    fn cgroup_parsers_never_panic_on_any_text(text in "(?s).{0,300}") {
        parse_all(&text);
        let label = clean(&text, 80);
        prop_assert!(label.chars().count() <= 80);
        prop_assert!(!label.chars().any(char::is_control));
    }

    #[test]
    fn cgroup_io_stat_sums_what_it_is_given(
        devs in proptest::collection::vec((0u32..300, 0u32..300, 0u64..1u64 << 50, 0u64..1u64 << 50), 0..8)
    ) {
        let text: String = devs
            .iter()
            .map(|(a, b, r, w)| format!("{a}:{b} rbytes={r} wbytes={w} rios=1 wios=1 dbytes=0 dios=0\n"))
            .collect();
        let (r, w) = parse_io_stat(&text).unwrap();
        prop_assert_eq!(r, devs.iter().map(|d| d.2).sum::<u64>());
        prop_assert_eq!(w, devs.iter().map(|d| d.3).sum::<u64>());
    }
}
