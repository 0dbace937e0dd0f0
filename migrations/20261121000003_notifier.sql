-- The notifier's shared pace towards Telegram, and what kind of notice each journal row was.
--
-- telegram_send_slots: the earliest time (microseconds since the Unix epoch, MySQL's clock)
-- the next message may go out, for the whole bot (chat_id 0, which is never a Telegram
-- chat) and for each chat written to. Every notifier replica reserves its send time here
-- in one short transaction, so Telegram's limits hold across replicas (see
-- docs/architecture.md, "Notifier").
CREATE TABLE telegram_send_slots (
    chat_id    BIGINT NOT NULL PRIMARY KEY,
    next_at_us BIGINT NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

INSERT INTO telegram_send_slots (chat_id, next_at_us) VALUES (0, 0);

-- Which notice a journal row records (status, result file, message, quote, file refusal),
-- for staff and for counting; older rows were all status changes or file refusals.
ALTER TABLE notifications_sent
    ADD COLUMN kind VARCHAR(32) NULL AFTER order_id;
