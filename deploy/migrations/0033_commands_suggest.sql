-- 0033 Intake stores routing's suggestion commands (quick replies for a
-- conversation whose intent changed) like the other outbound commands.

ALTER TABLE outbound_commands DROP CONSTRAINT outbound_commands_kind_check;
ALTER TABLE outbound_commands ADD CONSTRAINT outbound_commands_kind_check
    CHECK (kind IN ('assign', 'auto_reply', 'reminder', 'notice', 'suggest'));
