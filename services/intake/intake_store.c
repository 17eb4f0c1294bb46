/*  intake_store — intake's SQL: one transaction per batch of items.

    The rules (which conversation an item belongs to, what opens and
    closes, which events) are intake_conversations'; this file reads what
    they need, numbers the rows and writes what they decided. Every
    statement works on the whole batch at once (arrays unnested by
    PostgreSQL, built with kf_batch), so a batch of a thousand items costs a
    handful of round trips:
      1. find earlier deliveries of the same (shop, gateway, gateway_msg_id)
      2. count body conflicts among them
      3. upsert the customers and their channel identities
      4. lock each customer's latest conversation (the open one, if any)
      5. the rules decide, item by item (intake_conversations_walk)
      6. number new conversations and messages (ids reserved ahead)
      7. update continued/closed conversations, 8. insert new ones
      9. insert the messages (ON CONFLICT DO NOTHING for a concurrent twin)
     10. the events, through the outbox; then COMMIT.
    The fast path (s_write_fast) pipelines these into two round trips. */
#include "intake_store.h"

#include "intake_cache.h"
#include "intake_conversations.h"

#include "kf_batch.h"
#include "kf_log.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define S_INSERT_MESSAGES                                                                          \
    "INSERT INTO messages (message_id, shop_id, gateway_id, gateway_msg_id, kind, channel, "       \
    "  conversation_id, customer_id, agent_id, body, sent_at, received_at, intent, priority, "     \
    "  qa_flags, score, agent_status, target_agent_id, auto_reply, principal_id) "                 \
    "SELECT id, shop_id, gateway_id, gateway_msg_id, kind, channel, "                              \
    "  nullif (conversation_id, 0), nullif (customer_id, 0), nullif (agent_id, ''), body, "        \
    "  to_timestamp (sent_ms / 1000.0::float8), to_timestamp (received_ms / 1000.0::float8), "     \
    "  nullif (intent, 0), nullif (priority, 0), string_to_array (nullif (qa, ''), ','), "         \
    "  nullif (score, 0), nullif (agent_status, 0), nullif (target, ''), auto_reply, "             \
    "  nullif (principal, '') "                                                                    \
    "FROM (SELECT unnest ($1::text[]) AS shop_id, unnest ($2::text[]) AS gateway_id, "             \
    "unnest ($3::text[]) AS gateway_msg_id, unnest ($4::int2[]) AS kind, "                         \
    "unnest ($5::int2[]) AS channel, unnest ($6::int8[]) AS conversation_id, "                     \
    "unnest ($7::int8[]) AS customer_id, unnest ($8::text[]) AS agent_id, "                        \
    "unnest ($9::text[]) AS body, unnest ($10::int8[]) AS sent_ms, "                               \
    "unnest ($11::int8[]) AS received_ms, unnest ($12::int2[]) AS intent, "                        \
    "unnest ($13::int2[]) AS priority, unnest ($14::text[]) AS qa, "                               \
    "unnest ($15::int2[]) AS score, unnest ($16::int2[]) AS agent_status, "                        \
    "unnest ($17::text[]) AS target, unnest ($18::int8[]) AS id, "                                 \
    "unnest ($19::bool[]) AS auto_reply, unnest ($20::text[]) AS principal) AS t "

//  A conversation's times from its latest lines (sent_at): the last, the
//  latest customer message, the latest human reply (auto-replies answer
//  nobody); its customer waits while customer > reply. Its latest eight
//  lines as stored, read by the index on (shop, conversation, message id),
//  so the cost does not grow with the conversation: a line older than
//  those that was sent later (a customer's items far out of order) is not
//  seen. conv is the alias of the conversations row.
#define S_LINE_TIMES(conv, condition)                                                              \
    "SELECT max (l.sent_at) AS last, max (l.sent_at) FILTER (WHERE l.kind = 1) AS customer, "      \
    "  max (l.sent_at) FILTER (WHERE l.kind = 2 AND l.auto_reply IS NOT TRUE) AS reply "           \
    "FROM (SELECT m.kind, m.sent_at, m.auto_reply FROM messages m WHERE " condition                \
    " m.shop_id = " conv ".shop_id AND m.conversation_id = " conv ".conversation_id "              \
    "  AND m.kind IN (1, 2) ORDER BY m.message_id DESC LIMIT 8) l"

#define S_OPEN_TIMES S_LINE_TIMES ("c", "c.closed_at IS NULL AND") //  the latest, if open
#define S_DUE_TIMES  S_LINE_TIMES ("d", "")                        //  a sweep candidate

