-- Unplaced holds expire (issue 15): a slot the portal's picker booked for an order the
-- customer has not sent yet is held until `held_until`; sending the order clears it (the
-- booking joins the order), and a hold still unplaced at `held_until` is cancelled by the
-- web gateway's sweep (`bureau_scheduling::store::expire_holds`), which frees the slot.
-- NULL: not a hold (booked for a placed order, by staff, or from the bot's draft).
ALTER TABLE bookings
    ADD COLUMN held_until DATETIME(6) NULL AFTER customer_id,
    ADD KEY bookings_held (status, held_until);
