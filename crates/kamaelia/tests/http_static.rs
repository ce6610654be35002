//! StaticFiles through the HTTP protocol component: index.html, content
//! types, 404, large files streamed byte-exact, and every way out of the
//! served directory refused (`..`, encoded dots and slashes, backslashes,
//! NUL, symlinks pointing out).

mod http_common;

use axon::Signal;
use http_common::{system, temp_dir, Conn};
use kamaelia::protocol::http::{StaticFiles, StaticRootError};

fn get(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n").into_bytes()
}

/// A served dir `www` with an index, a CSS file, a sub directory and a
/// secret file next to it (outside).
fn site(tag: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let base = temp_dir(tag);
    let www = base.join("www");
    std::fs::create_dir_all(www.join("sub")).unwrap();
    std::fs::write(www.join("index.html"), "<h1>home</h1>").unwrap();
    std::fs::write(www.join("style.css"), "h1{}").unwrap();
    std::fs::write(www.join("sub").join("index.html"), "sub home").unwrap();
    std::fs::write(www.join("sub").join("data.bin"), [0u8, 1, 2]).unwrap();
    std::fs::write(base.join("secret.txt"), "SECRET").unwrap();
    (base, www)
}

#[test]
fn serves_files_index_and_content_types() {
    let (base, www) = site("serve");
    let sys = system();
    let mut c = Conn::open(&sys, &StaticFiles::new(&www).unwrap().server());
    c.send(&get("/"));
    let r = c.response();
    assert_eq!((r.status, r.text().as_str()), (200, "<h1>home</h1>"));
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    c.send(&get("/style.css"));
    let r = c.response();
    assert_eq!(r.header("content-type"), Some("text/css; charset=utf-8"));
    assert_eq!(r.text(), "h1{}");
    c.send(&get("/sub/"));
    assert_eq!(c.response().text(), "sub home");
    c.send(&get("/sub/data.bin?v=2"));
    let r = c.response();
    assert_eq!(r.body, [0, 1, 2]);
    assert_eq!(r.header("content-type"), Some("application/octet-stream"));
    c.send(&get("/st%79le.css"));
    assert_eq!(c.response().text(), "h1{}", "percent-decoded");
    c.send(b"HEAD /style.css HTTP/1.1\r\nHost: t\r\n\r\n");
    let r = c.response_to(true);
    assert_eq!(r.header("content-length"), Some("4"));
    c.send(b"POST /style.css HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(c.response().status, 405);
    c.eof();
    assert_eq!(c.ends(), Signal::ProducerFinished);
    sys.wait();
    let _ = std::fs::remove_dir_all(base);
}

#[test]
fn missing_files_are_404_and_the_connection_goes_on() {
    let (base, www) = site("missing");
    let sys = system();
    let mut c = Conn::open(&sys, &StaticFiles::new(&www).unwrap().server());
    for p in ["/nope.html", "/sub/nope", "/style.css/x"] {
        c.send(&get(p));
        assert_eq!(c.response().status, 404, "{p}");
    }
    // A directory with no index.html.
    std::fs::create_dir_all(www.join("empty")).unwrap();
    c.send(&get("/empty/"));
    assert_eq!(c.response().status, 404);
    c.send(&get("/"));
    assert_eq!(c.response().status, 200);
    c.eof();
    assert_eq!(c.ends(), Signal::ProducerFinished);
    sys.wait();
    let _ = std::fs::remove_dir_all(base);
}

#[test]
fn paths_escaping_the_directory_are_refused() {
    let (base, www) = site("escape");
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(base.join("secret.txt"), www.join("link.txt")).unwrap();
        std::os::unix::fs::symlink(&base, www.join("up")).unwrap();
        // A symlink that stays inside is fine.
        std::os::unix::fs::symlink(www.join("style.css"), www.join("inside.css")).unwrap();
    }
    let files = StaticFiles::new(&www).unwrap();
    let sys = system();
    let mut c = Conn::open(&sys, &files.clone().server());
    let attempts = [
        "/../secret.txt",
        "/sub/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E/secret.txt",
        "/.%2e/secret.txt",
        "/..%2fsecret.txt",
        "/sub%2f..%2f..%2fsecret.txt",
        "/..%5csecret.txt",
        "/..\\secret.txt",
        "/sub\\..\\..\\secret.txt",
        "/secret.txt%00.html",
        "/link.txt",
        "/up/secret.txt",
    ];
    for p in attempts {
        c.send(&get(p));
        let r = c.response();
        assert!(r.status == 403 || r.status == 404, "{p}: {}", r.status);
        assert!(!r.text().contains("SECRET"), "{p}");
        if !p.starts_with("/up") {
            assert_eq!(r.status, 403, "{p}");
        }
    }
    c.send(&get("/inside.css"));
    assert_eq!(c.response().text(), "h1{}");
    c.eof();
    assert_eq!(c.ends(), Signal::ProducerFinished);
    sys.wait();
    // The checks themselves, without the server.
    assert_eq!(files.resolve("/%zz"), Err(400));
    assert_eq!(files.resolve("/../secret.txt"), Err(403));
    assert!(files.resolve("/style.css").is_ok());
    let _ = std::fs::remove_dir_all(base);
}

#[test]
fn large_files_stream_byte_exact() {
    let (base, www) = site("large");
    // 300 KiB of a pattern, not a multiple of the chunk size.
    let data: Vec<u8> = (0..300 * 1024 + 7).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(www.join("big.bin"), &data).unwrap();
    let sys = system();
    let server = StaticFiles::new(&www).unwrap().chunk_size(16 * 1024).server();
    let mut c = Conn::open(&sys, &server);
    c.send(&get("/big.bin"));
    let r = c.response();
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-length"), Some(data.len().to_string().as_str()));
    assert!(!r.chunked);
    assert!(r.body == data, "body differs");
    // Still usable afterwards.
    c.send(&get("/style.css"));
    assert_eq!(c.response().text(), "h1{}");
    c.send(b"HEAD /big.bin HTTP/1.1\r\nHost: t\r\n\r\n");
    let r = c.response_to(true);
    assert_eq!(r.header("content-length"), Some(data.len().to_string().as_str()));
    c.send(&get("/style.css"));
    assert_eq!(c.response().text(), "h1{}", "no body after HEAD");
    c.eof();
    assert_eq!(c.ends(), Signal::ProducerFinished);
    sys.wait();
    let _ = std::fs::remove_dir_all(base);
}

#[test]
fn a_missing_root_is_a_clear_error() {
    let base = temp_dir("noroot");
    let e: StaticRootError = StaticFiles::new(base.join("absent")).unwrap_err();
    assert!(e.to_string().contains("absent"), "{e}");
    std::fs::write(base.join("file"), "x").unwrap();
    assert!(StaticFiles::new(base.join("file")).is_err());
    let _ = std::fs::remove_dir_all(base);
}
