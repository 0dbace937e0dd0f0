-- What the back office's reports (issue 12) read by time, so each answers from an index on
-- 100,000 orders and their histories (docs/benchmarks.md, "Reports").

-- Orders created in a range, counted by channel and status: read from the index alone.
CREATE INDEX orders_report_created ON orders (created_at, channel, status);

-- Open orders per assignee (staff workload): the open statuses, read from the index alone.
CREATE INDEX orders_open_work ON orders (status, assignee_id);

-- Each status change also says when the status it leaves was entered (the order's previous
-- change) and when the order was created, so the time spent in a status and the created →
-- delivered turnaround are read from one row each, not joined: the join cost ~10 µs a row,
-- seconds for a year of changes (bench-reports). A trigger fills both on every insert, so
-- the persistence worker writes history as before; the rows already there are filled here.
ALTER TABLE order_status_history
    ADD COLUMN previous_changed_at DATETIME(6) NULL AFTER changed_at,
    ADD COLUMN order_created_at    DATETIME(6) NULL AFTER previous_changed_at;

UPDATE order_status_history h
    JOIN order_status_history previous
      ON previous.order_id = h.order_id AND previous.version = h.version - 1
SET h.previous_changed_at = previous.changed_at
WHERE h.version > 1;

UPDATE order_status_history h
    JOIN orders o ON o.id = h.order_id
SET h.order_created_at = o.created_at;

CREATE TRIGGER order_status_history_times BEFORE INSERT ON order_status_history FOR EACH ROW
    SET NEW.previous_changed_at = (SELECT changed_at FROM order_status_history
                                   WHERE order_id = NEW.order_id AND version = NEW.version - 1),
        NEW.order_created_at = (SELECT created_at FROM orders WHERE id = NEW.order_id);

-- Status changes into one status within a range: deliveries (turnaround, staff), moves to
-- `ready` (who finished the work), acceptances (revenue).
CREATE INDEX order_status_history_into
    ON order_status_history (to_status, changed_at, order_id, actor_account_id, order_created_at);

-- Status changes within a range, whatever the status: each ends a stay in `from_status`
-- begun at `previous_changed_at` (time in each status).
CREATE INDEX order_status_history_stays
    ON order_status_history (changed_at, from_status, previous_changed_at);

-- An order's delivery, for the orders export (one line per order with its delivery time).
CREATE INDEX order_status_history_order_into
    ON order_status_history (order_id, to_status, changed_at);
