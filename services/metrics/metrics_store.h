/*  metrics_store — all of kefu-metrics' SQL.

    Writing: a metrics_writes_t collects what the model emitted while a
    batch of events was applied — rollup deltas added up per row, histogram
    deltas per bucket, the latest state of each changed conversation,
    flagged lines, presence — and queues one statement of each kind into
    the subscriber's pipeline, so they commit with the batch's offsets.
    Loading: the open conversations and agents after a start; the rows of
    the conversations and orders a batch of events names that memory does
    not hold, with one statement each per batch. Reading: sums and
    histograms of a period grouped by one dimension (whole UTC days from
    the day rows, the hours around them from the hourly ones), flagged
    lines, for the queries.
    Administration: the shops, the principals that may ask, and the reset
    a rebuild starts with. */
#ifndef METRICS_STORE_H
#define METRICS_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "kf_batch.h"
#include "kf_store.h"
#include "metrics_model.h"
#include "metrics_score.h"

void metrics_store_register (kf_store_t *store);

//  ---------------------------------------------------------------------
//  Writes of one transaction

typedef struct _metrics_writes_t metrics_writes_t;
//  Caller owns return value.
metrics_writes_t *metrics_writes_new (void);
void metrics_writes_destroy (metrics_writes_t **self_p);
//  What the model's sink gets (strings are copied).
void metrics_writes_count (metrics_writes_t *self, const metrics_key_t *key, int counter,
                           int64_t delta);
void metrics_writes_hist (metrics_writes_t *self, const metrics_key_t *key, int hist, int bucket,
                          int64_t delta);
void metrics_writes_conv (metrics_writes_t *self, const char *shop_id, const metrics_conv_t *conv);
void metrics_writes_qa (metrics_writes_t *self, const char *shop_id, const metrics_qa_line_t *line);
void metrics_writes_presence (metrics_writes_t *self, const char *shop_id, const char *agent_id,
                              int status, int64_t since_ms);
//  Scorecards: add (sign 1) or take back (sign -1) what an order or a
//  complaint contributes.
void metrics_writes_score (metrics_writes_t *self, const char *shop_id,
                           const metrics_score_part_t *part, int sign);
//  The order's state in this transaction: the one already changed in it,
//  else a copy of loaded (NULL: none, returns NULL). Borrowed; the latest
//  state is what gets written.
metrics_order_t *metrics_writes_order (metrics_writes_t *self, const char *shop_id,
                                       const char *order_id, const metrics_order_t *loaded);
metrics_complaint_t *metrics_writes_complaint (metrics_writes_t *self, const char *shop_id,
                                               int64_t complaint_id,
                                               const metrics_complaint_t *loaded);
//  The shop has events of stream ("ordersync", "escalation").
void metrics_writes_source (metrics_writes_t *self, const char *shop_id, const char *stream);
//  Queue everything collected in the store's open pipeline (parameters are
//  copied) and clear the collection.
void metrics_writes_queue (metrics_writes_t *self, kf_store_t *store);
void metrics_writes_clear (metrics_writes_t *self);
//  Rows collected (for counters).
int metrics_writes_rows (const metrics_writes_t *self);

//  ---------------------------------------------------------------------
//  Loading state

//  A conversation row; conv is the caller's to keep (metrics_model_adopt)
//  or destroy.
typedef void (metrics_conv_row_fn) (void *arg, const char *shop_id, metrics_conv_t **conv_p);
//  Every conversation not closed.
int metrics_store_load_open (kf_store_t *store, metrics_conv_row_fn *fn, void *arg,
                             kf_error_t *err);
//  One conversation; *out is NULL when it has no row. Caller owns *out.
int metrics_store_load_conversation (kf_store_t *store, const char *shop_id,
                                     int64_t conversation_id, metrics_conv_t **out,
                                     kf_error_t *err);
//  The rows of many conversations at once (a batch's): of those named by
//  (shop_ids[i], conversation_ids[i]), fn gets each that has one.
int metrics_store_load_conversations (kf_store_t *store, int count, const char *const *shop_ids,
                                      const int64_t *conversation_ids, metrics_conv_row_fn *fn,
                                      void *arg, kf_error_t *err);
typedef void (metrics_agent_row_fn) (void *arg, const char *shop_id, const char *agent_id,
                                     int status, int64_t since_ms);
int metrics_store_load_agents (kf_store_t *store, metrics_agent_row_fn *fn, void *arg,
                               kf_error_t *err);

//  ---------------------------------------------------------------------
//  Rebuild

//  Is every followed stream's log still there from its first event? (A
//  rebuild from a pruned log would lose what was pruned.) *complete false
//  names the first partition that is not in why.
int metrics_store_log_complete (kf_store_t *store, const char *const *streams, int stream_count,
                                bool *complete, char *why, size_t why_size, kf_error_t *err);
