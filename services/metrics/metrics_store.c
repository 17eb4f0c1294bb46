/*  metrics_store — kefu-metrics' SQL: batched rollup writes, state loads,
    rollup reads, the rebuild's reset. */
#include "metrics_store.h"

#include "kf_batch.h"
#include "kf_log.h"
#include "metrics_att_store.h"
#include "metrics_desk_store.h"

#include <czmq.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

// clang-format off
#define S_COUNTER_COLUMNS \
    "conv_customer, conv_shop, conv_after_hours, conv_answered, conv_answered_ah, " \
    "frt_sum_ms, frt_ah_sum_ms, conv_queued, conv_abandoned, conv_closed, close_sum_ms, " \
    "waits, wait_sum_ms, wait_max_ms, customer_msgs, replies, auto_replies, qa_flagged, " \
    "qa_flags, rounds, round_sum_ms, round_msgs, rounds_unanswered, " \
    "rating_1, rating_2, rating_3, rating_4, rating_5"
#define S_C(n, col) "unnest ($" #n "::int8[]) AS " col
#define S_ADD(col) col " = h." col " + EXCLUDED." col
#define S_SUM(col) "sum (" col ")::int8"

//  A transaction's rollup rows, one per key, in one statement: the columns
//  in the order of metrics_counter_t (metrics_counter_names).
#define S_UPSERT_HOURS \
    "INSERT INTO metrics_hours AS h (shop_id, hour, agent_id, channel, group_name, " \
    S_COUNTER_COLUMNS ") " \
    "SELECT shop, to_timestamp (hr / 1000.0::float8), agent, ch, grp, " S_COUNTER_COLUMNS " " \
    "FROM (SELECT unnest ($1::text[]) AS shop, unnest ($2::int8[]) AS hr, " \
    "unnest ($3::text[]) AS agent, unnest ($4::int2[]) AS ch, unnest ($5::text[]) AS grp, " \
    S_C (6, "conv_customer") ", " S_C (7, "conv_shop") ", " S_C (8, "conv_after_hours") ", " \
    S_C (9, "conv_answered") ", " S_C (10, "conv_answered_ah") ", " S_C (11, "frt_sum_ms") ", " \
    S_C (12, "frt_ah_sum_ms") ", " S_C (13, "conv_queued") ", " S_C (14, "conv_abandoned") ", " \
    S_C (15, "conv_closed") ", " S_C (16, "close_sum_ms") ", " S_C (17, "waits") ", " \
    S_C (18, "wait_sum_ms") ", " S_C (19, "wait_max_ms") ", " S_C (20, "customer_msgs") ", " \
    S_C (21, "replies") ", " S_C (22, "auto_replies") ", " S_C (23, "qa_flagged") ", " \
    S_C (24, "qa_flags") ", " S_C (25, "rounds") ", " S_C (26, "round_sum_ms") ", " \
    S_C (27, "round_msgs") ", " S_C (28, "rounds_unanswered") ", " S_C (29, "rating_1") ", " \
    S_C (30, "rating_2") ", " S_C (31, "rating_3") ", " S_C (32, "rating_4") ", " \
    S_C (33, "rating_5") ") AS t " \
    "ON CONFLICT (shop_id, hour, agent_id, channel, group_name) DO UPDATE SET " \
    S_ADD ("conv_customer") ", " S_ADD ("conv_shop") ", " S_ADD ("conv_after_hours") ", " \
    S_ADD ("conv_answered") ", " S_ADD ("conv_answered_ah") ", " S_ADD ("frt_sum_ms") ", " \
    S_ADD ("frt_ah_sum_ms") ", " S_ADD ("conv_queued") ", " S_ADD ("conv_abandoned") ", " \
    S_ADD ("conv_closed") ", " S_ADD ("close_sum_ms") ", " S_ADD ("waits") ", " \
    S_ADD ("wait_sum_ms") ", " \
    "wait_max_ms = greatest (h.wait_max_ms, EXCLUDED.wait_max_ms), " \
    S_ADD ("customer_msgs") ", " S_ADD ("replies") ", " S_ADD ("auto_replies") ", " \
    S_ADD ("qa_flagged") ", " S_ADD ("qa_flags") ", " S_ADD ("rounds") ", " \
    S_ADD ("round_sum_ms") ", " S_ADD ("round_msgs") ", " S_ADD ("rounds_unanswered") ", " \
    S_ADD ("rating_1") ", " S_ADD ("rating_2") ", " S_ADD ("rating_3") ", " \
    S_ADD ("rating_4") ", " S_ADD ("rating_5")

//  The dimension a read groups by, as text; and its filters.
#define S_DIM \
    "CASE $4::text WHEN 'agent' THEN agent_id WHEN 'group' THEN group_name " \
    "WHEN 'channel' THEN channel::text " \
    "WHEN 'hour' THEN ((extract (epoch FROM hour) * 1000)::int8)::text ELSE '' END"
#define S_TS(n) "to_timestamp ($" #n "::int8 / 1000.0::float8)"
#define S_FILTERS \
    "WHERE ($5::text IS NULL OR agent_id = $5) AND ($6::text IS NULL OR group_name = $6) " \
    "AND ($7::int2 = 0 OR channel = $7) "
//  A period's rows: its whole UTC days [$df, $dt) from the day table, the
//  hours before and after them from the hourly one ($df = $dt = $3 when
//  the period has no whole day, or is read by hour: s_days). The rows keep
//  the hourly table's column names (hour = a day's start in day rows).
#define S_PERIOD(cols, hours, days, df, dt) \
    "(SELECT " cols " FROM " hours " WHERE shop_id = $1 " \
    "  AND hour >= " S_TS (2) " AND hour < " S_TS (df) " " \
    "UNION ALL SELECT " cols " FROM " hours " WHERE shop_id = $1 " \
    "  AND hour >= " S_TS (dt) " AND hour < " S_TS (3) " " \
    "UNION ALL SELECT " cols " FROM " days " WHERE shop_id = $1 " \
    "  AND day >= " S_TS (df) " AND day < " S_TS (dt) ") AS r "

#define S_READ_SUMS \
    "SELECT " S_DIM " AS k, " \
    S_SUM ("conv_customer") ", " S_SUM ("conv_shop") ", " S_SUM ("conv_after_hours") ", " \
    S_SUM ("conv_answered") ", " S_SUM ("conv_answered_ah") ", " S_SUM ("frt_sum_ms") ", " \
    S_SUM ("frt_ah_sum_ms") ", " S_SUM ("conv_queued") ", " S_SUM ("conv_abandoned") ", " \
    S_SUM ("conv_closed") ", " S_SUM ("close_sum_ms") ", " S_SUM ("waits") ", " \
    S_SUM ("wait_sum_ms") ", " \
    "coalesce (max (wait_max_ms) FILTER (WHERE waits > 0), 0)::int8, " \
    S_SUM ("customer_msgs") ", " S_SUM ("replies") ", " S_SUM ("auto_replies") ", " \
    S_SUM ("qa_flagged") ", " S_SUM ("qa_flags") ", " S_SUM ("rounds") ", " \
    S_SUM ("round_sum_ms") ", " S_SUM ("round_msgs") ", " S_SUM ("rounds_unanswered") ", " \
    S_SUM ("rating_1") ", " S_SUM ("rating_2") ", " S_SUM ("rating_3") ", " \
    S_SUM ("rating_4") ", " S_SUM ("rating_5") " " \
    "FROM " S_PERIOD ("*", "metrics_hours", "metrics_days", 8, 9) S_FILTERS "GROUP BY k ORDER BY k"

//  Histograms grouped or filtered: the rows of every key. Neither: the
//  shop's own day rows ($4, $5: the whole days).
#define S_READ_HISTS \
    "SELECT " S_DIM " AS k, metric, bucket, sum (n)::int8 " \
    "FROM " S_PERIOD ("*", "metrics_hist", "metrics_hist_days", 8, 9) S_FILTERS \
    "GROUP BY k, metric, bucket HAVING sum (n) <> 0 ORDER BY k, metric, bucket"
#define S_READ_HISTS_SHOP \
    "SELECT '' AS k, metric, bucket, sum (n)::int8 " \
    "FROM " S_PERIOD ("metric, bucket, n", "metrics_hist", "metrics_hist_shop_days", 4, 5) \
    "GROUP BY metric, bucket HAVING sum (n) <> 0 ORDER BY metric, bucket"

#define S_CONV_COLUMNS \
    "shop_id, conversation_id, channel, customer, group_name, intent, vip, first_at_ms, " \
    "customer_opened, answered_at_ms, first_agent, round1_msgs, round_at_ms, round_msgs, " \
    "last_at_ms, last_replier, owner, queued, ever_queued, after_hours, closed, extra"
// clang-format on

