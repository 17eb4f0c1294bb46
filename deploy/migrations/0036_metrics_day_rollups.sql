-- 0036 kefu-metrics: rollups per UTC day beside the hourly ones.
--
-- A question about a month read every agent-hour of it: metrics_hours has
-- a row per (shop, hour, agent, channel, group) and metrics_hist one per
-- non-empty latency bucket of each. The same sums are also kept per UTC
-- day (metrics_days, metrics_hist_days), and the histograms once more per
-- shop and day without agent, channel and group (metrics_hist_shop_days),
-- which is what a question with no grouping and no filter reads. A period
-- is read as its whole UTC days from these and its partial first and last
-- days from the hourly rows (metrics_store.c); series by hour read the
-- hourly rows only.
--
-- The day rows are kept by statement triggers on the hourly tables, from
-- the rows each statement inserted or changed, in the same transaction: they
-- stay equal to the sums of the hourly rows whoever writes those
-- (kefu-metrics with its offsets, tests and tools that seed hours). Hourly
-- rows are only ever added to; whoever deletes them (the rebuild's reset)
-- empties the day tables too.

CREATE TABLE metrics_days (
    shop_id            text NOT NULL,
    day                timestamptz NOT NULL,  -- start of the UTC day
    agent_id           text NOT NULL,
    channel            smallint NOT NULL,
    group_name         text NOT NULL,
    conv_customer      bigint NOT NULL DEFAULT 0,
    conv_shop          bigint NOT NULL DEFAULT 0,
    conv_after_hours   bigint NOT NULL DEFAULT 0,
    conv_answered      bigint NOT NULL DEFAULT 0,
    conv_answered_ah   bigint NOT NULL DEFAULT 0,
    frt_sum_ms         bigint NOT NULL DEFAULT 0,
    frt_ah_sum_ms      bigint NOT NULL DEFAULT 0,
    conv_queued        bigint NOT NULL DEFAULT 0,
    conv_abandoned     bigint NOT NULL DEFAULT 0,
    conv_closed        bigint NOT NULL DEFAULT 0,
    close_sum_ms       bigint NOT NULL DEFAULT 0,
    waits              bigint NOT NULL DEFAULT 0,
    wait_sum_ms        bigint NOT NULL DEFAULT 0,
    wait_max_ms        bigint NOT NULL DEFAULT 0,
    customer_msgs      bigint NOT NULL DEFAULT 0,
    replies            bigint NOT NULL DEFAULT 0,
    auto_replies       bigint NOT NULL DEFAULT 0,
    qa_flagged         bigint NOT NULL DEFAULT 0,
    qa_flags           bigint NOT NULL DEFAULT 0,
    rounds             bigint NOT NULL DEFAULT 0,
    round_sum_ms       bigint NOT NULL DEFAULT 0,
    round_msgs         bigint NOT NULL DEFAULT 0,
    rounds_unanswered  bigint NOT NULL DEFAULT 0,
    rating_1           bigint NOT NULL DEFAULT 0,
    rating_2           bigint NOT NULL DEFAULT 0,
    rating_3           bigint NOT NULL DEFAULT 0,
    rating_4           bigint NOT NULL DEFAULT 0,
    rating_5           bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (shop_id, day, agent_id, channel, group_name)
) WITH (fillfactor = 70);

CREATE TABLE metrics_hist_days (
    shop_id     text NOT NULL,
    day         timestamptz NOT NULL,
    agent_id    text NOT NULL,
    channel     smallint NOT NULL,
    group_name  text NOT NULL,
    metric      smallint NOT NULL,
    bucket      smallint NOT NULL,
    n           bigint NOT NULL,
    PRIMARY KEY (shop_id, day, agent_id, channel, group_name, metric, bucket)
) WITH (fillfactor = 70);

CREATE TABLE metrics_hist_shop_days (
    shop_id     text NOT NULL,
    day         timestamptz NOT NULL,
    metric      smallint NOT NULL,
    bucket      smallint NOT NULL,
    n           bigint NOT NULL,
    PRIMARY KEY (shop_id, day, metric, bucket)
) WITH (fillfactor = 70);

-- The hourly rows' changes, folded into the day rows. An INSERT adds its
-- rows; an UPDATE (ON CONFLICT DO UPDATE) adds new minus old. wait_max_ms
-- is a maximum: the new rows' own.
CREATE FUNCTION metrics_hours_inserted () RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO metrics_days AS d (shop_id, day, agent_id, channel, group_name,
    conv_customer, conv_shop, conv_after_hours, conv_answered, conv_answered_ah,
    frt_sum_ms, frt_ah_sum_ms, conv_queued, conv_abandoned, conv_closed, close_sum_ms,
    waits, wait_sum_ms, wait_max_ms, customer_msgs, replies, auto_replies, qa_flagged,
    qa_flags, rounds, round_sum_ms, round_msgs, rounds_unanswered, rating_1, rating_2,
    rating_3, rating_4, rating_5)
    SELECT shop_id, date_trunc ('day', hour, 'UTC'), agent_id, channel, group_name,
           sum (conv_customer), sum (conv_shop), sum (conv_after_hours),
           sum (conv_answered), sum (conv_answered_ah), sum (frt_sum_ms),
           sum (frt_ah_sum_ms), sum (conv_queued), sum (conv_abandoned),
           sum (conv_closed), sum (close_sum_ms), sum (waits), sum (wait_sum_ms),
           max (wait_max_ms), sum (customer_msgs), sum (replies), sum (auto_replies),
           sum (qa_flagged), sum (qa_flags), sum (rounds), sum (round_sum_ms),
           sum (round_msgs), sum (rounds_unanswered), sum (rating_1), sum (rating_2),
           sum (rating_3), sum (rating_4), sum (rating_5)
    FROM new_rows
    GROUP BY 1, 2, 3, 4, 5
    ON CONFLICT (shop_id, day, agent_id, channel, group_name) DO UPDATE SET
        conv_customer = d.conv_customer + EXCLUDED.conv_customer,
        conv_shop = d.conv_shop + EXCLUDED.conv_shop,
        conv_after_hours = d.conv_after_hours + EXCLUDED.conv_after_hours,
        conv_answered = d.conv_answered + EXCLUDED.conv_answered,
        conv_answered_ah = d.conv_answered_ah + EXCLUDED.conv_answered_ah,
        frt_sum_ms = d.frt_sum_ms + EXCLUDED.frt_sum_ms,
        frt_ah_sum_ms = d.frt_ah_sum_ms + EXCLUDED.frt_ah_sum_ms,
        conv_queued = d.conv_queued + EXCLUDED.conv_queued,
        conv_abandoned = d.conv_abandoned + EXCLUDED.conv_abandoned,
        conv_closed = d.conv_closed + EXCLUDED.conv_closed,
        close_sum_ms = d.close_sum_ms + EXCLUDED.close_sum_ms,
        waits = d.waits + EXCLUDED.waits,
        wait_sum_ms = d.wait_sum_ms + EXCLUDED.wait_sum_ms,
        wait_max_ms = greatest (d.wait_max_ms, EXCLUDED.wait_max_ms),
        customer_msgs = d.customer_msgs + EXCLUDED.customer_msgs,
        replies = d.replies + EXCLUDED.replies,
        auto_replies = d.auto_replies + EXCLUDED.auto_replies,
        qa_flagged = d.qa_flagged + EXCLUDED.qa_flagged,
        qa_flags = d.qa_flags + EXCLUDED.qa_flags,
        rounds = d.rounds + EXCLUDED.rounds,
        round_sum_ms = d.round_sum_ms + EXCLUDED.round_sum_ms,
        round_msgs = d.round_msgs + EXCLUDED.round_msgs,
        rounds_unanswered = d.rounds_unanswered + EXCLUDED.rounds_unanswered,
        rating_1 = d.rating_1 + EXCLUDED.rating_1,
        rating_2 = d.rating_2 + EXCLUDED.rating_2,
        rating_3 = d.rating_3 + EXCLUDED.rating_3,
        rating_4 = d.rating_4 + EXCLUDED.rating_4,
        rating_5 = d.rating_5 + EXCLUDED.rating_5;
    RETURN NULL;
END
$$;

CREATE FUNCTION metrics_hours_updated () RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO metrics_days AS d (shop_id, day, agent_id, channel, group_name,
    conv_customer, conv_shop, conv_after_hours, conv_answered, conv_answered_ah,
    frt_sum_ms, frt_ah_sum_ms, conv_queued, conv_abandoned, conv_closed, close_sum_ms,
    waits, wait_sum_ms, wait_max_ms, customer_msgs, replies, auto_replies, qa_flagged,
    qa_flags, rounds, round_sum_ms, round_msgs, rounds_unanswered, rating_1, rating_2,
    rating_3, rating_4, rating_5)
    SELECT shop_id, date_trunc ('day', hour, 'UTC'), agent_id, channel, group_name,
           sum (conv_customer), sum (conv_shop), sum (conv_after_hours),
           sum (conv_answered), sum (conv_answered_ah), sum (frt_sum_ms),
           sum (frt_ah_sum_ms), sum (conv_queued), sum (conv_abandoned),
           sum (conv_closed), sum (close_sum_ms), sum (waits), sum (wait_sum_ms),
           max (wait_max_ms), sum (customer_msgs), sum (replies), sum (auto_replies),
           sum (qa_flagged), sum (qa_flags), sum (rounds), sum (round_sum_ms),
           sum (round_msgs), sum (rounds_unanswered), sum (rating_1), sum (rating_2),
           sum (rating_3), sum (rating_4), sum (rating_5)
    FROM (SELECT shop_id, hour, agent_id, channel, group_name,
               conv_customer, conv_shop, conv_after_hours, conv_answered,
               conv_answered_ah, frt_sum_ms, frt_ah_sum_ms, conv_queued, conv_abandoned,
               conv_closed, close_sum_ms, waits, wait_sum_ms, wait_max_ms,
               customer_msgs, replies, auto_replies, qa_flagged, qa_flags, rounds,
               round_sum_ms, round_msgs, rounds_unanswered, rating_1, rating_2,
               rating_3, rating_4, rating_5
          FROM new_rows
          UNION ALL
          SELECT shop_id, hour, agent_id, channel, group_name,
               -conv_customer, -conv_shop, -conv_after_hours, -conv_answered,
               -conv_answered_ah, -frt_sum_ms, -frt_ah_sum_ms, -conv_queued,
               -conv_abandoned, -conv_closed, -close_sum_ms, -waits, -wait_sum_ms, 0,
               -customer_msgs, -replies, -auto_replies, -qa_flagged, -qa_flags, -rounds,
               -round_sum_ms, -round_msgs, -rounds_unanswered, -rating_1, -rating_2,
               -rating_3, -rating_4, -rating_5
          FROM old_rows) AS r
    GROUP BY 1, 2, 3, 4, 5
    ON CONFLICT (shop_id, day, agent_id, channel, group_name) DO UPDATE SET
        conv_customer = d.conv_customer + EXCLUDED.conv_customer,
        conv_shop = d.conv_shop + EXCLUDED.conv_shop,
        conv_after_hours = d.conv_after_hours + EXCLUDED.conv_after_hours,
        conv_answered = d.conv_answered + EXCLUDED.conv_answered,
        conv_answered_ah = d.conv_answered_ah + EXCLUDED.conv_answered_ah,
        frt_sum_ms = d.frt_sum_ms + EXCLUDED.frt_sum_ms,
        frt_ah_sum_ms = d.frt_ah_sum_ms + EXCLUDED.frt_ah_sum_ms,
        conv_queued = d.conv_queued + EXCLUDED.conv_queued,
        conv_abandoned = d.conv_abandoned + EXCLUDED.conv_abandoned,
        conv_closed = d.conv_closed + EXCLUDED.conv_closed,
        close_sum_ms = d.close_sum_ms + EXCLUDED.close_sum_ms,
        waits = d.waits + EXCLUDED.waits,
        wait_sum_ms = d.wait_sum_ms + EXCLUDED.wait_sum_ms,
        wait_max_ms = greatest (d.wait_max_ms, EXCLUDED.wait_max_ms),
        customer_msgs = d.customer_msgs + EXCLUDED.customer_msgs,
        replies = d.replies + EXCLUDED.replies,
        auto_replies = d.auto_replies + EXCLUDED.auto_replies,
        qa_flagged = d.qa_flagged + EXCLUDED.qa_flagged,
        qa_flags = d.qa_flags + EXCLUDED.qa_flags,
        rounds = d.rounds + EXCLUDED.rounds,
        round_sum_ms = d.round_sum_ms + EXCLUDED.round_sum_ms,
        round_msgs = d.round_msgs + EXCLUDED.round_msgs,
        rounds_unanswered = d.rounds_unanswered + EXCLUDED.rounds_unanswered,
        rating_1 = d.rating_1 + EXCLUDED.rating_1,
        rating_2 = d.rating_2 + EXCLUDED.rating_2,
        rating_3 = d.rating_3 + EXCLUDED.rating_3,
        rating_4 = d.rating_4 + EXCLUDED.rating_4,
        rating_5 = d.rating_5 + EXCLUDED.rating_5;
    RETURN NULL;
END
$$;

CREATE FUNCTION metrics_hist_inserted () RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    WITH delta AS (SELECT shop_id, hour, agent_id, channel, group_name, metric, bucket, n FROM new_rows),
    by_key AS (
        INSERT INTO metrics_hist_days AS d
        SELECT shop_id, date_trunc ('day', hour, 'UTC'), agent_id, channel, group_name, metric,
               bucket, sum (n)
        FROM delta GROUP BY 1, 2, 3, 4, 5, 6, 7
        ON CONFLICT (shop_id, day, agent_id, channel, group_name, metric, bucket)
        DO UPDATE SET n = d.n + EXCLUDED.n)
    INSERT INTO metrics_hist_shop_days AS d
    SELECT shop_id, date_trunc ('day', hour, 'UTC'), metric, bucket, sum (n)
    FROM delta GROUP BY 1, 2, 3, 4
    ON CONFLICT (shop_id, day, metric, bucket) DO UPDATE SET n = d.n + EXCLUDED.n;
    RETURN NULL;
END
$$;

CREATE FUNCTION metrics_hist_updated () RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    WITH delta AS (SELECT shop_id, hour, agent_id, channel, group_name, metric, bucket, n FROM new_rows UNION ALL SELECT shop_id, hour, agent_id, channel, group_name, metric, bucket, -n FROM old_rows),
    by_key AS (
        INSERT INTO metrics_hist_days AS d
        SELECT shop_id, date_trunc ('day', hour, 'UTC'), agent_id, channel, group_name, metric,
               bucket, sum (n)
        FROM delta GROUP BY 1, 2, 3, 4, 5, 6, 7
        ON CONFLICT (shop_id, day, agent_id, channel, group_name, metric, bucket)
        DO UPDATE SET n = d.n + EXCLUDED.n)
    INSERT INTO metrics_hist_shop_days AS d
    SELECT shop_id, date_trunc ('day', hour, 'UTC'), metric, bucket, sum (n)
    FROM delta GROUP BY 1, 2, 3, 4
    ON CONFLICT (shop_id, day, metric, bucket) DO UPDATE SET n = d.n + EXCLUDED.n;
    RETURN NULL;
END
$$;

CREATE TRIGGER metrics_hours_inserted AFTER INSERT ON metrics_hours
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION metrics_hours_inserted ();
CREATE TRIGGER metrics_hours_updated AFTER UPDATE ON metrics_hours
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION metrics_hours_updated ();
CREATE TRIGGER metrics_hist_inserted AFTER INSERT ON metrics_hist
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION metrics_hist_inserted ();
CREATE TRIGGER metrics_hist_updated AFTER UPDATE ON metrics_hist
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION metrics_hist_updated ();

-- What exists already: written again, through the triggers.
CREATE TEMPORARY TABLE metrics_hours_before ON COMMIT DROP AS SELECT * FROM metrics_hours;
DELETE FROM metrics_hours;
INSERT INTO metrics_hours SELECT * FROM metrics_hours_before;
CREATE TEMPORARY TABLE metrics_hist_before ON COMMIT DROP AS SELECT * FROM metrics_hist;
DELETE FROM metrics_hist;
INSERT INTO metrics_hist SELECT * FROM metrics_hist_before;
