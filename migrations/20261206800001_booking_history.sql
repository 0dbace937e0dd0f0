-- What happened to each booking (issue 15): one row per `BookingChanged` event, written by
-- the persistence worker once per event id. The `bookings` table holds a booking's present
-- (made by the gateways under the resource's row lock); this is its past: booked, moved
-- (with the old start, freed), cancelled, by whom and when.

CREATE TABLE booking_history (
    event_id           BINARY(16)   NOT NULL PRIMARY KEY,
    booking_id         BINARY(16)   NOT NULL,
    order_id           BINARY(16)   NOT NULL,
    change_kind        ENUM('booked', 'rescheduled', 'cancelled') NOT NULL,
    resource_id        INT UNSIGNED NOT NULL,
    service_code       VARCHAR(100) NOT NULL,
    starts_at          DATETIME(6)  NOT NULL,
    ends_at            DATETIME(6)  NOT NULL,
    previous_starts_at DATETIME(6)  NULL,
    changed_by         VARCHAR(100) NOT NULL,
    changed_at         DATETIME(6)  NOT NULL,
    KEY booking_history_booking (booking_id, changed_at),
    KEY booking_history_order (order_id, changed_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