// clang-format off
static const kf_stmt_t s_statements[] =
    {{"metrics_upsert_hours", S_UPSERT_HOURS},
     {"metrics_upsert_hist",
      "INSERT INTO metrics_hist AS h (shop_id, hour, agent_id, channel, group_name, metric, "
      "  bucket, n) "
      "SELECT shop, to_timestamp (hr / 1000.0::float8), agent, ch, grp, metric, bucket, n "
      "FROM (SELECT unnest ($1::text[]) AS shop, unnest ($2::int8[]) AS hr, "
      "unnest ($3::text[]) AS agent, unnest ($4::int2[]) AS ch, unnest ($5::text[]) AS grp, "
      "unnest ($6::int2[]) AS metric, unnest ($7::int2[]) AS bucket, unnest ($8::int8[]) AS n) "
      "AS t "
      "ON CONFLICT (shop_id, hour, agent_id, channel, group_name, metric, bucket) "
      "DO UPDATE SET n = h.n + EXCLUDED.n"},
     {"metrics_upsert_conversations",
      "INSERT INTO metrics_conversations (" S_CONV_COLUMNS ") "
      "SELECT shop, id, ch, customer, grp, intent, vip, first_at, opened_by_customer, "
      "  answered_at, first_agent, round1_msgs, round_at, round_msgs, last_at, last_replier, "
      "  owner, queued, ever_queued, after_hours, closed, extra::jsonb "
      "FROM (SELECT unnest ($1::text[]) AS shop, unnest ($2::int8[]) AS id, "
      "unnest ($3::int2[]) AS ch, unnest ($4::text[]) AS customer, unnest ($5::text[]) AS grp, "
      "unnest ($6::int2[]) AS intent, unnest ($7::bool[]) AS vip, "
      "unnest ($8::int8[]) AS first_at, unnest ($9::bool[]) AS opened_by_customer, "
      "unnest ($10::int8[]) AS answered_at, unnest ($11::text[]) AS first_agent, "
      "unnest ($12::int4[]) AS round1_msgs, unnest ($13::int8[]) AS round_at, "
      "unnest ($14::int4[]) AS round_msgs, unnest ($15::int8[]) AS last_at, "
      "unnest ($16::text[]) AS last_replier, unnest ($17::text[]) AS owner, "
      "unnest ($18::bool[]) AS queued, unnest ($19::bool[]) AS ever_queued, "
      "unnest ($20::bool[]) AS after_hours, unnest ($21::bool[]) AS closed, "
      "unnest ($22::text[]) AS extra) AS t "
      "ON CONFLICT (shop_id, conversation_id) DO UPDATE SET channel = EXCLUDED.channel, "
      "  customer = EXCLUDED.customer, group_name = EXCLUDED.group_name, "
      "  intent = EXCLUDED.intent, vip = EXCLUDED.vip, first_at_ms = EXCLUDED.first_at_ms, "
      "  customer_opened = EXCLUDED.customer_opened, answered_at_ms = EXCLUDED.answered_at_ms, "
      "  first_agent = EXCLUDED.first_agent, round1_msgs = EXCLUDED.round1_msgs, "
      "  round_at_ms = EXCLUDED.round_at_ms, round_msgs = EXCLUDED.round_msgs, "
      "  last_at_ms = EXCLUDED.last_at_ms, last_replier = EXCLUDED.last_replier, "
      "  owner = EXCLUDED.owner, queued = EXCLUDED.queued, ever_queued = EXCLUDED.ever_queued, "
      "  after_hours = EXCLUDED.after_hours, closed = EXCLUDED.closed, extra = EXCLUDED.extra"},
     {"metrics_insert_qa",
      "INSERT INTO metrics_qa_lines (shop_id, message_id, conversation_id, agent_id, channel, "
      "  sent_at, flags, body) "
      "SELECT shop, id, conv, agent, ch, to_timestamp (at / 1000.0::float8), "
      "  string_to_array (flags, E'\\x1f'), body "
      "FROM (SELECT unnest ($1::text[]) AS shop, unnest ($2::int8[]) AS id, "
      "unnest ($3::int8[]) AS conv, unnest ($4::text[]) AS agent, unnest ($5::int2[]) AS ch, "
      "unnest ($6::int8[]) AS at, unnest ($7::text[]) AS flags, unnest ($8::text[]) AS body) "
      "AS t "
      "ON CONFLICT (shop_id, message_id) DO NOTHING"},
     {"metrics_upsert_agents",
      "INSERT INTO metrics_agents (shop_id, agent_id, status, since_ms) "
      "SELECT * FROM (SELECT unnest ($1::text[]) AS shop, unnest ($2::text[]) AS agent, "
      "unnest ($3::int2[]) AS status, unnest ($4::int8[]) AS since) AS t "
      "ON CONFLICT (shop_id, agent_id) DO UPDATE SET status = EXCLUDED.status, "
      "  since_ms = EXCLUDED.since_ms"},
     {"metrics_load_open", "SELECT " S_CONV_COLUMNS " FROM metrics_conversations WHERE NOT closed "
                           "ORDER BY shop_id, conversation_id"},
     {"metrics_load_conversation", "SELECT " S_CONV_COLUMNS " FROM metrics_conversations "
                                   "WHERE shop_id = $1 AND conversation_id = $2"},
     {"metrics_load_conversations",
      "SELECT " S_CONV_COLUMNS " FROM metrics_conversations "
      "WHERE (shop_id, conversation_id) IN "
      "  (SELECT unnest ($1::text[]), unnest ($2::int8[]))"},
     {"metrics_load_agents", "SELECT shop_id, agent_id, status, since_ms FROM metrics_agents"},
     {"metrics_first_seq",
      "SELECT s.partition, s.last_seq, "
      "  coalesce ((SELECT e.seq FROM events e WHERE e.stream = s.stream "
      "    AND e.partition = s.partition ORDER BY e.seq LIMIT 1), 0) "
      "FROM event_sequences s WHERE s.stream = $1 AND s.last_seq > 0 ORDER BY s.partition"},
     {"metrics_load_shops", "SELECT shop_id, timezone FROM shops ORDER BY shop_id"},
     {"metrics_load_principals",
      "SELECT p.principal_id, p.role, p.public_key, p.all_shops, "
      "  coalesce (string_agg (s.shop_id, ','), ''), p.token_sha256 "
      "FROM principals p LEFT JOIN principal_shops s USING (principal_id) "
      "WHERE p.disabled_at IS NULL AND (p.public_key IS NOT NULL OR p.token_sha256 IS NOT NULL) "
      "GROUP BY p.principal_id"},
     {"metrics_read_sums", S_READ_SUMS},
     {"metrics_read_hists", S_READ_HISTS},
     {"metrics_read_hists_shop", S_READ_HISTS_SHOP},
     {"metrics_read_qa",
      "SELECT message_id, conversation_id, agent_id, channel, "
      "  (extract (epoch FROM sent_at) * 1000)::int8, array_to_string (flags, E'\\x1f'), body "
      "FROM metrics_qa_lines WHERE shop_id = $1 "
      "  AND sent_at >= to_timestamp ($2::int8 / 1000.0::float8) "
      "  AND sent_at < to_timestamp ($3::int8 / 1000.0::float8) "
      "  AND ($4::text IS NULL OR agent_id = $4) AND ($5::int2 = 0 OR channel = $5) "
      "ORDER BY sent_at, message_id LIMIT $6"},
     //  Scorecards (metrics_score.h).
     {"metrics_upsert_score_hours",
      "INSERT INTO metrics_score_hours AS h (shop_id, hour, agent_id, sales_cents, orders, "
      "  complaints_valid, complaints_wrong, complaints_unverif) "
      "SELECT shop, to_timestamp (hr / 1000.0::float8), agent, a, b, c, d, e "
      "FROM (SELECT unnest ($1::text[]) AS shop, unnest ($2::int8[]) AS hr, "
      "unnest ($3::text[]) AS agent, unnest ($4::int8[]) AS a, unnest ($5::int8[]) AS b, "
      "unnest ($6::int8[]) AS c, unnest ($7::int8[]) AS d, unnest ($8::int8[]) AS e) AS t "
      "ON CONFLICT (shop_id, hour, agent_id) DO UPDATE SET "
      "  sales_cents = h.sales_cents + EXCLUDED.sales_cents, orders = h.orders + EXCLUDED.orders, "
      "  complaints_valid = h.complaints_valid + EXCLUDED.complaints_valid, "
      "  complaints_wrong = h.complaints_wrong + EXCLUDED.complaints_wrong, "
      "  complaints_unverif = h.complaints_unverif + EXCLUDED.complaints_unverif"},
     {"metrics_upsert_orders",
      "INSERT INTO metrics_orders (shop_id, order_id, agent_id, amount_cents, paid_at_ms, "
      "  cancelled) "
      "SELECT * FROM (SELECT unnest ($1::text[]), unnest ($2::text[]), unnest ($3::text[]), "
      "unnest ($4::int8[]), unnest ($5::int8[]), unnest ($6::bool[])) AS t "
      "ON CONFLICT (shop_id, order_id) DO UPDATE SET agent_id = EXCLUDED.agent_id, "
      "  amount_cents = EXCLUDED.amount_cents, paid_at_ms = EXCLUDED.paid_at_ms, "
      "  cancelled = EXCLUDED.cancelled"},
     {"metrics_upsert_complaints",
      "INSERT INTO metrics_complaints (shop_id, complaint_id, agent_id, finding, at_ms) "
      "SELECT * FROM (SELECT unnest ($1::text[]), unnest ($2::int8[]), unnest ($3::text[]), "
      "unnest ($4::int2[]), unnest ($5::int8[])) AS t "
      "ON CONFLICT (shop_id, complaint_id) DO UPDATE SET agent_id = EXCLUDED.agent_id, "
      "  finding = EXCLUDED.finding, at_ms = EXCLUDED.at_ms"},
     {"metrics_insert_sources",
      "INSERT INTO metrics_sources (shop_id, stream) "
      "SELECT * FROM (SELECT unnest ($1::text[]), unnest ($2::text[])) AS t "
      "ON CONFLICT DO NOTHING"},
     {"metrics_load_order", "SELECT agent_id, amount_cents, paid_at_ms, cancelled "
                            "FROM metrics_orders WHERE shop_id = $1 AND order_id = $2"},
     {"metrics_load_orders",
      "SELECT agent_id, amount_cents, paid_at_ms, cancelled, shop_id, order_id "
      "FROM metrics_orders WHERE (shop_id, order_id) IN "
      "  (SELECT unnest ($1::text[]), unnest ($2::text[]))"},
     {"metrics_load_complaint", "SELECT agent_id, finding, at_ms FROM metrics_complaints "
                                "WHERE shop_id = $1 AND complaint_id = $2"},
     //  The card's agents: whoever the rollups credit with anything in the
     //  month, has score rows, or was given entered scores.
     {"metrics_read_scorecard",
      "SELECT agent_id, sum (a)::int8, sum (b)::int8, sum (c)::int8, sum (d)::int8, "
      "  sum (e)::int8, max (sc)::float8, max (kp)::float8 FROM ("
      "  SELECT agent_id, 0 AS a, 0 AS b, 0 AS c, 0 AS d, 0 AS e, NULL::numeric AS sc, "
      "    NULL::numeric AS kp "
      "  FROM " S_PERIOD ("agent_id", "metrics_hours", "metrics_days", 5, 6)
      "  WHERE agent_id <> '' GROUP BY agent_id "
      "  UNION ALL SELECT agent_id, sales_cents, orders, complaints_valid, complaints_wrong, "
      "    complaints_unverif, NULL, NULL FROM metrics_score_hours "
      "  WHERE shop_id = $1 AND hour >= to_timestamp ($2::int8 / 1000.0::float8) "
      "    AND hour < to_timestamp ($3::int8 / 1000.0::float8) "
      "  UNION ALL SELECT agent_id, 0, 0, 0, 0, 0, service_check, key_promotion "
      "  FROM metrics_entered_scores WHERE shop_id = $1 AND month = $4::date) AS t "
      "GROUP BY agent_id ORDER BY agent_id"},
     {"metrics_read_scheme",
      "SELECT s.weight_sales::float8, s.weight_key_promotion::float8, "
      "  s.weight_service_check::float8, s.weight_complaints::float8, "
      "  s.weight_customer_records::float8, s.conversion_coefficient::float8, "
      "  s.deduct_valid::float8, s.deduct_wrong_explanation::float8, "
      "  s.deduct_unverifiable::float8, "
      "  EXISTS (SELECT 1 FROM metrics_sources WHERE shop_id = $1 AND stream = 'ordersync'), "
      "  EXISTS (SELECT 1 FROM metrics_sources WHERE shop_id = $1 AND stream = 'escalation') "
      "FROM (SELECT 1) AS one LEFT JOIN metrics_settings s ON s.shop_id = $1"},
     {"metrics_write_scheme",
      "INSERT INTO metrics_settings (shop_id, weight_sales, weight_key_promotion, "
      "  weight_service_check, weight_complaints, weight_customer_records, "
      "  conversion_coefficient, deduct_valid, deduct_wrong_explanation, deduct_unverifiable, "
      "  updated_by) VALUES ($1, $2::float8, $3::float8, $4::float8, $5::float8, $6::float8, "
      "  $7::float8, $8::float8, $9::float8, $10::float8, $11) "
      "ON CONFLICT (shop_id) DO UPDATE SET weight_sales = EXCLUDED.weight_sales, "
      "  weight_key_promotion = EXCLUDED.weight_key_promotion, "
      "  weight_service_check = EXCLUDED.weight_service_check, "
      "  weight_complaints = EXCLUDED.weight_complaints, "
      "  weight_customer_records = EXCLUDED.weight_customer_records, "
      "  conversion_coefficient = EXCLUDED.conversion_coefficient, "
      "  deduct_valid = EXCLUDED.deduct_valid, "
      "  deduct_wrong_explanation = EXCLUDED.deduct_wrong_explanation, "
      "  deduct_unverifiable = EXCLUDED.deduct_unverifiable, "
      "  updated_by = EXCLUDED.updated_by, updated_at = now ()"},
     //  NULL keeps what was entered before.
     {"metrics_enter_score",
      "INSERT INTO metrics_entered_scores AS e (shop_id, month, agent_id, service_check, "
      "  key_promotion, updated_by) VALUES ($1, $2::date, $3, $4::float8, $5::float8, $6) "
      "ON CONFLICT (shop_id, month, agent_id) DO UPDATE SET "
      "  service_check = coalesce (EXCLUDED.service_check, e.service_check), "
      "  key_promotion = coalesce (EXCLUDED.key_promotion, e.key_promotion), "
      "  updated_by = EXCLUDED.updated_by, updated_at = now ()"},
     {NULL, NULL}};
