/*  metrics_desk_store — metrics' tables of the desk's work. */
#include "metrics_desk_store.h"

#include "kf_batch.h"
#include "metrics_model.h"

#include <czmq.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static const kf_stmt_t s_statements[] = {
    {"metrics_desk_add_phrases",
     "INSERT INTO metrics_phrase_hours AS p (shop_id, hour_ms, agent_id, phrase_id, intent, uses) "
     "SELECT * FROM (SELECT unnest ($1::text[]) AS shop, unnest ($2::int8[]) AS h, "
     "unnest ($3::text[]) AS agent, unnest ($4::int8[]) AS phrase, unnest ($5::int2[]) AS i, "
     "unnest ($6::int8[]) AS n) AS x "
     "ON CONFLICT (shop_id, hour_ms, agent_id, phrase_id) DO UPDATE SET uses = p.uses + "
     "EXCLUDED.uses"},
    {"metrics_desk_read_phrases",
     "SELECT agent_id, phrase_id, max (intent), sum (uses)::int8 FROM metrics_phrase_hours "
     "WHERE shop_id = $1 AND hour_ms >= $2::int8 AND hour_ms < $3::int8 "
     "AND ($4::text IS NULL OR agent_id = $4) "
     "GROUP BY agent_id, phrase_id ORDER BY agent_id, phrase_id"},
    {"metrics_desk_add_inquiries",
     "INSERT INTO metrics_inquiries (shop_id, hour_ms, customer, agent_id) "
     "SELECT * FROM (SELECT unnest ($1::text[]) AS shop, unnest ($2::int8[]) AS h, "
     "unnest ($3::text[]) AS customer, unnest ($4::text[]) AS agent) AS x ON CONFLICT DO NOTHING"},
    //  A time is the first one seen; an older row's wins.
    {"metrics_desk_upsert_orders",
     "INSERT INTO metrics_order_desk AS o (shop_id, order_id, customer, agent_id, amount_cents, "
     "  created_ms, paid_ms, shipped_ms, late_ms, reminded_ms, reminded_by_hand, cancelled) "
     "SELECT * FROM (SELECT unnest ($1::text[]) AS shop, unnest ($2::text[]) AS id, "
     "unnest ($3::text[]) AS customer, unnest ($4::text[]) AS agent, unnest ($5::int8[]) AS a, "
     "unnest ($6::int8[]) AS c, unnest ($7::int8[]) AS p, unnest ($8::int8[]) AS s, "
     "unnest ($9::int8[]) AS l, unnest ($10::int8[]) AS r, unnest ($11::bool[]) AS h, "
     "unnest ($12::bool[]) AS x) AS t "
     "ON CONFLICT (shop_id, order_id) DO UPDATE SET "
     "customer = coalesce (EXCLUDED.customer, o.customer), "
     "agent_id = coalesce (EXCLUDED.agent_id, o.agent_id), "
     "amount_cents = CASE WHEN EXCLUDED.amount_cents > 0 THEN EXCLUDED.amount_cents "
     "  ELSE o.amount_cents END, "
     "created_ms = CASE WHEN o.created_ms <> 0 THEN o.created_ms ELSE EXCLUDED.created_ms END, "
     "paid_ms = CASE WHEN o.paid_ms <> 0 THEN o.paid_ms ELSE EXCLUDED.paid_ms END, "
     "shipped_ms = CASE WHEN o.shipped_ms <> 0 THEN o.shipped_ms ELSE EXCLUDED.shipped_ms END, "
     "late_ms = CASE WHEN o.late_ms <> 0 THEN o.late_ms ELSE EXCLUDED.late_ms END, "
     "reminded_by_hand = CASE WHEN o.reminded_ms <> 0 THEN o.reminded_by_hand "
     "  ELSE EXCLUDED.reminded_by_hand END, "
     "reminded_ms = CASE WHEN o.reminded_ms <> 0 THEN o.reminded_ms ELSE EXCLUDED.reminded_ms END, "
     "cancelled = o.cancelled OR EXCLUDED.cancelled"},
    {"metrics_desk_upsert_cases",
     "INSERT INTO metrics_cases AS c (shop_id, case_id, review, opened_ms, closed_ms, overdue_ms, "
     "  carried_ms, revisited_ms, compensation_cents) "
     "SELECT * FROM (SELECT unnest ($1::text[]) AS shop, unnest ($2::int8[]) AS id, "
     "unnest ($3::bool[]) AS r, unnest ($4::int8[]) AS o, unnest ($5::int8[]) AS c, "
     "unnest ($6::int8[]) AS d, unnest ($7::int8[]) AS e, unnest ($8::int8[]) AS v, "
     "unnest ($9::int8[]) AS m) AS t "
     "ON CONFLICT (shop_id, case_id) DO UPDATE SET review = c.review OR EXCLUDED.review, "
     "opened_ms = CASE WHEN c.opened_ms <> 0 THEN c.opened_ms ELSE EXCLUDED.opened_ms END, "
     "closed_ms = CASE WHEN c.closed_ms <> 0 THEN c.closed_ms ELSE EXCLUDED.closed_ms END, "
     "overdue_ms = CASE WHEN c.overdue_ms <> 0 THEN c.overdue_ms ELSE EXCLUDED.overdue_ms END, "
     "carried_ms = CASE WHEN c.carried_ms <> 0 THEN c.carried_ms ELSE EXCLUDED.carried_ms END, "
     "revisited_ms = CASE WHEN c.revisited_ms <> 0 THEN c.revisited_ms "
     "  ELSE EXCLUDED.revisited_ms END, "
     "compensation_cents = CASE WHEN EXCLUDED.compensation_cents > 0 "
     "  THEN EXCLUDED.compensation_cents ELSE c.compensation_cents END"},
    //  $1 shop, [$2, $3) the period.
    {"metrics_desk_read_orders",
     "WITH inq AS (SELECT DISTINCT customer FROM metrics_inquiries WHERE shop_id = $1 "
     "  AND hour_ms >= $2::int8 AND hour_ms < $3::int8 AND agent_id = ''), "
     "ord AS (SELECT customer, bool_or (paid_ms <> 0) AS paid FROM metrics_order_desk "
     "  WHERE shop_id = $1 AND created_ms >= $2::int8 AND created_ms < $3::int8 "
     "  AND agent_id <> '' AND customer IS NOT NULL GROUP BY customer), "
     "o AS (SELECT * FROM metrics_order_desk WHERE shop_id = $1) "
     "SELECT (SELECT count (*) FROM inq), "
     "(SELECT count (*) FROM inq JOIN ord USING (customer)), "
     "(SELECT count (*) FROM inq JOIN ord USING (customer) WHERE ord.paid), "
     "count (*) FILTER (WHERE created_ms >= $2::int8 AND created_ms < $3::int8), "
     "count (*) FILTER (WHERE created_ms >= $2::int8 AND created_ms < $3::int8 "
     "  AND agent_id <> ''), "
     "coalesce (sum (amount_cents) FILTER (WHERE paid_ms >= $2::int8 AND paid_ms < $3::int8 "
     "  AND agent_id <> '' AND NOT cancelled), 0)::int8, "
     "count (*) FILTER (WHERE paid_ms >= $2::int8 AND paid_ms < $3::int8 "
     "  AND agent_id <> '' AND NOT cancelled), "
     "count (*) FILTER (WHERE (late_ms <> 0 AND late_ms >= $2::int8 AND late_ms < $3::int8) "
     "  OR (late_ms = 0 AND shipped_ms <> 0 AND shipped_ms >= $2::int8 "
     "  AND shipped_ms < $3::int8)), "
     "count (*) FILTER (WHERE late_ms = 0 AND shipped_ms <> 0 AND shipped_ms >= $2::int8 "
     "  AND shipped_ms < $3::int8), "
     "count (*) FILTER (WHERE reminded_ms >= $2::int8 AND reminded_ms < $3::int8 "
     "  AND reminded_ms <> 0 AND NOT reminded_by_hand), "
     "count (*) FILTER (WHERE reminded_ms >= $2::int8 AND reminded_ms < $3::int8 "
     "  AND reminded_ms <> 0 AND reminded_by_hand) "
     "FROM o"},
    {"metrics_desk_read_agent_orders",
     "WITH served AS (SELECT DISTINCT agent_id, customer FROM metrics_inquiries "
     "  WHERE shop_id = $1 AND hour_ms >= $2::int8 AND hour_ms < $3::int8 AND agent_id <> ''), "
     "ord AS (SELECT agent_id, customer, bool_or (paid_ms <> 0) AS paid, count (*) AS n "
     "  FROM metrics_order_desk WHERE shop_id = $1 AND created_ms >= $2::int8 "
     "  AND created_ms < $3::int8 AND agent_id <> '' GROUP BY agent_id, customer), "
     "sales AS (SELECT agent_id, sum (amount_cents) AS cents, count (*) AS n "
     "  FROM metrics_order_desk WHERE shop_id = $1 AND paid_ms >= $2::int8 "
     "  AND paid_ms < $3::int8 AND agent_id <> '' AND NOT cancelled GROUP BY agent_id), "
     "agents AS (SELECT agent_id FROM served UNION SELECT agent_id FROM ord "
     "  UNION SELECT agent_id FROM sales) "
     "SELECT a.agent_id, "
     "(SELECT count (*) FROM served s WHERE s.agent_id = a.agent_id), "
     "(SELECT count (*) FROM served s JOIN ord o USING (agent_id, customer) "
     "  WHERE s.agent_id = a.agent_id), "
     "(SELECT count (*) FROM served s JOIN ord o USING (agent_id, customer) "
     "  WHERE s.agent_id = a.agent_id AND o.paid), "
     "(SELECT coalesce (sum (n), 0)::int8 FROM ord o WHERE o.agent_id = a.agent_id), "
     "coalesce ((SELECT cents FROM sales s WHERE s.agent_id = a.agent_id), 0)::int8, "
     "coalesce ((SELECT n FROM sales s WHERE s.agent_id = a.agent_id), 0)::int8 "
     "FROM agents a ORDER BY a.agent_id"},
    //  $4 now: a revisit's 3 days are over.
    {"metrics_desk_read_cases",
     "SELECT review, "
     "count (*) FILTER (WHERE opened_ms >= $2::int8 AND opened_ms < $3::int8), "
     "count (*) FILTER (WHERE closed_ms >= $2::int8 AND closed_ms < $3::int8), "
     "count (*) FILTER (WHERE overdue_ms >= $2::int8 AND overdue_ms < $3::int8), "
     "count (*) FILTER (WHERE opened_ms <> 0 AND opened_ms < $3::int8 "
     "  AND (closed_ms = 0 OR closed_ms >= $3::int8)), "
     "count (*) FILTER (WHERE carried_ms >= $2::int8 AND carried_ms < $3::int8), "
     "count (*) FILTER (WHERE carried_ms >= $2::int8 AND carried_ms < $3::int8 "
     "  AND (revisited_ms <> 0 OR carried_ms + 259200000 <= $4::int8)), "
     "count (*) FILTER (WHERE carried_ms >= $2::int8 AND carried_ms < $3::int8 "
     "  AND revisited_ms <> 0 AND revisited_ms - carried_ms <= 259200000), "
     "coalesce (sum (compensation_cents) FILTER (WHERE carried_ms >= $2::int8 "
     "  AND carried_ms < $3::int8), 0)::int8 "
     "FROM metrics_cases WHERE shop_id = $1 GROUP BY review"},
    {NULL, NULL}};

