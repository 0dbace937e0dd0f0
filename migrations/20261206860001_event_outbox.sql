-- The transactional outbox (issue 15): an event written in the same transaction as the
-- change it announces, so a crash between the commit and the publish cannot lose it. A
-- relay (`bureau_platform::outbox`, running in every gateway replica) publishes unsent
-- rows in `id` order with publisher confirms and marks them sent only after the broker
-- confirmed; one relay at a time holds `event_outbox_relay`'s row (SELECT ... FOR UPDATE
-- SKIP LOCKED: the others skip the round rather than wait), so two replicas never race
-- and the order of writing is the order of publishing. A relay that dies mid-round
-- releases the row with its connection; what it published but did not mark is published
-- again, and consumers' inboxes drop the copy (same event id).

CREATE TABLE event_outbox (
    id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    event_id    BINARY(16)      NOT NULL,
    event_type  VARCHAR(100)    NOT NULL,
    -- The whole envelope as it goes on the wire (`Envelope::to_json`).
    envelope    MEDIUMBLOB      NOT NULL,
    created_at  DATETIME(6)     NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    attempts    INT UNSIGNED    NOT NULL DEFAULT 0,
    last_error  VARCHAR(500)    NULL,
    sent_at     DATETIME(6)     NULL,
    -- A row that can never be published (it no longer decodes): set aside with the reason.
    dead_reason VARCHAR(500)    NULL,
    UNIQUE KEY event_outbox_event (event_id),
    KEY event_outbox_unsent (sent_at, id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- The relay's lease: the replica whose transaction holds this row's lock is the relay.
CREATE TABLE event_outbox_relay (
    name       VARCHAR(64)  NOT NULL PRIMARY KEY,
    holder     VARCHAR(100) NULL,
    held_since DATETIME(6)  NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

INSERT INTO event_outbox_relay (name) VALUES ('outbox');
