//! The steady stream of work the faults hit: web customers placing orders with a file,
//! Telegram customers placing orders with a document, and a staff member moving every
//! Telegram order along (accepted, then in progress) so status pushes flow too.
//!
//! Clients behave like patient real ones: a web client retries a failed POST with the same
//! `Idempotency-Key`; a Telegram customer repeats a step (Confirm too) when no answer came. What
//! each was told goes into the [`Ledger`], which the audit compares with MySQL and S3.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};
use bot_gateway::dialogue::Language;
use bot_gateway::texts::{Texts, key};
use bureau_kit::retry::Backoff;
use serde_json::{Value, json};
use sqlx::{MySqlPool, Row};
use telegram_double::{SentMessage, SimUser, TelegramDouble};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use bureau_test_support::{order_number_in, random_bytes, sha256_hex};

/// How long one client keeps trying to get one order (or one status change) accepted.
const PATIENCE: Duration = Duration::from_secs(150);
/// The error code of a retry that arrived while its first attempt is still being answered.
const IN_PROGRESS: &str = "request_in_progress";
/// How long a Telegram customer waits for an answer before doing the step again.
const TELEGRAM_STEP_WAIT: Duration = Duration::from_secs(20);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Web,
    Telegram,
}

#[derive(Debug, Clone)]
pub struct OrderAttempt {
    pub channel: Channel,
    /// A unique word in the order's text: how the audit finds the order in MySQL.
    pub marker: String,
    pub file_sha256: String,
    /// `Some(number)` once the customer was shown the number: the order is *accepted*.
    pub accepted_number: Option<String>,
    /// Why the customer never saw a number, when they did not.
    pub gave_up: Option<String>,
}

#[derive(Debug, Clone)]
pub struct StatusChange {
    pub order_number: String,
    pub chat_id: i64,
    /// The status label the push must show.
    pub label: &'static str,
}

/// What every client was told.
#[derive(Debug, Default)]
pub struct Ledger {
    pub orders: Vec<OrderAttempt>,
    pub status_changes: Vec<StatusChange>,
    /// Answers that no fault may cause (a 4xx on a valid request, an idempotency mismatch).
    pub client_errors: Vec<String>,
}

pub type SharedLedger = Arc<Mutex<Ledger>>;

fn record(ledger: &SharedLedger, attempt: OrderAttempt) {
    ledger.lock().expect("ledger lock").orders.push(attempt);
}

fn client_error(ledger: &SharedLedger, error: String) {
    eprintln!("client error: {error}");
    ledger
        .lock()
        .expect("ledger lock")
        .client_errors
        .push(error);
}

/// Backoff for client retries: 250 ms doubling to 4 s.
const CLIENT_BACKOFF: Backoff = Backoff::new(Duration::from_millis(250), Duration::from_secs(4));

// ---------------------------------------------------------------- web customers

pub struct WebClient {
    pub http: reqwest::Client,
    pub base: String,
}

impl WebClient {
    /// Registers and logs in a customer; returns the session token. Runs before faults.
    pub async fn customer(&self, email: &str) -> anyhow::Result<String> {
        let password = "correct horse battery staple";
        let created = self
            .http
            .post(format!("{}/api/accounts", self.base))
            .json(&json!({"email": email, "password": password, "display_name": "Fault Run Customer"}))
            .send()
            .await?;
        anyhow::ensure!(
            created.status() == 201,
            "register: {} {}",
            created.status(),
            created.text().await?
        );
        self.login(email, password).await
    }

    pub async fn login(&self, email: &str, password: &str) -> anyhow::Result<String> {
        let response = self
            .http
            .post(format!("{}/api/session", self.base))
            .json(&json!({"email": email, "password": password}))
            .send()
            .await?;
        anyhow::ensure!(
            response.status() == 200,
            "login: {} {}",
            response.status(),
            response.text().await?
        );
        let cookie = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| v.strip_prefix("bureau_session="))
            .context("a bureau_session cookie")?;
        Ok(cookie.split(';').next().unwrap_or_default().to_owned())
    }
}

