-- 0025 Shifts keep their history (README "Service hours and their history").
--
-- Routing decides "after hours" from the shifts in force when it queues a
-- conversation and says so on conversation.queued; metrics counts that
-- flag, so a later change of shift times never rewrites a past 接线率. What
-- the shifts were at a given time was nowhere in the record: shifts is
-- changed in place. shift_history keeps every version with the time it
-- came into force and the time it was replaced or removed, written by a
-- trigger on shifts whatever changes it. The time of a change is the
-- setting kefu.now of the transaction when there is one (kefuctl sets it
-- from its clock, KEFU_CLOCK), else now ().

CREATE TABLE shift_history (
    shop_id         text NOT NULL,
    shift_name      text NOT NULL,
    start_minute    integer NOT NULL,
    end_minute      integer NOT NULL,
    effective_from  timestamptz NOT NULL,
    effective_to    timestamptz,           -- NULL: in force
    PRIMARY KEY (shop_id, shift_name, effective_from),
    CHECK (effective_to IS NULL OR effective_to >= effective_from)
);

CREATE FUNCTION kefu_shift_history () RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    at timestamptz := coalesce (nullif (current_setting ('kefu.now', true), '')::timestamptz,
                                now ());
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE shift_history SET effective_to = greatest (at, effective_from)
        WHERE shop_id = OLD.shop_id AND shift_name = OLD.shift_name AND effective_to IS NULL;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO shift_history (shop_id, shift_name, start_minute, end_minute, effective_from)
        VALUES (NEW.shop_id, NEW.shift_name, NEW.start_minute, NEW.end_minute, at)
        ON CONFLICT (shop_id, shift_name, effective_from) DO UPDATE
        SET start_minute = EXCLUDED.start_minute, end_minute = EXCLUDED.end_minute,
            effective_to = NULL;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER shifts_history AFTER INSERT OR UPDATE OR DELETE ON shifts
    FOR EACH ROW EXECUTE FUNCTION kefu_shift_history ();

-- What exists now has been in force for as long as the record knows.
INSERT INTO shift_history (shop_id, shift_name, start_minute, end_minute, effective_from)
SELECT shop_id, shift_name, start_minute, end_minute, '-infinity' FROM shifts;
