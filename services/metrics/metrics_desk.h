/*  metrics_desk — answers about what the desk does: quick-reply usage
    (phrases.usage), attendance on the scorecard. The query kinds are registered in metrics_query's
    table; their grouping is checked and their answers built here, from
    metrics_desk_store's rows, on the query worker.

    phrases.usage: uses of the shop's quick replies (routing's
    phrase.used: an agent's reply equal to a suggested phrase, filled in)
    in a period, per agent and phrase; group_by "agent" (per agent: uses,
    distinct phrases) or "phrase" (per phrase: uses, distinct agents). */
#ifndef METRICS_DESK_H
#define METRICS_DESK_H

#include <jansson.h>

#include "kf_error.h"
#include "kf_store.h"
#include "metrics_query.h"

//  metrics_query_t.by of phrases.usage grouped by phrase (outside
//  metrics_by_t).
#define METRICS_DESK_BY_PHRASE 100

//  True for the kinds answered here.
bool metrics_desk_kind (int kind);
//  The kind's group_by ("" none) into query->by; 0, or -1 with err.
int metrics_desk_check_by (metrics_query_t *query, const char *by, kf_error_t *err);
//  The answer's JSON text, root (the answer's head, taken) completed.
//  Caller owns return value; NULL with err when the store failed.
char *metrics_desk_answer (kf_store_t *store, const metrics_query_t *query, json_t *root,
                           kf_error_t *err);
//  agent.scorecard: each card agent's attendance of the month (root's
//  "agents", borrowed) as its "attendance" member, and every scheduled
//  agent's in root's "attendance" (informational: no points). 0, or -1
//  with err when the store failed.
int metrics_desk_attendance (kf_store_t *store, const metrics_query_t *query, const kf_tz_t *tz,
                             json_t *root, kf_error_t *err);
//  An intent's name as phrases carry it: 0 "greeting", else the Intent
//  value's name without its prefix, lower case ("urge_shipping").
const char *metrics_desk_intent_name (int intent, char *buf, size_t size);

#endif
