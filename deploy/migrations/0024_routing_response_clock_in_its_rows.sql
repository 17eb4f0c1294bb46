-- 0024 routing keeps each open conversation's response clock in its own
-- row (routing_conversations.waiting_since, sla_breached).
--
-- Since 0011 routing wrote the clock only with other changes of the row and
-- recomputed it from intake's messages when it started. Now it writes the
-- row at each turn of the clock (the customer's first line after an
-- answer, the owner's answer) and rebuilds from its own rows alone: it
-- never reads intake's tables. This fills the clock of the rows open at
-- the upgrade once, with the rule routing used to load them: the customer
-- waits since their first message after the last human answer of an owner
-- (replies before the current owner's assignment were their owners'; the
-- platform's auto-responder answers no one).
--
-- A breach recorded stays only with the wait it was written with.
WITH clock AS (
    SELECT r.shop_id, r.conversation_id, (
               SELECT min (m.received_at) FROM messages m
                WHERE m.shop_id = r.shop_id AND m.conversation_id = r.conversation_id
                  AND m.kind = 1
                  AND m.received_at > coalesce ((
                          SELECT max (a.received_at) FROM messages a
                           WHERE a.shop_id = r.shop_id
                             AND a.conversation_id = r.conversation_id
                             AND a.kind = 2 AND NOT a.auto_reply
                             AND (a.agent_id = r.agent_id OR a.received_at < r.assigned_at)),
                      '-infinity')) AS waiting
      FROM routing_conversations r)
UPDATE routing_conversations r
   SET waiting_since = c.waiting,
       sla_breached = r.sla_breached AND coalesce (
           (extract (epoch FROM r.waiting_since) * 1000)::int8
               = (extract (epoch FROM c.waiting) * 1000)::int8, false)
  FROM clock c
 WHERE r.shop_id = c.shop_id AND r.conversation_id = c.conversation_id;