/// One web customer placing orders until `stop` fires.
pub async fn web_customer(
    client: Arc<WebClient>,
    token: String,
    ledger: SharedLedger,
    stop: CancellationToken,
) {
    while !stop.is_cancelled() {
        let marker = format!("w{}", Uuid::new_v4().simple());
        let file = random_bytes(rand::random_range(16 * 1024..256 * 1024));
        let mut attempt = OrderAttempt {
            channel: Channel::Web,
            marker: marker.clone(),
            file_sha256: sha256_hex(&file),
            accepted_number: None,
            gave_up: None,
        };
        match place_web_order(&client, &token, &marker, &file, &ledger).await {
            Ok(number) => attempt.accepted_number = Some(number),
            Err(reason) => attempt.gave_up = Some(format!("{reason:#}")),
        }
        record(&ledger, attempt);
        tokio::time::sleep(Duration::from_millis(rand::random_range(200..600))).await;
    }
}

async fn place_web_order(
    client: &WebClient,
    token: &str,
    marker: &str,
    file: &[u8],
    ledger: &SharedLedger,
) -> anyhow::Result<String> {
    let key = Uuid::new_v4().to_string();
    let until = tokio::time::Instant::now() + PATIENCE;
    let mut pauses = CLIENT_BACKOFF.pauses();
    loop {
        let form = reqwest::multipart::Form::new()
            .text("text", format!("fault-run web order {marker}"))
            .part(
                "file",
                reqwest::multipart::Part::bytes(file.to_vec()).file_name("scan.bin"),
            );
        let sent = client
            .http
            .post(format!("{}/api/orders", client.base))
            .bearer_auth(token)
            .header("Idempotency-Key", &key)
            .multipart(form)
            .send()
            .await;
        let retry_because = match sent {
            Ok(response) if response.status() == 201 => {
                let body: Value = response.json().await?;
                return body["order_number"]
                    .as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| anyhow!("201 without a number: {body}"));
            }
            // An outage (503), a crash window (500), or a retry racing its first attempt
            // (409 request_in_progress): all worth trying again with the same key.
            Ok(response) if response.status().is_server_error() || response.status() == 409 => {
                let status = response.status();
                let text = response.text().await.unwrap_or_default();
                if status == 409 && !text.contains(IN_PROGRESS) {
                    client_error(ledger, format!("web order {marker}: {status} {text}"));
                    anyhow::bail!("refused: {status} {text}");
                }
                format!("{status} {text}")
            }
            Ok(response) => {
                let status = response.status();
                let text = response.text().await.unwrap_or_default();
                client_error(ledger, format!("web order {marker}: {status} {text}"));
                anyhow::bail!("refused: {status} {text}");
            }
            Err(error) => format!("{error}"),
        };
        if tokio::time::Instant::now() >= until {
            anyhow::bail!("still failing after {PATIENCE:?}: {retry_because}");
        }
        tokio::time::sleep(pauses.next_pause()).await;
    }
}

// ---------------------------------------------------------------- Telegram customers

fn button(message: &SentMessage, label: &str) -> Option<String> {
    message
        .inline_buttons()
        .into_iter()
        .find(|(text, _)| text == label)
        .map(|(_, data)| data)
}

/// One Telegram customer placing orders until `stop` fires; accepted orders go to staff.
pub async fn telegram_customer(
    double: TelegramDouble,
    user: SimUser,
    ledger: SharedLedger,
    accepted: mpsc::UnboundedSender<(String, i64)>,
    stop: CancellationToken,
) {
    let texts = Texts::load();
    while !stop.is_cancelled() {
        let marker = format!("t{}", Uuid::new_v4().simple());
        let document = random_bytes(rand::random_range(16 * 1024..200 * 1024));
        let mut attempt = OrderAttempt {
            channel: Channel::Telegram,
            marker: marker.clone(),
            file_sha256: sha256_hex(&document),
            accepted_number: None,
            gave_up: None,
        };
        let customer = TelegramCustomer {
            double: &double,
            user: &user,
            texts: &texts,
            until: tokio::time::Instant::now() + PATIENCE,
        };
        match customer.place_order(&marker, document).await {
            Ok(number) => {
                let _ = accepted.send((number.clone(), user.id()));
                attempt.accepted_number = Some(number);
            }
            Err(reason) => attempt.gave_up = Some(format!("{reason:#}")),
        }
        record(&ledger, attempt);
        tokio::time::sleep(Duration::from_millis(rand::random_range(200..600))).await;
    }
}

