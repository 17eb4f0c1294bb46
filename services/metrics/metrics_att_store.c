/*  metrics_att_store — metrics' attendance tables. */
#include "metrics_att_store.h"

#include "kf_batch.h"
#include "metrics_rows.h"

#include <czmq.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static const kf_stmt_t s_statements[] = {
    {"metrics_att_upsert_spans",
     "INSERT INTO metrics_att_spans AS s (shop_id, agent_id, from_ms, to_ms) "
     "SELECT * FROM (SELECT unnest ($1::text[]) AS shop, unnest ($2::text[]) AS agent, "
     "unnest ($3::int8[]) AS f, unnest ($4::int8[]) AS t) AS x "
     "ON CONFLICT (shop_id, agent_id, from_ms) DO UPDATE SET to_ms = EXCLUDED.to_ms"},
    {"metrics_att_insert_replies",
     "INSERT INTO metrics_att_replies (shop_id, agent_id, minute_ms) "
     "SELECT * FROM (SELECT unnest ($1::text[]) AS shop, unnest ($2::text[]) AS agent, "
     "unnest ($3::int8[]) AS m) AS x ON CONFLICT DO NOTHING"},
    {"metrics_att_upsert_rounds",
     "INSERT INTO metrics_att_rounds AS r (shop_id, conversation_id, started_ms, answered_ms) "
     "SELECT * FROM (SELECT unnest ($1::text[]) AS shop, unnest ($2::int8[]) AS conv, "
     "unnest ($3::int8[]) AS s, unnest ($4::int8[]) AS a) AS x "
     "ON CONFLICT (shop_id, conversation_id, started_ms) DO UPDATE "
     "SET answered_ms = EXCLUDED.answered_ms"},
    //  A version equal to the one in force before it is not a change.
    {"metrics_att_insert_schedule",
     "INSERT INTO metrics_att_schedules (shop_id, from_ms, schedule) "
     "SELECT $1::text, $2::int8, $3::text WHERE $3::text IS DISTINCT FROM "
     "  (SELECT schedule FROM metrics_att_schedules WHERE shop_id = $1 AND from_ms <= $2 "
     "   ORDER BY from_ms DESC LIMIT 1) "
     "ON CONFLICT (shop_id, from_ms) DO UPDATE SET schedule = EXCLUDED.schedule"},
    {"metrics_att_open_spans", "SELECT shop_id, agent_id, from_ms FROM metrics_att_spans "
                               "WHERE to_ms = 0"},
    {"metrics_att_open_rounds",
     "SELECT r.shop_id, r.conversation_id, r.started_ms FROM metrics_att_rounds r "
     "JOIN metrics_conversations c ON c.shop_id = r.shop_id "
     "  AND c.conversation_id = r.conversation_id AND NOT c.closed "
     "WHERE r.answered_ms = 0"},
    {"metrics_att_read_schedules", "SELECT from_ms, schedule FROM metrics_att_schedules "
                                   "WHERE shop_id = $1 ORDER BY from_ms"},
    {"metrics_att_read_spans",
     "SELECT agent_id, from_ms, to_ms FROM metrics_att_spans WHERE shop_id = $1 "
     "AND from_ms < $3::int8 AND (to_ms = 0 OR to_ms > $2::int8)"},
    {"metrics_att_read_replies",
     "SELECT agent_id, minute_ms FROM metrics_att_replies WHERE shop_id = $1 "
     "AND minute_ms >= $2::int8 AND minute_ms < $3::int8"},
    {"metrics_att_read_rounds",
     "SELECT conversation_id, started_ms, answered_ms FROM metrics_att_rounds "
     "WHERE shop_id = $1 AND started_ms >= $2::int8 AND started_ms < $3::int8"},
    {"metrics_att_read_settings",
     "SELECT late_grace_min, early_grace_min FROM metrics_attendance_settings "
     "WHERE shop_id = $1"},
    {"metrics_att_write_settings",
     "INSERT INTO metrics_attendance_settings (shop_id, late_grace_min, early_grace_min, "
     "  updated_by) VALUES ($1, $2::int4, $3::int4, $4) "
     "ON CONFLICT (shop_id) DO UPDATE SET late_grace_min = EXCLUDED.late_grace_min, "
     "  early_grace_min = EXCLUDED.early_grace_min, updated_by = EXCLUDED.updated_by, "
     "  updated_at = now ()"},
    {"metrics_att_read_marks",
     "SELECT s.shop_id, coalesce (p.upto_ms, min (s.from_ms)) FROM metrics_att_schedules s "
     "LEFT JOIN metrics_att_published p ON p.shop_id = s.shop_id "
     "GROUP BY s.shop_id, p.upto_ms ORDER BY s.shop_id"},
    {"metrics_att_write_mark",
     "INSERT INTO metrics_att_published (shop_id, upto_ms) VALUES ($1, $2::int8) "
     "ON CONFLICT (shop_id) DO UPDATE SET upto_ms = EXCLUDED.upto_ms"},
    {NULL, NULL}};