void
metrics_desk_store_register (kf_store_t *store)
{
    kf_store_add_statements (store, s_statements);
}

//  ---------------------------------------------------------------------
//  Writes

typedef struct {
    char shop_id[65];                  //  shop
    int64_t hour_ms;                   //  UTC hour
    char agent_id[METRICS_ID_MAX + 1]; //  who
    int64_t phrase_id;                 //  which phrase
    int intent;                        //  its intent
    int64_t uses;                      //  added in this transaction
} s_phrase_row_t;

typedef struct {
    char shop_id[65];                   //  shop
    int64_t hour_ms;                    //  UTC hour
    char customer[METRICS_ID_MAX + 16]; //  channel:id
    char agent_id[METRICS_ID_MAX + 1];  //  "" the customer
} s_inquiry_row_t;

typedef struct {
    char shop_id[65];                   //  shop
    char order_id[METRICS_ID_MAX + 1];  //  the order
    bool has_customer;                  //  customer said
    char customer[METRICS_ID_MAX + 16]; //
    bool has_agent;                     //  credited agent said
    char agent_id[METRICS_ID_MAX + 1];  //
    metrics_desk_order_t o;             //  times and flags (strings unused)
} s_order_row_t;

typedef struct {
    char shop_id[65];      //  shop
    metrics_desk_case_t c; //  merged change
} s_case_row_t;

