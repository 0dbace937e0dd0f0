-- Signed links (`/u/{token}` uploads into an order, `/d/{token}` downloads a file) are
-- stored: each token names its row, so a link can be revoked before it expires — when its
-- order closes (persistence worker) or when staff revoke it — and one seen in a forwarded
-- message stops working with it. No foreign key to orders: the bot issues an upload link
-- before the persistence worker has written the order.
CREATE TABLE signed_links (
    id             BINARY(16)                   NOT NULL PRIMARY KEY,
    purpose        ENUM('upload', 'download')   NOT NULL,
    -- The order (upload) or the stored file (download) the token names.
    subject_id     BINARY(16)                   NOT NULL,
    order_id       BINARY(16)                   NOT NULL,
    created_at     DATETIME(6)                  NOT NULL,
    expires_at     DATETIME(6)                  NOT NULL,
    revoked_at     DATETIME(6)                  NULL,
    -- `order_closed` or `staff`.
    revoked_reason VARCHAR(64)                  NULL,
    KEY signed_links_order (order_id, revoked_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
