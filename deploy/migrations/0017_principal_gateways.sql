-- 0017 gateway ids belong to principals; every message says who wrote it.
--
-- A gateway id is part of the de-duplication key (shop_id, gateway_id,
-- gateway_msg_id). Intake used to take it from the Hello as stated, so
-- another key of the same shop could claim a gateway's id: read its ids
-- (DUPLICATE) and use up ids it had not sent yet (its real items then
-- answered DUPLICATE and lost). Now each gateway id is registered to one
-- principal (kefuctl principal add ... [--gateway-id ID], by default the
-- principal's own id; kefuctl principal bind), and intake refuses a Hello
-- naming an id that is not its key's (forbidden). Not shop data: a
-- gateway id is one principal's across all shops.
CREATE TABLE principal_gateways (
    gateway_id   text PRIMARY KEY CHECK (octet_length(gateway_id) BETWEEN 1 AND 128),
    principal_id text NOT NULL REFERENCES principals,
    bound_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX principal_gateways_by_principal ON principal_gateways (principal_id);

-- Principals that may send items keep working under their own id; a
-- gateway that says another id must have it bound (kefuctl principal bind).
INSERT INTO principal_gateways (gateway_id, principal_id)
SELECT principal_id, principal_id FROM principals WHERE role IN ('gateway', 'admin');

-- Who wrote the row (the key's principal). No foreign key: principals are
-- never deleted (only disabled), and a per-row check would cost every batch.
ALTER TABLE messages ADD COLUMN principal_id text;
COMMENT ON COLUMN messages.principal_id IS
    'principal whose key sent the item; NULL when stored without authentication (KEFU_INSECURE=1) or before migration 0017';