struct _metrics_desk_writes_t {
    zhashx_t *phrases;   //  "shop\x1fhour\x1fagent\x1fphrase" -> s_phrase_row_t
    zhashx_t *inquiries; //  "shop\x1fhour\x1fcustomer\x1fagent" -> s_inquiry_row_t
    zhashx_t *orders;    //  "shop\x1forder" -> s_order_row_t
    zhashx_t *cases;     //  "shop\x1fcase" -> s_case_row_t
};

static void
s_free (void **item_p)
{
    free (*item_p);
    *item_p = NULL;
}

metrics_desk_writes_t *
metrics_desk_writes_new (void)
{
    metrics_desk_writes_t *self = calloc (1, sizeof *self);
    assert (self);
    zhashx_t **maps[] = {&self->phrases, &self->inquiries, &self->orders, &self->cases};
    for (size_t i = 0; i < sizeof maps / sizeof maps[0]; i++) {
        *maps[i] = zhashx_new ();
        zhashx_set_destructor (*maps[i], s_free);
    }
    return self;
}

void
metrics_desk_writes_destroy (metrics_desk_writes_t **self_p)
{
    if (self_p && *self_p) {
        metrics_desk_writes_t *self = *self_p;
        zhashx_destroy (&self->phrases);
        zhashx_destroy (&self->inquiries);
        zhashx_destroy (&self->orders);
        zhashx_destroy (&self->cases);
        free (self);
        *self_p = NULL;
    }
}

