//! Every event survives the wire, readers tolerate unknown fields, and every kind of poison
//! is refused with a reason.

use chrono::Utc;
use proto_events::*;
use uuid::Uuid;

fn samples() -> Vec<Event> {
    let order_id = Uuid::now_v7();
    let file_id = Uuid::now_v7();
    vec![
        OrderCreated {
            order_id,
            order_number: "48213097".into(),
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
            created_at: Utc::now(),
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
                staging_key: "staging/x".into(),
                measured: None,
            },
            original_name: "a.txt".into(),
            declared_size: None,
            declared_content_type: None,
            note: None,
        }
        .into(),
        FileReceived {
            order_id,
            file_id,
            purpose: FilePurpose::CustomerUpload,
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
            order_number: "48213097".into(),
            from: OrderStatus::AwaitingConfirmation,
            to: OrderStatus::Accepted,
            version: 2,
            reason: None,
            actor: Actor::Staff {
                account_id: Uuid::now_v7(),
            },
            changed_at: Utc::now(),
            request_id: Some(Uuid::now_v7()),
        }
        .into(),
        OrderStatusChangeRequested {
            request_id: Uuid::now_v7(),
            order_id,
            order_number: "48213097".into(),
            expected_version: 2,
            from: OrderStatus::Quoted,
            to: OrderStatus::Cancelled,
            reason: Some(QuoteAnswer::DECLINED_REASON.into()),
            actor: Actor::Customer,
            quote_id: Some(Uuid::now_v7()),
            requested_at: Utc::now(),
        }
        .into(),
        OrderStatusChangeRefused {
            request_id: Uuid::now_v7(),
            order_id,
            order_number: "48213097".into(),
            from: OrderStatus::AwaitingConfirmation,
            to: OrderStatus::Rejected,
            expected_version: 1,
            actor: Actor::Staff {
                account_id: Uuid::now_v7(),
            },
            code: RefusalCode::VersionConflict,
            reason: "Order №48213097 changed since the request was made".into(),
            current_status: OrderStatus::Accepted,
            current_version: 2,
            refused_at: Utc::now(),
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
            order_number: "48213097".into(),
            amount_minor: 125_000,
            currency: "UAH".into(),
            note: None,
            valid_until: None,
        }
        .into(),
        OrderCommentPosted {
            order_id,
            comment_id: Uuid::now_v7(),
            author_account_id: Uuid::now_v7(),
            text: "Клієнт просить терміново".into(),
        }
        .into(),
        OrderAssigned {
            order_id,
            order_number: "48213097".into(),
            assignee: Some(Uuid::now_v7()),
            actor_account_id: Uuid::now_v7(),
            assigned_at: Utc::now(),
        }
        .into(),
        PaymentReceived {
            payment_id: Uuid::now_v7(),
            order_id,
            order_number: "48213097".into(),
            amount_minor: 190_000,
            currency: "UAH".into(),
            method: PaymentMethod::Telegram,
            telegram_payment_charge_id: Some("6543210987_1234567890".into()),
            provider_payment_charge_id: Some("prov_123".into()),
            actor: Actor::Customer,
            note: None,
            received_at: Utc::now(),
        }
        .into(),
        PaymentRefunded {
            refund_id: Uuid::now_v7(),
            order_id,
            order_number: "48213097".into(),
            amount_minor: 50_000,
            currency: "UAH".into(),
            reason: "one page less".into(),
            actor_account_id: Uuid::now_v7(),
            refunded_at: Utc::now(),
        }
        .into(),
        BookingChanged {
            booking_id: Uuid::now_v7(),
            order_id,
            customer_id: Some(Uuid::now_v7()),
            change: BookingChange::Rescheduled,
            resource_id: 1,
            service_code: "interpreting".into(),
            starts_at: Utc::now(),
            ends_at: Utc::now() + chrono::Duration::minutes(60),
            previous_starts_at: Some(Utc::now()),
            by: "telegram:42".into(),
            changed_at: Utc::now(),
        }
        .into(),
    ]
}

#[test]
fn every_event_round_trips() {
    let samples = samples();
    let kinds: std::collections::HashSet<_> = samples.iter().map(|e| e.kind()).collect();
    assert_eq!(
        kinds.len(),
        EventKind::ALL.len(),
        "a sample for every event kind"
    );
    for payload in samples {
        let order_id = payload.order_id();
        let envelope = Envelope::new("test", order_id, payload);
        let decoded = Envelope::from_json(&envelope.to_json()).unwrap();
        assert_eq!(decoded, envelope);
        assert_eq!(decoded.correlation_id, order_id);
    }
}

#[test]
fn readers_ignore_unknown_fields() {
    let envelope = Envelope::new("test", Uuid::now_v7(), samples().remove(0));
    let mut json: serde_json::Value = serde_json::from_slice(&envelope.to_json()).unwrap();
    json["added_later"] = serde_json::json!(true);
    json["payload"]["priority"] = serde_json::json!("high");
    let decoded = Envelope::from_json(&serde_json::to_vec(&json).unwrap()).unwrap();
    assert_eq!(decoded, envelope);
}

