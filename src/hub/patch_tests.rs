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
