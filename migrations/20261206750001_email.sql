-- E-mail for customers who are away, and the account mails (verify the address, reset a
-- forgotten password). See docs/web-customers.md, "E-mail".
--
-- web_accounts.email_verified_at: when the owner followed the verification link. Order
-- notices are e-mailed only to a verified address: an order's details never go to an
-- address nobody proved is theirs.
ALTER TABLE web_accounts
    ADD COLUMN email_verified_at DATETIME(6) NULL AFTER email;

-- Where a customer hears about their orders (the portal's profile page edits it; the
-- portal's migration 20261206740001 makes the same column, hence IF NOT EXISTS): 'auto' =
-- Telegram when they have a reachable chat, otherwise e-mail; 'email' = e-mail (Telegram
-- only while there is no verified address); 'telegram' = never e-mail.
ALTER TABLE customers
    ADD COLUMN IF NOT EXISTS notify_by ENUM('auto', 'telegram', 'email') NOT NULL DEFAULT 'auto';

-- One-time links of web accounts: the SHA-256 of the token is stored, never the token. A
-- row is used once (used_at), expires, and names the address it was sent to, so a link
-- for an address the account no longer has verifies nothing.
CREATE TABLE account_tokens (
    token_hash BINARY(32)                              NOT NULL PRIMARY KEY,
    account_id BINARY(16)                              NOT NULL,
    purpose    ENUM('verify_email', 'reset_password') NOT NULL,
    email      VARCHAR(254)                            NOT NULL,
    created_at DATETIME(6)                             NOT NULL,
    expires_at DATETIME(6)                             NOT NULL,
    used_at    DATETIME(6)                             NULL,
    KEY account_tokens_account (account_id, purpose),
    CONSTRAINT account_tokens_account_fk FOREIGN KEY (account_id) REFERENCES web_accounts (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- The notifier's journal covers e-mail too: each notice goes to one channel, so the event
-- id stays the key; an e-mailed notice has no chat.
ALTER TABLE notifications_sent
    ADD COLUMN channel ENUM('telegram', 'email') NOT NULL DEFAULT 'telegram' AFTER kind,
    MODIFY COLUMN chat_id BIGINT NULL;
