-- 0041 kefu-metrics: the day rollups written by kefu-metrics' own batch.
--
-- Migration 0036 kept metrics_days, metrics_hist_days and
-- metrics_hist_shop_days with statement triggers on the hourly tables:
-- each upsert of hourly rows paid for a second pass over its transition
-- tables, inside the subscriber's transaction, and under live traffic
-- metrics fell behind intake. kefu-metrics now folds the deltas of a batch
-- per UTC day in memory, from the same rows it writes per hour, and
-- upserts the day rows in the same transaction as the hourly rows and its
-- offsets (metrics_store.c): the day rows stay the sums of the hourly
-- ones. The tables and their rows stay as they are. Whoever writes hourly
-- rows by other means (a test's seed) writes the day rows too; the
-- rebuild's reset empties both.

DROP TRIGGER IF EXISTS metrics_hours_inserted ON metrics_hours;
DROP TRIGGER IF EXISTS metrics_hours_updated ON metrics_hours;
DROP TRIGGER IF EXISTS metrics_hist_inserted ON metrics_hist;
DROP TRIGGER IF EXISTS metrics_hist_updated ON metrics_hist;

DROP FUNCTION IF EXISTS metrics_hours_inserted ();
DROP FUNCTION IF EXISTS metrics_hours_updated ();
DROP FUNCTION IF EXISTS metrics_hist_inserted ();
DROP FUNCTION IF EXISTS metrics_hist_updated ();
