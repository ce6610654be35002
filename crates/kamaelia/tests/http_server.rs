//! The HTTP/1.1 protocol component driven through its boxes (no sockets):
//! keep-alive, pipelining, requests split byte by byte, chunked uploads,
//! HEAD, HTTP/1.0, and bad input (400, 431, 413, 408) closing only the
//! connection it came on.

mod http_common;

use std::time::Duration;

use axon::{Component, Prefab, Signal};
use bytes::Bytes;
use http_common::{system, Conn};
use kamaelia::protocol::http::{hello, HttpConfig, HttpServer, Request, Response, ResponsePart};

/// Answers with the method, path and body it got.
fn echo(req: &Request) -> Response {
    let mut body = format!("{} {} ", req.method(), req.path()).into_bytes();
    body.extend_from_slice(req.body());
    Response::text(200, body)
}

fn get(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n").into_bytes()
}

#[test]
fn keep_alive_serves_two_requests_on_one_connection() {
    let sys = system();
    let mut c = Conn::open(&sys, &HttpServer::from_fn(echo));
    c.send(&get("/one"));
    let r = c.response();
    assert_eq!((r.status, r.text().as_str()), (200, "GET /one "));
    assert!(!r.closes());
    assert_eq!(r.header("server"), Some("kamaelia-rs"));
    assert_eq!(r.header("date").map(str::len), Some(29));
    c.send(&get("/two"));
    assert_eq!(c.response().text(), "GET /two ");
    c.eof();
    assert_eq!(c.ends(), Signal::ProducerFinished);
    sys.wait();
}

#[test]
fn pipelined_requests_in_one_chunk_are_answered_in_order() {
    let sys = system();
    let mut c = Conn::open(&sys, &HttpServer::from_fn(echo));
    let mut all = get("/a");
    all.extend(b"POST /b HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nxyz");
    all.extend(get("/c"));
    c.send(&all);
    c.eof();
    let got: Vec<String> = (0..3).map(|_| c.response().text()).collect();
    assert_eq!(got, ["GET /a ", "POST /b xyz", "GET /c "]);
    assert_eq!(c.ends(), Signal::ProducerFinished);
    sys.wait();
}

/// A handler component that answers after `delay`, so later requests'
/// handlers finish first.
fn delayed(req: Request) -> Prefab {
    let delay = match req.path() {
        "/slow" => 80,
        "/mid" => 30,
        _ => 0,
    };
    let body = req.path().to_string();
    Prefab::new(
        Component::new("delayed").inbox_and_outbox::<(), ResponsePart>(),
        move |mut cx| async move {
            let mut out = cx.outbox::<ResponsePart>("outbox")?;
            axon::time::sleep(Duration::from_millis(delay)).await;
            out.send(Response::text(200, body).into()).await?;
            Ok::<_, axon::Error>(())
        },
    )
}

#[test]
fn pipelined_handler_components_answer_in_request_order() {
    let sys = system();
    let mut c = Conn::open(&sys, &HttpServer::from_components(delayed));
    let mut all = get("/slow");
    all.extend(get("/mid"));
    all.extend(get("/fast"));
    c.send(&all);
    c.eof();
    let got: Vec<String> = (0..3).map(|_| c.response().text()).collect();
    assert_eq!(got, ["/slow", "/mid", "/fast"]);
    assert_eq!(c.ends(), Signal::ProducerFinished);
    sys.wait();
}

#[test]
fn a_request_split_byte_by_byte_is_parsed() {
    let sys = system();
    let mut c = Conn::open(&sys, &HttpServer::from_fn(echo));
    let req = b"PUT /split?q=1 HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello";
    for b in req.iter() {
        c.send(&[*b]);
    }
    let r = c.response();
    assert_eq!(r.text(), "PUT /split hello");
    c.eof();
    assert_eq!(c.ends(), Signal::ProducerFinished);
    sys.wait();
}

