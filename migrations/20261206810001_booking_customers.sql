-- Bookings staff make for a customer who phoned (issue 15, the back office's calendar):
-- the customer is named on the booking itself, since such a booking has no order. A
-- customer's bookings are found by it; a booking with an order names its customer there.
ALTER TABLE bookings
    ADD COLUMN customer_id BINARY(16) NULL AFTER order_id,
    ADD KEY bookings_customer (customer_id, starts_at),
    ADD CONSTRAINT bookings_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id);
