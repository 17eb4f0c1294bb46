-- 0013 lighter statistics on the tables written with every decision.
--
-- events, routing_conversations, assignments and customer_agents grow or
-- change with every event and every routing decision, so autovacuum analyses
-- them about once a minute at a few thousand decisions/s. With the default
-- statistics target (100: a 30,000-row sample, histograms and most common
-- values for every column) one round took ~650 ms of CPU on the 2-core
-- development VM (events 244, routing_conversations 230, assignments 105,
-- customer_agents 70 ms; 650,000 events, 140,000 conversations), taken from
-- the same two cores routing decides on: the benchmark's worst latency
-- windows were these rounds.
--
-- What is read from these tables goes by key (stream/partition/seq, shop and
-- conversation, shop and customer) or by the open-conversation index, and
-- the few reports over them (kefuctl) count per shop or agent: a 3,000-row
-- sample (target 10) describes such columns well enough. Columns that no
-- statement filters, joins or groups on get no statistics at all (target 0;
-- the planner then uses its default estimates). Same tables after this:
-- 19 + 21 + 17 + 12 ms. The conversation and message record (intake's
-- tables, what supervisors' reports read) keeps the default target.
ALTER TABLE events
    ALTER COLUMN stream SET STATISTICS 10,
    ALTER COLUMN partition SET STATISTICS 10,
    ALTER COLUMN seq SET STATISTICS 10,
    ALTER COLUMN occurred_at SET STATISTICS 10,
    ALTER COLUMN shop_id SET STATISTICS 0,
    ALTER COLUMN kind SET STATISTICS 0,
    ALTER COLUMN payload SET STATISTICS 0;

ALTER TABLE routing_conversations
    ALTER COLUMN shop_id SET STATISTICS 10,
    ALTER COLUMN conversation_id SET STATISTICS 10,
    ALTER COLUMN customer_id SET STATISTICS 10,
    ALTER COLUMN state SET STATISTICS 10,
    ALTER COLUMN agent_id SET STATISTICS 10,
    ALTER COLUMN group_name SET STATISTICS 10,
    ALTER COLUMN channel SET STATISTICS 0,
    ALTER COLUMN channel_customer_id SET STATISTICS 0,
    ALTER COLUMN class SET STATISTICS 0,
    ALTER COLUMN vip SET STATISTICS 0,
    ALTER COLUMN opened_at SET STATISTICS 0,
    ALTER COLUMN queued_at SET STATISTICS 0,
    ALTER COLUMN group_since SET STATISTICS 0,
    ALTER COLUMN assigned_at SET STATISTICS 0,
    ALTER COLUMN waiting_since SET STATISTICS 0,
    ALTER COLUMN sla_breached SET STATISTICS 0,
    ALTER COLUMN assign_seq SET STATISTICS 0,
    ALTER COLUMN overflow_hops SET STATISTICS 0,
    ALTER COLUMN busy_replied SET STATISTICS 0,
    ALTER COLUMN after_hours_replied SET STATISTICS 0,
    ALTER COLUMN closed_at SET STATISTICS 0;

ALTER TABLE assignments
    ALTER COLUMN shop_id SET STATISTICS 10,
    ALTER COLUMN assignment_id SET STATISTICS 10,
    ALTER COLUMN conversation_id SET STATISTICS 10,
    ALTER COLUMN agent_id SET STATISTICS 10,
    ALTER COLUMN reason SET STATISTICS 10,
    ALTER COLUMN assigned_at SET STATISTICS 10,
    ALTER COLUMN previous_agent_id SET STATISTICS 0,
    ALTER COLUMN group_name SET STATISTICS 0,
    ALTER COLUMN note SET STATISTICS 0,
    ALTER COLUMN by_whom SET STATISTICS 0,
    ALTER COLUMN waited_ms SET STATISTICS 0;

ALTER TABLE customer_agents
    ALTER COLUMN shop_id SET STATISTICS 10,
    ALTER COLUMN customer_id SET STATISTICS 10,
    ALTER COLUMN agent_id SET STATISTICS 10,
    ALTER COLUMN last_served_at SET STATISTICS 10;
