//! The notifier's own Prometheus metrics, served with the platform's on `GET /metrics`.
//!
//! - `notifications_sent_total{kind}`: messages Telegram accepted, by notice kind;
//! - `notifications_skipped_total{reason}`: notices deliberately not sent (redelivery,
//!   superseded status, web-only customer, unreachable chat, unknown order, cut text,
//!   missing template language, …);
//! - `telegram_429_total`: flood-control answers (the shared pace should keep this at 0);
//! - `telegram_unreachable_total`: chats Telegram said we cannot write to (blocked, gone);
//! - `send_slot_wait_seconds`: how long a message waited for its reserved send slot;
//! - `telegram_sends_total{outcome}`: each send request (`sent`, `flood_wait` for a 429,
//!   `refused`, `failed`);
//! - `telegram_retry_after_waited_seconds_total`: time spent waiting out `retry_after`;
//! - `emails_total{outcome}`: e-mailed notices (`sent`, `bounced` for a permanent refusal,
//!   which dead-letters the event, `failed` for one tried again later).
//!
//! The recorder is process-wide (the `metrics` facade has one global recorder): several
//! notifiers in one test process share it, and their counts add up.

pub const SENT: &str = "notifications_sent_total";
pub const SKIPPED: &str = "notifications_skipped_total";
pub const TOO_MANY_REQUESTS: &str = "telegram_429_total";
pub const UNREACHABLE: &str = "telegram_unreachable_total";
pub const SLOT_WAIT: &str = "send_slot_wait_seconds";
/// Every reason a notice is skipped for (`handler`), each series born at 0.
const SKIP_REASONS: [&str; 9] = [
    "redelivery",
    "unrecorded",
    "superseded",
    "web_only",
    "unreachable",
    "unknown_order",
    "text_cut",
    "language_fallback",
    "template_missing",
];
pub const EMAILS: &str = "emails_total";
pub const SENDS: &str = "telegram_sends_total";
pub const RETRY_AFTER_WAITED: &str = "telegram_retry_after_waited_seconds_total";

/// Buckets for slot waits: from "sent at once" to "waited behind a long backlog".
const SLOT_WAIT_BUCKETS: [f64; 10] = [0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// Installs the process's recorder (`bureau_platform::metrics`) with the slot-wait buckets
/// when it is the first, and describes the notifier's metrics. `/metrics` itself is served
/// by `bureau_platform::health::router`.
pub fn install() {
    bureau_platform::metrics::install(&[(SLOT_WAIT, &SLOT_WAIT_BUCKETS)]);
    metrics::describe_counter!(SENT, "Notifications Telegram accepted, by kind");
    metrics::describe_counter!(SKIPPED, "Notifications not sent, by reason");
    metrics::describe_counter!(TOO_MANY_REQUESTS, "429 answers from Telegram");
    metrics::describe_counter!(UNREACHABLE, "Chats Telegram refused (blocked, not found)");
    metrics::describe_histogram!(SLOT_WAIT, "Seconds a message waited for its send slot");
    metrics::describe_counter!(SENDS, "Send requests to Telegram, by outcome");
    metrics::describe_counter!(
        RETRY_AFTER_WAITED,
        "Seconds waited because Telegram said retry_after"
    );
    // Born at 0, so rate() and increase() see the first one.
    metrics::counter!(TOO_MANY_REQUESTS).increment(0);
    metrics::counter!(UNREACHABLE).increment(0);
    metrics::counter!(RETRY_AFTER_WAITED).increment(0);
    for reason in SKIP_REASONS {
        metrics::counter!(SKIPPED, "reason" => reason).increment(0);
    }
    metrics::describe_counter!(EMAILS, "E-mailed notices, by outcome");
    for outcome in ["sent", "bounced", "failed"] {
        metrics::counter!(EMAILS, "outcome" => outcome).increment(0);
    }
    for outcome in ["sent", "flood_wait", "refused", "failed"] {
        metrics::counter!(SENDS, "outcome" => outcome).increment(0);
    }
}

pub fn sent(kind: &'static str) {
    metrics::counter!(SENT, "kind" => kind).increment(1);
}

pub fn emailed(outcome: &'static str) {
    metrics::counter!(EMAILS, "outcome" => outcome).increment(1);
}

pub fn skipped(reason: &'static str) {
    metrics::counter!(SKIPPED, "reason" => reason).increment(1);
}

pub fn too_many_requests() {
    metrics::counter!(TOO_MANY_REQUESTS).increment(1);
}

pub fn unreachable() {
    metrics::counter!(UNREACHABLE).increment(1);
}

pub fn slot_wait(wait: std::time::Duration) {
    metrics::histogram!(SLOT_WAIT).record(wait.as_secs_f64());
}

pub fn send(outcome: &'static str) {
    metrics::counter!(SENDS, "outcome" => outcome).increment(1);
}

pub fn retry_after_waited(wait: std::time::Duration) {
    metrics::counter!(RETRY_AFTER_WAITED).increment(wait.as_secs());
}