/// A customer walking the bot's conversation: New order, Other, the description, a
/// document (each shown on the order's card), Confirm (and, the first time, name and phone). Each step is repeated if
/// no answer comes (the bot was down, or Telegram failed its reply).
struct TelegramCustomer<'a> {
    double: &'a TelegramDouble,
    user: &'a SimUser,
    texts: &'a Texts,
    until: tokio::time::Instant,
}

impl TelegramCustomer<'_> {
    fn text(&self, key: &str) -> String {
        self.texts.get(Language::En, key)
    }

    /// Does `act` until a message or edit made after it matches `answer`.
    async fn step(
        &self,
        what: &str,
        act: impl Fn(),
        answer: impl Fn(&SentMessage) -> bool,
    ) -> anyhow::Result<SentMessage> {
        let chat = self.user.id();
        loop {
            let before = Instant::now();
            act();
            let wait = TELEGRAM_STEP_WAIT.min(
                self.until
                    .saturating_duration_since(tokio::time::Instant::now()),
            );
            if let Ok(message) = self
                .double
                .wait_for_message(chat, wait, |m| m.at >= before && answer(m))
                .await
            {
                return Ok(message);
            }
            anyhow::ensure!(
                tokio::time::Instant::now() < self.until,
                "no answer to {what} within {PATIENCE:?}"
            );
        }
    }

    async fn place_order(&self, marker: &str, document: Vec<u8>) -> anyhow::Result<String> {
        let user = self.user;
        let other = self.text(key::BUTTON_OTHER);
        let confirm = self.text(key::BUTTON_CONFIRM);
        let ask_name = self.text(key::REGISTER_NAME);

        let in_progress = self.text(key::DRAFT_IN_PROGRESS);
        let cancel = self.text(key::BUTTON_CANCEL);
        let catalogue = loop {
            let answer = self
                .step(
                    "New order",
                    || {
                        user.send_text(&self.text(key::MENU_NEW_ORDER));
                    },
                    |m| button(m, &other).is_some() || m.body() == in_progress,
                )
                .await?;
            if button(&answer, &other).is_some() {
                break answer;
            }
            // A draft is open: a step repeated after its answer came late (a text or a
            // document delivered again once the order was placed) started one. Dropped, as
            // a customer would, and New order again.
            let drop = button(&answer, &cancel).expect("the open draft's Cancel");
            self.step(
                "Cancel the open draft",
                || {
                    user.press_button(answer.message_id, &drop);
                },
                |m| m.body() == self.text(key::DRAFT_CANCELLED),
            )
            .await?;
        };
        let pick = button(&catalogue, &other).expect("matched above");
        // Choosing "Other" edits the order's card; the next answer is to the text.
        user.press_button(catalogue.message_id, &pick);
        self.step(
            "the description",
            || {
                user.send_text(&format!("fault-run telegram order {marker}"));
            },
            |m| m.body().contains(marker) && button(m, &confirm).is_some(),
        )
        .await?;
        let card = self
            .step(
                "the document",
                || {
                    user.send_document("scan.pdf", "application/pdf", document.clone(), None);
                },
                |m| {
                    m.body().contains(marker)
                        && m.body().contains("scan.pdf")
                        && button(m, &confirm).is_some()
                },
            )
            .await?;
        // Confirm as the card shows it now: a step done twice (its first answer late) has
        // changed the draft since, and a Confirm drawn before that is outdated.
        let latest_confirm = || {
            self.double
                .messages_to(user.id())
                .iter()
                .rev()
                .find(|m| m.message_id == card.message_id)
                .and_then(|m| button(m, &confirm))
        };
        let mut answer = self
            .step(
                "Confirm",
                || {
                    if let Some(data) = latest_confirm() {
                        user.press_button(card.message_id, &data);
                    }
                },
                |m| self.accepted_number(m).is_some() || m.body() == ask_name,
            )
            .await?;
        if answer.body() == ask_name {
            let name = format!("Fault Customer {}", user.id());
            let ask_phone = self
                .text(key::REGISTER_PHONE)
                .split('{')
                .next()
                .unwrap_or_default()
                .to_owned();
            self.step(
                "the name",
                || {
                    user.send_text(&name);
                },
                |m| m.body().starts_with(&ask_phone),
            )
            .await?;
            let phone = format!("38050{:07}", user.id() % 10_000_000);
            answer = self
                .step(
                    "the phone",
                    || {
                        user.send_contact(&phone);
                    },
                    |m| self.accepted_number(m).is_some(),
                )
                .await?;
        }
        self.accepted_number(&answer)
            .ok_or_else(|| anyhow!("no number in {}", answer.body()))
    }

    /// The number in the bot's "accepted" message (not in a status push for an older order).
    fn accepted_number(&self, message: &SentMessage) -> Option<String> {
        let number = order_number_in(message.body())?;
        (message.body()
            == self
                .texts
                .format(Language::En, key::ORDER_ACCEPTED, &[("number", &number)]))
        .then_some(number)
    }
}