// clang-format on

void
metrics_store_register (kf_store_t *store)
{
    kf_store_add_statements (store, s_statements);
    metrics_att_store_register (store);
    metrics_desk_store_register (store);
}

//  ---------------------------------------------------------------------
//  Writes

typedef struct {
    char shop_id[65];                  //  key ...
    int64_t hour;                      //
    char agent_id[METRICS_ID_MAX + 1]; //
    int channel;                       //
    char group[METRICS_GROUP_MAX + 1]; //
    int hist;                          //  histograms: which (-1 for counter rows)
    int bucket;                        //  ... and bucket
    int64_t values[METRICS_COUNTERS];  //  counters (hist rows: values[0])
} s_row_t;

typedef struct {
    char shop_id[65];   //  shop
    metrics_conv_t row; //  the state (lists not copied: extra holds them)
    char *extra;        //  the lists as JSON, owned
} s_conv_row_t;

typedef struct {
    char shop_id[65];                  //  shop
    metrics_qa_line_t line;            //  the line, strings below
    char agent_id[METRICS_ID_MAX + 1]; //  its author
    char *flags;                       //  phrases joined by \x1f, owned
    char *body;                        //  owned
} s_qa_row_t;

typedef struct {
    char shop_id[65];                  //  shop
    char agent_id[METRICS_ID_MAX + 1]; //  agent
    int status;                        //  AgentStatus
    int64_t since_ms;                  //  since
} s_agent_row_t;

typedef struct {
    char shop_id[65];                  //  shop
    int64_t hour;                      //  UTC hour
    char agent_id[METRICS_ID_MAX + 1]; //  agent
    int64_t values[METRICS_SCORE_VALUES];
} s_score_row_t;

typedef struct {
    char shop_id[65];      //  shop
    metrics_order_t order; //  its latest state
} s_order_row_t;

typedef struct {
    char shop_id[65];              //  shop
    metrics_complaint_t complaint; //  its latest state
} s_complaint_row_t;

typedef struct {
    char shop_id[65]; //  shop
    char stream[32];  //  a source it has
} s_source_row_t;

struct _metrics_writes_t {
    zhashx_t *rows;       //  key text -> s_row_t (counter rows)
    zhashx_t *hists;      //  key text -> s_row_t (histogram rows)
    zhashx_t *convs;      //  "shop\x1fid" -> s_conv_row_t (latest state)
    zlistx_t *qa;         //  s_qa_row_t
    zhashx_t *agents;     //  "shop\x1fagent" -> s_agent_row_t
    zhashx_t *scores;     //  "shop\x1fhour\x1fagent" -> s_score_row_t
    zhashx_t *orders;     //  "shop\x1forder" -> s_order_row_t (latest state)
    zhashx_t *complaints; //  "shop\x1fid" -> s_complaint_row_t (latest state)
    zhashx_t *sources;    //  "shop\x1fstream" -> s_source_row_t
};

static void
s_conv_row_free (void **item_p)
{
    s_conv_row_t *r = *item_p;
    if (r) {
        free (r->extra);
        free (r);
        *item_p = NULL;
    }
}