void
metrics_desk_writes_clear (metrics_desk_writes_t *self)
{
    zhashx_purge (self->phrases);
    zhashx_purge (self->inquiries);
    zhashx_purge (self->orders);
    zhashx_purge (self->cases);
}

//  The row of key in map, created zeroed with its shop (size bytes).
static void *
s_row (zhashx_t *map, const char *key, const char *shop_id, size_t size)
{
    char *row = zhashx_lookup (map, key);
    if (!row) {
        row = calloc (1, size);
        assert (row);
        snprintf (row, 65, "%s", shop_id); //  every row begins with its shop
        zhashx_insert (map, key, row);
    }
    return row;
}

static int64_t
s_hour (int64_t ms)
{
    int64_t hour = ms / METRICS_HOUR_MS * METRICS_HOUR_MS;
    return ms < 0 && ms % METRICS_HOUR_MS ? hour - METRICS_HOUR_MS : hour;
}

void
metrics_desk_writes_inquiry (metrics_desk_writes_t *self, const char *shop_id, int64_t at_ms,
                             const char *customer, const char *agent_id)
{
    char key[512];
    int64_t hour = s_hour (at_ms);
    snprintf (key, sizeof key, "%s\x1f%" PRId64 "\x1f%s\x1f%s", shop_id, hour, customer, agent_id);
    s_inquiry_row_t *r = s_row (self->inquiries, key, shop_id, sizeof *r);
    r->hour_ms = hour;
    snprintf (r->customer, sizeof r->customer, "%s", customer);
    snprintf (r->agent_id, sizeof r->agent_id, "%s", agent_id);
}

//  *into keeps the first non-zero time.
static void
s_first (int64_t *into, int64_t ms)
{
    if (!*into)
        *into = ms;
}

