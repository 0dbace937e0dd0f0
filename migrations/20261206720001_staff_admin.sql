-- Staff accounts managed from the back office (issue 12): one-time set-password links for
-- invitations and resets, and an index that keeps the "last active admin" check's row locks
-- to the admins' rows.
--
-- A link's secret is held only by the person it was given to; this table keeps its SHA-256.
-- `used_at` is set when it is used or revoked (a newer link, a deactivation): a link works
-- while `used_at IS NULL AND expires_at > now`.
CREATE TABLE staff_password_links (
    token_hash BINARY(32)  NOT NULL PRIMARY KEY,
    account_id BINARY(16)  NOT NULL,
    purpose    ENUM('invite', 'reset') NOT NULL,
    issued_by  BINARY(16)  NULL,
    created_at DATETIME(6) NOT NULL,
    expires_at DATETIME(6) NOT NULL,
    used_at    DATETIME(6) NULL,
    KEY staff_password_links_account (account_id, used_at),
    CONSTRAINT staff_password_links_account_fk FOREIGN KEY (account_id) REFERENCES web_accounts (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE INDEX web_accounts_role_active ON web_accounts (role, active);

-- The audit view filters by action and pages by time.
CREATE INDEX staff_audit_action ON staff_audit (action, at);
CREATE INDEX staff_audit_at ON staff_audit (at);
