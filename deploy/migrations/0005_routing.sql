-- 0005 routing: agents, groups, shifts, routing settings (managed with kefuctl),
-- and routing's own record of conversations, assignments and stickiness.

-- Groups (售前 presales, 售后 aftersales, ...). A queued conversation that waits
-- longer than overflow_after_ms moves to overflow_to (if set).
CREATE TABLE routing_groups (
    shop_id            text NOT NULL REFERENCES shops,
    group_name         text NOT NULL CHECK (group_name ~ '^[a-z0-9][a-z0-9_.-]{0,31}$'),
    display_name       text NOT NULL CHECK (octet_length(display_name) BETWEEN 1 AND 64),
    overflow_to        text,
    overflow_after_ms  bigint NOT NULL DEFAULT 120000 CHECK (overflow_after_ms > 0),
    PRIMARY KEY (shop_id, group_name)
);

CREATE TABLE agents (
    shop_id       text NOT NULL REFERENCES shops,
    agent_id      text NOT NULL CHECK (agent_id ~ '^[A-Za-z0-9][A-Za-z0-9_.@-]{0,127}$'),
    name          text NOT NULL CHECK (octet_length(name) BETWEEN 1 AND 64),
    capacity      integer NOT NULL DEFAULT 5 CHECK (capacity BETWEEN 0 AND 100),
    weight        integer NOT NULL DEFAULT 1 CHECK (weight BETWEEN 1 AND 10),
    vip_capable   boolean NOT NULL DEFAULT false,
    active        boolean NOT NULL DEFAULT true,
    -- 交接留言: the note for whoever takes over this agent's conversations
    handover_note text CHECK (octet_length(handover_note) <= 1024),
    PRIMARY KEY (shop_id, agent_id)
);

CREATE TABLE agent_groups (
    shop_id     text NOT NULL,
    agent_id    text NOT NULL,
    group_name  text NOT NULL,
    PRIMARY KEY (shop_id, agent_id, group_name),
    FOREIGN KEY (shop_id, agent_id) REFERENCES agents ON DELETE CASCADE,
    FOREIGN KEY (shop_id, group_name) REFERENCES routing_groups ON DELETE CASCADE
);

-- Shift definitions in the shop's local time; end_minute < start_minute
-- crosses midnight. Defaults: day 08:30-17:30, night 17:30-23:00.
CREATE TABLE shifts (
    shop_id       text NOT NULL REFERENCES shops,
    shift_name    text NOT NULL CHECK (shift_name ~ '^[a-z0-9][a-z0-9_.-]{0,31}$'),
    start_minute  integer NOT NULL CHECK (start_minute BETWEEN 0 AND 1439),
    end_minute    integer NOT NULL CHECK (end_minute BETWEEN 0 AND 1440),
    PRIMARY KEY (shop_id, shift_name)
);

