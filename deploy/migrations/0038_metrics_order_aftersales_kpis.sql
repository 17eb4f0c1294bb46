-- 0043 kefu-metrics: the order desk's and the after-sales desk's numbers
-- (README "What each number means": orders and after-sales).
--
-- Kept from events only, in the transaction of metrics' offsets, dropped
-- and recomputed by a rebuild:
--   metrics_inquiries   who talked to the shop, per UTC hour: the customer
--                       (agent_id '') and each agent who replied to them
--                       (intake's message.accepted)
--   metrics_order_desk  one row per order as order-sync's events left it
--   metrics_cases       one row per complaint or bad review as
--                       complaint-escalation's events left it
-- Questions add these up over a period (orders.summary,
-- aftersales.summary).

CREATE TABLE metrics_inquiries (
    shop_id   text NOT NULL,
    hour_ms   bigint NOT NULL,      -- start of the UTC hour of the line
    customer  text NOT NULL,        -- channel number ':' the customer's id on it
    agent_id  text NOT NULL,        -- '' the customer wrote; else the agent who replied
    PRIMARY KEY (shop_id, hour_ms, customer, agent_id)
);

CREATE TABLE metrics_order_desk (
    shop_id           text NOT NULL,
    order_id          text NOT NULL,
    customer          text,             -- as in metrics_inquiries; NULL: not known
    agent_id          text,             -- credited (order.credited); '' nobody; NULL never said
    amount_cents      bigint NOT NULL DEFAULT 0,
    created_ms        bigint NOT NULL DEFAULT 0, -- placed (0: not seen)
    paid_ms           bigint NOT NULL DEFAULT 0, -- first seen paid
    shipped_ms        bigint NOT NULL DEFAULT 0, -- first seen shipped
    late_ms           bigint NOT NULL DEFAULT 0, -- flagged not shipped by the cutoff
    reminded_ms       bigint NOT NULL DEFAULT 0, -- reminded to pay (by kefu or by hand)
    reminded_by_hand  boolean NOT NULL DEFAULT false,
    cancelled         boolean NOT NULL DEFAULT false, -- refunded or closed
    PRIMARY KEY (shop_id, order_id)
);
CREATE INDEX metrics_order_desk_customer ON metrics_order_desk (shop_id, customer);

CREATE TABLE metrics_cases (
    shop_id             text NOT NULL,
    case_id             bigint NOT NULL,
    review              boolean NOT NULL DEFAULT false, -- a bad review (中差评), else a complaint
    opened_ms           bigint NOT NULL DEFAULT 0,
    closed_ms           bigint NOT NULL DEFAULT 0,      -- closed; reviews: changed or deleted
    overdue_ms          bigint NOT NULL DEFAULT 0,      -- first deadline passed; reviews: phone rung
    carried_ms          bigint NOT NULL DEFAULT 0,      -- remedy carried out
    revisited_ms        bigint NOT NULL DEFAULT 0,      -- revisit (回访) done
    compensation_cents  bigint NOT NULL DEFAULT 0,      -- money the remedy moved
    PRIMARY KEY (shop_id, case_id)
);
