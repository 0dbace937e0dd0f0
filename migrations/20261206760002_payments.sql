-- Payments and refunds of orders (issue 15): Telegram Payments (`successful_payment`) and
-- payments staff record (bank transfer, cash), and refunds staff record. Written by the
-- persistence worker from `PaymentReceived` / `PaymentRefunded`, each once: by its id, and
-- a Telegram payment also by Telegram's charge id (UNIQUE), however often it is delivered.
--
-- What an order is due: its latest accepted quote if it has one, else its frozen cart
-- total (`orders.total_minor`). `paid_at` is set when payments less refunds cover it, and
-- cleared when a refund no longer leaves it covered.

CREATE TABLE order_payments (
    id                 BINARY(16)      NOT NULL PRIMARY KEY,
    order_id           BINARY(16)      NOT NULL,
    kind               ENUM('payment', 'refund') NOT NULL,
    -- How a payment was made; NULL for refunds.
    method             ENUM('telegram', 'bank_transfer', 'cash', 'other') NULL,
    amount_minor       BIGINT UNSIGNED NOT NULL,
    currency           CHAR(3)         NOT NULL,
    telegram_charge_id VARCHAR(255)    NULL,
    provider_charge_id VARCHAR(255)    NULL,
    actor_kind         ENUM('staff', 'customer', 'system') NOT NULL,
    actor_account_id   BINARY(16)      NULL,
    -- Staff's note on a payment, or the reason for a refund.
    note               VARCHAR(1000)   NULL,
    recorded_at        DATETIME(6)     NOT NULL,
    UNIQUE KEY order_payments_telegram_charge (telegram_charge_id),
    KEY order_payments_order (order_id, recorded_at),
    CONSTRAINT order_payments_amount CHECK (amount_minor > 0),
    CONSTRAINT order_payments_order_fk FOREIGN KEY (order_id) REFERENCES orders (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

ALTER TABLE orders
    ADD COLUMN paid_at DATETIME(6) NULL AFTER total_currency;
