-- What the catalogue sells and for how much, and the business's own details, editable in the
-- back office (issue 12) and read by the bot, the web order form, the cart and bookings
-- (issues 13 and 15).
--
-- Prices are integers in minor units (kopiykas for UAH): never floats. A service without a
-- price is sold "on quote": staff quote each order. `duration_minutes` makes a service
-- bookable (a time slot of that length); NULL: not booked. A service some order uses is
-- archived (`archived_at`), never deleted; archived services are neither shown nor accepted
-- in new orders, while old orders keep their `service_code`.

ALTER TABLE catalogue_services
    ADD COLUMN description_uk   TEXT              NULL AFTER name_en,
    ADD COLUMN description_en   TEXT              NULL AFTER description_uk,
    ADD COLUMN price_minor      BIGINT UNSIGNED   NULL AFTER description_en,
    ADD COLUMN currency         CHAR(3)           NOT NULL DEFAULT 'UAH' AFTER price_minor,
    ADD COLUMN unit             ENUM('item', 'page', 'word', 'hour') NOT NULL DEFAULT 'item' AFTER currency,
    ADD COLUMN duration_minutes SMALLINT UNSIGNED NULL AFTER unit,
    ADD COLUMN archived_at      DATETIME(6)       NULL AFTER active,
    ADD COLUMN updated_at       DATETIME(6)       NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6);

ALTER TABLE catalogue_categories
    ADD COLUMN archived_at DATETIME(6) NULL AFTER active;

-- The sample bureau's prices: some fixed, some on quote, one bookable.
UPDATE catalogue_services SET price_minor = 40000, unit = 'page' WHERE code = 'translation.passport';
UPDATE catalogue_services SET price_minor = 45000, unit = 'page' WHERE code = 'translation.diploma';
UPDATE catalogue_services SET price_minor = 35000, unit = 'page' WHERE code = 'translation.birth_certificate';
UPDATE catalogue_services SET price_minor = 30000, unit = 'item' WHERE code = 'notarisation';
UPDATE catalogue_services SET price_minor = 120000, unit = 'hour', duration_minutes = 60 WHERE code = 'interpreting';
-- translation.legal, translation.technical and apostille stay on quote.

-- The business as customers see it. One row (id = 1); a NULL column falls back to the
-- `[business]` settings, so a fresh install shows the configured details until an admin
-- edits them. Read on each use, so an edit reaches the bot and the web at once.
CREATE TABLE business_details (
    id          TINYINT UNSIGNED NOT NULL PRIMARY KEY,
    name        VARCHAR(200)  NULL,
    phone       VARCHAR(50)   NULL,
    email       VARCHAR(254)  NULL,
    hours       VARCHAR(500)  NULL,
    greeting_uk VARCHAR(1000) NULL,
    greeting_en VARCHAR(1000) NULL,
    updated_at  DATETIME(6)   NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
    CONSTRAINT business_details_single_row CHECK (id = 1)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

INSERT INTO business_details (id) VALUES (1);
