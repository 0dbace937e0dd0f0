-- What each customer sent on each day (UTC), counted by the web gateway as it accepts
-- uploads: the daily quotas of bytes and files (`web_gateway.quotas`, docs/reliability.md).
-- A row is charged with a conditional UPDATE, so two uploads at once never pass a quota
-- together. Old days are never read again; `bureau` may delete them at leisure.
CREATE TABLE customer_daily_usage (
    customer_id BINARY(16)      NOT NULL,
    day         DATE            NOT NULL,
    bytes       BIGINT UNSIGNED NOT NULL DEFAULT 0,
    files       INT UNSIGNED    NOT NULL DEFAULT 0,
    PRIMARY KEY (customer_id, day)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
