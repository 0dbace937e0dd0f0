//! The hostile-input suite (issue 14): at least a hundred hostile cases at every entry point
//! — the web API (forms, JSON, uploads, headers, paths, links), Telegram updates through the
//! double, and malformed events published to the workers' queues — each counted as answered
//! with a clear error (or accepted as harmless), answered 5xx, crashed or lost. The goal,
//! asserted: 0 5xx, 0 crashes, 0 lost. The figures are printed (`--nocapture`) and kept in
//! docs/reliability.md ("Hostile input").

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::Context;
use bureau_accounts::Role;
use bureau_end_to_end::telegram_customer::place_order;
use bureau_end_to_end::web::{register_customer, staff};
use bureau_end_to_end::{DEADLINE, Service, TestStack, eventually};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use uuid::Uuid;

/// What became of the cases thrown at one entry point.
#[derive(Default)]
struct Tally {
    entry: &'static str,
    /// Refused with a 4xx (HTTP), a dead letter with a reason (events), an answer or a
    /// deliberate silence (Telegram).
    clear: u32,
    /// Accepted: harmless once cleaned (a 10 KB name cut, a huge text stored cut).
    accepted: u32,
    server_errors: Vec<String>,
    /// No answer at all where one was due.
    unanswered: Vec<String>,
    crashed: u32,
    lost: u32,
    by_status: BTreeMap<String, u32>,
}

impl Tally {
    fn new(entry: &'static str) -> Tally {
        Tally {
            entry,
            ..Tally::default()
        }
    }

    fn cases(&self) -> u32 {
        self.clear + self.accepted + self.server_errors.len() as u32 + self.unanswered.len() as u32
    }

    fn http(&mut self, label: &str, status: Option<u16>) {
        let key = status.map_or("none".to_owned(), |s| s.to_string());
        *self.by_status.entry(key).or_default() += 1;
        match status {
            Some(status) if status >= 500 => self.server_errors.push(format!("{label}: {status}")),
            Some(status) if status >= 400 => self.clear += 1,
            Some(_) => self.accepted += 1,
            None => self.unanswered.push(label.to_owned()),
        }
    }

    fn report_and_check(&self) {
        println!(
            "hostile {}: {} cases — {} clear errors, {} accepted harmlessly, {} 5xx, {} unanswered, {} crashed, {} lost; by answer {:?}",
            self.entry,
            self.cases(),
            self.clear,
            self.accepted,
            self.server_errors.len(),
            self.unanswered.len(),
            self.crashed,
            self.lost,
            self.by_status
        );
        assert!(
            self.cases() >= 100,
            "{}: only {} cases",
            self.entry,
            self.cases()
        );
        assert_eq!(
            self.server_errors,
            Vec::<String>::new(),
            "{}: 5xx",
            self.entry
        );
        assert_eq!(
            self.unanswered,
            Vec::<String>::new(),
            "{}: unanswered",
            self.entry
        );
        assert_eq!(
            (self.crashed, self.lost),
            (0, 0),
            "{}: crashed, lost",
            self.entry
        );
    }
}

/// Every service still running and ready.
async fn crashed(stack: &TestStack) -> u32 {
    let mut crashed = 0;
    for service in Service::ALL {
        if stack.wait_ready(service).await.is_err() {
            crashed += 1;
        }
    }
    crashed
}

// ------------------------------------------------------------------------------- web

/// One raw request on its own connection: the status of the answer, or `None`. `body`
/// goes in `chunks` pieces `pause` apart (a slow trickle when both are set); with
/// `stop_early` the client closes its side after the bytes, whatever the head announced.
struct Raw {
    head: String,
    body: Vec<u8>,
    chunks: usize,
    pause: Duration,
    /// Close the sending side after the bytes (a client that announced more and left).
    stop_early: bool,
}

