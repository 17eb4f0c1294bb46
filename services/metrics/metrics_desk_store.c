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

struct _metrics_desk_writes_t {
    zhashx_t *phrases; //  "shop\x1fhour\x1fagent\x1fphrase" -> s_phrase_row_t
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
    self->phrases = zhashx_new ();
    zhashx_set_destructor (self->phrases, s_free);
    return self;
}

void
metrics_desk_writes_destroy (metrics_desk_writes_t **self_p)
{
    if (self_p && *self_p) {
        metrics_desk_writes_t *self = *self_p;
        zhashx_destroy (&self->phrases);
        free (self);
        *self_p = NULL;
    }
}

void
metrics_desk_writes_clear (metrics_desk_writes_t *self)
{
    zhashx_purge (self->phrases);
}

void
metrics_desk_writes_phrase (metrics_desk_writes_t *self, const char *shop_id, int64_t at_ms,
                            const char *agent_id, int64_t phrase_id, int intent)
{
    int64_t hour = at_ms / METRICS_HOUR_MS * METRICS_HOUR_MS;
    if (at_ms < 0 && at_ms % METRICS_HOUR_MS)
        hour -= METRICS_HOUR_MS;
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
    metrics_desk_writes_clear (self);
}

//  ---------------------------------------------------------------------
//  Reading

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
    kf_params_init (&params);
    kf_params_str (&params, shop_id);
    kf_params_int (&params, from_ms);
    kf_params_int (&params, to_ms);
    if (agent)
        kf_params_str (&params, agent);
    else
        kf_params_null (&params);
    s_read_t read = {fn, arg};
    return kf_store_exec (store, "metrics_desk_read_phrases", &params, s_on_phrases, &read, err);
}
