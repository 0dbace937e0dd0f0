-- Core schema: accounts, customers with their channel identities, orders, files, status
-- history, and the inbox that makes every consumer idempotent.
-- Ids are UUIDs stored as BINARY(16); times are UTC DATETIME(6).

CREATE TABLE web_accounts (
    id            BINARY(16)   NOT NULL PRIMARY KEY,
    email         VARCHAR(254) NOT NULL,
    password_hash VARCHAR(255) NOT NULL,
    display_name  VARCHAR(200) NOT NULL,
    role          ENUM('customer', 'executor', 'manager', 'admin') NOT NULL,
    active        BOOLEAN      NOT NULL DEFAULT TRUE,
    created_at    DATETIME(6)  NOT NULL,
    UNIQUE KEY web_accounts_email (email)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE web_sessions (
    token_hash BINARY(32)  NOT NULL PRIMARY KEY,
    account_id BINARY(16)  NOT NULL,
    created_at DATETIME(6) NOT NULL,
    expires_at DATETIME(6) NOT NULL,
    KEY web_sessions_account (account_id),
    CONSTRAINT web_sessions_account_fk FOREIGN KEY (account_id) REFERENCES web_accounts (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- A customer is one person, whichever channels they use. A Telegram identity and a web
-- account are separate columns, never one "user_id" holding either.
CREATE TABLE customers (
    id                      BINARY(16)   NOT NULL PRIMARY KEY,
    display_name            VARCHAR(200) NOT NULL,
    phone                   VARCHAR(32)  NULL,
    language                VARCHAR(8)   NOT NULL DEFAULT 'uk',
    telegram_user_id        BIGINT       NULL,
    telegram_chat_id        BIGINT       NULL,
    telegram_username       VARCHAR(64)  NULL,
    -- Set when Telegram says the customer blocked the bot; cleared when they write again.
    telegram_unreachable_at DATETIME(6)  NULL,
    web_account_id          BINARY(16)   NULL,
    created_at              DATETIME(6)  NOT NULL,
    updated_at              DATETIME(6)  NOT NULL,
    UNIQUE KEY customers_telegram_user (telegram_user_id),
    UNIQUE KEY customers_web_account (web_account_id),
    CONSTRAINT customers_web_account_fk FOREIGN KEY (web_account_id) REFERENCES web_accounts (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE orders (
    id             BINARY(16)             NOT NULL PRIMARY KEY,
    -- What customers quote. Assigned by the gateway without a database round trip, so it
    -- is random, not sequential; lookups by customers are always scoped to the customer.
    order_number   VARCHAR(16)            NOT NULL,
    customer_id    BINARY(16)             NOT NULL,
    channel        ENUM('telegram', 'web') NOT NULL,
    service_code   VARCHAR(100)           NULL,
    body           TEXT                   NOT NULL,
    status         VARCHAR(32)            NOT NULL,
    -- Raised by every status change; an older change never overwrites a newer one.
    status_version INT UNSIGNED           NOT NULL,
    expected_files INT UNSIGNED           NOT NULL,
    assignee_id    BINARY(16)             NULL,
    created_at     DATETIME(6)            NOT NULL,
    updated_at     DATETIME(6)            NOT NULL,
    KEY orders_number (order_number),
    KEY orders_customer (customer_id, created_at),
    KEY orders_status (status, created_at),
    CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE order_files (
    id               BINARY(16)      NOT NULL PRIMARY KEY,
    order_id         BINARY(16)      NOT NULL,
    -- What the customer sent, or a result staff attached for the customer.
    purpose          ENUM('customer_upload', 'result') NOT NULL DEFAULT 'customer_upload',
    original_name    VARCHAR(512)    NOT NULL,
    note             TEXT            NULL,
    source           ENUM('telegram', 'web') NOT NULL,
    declared_size    BIGINT UNSIGNED NULL,
    state            ENUM('received', 'stored', 'rejected') NOT NULL,
    object_key       VARCHAR(1024)   NULL,
    size_bytes       BIGINT UNSIGNED NULL,
    content_type     VARCHAR(255)    NULL,
    sha256           CHAR(64)        NULL,
    rejection_code   VARCHAR(64)     NULL,
    rejection_reason VARCHAR(1000)   NULL,
    received_at      DATETIME(6)     NOT NULL,
    settled_at       DATETIME(6)     NULL,
    KEY order_files_order (order_id),
    CONSTRAINT order_files_order_fk FOREIGN KEY (order_id) REFERENCES orders (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE order_status_history (
    id               BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    order_id         BINARY(16)      NOT NULL,
    version          INT UNSIGNED    NOT NULL,
    from_status      VARCHAR(32)     NULL,
    to_status        VARCHAR(32)     NOT NULL,
    actor_kind       ENUM('staff', 'customer', 'system') NOT NULL,
    actor_account_id BINARY(16)      NULL,
    reason           VARCHAR(1000)   NULL,
    event_id         BINARY(16)      NOT NULL,
    changed_at       DATETIME(6)     NOT NULL,
    UNIQUE KEY order_status_history_version (order_id, version),
    CONSTRAINT order_status_history_order_fk FOREIGN KEY (order_id) REFERENCES orders (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- The inbox: an event id recorded here, in the same transaction as the work it caused,
-- is never applied again by that consumer.
CREATE TABLE processed_events (
    consumer     VARCHAR(64) NOT NULL,
    event_id     BINARY(16)  NOT NULL,
    processed_at DATETIME(6) NOT NULL,
    PRIMARY KEY (consumer, event_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- Telegram conversations in progress, shared by every bot gateway replica and kept across
-- restarts.
CREATE TABLE bot_dialogues (
    chat_id    BIGINT      NOT NULL PRIMARY KEY,
    state      JSON        NOT NULL,
    updated_at DATETIME(6) NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- What the notifier sent, so a redelivered event is not sent twice.
CREATE TABLE notifications_sent (
    event_id            BINARY(16)  NOT NULL PRIMARY KEY,
    order_id            BINARY(16)  NOT NULL,
    -- For status notifications: the order's status version, so an older status is never
    -- sent after a newer one.
    status_version      INT UNSIGNED NULL,
    chat_id             BIGINT      NOT NULL,
    telegram_message_id BIGINT      NULL,
    sent_at             DATETIME(6) NOT NULL,
    KEY notifications_sent_order (order_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
