//! Slow and lingering clients: a request head that trickles in, a kept-alive connection
//! that sends nothing, a body that stalls are cut off, while a large body that keeps
//! flowing is read to the end; connections past the cap are closed at once; live streams
//! are capped per account and end with their session or at their longest life.

use std::time::{Duration, Instant};

use bureau_accounts::{Role, create_account};
use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::*;

/// Whether the server closes `stream` (or answers and closes) within `within`.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let mut buffer = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
        }
    }
}

#[tokio::test]
async fn trickled_heads_idle_connections_and_stalled_bodies_are_cut_off() {
    let gateway = Gateway::start_with(|settings| {
        settings.http.header_read_timeout_secs = 1;
        settings.http.body_stall_timeout_secs = 1;
    })
    .await;
    let addr = gateway.running.http_addr;

    // A head sent a header line every 300 ms never ends; the connection is closed.
    let mut trickle = TcpStream::connect(addr).await.unwrap();
    trickle
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: bureau\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    let mut closed = false;
    while started.elapsed() < Duration::from_secs(6) {
        if trickle.write_all(b"X-Slow: 1\r\n").await.is_err() {
            closed = true;
            break;
        }
        if closed_within(&mut trickle, Duration::from_millis(300)).await {
            closed = true;
            break;
        }
    }
    assert!(
        closed,
        "a trickling request head held its connection for 6 s"
    );

    // A kept-alive connection that sends no next request is closed.
    let mut idle = TcpStream::connect(addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: bureau\r\n\r\n")
        .await
        .unwrap();
    assert!(
        closed_within(&mut idle, Duration::from_secs(6)).await,
        "an idle kept-alive connection stayed open"
    );

    // A body announced as 100 KB that stops after 12 bytes is answered, not waited on.
    let answer = tokio::time::timeout(
        Duration::from_secs(6),
        raw_request(
            addr,
            "POST /api/session HTTP/1.1\r\nHost: bureau\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"email\": \"o",
        ),
    )
    .await
    .expect("a stalled body is given up on");
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");

    // A body that flows for longer than the stall timeout, a chunk every 400 ms, is read
    // whole: 1.5 MB of JSON (whitespace, then the credentials).
    let chunks: Vec<Vec<u8>> = (0..6)
        .map(|n| {
            if n < 5 {
                vec![b' '; 300_000]
            } else {
                br#"{"email": "nobody@example.com", "password": "wrong password!"}"#.to_vec()
            }
        })
        .collect();
    let body = futures::stream::unfold(chunks.into_iter(), |mut chunks| async move {
        let chunk = chunks.next()?;
        tokio::time::sleep(Duration::from_millis(400)).await;
        Some((Ok::<_, std::io::Error>(chunk), chunks))
    });
    let flowing = gateway
        .http
        .post(gateway.url("/api/session"))
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(reqwest::Body::wrap_stream(body))
        .send()
        .await
        .unwrap();
    assert_eq!(flowing.status(), StatusCode::UNAUTHORIZED);

    gateway.finish().await;
}

#[tokio::test]
async fn connections_past_the_cap_are_closed_at_once() {
    let gateway = Gateway::start_with(|settings| settings.http.max_connections = 3).await;
    let addr = gateway.running.http_addr;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(TcpStream::connect(addr).await.unwrap());
    }
    // The server accepts in order: the three are in before the fourth arrives.
    let mut fourth = TcpStream::connect(addr).await.unwrap();
    let _ = fourth
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: bureau\r\n\r\n")
        .await;
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), fourth.read_to_end(&mut answer)).await;
    assert!(
        read.is_ok() && answer.is_empty(),
        "the fourth connection was served: {}",
        String::from_utf8_lossy(&answer)
    );
    drop(held);
    bureau_test_support::eventually("a connection slot freed", DEADLINE, || async {
        let answer = gateway.http.get(gateway.url("/healthz")).send().await;
        answer.is_ok_and(|answer| answer.status() == StatusCode::OK)
    })
    .await
    .expect("closed connections give their slots back");
    gateway.finish().await;
}

/// Reads a live stream until it ends; `None` if it is still open at `within`.
async fn ended_within(stream: &mut reqwest::Response, within: Duration) -> Option<Duration> {
    let started = Instant::now();
    loop {
        match tokio::time::timeout(within.saturating_sub(started.elapsed()), stream.chunk()).await {
            Err(_) => return None,
            Ok(Ok(Some(_))) => continue,
            Ok(Ok(None)) | Ok(Err(_)) => return Some(started.elapsed()),
        }
    }
}

#[tokio::test]
async fn live_streams_are_capped_and_end_with_their_session_or_age() {
    let gateway = Gateway::start_with(|settings| {
        settings.web_gateway.live.max_streams_per_account = 2;
        settings.web_gateway.live.session_check_secs = 1;
        settings.web_gateway.live.max_stream_secs = 4;
    })
    .await;
    create_account(
        &gateway.db,
        "manager@example.com",
        PASSWORD,
        "Maria Manager",
        Role::Manager,
    )
    .await
    .unwrap();
    let token = gateway.log_in("manager@example.com").await;
    let open_feed = |token: String| {
        let request = gateway
            .http
            .get(gateway.url("/api/staff/feed"))
            .bearer_auth(token);
        async move { request.send().await.unwrap() }
    };

    let mut first = open_feed(token.clone()).await;
    let mut second = open_feed(token.clone()).await;
    assert_eq!(
        (first.status(), second.status()),
        (StatusCode::OK, StatusCode::OK)
    );
    let third = open_feed(token.clone()).await;
    assert_eq!(third.headers()[reqwest::header::RETRY_AFTER], "5");
    assert_eq!(
        error_of(third).await.1,
        "too_many_streams",
        "a third stream of one account was opened"
    );

    // Signing out ends the session's streams.
    let logged_out = gateway
        .http
        .delete(gateway.url("/api/session"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(logged_out.status(), StatusCode::NO_CONTENT);
    for stream in [&mut first, &mut second] {
        let ended = ended_within(stream, Duration::from_secs(3)).await;
        assert!(ended.is_some(), "a stream outlived its session");
    }

    // The slots are free again, and a stream ends at its longest life.
    let token = gateway.log_in("manager@example.com").await;
    let mut aged = open_feed(token).await;
    assert_eq!(aged.status(), StatusCode::OK);
    let ended = ended_within(&mut aged, DEADLINE)
        .await
        .expect("the stream ended");
    assert!(ended >= Duration::from_secs(3), "ended after {ended:?}");

    gateway.finish().await;
}
