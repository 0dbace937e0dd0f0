-- What did not reach a customer in Telegram, for staff to see on the order page (the
-- notifier writes it; `notifications_sent` keeps what did). One row per event: a retried
-- event updates its row (latest outcome and reason, failures counted).
--   blocked             Telegram said the customer blocked the bot or the chat is gone (403);
--   skipped_unreachable not tried: the customer was already marked unreachable;
--   refused             Telegram refused the message itself (dead-lettered);
--   failing             Telegram or the network failed; the bus retries with backoff and
--                       dead-letters it after the last attempt. A later success is in
--                       `notifications_sent` under the same event id.
CREATE TABLE notification_failures (
    event_id  BINARY(16)    NOT NULL PRIMARY KEY,
    order_id  BINARY(16)    NOT NULL,
    kind      VARCHAR(32)   NOT NULL,
    outcome   VARCHAR(32)   NOT NULL,
    detail    VARCHAR(1000) NULL,
    attempts  INT UNSIGNED  NOT NULL DEFAULT 1,
    failed_at DATETIME(6)   NOT NULL,
    KEY notification_failures_order (order_id, failed_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