static void
s_qa_row_free (void **item_p)
{
    s_qa_row_t *r = *item_p;
    if (r) {
        free (r->flags);
        free (r->body);
        free (r);
        *item_p = NULL;
    }
}

static void
s_free (void **item_p)
{
    free (*item_p);
    *item_p = NULL;
}

metrics_writes_t *
metrics_writes_new (void)
{
    metrics_writes_t *self = calloc (1, sizeof *self);
    self->rows = zhashx_new ();
    zhashx_set_destructor (self->rows, s_free);
    self->hists = zhashx_new ();
    zhashx_set_destructor (self->hists, s_free);
    self->convs = zhashx_new ();
    zhashx_set_destructor (self->convs, s_conv_row_free);
    self->qa = zlistx_new ();
    zlistx_set_destructor (self->qa, (czmq_destructor *) s_qa_row_free);
    self->agents = zhashx_new ();
    zhashx_set_destructor (self->agents, s_free);
    zhashx_t **maps[] = {&self->scores, &self->orders, &self->complaints, &self->sources};
    for (size_t i = 0; i < sizeof maps / sizeof maps[0]; i++) {
        *maps[i] = zhashx_new ();
        zhashx_set_destructor (*maps[i], s_free);
    }
    return self;
}

void
metrics_writes_destroy (metrics_writes_t **self_p)
{
    if (self_p && *self_p) {
        metrics_writes_t *self = *self_p;
        zhashx_destroy (&self->rows);
        zhashx_destroy (&self->hists);
        zhashx_destroy (&self->convs);
        zlistx_destroy (&self->qa);
        zhashx_destroy (&self->agents);
        zhashx_destroy (&self->scores);
        zhashx_destroy (&self->orders);
        zhashx_destroy (&self->complaints);
        zhashx_destroy (&self->sources);
        free (self);
        *self_p = NULL;
    }
}

void
metrics_writes_clear (metrics_writes_t *self)
{
    zhashx_purge (self->rows);
    zhashx_purge (self->hists);
    zhashx_purge (self->convs);
    zlistx_purge (self->qa);
    zhashx_purge (self->agents);
    zhashx_purge (self->scores);
    zhashx_purge (self->orders);
    zhashx_purge (self->complaints);
    zhashx_purge (self->sources);
}

int
metrics_writes_rows (const metrics_writes_t *self)
{
    return (int) (zhashx_size (self->rows) + zhashx_size (self->hists) + zhashx_size (self->convs) +
                  zlistx_size (self->qa) + zhashx_size (self->agents) + zhashx_size (self->scores) +
                  zhashx_size (self->orders) + zhashx_size (self->complaints) +
                  zhashx_size (self->sources));
}

//  The row of a key (and histogram bucket), created empty.
static s_row_t *
s_row (zhashx_t *map, const metrics_key_t *key, int hist, int bucket)
{
    char text[400];
    snprintf (text, sizeof text, "%s\x1f%" PRId64 "\x1f%s\x1f%d\x1f%s\x1f%d\x1f%d", key->shop_id,
              key->hour_ms, key->agent_id, key->channel, key->group, hist, bucket);
    s_row_t *row = zhashx_lookup (map, text);
    if (!row) {
        row = calloc (1, sizeof *row);
        snprintf (row->shop_id, sizeof row->shop_id, "%s", key->shop_id);
        row->hour = key->hour_ms;
        snprintf (row->agent_id, sizeof row->agent_id, "%s", key->agent_id);
        row->channel = key->channel;
        snprintf (row->group, sizeof row->group, "%s", key->group);
        row->hist = hist;
        row->bucket = bucket;
        zhashx_insert (map, text, row);
    }
    return row;
}

void
metrics_writes_count (metrics_writes_t *self, const metrics_key_t *key, int counter, int64_t delta)
{
    s_row_t *row = s_row (self->rows, key, -1, 0);
    if (counter == METRICS_WAIT_MAX)
        row->values[counter] = delta > row->values[counter] ? delta : row->values[counter];
    else
        row->values[counter] += delta;
}

void
metrics_writes_hist (metrics_writes_t *self, const metrics_key_t *key, int hist, int bucket,
                     int64_t delta)
{
    s_row (self->hists, key, hist, bucket)->values[0] += delta;
}

//  The lists of a conversation as JSON (extra), NULL when all are empty.
//  Caller owns return value.
static char *
s_extra_text (const metrics_conv_t *conv)
{
    if (!conv->owner_count && !conv->wait_count && !conv->ledger_count)
        return NULL;
    json_t *owners = json_array ();
    for (int i = 0; i < conv->owner_count; i++)
        json_array_append_new (owners, json_pack ("[I, s]", (json_int_t) conv->owners[i].at_ms,
                                                  conv->owners[i].agent_id));
    json_t *waits = json_array ();
    for (int i = 0; i < conv->wait_count; i++)
        json_array_append_new (waits, json_integer (conv->waits[i]));
    json_t *ledger = json_array ();
    for (int i = 0; i < conv->ledger_count; i++) {
        const metrics_entry_t *e = &conv->ledger[i];
        json_array_append_new (ledger,
                               json_pack ("[I, s, i, i, I]", (json_int_t) e->hour_ms, e->agent_id,
                                          e->what, e->bucket, (json_int_t) e->delta));
    }
    json_t *root =
        json_pack ("{s:o, s:o, s:o}", "owners", owners, "waits", waits, "ledger", ledger);
    char *text = json_dumps (root, JSON_COMPACT);
    json_decref (root);
    return text;
}

//  The lists back from extra (a row loaded).
static void
s_extra_parse (metrics_conv_t *conv, const char *text)
{
    json_t *root = json_loads (text, 0, NULL);
    if (!root)
        return;
    size_t i;
    json_t *v;
    json_array_foreach (json_object_get (root, "owners"), i, v)
        metrics_conv_add_owner (conv, json_integer_value (json_array_get (v, 0)),
                                json_string_value (json_array_get (v, 1)));
    json_array_foreach (json_object_get (root, "waits"), i, v)
        metrics_conv_add_wait (conv, json_integer_value (v));
    json_array_foreach (json_object_get (root, "ledger"), i, v)
    {
        metrics_entry_t e = {json_integer_value (json_array_get (v, 0)), "",
                             (int) json_integer_value (json_array_get (v, 2)),
                             (int) json_integer_value (json_array_get (v, 3)),
                             json_integer_value (json_array_get (v, 4))};
        const char *agent = json_string_value (json_array_get (v, 1));
        snprintf (e.agent_id, sizeof e.agent_id, "%s", agent ? agent : "");
        metrics_conv_add_entry (conv, &e);
    }
    json_decref (root);
}

void
metrics_writes_conv (metrics_writes_t *self, const char *shop_id, const metrics_conv_t *conv)
{
    char key[96];
    snprintf (key, sizeof key, "%s\x1f%" PRId64, shop_id, conv->id);
    s_conv_row_t *r = calloc (1, sizeof *r);
    snprintf (r->shop_id, sizeof r->shop_id, "%s", shop_id);
    r->row = *conv;
    r->row.owners = NULL;
    r->row.waits = NULL;
    r->row.ledger = NULL;
    r->extra = s_extra_text (conv);
    zhashx_delete (self->convs, key);
    zhashx_insert (self->convs, key, r);
}

void
metrics_writes_qa (metrics_writes_t *self, const char *shop_id, const metrics_qa_line_t *line)
{
    s_qa_row_t *r = calloc (1, sizeof *r);
    snprintf (r->shop_id, sizeof r->shop_id, "%s", shop_id);
    r->line = *line;
    snprintf (r->agent_id, sizeof r->agent_id, "%s", line->agent_id);
    size_t len = 1;
    for (int i = 0; i < line->flag_count; i++)
        len += strlen (line->flags[i]) + 1;
    r->flags = calloc (1, len);
    for (int i = 0; i < line->flag_count; i++) {
        if (i)
            strcat (r->flags, "\x1f");
        strcat (r->flags, line->flags[i]);
    }
    r->body = strdup (line->body);
    zlistx_add_end (self->qa, r);
}

void
metrics_writes_presence (metrics_writes_t *self, const char *shop_id, const char *agent_id,
                         int status, int64_t since_ms)
{
    char key[256];
    snprintf (key, sizeof key, "%s\x1f%s", shop_id, agent_id);
    s_agent_row_t *r = zhashx_lookup (self->agents, key);
    if (!r) {
        r = calloc (1, sizeof *r);
        snprintf (r->shop_id, sizeof r->shop_id, "%s", shop_id);
        snprintf (r->agent_id, sizeof r->agent_id, "%s", agent_id);
        zhashx_insert (self->agents, key, r);
    }
    r->status = status;
    r->since_ms = since_ms;
}

static void
s_queue (kf_store_t *store, const char *stmt, kf_batch_t *batch)
{
    kf_batch_pipeline_add (&batch, store, stmt);
}

