-- The staff's list of every order, newest first, is walked by keyset from a (created_at, id)
-- cursor; without this index every page sorted all orders. (One customer's list walks
-- orders_customer and one status's list orders_status: InnoDB ends every secondary index
-- with the primary key, so both already are (…, created_at, id).)
CREATE INDEX orders_created ON orders (created_at, id);
