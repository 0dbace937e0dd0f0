//! Turning an accepted web order into events: what the gateway publishes once every file
//! is in staging, and how staging is cleaned up when the order cannot be accepted.
//!
//! The files' bytes go to the object store under `staging/{order_id}/{file_id}`; the events
//! carry only those keys. The storage worker verifies each file and moves it to its final
//! place, so a staged object is never what a customer or staff member downloads.
//!
//! Once every file is staged, [`publish_staged`] hands the staged objects and the events to
//! a task of its own before the broker's confirm is awaited: a client that disconnects then
//! drops only its request, never the files of an order the broker may already hold.

use std::sync::Arc;
use std::time::Duration;

use bureau_event_bus::{EventBus, PublishError};
use chrono::{DateTime, Utc};
use proto_events::{
    CustomerRef, Envelope, FilePurpose, FileReceived, FileSource, Measured, OrderCreated,
};
use tracing::Instrument;
use uuid::Uuid;

use crate::domain::{OrderText, ServiceCode, UploadName};
use bureau_platform::object_store::ObjectStore;

/// What this gateway's events say produced them.
pub const PRODUCER: &str = crate::SERVICE.name();

/// Where a web upload waits for the storage worker (the contract's layout).
pub use proto_events::object_keys::staging_key;

/// A file fully written to staging.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StagedFile {
    pub file_id: Uuid,
    pub staging_key: String,
    pub name: UploadName,
    /// Bytes actually received, not what any header claimed.
    pub size: u64,
    /// SHA-256 (hex) of the bytes streamed into staging, computed on the way through.
    pub sha256: String,
    /// Sniffed from the first bytes streamed, as the storage worker would sniff them.
    pub content_type: String,
    /// The part's `Content-Type` as the browser sent it; never trusted.
    pub declared_content_type: Option<String>,
}

impl StagedFile {
    /// Where the storage worker finds the bytes, with what we measured while streaming them
    /// there, so it can copy the staged object inside the store instead of reading it back.
    pub fn source(&self) -> FileSource {
        FileSource::WebUpload {
            staging_key: self.staging_key.clone(),
            measured: Some(Measured {
                size: self.size,
                sha256: self.sha256.clone(),
                content_type: self.content_type.clone(),
            }),
        }
    }
}

/// Everything about a new order the customer sent, ready to publish.
#[derive(Debug, Clone)]
pub struct NewWebOrder {
    pub order_id: Uuid,
    pub order_number: String,
    pub account_id: Uuid,
    pub text: OrderText,
    pub service_code: Option<ServiceCode>,
    pub files: Vec<StagedFile>,
    pub created_at: DateTime<Utc>,
}

impl NewWebOrder {
    /// `OrderCreated`, then one `FileReceived` per file, all correlated by the order id.
    /// Published as one batch: the customer hears "accepted" only if the broker has them all.
    pub fn events(&self) -> Vec<Envelope> {
        let created = OrderCreated {
            order_id: self.order_id,
            order_number: self.order_number.clone(),
            customer: CustomerRef::Web {
                account_id: self.account_id,
            },
            service_code: self.service_code.clone().map(ServiceCode::into_string),
            text: self.text.as_str().to_owned(),
            file_count: u32::try_from(self.files.len()).unwrap_or(u32::MAX),
            created_at: self.created_at,
            items: Vec::new(),
            total: None,
        };
        let mut events = vec![Envelope::new(PRODUCER, self.order_id, created)];
        events.extend(self.files.iter().map(|file| {
            let received = FileReceived {
                order_id: self.order_id,
                file_id: file.file_id,
                purpose: FilePurpose::CustomerUpload,
                source: file.source(),
                original_name: file.name.as_str().to_owned(),
                declared_size: Some(file.size),
                declared_content_type: file.declared_content_type.clone(),
                note: None,
            };
            Envelope::new(PRODUCER, self.order_id, received)
        }));
        events
    }
}

/// How long an order's events may wait for the broker's confirm. After it the client hears
/// 503 and the staged files stay (the broker may have the events after all; the staging
/// sweep removes files no order recorded).
pub const PUBLISH_TIMEOUT: Duration = Duration::from_secs(10);