void
metrics_desk_writes_order (metrics_desk_writes_t *self, const char *shop_id,
                           const metrics_desk_order_t *change)
{
    char key[256];
    snprintf (key, sizeof key, "%s\x1f%s", shop_id, change->order_id);
    s_order_row_t *r = s_row (self->orders, key, shop_id, sizeof *r);
    snprintf (r->order_id, sizeof r->order_id, "%s", change->order_id);
    if (change->customer) {
        r->has_customer = true;
        snprintf (r->customer, sizeof r->customer, "%s", change->customer);
    }
    if (change->agent_id) {
        r->has_agent = true;
        snprintf (r->agent_id, sizeof r->agent_id, "%s", change->agent_id);
    }
    if (change->amount_cents > 0)
        r->o.amount_cents = change->amount_cents;
    s_first (&r->o.created_ms, change->created_ms);
    s_first (&r->o.paid_ms, change->paid_ms);
    s_first (&r->o.shipped_ms, change->shipped_ms);
    s_first (&r->o.late_ms, change->late_ms);
    if (!r->o.reminded_ms && change->reminded_ms) {
        r->o.reminded_ms = change->reminded_ms;
        r->o.reminded_by_hand = change->reminded_by_hand;
    }
    r->o.cancelled = r->o.cancelled || change->cancelled;
}

void
metrics_desk_writes_case (metrics_desk_writes_t *self, const char *shop_id,
                          const metrics_desk_case_t *change)
{
    char key[128];
    snprintf (key, sizeof key, "%s\x1f%" PRId64, shop_id, change->case_id);
    s_case_row_t *r = s_row (self->cases, key, shop_id, sizeof *r);
    r->c.case_id = change->case_id;
    r->c.review = r->c.review || change->review;
    s_first (&r->c.opened_ms, change->opened_ms);
    s_first (&r->c.closed_ms, change->closed_ms);
    s_first (&r->c.overdue_ms, change->overdue_ms);
    s_first (&r->c.carried_ms, change->carried_ms);
    s_first (&r->c.revisited_ms, change->revisited_ms);
    if (change->compensation_cents > 0)
        r->c.compensation_cents = change->compensation_cents;
}

static int64_t s_hour (int64_t ms);

void
metrics_desk_writes_phrase (metrics_desk_writes_t *self, const char *shop_id, int64_t at_ms,
                            const char *agent_id, int64_t phrase_id, int intent)
{
    int64_t hour = s_hour (at_ms);
    char key[256];
    snprintf (key, sizeof key, "%s\x1f%" PRId64 "\x1f%s\x1f%" PRId64, shop_id, hour, agent_id,
              phrase_id);
    s_phrase_row_t *r = zhashx_lookup (self->phrases, key);
    if (!r) {
        r = calloc (1, sizeof *r);
        assert (r);
        snprintf (r->shop_id, sizeof r->shop_id, "%s", shop_id);
        snprintf (r->agent_id, sizeof r->agent_id, "%s", agent_id);
        r->hour_ms = hour;
        r->phrase_id = phrase_id;
        r->intent = intent;
        zhashx_insert (self->phrases, key, r);
    }
    r->uses++;
}

