-- 0014 no per-row CHECK on the event bookkeeping rows.
--
-- event_sequences and consumer_offsets are rewritten by every transaction
-- that stores or applies events (each touches ~10 of their rows), and
-- PostgreSQL evaluates a table's CHECK constraints on every row an UPDATE
-- writes, whatever the columns changed, after rebuilding the constraint
-- expressions from their stored text once per statement. The stream and
-- consumer regular expressions cost ~40 us per statement of 10 rows
-- (pgbench -M prepared, the outbox's sequence upsert: 0.143 -> 0.105 ms),
-- ~6 % of routing's PostgreSQL time in the 5,000/s benchmark.
--
-- These names are the programs' own constants (stream "intake", consumer
-- "routing"), never input: kf_outbox_new and kf_subscriber_new check them
-- once, when created (kf_valid_name: a lowercase letter, then [a-z0-9_],
-- plus '.' and '-' for consumers; at most 31 / 63 bytes, what their buffers
-- hold). Partitions come from kf_shop_partition (0..15).
ALTER TABLE event_sequences
    DROP CONSTRAINT event_sequences_stream_check,
    DROP CONSTRAINT event_sequences_partition_check;

ALTER TABLE consumer_offsets
    DROP CONSTRAINT consumer_offsets_consumer_check;