static const kf_stmt_t s_statements[] = {
    {"intake_find_existing",
     "SELECT i.ord, m.message_id, (m.body IS NOT DISTINCT FROM i.body) "
     "FROM (SELECT unnest ($1::text[]) AS shop_id, unnest ($2::text[]) AS gateway_id, "
     "unnest ($3::text[]) AS gateway_msg_id, unnest ($4::text[]) AS body, "
     "unnest ($5::int4[]) AS ord) AS i "
     "JOIN messages m ON m.shop_id = i.shop_id AND m.gateway_id = i.gateway_id "
     "  AND m.gateway_msg_id = i.gateway_msg_id"},
    {"intake_count_conflicts", "UPDATE messages m SET body_conflicts = m.body_conflicts + 1 "
                               "FROM (SELECT unnest ($1::text[]) AS shop_id, "
                               "unnest ($2::int8[]) AS message_id) AS c "
                               "WHERE m.shop_id = c.shop_id AND m.message_id = c.message_id"},
    //  New identities get a customer id from the sequence in one CTE, so
    //  both rows are written together and the id comes back by key. Known
    //  customers are only looked up (their name and VIP flag are updated
    //  when they change). Last seen and message counts come from the
    //  conversation record (view customer_profiles).
    {"intake_upsert_customers",
     "WITH i AS (SELECT * FROM (SELECT unnest ($1::text[]) AS shop_id, "
     "unnest ($2::int2[]) AS channel, unnest ($3::text[]) AS ccid, unnest ($4::text[]) AS name, "
     "unnest ($5::bool[]) AS vip, unnest ($6::int8[]) AS first_ms) AS t), "
     "k AS (SELECT i.*, c.customer_id FROM i LEFT JOIN customer_channels c "
     "    ON c.shop_id = i.shop_id AND c.channel = i.channel AND c.channel_customer_id = i.ccid), "
     "f AS MATERIALIZED (SELECT k.*, nextval ('customers_customer_id_seq'::regclass) AS new_id "
     "    FROM k WHERE k.customer_id IS NULL), "
     "ic AS (INSERT INTO customers (shop_id, customer_id, display_name, vip, first_seen_at) "
     "    SELECT shop_id, new_id, name, vip, to_timestamp (first_ms / 1000.0::float8) FROM f), "
     "ich AS (INSERT INTO customer_channels (shop_id, channel, channel_customer_id, customer_id, "
     "    first_seen_at) SELECT shop_id, channel, ccid, new_id, "
     "    to_timestamp (first_ms / 1000.0::float8) FROM f), "
     "uc AS (UPDATE customers c SET vip = c.vip OR k.vip, "
     "    display_name = coalesce (k.name, c.display_name) FROM k "
     "    WHERE k.customer_id IS NOT NULL AND c.shop_id = k.shop_id "
     "    AND c.customer_id = k.customer_id AND ((k.vip AND NOT c.vip) "
     "    OR (k.name IS NOT NULL AND k.name IS DISTINCT FROM c.display_name))) "
     "SELECT k.shop_id, k.channel, k.ccid, coalesce (k.customer_id, f.new_id) FROM k "
     "LEFT JOIN f ON f.shop_id = k.shop_id AND f.channel = k.channel AND f.ccid = k.ccid"},
    //  The latest conversation of each customer key, open or not, locked:
    //  two intake instances serialise on a customer's conversations. An
    //  open one comes with its last message, latest customer message and
    //  latest human reply (sent_at; S_LINE_TIMES).
    {"intake_latest_conversations",
     "SELECT k.shop_id, k.channel, k.ccid, c.conversation_id, "
     "  (extract (epoch FROM c.last_message_at) * 1000)::int8, c.message_count, "
     "  coalesce (c.priority, 0), coalesce (c.intent, 0), c.closed_at IS NULL, "
     "  (extract (epoch FROM greatest (c.last_message_at, x.last)) * 1000)::int8, "
     "  (extract (epoch FROM c.opened_at) * 1000)::int8, "
     "  coalesce (c.previous_conversation_id, 0), "
     "  coalesce ((extract (epoch FROM x.customer) * 1000)::int8, 0), "
     "  coalesce ((extract (epoch FROM x.reply) * 1000)::int8, 0) "
     "FROM (SELECT unnest ($1::text[]) AS shop_id, unnest ($2::int2[]) AS channel, "
     "unnest ($3::text[]) AS ccid) AS k "
     "JOIN LATERAL (SELECT * FROM conversations c WHERE c.shop_id = k.shop_id "
     "  AND c.channel = k.channel AND c.channel_customer_id = k.ccid "
     "  ORDER BY c.conversation_id DESC LIMIT 1 FOR UPDATE) c ON true "
     "LEFT JOIN LATERAL (" S_OPEN_TIMES ") x ON true"},
    {"intake_reserve_conversations",
     "SELECT nextval ('conversations_conversation_id_seq'::regclass) "
     "FROM generate_series (1, $1::int)"},
    //  Runs after the batch's messages are stored: a conversation closed
    //  here gets its exact message count.
    {"intake_update_conversations",
     "UPDATE conversations c SET "
     "  last_message_at = greatest (c.last_message_at, to_timestamp (u.last_ms / 1000.0::float8)), "
     "  message_count = CASE WHEN u.closed_ms IS NULL THEN c.message_count ELSE "
     "    (SELECT count(*) FROM messages m WHERE m.shop_id = c.shop_id "
     "     AND m.conversation_id = c.conversation_id AND m.kind IN (1, 2)) END, "
     "  priority = greatest (c.priority, nullif (u.priority, 0)), "
     "  closed_at = coalesce (to_timestamp (u.closed_ms / 1000.0::float8), c.closed_at), "
     "  close_reason = coalesce (u.close_reason, c.close_reason), "
     "  closed_by = coalesce (u.closed_by, c.closed_by), quiet_until = NULL "
     "FROM (SELECT unnest ($1::text[]) AS shop_id, unnest ($2::int8[]) AS conversation_id, "
     "unnest ($3::int8[]) AS last_ms, unnest ($4::int4[]) AS added, "
     "unnest ($5::int2[]) AS priority, unnest ($6::int8[]) AS closed_ms, "
     "unnest ($7::int2[]) AS close_reason, unnest ($8::text[]) AS closed_by) AS u "
     "WHERE c.shop_id = u.shop_id AND c.conversation_id = u.conversation_id "
     "RETURNING c.conversation_id, c.message_count"},
    {"intake_insert_conversations",
     "INSERT INTO conversations (shop_id, conversation_id, customer_id, channel, "
     "  channel_customer_id, opened_at, last_message_at, closed_at, close_reason, closed_by, "
     "  message_count, intent, priority, vip, previous_conversation_id) "
     "SELECT shop_id, id, customer_id, channel, ccid, to_timestamp (opened_ms / 1000.0::float8), "
     "  to_timestamp (last_ms / 1000.0::float8), to_timestamp (closed_ms / 1000.0::float8), "
     "  close_reason, closed_by, n, nullif (intent, 0), nullif (priority, 0), vip, "
     "  nullif (previous_id, 0) "
     "FROM (SELECT unnest ($1::text[]) AS shop_id, unnest ($2::int8[]) AS id, "
     "unnest ($3::int8[]) AS customer_id, unnest ($4::int2[]) AS channel, "
     "unnest ($5::text[]) AS ccid, unnest ($6::int8[]) AS opened_ms, "
     "unnest ($7::int8[]) AS last_ms, unnest ($8::int8[]) AS closed_ms, "
     "unnest ($9::int2[]) AS close_reason, unnest ($10::text[]) AS closed_by, "
     "unnest ($11::int4[]) AS n, unnest ($12::int2[]) AS intent, "
     "unnest ($13::int2[]) AS priority, unnest ($14::bool[]) AS vip, "
     "unnest ($15::int8[]) AS previous_id) AS t"},
    //  Message ids come from the writer's pool (intake_reserve_messages).
    //  Sequences are named (the identity columns' own, migrations 0003-0004)
    //  rather than looked up with pg_get_serial_sequence, which costs a catalog
    //  lookup per row: 1,024 message ids took 3.3 ms that way, 0.9 ms so.
    {"intake_insert_messages",
     S_INSERT_MESSAGES "ON CONFLICT (shop_id, gateway_id, gateway_msg_id) DO NOTHING "
                       "RETURNING shop_id, gateway_id, gateway_msg_id, message_id"},
    //  The fast path's: a row stored meanwhile by another intake fails the
    //  transaction (23505) instead of being skipped.
    {"intake_insert_messages_new", S_INSERT_MESSAGES},
    //  The check of remembered conversations (intake_cache.h): locked, all
    //  still open; otherwise the transaction fails (KF410).
    {"intake_lock_open_conversations",
     "SELECT CASE WHEN count(*) = $3::int8 THEN count(*) ELSE kefu_fail ('KF410', "
     "  'a remembered conversation is no longer open') END "
     "FROM (SELECT 1 FROM conversations c JOIN (SELECT unnest ($1::text[]) AS shop_id, "
     "unnest ($2::int8[]) AS id) AS u "
     "  ON c.shop_id = u.shop_id AND c.conversation_id = u.id "
     "  WHERE c.closed_at IS NULL FOR UPDATE OF c) AS locked"},
    {"intake_reserve_customers", "SELECT nextval ('customers_customer_id_seq'::regclass) "
                                 "FROM generate_series (1, $1::int)"},
    //  Customers presumed new (intake_cache_presume_new): plain inserts,
    //  ids from the writer's pool. A customer stored before fails the
    //  transaction (23505 on customer_channels), and the batch is done
    //  again reading the customer record.
    {"intake_insert_new_customers",
     "WITH i AS (SELECT * FROM (SELECT unnest ($1::text[]) AS shop_id, "
     "unnest ($2::int2[]) AS channel, unnest ($3::text[]) AS ccid, unnest ($4::text[]) AS name, "
     "unnest ($5::bool[]) AS vip, unnest ($6::int8[]) AS first_ms, "
     "unnest ($7::int8[]) AS id) AS t), "
     "ic AS (INSERT INTO customers (shop_id, customer_id, display_name, vip, first_seen_at) "
     "    SELECT shop_id, id, name, vip, to_timestamp (first_ms / 1000.0::float8) FROM i) "
     "INSERT INTO customer_channels (shop_id, channel, channel_customer_id, customer_id, "
     "    first_seen_at) SELECT shop_id, channel, ccid, id, "
     "    to_timestamp (first_ms / 1000.0::float8) FROM i"},
    //  Remembered customers whose name or VIP flag changed
    //  (s_queue_profiles): by key, in the write round trip.
    {"intake_update_profiles",
     "UPDATE customers c SET display_name = coalesce (u.name, c.display_name), "
     "  vip = c.vip OR u.vip "
     "FROM (SELECT unnest ($1::text[]) AS shop_id, unnest ($2::int8[]) AS id, "
     "unnest ($3::text[]) AS name, unnest ($4::bool[]) AS vip) AS u "
     "WHERE c.shop_id = u.shop_id AND c.customer_id = u.id"},
    {"intake_reserve_messages", "SELECT nextval ('messages_message_id_seq'::regclass) "
                                "FROM generate_series (1, $1::int)"},
    //  The rule of intake_conversations in SQL, up to a shop's mark: the
    //  newest sent_at among its latest stored messages (the platform's clock
    //  as the items show it) while they keep coming (the newest received
    //  within the catch-up time), else the later of that and intake's clock
    //  less the catch-up time. So a backfill, however late, and a gateway
    //  catching up after an outage shorter than the catch-up time find
    //  their customers' conversations as they left them. Candidates by the lazily
    //  kept last_message_at (and quiet_until), then the lines decide:
    //  expired ones (last message + the quiet period, or + the abandon limit
    //  while the customer waits, before the mark) close there; the others
    //  get their last_message_at brought up to date, and a waiting one is
    //  passed by until its abandon limit (quiet_until).
    //  The marks are read once per sweep (MATERIALIZED): the keeper's plans
    //  are generic, and one made while the tables were nearly empty read a
    //  shop's mark again for every open conversation, so a sweep over
    //  thousands of them ran for minutes (and a drain waited for it).
    //  $1 shops, $2 quiet ms, $3 limit, $4 abandon ms, $5 clock ms - catch-up.
    {"intake_close_quiet",
     "WITH w AS MATERIALIZED (SELECT s.shop_id, "
     "  CASE WHEN l.received >= to_timestamp ($5::int8 / 1000.0::float8) "
     "  THEN l.sent ELSE greatest (l.sent, to_timestamp ($5::int8 / 1000.0::float8)) END AS mark "
     "  FROM unnest ($1::text[]) AS s (shop_id) LEFT JOIN LATERAL (SELECT max (n.sent_at) AS sent, "
     "  max (n.received_at) AS received FROM (SELECT m.sent_at, m.received_at FROM messages m "
     "  WHERE m.shop_id = s.shop_id AND m.kind IN (1, 2) ORDER BY m.message_id DESC LIMIT 64) n) l "
     "  ON true), "
     "due AS (SELECT c.shop_id, c.conversation_id, c.last_message_at, w.mark "
     "  FROM conversations c JOIN w ON c.shop_id = w.shop_id WHERE c.closed_at IS NULL "
     "  AND c.last_message_at < w.mark - $2::int8 * interval '1 ms' "
     "  AND (c.quiet_until IS NULL OR c.quiet_until < w.mark) "
     "  ORDER BY c.shop_id, c.last_message_at LIMIT $3::int FOR UPDATE OF c SKIP LOCKED), "
     "t AS (SELECT d.shop_id, d.conversation_id, d.mark, greatest (d.last_message_at, x.last) "
     "  AS last, coalesce (x.customer > x.reply, x.customer IS NOT NULL) AS waiting "
     "  FROM due d LEFT JOIN LATERAL (" S_DUE_TIMES ") x ON true), "
     "e AS (SELECT t.*, t.last + (CASE WHEN t.waiting THEN $4::int8 ELSE $2::int8 END) "
     "  * interval '1 ms' AS expiry FROM t) "
     "UPDATE conversations c SET last_message_at = e.last, "
     "  closed_at = CASE WHEN e.expiry < e.mark THEN e.expiry END, "
     "  close_reason = CASE WHEN e.expiry < e.mark THEN CASE WHEN e.waiting THEN 5 ELSE 3 END END, "
     "  quiet_until = CASE WHEN e.expiry < e.mark THEN NULL WHEN e.waiting THEN e.expiry END, "
     "  message_count = CASE WHEN e.expiry < e.mark THEN "
     "    (SELECT count(*) FROM messages m WHERE m.shop_id = c.shop_id "
     "     AND m.conversation_id = c.conversation_id AND m.kind IN (1, 2)) "
     "    ELSE c.message_count END "
     "FROM e WHERE c.shop_id = e.shop_id AND c.conversation_id = e.conversation_id "
     "RETURNING c.shop_id, c.conversation_id, c.customer_id, c.channel, c.message_count, "
     "  coalesce ((extract (epoch FROM c.closed_at) * 1000)::int8, 0), "
     "  coalesce (c.close_reason, 0)"},
    {"intake_load_principals",
     "SELECT p.principal_id, p.role, p.public_key, p.all_shops, "
     "  coalesce (string_agg (s.shop_id, ','), '') "
     "FROM principals p LEFT JOIN principal_shops s USING (principal_id) "
     "WHERE p.disabled_at IS NULL AND p.public_key IS NOT NULL GROUP BY p.principal_id"},
    {"intake_load_gateways", "SELECT g.gateway_id, g.principal_id FROM principal_gateways g "
                             "JOIN principals p USING (principal_id) WHERE p.disabled_at IS NULL"},
    {"intake_load_shops", "SELECT shop_id FROM shops ORDER BY shop_id"},
    {"intake_reserve_commands", "SELECT nextval ('outbound_commands_command_id_seq'::regclass) "
                                "FROM generate_series (1, $1::int)"},
    {"intake_insert_commands",
     "INSERT INTO outbound_commands (shop_id, command_id, origin, request_id, channel, kind, "
     "  payload, created_at) "
     "SELECT shop_id, id, origin, request_id, channel, kind, payload, "
     "  to_timestamp (created_ms / 1000.0::float8) "
     "FROM (SELECT unnest ($1::text[]) AS shop_id, unnest ($2::int8[]) AS id, "
     "unnest ($3::text[]) AS origin, unnest ($4::text[]) AS request_id, "
     "unnest ($5::int2[]) AS channel, unnest ($6::text[]) AS kind, "
     "unnest ($7::bytea[]) AS payload, unnest ($8::int8[]) AS created_ms) AS t "
     "ON CONFLICT (shop_id, origin, request_id) DO NOTHING RETURNING command_id"},
    {"intake_find_commands",
     "SELECT i.ord, c.command_id "
     "FROM (SELECT unnest ($1::text[]) AS shop_id, unnest ($2::text[]) AS origin, "
     "unnest ($3::text[]) AS request_id, unnest ($4::int4[]) AS ord) AS i "
     "JOIN outbound_commands c ON c.shop_id = i.shop_id AND c.origin = i.origin "
     "  AND c.request_id = i.request_id"},
    {"intake_settle_commands",
     "UPDATE outbound_commands c SET settled_at = to_timestamp ($6::int8 / 1000.0::float8), "
     "  delivered = u.delivered, fail_reason = u.reason, attempts = u.attempts "
     "FROM (SELECT unnest ($1::text[]) AS shop_id, unnest ($2::int8[]) AS id, "
     "unnest ($3::bool[]) AS delivered, unnest ($4::text[]) AS reason, "
     "unnest ($5::int4[]) AS attempts) AS u "
     "WHERE c.shop_id = u.shop_id AND c.command_id = u.id AND c.settled_at IS NULL "
     "RETURNING c.shop_id, c.command_id, c.delivered, coalesce (c.fail_reason, ''), c.attempts"},
    //  The customer record's keys, a page at a time in key order (the
    //  primary key's index), for the filter of stored keys.
    {"intake_customer_keys",
     "SELECT shop_id, channel, channel_customer_id FROM customer_channels "
     "WHERE (shop_id, channel, channel_customer_id) > ($1::text, $2::int2, $3::text) "
     "ORDER BY shop_id, channel, channel_customer_id LIMIT $4::int"},
    {"intake_pending_commands",
     "SELECT shop_id, command_id, channel, payload, attempts FROM outbound_commands "
     "WHERE settled_at IS NULL ORDER BY command_id LIMIT $1::int"},
    {NULL, NULL}};

