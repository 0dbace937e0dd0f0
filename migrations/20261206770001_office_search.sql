-- The back office's search, index-backed: each order and each customer keeps a search text
-- (maintained by the triggers below, so every writer — persistence worker, gateways,
-- imports — keeps it right without knowing of it) under an InnoDB FULLTEXT index, which the
-- list asks in BOOLEAN MODE with prefix terms (`web_gateway::queries::office`).
--
-- An order's text: its number, the customer's name, Telegram username and phone (digits
-- only, whole and as the 9-digit local number, so `0501234567`, `+380501234567` and
-- `380501234567` all find it from the start), and the description. A customer's text: the
-- name, username, phone the same way, and the e-mail of their web account.
--
-- Stopwords are off for these indexes (the built-in list is English; a word such as `the`
-- or `com` must still be found); the index records that setting when it is built.
SET SESSION innodb_ft_enable_stopword = OFF;

ALTER TABLE orders ADD COLUMN search_text TEXT NULL;
ALTER TABLE customers ADD COLUMN search_text TEXT NULL;

UPDATE orders o JOIN customers c ON c.id = o.customer_id
SET o.search_text = CONCAT_WS(' ', o.order_number, c.display_name, c.telegram_username,
        NULLIF(REGEXP_REPLACE(COALESCE(c.phone, ''), '[^0-9]', ''), ''),
        NULLIF(RIGHT(REGEXP_REPLACE(COALESCE(c.phone, ''), '[^0-9]', ''), 9), ''),
        o.body);

UPDATE customers c LEFT JOIN web_accounts a ON a.id = c.web_account_id
SET c.search_text = CONCAT_WS(' ', c.display_name, c.telegram_username,
        NULLIF(REGEXP_REPLACE(COALESCE(c.phone, ''), '[^0-9]', ''), ''),
        NULLIF(RIGHT(REGEXP_REPLACE(COALESCE(c.phone, ''), '[^0-9]', ''), 9), ''),
        a.email);

ALTER TABLE orders ADD FULLTEXT INDEX orders_search (search_text);
ALTER TABLE customers ADD FULLTEXT INDEX customers_search (search_text);

-- A new order: its text from its own columns and its customer's.
CREATE TRIGGER orders_search_insert BEFORE INSERT ON orders FOR EACH ROW
    SET NEW.search_text = COALESCE(
        (SELECT CONCAT_WS(' ', NEW.order_number, c.display_name, c.telegram_username,
                    NULLIF(REGEXP_REPLACE(COALESCE(c.phone, ''), '[^0-9]', ''), ''),
                    NULLIF(RIGHT(REGEXP_REPLACE(COALESCE(c.phone, ''), '[^0-9]', ''), 9), ''),
                    NEW.body)
         FROM customers c WHERE c.id = NEW.customer_id),
        CONCAT_WS(' ', NEW.order_number, NEW.body));

-- A changed order: made again when what it is made of changed; otherwise whatever the
-- statement set (the customers trigger below sets it).
CREATE TRIGGER orders_search_update BEFORE UPDATE ON orders FOR EACH ROW
    SET NEW.search_text = IF(NEW.body <=> OLD.body AND NEW.order_number <=> OLD.order_number
                                 AND NEW.customer_id <=> OLD.customer_id,
        NEW.search_text,
        COALESCE(
            (SELECT CONCAT_WS(' ', NEW.order_number, c.display_name, c.telegram_username,
                        NULLIF(REGEXP_REPLACE(COALESCE(c.phone, ''), '[^0-9]', ''), ''),
                        NULLIF(RIGHT(REGEXP_REPLACE(COALESCE(c.phone, ''), '[^0-9]', ''), 9), ''),
                        NEW.body)
             FROM customers c WHERE c.id = NEW.customer_id),
            CONCAT_WS(' ', NEW.order_number, NEW.body)));

-- A customer: their own text always made again (cheap: one row, one key lookup).
CREATE TRIGGER customers_search_insert BEFORE INSERT ON customers FOR EACH ROW
    SET NEW.search_text = CONCAT_WS(' ', NEW.display_name, NEW.telegram_username,
        NULLIF(REGEXP_REPLACE(COALESCE(NEW.phone, ''), '[^0-9]', ''), ''),
        NULLIF(RIGHT(REGEXP_REPLACE(COALESCE(NEW.phone, ''), '[^0-9]', ''), 9), ''),
        (SELECT a.email FROM web_accounts a WHERE a.id = NEW.web_account_id));

CREATE TRIGGER customers_search_update BEFORE UPDATE ON customers FOR EACH ROW
    SET NEW.search_text = CONCAT_WS(' ', NEW.display_name, NEW.telegram_username,
        NULLIF(REGEXP_REPLACE(COALESCE(NEW.phone, ''), '[^0-9]', ''), ''),
        NULLIF(RIGHT(REGEXP_REPLACE(COALESCE(NEW.phone, ''), '[^0-9]', ''), 9), ''),
        (SELECT a.email FROM web_accounts a WHERE a.id = NEW.web_account_id));

-- A customer's name, username or phone changed: their orders' texts follow (only then; the
-- unreachable flag and the like touch no order).
CREATE TRIGGER customers_search_orders AFTER UPDATE ON customers FOR EACH ROW
    UPDATE orders o
    SET o.search_text = CONCAT_WS(' ', o.order_number, NEW.display_name, NEW.telegram_username,
            NULLIF(REGEXP_REPLACE(COALESCE(NEW.phone, ''), '[^0-9]', ''), ''),
            NULLIF(RIGHT(REGEXP_REPLACE(COALESCE(NEW.phone, ''), '[^0-9]', ''), 9), ''),
            o.body)
    WHERE o.customer_id = NEW.id
      AND NOT (NEW.display_name <=> OLD.display_name
               AND NEW.telegram_username <=> OLD.telegram_username
               AND NEW.phone <=> OLD.phone);

-- A web account's e-mail changed: its customer's text follows (the customers trigger
-- above makes it again).
CREATE TRIGGER web_accounts_search AFTER UPDATE ON web_accounts FOR EACH ROW
    UPDATE customers c SET c.search_text = NULL
    WHERE c.web_account_id = NEW.id AND NOT (NEW.email <=> OLD.email);
