-- 0031 the names of kefu-escalation's codes (see 0020): a case's stage,
-- category, responsible party, remedy and a review's outcome, as the wire
-- schema's enums (proto/kefu/v1/complaints.proto) name them. A review's
-- outcome REVIEW_PROMISED keeps the follow-up time in next_ms (the case
-- falls due then: kefu-escalation has an agent check the promise).

INSERT INTO code_names (code_type, code, name) VALUES
    ('complaint_stage', 1, 'registered'), ('complaint_stage', 2, 'judged'),
    ('complaint_stage', 3, 'investigated'), ('complaint_stage', 4, 'remedy_proposed'),
    ('complaint_stage', 5, 'approved'), ('complaint_stage', 6, 'carried_out'),
    ('complaint_stage', 7, 'revisited'), ('complaint_stage', 8, 'closed'),
    ('complaint_category', 1, 'not_as_described'), ('complaint_category', 2, 'service'),
    ('complaint_category', 3, 'missing_items'), ('complaint_category', 4, 'late_delivery'),
    ('complaint_category', 5, 'transit_damage'), ('complaint_category', 6, 'quality'),
    ('responsible_party', 1, 'warehouse'), ('responsible_party', 2, 'courier'),
    ('responsible_party', 3, 'product'), ('responsible_party', 4, 'service'),
    ('responsible_party', 5, 'none'),
    ('remedy', 1, 'apology'), ('remedy', 2, 'coupon'), ('remedy', 3, 'cash'), ('remedy', 4, 'resend'),
    ('remedy', 5, 'exchange'), ('remedy', 6, 'return_refund'),
    ('review_outcome', 1, 'changed'), ('review_outcome', 2, 'promised'), ('review_outcome', 3, 'refused'),
    ('review_outcome', 4, 'after_compensation');

COMMENT ON COLUMN escalation_cases.stage IS 'code_names: complaint_stage';
COMMENT ON COLUMN escalation_cases.category IS 'code_names: complaint_category';
COMMENT ON COLUMN escalation_cases.responsible IS 'code_names: responsible_party';
COMMENT ON COLUMN escalation_cases.remedy IS 'code_names: remedy';
COMMENT ON COLUMN escalation_cases.outcome IS 'code_names: review_outcome';
COMMENT ON COLUMN escalation_ledger.category IS 'code_names: complaint_category';
COMMENT ON COLUMN escalation_ledger.responsible IS 'code_names: responsible_party';
