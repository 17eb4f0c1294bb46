-- 0021 kefu-metrics: hourly rollups, their latency histograms, and the
-- state the rules keep per conversation and agent (services/metrics).
--
-- kefu-metrics writes these tables in the same transaction as its offsets
-- in consumer_offsets (consumer 'metrics'), from intake's and routing's
-- events only: it never reads their tables. README "What each number
-- means" says what every column counts; metrics_model.h is the code.

-- One row per shop, UTC hour, credited agent, channel and routing group
-- ('' = none): sums of what the rules counted there. Times are ms.
CREATE TABLE metrics_hours (
    shop_id            text NOT NULL,
    hour               timestamptz NOT NULL,  -- start of the UTC hour
    agent_id           text NOT NULL,         -- '' = no agent
    channel            smallint NOT NULL,
    group_name         text NOT NULL,         -- '' = no group
    conv_customer      bigint NOT NULL DEFAULT 0, -- customer-opened conversations
    conv_shop          bigint NOT NULL DEFAULT 0, -- shop-opened conversations
    conv_after_hours   bigint NOT NULL DEFAULT 0, -- customer-opened, queued after hours
    conv_answered      bigint NOT NULL DEFAULT 0, -- customer-opened with a human reply
    conv_answered_ah   bigint NOT NULL DEFAULT 0, -- ... of which after hours
    frt_sum_ms         bigint NOT NULL DEFAULT 0, -- first responses, not after hours
    frt_ah_sum_ms      bigint NOT NULL DEFAULT 0, -- first responses after hours
    conv_queued        bigint NOT NULL DEFAULT 0, -- queued at least once
    conv_abandoned     bigint NOT NULL DEFAULT 0, -- closed while queued
    conv_closed        bigint NOT NULL DEFAULT 0, -- closed
    close_sum_ms       bigint NOT NULL DEFAULT 0, -- time to close
    waits              bigint NOT NULL DEFAULT 0, -- assignments out of a queue
    wait_sum_ms        bigint NOT NULL DEFAULT 0,
    wait_max_ms        bigint NOT NULL DEFAULT 0, -- a maximum (meaningless where waits = 0)
    customer_msgs      bigint NOT NULL DEFAULT 0,
    replies            bigint NOT NULL DEFAULT 0, -- human replies
    auto_replies       bigint NOT NULL DEFAULT 0,
    qa_flagged         bigint NOT NULL DEFAULT 0, -- human replies with a forbidden phrase
    qa_flags           bigint NOT NULL DEFAULT 0, -- phrases found
    rounds             bigint NOT NULL DEFAULT 0, -- answered rounds
    round_sum_ms       bigint NOT NULL DEFAULT 0,
    round_msgs         bigint NOT NULL DEFAULT 0, -- customer messages of answered rounds
    rounds_unanswered  bigint NOT NULL DEFAULT 0,
    rating_1           bigint NOT NULL DEFAULT 0,
    rating_2           bigint NOT NULL DEFAULT 0,
    rating_3           bigint NOT NULL DEFAULT 0,
    rating_4           bigint NOT NULL DEFAULT 0,
    rating_5           bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (shop_id, hour, agent_id, channel, group_name)
) WITH (fillfactor = 70);

-- Latency histograms of the same rows, one row per non-empty bucket.
-- metric: 1 first response, 2 round, 3 time to close, 4 queue wait.
-- bucket: 0..198 (metrics_model.h): 1 s wide up to 60 s, 5 s up to 5 min,
-- 30 s up to 30 min, 5 min up to 2 h, 1 h up to 24 h, then overflow.
CREATE TABLE metrics_hist (
    shop_id     text NOT NULL,
    hour        timestamptz NOT NULL,
    agent_id    text NOT NULL,
    channel     smallint NOT NULL,
    group_name  text NOT NULL,
    metric      smallint NOT NULL CHECK (metric BETWEEN 1 AND 4),
    bucket      smallint NOT NULL CHECK (bucket BETWEEN 0 AND 198),
    n           bigint NOT NULL,
    PRIMARY KEY (shop_id, hour, agent_id, channel, group_name, metric, bucket)
) WITH (fillfactor = 70);

-- What the rules remember about each conversation (metrics_conv_t). Times
-- are the platform's sent_at in ms, 0 = not yet. extra holds the short
-- lists: routing's assignments, waits seen before the first line, and the
-- facts counted while routing had not named the group.
CREATE TABLE metrics_conversations (
    shop_id          text NOT NULL,
    conversation_id  bigint NOT NULL,
    channel          smallint NOT NULL,
    customer         text NOT NULL,
    group_name       text NOT NULL,
    intent           smallint NOT NULL,
    vip              boolean NOT NULL,
    first_at_ms      bigint NOT NULL,
    customer_opened  boolean NOT NULL,
    answered_at_ms   bigint NOT NULL,
    first_agent      text NOT NULL,
    round1_msgs      integer NOT NULL,
    round_at_ms      bigint NOT NULL,
    round_msgs       integer NOT NULL,
    last_at_ms       bigint NOT NULL,
    last_replier     text NOT NULL,
    owner            text NOT NULL,
    queued           boolean NOT NULL,
    ever_queued      boolean NOT NULL,
    after_hours      boolean NOT NULL,
    closed           boolean NOT NULL,
    extra            jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (shop_id, conversation_id)
) WITH (fillfactor = 70);
CREATE INDEX metrics_conversations_open ON metrics_conversations (shop_id, conversation_id)
    WHERE NOT closed;

-- Agents' presence as intake reported it (agents.now).
CREATE TABLE metrics_agents (
    shop_id   text NOT NULL,
    agent_id  text NOT NULL,
    status    smallint NOT NULL,
    since_ms  bigint NOT NULL,
    PRIMARY KEY (shop_id, agent_id)
);

-- Human replies that carried forbidden phrases (qa.flags lists them).
CREATE TABLE metrics_qa_lines (
    shop_id          text NOT NULL,
    message_id       bigint NOT NULL,
    conversation_id  bigint NOT NULL,
    agent_id         text NOT NULL,
    channel          smallint NOT NULL,
    sent_at          timestamptz NOT NULL,
    flags            text[] NOT NULL,
    body             text NOT NULL,
    PRIMARY KEY (shop_id, message_id)
);
CREATE INDEX metrics_qa_lines_by_time ON metrics_qa_lines (shop_id, sent_at, message_id);
