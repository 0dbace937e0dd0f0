-- One customer, two channels: one-time tokens that join a Telegram identity and a web account
-- into the one `customers` row (see docs/web-customers.md), and how the customer wants to be
-- told about their orders.
--
-- `link_telegram`: issued on the web (Profile → Link Telegram) for the web customer
-- `customer_id`; the bot's `/start <token>` joins the Telegram user who sends it to that
-- customer. `web_sign_in`: issued by the bot's `/web` for the Telegram user
-- `telegram_user_id`; the page it opens signs that customer's web account in, or registers
-- one joined to them. Only the SHA-256 of a token is stored; each works once, until
-- `expires_at`.
CREATE TABLE customer_link_tokens (
    token_hash        BINARY(32)                             NOT NULL PRIMARY KEY,
    purpose           ENUM('link_telegram', 'web_sign_in')   NOT NULL,
    customer_id       BINARY(16)                             NULL,
    telegram_user_id  BIGINT                                 NULL,
    telegram_chat_id  BIGINT                                 NULL,
    telegram_username VARCHAR(64)                            NULL,
    created_at        DATETIME(6)                            NOT NULL,
    expires_at        DATETIME(6)                            NOT NULL,
    used_at           DATETIME(6)                            NULL,
    KEY customer_link_tokens_customer (customer_id, purpose),
    KEY customer_link_tokens_telegram (telegram_user_id, purpose)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- Where the customer wants to hear about their orders (status changes, quotes, replies,
-- results). `auto`: Telegram when linked and reachable, else e-mail for a web account;
-- `telegram`, `email`: only there (the notifier and the mail sender read it; a web-only
-- customer who chose `telegram` is told by e-mail still, having no chat).
ALTER TABLE customers
    ADD COLUMN notify_by ENUM('auto', 'telegram', 'email') NOT NULL DEFAULT 'auto' AFTER language;