fn request(method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Raw {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: bureau\r\nConnection: close\r\n");
    let mut length_given = false;
    for (name, value) in headers {
        length_given |= name.eq_ignore_ascii_case("content-length");
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if !length_given {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    Raw {
        head,
        body: body.to_vec(),
        chunks: 1,
        pause: Duration::ZERO,
        stop_early: false,
    }
}

async fn send(addr: SocketAddr, raw: &Raw) -> Option<u16> {
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await.ok()?;
        stream.write_all(raw.head.as_bytes()).await.ok()?;
        let size = raw.body.len().div_ceil(raw.chunks.max(1)).max(1);
        for (index, chunk) in raw.body.chunks(size).enumerate() {
            if index > 0 && !raw.pause.is_zero() {
                tokio::time::sleep(raw.pause).await;
            }
            // The server may answer (and close) before it read everything: that is fine.
            if stream.write_all(chunk).await.is_err() {
                break;
            }
        }
        if raw.stop_early {
            let _ = stream.shutdown().await;
        }
        let mut answer = Vec::new();
        let mut buffer = [0u8; 1024];
        while !answer.windows(2).any(|w| w == b"\r\n") {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(read) => answer.extend_from_slice(&buffer[..read]),
            }
        }
        let line = String::from_utf8_lossy(&answer).into_owned();
        line.split(' ').nth(1)?.parse().ok()
    };
    tokio::time::timeout(Duration::from_secs(15), exchange)
        .await
        .ok()
        .flatten()
}

/// Bodies that are not what a JSON endpoint wants, each with a label.
fn hostile_json(valid: &Value) -> Vec<(String, Vec<u8>)> {
    let mut bodies: Vec<(String, Vec<u8>)> = vec![
        ("empty".into(), b"".to_vec()),
        ("null".into(), b"null".to_vec()),
        ("array".into(), b"[]".to_vec()),
        ("number".into(), b"1e999999".to_vec()),
        ("string".into(), b"\"hello\"".to_vec()),
        ("truncated".into(), b"{\"email\": \"a@".to_vec()),
        (
            "invalid UTF-8".into(),
            b"{\"email\": \"\xff\xfe\xfd\"}".to_vec(),
        ),
        (
            "NUL bytes".into(),
            b"{\"email\": \"a\x00b@example.com\", \"password\": \"\x00\"}".to_vec(),
        ),
        (
            "nesting 100000".into(),
            [vec![b'['; 100_000], vec![b']'; 100_000]].concat(),
        ),
        (
            "1 MB string".into(),
            format!("{{\"email\": \"{}\"}}", "a".repeat(1 << 20)).into_bytes(),
        ),
        (
            "duplicate keys".into(),
            b"{\"email\": \"a@example.com\", \"email\": \"b@example.com\"}".to_vec(),
        ),
        (
            "escaped NUL".into(),
            b"{\"email\": \"\\u0000\", \"password\": \"\\u0000\", \"to\": \"\\u0000\"}".to_vec(),
        ),
        (
            "lone surrogate".into(),
            b"{\"email\": \"\\ud800\"}".to_vec(),
        ),
    ];
    if let Value::Object(fields) = valid {
        for (field, _) in fields {
            for (kind, value) in [
                ("null", Value::Null),
                ("number", json!(12345)),
                ("object", json!({"a": 1})),
                ("empty", json!("")),
                ("huge", json!("x".repeat(100_000))),
                ("negative", json!(-1)),
            ] {
                let mut body = valid.clone();
                body[field] = value;
                bodies.push((format!("{field} {kind}"), body.to_string().into_bytes()));
            }
            let mut missing = valid.clone();
            missing.as_object_mut().expect("object").remove(field);
            bodies.push((format!("{field} missing"), missing.to_string().into_bytes()));
        }
    }
    bodies
}

fn multipart(boundary: &str, parts: &[(&str, Option<&str>, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, file_name, bytes) in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match file_name {
            Some(file_name) => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\n\r\n")
                    .as_bytes(),
            ),
            None => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_web_requests_get_clear_answers_and_lose_nothing() -> anyhow::Result<()> {
    let stack = TestStack::start().await?;
    let addr = stack.addr(Service::WebGateway);
    let customer = register_customer(&stack, "olena@example.com", "Olena Koval").await?;
    let manager = staff(&stack, "maria@example.com", Role::Manager).await?;
    let bearer = format!("Bearer {customer}");
    let staff_bearer = format!("Bearer {manager}");
    let placed = stack
        .http
        .post(stack.web_url("/api/orders"))
        .bearer_auth(&customer)
        .multipart(reqwest::multipart::Form::new().text("text", "A first, ordinary order"))
        .send()
        .await?;
    anyhow::ensure!(placed.status() == 201, "{}", placed.status());
    let number = placed.json::<Value>().await?["order_number"]
        .as_str()
        .context("number")?
        .to_owned();
    let order_id: Uuid = eventually("the order recorded", DEADLINE, || async {
        sqlx::query_scalar("SELECT id FROM orders WHERE order_number = ?")
            .bind(&number)
            .fetch_optional(&stack.db)
            .await
            .ok()?
    })
    .await?;

    let mut cases: Vec<(String, Raw)> = Vec::new();
    let json_type = ("Content-Type", "application/json");
    // JSON endpoints, each with every hostile body.
    let endpoints: [(&str, String, Option<&str>, Value); 4] = [
        (
            "POST",
            "/api/accounts".into(),
            None,
            json!({"email": "new@example.com", "password": "correct horse battery", "display_name": "N"}),
        ),
        (
            "POST",
            "/api/session".into(),
            None,
            json!({"email": "olena@example.com", "password": "wrong password"}),
        ),
        (
            "POST",
            format!("/api/staff/orders/{order_id}/status"),
            Some(staff_bearer.as_str()),
            json!({"to": "accepted", "reason": "ok", "expected_version": 1}),
        ),
        (
            "POST",
            format!("/api/orders/{number}/quote/accept"),
            Some(bearer.as_str()),
            json!({"quote_id": Uuid::now_v7()}),
        ),
    ];
    for (method, path, auth, valid) in &endpoints {
        for (label, body) in hostile_json(valid) {
            let mut headers = vec![json_type];
            if let Some(auth) = auth {
                headers.push(("Authorization", auth));
            }
            cases.push((
                format!("{method} {path} {label}"),
                request(method, path, &headers, &body),
            ));
        }
        // Wrong or doubled content types, and no body at all.
        for content_type in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        ] {
            let mut headers = vec![("Content-Type", content_type)];
            if let Some(auth) = auth {
                headers.push(("Authorization", auth));
            }
            cases.push((
                format!("{path} as {content_type}"),
                request(method, path, &headers, valid.to_string().as_bytes()),
            ));
        }
        let mut doubled = vec![json_type, ("Content-Type", "text/html")];
        if let Some(auth) = auth {
            doubled.push(("Authorization", auth));
        }
        cases.push((
            format!("{path} two content types"),
            request(method, path, &doubled, valid.to_string().as_bytes()),
        ));
    }

    // Orders and uploads: multipart that lies, breaks off, floods or plays with names.
    let boundary = "XyZhostile";
    let form_type = format!("multipart/form-data; boundary={boundary}");
    let order_form = |headers: &[(&str, &str)], body: Vec<u8>| {
        let mut all = vec![
            ("Authorization", bearer.as_str()),
            ("Content-Type", form_type.as_str()),
        ];
        all.extend_from_slice(headers);
        request("POST", "/api/orders", &all, &body)
    };
    let long_name = "n".repeat(10 * 1024);
    let names: Vec<String> = vec![
        long_name.clone(),
        "../../../../etc/passwd".into(),
        "..\\..\\windows\\system32\\cmd.exe".into(),
        "/absolute/path.pdf".into(),
        "C:\\Users\\x\\doc.pdf".into(),
        "x\u{202E}fdp.exe".into(),
        "\u{200B}\u{2066}".into(),
        "%2e%2e%2fetc%2fpasswd".into(),
        ".".into(),
        "..".into(),
        "con.txt".into(),
        "a\"b.pdf".into(),
        "report.html".into(),
        "image.svg".into(),
        "😀".repeat(300),
    ];
    for name in &names {
        let body = multipart(
            boundary,
            &[
                ("text", None, b"hostile names"),
                ("file", Some(name), b"%PDF-1.7 x"),
            ],
        );
        cases.push((
            format!("file named {}", clip(name, 20)),
            order_form(&[], body),
        ));
    }
    let nul_name = multipart(boundary, &[("file", Some("a\0b.pdf"), b"x")]);
    cases.push(("NUL in a file name".into(), order_form(&[], nul_name)));
    let bad_utf8_text = [
        b"--XyZhostile\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\n".to_vec(),
        b"\xff\xfe\xc3\x28".to_vec(),
        b"\r\n--XyZhostile--\r\n".to_vec(),
    ]
    .concat();
    cases.push(("invalid UTF-8 text".into(), order_form(&[], bad_utf8_text)));
    cases.push((
        "NUL in the text".into(),
        order_form(&[], multipart(boundary, &[("text", None, b"a\0b\0c")])),
    ));
    cases.push((
        "1 MB text".into(),
        order_form(
            &[],
            multipart(boundary, &[("text", None, "t".repeat(1 << 20).as_bytes())]),
        ),
    ));
    cases.push((
        "empty form".into(),
        order_form(&[], multipart(boundary, &[])),
    ));
    cases.push((
        "two texts".into(),
        order_form(
            &[],
            multipart(boundary, &[("text", None, b"a"), ("text", None, b"b")]),
        ),
    ));
    cases.push((
        "unknown field".into(),
        order_form(&[], multipart(boundary, &[("evil", None, b"a")])),
    ));
    cases.push((
        "field without a name".into(),
        order_form(
            &[],
            b"--XyZhostile\r\nContent-Disposition: form-data\r\n\r\nx\r\n--XyZhostile--\r\n"
                .to_vec(),
        ),
    ));
    cases.push((
        "service code NUL".into(),
        order_form(
            &[],
            multipart(
                boundary,
                &[("service_code", None, b"\0"), ("text", None, b"x")],
            ),
        ),
    ));
    cases.push((
        "empty file".into(),
        order_form(
            &[],
            multipart(boundary, &[("file", Some("empty.pdf"), b"")]),
        ),
    ));
    let ten_thousand: Vec<(&str, Option<&str>, &[u8])> = (0..10_000)
        .map(|_| ("text", None, b"x".as_slice()))
        .collect();
    cases.push((
        "10,000 text parts".into(),
        order_form(&[], multipart(boundary, &ten_thousand)),
    ));
    let ten_thousand_files: Vec<(&str, Option<&str>, &[u8])> = (0..10_000)
        .map(|_| ("file", Some("f.txt"), b"x".as_slice()))
        .collect();
    cases.push((
        "10,000 file parts".into(),
        order_form(&[], multipart(boundary, &ten_thousand_files)),
    ));
    let whole = multipart(
        boundary,
        &[
            ("text", None, b"cut short"),
            ("file", Some("cut.pdf"), &[7u8; 4096]),
        ],
    );
    cases.push((
        "truncated multipart".into(),
        order_form(&[], whole[..whole.len() / 2].to_vec()),
    ));
    cases.push((
        "no closing boundary".into(),
        order_form(&[], whole[..whole.len() - 20].to_vec()),
    ));
    let mut longer = order_form(&[("Content-Length", "100000")], whole.clone());
    longer.stop_early = true;
    cases.push(("lying size: longer, then gone".into(), longer));
    cases.push((
        "lying size: shorter".into(),
        order_form(&[("Content-Length", "10")], whole.clone()),
    ));
    cases.push((
        "lying size: 2^63".into(),
        order_form(&[("Content-Length", "9223372036854775807")], whole.clone()),
    ));
    cases.push((
        "two content lengths".into(),
        order_form(
            &[("Content-Length", "10"), ("Content-Length", "20")],
            whole.clone(),
        ),
    ));
    cases.push((
        "chunked and a length".into(),
        order_form(&[("Transfer-Encoding", "chunked")], whole.clone()),
    ));
    let mut trickle = order_form(&[], whole.clone());
    trickle.chunks = 20;
    trickle.pause = Duration::from_millis(40);
    cases.push(("slow trickle".into(), trickle));
    for wrong_boundary in [
        "multipart/form-data",
        "multipart/form-data; boundary=",
        "multipart/form-data; boundary=other",
    ] {
        cases.push((
            format!("content type {wrong_boundary}"),
            request(
                "POST",
                "/api/orders",
                &[("Authorization", &bearer), ("Content-Type", wrong_boundary)],
                &whole,
            ),
        ));
    }

    // Headers: doubled, huge, forged.
    let huge = "h".repeat(100 * 1024);
    let header_cases: Vec<(&str, Vec<(&str, &str)>)> = vec![
        (
            "two bearer tokens",
            vec![
                ("Authorization", bearer.as_str()),
                ("Authorization", "Bearer x"),
            ],
        ),
        (
            "a forged token",
            vec![(
                "Authorization",
                "Bearer AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            )],
        ),
        ("an empty bearer", vec![("Authorization", "Bearer ")]),
        (
            "basic auth",
            vec![("Authorization", "Basic b2xlbmE6cGFzcw==")],
        ),
        (
            "cookie and bearer disagree",
            vec![
                ("Cookie", "bureau_session=zzz"),
                ("Authorization", "Bearer yyy"),
            ],
        ),
        (
            "ten session cookies",
            vec![(
                "Cookie",
                "bureau_session=a; bureau_session=b; bureau_session=c; bureau_session=d; bureau_session=e; bureau_session=f; bureau_session=g; bureau_session=h; bureau_session=i; bureau_session=j",
            )],
        ),
        ("a 100 KB header", vec![("X-Filler", huge.as_str())]),
        ("a 100 KB token", vec![("Authorization", huge.as_str())]),
        ("a 100 KB cookie", vec![("Cookie", huge.as_str())]),
        ("a 100 KB request id", vec![("X-Request-Id", huge.as_str())]),
        ("a non-ASCII header", vec![("X-Name", "Олена")]),
    ];
    for (label, headers) in header_cases {
        cases.push((label.into(), request("GET", "/api/orders", &headers, b"")));
    }

    // Paths and links.
    let long_path = format!("/api/orders/{}", "9".repeat(10 * 1024));
    let paths = [
        "/api/orders/00000000".to_owned(),
        "/api/orders/%00".into(),
        "/api/orders/..%2f..%2fetc%2fpasswd".into(),
        long_path,
        format!("/api/orders/{number}/files/not-a-uuid/download"),
        format!("/api/orders/{number}/files/{}/download", Uuid::now_v7()),
        "/api/staff/orders/not-a-uuid/status".into(),
        "/d/".into(),
        "/d/x".into(),
        "/d/%ff%fe".into(),
        format!("/d/{}", "A".repeat(5000)),
        "/d/eyJ.eyJ".into(),
        "/u/x".into(),
        "/u/..%2f..".into(),
        format!("/u/{}", "B".repeat(5000)),
        "/api/orders?page=-1".into(),
        "/api/orders?page=99999999999999999999".into(),
        "/api/staff/orders?status=%00".into(),
    ];
    for path in paths {
        let auth = if path.starts_with("/api/staff") {
            &staff_bearer
        } else {
            &bearer
        };
        cases.push((
            format!("GET {}", clip(&path, 40)),
            request("GET", &path, &[("Authorization", auth)], b""),
        ));
    }
    for path in [
        "/u/x",
        "/u/eyJ.eyJ",
        "/api/staff/orders/00000000-0000-0000-0000-000000000000/results",
    ] {
        cases.push((
            format!("POST {path}"),
            request(
                "POST",
                path,
                &[
                    ("Authorization", &staff_bearer),
                    ("Content-Type", &form_type),
                ],
                &whole,
            ),
        ));
    }

    let mut tally = Tally::new("web");
    let started = Instant::now();
    for (label, raw) in &cases {
        let status = send(addr, raw).await;
        tally.http(label, status);
    }
    let elapsed = started.elapsed();

    // Nothing lost: the ordinary order is intact, and a customer still orders with a file.
    let after = stack
        .http
        .post(stack.web_url("/api/orders"))
        .bearer_auth(&customer)
        .multipart(
            reqwest::multipart::Form::new()
                .text("text", "After the storm")
                .part(
                    "file",
                    reqwest::multipart::Part::bytes(b"%PDF-1.7 fine".to_vec())
                        .file_name("fine.pdf"),
                ),
        )
        .send()
        .await?;
    if after.status() != 201 {
        tally.lost += 1;
    } else {
        let file_id = after.json::<Value>().await?["files"][0]["file_id"]
            .as_str()
            .context("file_id")?
            .parse::<Uuid>()?;
        let stored = eventually("the file after the storm stored", DEADLINE, || async {
            sqlx::query_scalar::<_, String>("SELECT state FROM order_files WHERE id = ?")
                .bind(file_id)
                .fetch_optional(&stack.db)
                .await
                .ok()?
                .filter(|state| state == "stored")
        })
        .await;
        if stored.is_err() {
            tally.lost += 1;
        }
    }
    let first: Option<String> = sqlx::query_scalar("SELECT status FROM orders WHERE id = ?")
        .bind(order_id)
        .fetch_optional(&stack.db)
        .await?;
    if first.is_none() {
        tally.lost += 1;
    }
    tally.crashed = crashed(&stack).await;
    println!("hostile web: {} cases in {elapsed:?}", tally.cases());
    tally.report_and_check();
    stack.teardown().await
}

fn clip(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

// ------------------------------------------------------------------------------ events

/// One valid event of every type, about `order_id` (a real order, so handlers go deep).
fn event_samples(order_id: Uuid, number: &str) -> Vec<proto_events::Envelope> {
    use proto_events::*;
    let file_id = Uuid::now_v7();
    let staff = Actor::Staff {
        account_id: Uuid::now_v7(),
    };
    let events: Vec<Event> = vec![
        OrderCreated {
            order_id: Uuid::now_v7(),
            order_number: number.into(),
            customer: CustomerRef::Telegram {
                user_id: 42,
                chat_id: 42,
                display_name: "Олена".into(),
                username: Some("olena".into()),
                phone: Some("+380501234567".into()),
                language: Some("uk".into()),
            },
            service_code: Some("translation.legal".into()),
            text: "Переклад довідки".into(),
            file_count: 1,
            created_at: chrono::Utc::now(),
            items: Vec::new(),
            total: None,
        }
        .into(),
        FileReceived {
            order_id,
            file_id,
            purpose: FilePurpose::CustomerUpload,
            source: FileSource::Telegram {
                telegram_file_id: "BQACAgIAAx".into(),
                telegram_file_unique_id: "AgADBQ".into(),
            },
            original_name: "довідка.pdf".into(),
            declared_size: Some(1024),
            declared_content_type: Some("application/pdf".into()),
            note: Some("page 1".into()),
        }
        .into(),
        FileReceived {
            order_id,
            file_id,
            purpose: FilePurpose::Result,
            source: FileSource::WebUpload {
                staging_key: "staging/y".into(),
                measured: Some(Measured {
                    size: 3,
                    sha256: "ab".repeat(32),
                    content_type: "text/plain".into(),
                }),
            },
            original_name: "b.txt".into(),
            declared_size: Some(3),
            declared_content_type: Some("text/plain".into()),
            note: None,
        }
        .into(),
        FileStored {
            order_id,
            file_id,
            purpose: FilePurpose::CustomerUpload,
            object_key: "orders/a/b/a.txt".into(),
            size: 3,
            sha256: "ab".repeat(32),
            content_type: "text/plain".into(),
            original_name: "a.txt".into(),
        }
        .into(),
        FileRejected {
            order_id,
            file_id,
            original_name: "a.exe".into(),
            code: "type_refused".into(),
            reason: "We do not accept programs".into(),
        }
        .into(),
        OrderStatusChanged {
            order_id,
            order_number: number.into(),
            from: OrderStatus::AwaitingConfirmation,
            to: OrderStatus::Accepted,
            version: 2,
            reason: None,
            actor: staff.clone(),
            changed_at: chrono::Utc::now(),
            request_id: Some(Uuid::now_v7()),
        }
        .into(),
        OrderStatusChangeRequested {
            request_id: Uuid::now_v7(),
            order_id,
            order_number: number.into(),
            expected_version: 1,
            from: OrderStatus::AwaitingConfirmation,
            to: OrderStatus::Accepted,
            reason: None,
            actor: staff.clone(),
            quote_id: None,
            requested_at: chrono::Utc::now(),
        }
        .into(),
        OrderStatusChangeRefused {
            request_id: Uuid::now_v7(),
            order_id,
            order_number: number.into(),
            from: OrderStatus::AwaitingConfirmation,
            to: OrderStatus::Rejected,
            expected_version: 1,
            actor: Actor::Customer,
            code: RefusalCode::VersionConflict,
            reason: "changed".into(),
            current_status: OrderStatus::Accepted,
            current_version: 2,
            refused_at: chrono::Utc::now(),
        }
        .into(),
        OrderMessagePosted {
            order_id,
            message_id: Uuid::now_v7(),
            author: Actor::Customer,
            text: "Коли буде готово?".into(),
        }
        .into(),
        PriceQuoted {
            order_id,
            order_number: number.into(),
            amount_minor: 125_000,
            currency: "UAH".into(),
            note: None,
            valid_until: None,
        }
        .into(),
    ];
    events
        .into_iter()
        .map(|event| Envelope::new("hostile-test", order_id, event))
        .collect()
}

/// Every leaf of `value` (as a JSON pointer).
fn leaves(value: &Value, at: String, out: &mut Vec<String>) {
    match value {
        Value::Object(fields) => {
            for (key, inner) in fields {
                leaves(inner, format!("{at}/{key}"), out);
            }
        }
        Value::Array(items) => {
            for (index, inner) in items.iter().enumerate() {
                leaves(inner, format!("{at}/{index}"), out);
            }
        }
        _ => out.push(at),
    }
}

/// Each field of `sample` made wrong in every way that fits it: null, another type, and
/// for text, 100 KB of it; each copy with an event id of its own, so no inbox hides it.
fn malformed(sample: &proto_events::Envelope) -> Vec<(String, Vec<u8>)> {
    let json: Value = serde_json::from_slice(&sample.to_json()).expect("json");
    let mut paths = Vec::new();
    leaves(&json, String::new(), &mut paths);
    let mut out = Vec::new();
    for path in paths {
        let original = json.pointer(&path).cloned().unwrap_or_default();
        let mut variants = vec![("null", Value::Null)];
        match original {
            Value::String(_) => {
                variants.push(("number", json!(-1)));
                variants.push(("huge", json!("\u{202E}x\0".repeat(30_000))));
            }
            Value::Number(_) => {
                variants.push(("text", json!("12")));
                variants.push(("overflow", json!(1e300)));
            }
            _ => variants.push(("text", json!("yes"))),
        }
        for (kind, value) in variants {
            let mut copy = json.clone();
            if path != "/event_id" {
                copy["event_id"] = json!(Uuid::now_v7());
            }
            *copy.pointer_mut(&path).expect("the leaf") = value;
            out.push((
                format!("{} {path} {kind}", sample.event_type),
                serde_json::to_vec(&copy).expect("json"),
            ));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_events_are_dead_lettered_with_a_reason_and_lose_no_other_work()
-> anyhow::Result<()> {
    use bureau_event_bus::dead_letters;
    use lapin::BasicProperties;
    use lapin::options::{BasicPublishOptions, ConfirmSelectOptions, QueueDeclareOptions};
    use lapin::types::FieldTable;
    use proto_events::topology::Consumer;

    let stack = TestStack::start_with(Default::default(), |settings| {
        settings.broker.retry_delays_ms = vec![50, 100];
        settings.broker.max_attempts = 2;
    })
    .await?;
    let bus = bureau_platform::bus::event_bus(&stack.settings.broker, "hostile-test");
    let customer = register_customer(&stack, "olena@example.com", "Olena Koval").await?;
    let placed = stack
        .http
        .post(stack.web_url("/api/orders"))
        .bearer_auth(&customer)
        .multipart(reqwest::multipart::Form::new().text("text", "The real order"))
        .send()
        .await?;
    let number = placed.json::<Value>().await?["order_number"]
        .as_str()
        .context("number")?
        .to_owned();
    let order_id: Uuid = eventually("the order recorded", DEADLINE, || async {
        sqlx::query_scalar("SELECT id FROM orders WHERE order_number = ?")
            .bind(&number)
            .fetch_optional(&stack.db)
            .await
            .ok()?
    })
    .await?;

    let mut poison: Vec<(String, Vec<u8>, String)> = Vec::new();
    for sample in event_samples(order_id, &number) {
        for (label, body) in malformed(&sample) {
            poison.push((label, body, sample.event_type.clone()));
        }
        for (label, body) in [
            ("empty", b"".to_vec()),
            ("not JSON", b"<xml/>".to_vec()),
            ("invalid UTF-8", b"{\"event_id\": \"\xff\"}".to_vec()),
            ("a JSON array", b"[]".to_vec()),
        ] {
            poison.push((
                format!("{} {label}", sample.event_type),
                body,
                sample.event_type.clone(),
            ));
        }
    }

    // Published straight to the events exchange under each type's routing key, good work
    // in between: a new message every tenth poison.
    let channel = bus.open_channel().await?;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await?;
    let exchange = bus.topology().events_exchange();
    let mut ids = BTreeMap::new();
    let mut good = Vec::new();
    for (index, (label, body, routing_key)) in poison.iter().enumerate() {
        let id = Uuid::now_v7().to_string();
        ids.insert(id.clone(), label.clone());
        channel
            .basic_publish(
                exchange.as_str().into(),
                routing_key.as_str().into(),
                BasicPublishOptions::default(),
                body,
                BasicProperties::default()
                    .with_message_id(id.into())
                    .with_delivery_mode(2),
            )
            .await?
            .await?;
        if index % 10 == 0 {
            let message = proto_events::OrderMessagePosted {
                order_id,
                message_id: Uuid::now_v7(),
                author: proto_events::Actor::Customer,
                text: format!("good work {index}"),
            };
            good.push(message.message_id);
            bus.publish(&proto_events::Envelope::new(
                "hostile-test",
                order_id,
                message,
            ))
            .await?;
        }
    }

    // Settled: every queue but the dead letters empty, every good message recorded.
    let mut queues = Vec::new();
    for name in bus.topology().all_queues() {
        if !Consumer::ALL
            .iter()
            .any(|consumer| bus.topology().dead_letter_queue(*consumer) == name)
        {
            queues.push(name);
        }
    }
    let started = Instant::now();
    let recorded = eventually(
        "the poison settled and the good work recorded",
        Duration::from_secs(60),
        || async {
            for name in &queues {
                let queue = channel
                    .queue_declare(
                        name.as_str().into(),
                        QueueDeclareOptions {
                            passive: true,
                            ..Default::default()
                        },
                        FieldTable::default(),
                    )
                    .await
                    .ok()?;
                if queue.message_count() > 0 {
                    return None;
                }
            }
            let recorded: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM order_messages WHERE order_id = ? AND body LIKE 'good work %'",
        )
        .bind(order_id)
        .fetch_one(&stack.db)
        .await
        .ok()?;
            (recorded as usize == good.len()).then_some(recorded)
        },
    )
    .await;

    let mut tally = Tally::new("events");
    let mut dead: BTreeMap<String, (Consumer, Option<String>)> = BTreeMap::new();
    for consumer in Consumer::ALL {
        for letter in dead_letters::list(&bus, consumer, 100_000).await? {
            if let Some(id) = letter.message_id.clone() {
                dead.insert(id, (consumer, letter.error.clone()));
            }
        }
    }
    for (id, label) in &ids {
        match dead.get(id) {
            Some((_, Some(reason))) if !reason.trim().is_empty() => tally.clear += 1,
            Some((consumer, _)) => tally.unanswered.push(format!(
                "{label}: dead-lettered by {consumer:?} without a reason"
            )),
            None => tally.accepted += 1,
        }
    }
    *tally.by_status.entry("dead-lettered".into()).or_default() = tally.clear;
    if recorded.is_err() {
        tally.lost += 1;
    }
    tally.crashed = crashed(&stack).await;
    println!(
        "hostile events: {} malformed events, {} good ones between them, settled in {:?}",
        poison.len(),
        good.len(),
        started.elapsed()
    );
    tally.report_and_check();
    let _ = channel.close(200, "done".into()).await;
    bus.close().await;
    stack.teardown().await
}

// ---------------------------------------------------------------------------- Telegram

/// Every verb of callback data the bot (and the notifier) puts under a button.
const VERBS: [&str; 19] = [
    "lg", "ol", "cc", "cs", "co", "dn", "confirm", "ed", "es", "et", "ef", "cancel", "od", "order",
    "oc", "oy", "om", "qa", "qd",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_telegram_updates_are_answered_or_ignored_and_lose_nothing() -> anyhow::Result<()> {
    let stack = TestStack::start().await?;
    let double = &stack.telegram;
    let victim = double.user_with(5101, "Olena", "en");
    let number = place_order(
        double,
        &victim,
        "Translate my diploma",
        &[(
            "diploma.pdf",
            "application/pdf",
            b"%PDF-1.7 d".to_vec(),
            None,
        )],
        DEADLINE,
    )
    .await?;
    let (victim_order, victim_version): (Uuid, u32) =
        eventually("the victim's order", DEADLINE, || async {
            sqlx::query_as("SELECT id, status_version FROM orders WHERE order_number = ?")
                .bind(&number)
                .fetch_optional(&stack.db)
                .await
                .ok()?
        })
        .await?;
    let victim_draft: Uuid = sqlx::query_scalar("SELECT id FROM orders WHERE id = ?")
        .bind(victim_order)
        .fetch_one(&stack.db)
        .await?;
    let victim_messages = double.messages_to(victim.chat_id()).len();
    let attacker = double.user_with(5202, "Mallory", "en");
    attacker.send_text("/start");
    double
        .wait_for_message(attacker.chat_id(), DEADLINE, |_| true)
        .await?;

    let mut tally = Tally::new("telegram");
    // Forged callback data of every kind, pressed by someone else.
    let mut presses = Vec::new();
    for verb in VERBS {
        for (kind, data) in [
            ("another's order", format!("{verb}:{victim_order}")),
            (
                "another's order, version",
                format!("{verb}:{victim_order}:{victim_version}"),
            ),
            ("another's draft", format!("{verb}:{victim_draft}:1")),
            ("random id", format!("{verb}:{}", Uuid::now_v7())),
            ("not an id", format!("{verb}:../../etc")),
            ("overflow", format!("{verb}:{victim_order}:99999999999")),
            ("extra parts", format!("{verb}:{victim_order}:1:2:3")),
            ("NUL", format!("{verb}:\0")),
            ("empty", format!("{verb}:")),
        ] {
            let query = attacker.press_button(999_999, &data);
            presses.push((format!("{verb} {kind}"), query));
        }
    }
    for data in [
        "",
        ":",
        "::::",
        &"x".repeat(64),
        "lg:xx",
        "ol:-1",
        "ol:4294967296",
        "\u{202E}",
    ] {
        let query = attacker.press_button(1, data);
        presses.push((format!("junk {data:?}"), query));
    }
    for (label, query) in &presses {
        match double
            .wait_for_callback_answer(query, Duration::from_secs(10))
            .await
        {
            Ok(_) => tally.clear += 1,
            Err(_) => tally.unanswered.push(label.clone()),
        }
    }

    // Updates the bot did not ask for or must not act on: edited and channel posts, groups,
    // other chats' members, unknown kinds, forged shapes. Each must leave the bot working.
    double.group(-100_777, "Some group");
    let private = json!({"id": 5202, "type": "private", "first_name": "Mallory"});
    let group = json!({"id": -100_777, "type": "group", "title": "Some group"});
    let supergroup = json!({"id": -100_778, "type": "supergroup", "title": "Big group"});
    let channel = json!({"id": -100_779, "type": "channel", "title": "A channel"});
    let from = json!({"id": 5202, "is_bot": false, "first_name": "Mallory"});
    let message = |chat: &Value, text: &str| json!({"message_id": 77, "date": 1_700_000_000, "chat": chat, "from": from, "text": text});
    let raw: Vec<(&'static str, Value)> = vec![
        ("edited_message", message(&private, "/start")),
        (
            "edited_message",
            message(&private, &format!("order:{victim_order}")),
        ),
        ("message", message(&group, "/start")),
        ("message", message(&group, "/orders")),
        ("message", message(&supergroup, "/start")),
        ("message", message(&supergroup, "hello")),
        (
            "channel_post",
            json!({"message_id": 1, "date": 1_700_000_000, "chat": channel, "text": "/start"}),
        ),
        (
            "edited_channel_post",
            json!({"message_id": 1, "date": 1_700_000_000, "chat": channel, "text": "x"}),
        ),
        (
            "message",
            json!({"message_id": 78, "date": 1_700_000_000, "chat": private, "text": "no sender"}),
        ),
        (
            "message",
            json!({"message_id": 79, "date": 1_700_000_000, "chat": {"id": 5202}, "from": from}),
        ),
        (
            "message",
            json!({"message_id": "not a number", "chat": private}),
        ),
        ("message", json!(null)),
        ("message", json!([])),
        ("message", message(&private, &"\0".repeat(4096))),
        ("message", message(&private, &"я".repeat(10_000))),
        (
            "message",
            message(
                &json!({"id": victim.chat_id(), "type": "private"}),
                "/orders",
            ),
        ),
        (
            "message",
            json!({"message_id": 80, "date": 1_700_000_000, "chat": private, "from": from,
                            "document": {"file_id": "F", "file_unique_id": "U", "file_name": "x\u{202E}fdp.exe", "file_size": -5}}),
        ),
        (
            "message",
            json!({"message_id": 81, "date": 1_700_000_000, "chat": private, "from": from,
                            "document": {"file_id": "", "file_unique_id": "", "file_size": 0}}),
        ),
        (
            "message",
            json!({"message_id": 82, "date": 1_700_000_000, "chat": private, "from": from,
                            "contact": {"phone_number": "\0", "first_name": "x", "user_id": victim.chat_id()}}),
        ),
        (
            "callback_query",
            json!({"id": "q-no-message", "from": from, "chat_instance": "1", "data": format!("oy:{victim_order}:{victim_version}")}),
        ),
        (
            "callback_query",
            json!({"id": "q-no-data", "from": from, "chat_instance": "1"}),
        ),
        (
            "callback_query",
            json!({"id": "q-victim", "from": {"id": victim.chat_id(), "is_bot": false, "first_name": "Olena"}, "chat_instance": "1",
                                  "message": message(&private, "x"), "data": "lg:xx"}),
        ),
        (
            "my_chat_member",
            json!({"chat": group, "from": from, "date": 1_700_000_000,
                                  "old_chat_member": {"status": "member", "user": from}, "new_chat_member": {"status": "kicked", "user": from, "until_date": 0}}),
        ),
        (
            "message_reaction",
            json!({"chat": private, "message_id": 1, "date": 1_700_000_000, "old_reaction": [], "new_reaction": []}),
        ),
        (
            "inline_query",
            json!({"id": "iq", "from": from, "query": "orders", "offset": ""}),
        ),
        (
            "chosen_inline_result",
            json!({"result_id": "r", "from": from, "query": "q"}),
        ),
        (
            "poll",
            json!({"id": "p", "question": "?", "options": [], "total_voter_count": 0, "is_closed": false, "is_anonymous": true, "type": "regular", "allows_multiple_answers": false}),
        ),
        (
            "poll_answer",
            json!({"poll_id": "p", "user": from, "option_ids": []}),
        ),
        (
            "chat_join_request",
            json!({"chat": group, "from": from, "user_chat_id": 5202, "date": 1_700_000_000}),
        ),
        (
            "shipping_query",
            json!({"id": "s", "from": from, "invoice_payload": "x", "shipping_address": {}}),
        ),
        (
            "pre_checkout_query",
            json!({"id": "pc", "from": from, "currency": "UAH", "total_amount": 1, "invoice_payload": "x"}),
        ),
        ("business_message", message(&private, "/start")),
        (
            "deleted_business_messages",
            json!({"business_connection_id": "b", "chat": private, "message_ids": [1, 2, 3]}),
        ),
        (
            "purchased_paid_media",
            json!({"from": from, "paid_media_payload": "x"}),
        ),
        ("something_new", json!({"anything": true})),
    ];
    for (kind, payload) in raw {
        double.push_raw_update(kind, payload);
    }
    let drained = double
        .wait_for_no_pending_updates(Duration::from_secs(30))
        .await;
    // Each raw update is a case: taken and survived (the bot goes on below), or not.
    let raw_count = 35;
    match drained {
        Ok(()) => tally.clear += raw_count,
        Err(error) => tally
            .unanswered
            .push(format!("raw updates not taken: {error}")),
    }

    // Nothing lost, nothing leaked: the victim's order is untouched and was never shown to
    // the attacker; the victim heard nothing from the attacker's presses; a customer still
    // orders.
    let (status, version): (String, u32) =
        sqlx::query_as("SELECT status, status_version FROM orders WHERE id = ?")
            .bind(victim_order)
            .fetch_one(&stack.db)
            .await?;
    if (status.as_str(), version) != ("awaiting_confirmation", victim_version) {
        tally.lost += 1;
        println!("the victim's order changed: {status} v{version}");
    }
    let leaked: Vec<String> = double
        .messages_to(attacker.chat_id())
        .iter()
        .map(|message| message.body().to_owned())
        .filter(|body| body.contains(&number) || body.contains("diploma"))
        .collect();
    assert_eq!(
        leaked,
        Vec::<String>::new(),
        "the victim's order shown to another"
    );
    let heard: Vec<String> = double.messages_to(victim.chat_id())[victim_messages..]
        .iter()
        .map(|message| message.body().to_owned())
        .collect();
    assert_eq!(
        heard,
        Vec::<String>::new(),
        "the victim heard the attacker's presses"
    );
    let later = double.user_with(5303, "Taras", "en");
    if place_order(double, &later, "After the storm", &[], DEADLINE)
        .await
        .is_err()
    {
        tally.lost += 1;
    }
    tally.crashed = crashed(&stack).await;
    *tally
        .by_status
        .entry("callbacks answered".into())
        .or_default() = presses.len() as u32 - tally.unanswered.len() as u32;
    tally.report_and_check();
    stack.teardown().await
}