static void
s_key_columns (kf_batch_t *b, const s_row_t *row)
{
    kf_batch_str (b, 0, row->shop_id);
    kf_batch_int (b, 1, row->hour);
    kf_batch_str (b, 2, row->agent_id);
    kf_batch_int (b, 3, row->channel);
    kf_batch_str (b, 4, row->group);
}

static void
s_queue_rows (metrics_writes_t *self, kf_store_t *store)
{
    kf_col_type_t types[5 + METRICS_COUNTERS] = {KF_COL_TEXT, KF_COL_INT8, KF_COL_TEXT, KF_COL_INT2,
                                                 KF_COL_TEXT};
    for (int c = 0; c < METRICS_COUNTERS; c++)
        types[5 + c] = KF_COL_INT8;
    kf_batch_t *b = kf_batch_new (5 + METRICS_COUNTERS, types);
    for (s_row_t *row = zhashx_first (self->rows); row; row = zhashx_next (self->rows)) {
        s_key_columns (b, row);
        for (int c = 0; c < METRICS_COUNTERS; c++)
            kf_batch_int (b, 5 + c, row->values[c]);
    }
    s_queue (store, "metrics_upsert_hours", b);

    kf_col_type_t htypes[] = {KF_COL_TEXT, KF_COL_INT8, KF_COL_TEXT, KF_COL_INT2,
                              KF_COL_TEXT, KF_COL_INT2, KF_COL_INT2, KF_COL_INT8};
    b = kf_batch_new (8, htypes);
    for (s_row_t *row = zhashx_first (self->hists); row; row = zhashx_next (self->hists)) {
        if (row->values[0] == 0)
            continue;
        s_key_columns (b, row);
        kf_batch_int (b, 5, row->hist + 1);
        kf_batch_int (b, 6, row->bucket);
        kf_batch_int (b, 7, row->values[0]);
    }
    s_queue (store, "metrics_upsert_hist", b);
}

static void
s_queue_convs (metrics_writes_t *self, kf_store_t *store)
{
    kf_col_type_t types[] = {KF_COL_TEXT, KF_COL_INT8, KF_COL_INT2, KF_COL_TEXT, KF_COL_TEXT,
                             KF_COL_INT2, KF_COL_BOOL, KF_COL_INT8, KF_COL_BOOL, KF_COL_INT8,
                             KF_COL_TEXT, KF_COL_INT4, KF_COL_INT8, KF_COL_INT4, KF_COL_INT8,
                             KF_COL_TEXT, KF_COL_TEXT, KF_COL_BOOL, KF_COL_BOOL, KF_COL_BOOL,
                             KF_COL_BOOL, KF_COL_TEXT};
    kf_batch_t *b = kf_batch_new (22, types);
    for (s_conv_row_t *r = zhashx_first (self->convs); r; r = zhashx_next (self->convs)) {
        const metrics_conv_t *c = &r->row;
        kf_batch_str (b, 0, r->shop_id);
        kf_batch_int (b, 1, c->id);
        kf_batch_int (b, 2, c->channel);
        kf_batch_str (b, 3, c->customer);
        kf_batch_str (b, 4, c->group);
        kf_batch_int (b, 5, c->intent);
        kf_batch_bool (b, 6, c->vip);
        kf_batch_int (b, 7, c->first_at);
        kf_batch_bool (b, 8, c->customer_opened);
        kf_batch_int (b, 9, c->answered_at);
        kf_batch_str (b, 10, c->first_agent);
        kf_batch_int (b, 11, c->round1_msgs);
        kf_batch_int (b, 12, c->round_at);
        kf_batch_int (b, 13, c->round_msgs);
        kf_batch_int (b, 14, c->last_at);
        kf_batch_str (b, 15, c->last_replier);
        kf_batch_str (b, 16, c->owner);
        kf_batch_bool (b, 17, c->queued);
        kf_batch_bool (b, 18, c->ever_queued);
        kf_batch_bool (b, 19, c->after_hours);
        kf_batch_bool (b, 20, c->closed);
        kf_batch_str (b, 21, r->extra ? r->extra : "{}");
    }
    s_queue (store, "metrics_upsert_conversations", b);
}

static void
s_queue_lines (metrics_writes_t *self, kf_store_t *store)
{
    kf_col_type_t types[] = {KF_COL_TEXT, KF_COL_INT8, KF_COL_INT8, KF_COL_TEXT,
                             KF_COL_INT2, KF_COL_INT8, KF_COL_TEXT, KF_COL_TEXT};
    kf_batch_t *b = kf_batch_new (8, types);
    for (s_qa_row_t *r = zlistx_first (self->qa); r; r = zlistx_next (self->qa)) {
        kf_batch_str (b, 0, r->shop_id);
        kf_batch_int (b, 1, r->line.message_id);
        kf_batch_int (b, 2, r->line.conversation_id);
        kf_batch_str (b, 3, r->agent_id);
        kf_batch_int (b, 4, r->line.channel);
        kf_batch_int (b, 5, r->line.sent_at);
        kf_batch_str (b, 6, r->flags);
        kf_batch_str (b, 7, r->body);
    }
    s_queue (store, "metrics_insert_qa", b);

    kf_col_type_t atypes[] = {KF_COL_TEXT, KF_COL_TEXT, KF_COL_INT2, KF_COL_INT8};
    b = kf_batch_new (4, atypes);
    for (s_agent_row_t *r = zhashx_first (self->agents); r; r = zhashx_next (self->agents)) {
        kf_batch_str (b, 0, r->shop_id);
        kf_batch_str (b, 1, r->agent_id);
        kf_batch_int (b, 2, r->status);
        kf_batch_int (b, 3, r->since_ms);
    }
    s_queue (store, "metrics_upsert_agents", b);
}

//  ---------------------------------------------------------------------
//  Scorecard writes

void
metrics_writes_score (metrics_writes_t *self, const char *shop_id, const metrics_score_part_t *part,
                      int sign)
{
    if (!*part->agent_id)
        return;
    char key[256];
    snprintf (key, sizeof key, "%s\x1f%" PRId64 "\x1f%s", shop_id, part->hour_ms, part->agent_id);
    s_score_row_t *r = zhashx_lookup (self->scores, key);
    if (!r) {
        r = calloc (1, sizeof *r);
        snprintf (r->shop_id, sizeof r->shop_id, "%s", shop_id);
        r->hour = part->hour_ms;
        snprintf (r->agent_id, sizeof r->agent_id, "%s", part->agent_id);
        zhashx_insert (self->scores, key, r);
    }
    for (int v = 0; v < METRICS_SCORE_VALUES; v++)
        r->values[v] += sign * part->values[v];
}

metrics_order_t *
metrics_writes_order (metrics_writes_t *self, const char *shop_id, const char *order_id,
                      const metrics_order_t *loaded)
{
    char key[256];
    snprintf (key, sizeof key, "%s\x1f%s", shop_id, order_id);
    s_order_row_t *r = zhashx_lookup (self->orders, key);
    if (!r && loaded) {
        r = calloc (1, sizeof *r);
        snprintf (r->shop_id, sizeof r->shop_id, "%s", shop_id);
        r->order = *loaded;
        zhashx_insert (self->orders, key, r);
    }
    return r ? &r->order : NULL;
}

metrics_complaint_t *
metrics_writes_complaint (metrics_writes_t *self, const char *shop_id, int64_t complaint_id,
                          const metrics_complaint_t *loaded)
{
    char key[128];
    snprintf (key, sizeof key, "%s\x1f%" PRId64, shop_id, complaint_id);
    s_complaint_row_t *r = zhashx_lookup (self->complaints, key);
    if (!r && loaded) {
        r = calloc (1, sizeof *r);
        snprintf (r->shop_id, sizeof r->shop_id, "%s", shop_id);
        r->complaint = *loaded;
        zhashx_insert (self->complaints, key, r);
    }
    return r ? &r->complaint : NULL;
}

void
metrics_writes_source (metrics_writes_t *self, const char *shop_id, const char *stream)
{
    char key[128];
    snprintf (key, sizeof key, "%s\x1f%s", shop_id, stream);
    if (zhashx_lookup (self->sources, key))
        return;
    s_source_row_t *r = calloc (1, sizeof *r);
    snprintf (r->shop_id, sizeof r->shop_id, "%s", shop_id);
    snprintf (r->stream, sizeof r->stream, "%s", stream);
    zhashx_insert (self->sources, key, r);
}

