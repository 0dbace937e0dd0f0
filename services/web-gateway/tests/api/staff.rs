//! Staff work the orders: the list and status changes through the state machine and roles.

use bureau_accounts::{Role, create_account};
use proto_events::{Event, OrderStatus};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::*;

/// An audit row: action, who, which order, subject, detail.
type AuditRow = (
    String,
    Option<Uuid>,
    Option<Uuid>,
    Option<String>,
    Option<String>,
);

#[tokio::test]
async fn staff_change_status_through_the_state_machine() {
    let gateway = Gateway::start().await;
    let http = &gateway.http;
    let (customer, _) = gateway.customer("olena@example.com").await;
    let order_id = gateway
        .insert_order(
            customer,
            "48213097",
            "Translate",
            OrderStatus::AwaitingConfirmation,
        )
        .await;
    let manager = create_account(
        &gateway.db,
        "manager@example.com",
        PASSWORD,
        "Maria",
        Role::Manager,
    )
    .await
    .unwrap();
    create_account(
        &gateway.db,
        "executor@example.com",
        PASSWORD,
        "Ivan",
        Role::Executor,
    )
    .await
    .unwrap();
    let manager_token = gateway.log_in("manager@example.com").await;
    let executor_token = gateway.log_in("executor@example.com").await;
    let (_connection, mut events) = gateway.observe_events().await;

    // The list holds what the matrix lets one see: everything for a manager, an executor's
    // own orders only (this one is unassigned, and executors do not take orders here).
    let list_of = |token: String| {
        let http = http.clone();
        let url = gateway.url("/api/staff/orders?status=awaiting_confirmation");
        async move {
            http.get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let executors = list_of(executor_token.clone()).await;
    assert_eq!(executors["orders"], json!([]), "{executors}");
    let list = list_of(manager_token.clone()).await;
    assert_eq!(list["orders"][0]["customer_name"], "Olena Koval");
    assert_eq!(list["orders"][0]["channel"], "web");
    let unknown = http
        .get(gateway.url("/api/staff/orders?status=done"))
        .bearer_auth(&executor_token)
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(unknown).await.1, "unknown_status");

    let status_url = gateway.url(&format!("/api/staff/orders/{order_id}/status"));
    let by_executor = http
        .post(&status_url)
        .bearer_auth(&executor_token)
        .json(&json!({"to": "accepted"}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(by_executor).await.0, StatusCode::FORBIDDEN);
    let skipping = http
        .post(&status_url)
        .bearer_auth(&manager_token)
        .json(&json!({"to": "delivered"}))
        .send()
        .await
        .unwrap();
    let (status, code, message) = error_of(skipping).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::CONFLICT, "transition_not_allowed")
    );
    assert_eq!(
        message,
        "An order cannot go from awaiting_confirmation to delivered."
    );
    let no_reason = http
        .post(&status_url)
        .bearer_auth(&manager_token)
        .json(&json!({"to": "rejected"}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(no_reason).await.1, "reason_required");
    let unknown = http
        .post(&status_url)
        .bearer_auth(&manager_token)
        .json(&json!({"to": "done"}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(unknown).await.0, StatusCode::UNPROCESSABLE_ENTITY);
    let missing = http
        .post(gateway.url(&format!("/api/staff/orders/{}/status", Uuid::now_v7())))
        .bearer_auth(&manager_token)
        .json(&json!({"to": "accepted"}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(missing).await.0, StatusCode::NOT_FOUND);

    let stale = http
        .post(&status_url)
        .bearer_auth(&manager_token)
        .json(&json!({"to": "accepted", "expected_version": 0}))
        .send()
        .await
        .unwrap();
    let (status, code, message) = error_of(stale).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::CONFLICT, "version_conflict")
    );
    assert_eq!(
        message,
        "Order №48213097 changed since you saw it: it is now awaiting_confirmation (version 1), you saw version 0."
    );

    let accepted = http
        .post(&status_url)
        .bearer_auth(&manager_token)
        .json(&json!({"to": "accepted", "expected_version": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), StatusCode::ACCEPTED);
    let location = accepted.headers()[reqwest::header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned();
    let body: Value = accepted.json().await.unwrap();
    let request_id = body["request_id"].as_str().unwrap().to_owned();
    assert_eq!(location, format!("/api/staff/status-requests/{request_id}"));
    assert_eq!(
        body,
        json!({
            "request_id": request_id, "order_id": order_id, "order_number": "48213097",
            "from": "awaiting_confirmation", "to": "accepted", "expected_version": 1,
            "outcome": "pending", "request_url": location,
        })
    );

    // A request, never the change itself: the persistence worker decides it.
    let event = next_event(&mut events).await;
    assert_eq!(event.correlation_id, order_id);
    let Event::OrderStatusChangeRequested(requested) = event.payload else {
        panic!("not a status change request: {event:?}")
    };
    assert_eq!(requested.request_id.to_string(), request_id);
    assert_eq!(
        (requested.from, requested.to, requested.expected_version),
        (OrderStatus::AwaitingConfirmation, OrderStatus::Accepted, 1)
    );
    assert_eq!(requested.order_number, "48213097");
    assert_eq!(
        requested.actor,
        proto_events::Actor::Staff {
            account_id: manager
        }
    );

    // Audited as the pages audit it: who, on which order, which request, what.
    let audited: Vec<AuditRow> = sqlx::query_as(
        "SELECT action, account_id, order_id, subject, detail FROM staff_audit ORDER BY id",
    )
    .fetch_all(&gateway.db)
    .await
    .unwrap();
    assert_eq!(
        audited,
        [(
            "status_change_requested".to_owned(),
            Some(manager),
            Some(order_id),
            Some(request_id.clone()),
            Some("awaiting_confirmation -> accepted".to_owned())
        )]
    );

    // Pending until the persistence worker (not running here) decides it; an executor may
    // not follow a request about an order that is not theirs.
    let refused = http
        .get(gateway.url(&location))
        .bearer_auth(&executor_token)
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(refused).await.0, StatusCode::FORBIDDEN);
    let pending: Value = http
        .get(gateway.url(&location))
        .bearer_auth(&manager_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(pending["outcome"], "pending");
    assert_eq!(pending["actor_kind"], "staff");
    assert_eq!(pending["version"], Value::Null);
    let unknown = http
        .get(gateway.url(&format!("/api/staff/status-requests/{}", Uuid::now_v7())))
        .bearer_auth(&manager_token)
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(unknown).await.0, StatusCode::NOT_FOUND);

    gateway.finish().await;
}
