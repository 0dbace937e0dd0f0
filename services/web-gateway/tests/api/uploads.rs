//! Files of an order stream into staging in the object store, announced by events; what is
//! refused or abandoned leaves nothing staged.

use bureau_platform::settings::find_config_dir;
use bureau_platform::{Secret, Settings};
use bureau_test_support::eventually;
use proto_events::Event;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

#[tokio::test]
async fn files_stream_to_staging_and_two_events_announce_them() {
    let Some((gateway, store)) = gateway_with_store(|_| {}).await else {
        return;
    };
    let (_, token) = gateway.customer("olena@example.com").await;
    let (_connection, mut events) = gateway.observe_events().await;

    let contents = b"%PDF-1.7\nnot really a PDF, but it starts like one\n".to_vec();
    let part = reqwest::multipart::Part::bytes(contents.clone())
        .file_name("")
        .mime_str("application/pdf")
        .unwrap();
    let placed = gateway
        .http
        .post(gateway.url("/api/orders"))
        .bearer_auth(&token)
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap();
    assert_eq!(placed.status(), StatusCode::CREATED);
    let body: Value = placed.json().await.unwrap();
    assert_eq!(body["files"][0]["name"], "file-1");
    assert_eq!(body["files"][0]["size"], contents.len());

    let Event::OrderCreated(created) = next_event(&mut events).await.payload else {
        panic!("OrderCreated first")
    };
    assert_eq!(created.file_count, 1);
    assert_eq!(created.text, "");
    let Event::FileReceived(file) = next_event(&mut events).await.payload else {
        panic!("FileReceived second")
    };
    assert_eq!(
        file.file_id.to_string(),
        body["files"][0]["file_id"].as_str().unwrap()
    );
    assert_eq!(file.declared_size, Some(contents.len() as u64));
    assert_eq!(
        file.declared_content_type.as_deref(),
        Some("application/pdf")
    );
    let proto_events::FileSource::WebUpload {
        staging_key,
        measured,
    } = file.source
    else {
        panic!("a web upload")
    };
    // What the gateway measured while streaming: the storage worker relies on it.
    assert_eq!(
        measured,
        Some(proto_events::Measured {
            size: contents.len() as u64,
            sha256: hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&contents)),
            content_type: "application/pdf".into(),
        })
    );
    assert_eq!(
        staging_key,
        proto_events::object_keys::staging_key(created.order_id, file.file_id)
    );
    assert_eq!(
        store.head(&staging_key).await.unwrap(),
        Some(contents.len() as u64)
    );

    remove_bucket(&store).await;
    gateway.finish().await;
}

#[tokio::test]
async fn an_oversized_file_is_refused_and_its_order_leaves_nothing_staged() {
    let Some((gateway, store)) =
        gateway_with_store(|settings| settings.web_gateway.max_upload_bytes = 1000).await
    else {
        return;
    };
    let (_, token) = gateway.customer("olena@example.com").await;

    let form = reqwest::multipart::Form::new()
        .part(
            "file",
            reqwest::multipart::Part::bytes(vec![b'a'; 500]).file_name("fits.txt"),
        )
        .part(
            "file",
            reqwest::multipart::Part::bytes(vec![b'b'; 5000]).file_name("too-big.txt"),
        );
    let refused = gateway
        .http
        .post(gateway.url("/api/orders"))
        .bearer_auth(&token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let (status, _, message) = error_of(refused).await;
    assert_eq!(
        (status, message.as_str()),
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            "Each file can be at most 1000 bytes."
        )
    );
    assert_eq!(
        staged_keys(&store).await,
        Vec::<String>::new(),
        "the file that fitted was removed too"
    );

    remove_bucket(&store).await;
    gateway.finish().await;
}

#[tokio::test]
async fn a_client_that_goes_away_midway_leaves_nothing_staged() {
    let Some((gateway, store)) = gateway_with_store(|_| {}).await else {
        return;
    };
    let (_, token) = gateway.customer("olena@example.com").await;

    // One whole file, then the start of a second; the body announced is far longer.
    let head = format!(
        "POST /api/orders HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: multipart/form-data; boundary=XyZ\r\nContent-Length: 100000\r\n\r\n\
         --XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"first.txt\"\r\n\r\nhello\r\n\
         --XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"second.txt\"\r\n\r\npartial"
    );
    use tokio::io::AsyncWriteExt;
    let mut connection = tokio::net::TcpStream::connect(gateway.running.http_addr)
        .await
        .unwrap();
    connection.write_all(head.as_bytes()).await.unwrap();
    eventually("the first file is staged", DEADLINE, || async {
        staged_keys(&store).await.len() == 1
    })
    .await
    .unwrap();
    drop(connection);
    eventually("the staged file is removed", DEADLINE, || async {
        staged_keys(&store).await.is_empty()
    })
    .await
    .unwrap();

    remove_bucket(&store).await;
    gateway.finish().await;
}

