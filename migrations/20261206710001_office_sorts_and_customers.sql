-- The back office's order list sorted by last change ("recently updated") and the customers
-- list (newest first): each walks its own index and pages by keyset on (time, id), so a
-- page deep in the list costs what the first does.
CREATE INDEX orders_updated ON orders (updated_at, id);
CREATE INDEX customers_created ON customers (created_at, id);
