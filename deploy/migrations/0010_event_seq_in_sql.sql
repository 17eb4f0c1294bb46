-- 0010 events numbered by PostgreSQL in the statement that stores them; a
-- way to fail a pipelined transaction from inside a statement.
--
-- An outbox now reserves its sequence range and inserts its events in one
-- statement (kf_outbox "kf_outbox_write"), so the lock on the partition's
-- event_sequences row is taken at the end of the transaction, right before
-- COMMIT, and no round trip is spent between the two. The stored payload is
-- the packed kefu.v1.Event with its seq field appended, byte for byte what
-- the publisher sends: this function gives those bytes (field 3, varint).

CREATE FUNCTION kefu_event_seq_field (seq int8) RETURNS bytea
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    out bytea := '\x18'::bytea; -- tag: field 3, wire type 0 (varint)
    v int8 := seq;
    b int;
BEGIN
    IF v < 0 THEN
        RAISE EXCEPTION 'event seq % is negative', seq;
    END IF;
    LOOP
        b := (v & 127)::int;
        v := v >> 7;
        IF v = 0 THEN
            RETURN out || set_byte ('\x00'::bytea, 0, b);
        END IF;
        out := out || set_byte ('\x00'::bytea, 0, b | 128);
    END LOOP;
END
$$;

COMMENT ON FUNCTION kefu_event_seq_field (int8) IS
    'protobuf encoding of kefu.v1.Event.seq (field 3), appended to a stored event payload';

-- Raise an error with a kefu SQLSTATE from inside a statement, so that a
-- pipelined transaction whose check failed cannot reach its COMMIT (e.g. a
-- subscriber's offsets moved by someone else: KF409).
CREATE FUNCTION kefu_fail (code text, message text) RETURNS int8
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = code, MESSAGE = message;
END
$$;
