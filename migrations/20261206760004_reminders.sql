-- Reminders that survive restarts (issue 15): 24 h and 1 h before a booking, a quote not
-- answered after 24 h, an invoice not paid after 24 h. One row per (kind, subject), so each
-- is scheduled once; a sender replica claims due rows with SELECT ... FOR UPDATE SKIP
-- LOCKED and a lease (`claimed_until`), so two replicas never take the same reminder, and
-- a replica that dies mid-send leaves it to be claimed again once the lease ends. A row
-- due during an outage is sent late if it is still useful; past `not_after` (the booking
-- has started) it is skipped with the reason.

CREATE TABLE reminders (
    id             BINARY(16)   NOT NULL PRIMARY KEY,
    kind           ENUM('booking_24h', 'booking_1h', 'quote_unanswered', 'invoice_unpaid') NOT NULL,
    -- The booking (booking_*) or the order (quote_*, invoice_*).
    subject_id     BINARY(16)   NOT NULL,
    due_at         DATETIME(6)  NOT NULL,
    -- Past this moment the reminder is no use any more (a booking's start): skipped.
    not_after      DATETIME(6)  NULL,
    claimed_by     VARCHAR(100) NULL,
    claimed_until  DATETIME(6)  NULL,
    sent_at        DATETIME(6)  NULL,
    skipped_reason VARCHAR(64)  NULL,
    UNIQUE KEY reminders_once (kind, subject_id),
    KEY reminders_due (sent_at, skipped_reason, due_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
