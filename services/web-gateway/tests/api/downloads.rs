//! Names that lie and types that run: names lose their invisible characters where they
//! enter, and what is served back is an attachment of a safe type — checked live on the
//! object store's presigned responses and on the gateway's own.

use proto_events::{Event, OrderStatus};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_DISPOSITION, CONTENT_TYPE, LOCATION};
use serde_json::Value;
use uuid::Uuid;

use crate::helpers::*;

#[tokio::test]
async fn an_uploaded_name_loses_its_bidirectional_and_control_characters() {
    let Some((gateway, store)) = gateway_with_store(|_| {}).await else {
        return;
    };
    let (_, token) = gateway.customer("olena@example.com").await;
    let (_connection, mut events) = gateway.observe_events().await;

    let part = reqwest::multipart::Part::bytes(b"<html><script>alert(1)</script>".to_vec())
        .file_name("invoice\u{202E}lmth.pdf\u{200B}");
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
    assert_eq!(body["files"][0]["name"], "invoicelmth.pdf");
    let Event::OrderCreated(_) = next_event(&mut events).await.payload else {
        panic!("OrderCreated first")
    };
    let Event::FileReceived(file) = next_event(&mut events).await.payload else {
        panic!("FileReceived second")
    };
    assert_eq!(file.original_name, "invoicelmth.pdf");

    for key in staged_keys(&store).await {
        store.delete(&key).await.unwrap();
    }
    remove_bucket(&store).await;
    gateway.finish().await;
}

/// A stored file row as the persistence worker writes it, and its bytes in the bucket
/// (stored under `s3_type`, which the download must not trust).
async fn stored_file(
    gateway: &Gateway,
    store: &bureau_platform::object_store::ObjectStore,
    order_id: Uuid,
    name: &str,
    sniffed: &str,
    s3_type: &str,
    bytes: &[u8],
) -> (Uuid, String) {
    let file_id = Uuid::now_v7();
    let key = format!("orders/{order_id}/{file_id}/file");
    store
        .client()
        .put_object()
        .bucket(store.bucket())
        .key(&key)
        .content_type(s3_type)
        .body(bytes.to_vec().into())
        .send()
        .await
        .expect("put the object");
    sqlx::query(
        "INSERT INTO order_files (id, order_id, original_name, source, declared_size, state, object_key, \
                                  size_bytes, content_type, received_at, settled_at) \
         VALUES (?, ?, ?, 'web', ?, 'stored', ?, ?, ?, NOW(6), NOW(6))",
    )
    .bind(file_id)
    .bind(order_id)
    .bind(name)
    .bind(bytes.len() as u64)
    .bind(&key)
    .bind(bytes.len() as u64)
    .bind(sniffed)
    .execute(&gateway.db)
    .await
    .expect("insert a stored file");
    (file_id, key)
}

#[tokio::test]
async fn downloads_are_attachments_of_a_safe_type_and_pages_never_render() {
    let Some((gateway, store)) = gateway_with_store(|_| {}).await else {
        return;
    };
    let (account, token) = gateway.customer("olena@example.com").await;
    let order_id = gateway
        .insert_order(account, "48213097", "translate", OrderStatus::Accepted)
        .await;
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let download = |file_id: Uuid| {
        no_redirects
            .get(gateway.url(&format!("/api/orders/48213097/files/{file_id}/download")))
            .bearer_auth(&token)
            .send()
    };

    // A PDF (a name that lies, stored in S3 as HTML): the object store's own response,
    // through the presigned URL, is an attachment typed as a PDF with the name cleaned.
    let pdf = b"%PDF-1.7\n".to_vec();
    let (pdf_id, pdf_key) = stored_file(
        &gateway,
        &store,
        order_id,
        "scan\u{202E}fdp.html\u{202C}.pdf",
        "application/pdf",
        "text/html",
        &pdf,
    )
    .await;
    let answer = download(pdf_id).await.unwrap();
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    let presigned = answer.headers()[LOCATION].to_str().unwrap().to_owned();
    let from_store = reqwest::get(&presigned).await.unwrap();
    assert_eq!(from_store.status(), StatusCode::OK);
    assert_eq!(from_store.headers()[CONTENT_TYPE], "application/pdf");
    assert_eq!(
        from_store.headers()[CONTENT_DISPOSITION],
        "attachment; filename*=UTF-8''scanfdp.html.pdf"
    );
    assert_eq!(from_store.bytes().await.unwrap(), pdf);

    // A type nobody listed: opaque, from the object store too.
    let (odd_id, odd_key) = stored_file(
        &gateway,
        &store,
        order_id,
        "data.bin",
        "application/x-whatever",
        "text/html",
        b"\x00\x01",
    )
    .await;
    let presigned = download(odd_id).await.unwrap().headers()[LOCATION]
        .to_str()
        .unwrap()
        .to_owned();
    let from_store = reqwest::get(&presigned).await.unwrap();
    assert_eq!(
        from_store.headers()[CONTENT_TYPE],
        "application/octet-stream"
    );
    assert!(
        from_store.headers()[CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .starts_with("attachment;")
    );

    // HTML and SVG (by type or by name): the gateway serves them itself, opaque, with
    // nosniff and a sandbox, never a redirect to bytes a browser would render.
    let page = b"<html><script>alert(document.cookie)</script></html>".to_vec();
    for (name, sniffed) in [
        ("report.html", "text/html"),
        ("logo.svg", "image/svg+xml"),
        ("innocent.pdf", "text/html"),
        ("x\u{202E}fdp.svg", "application/pdf"),
        ("page.htm", "text/plain"),
    ] {
        let (file_id, key) = stored_file(
            &gateway,
            &store,
            order_id,
            name,
            sniffed,
            "text/html",
            &page,
        )
        .await;
        let answer = download(file_id).await.unwrap();
        assert_eq!(answer.status(), StatusCode::OK, "{name}");
        let headers = answer.headers().clone();
        assert_eq!(headers[CONTENT_TYPE], "application/octet-stream", "{name}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{name}");
        assert!(
            headers[CONTENT_DISPOSITION]
                .to_str()
                .unwrap()
                .starts_with("attachment; filename*=UTF-8''"),
            "{name}"
        );
        assert!(
            !headers[CONTENT_DISPOSITION]
                .to_str()
                .unwrap()
                .contains("%E2%80%AE"),
            "no bidirectional override in {name}"
        );
        assert!(
            headers["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("sandbox")
        );
        assert_eq!(answer.bytes().await.unwrap(), page, "{name}");
        store.delete(&key).await.unwrap();
    }

    store.delete(&pdf_key).await.unwrap();
    store.delete(&odd_key).await.unwrap();
    remove_bucket(&store).await;
    gateway.finish().await;
}