void
intake_store_register (kf_store_t *store)
{
    kf_store_add_statements (store, s_statements);
}

#define S_KEYS_PAGE 20000 //  customer keys read per round trip at start

//  ---------------------------------------------------------------------
//  Per-batch working state

typedef struct {
    kf_store_t *store;             //  borrowed
    kf_outbox_t *outbox;           //  borrowed
    intake_item_t *items;          //  the batch
    int count;                     //  items
    intake_periods_t periods;      //  quiet period, abandon limit
    intake_conversations_t *plan;  //  the rules' decisions (intake_conversations.h)
    intake_batch_result_t *result; //  counts
    kf_error_t *err;               //  where errors go
    bool pipelined;                //  statements are queued in a pipeline, not run one by one
    intake_id_pool_t *pool;        //  ids reserved ahead
    intake_cache_t *cache;         //  the writer's customers (NULL: none)
    bool recall;                   //  take remembered customers from the cache
    bool presume;                  //  presume customers the cache does not know new
    int presumed;                  //  keys presumed new
} s_batch_t;

static int s_take_conversation_ids (s_batch_t *b, int needed);
static void s_cache_learn (s_batch_t *b);
static void s_recall_keys (s_batch_t *b);
static void s_queue_lock_open (s_batch_t *b);
static void s_cache_forget (intake_cache_t *cache, const intake_item_t *items, int count);
static int s_take_message_ids (s_batch_t *b);
static int s_take_customer_ids (s_batch_t *b);
static void s_queue_new_customers (s_batch_t *b);
static void s_queue_profiles (s_batch_t *b);

//  Run a statement now, or queue it in the open pipeline (its rows callback
//  then runs when the pipeline runs).
static int
s_run (s_batch_t *b, const char *stmt, const kf_params_t *params, kf_store_rows_fn *fn)
{
    if (b->pipelined) {
        kf_store_pipeline_add (b->store, stmt, params, fn, b);
        return 0;
    }
    return kf_store_exec (b->store, stmt, params, fn, b, b->err);
}

//  The model's words for items (intake_conversations.h).
#define s_is_new       intake_conversations_item_is_new
#define s_has_customer intake_conversations_item_has_customer
#define s_key_of       intake_conversations_key

static void
s_key_of_row (const PGresult *res, int row, char *buf, size_t size)
{
    snprintf (buf, size, "%s\x1f%d\x1f%s", kf_store_text (res, row, 0),
              (int) kf_store_int (res, row, 1), kf_store_text (res, row, 2));
}

static void
s_batch_free (s_batch_t *b)
{
    intake_conversations_destroy (&b->plan);
}

//  ---------------------------------------------------------------------
//  1-2. Earlier deliveries

static int
s_on_existing (const PGresult *res, void *arg)
{
    s_batch_t *b = arg;
    for (int r = 0; r < PQntuples (res); r++) {
        int ord = (int) kf_store_int (res, r, 0);
        if (ord < 0 || ord >= b->count)
            return -1;
        intake_item_t *item = &b->items[ord];
        item->status = KEFU__V1__ACK_STATUS__ACK_DUPLICATE;
        item->stored_id = kf_store_int (res, r, 1);
        //  Remember a body conflict in the error slot until it is counted.
        if (strcmp (kf_store_text (res, r, 2), "t") != 0)
            item->error.code = KEFU__V1__ERROR_CODE__ERROR_INVALID_VALUE;
    }
    return 0;
}

static int
s_find_existing (s_batch_t *b)
{
    kf_col_type_t types[] = {KF_COL_TEXT, KF_COL_TEXT, KF_COL_TEXT, KF_COL_TEXT, KF_COL_INT4};
    kf_batch_t *rows = kf_batch_new (5, types);
    for (int i = 0; i < b->count; i++) {
        intake_item_t *item = &b->items[i];
        if (!s_is_new (item))
            continue;
        kf_batch_str (rows, 0, item->shop_id);
        kf_batch_str (rows, 1, item->gateway_id);
        kf_batch_str (rows, 2, item->msg_id);
        if (item->text)
            kf_batch_str (rows, 3, item->text);
        else
            kf_batch_null (rows, 3);
        kf_batch_int (rows, 4, i);
    }
    int rc = 0;
    if (kf_batch_rows (rows) > 0) {
        kf_params_t params;
        kf_params_init (&params);
        kf_batch_params (rows, &params);
        rc = s_run (b, "intake_find_existing", &params, s_on_existing);
    }
    kf_batch_destroy (&rows);
    if (rc)
        return -1;

    //  The same id with a different body: keep the first, count the conflict.
    kf_col_type_t ctypes[] = {KF_COL_TEXT, KF_COL_INT8};
    kf_batch_t *conflicts = kf_batch_new (2, ctypes);
    for (int i = 0; i < b->count; i++) {
        intake_item_t *item = &b->items[i];
        if (item->status == KEFU__V1__ACK_STATUS__ACK_DUPLICATE &&
            item->error.code == KEFU__V1__ERROR_CODE__ERROR_INVALID_VALUE) {
            item->error.code = KEFU__V1__ERROR_CODE__ERROR_NONE;
            kf_batch_str (conflicts, 0, item->shop_id);
            kf_batch_int (conflicts, 1, item->stored_id);
            b->result->conflicts++;
        }
    }
    if (kf_batch_rows (conflicts) > 0) {
        kf_params_t params;
        kf_params_init (&params);
        kf_batch_params (conflicts, &params);
        rc = kf_store_exec (b->store, "intake_count_conflicts", &params, NULL, NULL, b->err);
    }
    kf_batch_destroy (&conflicts);
    return rc;
}

//  ---------------------------------------------------------------------
//  3. Customers

static int
s_on_customers (const PGresult *res, void *arg)
{
    s_batch_t *b = arg;
    for (int r = 0; r < PQntuples (res); r++) {
        char key[400];
        s_key_of_row (res, r, key, sizeof key);
        intake_customer_t *k = intake_conversations_lookup (b->plan, key);
        if (!k)
            return -1;
        k->customer_ref = kf_store_int (res, r, 3);
    }
    return 0;
}

static void
s_gather_keys (s_batch_t *b)
{
    b->plan = intake_conversations_new (b->items, b->count, b->periods);
    s_recall_keys (b);
}

//  A customer key's row: shop, channel, ccid, name, VIP, first seen (the
//  upsert's columns; the insert of presumed-new customers adds the id).
static void
s_customer_row (kf_batch_t *rows, const intake_customer_t *k)
{
    kf_batch_str (rows, 0, k->sample->shop_id);
    kf_batch_int (rows, 1, k->sample->channel);
    kf_batch_str (rows, 2, k->sample->customer_id);
    if (k->name)
        kf_batch_str (rows, 3, k->name);
    else
        kf_batch_null (rows, 3);
    kf_batch_bool (rows, 4, k->vip);
    kf_batch_int (rows, 5, k->first_ms);
}

