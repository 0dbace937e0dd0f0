-- Revenue by month on a year of 100,000 orders took 1.8 s (bench-reports, EXPLAIN in
-- docs/benchmarks.md): the acceptances were found through `order_status_history_into`, but
-- `from_status` (moves from "quoted" only) was read from each of 40,000 table rows, and
-- each quote's amount from its row. With `from_status` at the end of the index and the
-- quotes' amounts in one of theirs, both are read from indexes alone: 49 ms.
ALTER TABLE order_status_history
    DROP INDEX order_status_history_into,
    ADD INDEX order_status_history_into
        (to_status, changed_at, order_id, actor_account_id, order_created_at, from_status);

CREATE INDEX order_quotes_amounts
    ON order_quotes (order_id, quoted_at, event_id, currency, amount_minor);
