-- Order numbers that are unique: one sequence, leased in blocks by the gateways
-- (`bureau_platform::order_numbers`) and mapped to 8 digits by a keyed permutation
-- (`proto_events::order_number`), and a UNIQUE key that proves it.
--
-- The permutation key is made here, once per database, and must never change (a new key
-- maps old positions to new numbers, which could repeat one already issued).
CREATE TABLE order_number_sequence (
    name            VARCHAR(32)     NOT NULL PRIMARY KEY,
    -- The first position no gateway has leased yet.
    next_position   BIGINT UNSIGNED NOT NULL,
    permutation_key BIGINT UNSIGNED NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

INSERT INTO order_number_sequence (name, next_position, permutation_key)
VALUES ('orders', 0,
        CAST(CONV(LEFT(SHA2(CONCAT(UUID(), RAND(), SYSDATE(6)), 256), 16), 16, 10) AS UNSIGNED));

-- Numbers issued before this migration were random, and some databases hold the same number
-- on two orders. Nothing is renumbered (customers already quote those numbers): the oldest
-- holder of a number keeps repeat 0, each later one gets 1, 2, ... so the UNIQUE key can be
-- built without losing or changing anything. Every number issued from now on is inserted
-- with repeat 0, so the key refuses any second order with it. `docs/architecture.md`
-- ("Order numbers") says how to list the old repeats.
ALTER TABLE orders
    ADD COLUMN order_number_repeat SMALLINT UNSIGNED NOT NULL DEFAULT 0 AFTER order_number;

UPDATE orders o
    JOIN (SELECT id,
                 ROW_NUMBER() OVER (PARTITION BY order_number ORDER BY created_at, id) - 1 AS repeat_index
          FROM orders) ranked ON ranked.id = o.id
SET o.order_number_repeat = ranked.repeat_index
WHERE ranked.repeat_index > 0;

ALTER TABLE orders
    ADD UNIQUE KEY orders_number_unique (order_number, order_number_repeat);