/// Publishes `events` (which refer to `staging`'s objects) and settles the objects by the
/// outcome, all in a spawned task that owns them: the request only waits for it. So the
/// same thing happens whether the client waits for the answer or goes away mid-confirm:
///
/// - confirmed: the objects belong to the storage worker;
/// - refused by the broker (unroutable: no queue took them): no order exists, the objects
///   are deleted;
/// - no answer or a nack (connection lost, [`PUBLISH_TIMEOUT`], a queue down): the broker
///   may hold the events, so
///   the objects stay; if it does not, the staging sweep removes them later.
pub async fn publish_staged(
    bus: Arc<EventBus>,
    events: Vec<Envelope>,
    staging: Staging,
) -> Result<(), PublishError> {
    let task = tokio::spawn(async move {
        let outcome = match tokio::time::timeout(PUBLISH_TIMEOUT, bus.publish_all(&events)).await {
            Ok(outcome) => outcome,
            Err(_) => Err(PublishError::Unavailable(format!(
                "the broker did not confirm within {PUBLISH_TIMEOUT:?}"
            ))),
        };
        match &outcome {
            Ok(()) => staging.hand_over(),
            Err(PublishError::Rejected { .. }) => staging.discard().await,
            Err(PublishError::Unavailable(reason)) => {
                tracing::warn!(%reason, "no confirm for staged files; keeping them in case the broker has their events");
                staging.hand_over();
            }
        }
        outcome
    }
    // In the request's span, so the trace goes on from it.
    .in_current_span());
    task.await.unwrap_or_else(|error| {
        Err(PublishError::Unavailable(format!(
            "the publishing task failed: {error}"
        )))
    })
}

/// The staged objects of one order until the order is accepted. Once the broker has the
/// events, the storage worker owns the objects ([`Staging::hand_over`]); until then a refused
/// order's objects are deleted ([`Staging::discard`]), and if the request is dropped
/// while files are still streaming in (the client went away) the guard deletes them in the
/// background. From the publish on, [`publish_staged`] owns the guard, not the request.
pub struct Staging {
    store: ObjectStore,
    keys: Vec<String>,
}

impl Staging {
    pub fn new(store: ObjectStore) -> Staging {
        Staging {
            store,
            keys: Vec::new(),
        }
    }

    /// Records `key` before its upload starts, so even an upload that failed halfway (or
    /// succeeded with its answer lost) is cleaned up. Deleting a missing key is harmless.
    pub fn track(&mut self, key: &str) {
        self.keys.push(key.to_owned());
    }

    /// The events are with the broker: the objects now belong to the storage worker.
    pub fn hand_over(mut self) {
        self.keys.clear();
    }

    /// Deletes the objects now, best effort: a leftover only costs space until the staging
    /// sweep removes it, so failures are logged, not raised.
    pub async fn discard(mut self) {
        discard_staged(&self.store, &std::mem::take(&mut self.keys)).await;
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if self.keys.is_empty() {
            return;
        }
        let (store, keys) = (self.store.clone(), std::mem::take(&mut self.keys));
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move { discard_staged(&store, &keys).await });
        }
    }
}

async fn discard_staged(store: &ObjectStore, keys: &[String]) {
    for key in keys {
        if let Err(error) = store.delete(key).await {
            tracing::warn!(key, %error, "could not delete a staged upload of a refused order");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto_events::Event;

    fn order_with_files(count: usize) -> NewWebOrder {
        let order_id = Uuid::now_v7();
        NewWebOrder {
            order_id,
            order_number: "48213097".into(),
            account_id: Uuid::now_v7(),
            text: OrderText::parse("Translate, please").unwrap(),
            service_code: ServiceCode::parse("translation").unwrap(),
            files: (1..=count)
                .map(|n| {
                    let file_id = Uuid::now_v7();
                    StagedFile {
                        file_id,
                        staging_key: staging_key(order_id, file_id),
                        name: UploadName::from_sent(Some(&format!("page{n}.pdf")), n),
                        size: 1000 + n as u64,
                        sha256: "ab".repeat(32),
                        content_type: "application/pdf".into(),
                        declared_content_type: Some("application/pdf".into()),
                    }
                })
                .collect(),
            created_at: Utc::now(),
        }
    }

    #[test]
    fn an_order_publishes_created_then_one_event_per_file() {
        let order = order_with_files(2);
        let events = order.events();
        assert_eq!(events.len(), 3);
        assert!(
            events
                .iter()
                .all(|e| e.correlation_id == order.order_id && e.producer == PRODUCER)
        );
        let Event::OrderCreated(created) = &events[0].payload else {
            panic!("first is not OrderCreated")
        };
        assert_eq!(created.file_count, 2);
        assert_eq!(
            created.customer,
            CustomerRef::Web {
                account_id: order.account_id
            }
        );
        assert_eq!(created.service_code.as_deref(), Some("translation"));
        let Event::FileReceived(file) = &events[2].payload else {
            panic!("third is not FileReceived")
        };
        assert_eq!(file.file_id, order.files[1].file_id);
        assert_eq!(file.declared_size, Some(1002));
        assert_eq!(
            file.source,
            FileSource::WebUpload {
                staging_key: staging_key(order.order_id, file.file_id),
                measured: Some(Measured {
                    size: 1002,
                    sha256: "ab".repeat(32),
                    content_type: "application/pdf".into(),
                }),
            }
        );
    }

    #[test]
    fn events_survive_the_wire() {
        for event in order_with_files(1).events() {
            assert_eq!(Envelope::from_json(&event.to_json()).unwrap(), event);
        }
    }
}