//  In one transaction: drop every metrics row and move the consumer's
//  offsets back to the start of the streams.
int metrics_store_reset (kf_store_t *store, const char *consumer, kf_error_t *err);

//  ---------------------------------------------------------------------
//  Shops and principals

typedef void (metrics_shop_fn) (void *arg, const char *shop_id, const char *timezone);
int metrics_store_load_shops (kf_store_t *store, metrics_shop_fn *fn, void *arg, kf_error_t *err);
//  Active principals with a key or a dashboard token (each "" when the
//  principal has none); shops is "a,b" (empty when all_shops).
typedef void (metrics_principal_fn) (void *arg, const char *id, const char *role, const char *key,
                                     const char *token_sha256, bool all_shops, const char *shops);
int metrics_store_load_principals (kf_store_t *store, metrics_principal_fn *fn, void *arg,
                                   kf_error_t *err);

//  ---------------------------------------------------------------------
//  Reading rollups (queries)

//  What a query reads: a shop, UTC hours whose start is in [from, to), one
//  dimension to group by ("" none, "agent", "group", "channel", "hour"),
//  and optional filters.
typedef struct {
    const char *shop_id; //  shop
    int64_t from_ms;     //  first hour (inclusive)
    int64_t to_ms;       //  end (exclusive)
    const char *by;      //  "", "agent", "group", "channel" or "hour"
    const char *agent;   //  only this agent, NULL = all
    const char *group;   //  only this group, NULL = all
    int channel;         //  only this channel, 0 = all
} metrics_read_t;

//  Sums per group: key is the dimension's value as text ("" for none;
//  hours as epoch ms), counters[METRICS_COUNTERS] (WAIT_MAX: the maximum
//  over rows with waits).
typedef void (metrics_sums_fn) (void *arg, const char *key, const int64_t *counters);
int metrics_store_sums (kf_store_t *store, const metrics_read_t *read, metrics_sums_fn *fn,
                        void *arg, kf_error_t *err);
//  Histogram counts per group, hist (metrics_hist_t) and bucket.
typedef void (metrics_hist_fn) (void *arg, const char *key, int hist, int bucket, int64_t n);
int metrics_store_hists (kf_store_t *store, const metrics_read_t *read, metrics_hist_fn *fn,
                         void *arg, kf_error_t *err);
//  Flagged lines in [from, to), oldest first, at most limit (read->by and
//  ->group are ignored). flags is "a\x1fb".
typedef struct {
    int64_t message_id;      //  the line
    int64_t conversation_id; //  its conversation
    const char *agent_id;    //  its author
    int channel;             //  Channel
    int64_t sent_at;         //  ms
    const char *flags;       //  phrases, separated by \x1f
    const char *body;        //  the reply
} metrics_qa_row_t;
typedef void (metrics_qa_fn) (void *arg, const metrics_qa_row_t *row);
int metrics_store_qa_lines (kf_store_t *store, const metrics_read_t *read, int limit,
                            metrics_qa_fn *fn, void *arg, kf_error_t *err);

//  ---------------------------------------------------------------------
//  Scorecards

//  An order's or complaint's row; an empty state (with its id) when none.
int metrics_store_load_order (kf_store_t *store, const char *shop_id, const char *order_id,
                              metrics_order_t *out, kf_error_t *err);
//  The same for many orders at once: fn gets each one that has a row
//  (borrowed for the call).
typedef void (metrics_order_row_fn) (void *arg, const char *shop_id, const metrics_order_t *order);
int metrics_store_load_orders (kf_store_t *store, int count, const char *const *shop_ids,
                               const char *const *order_ids, metrics_order_row_fn *fn, void *arg,
                               kf_error_t *err);
int metrics_store_load_complaint (kf_store_t *store, const char *shop_id, int64_t complaint_id,
                                  metrics_complaint_t *out, kf_error_t *err);
//  The shop's scheme (the defaults when none was set) and, if sources is
//  not NULL, which sources it has.
int metrics_store_scheme (kf_store_t *store, const char *shop_id, metrics_scheme_t *scheme,
                          metrics_score_sources_t *sources, kf_error_t *err);
int metrics_store_set_scheme (kf_store_t *store, const char *shop_id,
                              const metrics_scheme_t *scheme, const char *by, kf_error_t *err);
//  A supervisor's entry for an agent's month ("2026-11"); NULL keeps what
//  was entered before.
int metrics_store_enter_score (kf_store_t *store, const char *shop_id, const char *month,
                               const char *agent_id, const double *service_check,
                               const double *key_promotion, const char *by, kf_error_t *err);
//  The card's agents for month ("2026-11", whose UTC hours are [from, to)),
//  sorted by id. Caller owns *agents (free).
int metrics_store_scorecard (kf_store_t *store, const char *shop_id, int64_t from_ms, int64_t to_ms,
                             const char *month, metrics_score_agent_t **agents, int *count,
                             kf_error_t *err);

#endif
