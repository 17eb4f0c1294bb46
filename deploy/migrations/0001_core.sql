-- 0001 core: shops, principals (gateways, supervisors, services) and their shop scope.
-- Every table of shop data leads its primary key and indexes with shop_id.

CREATE TABLE shops (
    shop_id     text PRIMARY KEY CHECK (shop_id ~ '^[a-z0-9][a-z0-9_.-]{0,63}$'),
    name        text NOT NULL CHECK (octet_length(name) BETWEEN 1 AND 256),
    timezone    text NOT NULL DEFAULT 'Asia/Shanghai' CHECK (octet_length(timezone) BETWEEN 1 AND 64),
    -- the shop's event partition (kf_shop_partition): topics and sequences are per partition
    partition   smallint NOT NULL CHECK (partition BETWEEN 0 AND 15),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE principals (
    principal_id text PRIMARY KEY CHECK (principal_id ~ '^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$'),
    role         text NOT NULL CHECK (role IN ('gateway', 'supervisor', 'admin', 'service')),
    -- CURVE public key, Z85 (40 characters); NULL for principals without a key yet
    public_key   text UNIQUE CHECK (length(public_key) = 40),
    -- may act for every shop (admins, kefu's own services)
    all_shops    boolean NOT NULL DEFAULT false,
    created_at   timestamptz NOT NULL DEFAULT now(),
    disabled_at  timestamptz
);

CREATE TABLE principal_shops (
    shop_id      text NOT NULL REFERENCES shops ON DELETE CASCADE,
    principal_id text NOT NULL REFERENCES principals ON DELETE CASCADE,
    PRIMARY KEY (shop_id, principal_id)
);
