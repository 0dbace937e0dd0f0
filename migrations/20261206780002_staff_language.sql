-- The language a staff member's mails are written in (issue 12): their invitation and
-- password-reset links. Chosen by the admin who invites them; NULL for accounts made
-- before it (or by `bureau staff add`): their mails are in the inviting admin's language.
-- Customers' language stays on `customers.language`.
ALTER TABLE web_accounts
    ADD COLUMN IF NOT EXISTS language VARCHAR(8) NULL AFTER display_name;
