-- The cart (issue 15): an order holds several catalogue services with quantities, each at
-- the unit price frozen when the customer confirmed, and the order's total frozen with
-- them. Written by the persistence worker from `OrderCreated.items` / `.total`; the worker
-- recomputes the total from the items and refuses an event whose total disagrees.
--
-- Money is an integer in the currency's minor unit (kopiykas for UAH): never a float.
-- An item without a price is "on quote"; an order with such an item has no total (NULL)
-- until staff quote it (`order_quotes`).

CREATE TABLE order_items (
    order_id         BINARY(16)        NOT NULL,
    -- 0-based, in the order the customer put them in the cart.
    position         SMALLINT UNSIGNED NOT NULL,
    service_code     VARCHAR(100)      NOT NULL,
    quantity         INT UNSIGNED      NOT NULL,
    unit_price_minor BIGINT UNSIGNED   NULL,
    currency         CHAR(3)           NOT NULL,
    unit             ENUM('item', 'page', 'word', 'hour') NOT NULL,
    line_total_minor BIGINT UNSIGNED   NULL,
    PRIMARY KEY (order_id, position),
    CONSTRAINT order_items_quantity CHECK (quantity BETWEEN 1 AND 999),
    CONSTRAINT order_items_order_fk FOREIGN KEY (order_id) REFERENCES orders (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

ALTER TABLE orders
    ADD COLUMN total_minor    BIGINT UNSIGNED NULL AFTER expected_files,
    ADD COLUMN total_currency CHAR(3)         NULL AFTER total_minor;