//  Queue or run the upsert of the gathered customers not remembered.
static int
s_upsert_customers (s_batch_t *b)
{
    kf_col_type_t types[] = {KF_COL_TEXT, KF_COL_INT2, KF_COL_TEXT,
                             KF_COL_TEXT, KF_COL_BOOL, KF_COL_INT8};
    kf_batch_t *rows = kf_batch_new (6, types);
    for (intake_customer_t *k = intake_conversations_first (b->plan); k;
         k = intake_conversations_next (b->plan)) {
        if (k->cached)
            continue;
        s_customer_row (rows, k);
    }
    int rc = 0;
    if (kf_batch_rows (rows) > 0) {
        kf_params_t params;
        kf_params_init (&params);
        kf_batch_params (rows, &params);
        rc = s_run (b, "intake_upsert_customers", &params, s_on_customers);
    }
    kf_batch_destroy (&rows);
    return rc;
}

//  ---------------------------------------------------------------------
//  4-8. Conversations

static int
s_on_latest (const PGresult *res, void *arg)
{
    s_batch_t *b = arg;
    for (int r = 0; r < PQntuples (res); r++) {
        char key[400];
        s_key_of_row (res, r, key, sizeof key);
        intake_customer_t *k = intake_conversations_lookup (b->plan, key);
        if (!k)
            return -1;
        intake_conv_record_t latest = {.id = kf_store_int (res, r, 3),
                                       .open = strcmp (kf_store_text (res, r, 8), "t") == 0,
                                       .opened_ms = kf_store_int (res, r, 10),
                                       .stored_last_ms = kf_store_int (res, r, 4),
                                       .last_ms = kf_store_int (res, r, 9),
                                       .customer_ms = kf_store_int (res, r, 12),
                                       .reply_ms = kf_store_int (res, r, 13),
                                       .message_count = kf_store_int (res, r, 5),
                                       .previous_id = kf_store_int (res, r, 11),
                                       .priority = (int) kf_store_int (res, r, 6),
                                       .intent = (int) kf_store_int (res, r, 7)};
        intake_conversations_latest (b->plan, k, &latest);
    }
    return 0;
}

//  Run a statement over the batch's customer keys (shop, channel, ccid).
static int
s_exec_keys (s_batch_t *b, const char *stmt, kf_store_rows_fn *fn)
{
    kf_col_type_t types[] = {KF_COL_TEXT, KF_COL_INT2, KF_COL_TEXT};
    kf_batch_t *rows = kf_batch_new (3, types);
    for (intake_customer_t *k = intake_conversations_first (b->plan); k;
         k = intake_conversations_next (b->plan)) {
        if (k->cached)
            continue; //  known from the writer's memory
        kf_batch_str (rows, 0, k->sample->shop_id);
        kf_batch_int (rows, 1, k->sample->channel);
        kf_batch_str (rows, 2, k->sample->customer_id);
    }
    int rc = 0;
    if (kf_batch_rows (rows) > 0) {
        kf_params_t params;
        kf_params_init (&params);
        kf_batch_params (rows, &params);
        rc = s_run (b, stmt, &params, fn);
    }
    kf_batch_destroy (&rows);
    return rc;
}

//  Closed conversations come back with their exact message count.
static int
s_on_updated (const PGresult *res, void *arg)
{
    s_batch_t *b = arg;
    for (int r = 0; r < PQntuples (res); r++) {
        int64_t id = kf_store_int (res, r, 0);
        for (int c = 0; c < intake_conversations_count (b->plan); c++) {
            intake_conv_t *conv = intake_conversations_at (b->plan, c);
            if (conv->id == id && !conv->is_new) {
                conv->base_count = kf_store_int (res, r, 1);
                conv->added = 0;
            }
        }
    }
    return 0;
}

static int
s_write_conversations (s_batch_t *b, int new_count)
{
    (void) new_count;
    //  Existing conversations first: closing a stale one must precede
    //  inserting its successor (one open conversation per customer key).
    kf_col_type_t utypes[] = {KF_COL_TEXT, KF_COL_INT8, KF_COL_INT8, KF_COL_INT4,
                              KF_COL_INT2, KF_COL_INT8, KF_COL_INT2, KF_COL_TEXT};
    kf_batch_t *updates = kf_batch_new (8, utypes);
    kf_col_type_t itypes[] = {KF_COL_TEXT, KF_COL_INT8, KF_COL_INT8, KF_COL_INT2, KF_COL_TEXT,
                              KF_COL_INT8, KF_COL_INT8, KF_COL_INT8, KF_COL_INT2, KF_COL_TEXT,
                              KF_COL_INT4, KF_COL_INT2, KF_COL_INT2, KF_COL_BOOL, KF_COL_INT8};
    kf_batch_t *inserts = kf_batch_new (15, itypes);
    for (int c = 0; c < intake_conversations_count (b->plan); c++) {
        intake_conv_t *conv = intake_conversations_at (b->plan, c);
        if (!conv->is_new && !conv->touched)
            continue;
        //  Shop, channel and customer id come from an item of its key.
        const intake_item_t *sample = conv->sample;
        if (conv->is_new) {
            kf_batch_str (inserts, 0, sample->shop_id);
            kf_batch_int (inserts, 1, conv->id);
            kf_batch_int (inserts, 2, conv->customer_ref);
            kf_batch_int (inserts, 3, sample->channel);
            kf_batch_str (inserts, 4, sample->customer_id);
            kf_batch_int (inserts, 5, conv->opened_ms);
            kf_batch_int (inserts, 6, conv->last_ms);
            if (conv->closed_ms) {
                kf_batch_int (inserts, 7, conv->closed_ms);
                kf_batch_int (inserts, 8, conv->close_reason);
            } else {
                kf_batch_null (inserts, 7);
                kf_batch_null (inserts, 8);
            }
            if (conv->closed_by)
                kf_batch_str (inserts, 9, conv->closed_by);
            else
                kf_batch_null (inserts, 9);
            kf_batch_int (inserts, 10, conv->added);
            kf_batch_int (inserts, 11, conv->intent);
            kf_batch_int (inserts, 12, conv->priority);
            kf_batch_bool (inserts, 13, conv->vip);
            kf_batch_int (inserts, 14, conv->previous_id);
        } else {
            kf_batch_str (updates, 0, sample->shop_id);
            kf_batch_int (updates, 1, conv->id);
            kf_batch_int (updates, 2, conv->last_ms);
            kf_batch_int (updates, 3, conv->added);
            kf_batch_int (updates, 4, conv->priority);
            if (conv->closed_ms) {
                kf_batch_int (updates, 5, conv->closed_ms);
                kf_batch_int (updates, 6, conv->close_reason);
            } else {
                kf_batch_null (updates, 5);
                kf_batch_null (updates, 6);
            }
            if (conv->closed_by)
                kf_batch_str (updates, 7, conv->closed_by);
            else
                kf_batch_null (updates, 7);
        }
        if (conv->closed_ms)
            b->result->closed++;
        if (conv->is_new)
            b->result->opened++;
    }
    int rc = 0;
    if (kf_batch_rows (updates) > 0) {
        kf_params_t params;
        kf_params_init (&params);
        kf_batch_params (updates, &params);
        rc = s_run (b, "intake_update_conversations", &params, s_on_updated);
    }
    if (rc == 0 && kf_batch_rows (inserts) > 0) {
        kf_params_t params;
        kf_params_init (&params);
        kf_batch_params (inserts, &params);
        rc = s_run (b, "intake_insert_conversations", &params, NULL);
    }
    kf_batch_destroy (&updates);
    kf_batch_destroy (&inserts);
    return rc;
}

//  ---------------------------------------------------------------------
//  9. Messages

static int
s_on_inserted (const PGresult *res, void *arg)
{
    s_batch_t *b = arg;
    //  Map returned keys back to items.
    zhashx_t *index = zhashx_new ();
    for (int i = 0; i < b->count; i++)
        if (s_is_new (&b->items[i])) {
            char key[400];
            snprintf (key, sizeof key, "%s\x1f%s\x1f%s", b->items[i].shop_id,
                      b->items[i].gateway_id, b->items[i].msg_id);
            zhashx_insert (index, key, &b->items[i]);
        }
    for (int r = 0; r < PQntuples (res); r++) {
        char key[400];
        snprintf (key, sizeof key, "%s\x1f%s\x1f%s", kf_store_text (res, r, 0),
                  kf_store_text (res, r, 1), kf_store_text (res, r, 2));
        intake_item_t *item = zhashx_lookup (index, key);
        if (item) {
            item->status = KEFU__V1__ACK_STATUS__ACK_ACCEPTED;
            item->stored_id = kf_store_int (res, r, 3);
        }
    }
    zhashx_destroy (&index);
    return 0;
}

static void
s_qa_join (const intake_item_t *item, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int q = 0; q < item->qa_count && used < size; q++)
        used +=
            (size_t) snprintf (buf + used, size - used, "%s%s", q ? "," : "", item->qa_flags[q]);
}