void
metrics_att_store_register (kf_store_t *store)
{
    kf_store_add_statements (store, s_statements);
}

//  ---------------------------------------------------------------------
//  Writes

typedef struct {
    char shop_id[65];        //  shop
    metrics_att_span_t span; //  latest state
} s_span_row_t;

typedef struct {
    char shop_id[65];          //  shop
    metrics_att_reply_t reply; //  the minute
} s_reply_row_t;

typedef struct {
    char shop_id[65];          //  shop
    metrics_att_round_t round; //  latest state
} s_round_row_t;

typedef struct {
    char shop_id[65]; //  shop
    int64_t from_ms;  //  in force from
    char *schedule;   //  JSON, owned
} s_schedule_row_t;

struct _metrics_att_writes_t {
    zhashx_t *spans;     //  "shop\x1fagent\x1ffrom" -> s_span_row_t
    zhashx_t *replies;   //  "shop\x1fagent\x1fminute" -> s_reply_row_t
    zhashx_t *rounds;    //  "shop\x1fconv\x1fstarted" -> s_round_row_t
    zlistx_t *schedules; //  s_schedule_row_t, in event order
};

static void
s_schedule_free (void **item_p)
{
    s_schedule_row_t *r = *item_p;
    if (r) {
        free (r->schedule);
        free (r);
        *item_p = NULL;
    }
}

metrics_att_writes_t *
metrics_att_writes_new (void)
{
    metrics_att_writes_t *self = calloc (1, sizeof *self);
    assert (self);
    self->spans = metrics_rows_new ();
    self->replies = metrics_rows_new ();
    self->rounds = metrics_rows_new ();
    self->schedules = zlistx_new ();
    zlistx_set_destructor (self->schedules, (czmq_destructor *) s_schedule_free);
    return self;
}

void
metrics_att_writes_destroy (metrics_att_writes_t **self_p)
{
    if (self_p && *self_p) {
        metrics_att_writes_t *self = *self_p;
        zhashx_destroy (&self->spans);
        zhashx_destroy (&self->replies);
        zhashx_destroy (&self->rounds);
        zlistx_destroy (&self->schedules);
        free (self);
        *self_p = NULL;
    }
}

void
metrics_att_writes_clear (metrics_att_writes_t *self)
{
    zhashx_purge (self->spans);
    zhashx_purge (self->replies);
    zhashx_purge (self->rounds);
    zlistx_purge (self->schedules);
}

static void
s_on_span (void *arg, const char *shop_id, const metrics_att_span_t *span)
{
    metrics_att_writes_t *self = arg;
    char key[256];
    snprintf (key, sizeof key, "%s\x1f%s\x1f%" PRId64, shop_id, span->agent_id, span->from_ms);
    s_span_row_t *r = metrics_rows_get (self->spans, key, shop_id, sizeof *r);
    r->span = *span;
}

static void
s_on_reply (void *arg, const char *shop_id, const metrics_att_reply_t *reply)
{
    metrics_att_writes_t *self = arg;
    char key[256];
    snprintf (key, sizeof key, "%s\x1f%s\x1f%" PRId64, shop_id, reply->agent_id, reply->minute_ms);
    s_reply_row_t *r = metrics_rows_get (self->replies, key, shop_id, sizeof *r);
    r->reply = *reply;
}

static void
s_on_round (void *arg, const char *shop_id, const metrics_att_round_t *round)
{
    metrics_att_writes_t *self = arg;
    char key[128];
    snprintf (key, sizeof key, "%s\x1f%" PRId64 "\x1f%" PRId64, shop_id, round->conversation_id,
              round->started_ms);
    s_round_row_t *r = metrics_rows_get (self->rounds, key, shop_id, sizeof *r);
    r->round = *round;
}

metrics_att_sink_t
metrics_att_writes_sink (metrics_att_writes_t *self)
{
    return (metrics_att_sink_t){s_on_span, s_on_reply, s_on_round, self};
}

void
metrics_att_writes_schedule (metrics_att_writes_t *self, const char *shop_id,
                             const metrics_att_schedule_t *schedule)
{
    s_schedule_row_t *r = calloc (1, sizeof *r);
    assert (r);
    snprintf (r->shop_id, sizeof r->shop_id, "%s", shop_id);
    r->from_ms = schedule->from_ms;
    r->schedule = metrics_att_schedule_to_json (schedule);
    zlistx_add_end (self->schedules, r);
}