-- Who works which shift on which days. days: bit 0 = Monday .. bit 6 = Sunday.
-- Rotation: the row applies in weeks where (week number % rotation_weeks)
-- = rotation_offset (weeks counted from Monday 1970-01-05 in the shop's time zone),
-- so a two-week day/night rotation is two rows.
CREATE TABLE agent_schedule (
    shop_id          text NOT NULL,
    agent_id         text NOT NULL,
    shift_name       text NOT NULL,
    days             integer NOT NULL DEFAULT 127 CHECK (days BETWEEN 0 AND 127),
    rotation_weeks   integer NOT NULL DEFAULT 1 CHECK (rotation_weeks BETWEEN 1 AND 8),
    rotation_offset  integer NOT NULL DEFAULT 0 CHECK (rotation_offset >= 0),
    PRIMARY KEY (shop_id, agent_id, shift_name, rotation_offset),
    FOREIGN KEY (shop_id, agent_id) REFERENCES agents ON DELETE CASCADE,
    FOREIGN KEY (shop_id, shift_name) REFERENCES shifts ON DELETE CASCADE,
    CHECK (rotation_offset < rotation_weeks)
);

CREATE TABLE routing_settings (
    shop_id              text PRIMARY KEY REFERENCES shops,
    busy_reply           text NOT NULL DEFAULT '亲，现在咨询的人比较多，已经为您排队，客服马上就来，请稍候～',
    after_hours_reply    text NOT NULL DEFAULT '亲，现在是非工作时间（客服时间 08:30-23:00），您的留言我们上班后会第一时间回复您～',
    sticky_days          integer NOT NULL DEFAULT 3 CHECK (sticky_days BETWEEN 0 AND 90),
    sla_day_ms           bigint NOT NULL DEFAULT 30000 CHECK (sla_day_ms > 0),
    sla_night_ms         bigint NOT NULL DEFAULT 60000 CHECK (sla_night_ms > 0),
    -- the shift whose threshold is the night one
    night_shift          text NOT NULL DEFAULT 'night',
    sla_reassign         boolean NOT NULL DEFAULT false,
    -- overflow order of groups, e.g. {presales,aftersales}
    overflow_order       text[] NOT NULL DEFAULT '{}'
);

-- intent (Intent enum value) -> group; intents not listed use the defaults
-- (presales, bargaining, delivery time, other -> presales; urge shipping,
-- logistics, returns, complaints, negative reviews -> aftersales).
CREATE TABLE intent_groups (
    shop_id     text NOT NULL REFERENCES shops,
    intent      smallint NOT NULL CHECK (intent BETWEEN 1 AND 9),
    group_name  text NOT NULL,
    PRIMARY KEY (shop_id, intent)
);

-- Agent presence as last reported by gateways (from agent.presence events).
CREATE TABLE agent_presence (
    shop_id     text NOT NULL,
    agent_id    text NOT NULL,
    status      smallint NOT NULL,
    since       timestamptz NOT NULL,
    PRIMARY KEY (shop_id, agent_id)
);

-- Routing's view of each conversation. state: 1 queued, 2 assigned, 3 closed.
CREATE TABLE routing_conversations (
    shop_id              text NOT NULL,
    conversation_id      bigint NOT NULL,
    customer_id          bigint NOT NULL,
    channel              smallint NOT NULL,
    channel_customer_id  text NOT NULL,
    group_name           text NOT NULL,
    class                smallint NOT NULL,
    vip                  boolean NOT NULL DEFAULT false,
    state                smallint NOT NULL,
    agent_id             text,
    opened_at            timestamptz NOT NULL,
    queued_at            timestamptz,
    group_since          timestamptz,
    assigned_at          timestamptz,
    waiting_since        timestamptz,
    sla_breached         boolean NOT NULL DEFAULT false,
    -- assignments so far (numbers the assign commands' request ids)
    assign_seq           integer NOT NULL DEFAULT 0,
    -- groups it overflowed through
    overflow_hops        integer NOT NULL DEFAULT 0,
    busy_replied         boolean NOT NULL DEFAULT false,
    after_hours_replied  boolean NOT NULL DEFAULT false,
    closed_at            timestamptz,
    PRIMARY KEY (shop_id, conversation_id)
);
CREATE INDEX routing_conversations_open ON routing_conversations (shop_id, state)
    WHERE state <> 3;

-- Every change of owner: the audit trail (who, why, when).
CREATE TABLE assignments (
    shop_id            text NOT NULL,
    assignment_id      bigint GENERATED BY DEFAULT AS IDENTITY,
    conversation_id    bigint NOT NULL,
    agent_id           text NOT NULL,
    previous_agent_id  text,
    group_name         text NOT NULL,
    reason             smallint NOT NULL,
    note               text,
    by_whom            text NOT NULL DEFAULT 'routing',
    assigned_at        timestamptz NOT NULL,
    waited_ms          bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (shop_id, assignment_id)
);
CREATE INDEX assignments_by_conversation ON assignments (shop_id, conversation_id, assignment_id);

-- First-contact responsibility (首问责任制): who last served each customer.
CREATE TABLE customer_agents (
    shop_id         text NOT NULL,
    customer_id     bigint NOT NULL,
    agent_id        text NOT NULL,
    last_served_at  timestamptz NOT NULL,
    PRIMARY KEY (shop_id, customer_id)
);

-- Commands routing hands to intake, stored with the decision and sent until
-- intake acknowledges them (idempotent on request_id at intake).
CREATE TABLE routing_outbox (
    shop_id       text NOT NULL,
    request_id    text NOT NULL,
    payload       bytea NOT NULL,
    created_at    timestamptz NOT NULL,
    submitted_at  timestamptz,
    PRIMARY KEY (shop_id, request_id)
);
CREATE INDEX routing_outbox_pending ON routing_outbox (shop_id, created_at) WHERE submitted_at IS NULL;
