-- An order's conversation between the customer and staff, and the price quotes staff made.

CREATE TABLE order_messages (
    id               BINARY(16)    NOT NULL PRIMARY KEY,
    order_id         BINARY(16)    NOT NULL,
    author_kind      ENUM('staff', 'customer', 'system') NOT NULL,
    author_account_id BINARY(16)   NULL,
    body             TEXT          NOT NULL,
    event_id         BINARY(16)    NOT NULL,
    posted_at        DATETIME(6)   NOT NULL,
    KEY order_messages_order (order_id, posted_at),
    CONSTRAINT order_messages_order_fk FOREIGN KEY (order_id) REFERENCES orders (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE order_quotes (
    event_id     BINARY(16)      NOT NULL PRIMARY KEY,
    order_id     BINARY(16)      NOT NULL,
    -- In the currency's minor unit (kopiyky, cents): never floating point.
    amount_minor BIGINT UNSIGNED NOT NULL,
    currency     CHAR(3)         NOT NULL,
    note         VARCHAR(1000)   NULL,
    quoted_at    DATETIME(6)     NOT NULL,
    KEY order_quotes_order (order_id, quoted_at),
    CONSTRAINT order_quotes_order_fk FOREIGN KEY (order_id) REFERENCES orders (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