/// Echoes the request body back streamed, three bytes per part (so the
/// response is chunked).
fn stream_echo(req: Request) -> Prefab {
    let body = req.body().clone();
    Prefab::new(
        Component::new("stream-echo").inbox_and_outbox::<(), ResponsePart>(),
        move |mut cx| async move {
            let mut out = cx.outbox::<ResponsePart>("outbox")?;
            out.send(ResponsePart::Head(
                Response::ok().with_content_type("application/octet-stream"),
            ))
            .await?;
            for piece in body.chunks(3) {
                out.send(ResponsePart::Body(Bytes::copy_from_slice(piece)))
                    .await?;
            }
            out.send(ResponsePart::End).await?;
            Ok::<_, axon::Error>(())
        },
    )
}

#[test]
fn chunked_upload_is_reassembled_and_echoed_chunked() {
    let sys = system();
    let mut c = Conn::open(&sys, &HttpServer::from_components(stream_echo));
    let req: &[u8] = b"POST /up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n\
        5\r\nhello\r\n1;ext=1\r\n,\r\nA\r\n world, hi\r\n0\r\nX-Trailer: yes\r\n\r\n";
    // Split at awkward places: inside sizes, data and CRLFs.
    for piece in req.chunks(7) {
        c.send(piece);
    }
    c.send(&get("/after"));
    let r = c.response();
    assert_eq!(r.status, 200);
    assert!(r.chunked, "no length given: chunked");
    assert_eq!(r.text(), "hello, world, hi");
    let r = c.response();
    assert!(r.body.is_empty(), "second request echoed (empty body)");
    c.eof();
    assert_eq!(c.ends(), Signal::ProducerFinished);
    sys.wait();
}

#[test]
fn expect_100_continue_is_answered_before_the_body() {
    let sys = system();
    let mut c = Conn::open(&sys, &HttpServer::from_fn(echo));
    c.send(b"POST /e HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n");
    let r = c.response();
    assert_eq!(r.status, 100);
    c.send(b"ok");
    assert_eq!(c.response().text(), "POST /e ok");
    c.eof();
    assert_eq!(c.ends(), Signal::ProducerFinished);
    sys.wait();
}

#[test]
fn head_gets_headers_only_and_the_connection_goes_on() {
    let sys = system();
    let mut c = Conn::open(&sys, &HttpServer::from_fn(hello));
    c.send(b"HEAD / HTTP/1.1\r\nHost: t\r\n\r\n");
    let r = c.response_to(true);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-length"), Some("14"));
    c.send(&get("/"));
    // Had the HEAD response carried a body, this would parse it instead.
    let r = c.response();
    assert_eq!(r.text(), "Hello, world!\n");
    c.eof();
    assert_eq!(c.ends(), Signal::ProducerFinished);
    sys.wait();
}