static void
s_queue_scores (metrics_writes_t *self, kf_store_t *store)
{
    kf_col_type_t types[3 + METRICS_SCORE_VALUES] = {KF_COL_TEXT, KF_COL_INT8, KF_COL_TEXT};
    for (int v = 0; v < METRICS_SCORE_VALUES; v++)
        types[3 + v] = KF_COL_INT8;
    kf_batch_t *b = kf_batch_new (3 + METRICS_SCORE_VALUES, types);
    for (s_score_row_t *r = zhashx_first (self->scores); r; r = zhashx_next (self->scores)) {
        kf_batch_str (b, 0, r->shop_id);
        kf_batch_int (b, 1, r->hour);
        kf_batch_str (b, 2, r->agent_id);
        for (int v = 0; v < METRICS_SCORE_VALUES; v++)
            kf_batch_int (b, 3 + v, r->values[v]);
    }
    s_queue (store, "metrics_upsert_score_hours", b);

    kf_col_type_t otypes[] = {KF_COL_TEXT, KF_COL_TEXT, KF_COL_TEXT,
                              KF_COL_INT8, KF_COL_INT8, KF_COL_BOOL};
    b = kf_batch_new (6, otypes);
    for (s_order_row_t *r = zhashx_first (self->orders); r; r = zhashx_next (self->orders)) {
        kf_batch_str (b, 0, r->shop_id);
        kf_batch_str (b, 1, r->order.order_id);
        kf_batch_str (b, 2, r->order.agent_id);
        kf_batch_int (b, 3, r->order.amount_cents);
        kf_batch_int (b, 4, r->order.paid_at_ms);
        kf_batch_bool (b, 5, r->order.cancelled);
    }
    s_queue (store, "metrics_upsert_orders", b);

    kf_col_type_t ctypes[] = {KF_COL_TEXT, KF_COL_INT8, KF_COL_TEXT, KF_COL_INT2, KF_COL_INT8};
    b = kf_batch_new (5, ctypes);
    for (s_complaint_row_t *r = zhashx_first (self->complaints); r;
         r = zhashx_next (self->complaints)) {
        kf_batch_str (b, 0, r->shop_id);
        kf_batch_int (b, 1, r->complaint.complaint_id);
        kf_batch_str (b, 2, r->complaint.agent_id);
        kf_batch_int (b, 3, r->complaint.finding);
        kf_batch_int (b, 4, r->complaint.at_ms);
    }
    s_queue (store, "metrics_upsert_complaints", b);

    kf_col_type_t stypes[] = {KF_COL_TEXT, KF_COL_TEXT};
    b = kf_batch_new (2, stypes);
    for (s_source_row_t *r = zhashx_first (self->sources); r; r = zhashx_next (self->sources)) {
        kf_batch_str (b, 0, r->shop_id);
        kf_batch_str (b, 1, r->stream);
    }
    s_queue (store, "metrics_insert_sources", b);
}

void
metrics_writes_queue (metrics_writes_t *self, kf_store_t *store)
{
    s_queue_rows (self, store);
    s_queue_convs (self, store);
    s_queue_lines (self, store);
    s_queue_scores (self, store);
    metrics_writes_clear (self);
}

//  ---------------------------------------------------------------------
//  Loading

static bool
s_bool (const PGresult *res, int r, int c)
{
    return strcmp (kf_store_text (res, r, c), "t") == 0;
}

static void
s_text (char *dst, size_t size, const PGresult *res, int r, int c)
{
    snprintf (dst, size, "%s", kf_store_text (res, r, c));
}

//  A conversation from a row of S_CONV_COLUMNS. Caller owns return value.
static metrics_conv_t *
s_conv_of_row (const PGresult *res, int r)
{
    metrics_conv_t *c = metrics_conv_new (kf_store_int (res, r, 1));
    c->channel = (int) kf_store_int (res, r, 2);
    s_text (c->customer, sizeof c->customer, res, r, 3);
    s_text (c->group, sizeof c->group, res, r, 4);
    c->intent = (int) kf_store_int (res, r, 5);
    c->vip = s_bool (res, r, 6);
    c->first_at = kf_store_int (res, r, 7);
    c->customer_opened = s_bool (res, r, 8);
    c->answered_at = kf_store_int (res, r, 9);
    s_text (c->first_agent, sizeof c->first_agent, res, r, 10);
    c->round1_msgs = (int) kf_store_int (res, r, 11);
    c->round_at = kf_store_int (res, r, 12);
    c->round_msgs = (int) kf_store_int (res, r, 13);
    c->last_at = kf_store_int (res, r, 14);
    s_text (c->last_replier, sizeof c->last_replier, res, r, 15);
    s_text (c->owner, sizeof c->owner, res, r, 16);
    c->queued = s_bool (res, r, 17);
    c->ever_queued = s_bool (res, r, 18);
    c->after_hours = s_bool (res, r, 19);
    c->closed = s_bool (res, r, 20);
    s_extra_parse (c, kf_store_text (res, r, 21));
    return c;
}

typedef struct {
    metrics_conv_row_fn *fn; //  per row
    void *arg;               //  its argument
} s_conv_rows_t;

static int
s_on_convs (const PGresult *res, void *arg)
{
    s_conv_rows_t *rows = arg;
    for (int r = 0; r < PQntuples (res); r++) {
        metrics_conv_t *conv = s_conv_of_row (res, r);
        rows->fn (rows->arg, kf_store_text (res, r, 0), &conv);
        metrics_conv_destroy (&conv);
    }
    return 0;
}

int
metrics_store_load_open (kf_store_t *store, metrics_conv_row_fn *fn, void *arg, kf_error_t *err)
{
    s_conv_rows_t rows = {fn, arg};
    return kf_store_exec (store, "metrics_load_open", NULL, s_on_convs, &rows, err);
}

static int
s_on_one_conv (const PGresult *res, void *arg)
{
    metrics_conv_t **out = arg;
    if (PQntuples (res) > 0)
        *out = s_conv_of_row (res, 0);
    return 0;
}

//  Run stmt with the batch's columns as its parameters; destroys the batch.
static int
s_exec_batch (kf_store_t *store, const char *stmt, kf_batch_t **batch_p, kf_store_rows_fn *fn,
              void *arg, kf_error_t *err)
{
    kf_params_t params;
    kf_params_init (&params);
    kf_batch_params (*batch_p, &params);
    int rc = kf_store_exec (store, stmt, &params, fn, arg, err);
    kf_batch_destroy (batch_p);
    return rc;
}

int
metrics_store_load_conversations (kf_store_t *store, int count, const char *const *shop_ids,
                                  const int64_t *conversation_ids, metrics_conv_row_fn *fn,
                                  void *arg, kf_error_t *err)
{
    static const kf_col_type_t types[] = {KF_COL_TEXT, KF_COL_INT8};
    kf_batch_t *batch = kf_batch_new (2, types);
    for (int i = 0; i < count; i++) {
        kf_batch_str (batch, 0, shop_ids[i]);
        kf_batch_int (batch, 1, conversation_ids[i]);
    }
    s_conv_rows_t rows = {fn, arg};
    return s_exec_batch (store, "metrics_load_conversations", &batch, s_on_convs, &rows, err);
}

int
metrics_store_load_conversation (kf_store_t *store, const char *shop_id, int64_t conversation_id,
                                 metrics_conv_t **out, kf_error_t *err)
{
    *out = NULL;
    kf_params_t params;
    kf_params_init (&params);
    kf_params_str (&params, shop_id);
    kf_params_int (&params, conversation_id);
    return kf_store_exec (store, "metrics_load_conversation", &params, s_on_one_conv, out, err);
}

typedef struct {
    metrics_agent_row_fn *fn; //  per row
    void *arg;                //  its argument
} s_agent_rows_t;

static int
s_on_agents (const PGresult *res, void *arg)
{
    s_agent_rows_t *rows = arg;
    for (int r = 0; r < PQntuples (res); r++)
        rows->fn (rows->arg, kf_store_text (res, r, 0), kf_store_text (res, r, 1),
                  (int) kf_store_int (res, r, 2), kf_store_int (res, r, 3));
    return 0;
}

int
metrics_store_load_agents (kf_store_t *store, metrics_agent_row_fn *fn, void *arg, kf_error_t *err)
{
    s_agent_rows_t rows = {fn, arg};
    return kf_store_exec (store, "metrics_load_agents", NULL, s_on_agents, &rows, err);
}

//  ---------------------------------------------------------------------
//  Rebuild

typedef struct {
    const char *stream; //  the stream looked at
    bool complete;      //  every partition starts at seq 1
    char *why;          //  where to say which does not
    size_t why_size;    //  its size
} s_first_t;

static int
s_on_first (const PGresult *res, void *arg)
{
    s_first_t *f = arg;
    for (int r = 0; r < PQntuples (res) && f->complete; r++) {
        int64_t first = kf_store_int (res, r, 2);
        if (first != 1) {
            f->complete = false;
            snprintf (f->why, f->why_size,
                      "the event log of stream %s, partition %" PRId64 " starts at event %" PRId64
                      " of %" PRId64 ": earlier events were pruned",
                      f->stream, kf_store_int (res, r, 0), first, kf_store_int (res, r, 1));
        }
    }
    return 0;
}

