-- 0042 kefu-ordersync: agents' replies pruned by age.
--
-- ordersync_replies holds the replies an order may be credited to. No
-- attribution window reaches back more than 7 days, so order-sync deletes
-- older rows a bounded batch at a time; this index finds them without
-- reading the table.

CREATE INDEX ordersync_replies_at ON ordersync_replies (at);
