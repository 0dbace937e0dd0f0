-- The business's time zone (issue 12): the zone its days are counted in — the reports'
-- days, weeks and months and their date presets. An IANA name (`Europe/Kyiv`), checked by
-- the back office against the tz database before it is saved; NULL falls back to the
-- `[business] time_zone` setting, like the other columns of this row.
ALTER TABLE business_details
    ADD COLUMN time_zone VARCHAR(64) NULL AFTER greeting_en;
