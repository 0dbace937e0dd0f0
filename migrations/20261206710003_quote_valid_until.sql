-- A price quote's last moment of validity (`PriceQuoted.valid_until`); NULL: no limit. The
-- persistence worker refuses an acceptance after it (`quote_expired`).
ALTER TABLE order_quotes ADD COLUMN valid_until DATETIME(6) NULL AFTER note;
