-- 0029 order-sync: the shop's hours, which are all the COD notice counts
-- (an order confirmed "within 2 h" means 2 h the shop is open), and what
-- order-sync has heard of each agent (routing's agent.shift, intake's
-- agent.presence): a COD confirmation goes to the agent who served the
-- buyer only while that agent is on shift and not offline.
ALTER TABLE ordersync_settings
    ADD COLUMN open_minute  smallint NOT NULL DEFAULT 510 CHECK (open_minute BETWEEN 0 AND 1439),
    ADD COLUMN close_minute smallint NOT NULL DEFAULT 1380 CHECK (close_minute BETWEEN 0 AND 1439);

CREATE TABLE ordersync_agents (
    shop_id  text NOT NULL,
    agent_id text NOT NULL,
    on_shift boolean NOT NULL,  -- routing's latest agent.shift
    offline  boolean NOT NULL,  -- intake's latest agent.presence said offline
    PRIMARY KEY (shop_id, agent_id)
);
