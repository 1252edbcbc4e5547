-- A ceiling on balances far above any real use and far below bigint's range, so that balance
-- arithmetic (in SQL and in Swift) can never overflow: allocations and adjustments are bounded
-- to 10^12 per request, balances to 10^15. NOT VALID: rows written before this migration are
-- not rewritten or refused; every row written from now on is held to it.
ALTER TABLE credit_accounts
    ADD CONSTRAINT credits_allocated_limit CHECK (credits_allocated <= 1000000000000000) NOT VALID;