static int
s_insert_messages (s_batch_t *b)
{
    kf_col_type_t types[] = {KF_COL_TEXT, KF_COL_TEXT, KF_COL_TEXT, KF_COL_INT2, KF_COL_INT2,
                             KF_COL_INT8, KF_COL_INT8, KF_COL_TEXT, KF_COL_TEXT, KF_COL_INT8,
                             KF_COL_INT8, KF_COL_INT2, KF_COL_INT2, KF_COL_TEXT, KF_COL_INT2,
                             KF_COL_INT2, KF_COL_TEXT, KF_COL_INT8, KF_COL_BOOL, KF_COL_TEXT};
    kf_batch_t *rows = kf_batch_new (20, types);
    for (int i = 0; i < b->count; i++) {
        intake_item_t *item = &b->items[i];
        if (!s_is_new (item))
            continue;
        char qa[256];
        s_qa_join (item, qa, sizeof qa);
        kf_batch_str (rows, 0, item->shop_id);
        kf_batch_str (rows, 1, item->gateway_id);
        kf_batch_str (rows, 2, item->msg_id);
        kf_batch_int (rows, 3, item->kind);
        kf_batch_int (rows, 4, item->channel);
        kf_batch_int (rows, 5, item->conversation_id);
        kf_batch_int (rows, 6, item->customer_ref);
        kf_batch_str (rows, 7, item->agent_id);
        if (item->text)
            kf_batch_str (rows, 8, item->text);
        else
            kf_batch_null (rows, 8);
        kf_batch_int (rows, 9, item->sent_at);
        kf_batch_int (rows, 10, item->received_at);
        kf_batch_int (rows, 11, item->intent);
        kf_batch_int (rows, 12, item->priority);
        kf_batch_str (rows, 13, qa);
        kf_batch_int (rows, 14, item->score);
        kf_batch_int (rows, 15, item->agent_status);
        kf_batch_str (rows, 16, item->target_agent_id);
        kf_batch_int (rows, 17, item->stored_id); //  from the pool
        kf_batch_bool (rows, 18, item->auto_reply);
        kf_batch_str (rows, 19, item->principal_id);
    }
    int rc = 0;
    if (kf_batch_rows (rows) > 0) {
        kf_params_t params;
        kf_params_init (&params);
        kf_batch_params (rows, &params);
        rc = b->pipelined ? s_run (b, "intake_insert_messages_new", &params, NULL)
                          : s_run (b, "intake_insert_messages", &params, s_on_inserted);
    }
    kf_batch_destroy (&rows);
    if (rc)
        return -1;
    if (b->pipelined)
        return 0; //  on the fast path a race fails the insert
    //  Rows not inserted were stored concurrently by another intake instance
    //  after step 1: answer DUPLICATE with the original id.
    bool raced = false;
    for (int i = 0; i < b->count; i++)
        if (s_is_new (&b->items[i]))
            raced = true;
    if (raced) {
        if (s_find_existing (b))
            return -1;
        for (int i = 0; i < b->count; i++)
            if (s_is_new (&b->items[i]))
                return kf_error_set (b->err, KEFU__V1__ERROR_CODE__ERROR_STORE_UNAVAILABLE,
                                     "message %s neither stored nor found", b->items[i].msg_id);
    }
    return 0;
}

//  ---------------------------------------------------------------------
//  10. Events

static int
s_on_event (void *arg, Kefu__V1__Event *ev)
{
    s_batch_t *b = arg;
    if (kf_outbox_add (b->outbox, ev))
        return kf_error_set (b->err, KEFU__V1__ERROR_CODE__ERROR_INTERNAL, "outbox add failed");
    return 0;
}

static int
s_add_events (s_batch_t *b)
{
    return intake_conversations_events (b->plan, s_on_event, b);
}

static int
s_emit_events (s_batch_t *b)
{
    if (s_add_events (b))
        return -1;
    return kf_outbox_flush (b->outbox, b->err);
}

//  ---------------------------------------------------------------------

//  Forget what an attempt set on the items.
static void
s_reset_items (intake_item_t *items, int count)
{
    for (int i = 0; i < count; i++) {
        items[i].status = 0;
        items[i].stored_id = 0;
        items[i].conversation_id = 0;
        items[i].customer_ref = 0;
        kf_error_clear (&items[i].error);
    }
}

//  The general path: one statement after the other, handling duplicates
//  (earlier deliveries, body conflicts) and races with another intake.
static int
s_write_slow (kf_store_t *store, kf_outbox_t *outbox, intake_id_pool_t *pool, intake_cache_t *cache,
              intake_item_t *items, int count, intake_periods_t periods,
              intake_batch_result_t *result, kf_error_t *err)
{
    memset (result, 0, sizeof *result);
    //  Results are recomputed on every attempt (repeats inside the batch
    //  were marked by intake_store_write_batch).
    s_reset_items (items, count);
    s_batch_t b = {store, outbox, items, count, periods, NULL,  result,
                   err,   false,  pool,  cache, false,   false, 0};
    int new_count = -1;
    if (kf_store_begin (store, err))
        goto failed;
    if (s_find_existing (&b))
        goto rollback;
    s_gather_keys (&b);
    if (s_upsert_customers (&b) || s_exec_keys (&b, "intake_latest_conversations", s_on_latest))
        goto rollback;
    new_count = intake_conversations_walk (b.plan);
    if (new_count < 0 || s_take_conversation_ids (&b, new_count) || s_take_message_ids (&b) ||
        s_insert_messages (&b) || s_write_conversations (&b, new_count) || s_emit_events (&b))
        goto rollback;
    if (kf_store_commit (store, err))
        goto failed;
    kf_outbox_publish (outbox);
    s_cache_learn (&b);
    //  Repeats inside the batch share their first occurrence's outcome.
    for (int i = 0; i < count; i++) {
        intake_item_t *item = &items[i];
        if (item->dup_of >= 0) {
            const intake_item_t *first = &items[item->dup_of];
            item->status = first->status == KEFU__V1__ACK_STATUS__ACK_ACCEPTED
                               ? KEFU__V1__ACK_STATUS__ACK_DUPLICATE
                               : first->status;
            item->stored_id = first->stored_id;
        }
        if (item->status == KEFU__V1__ACK_STATUS__ACK_ACCEPTED)
            result->accepted++;
        else if (item->status == KEFU__V1__ACK_STATUS__ACK_DUPLICATE)
            result->duplicates++;
    }
    s_batch_free (&b);
    return 0;
rollback:
    kf_store_rollback (store);
failed:
    kf_outbox_discard (outbox);
    s_batch_free (&b);
    return -1;
}

//  ---------------------------------------------------------------------
//  Quiet-period sweep

typedef struct {
    kf_outbox_t *outbox; //  borrowed
    int closed;          //  conversations closed
    int examined;        //  candidates looked at
    kf_error_t *err;     //  errors
} s_sweep_t;

static int
s_on_swept (const PGresult *res, void *arg)
{
    s_sweep_t *s = arg;
    s->examined = PQntuples (res);
    for (int r = 0; r < PQntuples (res); r++) {
        if (kf_store_int (res, r, 5) == 0)
            continue; //  not due after all: its last message is recent
        Kefu__V1__ConversationClosed closed = KEFU__V1__CONVERSATION_CLOSED__INIT;
        closed.conversation_id = kf_store_int (res, r, 1);
        closed.customer_id = kf_store_int (res, r, 2);
        closed.channel = (Kefu__V1__Channel) kf_store_int (res, r, 3);
        closed.reason = (Kefu__V1__CloseReason) kf_store_int (res, r, 6);
        closed.closed_by_agent_id = "";
        closed.message_count = kf_store_int (res, r, 4);
        closed.closed_at_ms = kf_store_int (res, r, 5);
        Kefu__V1__Event ev = KEFU__V1__EVENT__INIT;
        ev.shop_id = (char *) kf_store_text (res, r, 0);
        ev.kind = "conversation.closed";
        ev.occurred_at_ms = closed.closed_at_ms;
        ev.payload_case = KEFU__V1__EVENT__PAYLOAD_CONVERSATION_CLOSED;
        ev.conversation_closed = &closed;
        if (kf_outbox_add (s->outbox, &ev))
            return -1;
        s->closed++;
    }
    return 0;
}

int
intake_store_close_quiet (kf_store_t *store, kf_outbox_t *outbox, const char **shops,
                          int shop_count, int64_t now_ms, intake_periods_t periods, int limit,
                          bool *more, kf_error_t *err)
{
    if (more)
        *more = false;
    if (shop_count == 0)
        return 0;
    kf_col_type_t type = KF_COL_TEXT;
    kf_batch_t *list = kf_batch_new (1, &type);
    for (int i = 0; i < shop_count; i++)
        kf_batch_str (list, 0, shops[i]);
    kf_params_t params;
    kf_params_init (&params);
    kf_batch_params (list, &params);
    kf_params_int (&params, periods.quiet_ms);
    kf_params_int (&params, limit);
    kf_params_int (&params, periods.abandon_ms);
    kf_params_int (&params, now_ms - periods.catch_up_ms);
    s_sweep_t sweep = {outbox, 0, 0, err};
    int rc = -1;
    if (kf_store_begin (store, err) == 0) {
        if (kf_store_exec (store, "intake_close_quiet", &params, s_on_swept, &sweep, err) == 0 &&
            kf_outbox_flush (outbox, err) == 0 && kf_store_commit (store, err) == 0) {
            kf_outbox_publish (outbox);
            rc = sweep.closed;
            if (more)
                *more = sweep.examined == limit;
        } else
            kf_store_rollback (store);
    }
    if (rc < 0)
        kf_outbox_discard (outbox);
    kf_batch_destroy (&list);
    return rc;
}

//  ---------------------------------------------------------------------
//  Principals and shops

typedef struct {
    intake_principal_row_fn *principal; //  per principal row
    intake_gateway_row_fn *gateway;     //  per gateway id row
    intake_shop_row_fn *shop;           //  per shop row
    void *arg;                          //  their argument
} s_rows_t;

static int
s_on_principals (const PGresult *res, void *arg)
{
    s_rows_t *rows = arg;
    for (int r = 0; r < PQntuples (res); r++)
        rows->principal (rows->arg, kf_store_text (res, r, 0), kf_store_text (res, r, 1),
                         kf_store_text (res, r, 2), strcmp (kf_store_text (res, r, 3), "t") == 0,
                         kf_store_text (res, r, 4));
    return 0;
}

int
intake_store_load_principals (kf_store_t *store, intake_principal_row_fn *fn, void *arg,
                              kf_error_t *err)
{
    s_rows_t rows = {fn, NULL, NULL, arg};
    return kf_store_exec (store, "intake_load_principals", NULL, s_on_principals, &rows, err);
}

