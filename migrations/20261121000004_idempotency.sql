-- Answers to POSTs sent with an Idempotency-Key (web-gateway/src/idempotency.rs): a retried
-- request gets the first answer instead of placing a second order. One row per account and
-- key; the response columns stay NULL while the first request is being handled.
CREATE TABLE idempotency_keys (
    account_id       BINARY(16)        NOT NULL,
    idempotency_key  VARCHAR(255)      CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    -- SHA-256 of what the request asked for: the same key with another request is refused.
    request_hash     CHAR(64)          CHARACTER SET ascii NOT NULL,
    -- What the first attempt set aside (an order's events and answer), reused by a takeover.
    reserved         MEDIUMTEXT        NULL,
    claimed_at       DATETIME(6)       NOT NULL,
    response_status  SMALLINT UNSIGNED NULL,
    response_headers TEXT              NULL,
    response_body    MEDIUMBLOB        NULL,
    completed_at     DATETIME(6)       NULL,
    PRIMARY KEY (account_id, idempotency_key),
    KEY idempotency_keys_claimed (claimed_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
