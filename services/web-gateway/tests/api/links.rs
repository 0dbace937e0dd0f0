//! Upload and download links are stored and revocable: staff revoke them, the order's
//! closing revokes them, and an upload that races the order's closing is checked again at
//! its end and leaves nothing behind.

use bureau_accounts::{Role, create_account};
use bureau_platform::Secret;
use bureau_platform::links::{self, LinkPurpose, Revocation};
use proto_events::OrderStatus;
use reqwest::StatusCode;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use uuid::Uuid;

use crate::helpers::*;

const SECRET: &str = "0123456789abcdef0123456789abcdef";

fn token_of(link: &str) -> String {
    link.rsplit_once("/u/")
        .or_else(|| link.rsplit_once("/d/"))
        .expect("a link")
        .1
        .to_owned()
}

async fn upload(gateway: &Gateway, token: &str, name: &str) -> reqwest::Response {
    let part = reqwest::multipart::Part::bytes(b"%PDF-1.7\n".to_vec()).file_name(name.to_owned());
    gateway
        .http
        .post(gateway.url(&format!("/u/{token}")))
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn links_are_stored_and_staff_or_the_orders_closing_revoke_them() {
    let Some((gateway, store)) =
        gateway_with_store(|settings| settings.links.secret = Secret::new(SECRET)).await
    else {
        return;
    };
    let (customer, _) = gateway.customer("olena@example.com").await;
    let order_id = gateway
        .insert_order(customer, "48213097", "Translate", OrderStatus::Accepted)
        .await;

    // A token signed with our secret but never stored is not a link of ours.
    let unstored = bureau_platform::links::LinkSigner::new(&Secret::new(SECRET))
        .unwrap()
        .sign(
            LinkPurpose::Upload,
            order_id,
            std::time::Duration::from_secs(600),
            Uuid::now_v7(),
        );
    assert_eq!(
        upload(&gateway, &unstored, "a.pdf").await.status(),
        StatusCode::NOT_FOUND
    );

    let link = links::issue_upload_link(&gateway.db, &gateway.settings, order_id)
        .await
        .unwrap()
        .unwrap();
    let token = token_of(&link);
    let accepted = upload(&gateway, &token, "a.pdf").await;
    assert_eq!(accepted.status(), StatusCode::CREATED);

    // Staff revoke the order's links: the link stops working at once.
    create_account(
        &gateway.db,
        "manager@example.com",
        PASSWORD,
        "Maria",
        Role::Manager,
    )
    .await
    .unwrap();
    let manager = gateway.log_in("manager@example.com").await;
    let revoke_url = gateway.url(&format!("/api/staff/orders/{order_id}/links/revoke"));
    let (customer_account, customer_token) = gateway.customer("taras@example.com").await;
    let _ = customer_account;
    let refused = gateway
        .http
        .post(&revoke_url)
        .bearer_auth(&customer_token)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let revoked = gateway
        .http
        .post(&revoke_url)
        .bearer_auth(&manager)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::OK);
    assert_eq!(revoked.json::<Value>().await.unwrap()["revoked"], 1);
    assert_eq!(
        upload(&gateway, &token, "b.pdf").await.status(),
        StatusCode::GONE
    );
    let page = gateway
        .http
        .get(gateway.url(&format!("/u/{token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::GONE);
    assert!(page.text().await.unwrap().contains("withdrawn"));

    // The order's closing (as the persistence worker records it) revokes a new link too.
    let link = links::issue_upload_link(&gateway.db, &gateway.settings, order_id)
        .await
        .unwrap()
        .unwrap();
    let mut connection = gateway.db.acquire().await.unwrap();
    let closed = links::revoke_order_links(
        &mut connection,
        order_id,
        &[LinkPurpose::Upload],
        Revocation::OrderClosed,
    )
    .await
    .unwrap();
    assert_eq!(closed, 1);
    drop(connection);
    assert_eq!(
        upload(&gateway, &token_of(&link), "c.pdf").await.status(),
        StatusCode::GONE
    );

    for key in staged_keys(&store).await {
        store.delete(&key).await.unwrap();
    }
    remove_bucket(&store).await;
    gateway.finish().await;
}

#[tokio::test]
async fn an_upload_racing_its_orders_closing_is_refused_at_its_end_and_leaves_nothing() {
    let Some((gateway, store)) =
        gateway_with_store(|settings| settings.links.secret = Secret::new(SECRET)).await
    else {
        return;
    };
    let (customer, _) = gateway.customer("olena@example.com").await;
    let order_id = gateway
        .insert_order(customer, "48213097", "Translate", OrderStatus::InProgress)
        .await;
    let link = links::issue_upload_link(&gateway.db, &gateway.settings, order_id)
        .await
        .unwrap()
        .unwrap();
    let token = token_of(&link);

    // `Expect: 100-continue`: the gateway asks for the body only once the link and the
    // order passed the first check, so "100 Continue" says the upload is under way.
    let body = "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"late.pdf\"\r\n\r\n\
                %PDF-1.7 the bytes that arrive after the order closed\r\n--XyZ--\r\n";
    let head = format!(
        "POST /u/{token} HTTP/1.1\r\nHost: gateway\r\nExpect: 100-continue\r\n\
         Content-Type: multipart/form-data; boundary=XyZ\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let mut stream = tokio::net::TcpStream::connect(gateway.running.http_addr)
        .await
        .unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    while !String::from_utf8_lossy(&answer).contains("100 Continue") {
        let read = tokio::time::timeout(DEADLINE, stream.read(&mut buffer))
            .await
            .expect("100 Continue in time")
            .unwrap();
        assert!(read > 0, "{}", String::from_utf8_lossy(&answer));
        answer.extend_from_slice(&buffer[..read]);
    }

    // The order closes while the bytes are on their way (a manager delivers it).
    sqlx::query("UPDATE orders SET status = 'delivered', status_version = 2 WHERE id = ?")
        .bind(order_id)
        .execute(&gateway.db)
        .await
        .unwrap();

    stream.write_all(body.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    loop {
        let read = tokio::time::timeout(DEADLINE, stream.read(&mut buffer))
            .await
            .expect("an answer in time")
            .unwrap();
        answer.extend_from_slice(&buffer[..read]);
        let text = String::from_utf8_lossy(&answer);
        if read == 0 || text.contains("</html>") || text.contains("}]}") {
            break;
        }
    }
    let answer = String::from_utf8_lossy(&answer).into_owned();
    assert!(
        answer.starts_with("HTTP/1.1 409"),
        "refused at the end of the upload: {answer}"
    );
    assert!(answer.contains("is closed"), "{answer}");
    assert_eq!(
        staged_keys(&store).await,
        Vec::<String>::new(),
        "nothing staged"
    );

    remove_bucket(&store).await;
    gateway.finish().await;
}
