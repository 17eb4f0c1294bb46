-- 0002 events: the transactional outbox and subscriber offsets (common/kf_outbox.c, kf_subscriber.c).
--
-- Sequences are per (stream, partition). A writer reserves its range by
-- updating the counter row inside its own transaction; the row lock makes
-- concurrent writers of one partition commit in sequence order, so a reader
-- polling "seq > last_seq" can never skip a row that commits later.
-- The log is ordered by (stream, partition) rather than by shop: partition is
-- derived from shop_id, so the log still distributes by shop partition.

CREATE TABLE event_sequences (
    stream     text NOT NULL CHECK (stream ~ '^[a-z][a-z0-9_]{0,31}$'),
    partition  smallint NOT NULL CHECK (partition BETWEEN 0 AND 15),
    last_seq   bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (stream, partition)
);

CREATE TABLE events (
    stream       text NOT NULL,
    partition    smallint NOT NULL,
    seq          bigint NOT NULL,
    shop_id      text NOT NULL,
    kind         text NOT NULL,
    occurred_at  timestamptz NOT NULL,
    -- the packed kefu.v1.Event, exactly as published
    payload      bytea NOT NULL,
    PRIMARY KEY (stream, partition, seq)
);

CREATE TABLE consumer_offsets (
    consumer    text NOT NULL CHECK (consumer ~ '^[a-z][a-z0-9_.-]{0,63}$'),
    stream      text NOT NULL,
    partition   smallint NOT NULL,
    last_seq    bigint NOT NULL DEFAULT 0,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, stream, partition)
);
