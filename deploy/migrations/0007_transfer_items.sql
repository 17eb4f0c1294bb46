-- 0007 transfer requests from gateways are items too (messages.kind 6).

ALTER TABLE messages DROP CONSTRAINT messages_kind_check;
ALTER TABLE messages ADD CONSTRAINT messages_kind_check CHECK (kind BETWEEN 1 AND 6);
-- kind 6: the agent asked to take over (agent_id holds who asked, body the reason)
ALTER TABLE messages ADD COLUMN target_agent_id text;