static int
s_on_gateways (const PGresult *res, void *arg)
{
    s_rows_t *rows = arg;
    for (int r = 0; r < PQntuples (res); r++)
        rows->gateway (rows->arg, kf_store_text (res, r, 0), kf_store_text (res, r, 1));
    return 0;
}

int
intake_store_load_gateways (kf_store_t *store, intake_gateway_row_fn *fn, void *arg,
                            kf_error_t *err)
{
    s_rows_t rows = {NULL, fn, NULL, arg};
    return kf_store_exec (store, "intake_load_gateways", NULL, s_on_gateways, &rows, err);
}

static int
s_on_shops (const PGresult *res, void *arg)
{
    s_rows_t *rows = arg;
    for (int r = 0; r < PQntuples (res); r++)
        rows->shop (rows->arg, kf_store_text (res, r, 0));
    return 0;
}

int
intake_store_load_shops (kf_store_t *store, intake_shop_row_fn *fn, void *arg, kf_error_t *err)
{
    s_rows_t rows = {NULL, NULL, fn, arg};
    return kf_store_exec (store, "intake_load_shops", NULL, s_on_shops, &rows, err);
}

typedef struct {
    intake_cache_t *cache; //  to mark
    char shop[128];        //  the page's last key, where the next starts
    int channel;
    char ccid[256];
    int rows; //  in the page
} s_keys_page_t;

static int
s_on_customer_keys (const PGresult *res, void *arg)
{
    s_keys_page_t *page = arg;
    page->rows = PQntuples (res);
    for (int r = 0; r < page->rows; r++) {
        char key[400];
        s_key_of_row (res, r, key, sizeof key);
        intake_cache_mark_stored (page->cache, key);
    }
    if (page->rows > 0) {
        int last = page->rows - 1;
        snprintf (page->shop, sizeof page->shop, "%s", kf_store_text (res, last, 0));
        page->channel = (int) kf_store_int (res, last, 1);
        snprintf (page->ccid, sizeof page->ccid, "%s", kf_store_text (res, last, 2));
    }
    return 0;
}

int64_t
intake_store_load_customer_keys (kf_store_t *store, intake_cache_t *cache, kf_error_t *err)
{
    s_keys_page_t page = {.cache = cache};
    int64_t loaded = 0;
    do {
        kf_params_t params;
        kf_params_init (&params);
        kf_params_str (&params, page.shop);
        kf_params_int (&params, page.channel);
        kf_params_str (&params, page.ccid);
        kf_params_int (&params, S_KEYS_PAGE);
        if (kf_store_exec (store, "intake_customer_keys", &params, s_on_customer_keys, &page, err))
            return -1;
        loaded += page.rows;
    } while (page.rows == S_KEYS_PAGE);
    return loaded;
}

//  ---------------------------------------------------------------------
//  Outbound commands

typedef struct {
    int64_t *ids; //  out
    int n;        //  filled
} s_ids_t;

static int
s_on_ids (const PGresult *res, void *arg)
{
    s_ids_t *ids = arg;
    for (int r = 0; r < PQntuples (res); r++)
        ids->ids[ids->n++] = kf_store_int (res, r, 0);
    return 0;
}

int
intake_store_reserve_command_ids (kf_store_t *store, int n, int64_t *ids, kf_error_t *err)
{
    kf_params_t params;
    kf_params_init (&params);
    kf_params_int (&params, n);
    s_ids_t out = {ids, 0};
    if (kf_store_exec (store, "intake_reserve_commands", &params, s_on_ids, &out, err))
        return -1;
    return out.n == n ? 0 : kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_INTERNAL, "short ids");
}

typedef struct {
    intake_command_row_t *rows; //  batch
    int count;                  //  rows
} s_cmds_t;

static int
s_on_cmd_inserted (const PGresult *res, void *arg)
{
    s_cmds_t *c = arg;
    for (int r = 0; r < PQntuples (res); r++) {
        int64_t id = kf_store_int (res, r, 0);
        for (int i = 0; i < c->count; i++)
            if (c->rows[i].command_id == id)
                c->rows[i].status = KEFU__V1__ACK_STATUS__ACK_ACCEPTED;
    }
    return 0;
}

static int
s_on_cmd_found (const PGresult *res, void *arg)
{
    s_cmds_t *c = arg;
    for (int r = 0; r < PQntuples (res); r++) {
        int ord = (int) kf_store_int (res, r, 0);
        if (ord >= 0 && ord < c->count) {
            c->rows[ord].command_id = kf_store_int (res, r, 1);
            c->rows[ord].status = KEFU__V1__ACK_STATUS__ACK_DUPLICATE;
        }
    }
    return 0;
}

int
intake_store_insert_commands (kf_store_t *store, kf_outbox_t *outbox, intake_command_row_t *rows,
                              int count, kf_error_t *err)
{
    kf_col_type_t types[] = {KF_COL_TEXT, KF_COL_INT8, KF_COL_TEXT,  KF_COL_TEXT,
                             KF_COL_INT2, KF_COL_TEXT, KF_COL_BYTEA, KF_COL_INT8};
    kf_batch_t *batch = kf_batch_new (8, types);
    for (int i = 0; i < count; i++) {
        rows[i].status = 0;
        kf_batch_str (batch, 0, rows[i].shop_id);
        kf_batch_int (batch, 1, rows[i].command_id);
        kf_batch_str (batch, 2, rows[i].origin);
        kf_batch_str (batch, 3, rows[i].request_id);
        kf_batch_int (batch, 4, rows[i].channel);
        kf_batch_str (batch, 5, rows[i].kind);
        kf_batch_text (batch, 6, rows[i].payload, rows[i].size);
        kf_batch_int (batch, 7, rows[i].created_ms);
    }
    s_cmds_t c = {rows, count};
    kf_params_t params;
    kf_params_init (&params);
    kf_batch_params (batch, &params);
    int rc = -1;
    if (kf_store_begin (store, err))
        goto done;
    if (kf_store_exec (store, "intake_insert_commands", &params, s_on_cmd_inserted, &c, err))
        goto rollback;
    //  Those not inserted were handed in before: find their ids.
    kf_col_type_t ftypes[] = {KF_COL_TEXT, KF_COL_TEXT, KF_COL_TEXT, KF_COL_INT4};
    kf_batch_t *find = kf_batch_new (4, ftypes);
    for (int i = 0; i < count; i++)
        if (!rows[i].status) {
            kf_batch_str (find, 0, rows[i].shop_id);
            kf_batch_str (find, 1, rows[i].origin);
            kf_batch_str (find, 2, rows[i].request_id);
            kf_batch_int (find, 3, i);
        }
    int frc = 0;
    if (kf_batch_rows (find) > 0) {
        kf_params_init (&params);
        kf_batch_params (find, &params);
        frc = kf_store_exec (store, "intake_find_commands", &params, s_on_cmd_found, &c, err);
    }
    kf_batch_destroy (&find);
    if (frc)
        goto rollback;
    for (int i = 0; i < count; i++) {
        if (rows[i].status != KEFU__V1__ACK_STATUS__ACK_ACCEPTED)
            continue;
        Kefu__V1__CommandIssued issued = KEFU__V1__COMMAND_ISSUED__INIT;
        issued.command_id = rows[i].command_id;
        issued.origin = (char *) rows[i].origin;
        issued.command_kind = (char *) rows[i].kind;
        issued.channel = rows[i].channel;
        Kefu__V1__Event ev = KEFU__V1__EVENT__INIT;
        ev.shop_id = (char *) rows[i].shop_id;
        ev.kind = "command.issued";
        ev.occurred_at_ms = rows[i].created_ms;
        ev.payload_case = KEFU__V1__EVENT__PAYLOAD_COMMAND_ISSUED;
        ev.command_issued = &issued;
        if (kf_outbox_add (outbox, &ev))
            goto rollback;
    }
    if (kf_outbox_flush (outbox, err))
        goto rollback;
    if (kf_store_commit (store, err))
        goto failed;
    kf_outbox_publish (outbox);
    rc = 0;
    for (int i = 0; i < count; i++)
        if (!rows[i].status) {
            rc = kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_INTERNAL,
                               "command %s neither stored nor found", rows[i].request_id);
            break;
        }
    goto done;
rollback:
    kf_store_rollback (store);
failed:
    kf_outbox_discard (outbox);
done:
    kf_batch_destroy (&batch);
    return rc;
}

typedef struct {
    kf_outbox_t *outbox; //  borrowed
    int64_t now_ms;      //  settle time
} s_settle_t;

static int
s_on_settled (const PGresult *res, void *arg)
{
    s_settle_t *s = arg;
    for (int r = 0; r < PQntuples (res); r++) {
        Kefu__V1__CommandSettled settled = KEFU__V1__COMMAND_SETTLED__INIT;
        settled.command_id = kf_store_int (res, r, 1);
        settled.delivered = strcmp (kf_store_text (res, r, 2), "t") == 0;
        settled.reason = (char *) kf_store_text (res, r, 3);
        settled.attempts = (int32_t) kf_store_int (res, r, 4);
        Kefu__V1__Event ev = KEFU__V1__EVENT__INIT;
        ev.shop_id = (char *) kf_store_text (res, r, 0);
        ev.kind = "command.settled";
        ev.occurred_at_ms = s->now_ms;
        ev.payload_case = KEFU__V1__EVENT__PAYLOAD_COMMAND_SETTLED;
        ev.command_settled = &settled;
        if (kf_outbox_add (s->outbox, &ev))
            return -1;
    }
    return 0;
}

