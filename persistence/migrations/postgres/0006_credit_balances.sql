-- Each org's credit balance, kept by a trigger on every ledger insert (the ledger is append-only,
-- so inserts are the only changes), so the credits gate of every run start reads one row instead
-- of summing a ledger that grows by a row per step. Concurrent debits of one org queue on its row.
CREATE TABLE credit_balances (
    org_id          UUID PRIMARY KEY,
    balance_micros  BIGINT NOT NULL
);
INSERT INTO credit_balances (org_id, balance_micros)
    SELECT org_id, CAST(SUM(amount_micros) AS BIGINT) FROM credit_ledger GROUP BY org_id;
CREATE FUNCTION aos_credit_ledger_balance() RETURNS trigger AS $$
BEGIN
    INSERT INTO credit_balances (org_id, balance_micros) VALUES (NEW.org_id, NEW.amount_micros)
        ON CONFLICT (org_id) DO UPDATE SET balance_micros = credit_balances.balance_micros + EXCLUDED.balance_micros;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER credit_ledger_balance AFTER INSERT ON credit_ledger
    FOR EACH ROW EXECUTE FUNCTION aos_credit_ledger_balance();
