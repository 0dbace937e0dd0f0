-- Status changes are requests, decided once by the persistence worker (the one writer of
-- orders) as a compare-and-set on the order's status version. One row per request: the web
-- gateway writes it as `pending` when it publishes the request (so `GET
-- /api/staff/status-requests/{id}` can tell "not decided yet" from "no such request"); the
-- persistence worker writes the outcome in the same transaction as the order's change (or
-- as the refusal), and publishes `OrderStatusChanged` / `OrderStatusChangeRefused` from
-- this row after the commit, so a redelivered request republishes exactly what was decided.
CREATE TABLE status_change_requests (
    request_id       BINARY(16)    NOT NULL PRIMARY KEY,
    order_id         BINARY(16)    NOT NULL,
    -- The request event the worker decided (NULL while pending).
    event_id         BINARY(16)    NULL,
    actor_kind       ENUM('staff', 'customer', 'system') NOT NULL,
    actor_account_id BINARY(16)    NULL,
    from_status      VARCHAR(32)   NOT NULL,
    to_status        VARCHAR(32)   NOT NULL,
    reason           VARCHAR(1000) NULL,
    -- The order's status version the requester saw: the change is made only at it.
    expected_version INT UNSIGNED  NOT NULL,
    -- A customer's answer to a price quote: the quote (`order_quotes.event_id`) it answers.
    quote_id         BINARY(16)    NULL,
    outcome          ENUM('pending', 'recorded', 'refused') NOT NULL,
    -- recorded: the order's status version the change made.
    recorded_version INT UNSIGNED  NULL,
    -- refused: a stable code (`version_conflict`, ...) and a sentence for staff.
    refusal_code     VARCHAR(64)   NULL,
    refusal_reason   VARCHAR(1000) NULL,
    -- Where the order was when the request was decided (after the change, if recorded).
    current_status   VARCHAR(32)   NULL,
    current_version  INT UNSIGNED  NULL,
    requested_at     DATETIME(6)   NOT NULL,
    decided_at       DATETIME(6)   NULL,
    KEY status_change_requests_order (order_id, requested_at),
    CONSTRAINT status_change_requests_order_fk FOREIGN KEY (order_id) REFERENCES orders (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