int
intake_store_settle_commands (kf_store_t *store, kf_outbox_t *outbox,
                              const intake_settle_row_t *rows, int count, int64_t now_ms,
                              kf_error_t *err)
{
    kf_col_type_t types[] = {KF_COL_TEXT, KF_COL_INT8, KF_COL_BOOL, KF_COL_TEXT, KF_COL_INT4};
    kf_batch_t *batch = kf_batch_new (5, types);
    for (int i = 0; i < count; i++) {
        kf_batch_str (batch, 0, rows[i].shop_id);
        kf_batch_int (batch, 1, rows[i].command_id);
        kf_batch_bool (batch, 2, rows[i].delivered);
        if (rows[i].reason && *rows[i].reason)
            kf_batch_str (batch, 3, rows[i].reason);
        else
            kf_batch_null (batch, 3);
        kf_batch_int (batch, 4, rows[i].attempts);
    }
    kf_params_t params;
    kf_params_init (&params);
    kf_batch_params (batch, &params);
    kf_params_int (&params, now_ms);
    s_settle_t s = {outbox, now_ms};
    int rc = -1;
    if (kf_store_begin (store, err) == 0) {
        if (kf_store_exec (store, "intake_settle_commands", &params, s_on_settled, &s, err) == 0 &&
            kf_outbox_flush (outbox, err) == 0 && kf_store_commit (store, err) == 0) {
            kf_outbox_publish (outbox);
            rc = 0;
        } else
            kf_store_rollback (store);
    }
    if (rc)
        kf_outbox_discard (outbox);
    kf_batch_destroy (&batch);
    return rc;
}

typedef struct {
    intake_pending_fn *fn; //  per row
    void *arg;             //  its argument
} s_pending_t;

static int
s_on_pending (const PGresult *res, void *arg)
{
    s_pending_t *p = arg;
    for (int r = 0; r < PQntuples (res); r++) {
        size_t len = 0;
        unsigned char *bytes =
            PQunescapeBytea ((const unsigned char *) kf_store_text (res, r, 3), &len);
        if (!bytes)
            continue;
        p->fn (p->arg, kf_store_text (res, r, 0), kf_store_int (res, r, 1),
               (int) kf_store_int (res, r, 2), bytes, len, (int) kf_store_int (res, r, 4));
        PQfreemem (bytes);
    }
    return 0;
}

int
intake_store_load_pending_commands (kf_store_t *store, intake_pending_fn *fn, void *arg, int limit,
                                    kf_error_t *err)
{
    kf_params_t params;
    kf_params_init (&params);
    kf_params_int (&params, limit);
    s_pending_t p = {fn, arg};
    return kf_store_exec (store, "intake_pending_commands", &params, s_on_pending, &p, err);
}

//  ---------------------------------------------------------------------
//  Ids reserved ahead, and the fast path

void
intake_id_pool_clear (intake_id_pool_t *pool)
{
    free (pool->conversations.ids);
    free (pool->messages.ids);
    free (pool->customers.ids);
    memset (pool, 0, sizeof *pool);
}

static int
s_on_ids_reserved (const PGresult *res, void *arg)
{
    intake_ids_t *ids = arg;
    for (int r = 0; r < PQntuples (res) && ids->count < ids->cap; r++)
        ids->ids[ids->count++] = kf_store_int (res, r, 0);
    return 0;
}

//  Take `needed` ids, oldest reserved first (sequence values are never
//  rolled back, so reserving early is safe; unused ones are gaps).
static int
s_take (s_batch_t *b, intake_ids_t *ids, const char *stmt, int block, int needed, int64_t *out)
{
    if (ids->count < needed) {
        int want = ids->count + (needed > block ? needed : block);
        if (ids->cap < want) {
            int64_t *grown = realloc (ids->ids, (size_t) want * sizeof *grown);
            if (!grown)
                return kf_error_set (b->err, KEFU__V1__ERROR_CODE__ERROR_INTERNAL,
                                     "out of memory for %d ids", want);
            ids->ids = grown;
            ids->cap = want;
        }
        kf_params_t params;
        kf_params_init (&params);
        kf_params_int (&params, want - ids->count);
        if (kf_store_exec (b->store, stmt, &params, s_on_ids_reserved, ids, b->err))
            return -1;
        if (ids->count < needed)
            return kf_error_set (b->err, KEFU__V1__ERROR_CODE__ERROR_INTERNAL,
                                 "cannot reserve %d ids (%s)", needed, stmt);
    }
    memcpy (out, ids->ids, (size_t) needed * sizeof *out);
    ids->count -= needed;
    memmove (ids->ids, ids->ids + needed, (size_t) ids->count * sizeof *ids->ids);
    return 0;
}

//  Number the batch's new conversations from the pool; every new item
//  gets its conversation.
static int
s_take_conversation_ids (s_batch_t *b, int needed)
{
    if (needed == 0) {
        intake_conversations_number (b->plan, NULL);
        return 0;
    }
    int64_t *taken = malloc ((size_t) needed * sizeof *taken);
    int rc = s_take (b, &b->pool->conversations, "intake_reserve_conversations",
                     INTAKE_CONVERSATION_ID_BLOCK, needed, taken);
    if (rc == 0)
        intake_conversations_number (b->plan, taken);
    free (taken);
    return rc;
}

//  Number the batch's new messages from the pool (stored_id).
static int
s_take_message_ids (s_batch_t *b)
{
    int needed = 0;
    for (int i = 0; i < b->count; i++)
        needed += s_is_new (&b->items[i]) ? 1 : 0;
    if (needed == 0)
        return 0;
    int64_t *taken = malloc ((size_t) needed * sizeof *taken);
    int rc = s_take (b, &b->pool->messages, "intake_reserve_messages", INTAKE_MESSAGE_ID_BLOCK,
                     needed, taken);
    for (int i = 0, used = 0; rc == 0 && i < b->count; i++)
        if (s_is_new (&b->items[i]))
            b->items[i].stored_id = taken[used++];
    free (taken);
    return rc;
}

//  The end of a pipelined write (the pipeline is open, the items' rows are
//  queued): every item is stored (the insert has no ON CONFLICT: if it
//  runs, all are), its events are numbered by PostgreSQL, COMMIT; then
//  publish and remember. On failure the caller rolls back.
static int
s_commit_pipelined (s_batch_t *b)
{
    for (int i = 0; i < b->count; i++)
        b->items[i].status = KEFU__V1__ACK_STATUS__ACK_ACCEPTED;
    if (s_add_events (b)) {
        kf_store_pipeline_discard (b->store);
        return -1;
    }
    kf_outbox_queue_write (b->outbox);
    kf_store_pipeline_sql (b->store, "COMMIT", NULL, NULL, NULL);
    if (kf_store_pipeline_run (b->store, b->err))
        return -1;
    kf_outbox_publish (b->outbox);
    s_cache_learn (b);
    b->result->accepted = b->count;
    return 0;
}

//  Batches of new items (the usual case) in two round trips:
//    1. BEGIN, customers, latest conversations (locked)
//    2. messages, conversations, events (numbered by PostgreSQL), COMMIT
//  Earlier deliveries are not looked up: one makes the insert fail (23505)
//  and the batch goes the general way, which answers it DUPLICATE. With
//  recall, customers the writer remembers skip step 1 (their conversations
//  are locked and checked open in step 2 instead, KF410 if one is not), so
//  a batch of remembered customers takes one round trip. A batch that
//  closes a conversation needs the exact message count the update returns
//  for its conversation.closed event: its events and COMMIT go in a third.
//  Message and conversation ids come from the pool.
//  Returns 0 (committed), 1 (nothing stored: use the general path, e.g. an
//  item was delivered before; result->stale if the memory was out of
//  date), or -1 (failed and rolled back).
static int
s_write_fast (kf_store_t *store, kf_outbox_t *outbox, intake_id_pool_t *pool, intake_cache_t *cache,
              bool recall, bool presume, intake_item_t *items, int count, intake_periods_t periods,
              intake_batch_result_t *result, kf_error_t *err)
{
    for (int i = 0; i < count; i++)
        if (items[i].dup_of >= 0)
            return 1;
    s_batch_t b = {store,
                   outbox,
                   items,
                   count,
                   periods,
                   NULL,
                   result,
                   err,
                   true,
                   pool,
                   cache,
                   recall,
                   presume && recall && cache,
                   0};
    int rc = -1;
    if (s_take_message_ids (&b))
        goto done;
    s_gather_keys (&b);
    if (s_take_customer_ids (&b))
        goto done;
    bool read = false; //  step 1 has something to read
    for (intake_customer_t *k = intake_conversations_first (b.plan); k;
         k = intake_conversations_next (b.plan))
        read = read || !k->cached;
    if (read) {
        if (kf_store_pipeline_begin (store, err))
            goto done;
        kf_store_pipeline_sql (store, "BEGIN", NULL, NULL, NULL);
        if (s_upsert_customers (&b) || s_exec_keys (&b, "intake_latest_conversations", s_on_latest))
            goto failed;
        if (kf_store_pipeline_run (store, err))
            goto failed;
    }
    int new_count = intake_conversations_walk (b.plan);
    if (new_count < 0 || s_take_conversation_ids (&b, new_count) ||
        kf_store_pipeline_begin (store, err))
        goto rollback;
    if (!read)
        kf_store_pipeline_sql (store, "BEGIN", NULL, NULL, NULL);
    bool closes = intake_conversations_closes_any (b.plan);
    s_queue_lock_open (&b);
    s_queue_new_customers (&b);
    s_queue_profiles (&b);
    if (s_insert_messages (&b) || s_write_conversations (&b, new_count))
        goto failed;
    if (closes) {
        if (kf_store_pipeline_run (store, err) || kf_store_pipeline_begin (store, err))
            goto rollback;
    }
    if (s_commit_pipelined (&b))
        goto rollback;
    result->warm = !read;
    result->presumed = b.presumed;
    rc = 0;
    goto done;
failed:
    //  A statement failed inside the pipeline: drain it, then roll back.
    kf_store_pipeline_discard (store);
rollback:
    kf_store_rollback (store);
    kf_outbox_discard (outbox);
    s_reset_items (items, count);
    if (strcmp (kf_store_sqlstate (store), "KF410") == 0 ||
        strcmp (kf_store_sqlstate (store), "23505") == 0) {
        //  A remembered conversation closed meanwhile (then the memory of
        //  these customers is forgotten), or an item stored before (a
        //  resend): nothing was stored; the caller starts again.
        bool stale = strcmp (kf_store_sqlstate (store), "KF410") == 0;
        if (!stale)
            //  A failed transaction PostgreSQL logs as an ERROR: never
            //  silent (a healthy intake at steady load has none).
            kf_log_warn ("intake.unique_conflict", "items=%d presumed=%d reason=\"%s\"", count,
                         b.presumed, err->reason);
        //  Which insert failed says why: a customer presumed new was
        //  stored before, or an item was (a resend).
        bool wrong = !stale && strstr (err->reason, "intake_insert_new_customers") != NULL;
        kf_error_clear (err);
        memset (result, 0, sizeof *result);
        result->stale = stale;
        result->unique_conflicts = stale ? 0 : 1;
        result->presumed_wrong = wrong;
        if (stale && cache)
            s_cache_forget (cache, items, count);
        rc = 1;
    }
done:
    s_batch_free (&b);
    return rc;
}

