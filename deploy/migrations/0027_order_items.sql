-- 0027 order snapshots and agents' order flags are items too (messages.kind
-- 7 order_update, 8 order_flag). Intake stores them like every item (the
-- de-duplication key, the buyer's customer record) and publishes them as
-- "order.received"; order-sync owns the orders. An order_update's row has
-- no body: the snapshot, with the receiver's address and phone, travels
-- only in the event. An order_flag's body is the flag's note.

ALTER TABLE messages DROP CONSTRAINT messages_kind_check;
ALTER TABLE messages ADD CONSTRAINT messages_kind_check CHECK (kind BETWEEN 1 AND 8);

INSERT INTO code_names (code_type, code, name) VALUES
    ('message_kind', 7, 'order_update'), ('message_kind', 8, 'order_flag');
