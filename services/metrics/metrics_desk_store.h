/*  metrics_desk_store — the SQL of what the desk does (migration 0042):
    quick-reply uses per (shop, hour, agent, phrase), added up in the
    transaction of the batch's offsets, and read back for phrases.usage.
    Registered by metrics_store_register; the rebuild's reset empties its
    tables with the others. */
#ifndef METRICS_DESK_STORE_H
#define METRICS_DESK_STORE_H

#include <stdint.h>

#include "kf_store.h"

void metrics_desk_store_register (kf_store_t *store);

//  ---------------------------------------------------------------------
//  Writes of one transaction

typedef struct _metrics_desk_writes_t metrics_desk_writes_t;
//  Caller owns return value.
metrics_desk_writes_t *metrics_desk_writes_new (void);
void metrics_desk_writes_destroy (metrics_desk_writes_t **self_p);
//  One use of phrase_id (answering intent, 0 = the greeting) by agent_id
//  at at_ms (strings copied).
void metrics_desk_writes_phrase (metrics_desk_writes_t *self, const char *shop_id, int64_t at_ms,
                                 const char *agent_id, int64_t phrase_id, int intent);
//  Queue everything in the store's open pipeline and clear.
void metrics_desk_writes_queue (metrics_desk_writes_t *self, kf_store_t *store);
void metrics_desk_writes_clear (metrics_desk_writes_t *self);

//  ---------------------------------------------------------------------
//  Reading

//  Uses of a shop's phrases in the UTC hours starting in [from_ms, to_ms),
//  per agent and phrase, ordered by agent then phrase; only agent's when
//  agent is not NULL.
typedef void (metrics_phrase_use_fn) (void *arg, const char *agent_id, int64_t phrase_id,
                                      int intent, int64_t uses);
int metrics_desk_store_phrases (kf_store_t *store, const char *shop_id, int64_t from_ms,
                                int64_t to_ms, const char *agent, metrics_phrase_use_fn *fn,
                                void *arg, kf_error_t *err);

#endif
