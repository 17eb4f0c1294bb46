-- 0020 the names of the codes stored in the record.
--
-- Some columns hold a small number: messages.kind, every channel, intents,
-- priorities, close reasons, presence, why an assignment was made, routing's
-- queue state and class. code_names says what each number means, for
-- whoever reads the record, e.g. a conversation's messages with their kinds:
--   SELECT m.message_id, k.name AS kind, m.body FROM messages m
--   JOIN code_names k ON k.code_type = 'message_kind' AND k.code = m.kind
--   WHERE m.shop_id = 'demo-shop' AND m.conversation_id = 1 ORDER BY m.message_id;
-- The names are the wire schema's enum names without their prefix, in lower
-- case (CHANNEL_PLATFORM_CHAT -> platform_chat), the InboundItem kinds for
-- message_kind, and routing's own for routing_state and queue_class. The
-- README's table of codes lists the same; a test holds all three together.
CREATE TABLE code_names (
    code_type  text NOT NULL,
    code       smallint NOT NULL,
    name       text NOT NULL,
    PRIMARY KEY (code_type, code),
    UNIQUE (code_type, name)
);

INSERT INTO code_names (code_type, code, name) VALUES
    ('channel', 1, 'platform_chat'), ('channel', 2, 'wechat'), ('channel', 3, 'web_chat'),
    ('channel', 4, 'email'), ('channel', 5, 'phone'),
    ('message_kind', 1, 'customer_message'), ('message_kind', 2, 'agent_reply'),
    ('message_kind', 3, 'agent_presence'), ('message_kind', 4, 'customer_rating'),
    ('message_kind', 5, 'conversation_close'), ('message_kind', 6, 'transfer_request'),
    ('intent', 1, 'other'), ('intent', 2, 'presales'), ('intent', 3, 'bargaining'),
    ('intent', 4, 'urge_shipping'), ('intent', 5, 'delivery_time'), ('intent', 6, 'logistics'),
    ('intent', 7, 'return_refund'), ('intent', 8, 'complaint'), ('intent', 9, 'negative_review'),
    ('priority', 1, 'low'), ('priority', 2, 'normal'), ('priority', 3, 'high'),
    ('priority', 4, 'urgent'),
    ('close_reason', 1, 'resolved'), ('close_reason', 2, 'customer_left'),
    ('close_reason', 3, 'quiet'), ('close_reason', 4, 'transferred'),
    ('agent_status', 1, 'online'), ('agent_status', 2, 'busy'), ('agent_status', 3, 'away'),
    ('agent_status', 4, 'offline'),
    ('assign_reason', 1, 'new'), ('assign_reason', 2, 'sticky'), ('assign_reason', 3, 'queue'),
    ('assign_reason', 4, 'overflow'), ('assign_reason', 5, 'sla'), ('assign_reason', 6, 'handover'),
    ('assign_reason', 7, 'transfer'), ('assign_reason', 8, 'pickup'),
    ('routing_state', 1, 'queued'), ('routing_state', 2, 'assigned'),
    ('queue_class', 0, 'urgent'), ('queue_class', 1, 'aftersales'), ('queue_class', 2, 'presales');

COMMENT ON TABLE code_names IS 'what the numbers in coded columns mean (code_type, code -> name)';
COMMENT ON COLUMN messages.kind IS 'code_names: message_kind';
COMMENT ON COLUMN messages.channel IS 'code_names: channel';
COMMENT ON COLUMN messages.intent IS 'code_names: intent';
COMMENT ON COLUMN messages.priority IS 'code_names: priority';
COMMENT ON COLUMN messages.agent_status IS 'code_names: agent_status';
COMMENT ON COLUMN conversations.channel IS 'code_names: channel';
COMMENT ON COLUMN conversations.close_reason IS 'code_names: close_reason';
COMMENT ON COLUMN conversations.intent IS 'code_names: intent';
COMMENT ON COLUMN conversations.priority IS 'code_names: priority';
COMMENT ON COLUMN customer_channels.channel IS 'code_names: channel';
COMMENT ON COLUMN outbound_commands.channel IS 'code_names: channel';
COMMENT ON COLUMN intent_groups.intent IS 'code_names: intent';
COMMENT ON COLUMN agent_presence.status IS 'code_names: agent_status';
COMMENT ON COLUMN routing_conversations.channel IS 'code_names: channel';
COMMENT ON COLUMN routing_conversations.state IS 'code_names: routing_state';
COMMENT ON COLUMN routing_conversations.class IS 'code_names: queue_class';
COMMENT ON COLUMN assignments.reason IS 'code_names: assign_reason';

-- The customer record shows its channel ids by channel name
-- (platform_chat:tb_lily88, not 1:tb_lily88); otherwise as in 0009.
CREATE OR REPLACE VIEW customer_profiles AS
SELECT c.shop_id, c.customer_id, c.display_name, c.vip, c.first_seen_at,
       p.last_seen_at, coalesce (p.message_count, 0) AS message_count, p.channel_ids
FROM customers c
CROSS JOIN LATERAL (
    SELECT max (ch.last_at) AS last_seen_at, sum (ch.sent) AS message_count,
           array_agg (coalesce (n.name, cc.channel::text) || ':' || cc.channel_customer_id
                      ORDER BY cc.channel) AS channel_ids
    FROM customer_channels cc
    LEFT JOIN code_names n ON n.code_type = 'channel' AND n.code = cc.channel
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
