-- 0034 kefu-metrics: attendance (README "Attendance").
--
-- What metrics keeps to judge shifts worked, from events only: the shift
-- schedules routing published (schedule.changed, one row per version that
-- differs from the one before), the agents' signed-in spans (agent.presence),
-- the minutes in which they replied and the customers' rounds
-- (message.accepted). Attendance itself is computed from these when asked
-- (metrics_attendance.h). A rebuild drops and recomputes these four; the
-- shop's grace minutes (metrics_attendance_settings) are supervisors' input
-- and stay.

CREATE TABLE metrics_att_schedules (
    shop_id   text NOT NULL,
    from_ms   bigint NOT NULL,     -- in force from (routing's time)
    schedule  text NOT NULL,       -- JSON: timezone, shifts, agents' rows
    PRIMARY KEY (shop_id, from_ms)
);

CREATE TABLE metrics_att_spans (
    shop_id   text NOT NULL,
    agent_id  text NOT NULL,
    from_ms   bigint NOT NULL,     -- signed in (any status but offline)
    to_ms     bigint NOT NULL,     -- signed out, 0 = still signed in
    PRIMARY KEY (shop_id, agent_id, from_ms)
);

CREATE TABLE metrics_att_replies (
    shop_id    text NOT NULL,
    agent_id   text NOT NULL,
    minute_ms  bigint NOT NULL,    -- start of a minute with a human reply
    PRIMARY KEY (shop_id, agent_id, minute_ms)
);

CREATE TABLE metrics_att_rounds (
    shop_id          text NOT NULL,
    conversation_id  bigint NOT NULL,
    started_ms       bigint NOT NULL, -- the customer began waiting
    answered_ms      bigint NOT NULL, -- first human reply, 0 = none
    PRIMARY KEY (shop_id, conversation_id, started_ms)
);
CREATE INDEX metrics_att_rounds_started ON metrics_att_rounds (shop_id, started_ms);

-- A shop's tolerances; no row: the defaults (5 and 5 minutes).
CREATE TABLE metrics_attendance_settings (
    shop_id          text PRIMARY KEY REFERENCES shops,
    late_grace_min   integer NOT NULL CHECK (late_grace_min BETWEEN 0 AND 240),
    early_grace_min  integer NOT NULL CHECK (early_grace_min BETWEEN 0 AND 240),
    updated_by       text NOT NULL,
    updated_at       timestamptz NOT NULL DEFAULT now ()
);
