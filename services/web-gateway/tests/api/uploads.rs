//! Files of an order stream into staging in the object store, announced by events; what is
//! refused or abandoned leaves nothing staged.

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
