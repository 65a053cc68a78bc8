-- Each org's credit balance, kept by a trigger on every ledger insert (the ledger is append-only,
-- so inserts are the only changes), so the credits gate of every run start reads one row instead
-- of summing a ledger that grows by a row per step.
CREATE TABLE credit_balances (
    org_id          BLOB PRIMARY KEY,
    balance_micros  INTEGER NOT NULL
);
INSERT INTO credit_balances (org_id, balance_micros)
    SELECT org_id, SUM(amount_micros) FROM credit_ledger GROUP BY org_id;
CREATE TRIGGER credit_ledger_balance AFTER INSERT ON credit_ledger
BEGIN
    INSERT OR IGNORE INTO credit_balances (org_id, balance_micros) VALUES (NEW.org_id, 0);
    UPDATE credit_balances SET balance_micros = balance_micros + NEW.amount_micros WHERE org_id = NEW.org_id;
END;
