-- Routing writes less per decision.
--
-- routing_outbox holds only the commands intake has not acknowledged yet:
-- an acknowledged row is deleted (one cheap tuple delete) instead of being
-- updated with submitted_at (a new tuple plus index entries, never HOT).
-- The lasting record of what was sent is intake's outbound_commands, and
-- of every decision routing's assignments.
DELETE FROM routing_outbox WHERE submitted_at IS NOT NULL;
DROP INDEX routing_outbox_pending;
ALTER TABLE routing_outbox DROP COLUMN submitted_at;

-- Room on each page for the new version of a row, so the frequent updates
-- (waiting_since on every line of a conversation, last_served_at of a
-- returning customer) stay on the page and skip the indexes (HOT).
ALTER TABLE routing_conversations SET (fillfactor = 75);
ALTER TABLE customer_agents SET (fillfactor = 80);
