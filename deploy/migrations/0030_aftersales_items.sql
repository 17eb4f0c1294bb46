-- 0030 a buyer's review and an agent's action on a complaint are items too
-- (messages.kind 9 review, 10 complaint_action). Intake stores them like
-- every item (the de-duplication key; a review's buyer gets a customer
-- record) and publishes them as "review.received" and
-- "complaint_action.received"; kefu-escalation owns the cases. The body is
-- the review's text or the action's note.

ALTER TABLE messages DROP CONSTRAINT messages_kind_check;
ALTER TABLE messages ADD CONSTRAINT messages_kind_check CHECK (kind BETWEEN 1 AND 10);

INSERT INTO code_names (code_type, code, name) VALUES
    ('message_kind', 9, 'review'), ('message_kind', 10, 'complaint_action');
