-- 0028 order-sync's tables: the shop's orders (with their tasks, flags and
-- the agent credited), the history of their states, the flags, snapshots
-- refused for review, the agents' latest replies (attribution), per-shop
-- settings, and the commands not yet acknowledged by intake. Only
-- kefu-ordersync (ordersync_store) and kefuctl through it name them.

-- Per-shop settings (kefuctl orders settings); a shop without a row has
-- these defaults. The shop's time zone is shops.timezone.
CREATE TABLE ordersync_settings (
    shop_id            text PRIMARY KEY REFERENCES shops (shop_id),
    remind_minute      smallint NOT NULL DEFAULT 960 CHECK (remind_minute BETWEEN 0 AND 1439),
    cutoff_minute      smallint NOT NULL DEFAULT 1020 CHECK (cutoff_minute BETWEEN 0 AND 1439),
    cod_notice_s       integer NOT NULL DEFAULT 7200 CHECK (cod_notice_s > 0),
    stall_after_s      integer NOT NULL DEFAULT 172800 CHECK (stall_after_s > 0),
    window_s           integer NOT NULL DEFAULT 86400 CHECK (window_s > 0),
    cod_group          text NOT NULL DEFAULT 'presales',
    remind_text        text NOT NULL
        DEFAULT '亲，您的订单 {order} 还没有付款哦，库存有限，付款后我们尽快为您发货～'
        CHECK (octet_length(remind_text) BETWEEN 1 AND 512)
);

-- One row per order. Times are the platform's (the snapshot's), tasks'
-- times kefu's clock. receiver_address and receiver_phone are personal
-- data: shown to the shop's own people only, never logged.
CREATE TABLE orders (
    shop_id              text NOT NULL,
    order_id             text NOT NULL,
    customer_id          bigint,            -- kefu customer of the buyer (customer_channels)
    channel              smallint NOT NULL, -- code_names: channel
    channel_customer_id  text NOT NULL,
    state                smallint NOT NULL, -- code_names: order_state
    payment              smallint NOT NULL, -- code_names: payment_method
    amount_cents         bigint NOT NULL,
    currency             text NOT NULL,
    created_at           timestamptz,
    paid_at              timestamptz,
    shipped_at           timestamptz,
    delivered_at         timestamptz,
    logistics_at         timestamptz,
    modified_at          timestamptz NOT NULL,
    tracking_no          text,
    items                text,
    receiver_address     text,
    receiver_phone       text,
    reminded_at          timestamptz,       -- 催付 decided (or blue flag by hand): never again
    cod_opened_at        timestamptz,
    cod_confirmed_at     timestamptz,
    cod_escalated_at     timestamptz,
    task_owner           text,              -- COD confirmation: agent or group
    address_opened_at    timestamptz,
    address_confirmed_at timestamptz,
    address_note         text,              -- 小红旗: "content _ agent"
    late_at              timestamptz,
    stalled_at           timestamptz,
    credited_agent       text,              -- 询单转化: NULL = nobody
    credited_conversation bigint,
    credited_reply_at    timestamptz,
    credit_rule          text,              -- 'last_reply_within_window'
    credit_window_s      integer,
    refused              integer NOT NULL DEFAULT 0,
    PRIMARY KEY (shop_id, order_id)
);
CREATE INDEX orders_customer ON orders (shop_id, customer_id);

-- Every change of state, as applied.
CREATE TABLE order_states (
    shop_id        text NOT NULL,
    order_id       text NOT NULL,
    at             timestamptz NOT NULL,  -- the snapshot's modification time
    state          smallint NOT NULL,
    previous_state smallint,
    recorded_at    timestamptz NOT NULL,
    PRIMARY KEY (shop_id, order_id, at, state)
);

-- Flags: agents' (order_flag items) and kefu's own (blue when reminded,
-- late, stalled); tasks opened and due.
CREATE TABLE order_flags (
    shop_id     text NOT NULL,
    order_id    text NOT NULL,
    at          timestamptz NOT NULL,
    flag        text NOT NULL,   -- red, blue, ..., late, stalled; '' for a task
    task        text NOT NULL,   -- unpaid_reminder, cod_confirm, address_confirm, shipping_delay, ''
    note        text NOT NULL,
    agent_id    text NOT NULL    -- '' = kefu
);
CREATE INDEX order_flags_order ON order_flags (shop_id, order_id, at);

-- Snapshots refused (older than the order's, or an impossible move), for review.
CREATE TABLE order_refused (
    shop_id      text NOT NULL,
    order_id     text NOT NULL,
    state        smallint NOT NULL,
    modified_at  timestamptz NOT NULL,
    reason       text NOT NULL,   -- stale, impossible
    order_state  smallint NOT NULL,
    recorded_at  timestamptz NOT NULL
);
CREATE INDEX order_refused_order ON order_refused (shop_id, order_id);

-- The agents' replies to customers (attribution reads the latest few).
CREATE TABLE ordersync_replies (
    shop_id         text NOT NULL,
    customer_id     bigint NOT NULL,
    at              timestamptz NOT NULL,
    agent_id        text NOT NULL,
    conversation_id bigint NOT NULL,
    PRIMARY KEY (shop_id, customer_id, at, agent_id)
);

-- Commands decided and not yet acknowledged by intake (stored with the
-- decision, sent until intake acknowledges; idempotent on request_id there).
CREATE TABLE ordersync_outbox (
    shop_id     text NOT NULL,
    request_id  text NOT NULL,
    payload     bytea NOT NULL,
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (shop_id, request_id)
);

INSERT INTO code_names (code_type, code, name) VALUES
    ('order_state', 1, 'created'), ('order_state', 2, 'paid'), ('order_state', 3, 'shipped'),
    ('order_state', 4, 'delivered'), ('order_state', 5, 'refunding'), ('order_state', 6, 'refunded'),
    ('order_state', 7, 'closed'),
    ('payment_method', 1, 'online'), ('payment_method', 2, 'cash_on_delivery');
COMMENT ON COLUMN orders.channel IS 'code_names: channel';
COMMENT ON COLUMN orders.state IS 'code_names: order_state';
COMMENT ON COLUMN orders.payment IS 'code_names: payment_method';
COMMENT ON COLUMN order_states.state IS 'code_names: order_state';
COMMENT ON COLUMN order_refused.state IS 'code_names: order_state';