/// A TCP proxy between the gateway and RabbitMQ that can hold back what the broker sends:
/// while stalled, the gateway's publishes still reach the broker, but their confirms do not
/// come back.
struct StallingProxy {
    addr: std::net::SocketAddr,
    stalled: tokio::sync::watch::Sender<bool>,
    /// Bytes the gateway sent while the broker's answers were held back.
    sent_while_stalled: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl StallingProxy {
    async fn start(upstream: String) -> StallingProxy {
        use std::sync::atomic::Ordering;
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stalled, _) = tokio::sync::watch::channel(false);
        let sent_while_stalled = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (stall, counter) = (stalled.clone(), sent_while_stalled.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = tokio::net::TcpStream::connect(&upstream).await else {
                    continue;
                };
                let (mut client_read, mut client_write) = client.into_split();
                let (mut server_read, mut server_write) = server.into_split();
                let (held, counter) = (stall.subscribe(), counter.clone());
                tokio::spawn(async move {
                    let mut buffer = vec![0u8; 16 * 1024];
                    while let Ok(read) = client_read.read(&mut buffer).await {
                        if read == 0 || server_write.write_all(&buffer[..read]).await.is_err() {
                            break;
                        }
                        if *held.borrow() {
                            counter.fetch_add(read, Ordering::SeqCst);
                        }
                    }
                });
                let mut held = stall.subscribe();
                tokio::spawn(async move {
                    let mut buffer = vec![0u8; 16 * 1024];
                    loop {
                        if held.wait_for(|stalled| !stalled).await.is_err() {
                            break;
                        }
                        let read = match server_read.read(&mut buffer).await {
                            Ok(0) | Err(_) => break,
                            Ok(read) => read,
                        };
                        // Bytes read just as the stall began are held back too.
                        if held.wait_for(|stalled| !stalled).await.is_err()
                            || client_write.write_all(&buffer[..read]).await.is_err()
                        {
                            break;
                        }
                    }
                });
            }
        });
        StallingProxy {
            addr,
            stalled,
            sent_while_stalled,
        }
    }

    fn stall(&self, on: bool) {
        self.stalled.send_replace(on);
    }

    fn sent_while_stalled(&self) -> usize {
        self.sent_while_stalled
            .load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// The client goes away while the gateway waits for the broker's confirm of its order: the
/// order may well exist (here it does), so its staged file must stay for the storage worker.
#[tokio::test]
async fn a_client_that_goes_away_mid_confirm_leaves_its_files_with_the_order() {
    let dir = find_config_dir(std::path::Path::new(env!("CARGO_MANIFEST_DIR"))).unwrap();
    let broker_url = Settings::load_from(&dir).unwrap().broker.url;
    let (credentials, rest) = broker_url
        .expose()
        .split_once('@')
        .expect("user@host in the broker URL");
    let (upstream, vhost) = rest.split_once('/').expect("a vhost in the broker URL");
    let proxy = StallingProxy::start(upstream.to_owned()).await;
    let proxied = format!("{credentials}@{}/{vhost}", proxy.addr);
    let Some((gateway, store)) =
        gateway_with_store(|settings| settings.broker.url = Secret::new(proxied)).await
    else {
        return;
    };
    let (_, token) = gateway.customer("olena@example.com").await;
    let (_connection, mut events) = gateway.observe_events().await;
    // A first order, so the gateway's connection to the broker is up (through the proxy).
    let warm_up = gateway
        .http
        .post(gateway.url("/api/orders"))
        .bearer_auth(&token)
        .multipart(reqwest::multipart::Form::new().text("text", "First"))
        .send()
        .await
        .unwrap();
    assert_eq!(warm_up.status(), StatusCode::CREATED);
    next_event(&mut events).await;

    proxy.stall(true);
    let contents = b"%PDF-1.7\nthe scan of a diploma\n";
    let mut body = Vec::new();
    body.extend_from_slice(
        b"--XyZ\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\nTranslate it\r\n\
          --XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"scan.pdf\"\r\n\
          Content-Type: application/pdf\r\n\r\n",
    );
    body.extend_from_slice(contents);
    body.extend_from_slice(b"\r\n--XyZ--\r\n");
    let head = format!(
        "POST /api/orders HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: multipart/form-data; boundary=XyZ\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut client = tokio::net::TcpStream::connect(gateway.running.http_addr)
        .await
        .unwrap();
    client.write_all(head.as_bytes()).await.unwrap();
    client.write_all(&body).await.unwrap();
    // The file is staged and the events are with the broker; the gateway awaits the confirm.
    eventually(
        "the order's events sent to the broker",
        DEADLINE,
        || async { proxy.sent_while_stalled() > 300 && staged_keys(&store).await.len() == 1 },
    )
    .await
    .unwrap();
    // The client goes away; the gateway sees it and drops the request (it closes its end).
    client.shutdown().await.unwrap();
    let mut rest = Vec::new();
    tokio::time::timeout(DEADLINE, client.read_to_end(&mut rest))
        .await
        .expect("the gateway closes the connection in time")
        .ok();
    assert!(
        rest.is_empty(),
        "no answer was sent: {}",
        String::from_utf8_lossy(&rest)
    );

    // The broker's confirm comes after all: the order exists, and so must its file.
    proxy.stall(false);
    let Event::OrderCreated(created) = next_event(&mut events).await.payload else {
        panic!("OrderCreated first")
    };
    let Event::FileReceived(file) = next_event(&mut events).await.payload else {
        panic!("FileReceived second")
    };
    assert_eq!(file.order_id, created.order_id);
    let proto_events::FileSource::WebUpload { staging_key, .. } = file.source else {
        panic!("a web upload")
    };
    assert_eq!(
        store.head(&staging_key).await.unwrap(),
        Some(contents.len() as u64),
        "the staged file of an order the broker has is kept"
    );

    remove_bucket(&store).await;
    gateway.finish().await;
}
