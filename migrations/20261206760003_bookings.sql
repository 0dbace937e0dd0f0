-- Bookable time (issue 15): who or what is booked (a staff member or a room), when they
-- work, their breaks and days off, and the bookings themselves.
--
-- Working hours and breaks are local wall-clock times in the resource's time zone (IANA
-- name, e.g. Europe/Kyiv), so summer time moves them with the clock; bookings are instants
-- in UTC. No slot is ever given twice, enforced here: a booking is made in a transaction
-- that first locks its resource's row (every booking of one resource waits for the one
-- before) and checks for any live booking overlapping it; and a UNIQUE key on (resource,
-- start) over live bookings only (`live_start` is NULL once cancelled) catches whatever
-- could slip past. Cancelling (or moving) a booking frees its slot.

CREATE TABLE booking_resources (
    id         INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name       VARCHAR(200) NOT NULL,
    kind       ENUM('staff', 'room') NOT NULL DEFAULT 'staff',
    -- The staff member this resource is, if it is one.
    account_id BINARY(16)   NULL,
    time_zone  VARCHAR(64)  NOT NULL DEFAULT 'Europe/Kyiv',
    active     BOOLEAN      NOT NULL DEFAULT TRUE,
    created_at DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- Which bookable services a resource performs.
CREATE TABLE booking_resource_services (
    resource_id INT UNSIGNED NOT NULL,
    service_id  INT UNSIGNED NOT NULL,
    PRIMARY KEY (resource_id, service_id),
    CONSTRAINT booking_resource_services_resource_fk FOREIGN KEY (resource_id) REFERENCES booking_resources (id),
    CONSTRAINT booking_resource_services_service_fk FOREIGN KEY (service_id) REFERENCES catalogue_services (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- Weekly hours: 1 = Monday .. 7 = Sunday; a day may have several windows.
CREATE TABLE booking_working_hours (
    resource_id INT UNSIGNED     NOT NULL,
    weekday     TINYINT UNSIGNED NOT NULL,
    starts      TIME             NOT NULL,
    ends        TIME             NOT NULL,
    PRIMARY KEY (resource_id, weekday, starts),
    CONSTRAINT booking_working_hours_day CHECK (weekday BETWEEN 1 AND 7),
    CONSTRAINT booking_working_hours_order CHECK (starts < ends),
    CONSTRAINT booking_working_hours_resource_fk FOREIGN KEY (resource_id) REFERENCES booking_resources (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- Weekly breaks inside the hours (lunch), same shape.
CREATE TABLE booking_breaks (
    resource_id INT UNSIGNED     NOT NULL,
    weekday     TINYINT UNSIGNED NOT NULL,
    starts      TIME             NOT NULL,
    ends        TIME             NOT NULL,
    PRIMARY KEY (resource_id, weekday, starts),
    CONSTRAINT booking_breaks_day CHECK (weekday BETWEEN 1 AND 7),
    CONSTRAINT booking_breaks_order CHECK (starts < ends),
    CONSTRAINT booking_breaks_resource_fk FOREIGN KEY (resource_id) REFERENCES booking_resources (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- Whole local days the resource does not work (holidays, leave).
CREATE TABLE booking_days_off (
    resource_id INT UNSIGNED NOT NULL,
    day         DATE         NOT NULL,
    reason      VARCHAR(200) NULL,
    PRIMARY KEY (resource_id, day),
    CONSTRAINT booking_days_off_resource_fk FOREIGN KEY (resource_id) REFERENCES booking_resources (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE bookings (
    id           BINARY(16)    NOT NULL PRIMARY KEY,
    resource_id  INT UNSIGNED  NOT NULL,
    service_code VARCHAR(100)  NOT NULL,
    -- The order it belongs to, once there is one; who booked it (a Telegram user, a web
    -- account, or staff for a customer who phoned).
    order_id     BINARY(16)    NULL,
    booked_by    VARCHAR(100)  NOT NULL,
    starts_at    DATETIME(6)   NOT NULL,
    ends_at      DATETIME(6)   NOT NULL,
    status       ENUM('booked', 'cancelled') NOT NULL DEFAULT 'booked',
    live_start   DATETIME(6) AS (IF(status = 'booked', starts_at, NULL)) STORED,
    created_at   DATETIME(6)   NOT NULL,
    cancelled_at DATETIME(6)   NULL,
    UNIQUE KEY bookings_one_per_slot (resource_id, live_start),
    KEY bookings_resource_time (resource_id, status, starts_at),
    KEY bookings_order (order_id),
    CONSTRAINT bookings_order_of_time CHECK (starts_at < ends_at),
    CONSTRAINT bookings_resource_fk FOREIGN KEY (resource_id) REFERENCES booking_resources (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- The sample bureau's interpreter, who does the bookable "interpreting" (60 minutes):
-- weekdays 09:00-18:00 Kyiv time with a break 13:00-14:00.
INSERT INTO booking_resources (id, name, kind) VALUES (1, 'Interpreter', 'staff');
INSERT INTO booking_resource_services (resource_id, service_id)
    SELECT 1, id FROM catalogue_services WHERE code = 'interpreting';
INSERT INTO booking_working_hours (resource_id, weekday, starts, ends) VALUES
    (1, 1, '09:00', '18:00'), (1, 2, '09:00', '18:00'), (1, 3, '09:00', '18:00'),
    (1, 4, '09:00', '18:00'), (1, 5, '09:00', '18:00');
INSERT INTO booking_breaks (resource_id, weekday, starts, ends) VALUES
    (1, 1, '13:00', '14:00'), (1, 2, '13:00', '14:00'), (1, 3, '13:00', '14:00'),
    (1, 4, '13:00', '14:00'), (1, 5, '13:00', '14:00');
