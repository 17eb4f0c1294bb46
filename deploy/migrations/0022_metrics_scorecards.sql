-- 0022 kefu-metrics: agent scorecards (README "Agent scorecards").
--
-- What order-sync's and complaint-escalation's events add to an agent's
-- month (metrics_score_hours, from the per-order and per-complaint state in
-- metrics_orders and metrics_complaints), which shops have those sources at
-- all (metrics_sources), and what a supervisor sets: the shop's weights and
-- coefficients (metrics_settings) and the items kefu has no data for
-- (metrics_entered_scores). A rebuild drops and recomputes the first four;
-- the last two are supervisors' input and stay.

-- Per shop, UTC hour and credited agent: credited paid sales and the
-- complaint findings against the agent.
CREATE TABLE metrics_score_hours (
    shop_id            text NOT NULL,
    hour               timestamptz NOT NULL,  -- start of the UTC hour
    agent_id           text NOT NULL,
    sales_cents        bigint NOT NULL DEFAULT 0, -- paid orders credited to the agent
    orders             bigint NOT NULL DEFAULT 0, -- ... how many
    complaints_valid   bigint NOT NULL DEFAULT 0, -- valid service complaints
    complaints_wrong   bigint NOT NULL DEFAULT 0, -- wrong explanations
    complaints_unverif bigint NOT NULL DEFAULT 0, -- unverifiable
    PRIMARY KEY (shop_id, hour, agent_id)
);

-- Each order as metrics counts it: credited to agent_id ('' = nobody), its
-- amount, when it was paid (0 = not paid), refunded or closed.
CREATE TABLE metrics_orders (
    shop_id       text NOT NULL,
    order_id      text NOT NULL,
    agent_id      text NOT NULL,
    amount_cents  bigint NOT NULL,
    paid_at_ms    bigint NOT NULL,
    cancelled     boolean NOT NULL,
    PRIMARY KEY (shop_id, order_id)
);

-- Each complaint's finding against an agent (ServiceFinding; 0 = none) and
-- when it was judged.
CREATE TABLE metrics_complaints (
    shop_id       text NOT NULL,
    complaint_id  bigint NOT NULL,
    agent_id      text NOT NULL,
    finding       smallint NOT NULL,
    at_ms         bigint NOT NULL,
    PRIMARY KEY (shop_id, complaint_id)
);

-- The event streams a shop has had at least one event in ('ordersync',
-- 'escalation'): without them a scorecard item has no data (null), not 0.
CREATE TABLE metrics_sources (
    shop_id   text NOT NULL,
    stream    text NOT NULL,
    PRIMARY KEY (shop_id, stream)
);

-- A shop's scheme (kefuctl metrics settings). Weights are points of the
-- 100; deductions are points per complaint finding. No row: the defaults
-- (metrics_score.h).
CREATE TABLE metrics_settings (
    shop_id                  text PRIMARY KEY REFERENCES shops,
    weight_sales             numeric NOT NULL CHECK (weight_sales BETWEEN 0 AND 100),
    weight_key_promotion     numeric NOT NULL CHECK (weight_key_promotion BETWEEN 0 AND 100),
    weight_service_check     numeric NOT NULL CHECK (weight_service_check BETWEEN 0 AND 100),
    weight_complaints        numeric NOT NULL CHECK (weight_complaints BETWEEN 0 AND 100),
    weight_customer_records  numeric NOT NULL CHECK (weight_customer_records BETWEEN 0 AND 100),
    conversion_coefficient   numeric NOT NULL CHECK (conversion_coefficient BETWEEN 0 AND 10),
    deduct_valid             numeric NOT NULL CHECK (deduct_valid BETWEEN 0 AND 100),
    deduct_wrong_explanation numeric NOT NULL CHECK (deduct_wrong_explanation BETWEEN 0 AND 100),
    deduct_unverifiable      numeric NOT NULL CHECK (deduct_unverifiable BETWEEN 0 AND 100),
    updated_by               text NOT NULL,
    updated_at               timestamptz NOT NULL DEFAULT now ()
);

-- What a supervisor entered for an agent's month (kefuctl score set), in
-- percent of the item's weight; NULL = not entered.
CREATE TABLE metrics_entered_scores (
    shop_id        text NOT NULL REFERENCES shops,
    month          date NOT NULL CHECK (extract (day FROM month) = 1),
    agent_id       text NOT NULL,
    service_check  numeric CHECK (service_check BETWEEN 0 AND 100),
    key_promotion  numeric CHECK (key_promotion BETWEEN 0 AND 100),
    updated_by     text NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now (),
    PRIMARY KEY (shop_id, month, agent_id)
);
