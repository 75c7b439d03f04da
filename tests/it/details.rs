//! The details a visitor's browser asks for: the favicon, an installable web app manifest
//! whose icons exist, JSON for unknown API paths, and a 404 page that offers a way on.

use serde_json::Value;

use crate::common::{get, Portal};

#[test]
fn favicon_and_manifest_icons_are_served() {
    let p = Portal::builder().start();
    let ico = get(p.addr, "/favicon.ico", &[]).unwrap();
    assert_eq!(ico.status, 200);
    assert_eq!(ico.header("content-type"), Some("image/x-icon"));
    // An ICO directory with one image, stored as PNG.
    assert_eq!(&ico.body[..6], &[0, 0, 1, 0, 1, 0]);
    assert_eq!(&ico.body[22..26], b"\x89PNG");

    let m = get(p.addr, "/manifest.webmanifest", &[]).unwrap();
    assert_eq!(m.status, 200);
    assert_eq!(m.header("content-type"), Some("application/manifest+json"));
    let manifest: Value = serde_json::from_slice(&m.body).unwrap();
    assert_eq!(manifest["start_url"], "/");
    assert_eq!(manifest["display"], "standalone");
    let icons = manifest["icons"].as_array().unwrap();
    assert!(icons.iter().any(|i| i["sizes"] == "512x512"));
    for icon in icons {
        let src = icon["src"].as_str().unwrap();
        let r = get(p.addr, src, &[]).unwrap();
        assert_eq!(r.status, 200, "{src}");
        assert_eq!(r.header("content-type"), icon["type"].as_str(), "{src}");
    }
    let page = get(p.addr, "/", &[]).unwrap().text();
    assert!(page.contains("rel=\"manifest\" href=\"/manifest.webmanifest\""));
    assert!(page.contains("name=\"theme-color\""));
}

#[test]
fn unknown_api_paths_answer_json_and_other_paths_the_page_with_links() {
    let p = Portal::builder()
        .config(
            "[[services]]\nname = \"Forgejo\"\nurl = \"https://git.example.org\"\n\
             check_url = \"http://127.0.0.1:9/\"\n",
        )
        .start();
    for path in ["/api/nope", "/api/", "/api/metrics/nope", "/api/stream/x"] {
        let r = get(p.addr, path, &[]).unwrap();
        assert_eq!(r.status, 404, "{path}");
        assert_eq!(r.header("content-type"), Some("application/json"), "{path}");
        assert!(r.json()["error"].as_str().unwrap().contains("openapi"));
    }
    let r = get(p.addr, "/no/such/page", &[]).unwrap();
    assert_eq!(r.status, 404);
    let html = r.text();
    assert!(
        html.contains("<a href=\"https://git.example.org\">Forgejo</a>"),
        "{html}"
    );
}
