//! Tests of the tile book: fields, skeletons, appends, catch-up and audiences.
use super::*;

#[test]
fn fields_are_attribute_values_and_lone_texts() {
    let (_, f) = scan(
        "<p class=\"big\" id=\"x\"><span data-m=\"c\">12&#37; &amp; up</span> mixed \
         <b>t</b></p><input hidden value=\"a\"><svg viewBox=\"0 0 1 1\"><rect y=\"2\"/></svg>",
    );
    let keys: Vec<(&str, &str)> = f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(
        keys,
        [
            ("0 class", "big"),
            ("0 id", "x"),
            ("1 data-m", "c"),
            ("1", "12% & up"),
            ("2", "t"),
            ("3 value", "a"),
            ("4 viewBox", "0 0 1 1"),
            ("5 y", "2"),
        ]
    );
}

#[test]
fn the_skeleton_ignores_values_and_sees_structure() {
    let a = scan("<p class=\"a\"><b>1</b> x</p>").0;
    assert_eq!(a, scan("<p class=\"b\"><b>2</b> x</p>").0);
    assert_ne!(a, scan("<p class=\"a\"><b>1</b> y</p>").0);
    assert_ne!(a, scan("<p class=\"a\" hidden><b>1</b> x</p>").0);
    assert_ne!(a, scan("<p class=\"a\"><i>1</i> x</p>").0);
}

#[test]
fn sparkline_points_are_appended() {
    assert_eq!(appended(true, "1,1 2,2 3,3", "2,2 3,3 4,4"), Some(1));
    assert_eq!(appended(true, "1,1 2,2", "2,2"), Some(0));
    assert_eq!(appended(true, "1,1 2,2", "1,5 2,6"), None);
    assert_eq!(appended(false, "1", "2"), None);
}

fn render(cpu: &str, pts: &str) -> Rendered {
    vec![(
        "sys",
        format!("<section id=\"sys\"><b>{cpu}</b><polyline points=\"{pts}\"/></section>"),
    )]
}

#[test]
fn updates_send_what_changed_and_catch_up_from_any_version() {
    let mut book = Book::default();
    let host = |r: Rendered| vec![("h".to_string(), [r.clone(), r])];
    let first = book.update(1, "t1", host(render("1%", "1,1 2,2")));
    // Both audiences read the same: one tile kept, one frame built.
    let [private, public] = &book.hosts[0].1;
    assert!(Arc::ptr_eq(&private[0], &public[0]));
    assert!(first[0].1[0].as_ptr() == first[0].1[1].as_ptr());
    assert!(String::from_utf8_lossy(&first[0].1[0]).starts_with("event: tile\nid: t1\ndata: sys\n"));
    let second = book.update(2, "t2", host(render("2%", "2,2 3,3")));
    assert_eq!(
        String::from_utf8_lossy(&second[0].1[1]),
        "event: patch\nid: t2\ndata: {\"sys\":{\"1\":\"2%\",\"2 points+\":\"3,3\"}}\n\n"
    );
    let third = book.update(3, "t3", host(render("2%", "3,3 4,4")));
    assert!(String::from_utf8_lossy(&third[0].1[0]).contains("{\"2 points+\":\"4,4\"}"));
    // A page of version 1 gets both changes; an unknown page the whole tile.
    let b = book.catch_up("h", Audience::Public, Some(1), "t3").unwrap();
    let b = String::from_utf8_lossy(&b);
    assert!(
        b.contains("\"1\":\"2%\"") && b.contains("\"2 points+\":\"3,3 4,4\""),
        "{b}"
    );
    let whole = book.catch_up("h", Audience::Public, None, "t3").unwrap();
    assert!(String::from_utf8_lossy(&whole).starts_with("retry: 3000\n\nevent: tile"));
    let none = book.catch_up("h", Audience::Public, Some(3), "t3").unwrap();
    assert_eq!(&none[..], b"retry: 3000\n\n");
    // A new skeleton: the whole tile again.
    let r = vec![("sys", "<section id=\"sys\"><i>x</i></section>".to_string())];
    let fourth = book.update(4, "t4", host(r));
    assert!(String::from_utf8_lossy(&fourth[0].1[0]).starts_with("event: tile"));
}

#[test]
fn only_a_true_suffix_is_an_append() {
    // "3" is in both, but what precedes it differs: a new series, not an append.
    assert_eq!(appended(true, "1 2 3", "9 3 4"), None);
    assert_eq!(appended(true, "1 2 3", "2 3 4 5"), Some(2));
}

#[test]
fn entities_decode_as_the_browser_reads_them() {
    assert_eq!(
        unescape("a &gt; b &lt;c&gt; &amp;&quot;&apos; &#37;&#x41;"),
        "a > b <c> &\"' %A"
    );
    // Not an entity, or too long to be one: kept as written.
    assert_eq!(
        unescape("R&D &bogus; & x &averyveryverylong;"),
        "R&D &bogus; & x &averyveryverylong;"
    );
}

#[test]
fn a_page_older_than_the_kept_appends_gets_the_whole_series() {
    let mut book = Book::default();
    let host = |r: Rendered| vec![("h".to_string(), [r.clone(), r])];
    let series = |n: usize| {
        (0..n)
            .map(|i| format!("{i},{i}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    // Version 1 draws one point, each later version appends one: versions 2..=162 are
    // 161 appends, of which the last APPENDS_KEPT (versions 3..=162) are kept.
    for v in 1..=(APPENDS_KEPT as u64 + 2) {
        book.update(v, &format!("t{v}"), host(render("1%", &series(v as usize))));
    }
    let token = format!("t{}", APPENDS_KEPT + 2);
    let catch_up = |book: &mut Book, since| {
        let b = book
            .catch_up("h", Audience::Public, Some(since), &token)
            .unwrap();
        String::from_utf8_lossy(&b).into_owned()
    };
    // A page of version 2 misses exactly the kept appends: the points it lacks.
    let reached = catch_up(&mut book, 2);
    let tail: Vec<String> = (2..APPENDS_KEPT + 2).map(|i| format!("{i},{i}")).collect();
    assert!(
        reached.contains(&format!("\"2 points+\":\"{}\"", tail.join(" "))),
        "{reached}"
    );
    // A page of version 1 misses an append no longer kept: the whole series.
    let whole = catch_up(&mut book, 1);
    let all = series(APPENDS_KEPT + 2);
    assert!(
        whole.contains(&format!("\"2 points\":\"{all}\"")),
        "{whole}"
    );
}

#[test]
fn an_audience_never_gets_the_other_s_tile() {
    let mut book = Book::default();
    let tile = |text: &str| {
        vec![(
            "sys",
            format!("<section id=\"sys\"><b>{text}</b></section>"),
        )]
    };
    book.update(
        1,
        "t1",
        vec![("h".to_string(), [tile("owner"), tile("all")])],
    );
    let public = book.catch_up("h", Audience::Public, None, "t1").unwrap();
    let public = String::from_utf8_lossy(&public);
    assert!(
        public.contains("all") && !public.contains("owner"),
        "{public}"
    );
    // Still so when both read the same for a while and then part.
    book.update(2, "t2", vec![("h".to_string(), [tile("x"), tile("x")])]);
    book.update(3, "t3", vec![("h".to_string(), [tile("owner"), tile("x")])]);
    let public = book.catch_up("h", Audience::Public, None, "t3").unwrap();
    assert!(!String::from_utf8_lossy(&public).contains("owner"));
}
