//! What the handlers work with besides the bot and the conversation, handed to them as one
//! `Arc<Desk>`: texts, catalogue, order lookups, the file policy, the event bus, the outbox
//! relay, the stored conversations and the settings for links and the business's contacts.

use std::sync::Arc;
use std::time::Duration;

use bureau_event_bus::EventBus;
use bureau_platform::Settings;
use bureau_platform::business::BusinessDetails;
use bureau_platform::order_numbers::OrderNumbers;
use bureau_platform::outbox::{Relay, RelaySettings};
use proto_events::Envelope;
use sqlx::MySqlPool;
use tokio_util::sync::CancellationToken;

use crate::attachments::{DownloadLimit, FilePolicy};
use crate::catalogue::Catalogue;
use crate::chat_turns::ChatTurns;
use crate::order_lookup::OrderLookup;
use crate::storage::MySqlStorage;
use crate::texts::Texts;

/// Telegram stops waiting for a callback answer after about 15 s; a broker that has not
/// confirmed by then is treated as unavailable. Giving up is safe: a retry publishes the
/// same event ids, so events that did get through are not doubled.
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(10);

pub struct Desk {
    pub texts: Arc<Texts>,
    pub bus: Arc<EventBus>,
    pub catalogue: Catalogue,
    pub orders: OrderLookup,
    pub files: FilePolicy,
    pub storage: Arc<MySqlStorage>,
    pub turns: ChatTurns,
    /// Signs and checks the booking calendar's buttons (keyed from the bot token).
    pub calendar: crate::calendar::Signer,
    /// Publishes what the outbox holds (the bookings' events); kicked after a change.
    pub outbox: Relay,
    /// For upload links (`links.*`, `web_gateway.public_url`) and the business's contacts.
    settings: Arc<Settings>,
    /// Where upload links are stored.
    pool: MySqlPool,
}

impl Desk {
    pub fn new(
        pool: MySqlPool,
        bus: Arc<EventBus>,
        texts: Arc<Texts>,
        settings: Arc<Settings>,
        shutdown: CancellationToken,
    ) -> Desk {
        let limit = DownloadLimit::new(settings.telegram.max_download_bytes);
        let upload_links =
            bureau_platform::links::LinkSigner::new(&settings.links.secret).is_some();
        let outbox = Relay::start(
            pool.clone(),
            bus.clone(),
            RelaySettings::for_service(crate::SERVICE.name()),
            shutdown,
        );
        Desk {
            texts,
            bus,
            outbox,
            catalogue: Catalogue::new(pool.clone()),
            orders: OrderLookup::new(pool.clone()),
            files: FilePolicy::new(
                limit,
                &settings.storage_worker.refused_content_types,
                upload_links,
            ),
            storage: MySqlStorage::new(
                pool.clone(),
                OrderNumbers::start(pool.clone(), &settings.order_numbers),
            ),
            turns: ChatTurns::new(pool.clone()),
            calendar: crate::calendar::Signer::new(settings.telegram.token.expose()),
            settings,
            pool,
        }
    }

    /// The database, for reads that need no module of their own (the price list).
    pub fn pool(&self) -> &MySqlPool {
        &self.pool
    }

    /// The business's details in force, read from MySQL on each use (an admin's edit in
    /// the back office reaches the bot at once); the `[business]` settings fill what the
    /// table leaves empty, and stand in whole when MySQL does not answer.
    pub async fn business(&self) -> BusinessDetails {
        match bureau_platform::business::details(&self.pool, &self.settings.business).await {
            Ok(details) => details,
            Err(error) => {
                tracing::warn!(%error, "business details not readable; using the settings");
                bureau_platform::business::StoredDetails::default().over(&self.settings.business)
            }
        }
    }

    /// A personal, expiring, revocable upload link for `order_id` (stored, so staff and the
    /// order's closing can revoke it); `None` when links are off.
    pub async fn upload_link(&self, order_id: uuid::Uuid) -> Result<Option<String>, sqlx::Error> {
        bureau_platform::links::issue_upload_link(&self.pool, &self.settings, order_id).await
    }

    /// How long an upload link works, in whole hours (at least 1).
    pub fn upload_link_hours(&self) -> u64 {
        (self.settings.links.upload_ttl_secs / 3600).max(1)
    }

    /// `/start <token>`: joins Telegram user `identity` to the web customer the token names.
    pub async fn join_web_customer(
        &self,
        token: &bureau_platform::identity::LinkToken,
        identity: &bureau_platform::identity::TelegramIdentity,
    ) -> Result<bureau_platform::identity::JoinOutcome, sqlx::Error> {
        bureau_platform::identity::join_by_link(&self.pool, token, identity).await
    }

    /// `/web`: a one-time link to `{web_gateway.public_url}/portal/link/{token}`.
    pub async fn web_sign_in_link(
        &self,
        identity: &bureau_platform::identity::TelegramIdentity,
    ) -> Result<String, sqlx::Error> {
        let token = bureau_platform::identity::issue_web_sign_in(&self.pool, identity).await?;
        Ok(format!(
            "{}/portal/link/{}",
            self.settings.web_gateway.public_url.trim_end_matches('/'),
            token.expose()
        ))
    }

    /// Publishes `events` as one confirmed batch; an error when the broker did not confirm
    /// them all within [`PUBLISH_TIMEOUT`].
    pub async fn publish(&self, events: &[Envelope]) -> Result<(), String> {
        match tokio::time::timeout(PUBLISH_TIMEOUT, self.bus.publish_all(events)).await {
            Ok(outcome) => outcome.map_err(|error| error.to_string()),
            Err(_) => Err(format!("no confirm within {PUBLISH_TIMEOUT:?}")),
        }
    }
}
