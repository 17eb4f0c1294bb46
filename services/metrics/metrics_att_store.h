/*  metrics_att_store — the SQL of metrics' attendance tables (migration
    0034): the facts the tracker emits, written with the batch's offsets;
    what is open, loaded after a start; a day's input, read for a query;
    the shop's grace minutes. Registered by metrics_store_register; the
    rebuild's reset empties these tables with the others. */
#ifndef METRICS_ATT_STORE_H
#define METRICS_ATT_STORE_H

#include "kf_store.h"
#include "metrics_attendance.h"

void metrics_att_store_register (kf_store_t *store);

//  ---------------------------------------------------------------------
//  Writes of one transaction (the tracker's sink, and schedules)

typedef struct _metrics_att_writes_t metrics_att_writes_t;
//  Caller owns return value.
metrics_att_writes_t *metrics_att_writes_new (void);
void metrics_att_writes_destroy (metrics_att_writes_t **self_p);
//  The sink that collects into self (borrowed by the tracker).
metrics_att_sink_t metrics_att_writes_sink (metrics_att_writes_t *self);
//  A schedule version (kept only when it differs from the one in force
//  before it). Copied.
void metrics_att_writes_schedule (metrics_att_writes_t *self, const char *shop_id,
                                  const metrics_att_schedule_t *schedule);
//  Queue everything in the store's open pipeline and clear.
void metrics_att_writes_queue (metrics_att_writes_t *self, kf_store_t *store);
void metrics_att_writes_clear (metrics_att_writes_t *self);

//  ---------------------------------------------------------------------
//  Loading and reading

//  What is open (spans not ended, rounds of open conversations not
//  answered) into the tracker.
int metrics_att_store_load_open (kf_store_t *store, metrics_att_tracker_t *tracker,
                                 kf_error_t *err);

//  A day's input: every schedule version of the shop and the facts that
//  touch [from_ms, to_ms). Caller owns the arrays in *in (free with
//  metrics_att_input_free).
int metrics_att_store_input (kf_store_t *store, const char *shop_id, int64_t from_ms, int64_t to_ms,
                             metrics_att_input_t *in, kf_error_t *err);
void metrics_att_input_free (metrics_att_input_t *in);

//  The shop's grace minutes (the defaults when never set).
int metrics_att_store_settings (kf_store_t *store, const char *shop_id, metrics_att_settings_t *out,
                                kf_error_t *err);
int metrics_att_store_set_settings (kf_store_t *store, const char *shop_id,
                                    const metrics_att_settings_t *settings, const char *by,
                                    kf_error_t *err);

//  ---------------------------------------------------------------------
//  Publication (agent.attendance)

//  Every shop with a schedule and the end of what was published for it
//  (its first schedule version's time when nothing was yet).
typedef void (metrics_att_mark_fn) (void *arg, const char *shop_id, int64_t upto_ms);
int metrics_att_store_marks (kf_store_t *store, metrics_att_mark_fn *fn, void *arg,
                             kf_error_t *err);
int metrics_att_store_set_mark (kf_store_t *store, const char *shop_id, int64_t upto_ms,
                                kf_error_t *err);

#endif