int
metrics_store_log_complete (kf_store_t *store, const char *const *streams, int stream_count,
                            bool *complete, char *why, size_t why_size, kf_error_t *err)
{
    *complete = true;
    for (int i = 0; i < stream_count && *complete; i++) {
        s_first_t f = {streams[i], true, why, why_size};
        kf_params_t params;
        kf_params_init (&params);
        kf_params_str (&params, streams[i]);
        if (kf_store_exec (store, "metrics_first_seq", &params, s_on_first, &f, err))
            return -1;
        *complete = f.complete;
    }
    return 0;
}

static int
s_reset (kf_store_t *store, void *arg, kf_error_t *err)
{
    const char *consumer = arg;
    //  Not metrics_settings, metrics_entered_scores nor
    //  metrics_attendance_settings: supervisors' input; nor
    //  metrics_att_published: what was published stays published.
    static const char *const empty[] = {
        "DELETE FROM metrics_hours",          "DELETE FROM metrics_hist",
        "DELETE FROM metrics_days",           "DELETE FROM metrics_hist_days",
        "DELETE FROM metrics_hist_shop_days", "DELETE FROM metrics_conversations",
        "DELETE FROM metrics_agents",         "DELETE FROM metrics_qa_lines",
        "DELETE FROM metrics_score_hours",    "DELETE FROM metrics_orders",
        "DELETE FROM metrics_complaints",     "DELETE FROM metrics_sources",
        "DELETE FROM metrics_att_schedules",  "DELETE FROM metrics_att_spans",
        "DELETE FROM metrics_att_replies",    "DELETE FROM metrics_att_rounds",
        "DELETE FROM metrics_phrase_hours",   "DELETE FROM metrics_inquiries",
        "DELETE FROM metrics_order_desk",     "DELETE FROM metrics_cases"};
    for (size_t i = 0; i < sizeof empty / sizeof empty[0]; i++)
        if (kf_store_exec_sql (store, empty[i], NULL, NULL, NULL, err))
            return -1;
    kf_params_t params;
    kf_params_init (&params);
    kf_params_str (&params, consumer);
    return kf_store_exec_sql (store,
                              "UPDATE consumer_offsets SET last_seq = 0, updated_at = now () "
                              "WHERE consumer = $1",
                              &params, NULL, NULL, err);
}

int
metrics_store_reset (kf_store_t *store, const char *consumer, kf_error_t *err)
{
    return kf_store_txn (store, s_reset, (void *) consumer, err);
}

//  ---------------------------------------------------------------------
//  Shops and principals

typedef struct {
    metrics_shop_fn *fn; //  per shop
    void *arg;           //  its argument
} s_shops_t;

static int
s_on_shops (const PGresult *res, void *arg)
{
    s_shops_t *s = arg;
    for (int r = 0; r < PQntuples (res); r++)
        s->fn (s->arg, kf_store_text (res, r, 0), kf_store_text (res, r, 1));
    return 0;
}

int
metrics_store_load_shops (kf_store_t *store, metrics_shop_fn *fn, void *arg, kf_error_t *err)
{
    s_shops_t s = {fn, arg};
    return kf_store_exec (store, "metrics_load_shops", NULL, s_on_shops, &s, err);
}

typedef struct {
    metrics_principal_fn *fn; //  per principal
    void *arg;                //  its argument
} s_principals_t;

static int
s_on_principals (const PGresult *res, void *arg)
{
    s_principals_t *p = arg;
    for (int r = 0; r < PQntuples (res); r++)
        p->fn (p->arg, kf_store_text (res, r, 0), kf_store_text (res, r, 1),
               kf_store_text (res, r, 2), kf_store_text (res, r, 5), s_bool (res, r, 3),
               kf_store_text (res, r, 4));
    return 0;
}

int
metrics_store_load_principals (kf_store_t *store, metrics_principal_fn *fn, void *arg,
                               kf_error_t *err)
{
    s_principals_t p = {fn, arg};
    return kf_store_exec (store, "metrics_load_principals", NULL, s_on_principals, &p, err);
}

//  ---------------------------------------------------------------------
//  Reading rollups

#define S_DAY_MS 86400000LL

//  The whole UTC days inside [from, to), as [*day_from, *day_to) (both
//  to when there is none): those are read from the day rows (S_PERIOD).
static void
s_days (int64_t from_ms, int64_t to_ms, bool hourly, int64_t *day_from, int64_t *day_to)
{
    int64_t first = from_ms >= 0 ? (from_ms + S_DAY_MS - 1) / S_DAY_MS * S_DAY_MS : 0;
    int64_t last = to_ms >= 0 ? to_ms / S_DAY_MS * S_DAY_MS : 0;
    bool whole = !hourly && from_ms >= 0 && first < last;
    *day_from = whole ? first : to_ms;
    *day_to = whole ? last : to_ms;
}

static void
s_read_params (kf_params_t *params, const metrics_read_t *read)
{
    kf_params_init (params);
    kf_params_str (params, read->shop_id);
    kf_params_int (params, read->from_ms);
    kf_params_int (params, read->to_ms);
    kf_params_str (params, read->by ? read->by : "");
    if (read->agent)
        kf_params_str (params, read->agent);
    else
        kf_params_null (params);
    if (read->group)
        kf_params_str (params, read->group);
    else
        kf_params_null (params);
    kf_params_int (params, read->channel);
    int64_t day_from, day_to;
    s_days (read->from_ms, read->to_ms, read->by && streq (read->by, "hour"), &day_from, &day_to);
    kf_params_int (params, day_from);
    kf_params_int (params, day_to);
}

typedef struct {
    metrics_sums_fn *fn;   //  per group
    metrics_hist_fn *hist; //  per histogram bucket
    void *arg;             //  their argument
} s_read_rows_t;

static int
s_on_sums (const PGresult *res, void *arg)
{
    s_read_rows_t *rows = arg;
    for (int r = 0; r < PQntuples (res); r++) {
        int64_t counters[METRICS_COUNTERS];
        for (int c = 0; c < METRICS_COUNTERS; c++)
            counters[c] = kf_store_int (res, r, 1 + c);
        rows->fn (rows->arg, kf_store_text (res, r, 0), counters);
    }
    return 0;
}

int
metrics_store_sums (kf_store_t *store, const metrics_read_t *read, metrics_sums_fn *fn, void *arg,
                    kf_error_t *err)
{
    kf_params_t params;
    s_read_params (&params, read);
    s_read_rows_t rows = {fn, NULL, arg};
    return kf_store_exec (store, "metrics_read_sums", &params, s_on_sums, &rows, err);
}

static int
s_on_hists (const PGresult *res, void *arg)
{
    s_read_rows_t *rows = arg;
    for (int r = 0; r < PQntuples (res); r++) {
        int metric = (int) kf_store_int (res, r, 1);
        if (metric >= 1 && metric <= METRICS_HISTS)
            rows->hist (rows->arg, kf_store_text (res, r, 0), metric - 1,
                        (int) kf_store_int (res, r, 2), kf_store_int (res, r, 3));
    }
    return 0;
}

int
metrics_store_hists (kf_store_t *store, const metrics_read_t *read, metrics_hist_fn *fn, void *arg,
                     kf_error_t *err)
{
    kf_params_t params;
    s_read_rows_t rows = {NULL, fn, arg};
    if ((read->by && *read->by) || read->agent || read->group || read->channel) {
        s_read_params (&params, read);
        return kf_store_exec (store, "metrics_read_hists", &params, s_on_hists, &rows, err);
    }
    //  Neither grouped nor filtered: the shop's own rows.
    int64_t day_from, day_to;
    s_days (read->from_ms, read->to_ms, false, &day_from, &day_to);
    kf_params_init (&params);
    kf_params_str (&params, read->shop_id);
    kf_params_int (&params, read->from_ms);
    kf_params_int (&params, read->to_ms);
    kf_params_int (&params, day_from);
    kf_params_int (&params, day_to);
    return kf_store_exec (store, "metrics_read_hists_shop", &params, s_on_hists, &rows, err);
}

typedef struct {
    metrics_qa_fn *fn; //  per line
    void *arg;         //  its argument
} s_qa_rows_t;

static int
s_on_qa (const PGresult *res, void *arg)
{
    s_qa_rows_t *rows = arg;
    for (int r = 0; r < PQntuples (res); r++) {
        metrics_qa_row_t row = {kf_store_int (res, r, 0),  kf_store_int (res, r, 1),
                                kf_store_text (res, r, 2), (int) kf_store_int (res, r, 3),
                                kf_store_int (res, r, 4),  kf_store_text (res, r, 5),
                                kf_store_text (res, r, 6)};
        rows->fn (rows->arg, &row);
    }
    return 0;
}

int
metrics_store_qa_lines (kf_store_t *store, const metrics_read_t *read, int limit, metrics_qa_fn *fn,
                        void *arg, kf_error_t *err)
{
    kf_params_t params;
    kf_params_init (&params);
    kf_params_str (&params, read->shop_id);
    kf_params_int (&params, read->from_ms);
    kf_params_int (&params, read->to_ms);
    if (read->agent)
        kf_params_str (&params, read->agent);
    else
        kf_params_null (&params);
    kf_params_int (&params, read->channel);
    kf_params_int (&params, limit);
    s_qa_rows_t rows = {fn, arg};
    return kf_store_exec (store, "metrics_read_qa", &params, s_on_qa, &rows, err);
}

