-- The reports' figures per day of the business (issue 12), kept by triggers in the same
-- transaction as the rows they count, so a report over a year or everything reads a few
-- thousand day rows instead of every status change (bench-reports; docs/reports.md says
-- how they stay right and how they are rebuilt).
--
-- A day is the business's own: the UTC offsets of its time zone (each summer-time change)
-- are in `report_zone_offsets`, written by the web gateway from the tz database, and
-- `report_day` reads an instant through them. Which zone they are of is in `report_state`:
-- the gateway reads the day tables only while that is the zone it counts days in, and
-- otherwise reads the history itself and rebuilds these tables (one transaction).

CREATE TABLE report_state (
    id         TINYINT UNSIGNED NOT NULL PRIMARY KEY,
    -- The IANA name of the zone the day tables are of (`UTC` for UTC).
    zone       VARCHAR(64)      NOT NULL,
    rebuilt_at DATETIME(6)      NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- From `starts_at` (UTC) on, local time is UTC + `offset_secs`, until the next row.
CREATE TABLE report_zone_offsets (
    starts_at   DATETIME(6) NOT NULL PRIMARY KEY,
    offset_secs INT         NOT NULL
) ENGINE = InnoDB;

-- Orders created on a day, by channel and the status they are in now.
CREATE TABLE report_created_days (
    day     DATE        NOT NULL,
    channel VARCHAR(16) NOT NULL,
    status  VARCHAR(32) NOT NULL,
    orders  INT         NOT NULL,
    PRIMARY KEY (day, channel, status)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- Stays in a status that ended on a day: their count and every length, in microseconds,
-- as 8-byte big-endian integers one after another (a median or a percentile does not add
-- up across days, so the lengths themselves are kept; the gateway sorts them).
CREATE TABLE report_stay_days (
    day       DATE        NOT NULL,
    status    VARCHAR(32) NOT NULL,
    stays     INT         NOT NULL,
    durations LONGBLOB    NOT NULL,
    PRIMARY KEY (day, status)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- Deliveries on a day: their count and each order's created → delivered, as above.
CREATE TABLE report_turnaround_days (
    day       DATE     NOT NULL PRIMARY KEY,
    orders    INT      NOT NULL,
    durations LONGBLOB NOT NULL
) ENGINE = InnoDB;

-- Per staff member and day: orders they moved to `ready`, and deliveries of orders
-- assigned to them (their assignee now: a change of assignee moves its deliveries).
CREATE TABLE report_staff_days (
    day        DATE       NOT NULL,
    account_id BINARY(16) NOT NULL,
    finished   INT        NOT NULL,
    delivered  INT        NOT NULL,
    PRIMARY KEY (day, account_id)
) ENGINE = InnoDB;

-- Accepted quotes on a day (a move from `quoted` to `accepted`, with the latest quote made
-- before it), per currency.
CREATE TABLE report_quote_days (
    day          DATE    NOT NULL,
    currency     CHAR(3) NOT NULL,
    orders       INT     NOT NULL,
    amount_minor BIGINT  NOT NULL,
    PRIMARY KEY (day, currency)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- The business's date at UTC instant `at`. The offsets are read with a shared lock, so a
-- rebuild (which replaces them) and a transaction counting a row wait for each other: no
-- row is counted with one zone's days after the tables were rebuilt for another.
CREATE FUNCTION report_day(at DATETIME(6)) RETURNS DATE
    NOT DETERMINISTIC READS SQL DATA
    RETURN DATE(at + INTERVAL COALESCE(
        (SELECT offset_secs FROM report_zone_offsets WHERE starts_at <= at
         ORDER BY starts_at DESC LIMIT 1 LOCK IN SHARE MODE), 0) SECOND);

-- A length in microseconds as 8 bytes, big-endian (two's complement).
CREATE FUNCTION report_micros(micros BIGINT) RETURNS VARBINARY(8)
    DETERMINISTIC NO SQL
    RETURN UNHEX(LPAD(HEX(micros), 16, '0'));

CREATE TRIGGER orders_report_insert AFTER INSERT ON orders FOR EACH ROW
    INSERT INTO report_created_days (day, channel, status, orders)
    VALUES (report_day(NEW.created_at), NEW.channel, NEW.status, 1)
    ON DUPLICATE KEY UPDATE report_created_days.orders = report_created_days.orders + 1;

-- A changed order: its count moves to its new status (the two rows in key order, so two
-- transactions never take them in opposite orders), and its deliveries to its new assignee.
CREATE TRIGGER orders_report_update AFTER UPDATE ON orders FOR EACH ROW
BEGIN
    IF NOT (NEW.created_at <=> OLD.created_at AND NEW.channel <=> OLD.channel
            AND NEW.status <=> OLD.status) THEN
        INSERT INTO report_created_days (day, channel, status, orders)
        SELECT d, c, s, n FROM (
            SELECT report_day(OLD.created_at) AS d, CAST(OLD.channel AS CHAR) AS c, OLD.status AS s, -1 AS n
            UNION ALL
            SELECT report_day(NEW.created_at), CAST(NEW.channel AS CHAR), NEW.status, 1) moved
        ORDER BY d, c, s
        ON DUPLICATE KEY UPDATE report_created_days.orders = report_created_days.orders + VALUES(orders);
    END IF;
    IF NOT (NEW.assignee_id <=> OLD.assignee_id) THEN
        INSERT INTO report_staff_days (day, account_id, finished, delivered)
        SELECT d, a, 0, n FROM (
            SELECT report_day(h.changed_at) AS d, moved.a, moved.n
            FROM order_status_history h
            JOIN (SELECT OLD.assignee_id AS a, -1 AS n UNION ALL SELECT NEW.assignee_id, 1) moved
            WHERE h.order_id = NEW.id AND h.to_status = 'delivered' AND moved.a IS NOT NULL) deliveries
        ORDER BY d, a
        ON DUPLICATE KEY UPDATE report_staff_days.delivered = report_staff_days.delivered + VALUES(delivered);
    END IF;
END;

-- A status change: the stay it ends, a delivery, a finished piece of work, an acceptance.
CREATE TRIGGER order_status_history_report AFTER INSERT ON order_status_history FOR EACH ROW
BEGIN
    DECLARE local_day DATE DEFAULT report_day(NEW.changed_at);
    IF NEW.previous_changed_at IS NOT NULL THEN
        INSERT INTO report_stay_days (day, status, stays, durations)
        VALUES (local_day, COALESCE(NEW.from_status, ''), 1,
                report_micros(TIMESTAMPDIFF(MICROSECOND, NEW.previous_changed_at, NEW.changed_at)))
        ON DUPLICATE KEY UPDATE report_stay_days.stays = report_stay_days.stays + 1,
            report_stay_days.durations = CONCAT(report_stay_days.durations, VALUES(durations));
    END IF;
    IF NEW.to_status = 'delivered' THEN
        IF NEW.order_created_at IS NOT NULL THEN
            INSERT INTO report_turnaround_days (day, orders, durations)
            VALUES (local_day, 1,
                    report_micros(TIMESTAMPDIFF(MICROSECOND, NEW.order_created_at, NEW.changed_at)))
            ON DUPLICATE KEY UPDATE report_turnaround_days.orders = report_turnaround_days.orders + 1,
                report_turnaround_days.durations = CONCAT(report_turnaround_days.durations, VALUES(durations));
        END IF;
        INSERT INTO report_staff_days (day, account_id, finished, delivered)
        SELECT local_day, o.assignee_id, 0, 1 FROM orders o
        WHERE o.id = NEW.order_id AND o.assignee_id IS NOT NULL
        ON DUPLICATE KEY UPDATE report_staff_days.delivered = report_staff_days.delivered + 1;
    ELSEIF NEW.to_status = 'ready' AND NEW.actor_account_id IS NOT NULL THEN
        INSERT INTO report_staff_days (day, account_id, finished, delivered)
        VALUES (local_day, NEW.actor_account_id, 1, 0)
        ON DUPLICATE KEY UPDATE report_staff_days.finished = report_staff_days.finished + 1;
    ELSEIF NEW.to_status = 'accepted' AND NEW.from_status = 'quoted' THEN
        INSERT INTO report_quote_days (day, currency, orders, amount_minor)
        SELECT local_day, q.currency, 1, q.amount_minor FROM order_quotes q
        WHERE q.order_id = NEW.order_id AND q.quoted_at <= NEW.changed_at
        ORDER BY q.quoted_at DESC, q.event_id DESC LIMIT 1
        ON DUPLICATE KEY UPDATE report_quote_days.orders = report_quote_days.orders + 1,
            report_quote_days.amount_minor = report_quote_days.amount_minor + VALUES(amount_minor);
    END IF;
END;

-- A quote recorded after the acceptance it precedes (events out of order, or a replay):
-- if it is now the latest quote before the acceptance, the acceptance counts it instead
-- of the one it counted.
CREATE TRIGGER order_quotes_report AFTER INSERT ON order_quotes FOR EACH ROW
BEGIN
    DECLARE accepted_at DATETIME(6) DEFAULT (
        SELECT MIN(changed_at) FROM order_status_history
        WHERE order_id = NEW.order_id AND to_status = 'accepted' AND from_status = 'quoted');
    DECLARE before_at DATETIME(6) DEFAULT NULL;
    DECLARE before_id BINARY(16) DEFAULT NULL;
    DECLARE before_currency CHAR(3) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci DEFAULT NULL;
    DECLARE before_amount BIGINT DEFAULT NULL;
    -- No quote before this one: the variables stay NULL.
    DECLARE CONTINUE HANDLER FOR NOT FOUND SET before_at = NULL;
    IF accepted_at IS NOT NULL AND NEW.quoted_at <= accepted_at THEN
        SELECT quoted_at, event_id, currency, amount_minor
          INTO before_at, before_id, before_currency, before_amount
        FROM order_quotes
        WHERE order_id = NEW.order_id AND quoted_at <= accepted_at AND event_id <> NEW.event_id
        ORDER BY quoted_at DESC, event_id DESC LIMIT 1;
        IF before_at IS NULL OR (NEW.quoted_at, NEW.event_id) > (before_at, before_id) THEN
            INSERT INTO report_quote_days (day, currency, orders, amount_minor)
            SELECT d, c, n, a FROM (
                SELECT report_day(accepted_at) AS d, before_currency AS c, -1 AS n,
                       -CAST(before_amount AS SIGNED) AS a
                FROM DUAL WHERE before_at IS NOT NULL
                UNION ALL
                SELECT report_day(accepted_at), NEW.currency, 1, CAST(NEW.amount_minor AS SIGNED)) moved
            ORDER BY d, c
            ON DUPLICATE KEY UPDATE report_quote_days.orders = report_quote_days.orders + VALUES(orders),
                report_quote_days.amount_minor = report_quote_days.amount_minor + VALUES(amount_minor);
        END IF;
    END IF;
END;
