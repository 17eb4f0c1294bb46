-- 0040 conversations cut on the platform's clock.
--
-- From now on intake decides a conversation's membership and its quiet
-- period by the items' sent_at (the platform's time, validated within
-- KEFU_INTAKE_MAX_PAST/MAX_FUTURE), not by when they arrived: opened_at,
-- last_message_at and closed_at are sent_at based (the receive times stay on
-- the messages, messages.received_at). The quiet period runs only while
-- nobody waits: a conversation whose customer waits for a human reply
-- closes only after KEFU_INTAKE_ABANDON_AFTER, with the new reason
-- abandoned (5). Rows written before keep the times they had.
--
-- quiet_until: set by the sweep on a waiting conversation it looked at and
-- left open (its last message + the abandon limit), so the next sweeps pass
-- it by until then; cleared whenever intake rewrites the conversation.

ALTER TABLE conversations ADD COLUMN quiet_until timestamptz;

COMMENT ON COLUMN conversations.opened_at IS 'sent_at of its first message or reply';
COMMENT ON COLUMN conversations.last_message_at IS
    'latest sent_at among its messages and replies, moved forward at most once a minute '
    '(the exact one is in messages)';
COMMENT ON COLUMN conversations.closed_at IS
    'close item''s sent_at, or last message + the quiet period (quiet) or + the abandon '
    'limit (abandoned)';
COMMENT ON COLUMN conversations.quiet_until IS
    'the sweep passes this open conversation by until then (its customer waits); NULL: '
    'last_message_at + the quiet period';

INSERT INTO code_names (code_type, code, name) VALUES ('close_reason', 5, 'abandoned');