#[test]
fn poison_is_refused_with_a_reason() {
    let good = Envelope::new("test", Uuid::now_v7(), samples().remove(0));
    let json: serde_json::Value = serde_json::from_slice(&good.to_json()).unwrap();

    let not_json = Envelope::from_json(b"{not json").unwrap_err();
    assert!(matches!(not_json, DecodeError::Malformed(_)), "{not_json}");

    let mut unknown = json.clone();
    unknown["event_type"] = "order.teleported".into();
    let err = Envelope::from_json(&serde_json::to_vec(&unknown).unwrap()).unwrap_err();
    assert!(
        matches!(err, DecodeError::UnknownType(ref t) if t == "order.teleported"),
        "{err}"
    );

    let mut future = json.clone();
    future["schema_version"] = 99.into();
    let err = Envelope::from_json(&serde_json::to_vec(&future).unwrap()).unwrap_err();
    assert!(
        matches!(err, DecodeError::UnsupportedVersion { version: 99, .. }),
        "{err}"
    );

    let mut missing = json.clone();
    missing["payload"]
        .as_object_mut()
        .unwrap()
        .remove("order_number");
    let err = Envelope::from_json(&serde_json::to_vec(&missing).unwrap()).unwrap_err();
    assert!(err.to_string().contains("order_number"), "{err}");

    let huge = vec![b' '; envelope::MAX_EVENT_BYTES + 1];
    assert!(matches!(
        Envelope::from_json(&huge).unwrap_err(),
        DecodeError::TooLarge(_)
    ));
}

/// A web upload's source as the JSON looks on the wire: the gateway's measurement rides in
/// `measured`; an event from before that field existed still decodes, without it.
#[test]
fn web_upload_sources_carry_an_optional_measurement() {
    let measured = FileSource::WebUpload {
        staging_key: "staging/o/f".into(),
        measured: Some(Measured {
            size: 5,
            sha256: "cd".repeat(32),
            content_type: "application/pdf".into(),
        }),
    };
    let json = serde_json::to_value(&measured).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "kind": "web_upload",
            "staging_key": "staging/o/f",
            "measured": {"size": 5, "sha256": "cd".repeat(32), "content_type": "application/pdf"}
        })
    );
    assert_eq!(
        serde_json::from_value::<FileSource>(json).unwrap(),
        measured
    );

    let older = serde_json::json!({"kind": "web_upload", "staging_key": "staging/o/f"});
    let decoded: FileSource = serde_json::from_value(older.clone()).unwrap();
    assert_eq!(
        decoded,
        FileSource::WebUpload {
            staging_key: "staging/o/f".into(),
            measured: None
        }
    );
    // And one without a measurement is written as before, so older readers see no change.
    assert_eq!(serde_json::to_value(&decoded).unwrap(), older);
}

/// A status change of the old shape (before requests: no `request_id`) still decodes, and
/// says it was never recorded; the new shape carries its request.
#[test]
fn status_changes_say_whether_they_were_recorded() {
    let old = serde_json::json!({
        "order_id": Uuid::now_v7(), "order_number": "48213097", "from": "awaiting_confirmation",
        "to": "accepted", "version": 2, "reason": null, "actor": {"kind": "customer"},
        "changed_at": "2026-12-01T10:00:00Z"
    });
    let decoded: OrderStatusChanged = serde_json::from_value(old.clone()).unwrap();
    assert!(!decoded.is_recorded());
    assert_eq!(
        serde_json::to_value(&decoded).unwrap(),
        old,
        "written as before"
    );
    let request_id = Uuid::now_v7();
    let recorded = OrderStatusChanged {
        request_id: Some(request_id),
        ..decoded
    };
    assert!(recorded.is_recorded());
    assert_eq!(
        serde_json::to_value(&recorded).unwrap()["request_id"],
        serde_json::json!(request_id)
    );
    assert_eq!(
        serde_json::to_value(RefusalCode::AlreadyInStatus).unwrap(),
        "already_in_status"
    );
    assert_eq!(
        EventKind::OrderStatusChangeRequested.routing_key(),
        "order.status.change_requested"
    );
    assert_eq!(
        EventKind::OrderStatusChangeRefused.routing_key(),
        "order.status.change_refused"
    );
}

#[test]
fn caused_events_keep_the_correlation() {
    let cause = Envelope::new("a", Uuid::now_v7(), samples().remove(1));
    let effect = Envelope::caused_by("b", &cause, samples().remove(4));
    assert_eq!(effect.correlation_id, cause.correlation_id);
    assert_eq!(effect.causation_id, Some(cause.event_id));
}

#[test]
fn deterministic_ids_repeat() {
    assert_eq!(
        envelope::deterministic_id(b"x"),
        envelope::deterministic_id(b"x")
    );
    assert_ne!(
        envelope::deterministic_id(b"x"),
        envelope::deterministic_id(b"y")
    );
}

#[test]
fn quotes_carry_an_optional_validity_written_only_when_set() {
    let old = serde_json::json!({
        "order_id": Uuid::now_v7(), "order_number": "48213097", "amount_minor": 125000,
        "currency": "UAH", "note": null
    });
    let decoded: PriceQuoted = serde_json::from_value(old.clone()).unwrap();
    assert_eq!(decoded.valid_until, None, "an older quote has no limit");
    assert_eq!(
        serde_json::to_value(&decoded).unwrap(),
        old,
        "written as before"
    );
    let until = chrono::DateTime::parse_from_rfc3339("2026-12-20T23:59:59Z")
        .unwrap()
        .to_utc();
    let limited = PriceQuoted {
        valid_until: Some(until),
        ..decoded
    };
    let json = serde_json::to_value(&limited).unwrap();
    assert_eq!(json["valid_until"], "2026-12-20T23:59:59Z");
    assert_eq!(
        serde_json::from_value::<PriceQuoted>(json).unwrap(),
        limited
    );
    assert_eq!(
        serde_json::to_value(RefusalCode::QuoteExpired).unwrap(),
        "quote_expired"
    );
    assert_eq!(
        RefusalCode::parse("quote_expired"),
        Some(RefusalCode::QuoteExpired)
    );
}