void
metrics_desk_writes_queue (metrics_desk_writes_t *self, kf_store_t *store)
{
    kf_col_type_t types[] = {KF_COL_TEXT, KF_COL_INT8, KF_COL_TEXT,
                             KF_COL_INT8, KF_COL_INT2, KF_COL_INT8};
    kf_batch_t *b = kf_batch_new (6, types);
    for (s_phrase_row_t *r = zhashx_first (self->phrases); r; r = zhashx_next (self->phrases)) {
        kf_batch_str (b, 0, r->shop_id);
        kf_batch_int (b, 1, r->hour_ms);
        kf_batch_str (b, 2, r->agent_id);
        kf_batch_int (b, 3, r->phrase_id);
        kf_batch_int (b, 4, r->intent);
        kf_batch_int (b, 5, r->uses);
    }
    kf_batch_pipeline_add (&b, store, "metrics_desk_add_phrases");

    kf_col_type_t inquiry_types[] = {KF_COL_TEXT, KF_COL_INT8, KF_COL_TEXT, KF_COL_TEXT};
    b = kf_batch_new (4, inquiry_types);
    for (s_inquiry_row_t *r = zhashx_first (self->inquiries); r;
         r = zhashx_next (self->inquiries)) {
        kf_batch_str (b, 0, r->shop_id);
        kf_batch_int (b, 1, r->hour_ms);
        kf_batch_str (b, 2, r->customer);
        kf_batch_str (b, 3, r->agent_id);
    }
    kf_batch_pipeline_add (&b, store, "metrics_desk_add_inquiries");

    kf_col_type_t order_types[] = {KF_COL_TEXT, KF_COL_TEXT, KF_COL_TEXT, KF_COL_TEXT,
                                   KF_COL_INT8, KF_COL_INT8, KF_COL_INT8, KF_COL_INT8,
                                   KF_COL_INT8, KF_COL_INT8, KF_COL_BOOL, KF_COL_BOOL};
    b = kf_batch_new (12, order_types);
    for (s_order_row_t *r = zhashx_first (self->orders); r; r = zhashx_next (self->orders)) {
        kf_batch_str (b, 0, r->shop_id);
        kf_batch_str (b, 1, r->order_id);
        if (r->has_customer)
            kf_batch_str (b, 2, r->customer);
        else
            kf_batch_null (b, 2);
        if (r->has_agent)
            kf_batch_str (b, 3, r->agent_id);
        else
            kf_batch_null (b, 3);
        const int64_t v[] = {r->o.amount_cents, r->o.created_ms, r->o.paid_ms,
                             r->o.shipped_ms,   r->o.late_ms,    r->o.reminded_ms};
        for (int i = 0; i < 6; i++)
            kf_batch_int (b, 4 + i, v[i]);
        kf_batch_bool (b, 10, r->o.reminded_by_hand);
        kf_batch_bool (b, 11, r->o.cancelled);
    }
    kf_batch_pipeline_add (&b, store, "metrics_desk_upsert_orders");

    kf_col_type_t case_types[] = {KF_COL_TEXT, KF_COL_INT8, KF_COL_BOOL, KF_COL_INT8, KF_COL_INT8,
                                  KF_COL_INT8, KF_COL_INT8, KF_COL_INT8, KF_COL_INT8};
    b = kf_batch_new (9, case_types);
    for (s_case_row_t *r = zhashx_first (self->cases); r; r = zhashx_next (self->cases)) {
        kf_batch_str (b, 0, r->shop_id);
        kf_batch_int (b, 1, r->c.case_id);
        kf_batch_bool (b, 2, r->c.review);
        const int64_t v[] = {r->c.opened_ms,  r->c.closed_ms,    r->c.overdue_ms,
                             r->c.carried_ms, r->c.revisited_ms, r->c.compensation_cents};
        for (int i = 0; i < 6; i++)
            kf_batch_int (b, 3 + i, v[i]);
    }
    kf_batch_pipeline_add (&b, store, "metrics_desk_upsert_cases");
    metrics_desk_writes_clear (self);
}

//  ---------------------------------------------------------------------
//  Reading

static void s_period (kf_params_t *params, const char *shop_id, int64_t from_ms, int64_t to_ms);

typedef struct {
    metrics_phrase_use_fn *fn; //  the caller's
    void *arg;                 //  ... and its argument
} s_read_t;

static int
s_on_phrases (const PGresult *res, void *arg)
{
    s_read_t *read = arg;
    for (int r = 0; r < PQntuples (res); r++)
        read->fn (read->arg, kf_store_text (res, r, 0), kf_store_int (res, r, 1),
                  (int) kf_store_int (res, r, 2), kf_store_int (res, r, 3));
    return 0;
}

