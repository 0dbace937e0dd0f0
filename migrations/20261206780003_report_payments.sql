-- The reports' revenue by month counts payments less refunds (issue 12, with issue 15's
-- `order_payments`): recorded in a range, read from this index alone
-- (`queries::reports::PAYMENTS`).
CREATE INDEX order_payments_recorded
    ON order_payments (recorded_at, kind, currency, amount_minor, order_id);
