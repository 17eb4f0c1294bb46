-- 0006 cheaper bookkeeping on the ack path.
--
-- Intake no longer rewrites a customer's row or a conversation's row for
-- every message: the customer row keeps who the customer is (name, VIP,
-- first seen), the per-channel rows keep last seen and message counts, and a
-- conversation's last_message_at is moved forward at most once a minute
-- (its exact last message is in messages; the quiet-period sweep looks it
-- up). Free space in each page lets the remaining updates stay HOT.

ALTER TABLE customers DROP COLUMN last_seen_at, DROP COLUMN message_count;
ALTER TABLE customers SET (fillfactor = 90);
ALTER TABLE customer_channels SET (fillfactor = 70);
ALTER TABLE conversations SET (fillfactor = 70);

COMMENT ON COLUMN conversations.last_message_at IS
    'last activity, moved forward at most once a minute (the exact last message is in messages)';
COMMENT ON COLUMN conversations.message_count IS
    'messages and replies, exact once the conversation is closed';

-- The customer record (客户档案) as people read it: identity, channels and
-- their ids, first/last seen and message counts over all channels.
CREATE VIEW customer_profiles AS
SELECT c.shop_id, c.customer_id, c.display_name, c.vip, c.first_seen_at,
       max(cc.last_seen_at) AS last_seen_at,
       coalesce(sum(cc.message_count), 0) AS message_count,
       array_agg(cc.channel || ':' || cc.channel_customer_id ORDER BY cc.channel) AS channel_ids
FROM customers c
JOIN customer_channels cc ON cc.shop_id = c.shop_id AND cc.customer_id = c.customer_id
GROUP BY c.shop_id, c.customer_id;