#[test]
fn hello_answers_get_slash() {
    let sys = system();
    let mut c = Conn::open(&sys, &HttpServer::from_fn(hello));
    c.send(&get("/"));
    let r = c.response();
    assert_eq!((r.status, r.text().as_str()), (200, "Hello, world!\n"));
    c.send(&get("/other"));
    assert_eq!(c.response().status, 404);
    c.send(b"DELETE / HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(c.response().status, 405);
    c.eof();
    assert_eq!(c.ends(), Signal::ProducerFinished);
    sys.wait();
}

#[test]
fn http_1_0_closes_after_the_response_unless_keep_alive() {
    let sys = system();
    let server = HttpServer::from_fn(echo);
    let mut c = Conn::open(&sys, &server);
    c.send(b"GET /old HTTP/1.0\r\n\r\n");
    let r = c.response();
    assert_eq!(r.text(), "GET /old ");
    assert!(r.closes());
    // The server closes on its own: no end of input was sent.
    assert_eq!(c.ends(), Signal::ProducerFinished);

    let mut k = Conn::open(&sys, &server);
    k.send(b"GET /1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    let r = k.response();
    assert_eq!(r.header("connection"), Some("keep-alive"));
    k.send(b"GET /2 HTTP/1.0\r\n\r\n");
    assert!(k.response().closes());
    assert_eq!(k.ends(), Signal::ProducerFinished);
    sys.wait();
}

#[test]
fn connection_close_from_the_client_closes_after_its_response() {
    let sys = system();
    let mut c = Conn::open(&sys, &HttpServer::from_fn(echo));
    let mut both = b"GET /last HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".to_vec();
    both.extend(get("/ignored"));
    c.send(&both);
    let r = c.response();
    assert_eq!(r.text(), "GET /last ");
    assert!(r.closes());
    assert_eq!(c.ends(), Signal::ProducerFinished);
    sys.wait();
}

/// Send `bytes`, expect one error response with `status` that closes the
/// connection, after `before` good responses.
fn refused(server: &HttpServer, bytes: &[u8], before: usize, status: u16) {
    let sys = system();
    let mut c = Conn::open(&sys, server);
    c.send(bytes);
    for _ in 0..before {
        assert_eq!(c.response().status, 200);
    }
    let r = c.response();
    assert_eq!(r.status, status, "{}", r.text());
    assert!(r.closes());
    // Closed by the server with no end of input from the peer.
    assert_eq!(c.ends(), Signal::ProducerFinished);
    sys.wait();
}

#[test]
fn garbage_gets_400_and_the_connection_closes() {
    let server = HttpServer::from_fn(echo);
    refused(&server, b"this is not http\r\n\r\n", 0, 400);
    refused(&server, b"\x00\x01\x02\x03 garbage", 0, 400);
    // One good request first: answered, then the 400.
    let mut two = get("/ok");
    two.extend(b"GET / HTTP/1.1\r\nHost: t\r\nContent-Length: nope\r\n\r\n");
    refused(&server, &two, 1, 400);
    refused(&server, b"GET / HTTP/1.1\r\n\r\n", 0, 400); // no Host
    refused(
        &server,
        b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
        0,
        400,
    );
    refused(
        &server,
        b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        0,
        400,
    );
    refused(
        &server,
        b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n",
        0,
        501,
    );
}

#[test]
fn bad_input_on_one_connection_leaves_others_served() {
    let sys = system();
    let server = HttpServer::from_fn(echo);
    let mut good = Conn::open(&sys, &server);
    let mut bad = Conn::open(&sys, &server);
    good.send(&get("/1"));
    bad.send(b"garbage\r\n\r\n");
    assert_eq!(bad.response().status, 400);
    assert_eq!(bad.ends(), Signal::ProducerFinished);
    assert_eq!(good.response().text(), "GET /1 ");
    good.send(&get("/2"));
    assert_eq!(good.response().text(), "GET /2 ");
    good.eof();
    assert_eq!(good.ends(), Signal::ProducerFinished);
    sys.wait();
}

fn small_limits() -> HttpServer {
    let mut cfg = HttpConfig::default();
    cfg.max_header_bytes = 2048;
    cfg.max_body_bytes = 1000;
    HttpServer::from_fn(echo).config(cfg)
}

#[test]
fn huge_header_gets_431() {
    let server = small_limits();
    let mut req = b"GET / HTTP/1.1\r\nHost: t\r\nX-Big: ".to_vec();
    req.extend(std::iter::repeat_n(b'a', 5000));
    req.extend(b"\r\n\r\n");
    refused(&server, &req, 0, 431);
    // Too big while still arriving (no end of head yet).
    refused(&server, &req[..3000], 0, 431);
    // Too many fields.
    let mut many = b"GET / HTTP/1.1\r\nHost: t\r\n".to_vec();
    for i in 0..150 {
        many.extend(format!("X-{i}: 1\r\n").into_bytes());
    }
    many.extend(b"\r\n");
    let mut cfg = HttpConfig::default();
    cfg.max_header_bytes = 64 * 1024;
    refused(&HttpServer::from_fn(echo).config(cfg), &many, 0, 431);
}

#[test]
fn huge_body_gets_413() {
    let server = small_limits();
    refused(
        &server,
        b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1001\r\n\r\n",
        0,
        413,
    );
    let mut chunked = b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for _ in 0..3 {
        chunked.extend(b"190\r\n");
        chunked.extend(std::iter::repeat_n(b'x', 400));
        chunked.extend(b"\r\n");
    }
    refused(&server, &chunked, 0, 413);
    // At the limit is fine.
    let mut ok = b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n".to_vec();
    ok.extend(std::iter::repeat_n(b'y', 1000));
    let sys = system();
    let mut c = Conn::open(&sys, &server);
    c.send(&ok);
    assert_eq!(c.response().body.len(), "POST / ".len() + 1000);
    c.eof();
    c.ends();
    sys.wait();
}

#[test]
fn slow_headers_get_408() {
    let mut cfg = HttpConfig::default();
    cfg.header_timeout = Some(Duration::from_millis(100));
    let server = HttpServer::from_fn(echo).config(cfg);
    let sys = system();
    let mut c = Conn::open(&sys, &server);
    c.send(b"GET / HTTP/1.1\r\nHost: t\r\nX-Slow: ");
    // Nothing more arrives.
    let r = c.response();
    assert_eq!(r.status, 408);
    assert!(r.closes());
    assert_eq!(c.ends(), Signal::ProducerFinished);

    // A connection that sends nothing at all is timed out too.
    let mut idle = Conn::open(&sys, &server);
    assert_eq!(idle.response().status, 408);
    assert_eq!(idle.ends(), Signal::ProducerFinished);
    sys.wait();
}

#[test]
fn shutdown_stops_at_once_and_is_passed_on() {
    let sys = system();
    let mut c = Conn::open(&sys, &HttpServer::from_components(delayed));
    c.send(&get("/slow"));
    c.h.send_control(Signal::ShutdownMicroprocess).unwrap();
    let (_, sig) = c.rest();
    assert_eq!(sig, Signal::ShutdownMicroprocess);
    sys.wait();
}

#[test]
fn eof_mid_request_closes_without_an_answer() {
    let sys = system();
    let mut c = Conn::open(&sys, &HttpServer::from_fn(echo));
    let mut req = get("/whole");
    req.extend(b"GET /half HTTP/1.1\r\nHo");
    c.send(&req);
    c.eof();
    assert_eq!(c.response().text(), "GET /whole ");
    assert_eq!(c.ends(), Signal::ProducerFinished);
    sys.wait();
}

/// Sends a head with a Content-Length, then fails half way through the body.
fn broken(_req: Request) -> Prefab {
    Prefab::new(
        Component::new("broken").inbox_and_outbox::<(), ResponsePart>(),
        |mut cx| async move {
            let mut out = cx.outbox::<ResponsePart>("outbox")?;
            out.send(ResponsePart::Head(
                Response::ok().with_header("Content-Length", "10"),
            ))
            .await?;
            out.send(ResponsePart::Body(Bytes::from_static(b"12345"))).await?;
            Err::<(), axon::Error>("disk on fire".into())
        },
    )
}

/// Ends without sending anything.
fn silent(_req: Request) -> Prefab {
    Prefab::new(
        Component::new("silent").inbox_and_outbox::<(), ResponsePart>(),
        |_cx| async move { Ok::<_, axon::Error>(()) },
    )
}

#[test]
fn handler_failures_are_500_or_a_closed_connection() {
    let sys = system();
    let mut c = Conn::open(&sys, &HttpServer::from_components(silent));
    c.send(&get("/"));
    assert_eq!(c.response().status, 500);
    c.send(&get("/again"));
    assert_eq!(c.response().status, 500, "the connection goes on");
    c.eof();
    assert_eq!(c.ends(), Signal::ProducerFinished);

    let mut b = Conn::open(&sys, &HttpServer::from_components(broken));
    b.send(&get("/"));
    b.send(&get("/never"));
    let (rest, sig) = b.rest();
    let text = String::from_utf8_lossy(&rest);
    assert!(
        text.starts_with("HTTP/1.1 200 OK\r\n") && text.ends_with("\r\n\r\n12345"),
        "{text}"
    );
    assert_eq!(sig, Signal::ProducerFinished);
    sys.wait();
}

#[test]
fn handler_function_panic_is_500_and_close() {
    let sys = system();
    let server = HttpServer::from_fn(|req| {
        if req.path() == "/boom" {
            panic!("handler bug");
        }
        Response::text(200, "fine")
    });
    let mut c = Conn::open(&sys, &server);
    c.send(&get("/boom"));
    let r = c.response();
    assert_eq!(r.status, 500);
    assert!(r.closes());
    assert_eq!(c.ends(), Signal::ProducerFinished);
    sys.wait();
}

#[test]
fn invalid_response_headers_are_not_sent() {
    let sys = system();
    let server =
        HttpServer::from_fn(|_| Response::text(200, "x").with_header("X-Evil", "a\r\nSet-Cookie: b"));
    let mut c = Conn::open(&sys, &server);
    c.send(&get("/"));
    let r = c.response();
    assert_eq!(r.status, 500);
    assert!(r.header("set-cookie").is_none());
    c.eof();
    c.ends();
    sys.wait();
}

#[test]
fn date_and_server_headers_can_be_turned_off() {
    let mut cfg = HttpConfig::default();
    cfg.date_header = false;
    cfg.server_name = None;
    let sys = system();
    let mut c = Conn::open(&sys, &HttpServer::from_fn(hello).config(cfg));
    c.send(&get("/"));
    let r = c.response();
    assert!(
        r.header("date").is_none() && r.header("server").is_none(),
        "{:?}",
        r.headers
    );
    c.eof();
    c.ends();
    sys.wait();
}

#[test]
fn a_burst_of_pipelined_requests_is_answered_in_full_and_in_order() {
    // Far more output than the server buffers before writing.
    let sys = system();
    let mut c = Conn::open(&sys, &HttpServer::from_fn(echo));
    let n = 3000;
    let all: Vec<u8> = (0..n).flat_map(|i| get(&format!("/{i}"))).collect();
    c.send(&all);
    c.eof();
    for i in 0..n {
        assert_eq!(c.response().text(), format!("GET /{i} "));
    }
    assert_eq!(c.ends(), Signal::ProducerFinished);
    sys.wait();
}

#[test]
fn pipelined_beyond_the_handler_limit_with_end_of_input_all_answered() {
    let mut cfg = HttpConfig::default();
    cfg.max_pipelined = 2;
    let sys = system();
    let mut c = Conn::open(&sys, &HttpServer::from_components(delayed).config(cfg));
    let paths = ["/mid", "/a", "/slow", "/b", "/c", "/mid", "/d"];
    let all: Vec<u8> = paths.iter().flat_map(|p| get(p)).collect();
    c.send(&all);
    c.eof();
    for p in paths {
        assert_eq!(c.response().text(), p);
    }
    assert_eq!(c.ends(), Signal::ProducerFinished);
    sys.wait();
}

#[test]
fn idle_connections_close_and_stalled_bodies_get_408() {
    let mut cfg = HttpConfig::default();
    cfg.idle_timeout = Some(Duration::from_millis(100));
    cfg.header_timeout = None;
    let server = HttpServer::from_fn(echo).config(cfg);
    let sys = system();
    // Between requests: closed with no response.
    let mut c = Conn::open(&sys, &server);
    c.send(&get("/1"));
    assert_eq!(c.response().text(), "GET /1 ");
    assert_eq!(c.ends(), Signal::ProducerFinished);
    // In the middle of a body: 408.
    let mut b = Conn::open(&sys, &server);
    b.send(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc");
    let r = b.response();
    assert_eq!(r.status, 408);
    assert!(r.closes());
    assert_eq!(b.ends(), Signal::ProducerFinished);
    sys.wait();
}

#[test]
fn the_server_can_be_shared_by_a_per_connection_factory() {
    fn shareable<T: Clone + Send + Sync + 'static>(_: &T) {}
    let server = HttpServer::from_fn(hello);
    shareable(&server);
    // What a TCP server's factory does for each connection.
    let factory = move |peer: std::net::SocketAddr| server.build(Some(peer));
    let sys = system();
    let peer: std::net::SocketAddr = "127.0.0.1:4000".parse().unwrap();
    let seen = HttpServer::from_fn(move |req| Response::text(200, format!("{:?}", req.peer())));
    let mut c = Conn {
        h: axon::Handle::spawn(sys.system(), seen.build(Some(peer))).unwrap(),
        got: Vec::new(),
        at: 0,
        closed: false,
    };
    c.send(&get("/"));
    assert_eq!(c.response().text(), "Some(127.0.0.1:4000)");
    c.eof();
    c.ends();
    drop(factory(peer));
    sys.wait();
}