void
metrics_att_writes_queue (metrics_att_writes_t *self, kf_store_t *store)
{
    kf_col_type_t span_types[] = {KF_COL_TEXT, KF_COL_TEXT, KF_COL_INT8, KF_COL_INT8};
    kf_batch_t *b = kf_batch_new (4, span_types);
    for (s_span_row_t *r = zhashx_first (self->spans); r; r = zhashx_next (self->spans)) {
        kf_batch_str (b, 0, r->shop_id);
        kf_batch_str (b, 1, r->span.agent_id);
        kf_batch_int (b, 2, r->span.from_ms);
        kf_batch_int (b, 3, r->span.to_ms);
    }
    kf_batch_pipeline_add (&b, store, "metrics_att_upsert_spans");

    kf_col_type_t reply_types[] = {KF_COL_TEXT, KF_COL_TEXT, KF_COL_INT8};
    b = kf_batch_new (3, reply_types);
    for (s_reply_row_t *r = zhashx_first (self->replies); r; r = zhashx_next (self->replies)) {
        kf_batch_str (b, 0, r->shop_id);
        kf_batch_str (b, 1, r->reply.agent_id);
        kf_batch_int (b, 2, r->reply.minute_ms);
    }
    kf_batch_pipeline_add (&b, store, "metrics_att_insert_replies");

    kf_col_type_t round_types[] = {KF_COL_TEXT, KF_COL_INT8, KF_COL_INT8, KF_COL_INT8};
    b = kf_batch_new (4, round_types);
    for (s_round_row_t *r = zhashx_first (self->rounds); r; r = zhashx_next (self->rounds)) {
        kf_batch_str (b, 0, r->shop_id);
        kf_batch_int (b, 1, r->round.conversation_id);
        kf_batch_int (b, 2, r->round.started_ms);
        kf_batch_int (b, 3, r->round.answered_ms);
    }
    kf_batch_pipeline_add (&b, store, "metrics_att_upsert_rounds");

    //  Schedules one by one, in order: each compares with the one before.
    for (s_schedule_row_t *r = zlistx_first (self->schedules); r;
         r = zlistx_next (self->schedules)) {
        kf_params_t params;
        kf_params_init (&params);
        kf_params_str (&params, r->shop_id);
        kf_params_int (&params, r->from_ms);
        kf_params_str (&params, r->schedule);
        kf_store_pipeline_add (store, "metrics_att_insert_schedule", &params, NULL, NULL);
    }
    metrics_att_writes_clear (self);
}

//  ---------------------------------------------------------------------
//  Loading

static int
s_on_open_spans (const PGresult *res, void *arg)
{
    for (int r = 0; r < PQntuples (res); r++)
        metrics_att_tracker_restore_span (arg, kf_store_text (res, r, 0), kf_store_text (res, r, 1),
                                          kf_store_int (res, r, 2));
    return 0;
}

static int
s_on_open_rounds (const PGresult *res, void *arg)
{
    for (int r = 0; r < PQntuples (res); r++)
        metrics_att_tracker_restore_round (arg, kf_store_text (res, r, 0), kf_store_int (res, r, 1),
                                           kf_store_int (res, r, 2));
    return 0;
}

int
metrics_att_store_load_open (kf_store_t *store, metrics_att_tracker_t *tracker, kf_error_t *err)
{
    return kf_store_exec (store, "metrics_att_open_spans", NULL, s_on_open_spans, tracker, err) ||
                   kf_store_exec (store, "metrics_att_open_rounds", NULL, s_on_open_rounds, tracker,
                                  err)
               ? -1
               : 0;
}

static int
s_on_schedules (const PGresult *res, void *arg)
{
    metrics_att_input_t *in = arg;
    int n = PQntuples (res);
    metrics_att_schedule_t **versions = calloc ((size_t) n + 1, sizeof *versions);
    assert (versions);
    int count = 0;
    for (int r = 0; r < n; r++) {
        metrics_att_schedule_t *s =
            metrics_att_schedule_from_json (kf_store_int (res, r, 0), kf_store_text (res, r, 1));
        if (s)
            versions[count++] = s;
    }
    in->versions = versions;
    in->version_count = count;
    return 0;
}

static int
s_on_spans (const PGresult *res, void *arg)
{
    metrics_att_input_t *in = arg;
    int n = PQntuples (res);
    metrics_att_span_t *spans = calloc ((size_t) n + 1, sizeof *spans);
    assert (spans);
    for (int r = 0; r < n; r++) {
        snprintf (spans[r].agent_id, sizeof spans[r].agent_id, "%s", kf_store_text (res, r, 0));
        spans[r].from_ms = kf_store_int (res, r, 1);
        spans[r].to_ms = kf_store_int (res, r, 2);
    }
    in->spans = spans;
    in->span_count = n;
    return 0;
}

