-- A customer's address that mail servers refuse for good. When an SMTP server answers a
-- notice or an account mail with a permanent refusal (5xx), the notifier (or the gateway)
-- records when and why here; from then on order notices are not e-mailed to the address
-- (the one rule in bureau_platform::notify_by treats it as unusable), the profile page
-- says "we could not deliver mail to this address" and the staff customer card shows it.
-- Verifying the address again (a new link followed) clears both columns.
-- See docs/web-customers.md, "A bouncing address".
ALTER TABLE web_accounts
    ADD COLUMN email_bouncing_at DATETIME(6) NULL AFTER email_verified_at,
    ADD COLUMN email_bounce_reason VARCHAR(500) NULL AFTER email_bouncing_at;
