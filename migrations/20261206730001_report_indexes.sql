-- What the back office's reports (issue 12) read by time, so each answers from an index on
-- 100,000 orders and their histories (docs/benchmarks.md, "Reports").

-- Orders created in a range, counted by channel and status: read from the index alone.
CREATE INDEX orders_report_created ON orders (created_at, channel, status);

-- Status changes into one status within a range: deliveries (turnaround, staff), moves to
-- `ready` (who finished the work), acceptances (revenue).
CREATE INDEX order_status_history_into ON order_status_history (to_status, changed_at, order_id, actor_account_id);

-- Status changes within a range, whatever the status: each ends the stay in `from_status`
-- begun at the order's previous version (time in each status).
CREATE INDEX order_status_history_changed ON order_status_history (changed_at, order_id, version, from_status);

-- Open orders per assignee (staff workload): the open statuses, read from the index alone.
CREATE INDEX orders_open_work ON orders (status, assignee_id);