static int
s_on_replies (const PGresult *res, void *arg)
{
    metrics_att_input_t *in = arg;
    int n = PQntuples (res);
    metrics_att_reply_t *replies = calloc ((size_t) n + 1, sizeof *replies);
    assert (replies);
    for (int r = 0; r < n; r++) {
        snprintf (replies[r].agent_id, sizeof replies[r].agent_id, "%s", kf_store_text (res, r, 0));
        replies[r].minute_ms = kf_store_int (res, r, 1);
    }
    in->replies = replies;
    in->reply_count = n;
    return 0;
}

static int
s_on_rounds (const PGresult *res, void *arg)
{
    metrics_att_input_t *in = arg;
    int n = PQntuples (res);
    metrics_att_round_t *rounds = calloc ((size_t) n + 1, sizeof *rounds);
    assert (rounds);
    for (int r = 0; r < n; r++)
        rounds[r] = (metrics_att_round_t){kf_store_int (res, r, 0), kf_store_int (res, r, 1),
                                          kf_store_int (res, r, 2)};
    in->rounds = rounds;
    in->round_count = n;
    return 0;
}

int
metrics_att_store_input (kf_store_t *store, const char *shop_id, int64_t from_ms, int64_t to_ms,
                         metrics_att_input_t *in, kf_error_t *err)
{
    memset (in, 0, sizeof *in);
    metrics_att_settings_default (&in->settings);
    kf_params_t shop;
    kf_params_init (&shop);
    kf_params_str (&shop, shop_id);
    kf_params_t range;
    kf_params_init (&range);
    kf_params_str (&range, shop_id);
    kf_params_int (&range, from_ms);
    kf_params_int (&range, to_ms);
    if (kf_store_exec (store, "metrics_att_read_schedules", &shop, s_on_schedules, in, err) ||
        kf_store_exec (store, "metrics_att_read_spans", &range, s_on_spans, in, err) ||
        kf_store_exec (store, "metrics_att_read_replies", &range, s_on_replies, in, err) ||
        kf_store_exec (store, "metrics_att_read_rounds", &range, s_on_rounds, in, err) ||
        metrics_att_store_settings (store, shop_id, &in->settings, err)) {
        metrics_att_input_free (in);
        return -1;
    }
    return 0;
}

void
metrics_att_input_free (metrics_att_input_t *in)
{
    for (int i = 0; i < in->version_count; i++) {
        metrics_att_schedule_t *s = in->versions[i];
        metrics_att_schedule_destroy (&s);
    }
    free ((void *) in->versions);
    free ((void *) in->spans);
    free ((void *) in->replies);
    free ((void *) in->rounds);
    memset (in, 0, sizeof *in);
}

static int
s_on_settings (const PGresult *res, void *arg)
{
    metrics_att_settings_t *out = arg;
    if (PQntuples (res) > 0) {
        out->late_grace_min = (int) kf_store_int (res, 0, 0);
        out->early_grace_min = (int) kf_store_int (res, 0, 1);
    }
    return 0;
}

int
metrics_att_store_settings (kf_store_t *store, const char *shop_id, metrics_att_settings_t *out,
                            kf_error_t *err)
{
    metrics_att_settings_default (out);
    kf_params_t params;
    kf_params_init (&params);
    kf_params_str (&params, shop_id);
    return kf_store_exec (store, "metrics_att_read_settings", &params, s_on_settings, out, err);
}

int
metrics_att_store_set_settings (kf_store_t *store, const char *shop_id,
                                const metrics_att_settings_t *settings, const char *by,
                                kf_error_t *err)
{
    kf_params_t params;
    kf_params_init (&params);
    kf_params_str (&params, shop_id);
    kf_params_int (&params, settings->late_grace_min);
    kf_params_int (&params, settings->early_grace_min);
    kf_params_str (&params, by);
    return kf_store_exec (store, "metrics_att_write_settings", &params, NULL, NULL, err);
}

//  ---------------------------------------------------------------------
//  Publication marks

typedef struct {
    metrics_att_mark_fn *fn; //  per shop
    void *arg;               //  its argument
} s_marks_t;

static int
s_on_marks (const PGresult *res, void *arg)
{
    s_marks_t *m = arg;
    for (int r = 0; r < PQntuples (res); r++)
        m->fn (m->arg, kf_store_text (res, r, 0), kf_store_int (res, r, 1));
    return 0;
}

int
metrics_att_store_marks (kf_store_t *store, metrics_att_mark_fn *fn, void *arg, kf_error_t *err)
{
    s_marks_t m = {fn, arg};
    return kf_store_exec (store, "metrics_att_read_marks", NULL, s_on_marks, &m, err);
}

int
metrics_att_store_set_mark (kf_store_t *store, const char *shop_id, int64_t upto_ms,
                            kf_error_t *err)
{
    kf_params_t params;
    kf_params_init (&params);
    kf_params_str (&params, shop_id);
    kf_params_int (&params, upto_ms);
    return kf_store_exec (store, "metrics_att_write_mark", &params, NULL, NULL, err);
}
