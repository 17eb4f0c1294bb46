-- 0035 kefu-metrics: how far agent.attendance has been published.
--
-- Metrics publishes one agent.attendance event (stream "metrics") per agent
-- and scheduled shift a minute after the shift ends. upto_ms is the end of
-- the window already published for the shop: shifts that end after it are
-- still to come. A rebuild keeps it, so a rebuild publishes nothing twice.
-- A shop without a row starts from its first schedule version.

CREATE TABLE metrics_att_published (
    shop_id  text PRIMARY KEY,
    upto_ms  bigint NOT NULL
);