//  ---------------------------------------------------------------------
//  The writer's memory of its customers

//  After a commit: remember each customer key of the batch as now stored.
static void
s_cache_learn (s_batch_t *b)
{
    if (!b->cache)
        return;
    for (intake_customer_t *k = intake_conversations_first (b->plan); k;
         k = intake_conversations_next (b->plan)) {
        const char *key = intake_conversations_cursor (b->plan);
        intake_cache_entry_t e;
        if (intake_conversations_memory (k, &e))
            intake_cache_learn (b->cache, key, &e);
        else
            intake_cache_forget (b->cache, key);
    }
}

//  Forget the customer keys of a batch (after a failed attempt).
static void
s_cache_forget (intake_cache_t *cache, const intake_item_t *items, int count)
{
    for (int i = 0; i < count; i++)
        if (s_has_customer (&items[i])) {
            char key[400];
            s_key_of (&items[i], key, sizeof key);
            intake_cache_forget (cache, key);
        }
}

//  Customers the writer remembers with an open conversation are not read
//  from the tables: their keys are filled from the cache, and their
//  conversations are locked and checked still open in the write round trip
//  (s_queue_lock_open). A new display name or VIP flag is an update of
//  the customer's row in that same round trip (s_queue_profiles). A
//  remembered customer without such a conversation is read, never presumed
//  new: the customer exists.
static void
s_recall_keys (s_batch_t *b)
{
    if (!b->recall || !b->cache)
        return;
    for (intake_customer_t *k = intake_conversations_first (b->plan); k;
         k = intake_conversations_next (b->plan)) {
        intake_cache_entry_t e;
        if (intake_cache_get (b->cache, intake_conversations_cursor (b->plan), &e)) {
            intake_conversations_recall (b->plan, k, &e);
            intake_cache_entry_clear (&e);
        }
    }
}

//  Queue the lock-and-check of the remembered conversations.
static void
s_queue_lock_open (s_batch_t *b)
{
    kf_col_type_t types[] = {KF_COL_TEXT, KF_COL_INT8};
    kf_batch_t *rows = kf_batch_new (2, types);
    for (int c = 0; c < intake_conversations_count (b->plan); c++) {
        const intake_conv_t *conv = intake_conversations_at (b->plan, c);
        if (conv->remembered) {
            kf_batch_str (rows, 0, conv->sample->shop_id);
            kf_batch_int (rows, 1, conv->id);
        }
    }
    int n = kf_batch_rows (rows);
    if (n > 0) {
        kf_params_t params;
        kf_params_init (&params);
        kf_batch_params (rows, &params);
        kf_params_int (&params, n);
        kf_store_pipeline_add (b->store, "intake_lock_open_conversations", &params, NULL, NULL);
    }
    kf_batch_destroy (&rows);
}

//  Keys neither remembered nor read are presumed new customers (when the
//  batch presumes): numbered from the pool, inserted in the write round
//  trip (s_queue_new_customers), their first conversation opened.
static int
s_take_customer_ids (s_batch_t *b)
{
    if (!b->presume)
        return 0;
    int needed = 0;
    //  Only keys surely not in the record (intake_cache_maybe_stored);
    //  the others are read.
    for (intake_customer_t *k = intake_conversations_first (b->plan); k;
         k = intake_conversations_next (b->plan)) {
        k->presumed = !k->cached && !k->known &&
                      !intake_cache_maybe_stored (b->cache, intake_conversations_cursor (b->plan));
        needed += k->presumed ? 1 : 0;
    }
    if (needed == 0)
        return 0;
    int64_t *taken = malloc ((size_t) needed * sizeof *taken);
    int rc = s_take (b, &b->pool->customers, "intake_reserve_customers", INTAKE_CUSTOMER_ID_BLOCK,
                     needed, taken);
    int used = 0;
    for (intake_customer_t *k = intake_conversations_first (b->plan); rc == 0 && k;
         k = intake_conversations_next (b->plan))
        if (k->presumed) {
            k->customer_ref = taken[used++];
            k->cached = true;
        }
    free (taken);
    b->presumed = rc == 0 ? needed : 0;
    return rc;
}

static void
s_queue_new_customers (s_batch_t *b)
{
    if (b->presumed == 0)
        return;
    kf_col_type_t types[] = {KF_COL_TEXT, KF_COL_INT2, KF_COL_TEXT, KF_COL_TEXT,
                             KF_COL_BOOL, KF_COL_INT8, KF_COL_INT8};
    kf_batch_t *rows = kf_batch_new (7, types);
    for (intake_customer_t *k = intake_conversations_first (b->plan); k;
         k = intake_conversations_next (b->plan)) {
        if (!k->presumed)
            continue;
        s_customer_row (rows, k);
        kf_batch_int (rows, 6, k->customer_ref);
    }
    kf_params_t params;
    kf_params_init (&params);
    kf_batch_params (rows, &params);
    kf_store_pipeline_add (b->store, "intake_insert_new_customers", &params, NULL, NULL);
    kf_batch_destroy (&rows);
}

//  Queue the update of remembered customers whose name or VIP flag the
//  batch changes (a name it does not carry stays; VIP once set stays set).
static void
s_queue_profiles (s_batch_t *b)
{
    kf_col_type_t types[] = {KF_COL_TEXT, KF_COL_INT8, KF_COL_TEXT, KF_COL_BOOL};
    kf_batch_t *rows = kf_batch_new (4, types);
    for (intake_customer_t *k = intake_conversations_first (b->plan); k;
         k = intake_conversations_next (b->plan)) {
        if (!k->renamed)
            continue;
        kf_batch_str (rows, 0, k->sample->shop_id);
        kf_batch_int (rows, 1, k->customer_ref);
        if (k->name)
            kf_batch_str (rows, 2, k->name);
        else
            kf_batch_null (rows, 2);
        kf_batch_bool (rows, 3, k->vip);
    }
    if (kf_batch_rows (rows) > 0) {
        kf_params_t params;
        kf_params_init (&params);
        kf_batch_params (rows, &params);
        kf_store_pipeline_add (b->store, "intake_update_profiles", &params, NULL, NULL);
    }
    kf_batch_destroy (&rows);
}

int
intake_store_write_batch (kf_store_t *store, kf_outbox_t *outbox, intake_id_pool_t *pool,
                          intake_cache_t *cache, intake_item_t *items, int count,
                          intake_periods_t periods, intake_batch_result_t *result, kf_error_t *err)
{
    //  Mark repeats inside the batch: they are answered like their first
    //  occurrence (the fast path leaves such batches to the general one).
    memset (result, 0, sizeof *result);
    zhashx_t *seen = zhashx_new ();
    for (int i = 0; i < count; i++) {
        char key[400];
        snprintf (key, sizeof key, "%s\x1f%s\x1f%s", items[i].shop_id, items[i].gateway_id,
                  items[i].msg_id);
        //  Values are index + 1, so that index 0 is not a NULL value.
        intptr_t first = (intptr_t) zhashx_lookup (seen, key);
        items[i].dup_of = first ? (int) first - 1 : -1;
        if (!first)
            zhashx_insert (seen, key, (void *) (intptr_t) (i + 1));
        items[i].status = 0;
        kf_error_clear (&items[i].error);
    }
    zhashx_destroy (&seen);
    //  One attempt, and at most one more per reason it gave back: the
    //  memory was out of date (read everything), a customer presumed new
    //  was not (read the customers not remembered); anything else (an item
    //  delivered before) goes the general way, which answers DUPLICATE.
    bool recall = cache != NULL;
    bool presume = cache && intake_cache_presume_new (cache);
    bool stale = false, wrong = false, held = false;
    int conflicts = 0;
    int rc;
    while (true) {
        rc = s_write_fast (store, outbox, pool, cache, recall, presume, items, count, periods,
                           result, err);
        conflicts += result->unique_conflicts;
        result->unique_conflicts = 0;
        held = held || (rc == 0 && presume && result->presumed > 0);
        if (rc == 1 && result->stale && recall) {
            stale = true;
            recall = presume = false;
        } else if (rc == 1 && result->presumed_wrong && presume) {
            wrong = true;
            presume = false;
        } else
            break;
    }
    if (wrong || held)
        intake_cache_presumed (cache, !wrong);
    if (rc == 1)
        rc = s_write_slow (store, outbox, pool, cache, items, count, periods, result, err);
    result->stale = stale;
    result->presumed_wrong = wrong;
    result->unique_conflicts = conflicts;
    return rc;
}

int
intake_store_conversation_known (kf_store_t *store, const char *shop_id, int64_t id,
                                 kf_error_t *err)
{
    kf_params_t params;
    kf_params_init (&params);
    kf_params_str (&params, shop_id);
    kf_params_int (&params, id);
    int64_t n = 0;
    if (kf_store_exec_sql (store,
                           "SELECT count (*) FROM conversations"
                           " WHERE shop_id = $1::text AND conversation_id = $2::int8",
                           &params, kf_store_on_int, &n, err))
        return -1;
    return n > 0;
}
