-- 0042 kefu-metrics: quick-reply usage (README "Quick replies").
--
-- One row per shop, UTC hour, agent and phrase: how many of the agent's
-- replies were that phrase as suggested (routing's phrase.used). Kept in
-- the transaction of metrics' offsets like the other rollups, dropped and
-- recomputed by a rebuild. Hours (not days) so that a period in the shop's
-- time zone adds up whole rows, as metrics_hours does.

CREATE TABLE metrics_phrase_hours (
    shop_id    text NOT NULL,
    hour_ms    bigint NOT NULL,   -- start of the UTC hour of the use
    agent_id   text NOT NULL,     -- who replied with it
    phrase_id  bigint NOT NULL,   -- routing's phrase id
    intent     smallint NOT NULL, -- the intent it answers (0: the greeting)
    uses       bigint NOT NULL,
    PRIMARY KEY (shop_id, hour_ms, agent_id, phrase_id)
);
