-- A customer's open orders, counted with the session on every new web order (the
-- open-orders quota, `web_gateway.quotas.open_orders`): from this index alone, instead of
-- reading each of the customer's order rows through `orders_customer` for its status.
CREATE INDEX orders_customer_status ON orders (customer_id, status);
