-- 0009 the customer record (客户档案) without a write per message.
--
-- customer_channels keeps who a customer is on each channel (the id there,
-- the kefu customer it belongs to, when first seen). When they were last
-- seen and how many messages they sent are read from the conversation
-- record itself (conversations, messages) by the customer_profiles view,
-- so storing a message no longer rewrites the customer's row.

DROP VIEW customer_profiles;
ALTER TABLE customer_channels DROP COLUMN last_seen_at, DROP COLUMN message_count;

-- The customer record as people read it: identity, channels and their ids,
-- first seen, last seen (their latest conversation's latest message) and
-- the number of messages they sent, over all channels. Meant for one
-- customer or a page of them (it counts their messages).
CREATE VIEW customer_profiles AS
SELECT c.shop_id, c.customer_id, c.display_name, c.vip, c.first_seen_at,
       p.last_seen_at, coalesce (p.message_count, 0) AS message_count, p.channel_ids
FROM customers c
CROSS JOIN LATERAL (
    SELECT max (ch.last_at) AS last_seen_at, sum (ch.sent) AS message_count,
           array_agg (cc.channel || ':' || cc.channel_customer_id ORDER BY cc.channel) AS channel_ids
    FROM customer_channels cc
    CROSS JOIN LATERAL (
        SELECT (SELECT m.received_at FROM conversations v
                JOIN LATERAL (SELECT m.received_at FROM messages m
                              WHERE m.shop_id = v.shop_id AND m.conversation_id = v.conversation_id
                              ORDER BY m.message_id DESC LIMIT 1) m ON true
                WHERE v.shop_id = cc.shop_id AND v.channel = cc.channel
                  AND v.channel_customer_id = cc.channel_customer_id
                ORDER BY v.conversation_id DESC LIMIT 1) AS last_at,
               (SELECT count (*) FROM conversations v
                JOIN messages m ON m.shop_id = v.shop_id AND m.conversation_id = v.conversation_id
                WHERE v.shop_id = cc.shop_id AND v.channel = cc.channel
                  AND v.channel_customer_id = cc.channel_customer_id AND m.kind = 1) AS sent
    ) ch
    WHERE cc.shop_id = c.shop_id AND cc.customer_id = c.customer_id
) p;
