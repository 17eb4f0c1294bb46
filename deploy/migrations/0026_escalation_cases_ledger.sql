-- 0026 kefu-escalation: complaint and bad-review cases, the compensation
-- ledger (append-only), the shops' after-sales settings, and the commands
-- escalation has not had acknowledged by intake yet (services/escalation).
--
-- Only escalation_store.c names these tables (kefu-escalation and kefuctl
-- link it). Times are ms since the epoch, UTC; codes are the enums of
-- proto/kefu/v1/complaints.proto (kind: 1 complaint, 2 review).

-- A shop's after-sales settings; a shop without a row has the defaults.
CREATE TABLE escalation_settings (
    shop_id              text PRIMARY KEY REFERENCES shops ON DELETE CASCADE,
    approval_limit_cents bigint NOT NULL DEFAULT 5000 CHECK (approval_limit_cents >= 0),
    sms_delay_ms         bigint NOT NULL DEFAULT 7200000 CHECK (sms_delay_ms >= 0),
    phone_after_ms       bigint NOT NULL DEFAULT 172800000 CHECK (phone_after_ms >= 0),
    revisit_within_ms    bigint NOT NULL DEFAULT 259200000 CHECK (revisit_within_ms > 0),
    calling_windows      text NOT NULL DEFAULT '09:30-11:30,16:00-18:00'
);

-- One complaint (kind 1) or bad review (kind 2). due_ms is when the case
-- next needs escalation's attention (a stage deadline, the next rung of the
-- ladder; 0 = nothing due): kefu-escalation fires what is due, and after a
-- restart what fell due while it was down, each once (the row changes in
-- the same transaction as the events and commands the firing makes).
CREATE TABLE escalation_cases (
    shop_id          text NOT NULL,
    case_id          bigint GENERATED ALWAYS AS IDENTITY,
    kind             smallint NOT NULL CHECK (kind IN (1, 2)),
    customer_id      bigint NOT NULL DEFAULT 0,      -- kefu's customer id, 0 = unknown
    channel          smallint NOT NULL,
    channel_customer_id text NOT NULL DEFAULT '',    -- the buyer on the channel
    order_id         text NOT NULL DEFAULT '',
    phone            text NOT NULL DEFAULT '',
    item             text NOT NULL DEFAULT '',
    body             text NOT NULL DEFAULT '',       -- what the customer said / the review
    rating           smallint NOT NULL DEFAULT 0,    -- reviews: 1-5 stars, 0 = given as neutral/negative
    severity         smallint NOT NULL DEFAULT 0,    -- reviews: 1..5
    stage            smallint NOT NULL,
    valid            boolean NOT NULL DEFAULT false,
    category         smallint NOT NULL DEFAULT 0,
    responsible      smallint NOT NULL DEFAULT 0,
    agent_id         text NOT NULL DEFAULT '',       -- the agent concerned (service complaints)
    remedy           smallint NOT NULL DEFAULT 0,
    amount_cents     bigint NOT NULL DEFAULT 0,
    currency         text NOT NULL DEFAULT 'CNY',
    approved_by      text NOT NULL DEFAULT '',
    approved_at_ms   bigint NOT NULL DEFAULT 0,
    level            smallint NOT NULL DEFAULT 0,    -- escalation level of the current stage
    stage_at_ms      bigint NOT NULL,
    deadline_ms      bigint NOT NULL DEFAULT 0,
    step             smallint NOT NULL DEFAULT 0,    -- reviews: the last rung taken
    chat_at_ms       bigint NOT NULL DEFAULT 0,
    next_ms          bigint NOT NULL DEFAULT 0,
    contacted        boolean NOT NULL DEFAULT false, -- reviews: the buyer answered
    outcome          smallint NOT NULL DEFAULT 0,    -- reviews: 1 deleted/changed, 2 promised, 3 refused, 4 after compensation
    note             text NOT NULL DEFAULT '',       -- the last reason given
    registered_at_ms bigint NOT NULL,
    registered_by    text NOT NULL,
    due_ms           bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (shop_id, case_id)
);
CREATE INDEX escalation_cases_due ON escalation_cases (shop_id, due_ms) WHERE due_ms > 0;
CREATE INDEX escalation_cases_customer ON escalation_cases (shop_id, customer_id, order_id)
    WHERE stage <> 8;
CREATE INDEX escalation_cases_buyer ON escalation_cases (shop_id, channel, channel_customer_id)
    WHERE kind = 2 AND NOT contacted;

-- Every money movement: compensation, refunds, resend costs. Append-only:
-- a correction is a new entry (a negative amount), never an UPDATE.
CREATE TABLE escalation_ledger (
    shop_id       text NOT NULL,
    entry_id      bigint GENERATED ALWAYS AS IDENTITY,
    case_id       bigint NOT NULL,
    order_id      text NOT NULL DEFAULT '',
    amount_cents  bigint NOT NULL,
    currency      text NOT NULL DEFAULT 'CNY',
    kind          smallint NOT NULL CHECK (kind BETWEEN 1 AND 4), -- coupon, cash, refund, resend cost
    category      smallint NOT NULL DEFAULT 0,
    responsible   smallint NOT NULL DEFAULT 0,
    agent_id      text NOT NULL DEFAULT '',    -- who carried it out
    approved_by   text NOT NULL DEFAULT '',
    at_ms         bigint NOT NULL,
    note          text NOT NULL DEFAULT '',
    PRIMARY KEY (shop_id, entry_id)
);
CREATE INDEX escalation_ledger_time ON escalation_ledger (shop_id, at_ms);

CREATE FUNCTION escalation_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'escalation_ledger is append-only: % refused (add a correcting entry)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER escalation_ledger_no_update BEFORE UPDATE OR DELETE ON escalation_ledger
    FOR EACH ROW EXECUTE FUNCTION escalation_ledger_append_only();
CREATE TRIGGER escalation_ledger_no_truncate BEFORE TRUNCATE ON escalation_ledger
    FOR EACH STATEMENT EXECUTE FUNCTION escalation_ledger_append_only();

-- Commands (chat message, SMS, phone task, supervisor notice) decided but
-- not yet acknowledged by intake; deleted when acknowledged.
CREATE TABLE escalation_commands (
    shop_id     text NOT NULL,
    request_id  text NOT NULL,
    payload     bytea NOT NULL,
    created_ms  bigint NOT NULL,
    PRIMARY KEY (shop_id, request_id)
);