int
metrics_desk_store_phrases (kf_store_t *store, const char *shop_id, int64_t from_ms, int64_t to_ms,
                            const char *agent, metrics_phrase_use_fn *fn, void *arg,
                            kf_error_t *err)
{
    kf_params_t params;
    s_period (&params, shop_id, from_ms, to_ms);
    if (agent)
        kf_params_str (&params, agent);
    else
        kf_params_null (&params);
    s_read_t read = {fn, arg};
    return kf_store_exec (store, "metrics_desk_read_phrases", &params, s_on_phrases, &read, err);
}

//  [shop, from, to] as parameters.
static void
s_period (kf_params_t *params, const char *shop_id, int64_t from_ms, int64_t to_ms)
{
    kf_params_init (params);
    kf_params_str (params, shop_id);
    kf_params_int (params, from_ms);
    kf_params_int (params, to_ms);
}

static int
s_on_orders (const PGresult *res, void *arg)
{
    metrics_desk_orders_t *o = arg;
    memset (o, 0, sizeof *o);
    if (PQntuples (res) < 1)
        return 0;
    int64_t *fields[] = {&o->inquiring, &o->ordered,     &o->ordered_paid,  &o->created,
                         &o->credited,  &o->sales_cents, &o->sales_orders,  &o->due,
                         &o->on_time,   &o->reminders,   &o->reminders_hand};
    for (int c = 0; c < (int) (sizeof fields / sizeof fields[0]); c++)
        *fields[c] = kf_store_int (res, 0, c);
    return 0;
}

int
metrics_desk_store_orders (kf_store_t *store, const char *shop_id, int64_t from_ms, int64_t to_ms,
                           metrics_desk_orders_t *out, kf_error_t *err)
{
    kf_params_t params;
    s_period (&params, shop_id, from_ms, to_ms);
    return kf_store_exec (store, "metrics_desk_read_orders", &params, s_on_orders, out, err);
}

typedef struct {
    metrics_desk_agent_fn *fn; //  the caller's
    void *arg;                 //  ... and its argument
} s_agents_t;

static int
s_on_agent_orders (const PGresult *res, void *arg)
{
    s_agents_t *a = arg;
    for (int r = 0; r < PQntuples (res); r++) {
        metrics_desk_agent_orders_t row = {kf_store_text (res, r, 0), kf_store_int (res, r, 1),
                                           kf_store_int (res, r, 2),  kf_store_int (res, r, 3),
                                           kf_store_int (res, r, 4),  kf_store_int (res, r, 5),
                                           kf_store_int (res, r, 6)};
        a->fn (a->arg, &row);
    }
    return 0;
}

int
metrics_desk_store_agent_orders (kf_store_t *store, const char *shop_id, int64_t from_ms,
                                 int64_t to_ms, metrics_desk_agent_fn *fn, void *arg,
                                 kf_error_t *err)
{
    kf_params_t params;
    s_period (&params, shop_id, from_ms, to_ms);
    s_agents_t a = {fn, arg};
    return kf_store_exec (store, "metrics_desk_read_agent_orders", &params, s_on_agent_orders, &a,
                          err);
}

static int
s_on_cases (const PGresult *res, void *arg)
{
    metrics_desk_cases_t *out = arg;
    for (int r = 0; r < PQntuples (res); r++) {
        metrics_desk_cases_t *c = &out[strcmp (kf_store_text (res, r, 0), "t") == 0 ? 1 : 0];
        int64_t *fields[] = {
            &c->opened,      &c->closed,         &c->overdue,         &c->open_at_end,
            &c->carried_out, &c->revisit_judged, &c->revisited_in_3d, &c->compensation_cents};
        for (int f = 0; f < (int) (sizeof fields / sizeof fields[0]); f++)
            *fields[f] = kf_store_int (res, r, 1 + f);
    }
    return 0;
}

int
metrics_desk_store_cases (kf_store_t *store, const char *shop_id, int64_t from_ms, int64_t to_ms,
                          int64_t now_ms, metrics_desk_cases_t out[2], kf_error_t *err)
{
    memset (out, 0, 2 * sizeof *out);
    kf_params_t params;
    s_period (&params, shop_id, from_ms, to_ms);
    kf_params_int (&params, now_ms);
    return kf_store_exec (store, "metrics_desk_read_cases", &params, s_on_cases, out, err);
}
