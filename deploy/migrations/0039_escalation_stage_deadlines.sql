-- 0040 kefu-escalation: every stage's deadline per shop.
--
-- Each column is how long a complaint may stay in one stage before the
-- deadline passes (the case rises one escalation level and the supervisors
-- are told): judge_within_ms for a registered case, investigate_within_ms
-- for a judged one, and so on to close_within_ms for a revisited one
-- (revisit_within_ms, after "carried out", is 0026's). The defaults are
-- escalation_model.c's, so a shop's existing row keeps its deadlines.
-- Set with kefuctl escalation settings SHOP --judge-within 2h ...

ALTER TABLE escalation_settings
    ADD COLUMN judge_within_ms       bigint NOT NULL DEFAULT 86400000 CHECK (judge_within_ms > 0),
    ADD COLUMN investigate_within_ms bigint NOT NULL DEFAULT 86400000 CHECK (investigate_within_ms > 0),
    ADD COLUMN propose_within_ms     bigint NOT NULL DEFAULT 86400000 CHECK (propose_within_ms > 0),
    ADD COLUMN approve_within_ms     bigint NOT NULL DEFAULT 14400000 CHECK (approve_within_ms > 0),
    ADD COLUMN carry_out_within_ms   bigint NOT NULL DEFAULT 172800000 CHECK (carry_out_within_ms > 0),
    ADD COLUMN close_within_ms       bigint NOT NULL DEFAULT 86400000 CHECK (close_within_ms > 0);
