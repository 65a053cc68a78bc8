-- A webhook source's token, sealed by the vault (AES-256-GCM, bound to the org and the source), so
-- the people who edit a workflow can see its webhook URL again; lookups still go by the hash.
-- Sources created before this have none until their token is rotated.
ALTER TABLE webhook_sources ADD COLUMN token_ciphertext BLOB;
ALTER TABLE webhook_sources ADD COLUMN token_nonce BLOB;
ALTER TABLE webhook_sources ADD COLUMN token_key_id TEXT;
