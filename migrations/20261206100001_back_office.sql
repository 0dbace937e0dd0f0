-- The staff back office: internal comments and assignments (written by the persistence
-- worker from `OrderCommentPosted` and `OrderAssigned`), the audit log of staff actions
-- (written by the web gateway, append-only), and what the order list filters and searches on.

CREATE TABLE order_comments (
    id                BINARY(16)  NOT NULL PRIMARY KEY,
    order_id          BINARY(16)  NOT NULL,
    author_account_id BINARY(16)  NOT NULL,
    body              TEXT        NOT NULL,
    event_id          BINARY(16)  NOT NULL,
    posted_at         DATETIME(6) NOT NULL,
    KEY order_comments_order (order_id, posted_at),
    CONSTRAINT order_comments_order_fk FOREIGN KEY (order_id) REFERENCES orders (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- Every assignment in order; `orders.assignee_id` holds the latest.
CREATE TABLE order_assignments (
    event_id          BINARY(16)  NOT NULL PRIMARY KEY,
    order_id          BINARY(16)  NOT NULL,
    -- NULL: the order was unassigned.
    assignee_id       BINARY(16)  NULL,
    actor_account_id  BINARY(16)  NOT NULL,
    assigned_at       DATETIME(6) NOT NULL,
    KEY order_assignments_order (order_id, assigned_at),
    CONSTRAINT order_assignments_order_fk FOREIGN KEY (order_id) REFERENCES orders (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- What the list filters by, newest first within each filter.
CREATE INDEX orders_created ON orders (created_at, id);
CREATE INDEX orders_assignee ON orders (assignee_id, created_at);
CREATE INDEX orders_channel ON orders (channel, created_at);

-- Every staff action: who, when, from where, on what. Nothing in the application updates
-- or deletes a row; the triggers refuse it whoever tries.
CREATE TABLE staff_audit (
    id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    account_id  BINARY(16)      NULL,
    action      VARCHAR(64)     NOT NULL,
    order_id    BINARY(16)      NULL,
    subject     VARCHAR(255)    NULL,
    detail      VARCHAR(1000)   NULL,
    remote_addr VARCHAR(64)     NULL,
    at          DATETIME(6)     NOT NULL,
    KEY staff_audit_account (account_id, at),
    KEY staff_audit_order (order_id, at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TRIGGER staff_audit_no_update BEFORE UPDATE ON staff_audit FOR EACH ROW
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'staff_audit is append-only';

CREATE TRIGGER staff_audit_no_delete BEFORE DELETE ON staff_audit FOR EACH ROW
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'staff_audit is append-only';