//  ---------------------------------------------------------------------
//  Scorecards

//  An order's state from row r (agent_id, amount_cents, paid_at_ms,
//  cancelled first).
static void
s_order_of_row (const PGresult *res, int r, metrics_order_t *o)
{
    s_text (o->agent_id, sizeof o->agent_id, res, r, 0);
    o->amount_cents = kf_store_int (res, r, 1);
    o->paid_at_ms = kf_store_int (res, r, 2);
    o->cancelled = s_bool (res, r, 3);
}

static int
s_on_order (const PGresult *res, void *arg)
{
    if (PQntuples (res) > 0)
        s_order_of_row (res, 0, (metrics_order_t *) arg);
    return 0;
}

typedef struct {
    metrics_order_row_fn *fn; //  per row
    void *arg;                //  its argument
} s_order_rows_t;

static int
s_on_orders (const PGresult *res, void *arg)
{
    s_order_rows_t *rows = arg;
    for (int r = 0; r < PQntuples (res); r++) {
        metrics_order_t order;
        memset (&order, 0, sizeof order);
        s_order_of_row (res, r, &order);
        s_text (order.order_id, sizeof order.order_id, res, r, 5);
        rows->fn (rows->arg, kf_store_text (res, r, 4), &order);
    }
    return 0;
}

int
metrics_store_load_orders (kf_store_t *store, int count, const char *const *shop_ids,
                           const char *const *order_ids, metrics_order_row_fn *fn, void *arg,
                           kf_error_t *err)
{
    static const kf_col_type_t types[] = {KF_COL_TEXT, KF_COL_TEXT};
    kf_batch_t *batch = kf_batch_new (2, types);
    for (int i = 0; i < count; i++) {
        kf_batch_str (batch, 0, shop_ids[i]);
        kf_batch_str (batch, 1, order_ids[i]);
    }
    s_order_rows_t rows = {fn, arg};
    return s_exec_batch (store, "metrics_load_orders", &batch, s_on_orders, &rows, err);
}

int
metrics_store_load_order (kf_store_t *store, const char *shop_id, const char *order_id,
                          metrics_order_t *out, kf_error_t *err)
{
    memset (out, 0, sizeof *out);
    snprintf (out->order_id, sizeof out->order_id, "%s", order_id);
    kf_params_t params;
    kf_params_init (&params);
    kf_params_str (&params, shop_id);
    kf_params_str (&params, order_id);
    return kf_store_exec (store, "metrics_load_order", &params, s_on_order, out, err);
}

static int
s_on_complaint (const PGresult *res, void *arg)
{
    metrics_complaint_t *c = arg;
    if (PQntuples (res) == 0)
        return 0;
    s_text (c->agent_id, sizeof c->agent_id, res, 0, 0);
    c->finding = (int) kf_store_int (res, 0, 1);
    c->at_ms = kf_store_int (res, 0, 2);
    return 0;
}

int
metrics_store_load_complaint (kf_store_t *store, const char *shop_id, int64_t complaint_id,
                              metrics_complaint_t *out, kf_error_t *err)
{
    memset (out, 0, sizeof *out);
    out->complaint_id = complaint_id;
    kf_params_t params;
    kf_params_init (&params);
    kf_params_str (&params, shop_id);
    kf_params_int (&params, complaint_id);
    return kf_store_exec (store, "metrics_load_complaint", &params, s_on_complaint, out, err);
}

static double
s_float (const PGresult *res, int r, int c)
{
    return atof (kf_store_text (res, r, c));
}

typedef struct {
    metrics_scheme_t *scheme;         //  out
    metrics_score_sources_t *sources; //  out, may be NULL
} s_scheme_t;

static int
s_on_scheme (const PGresult *res, void *arg)
{
    s_scheme_t *s = arg;
    metrics_scheme_default (s->scheme);
    if (PQntuples (res) == 0)
        return 0;
    if (!PQgetisnull (res, 0, 0)) {
        for (int k = 0; k < METRICS_ITEMS; k++)
            s->scheme->weight[k] = s_float (res, 0, k);
        s->scheme->coefficient = s_float (res, 0, 5);
        for (int d = 0; d < 3; d++)
            s->scheme->deduct[d] = s_float (res, 0, 6 + d);
    }
    if (s->sources) {
        s->sources->orders = s_bool (res, 0, 9);
        s->sources->complaints = s_bool (res, 0, 10);
    }
    return 0;
}

int
metrics_store_scheme (kf_store_t *store, const char *shop_id, metrics_scheme_t *scheme,
                      metrics_score_sources_t *sources, kf_error_t *err)
{
    kf_params_t params;
    kf_params_init (&params);
    kf_params_str (&params, shop_id);
    s_scheme_t s = {scheme, sources};
    return kf_store_exec (store, "metrics_read_scheme", &params, s_on_scheme, &s, err);
}

//  A double as a text parameter (cast to float8 in the statement); params
//  borrow the text, so it lives in buf (32 bytes) until the statement ran.
static void
s_param_float (kf_params_t *params, double v, char *buf)
{
    snprintf (buf, 32, "%.17g", v);
    kf_params_str (params, buf);
}

int
metrics_store_set_scheme (kf_store_t *store, const char *shop_id, const metrics_scheme_t *scheme,
                          const char *by, kf_error_t *err)
{
    kf_params_t params;
    kf_params_init (&params);
    kf_params_str (&params, shop_id);
    char text[METRICS_ITEMS + 4][32];
    for (int k = 0; k < METRICS_ITEMS; k++)
        s_param_float (&params, scheme->weight[k], text[k]);
    s_param_float (&params, scheme->coefficient, text[METRICS_ITEMS]);
    for (int d = 0; d < 3; d++)
        s_param_float (&params, scheme->deduct[d], text[METRICS_ITEMS + 1 + d]);
    kf_params_str (&params, by);
    return kf_store_exec (store, "metrics_write_scheme", &params, NULL, NULL, err);
}

int
metrics_store_enter_score (kf_store_t *store, const char *shop_id, const char *month,
                           const char *agent_id, const double *service_check,
                           const double *key_promotion, const char *by, kf_error_t *err)
{
    kf_params_t params;
    kf_params_init (&params);
    kf_params_str (&params, shop_id);
    char date[16];
    snprintf (date, sizeof date, "%.7s-01", month);
    kf_params_str (&params, date);
    kf_params_str (&params, agent_id);
    char text[2][32];
    if (service_check)
        s_param_float (&params, *service_check, text[0]);
    else
        kf_params_null (&params);
    if (key_promotion)
        s_param_float (&params, *key_promotion, text[1]);
    else
        kf_params_null (&params);
    kf_params_str (&params, by);
    return kf_store_exec (store, "metrics_enter_score", &params, NULL, NULL, err);
}

typedef struct {
    metrics_score_agent_t *agents; //  grown here
    int count;                     //  used
} s_card_rows_t;

static int
s_on_card (const PGresult *res, void *arg)
{
    s_card_rows_t *rows = arg;
    int n = PQntuples (res);
    rows->agents = n ? calloc ((size_t) n, sizeof *rows->agents) : NULL;
    for (int r = 0; r < n; r++) {
        metrics_score_agent_t *a = &rows->agents[rows->count++];
        s_text (a->agent_id, sizeof a->agent_id, res, r, 0);
        for (int v = 0; v < METRICS_SCORE_VALUES; v++)
            a->values[v] = kf_store_int (res, r, 1 + v);
        a->has_service_check = !PQgetisnull (res, r, 6);
        a->service_check = a->has_service_check ? s_float (res, r, 6) : 0;
        a->has_key_promotion = !PQgetisnull (res, r, 7);
        a->key_promotion = a->has_key_promotion ? s_float (res, r, 7) : 0;
    }
    return 0;
}

int
metrics_store_scorecard (kf_store_t *store, const char *shop_id, int64_t from_ms, int64_t to_ms,
                         const char *month, metrics_score_agent_t **agents, int *count,
                         kf_error_t *err)
{
    kf_params_t params;
    kf_params_init (&params);
    kf_params_str (&params, shop_id);
    kf_params_int (&params, from_ms);
    kf_params_int (&params, to_ms);
    char date[16];
    snprintf (date, sizeof date, "%.7s-01", month);
    kf_params_str (&params, date);
    int64_t day_from, day_to;
    s_days (from_ms, to_ms, false, &day_from, &day_to);
    kf_params_int (&params, day_from);
    kf_params_int (&params, day_to);
    s_card_rows_t rows = {NULL, 0};
    int rc = kf_store_exec (store, "metrics_read_scorecard", &params, s_on_card, &rows, err);
    *agents = rows.agents;
    *count = rows.count;
    return rc;
}
