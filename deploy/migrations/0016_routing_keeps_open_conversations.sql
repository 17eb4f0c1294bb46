-- 0016 routing_conversations holds open conversations only.
--
-- Routing's table was its working set plus every conversation ever closed:
-- it grew without bound, and closing a conversation rewrote its row
-- (state 3, closed_at) as a new tuple with a new primary-key entry, never
-- HOT, because state was in the partial index routing_conversations_open.
-- Now the row of a conversation is deleted when it closes (one tuple
-- marked, no new tuple, no index entry). What stays of a closed
-- conversation: intake's conversations row (closed_at, close_reason,
-- closed_by), the assignment audit trail (assignments), who served the
-- customer (customer_agents) and routing's events.
--
-- With only open rows, the partial index has nothing left to leave out:
-- the primary key's (shop_id, ...) prefix finds a shop's open
-- conversations, and without an index on state the other changes of a
-- conversation (queued -> assigned, overflow, transfer) can stay on their
-- page (HOT; the table keeps fillfactor 75 from 0008). A new conversation
-- is one index entry instead of two.
DELETE FROM routing_conversations WHERE state = 3;
DROP INDEX routing_conversations_open;
ALTER TABLE routing_conversations DROP COLUMN closed_at;
ALTER TABLE routing_conversations
    ADD CONSTRAINT routing_conversations_open_state CHECK (state IN (1, 2));