// ---------------------------------------------------------------- staff

/// The staff member: moves each accepted Telegram order to `accepted`, then `in_progress`.
pub async fn staff(
    client: Arc<WebClient>,
    token: String,
    db: MySqlPool,
    mut accepted: mpsc::UnboundedReceiver<(String, i64)>,
    ledger: SharedLedger,
) {
    while let Some((number, chat_id)) = accepted.recv().await {
        for (to, label) in [("accepted", "Accepted"), ("in_progress", "In progress")] {
            match change_status(&client, &token, &db, &number, to).await {
                Ok(()) => ledger
                    .lock()
                    .expect("ledger lock")
                    .status_changes
                    .push(StatusChange {
                        order_number: number.clone(),
                        chat_id,
                        label,
                    }),
                Err(error) => {
                    client_error(&ledger, format!("status of {number} to {to}: {error:#}"));
                    break;
                }
            }
        }
    }
}

/// Waits until MySQL shows the order in the status before `to`, then asks for the change
/// (retrying outages with the same `Idempotency-Key`) until it is accepted (202).
async fn change_status(
    client: &WebClient,
    token: &str,
    db: &MySqlPool,
    number: &str,
    to: &str,
) -> anyhow::Result<()> {
    let until = tokio::time::Instant::now() + PATIENCE;
    let from = if to == "accepted" {
        "awaiting_confirmation"
    } else {
        "accepted"
    };
    let mut pauses = CLIENT_BACKOFF.pauses();
    let order_id: Uuid = loop {
        let row = sqlx::query("SELECT id, status FROM orders WHERE order_number = ?")
            .bind(number)
            .fetch_optional(db)
            .await;
        if let Ok(Some(row)) = row
            && row.get::<String, _>("status") == from
        {
            break row.get("id");
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < until,
            "order {number} never showed status {from} in MySQL"
        );
        tokio::time::sleep(pauses.next_pause()).await;
    };
    let key = Uuid::new_v4().to_string();
    pauses.reset();
    loop {
        let sent = client
            .http
            .post(format!(
                "{}/api/staff/orders/{order_id}/status",
                client.base
            ))
            .bearer_auth(token)
            .header("Idempotency-Key", &key)
            .json(&json!({"to": to}))
            .send()
            .await;
        let retry_because = match sent {
            Ok(response) if response.status() == 202 => return Ok(()),
            Ok(response) if response.status().is_server_error() || response.status() == 409 => {
                let status = response.status();
                let text = response.text().await.unwrap_or_default();
                anyhow::ensure!(
                    status != 409 || text.contains(IN_PROGRESS),
                    "refused: {status} {text}"
                );
                format!("{status} {text}")
            }
            Ok(response) => {
                let status = response.status();
                anyhow::bail!(
                    "refused: {status} {}",
                    response.text().await.unwrap_or_default()
                );
            }
            Err(error) => format!("{error}"),
        };
        anyhow::ensure!(
            tokio::time::Instant::now() < until,
            "status change still failing: {retry_because}"
        );
        tokio::time::sleep(pauses.next_pause()).await;
    }
}
