/*  metrics_query — supervisors' questions: checked, then answered.

    A Query (proto/kefu/v1/control.proto) is checked in full before
    anything is read — who asks (role supervisor or admin), for which shop
    (their scope: any other shop is shop_out_of_scope, whether it exists or
    not), what (a known kind), over which period and grouping (within
    KEFU_METRICS_MAX_PERIOD and _MAX_ROWS), with which parameters (a small
    JSON object of known keys; text valid UTF-8) — and becomes a plain
    metrics_query_t. "Now" kinds are answered from the model in memory by
    the service's thread; the others read the rollups on a worker thread
    with its own connection, so a slow read never holds events back.

    Kinds and their answers (JSON, README "Asking kefu-metrics"):
      kpi.summary            the KPI object of a period, optionally per agent,
                             group, channel, hour, day, week or month
      kpi.series             the KPI object per hour/day/week/month, every
                             bucket of the period present
      agents.now             presence, load and waiting customers per agent
      conversations.waiting  open conversations whose customer waits for a
                             human reply, longest first
      qa.flags               flagged replies of a period, oldest first
      agent.scorecard        each agent's scorecard of a month (metrics_score.h)
      agent.attendance       each agent's scheduled shifts of a day or a month
                             (metrics_attendance.h)
      phrases.usage          quick replies used, per agent and phrase
                             (metrics_desk.h)
      orders.summary         conversion, credited sales, order timeliness,
                             reminders (metrics_desk.h)
      aftersales.summary     complaints and bad reviews, revisits,
                             compensation (metrics_desk.h) */
#ifndef METRICS_QUERY_H
#define METRICS_QUERY_H

#include <czmq.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "kefu/v1/control.pb-c.h"
#include "kf_error.h"
#include "metrics_auth.h"
#include "metrics_model.h"
#include "metrics_question.h"

//  Limits in force (KEFU_METRICS_MAX_PERIOD, _MAX_ROWS).
typedef struct {
    int64_t max_period_ms; //  longest period
    int64_t max_rows;      //  most rows in an answer
} metrics_limits_t;

//  Check q as asked by principal (NULL: not authenticated) into out.
//  0, or -1 with err (the code and reason of the REJECTED answer).
int metrics_query_check (const Kefu__V1__Query *q, const metrics_principal_t *principal,
                         metrics_auth_t *auth, const metrics_limits_t *limits, int64_t now_ms,
                         metrics_query_t *out, kf_error_t *err);
//  The kind's name ("kpi.summary").
const char *metrics_kind_name (int kind);
//  True for kinds answered from memory.
bool metrics_query_is_now (int kind);

//  Answer a "now" kind from the model. Caller owns return value (JSON text).
char *metrics_query_now (metrics_model_t *model, const metrics_query_t *query);

//  A worker: an actor with its own connection to conninfo (borrowed for
//  its life), made before zactor_new returns. Send it [routing id][metrics_query_t][request id]; it
//  replies [routing id][code as text][packed Answer].
void metrics_query_worker (zsock_t *pipe, void *conninfo);

//  A packed Answer for routing_id: ACCEPTED with json, or REJECTED /
//  RETRY_LATER (by the code) with err. Caller owns return value.
zframe_t *metrics_query_answer (const void *request_id, size_t request_id_len, const char *json,
                                const kf_error_t *err);

//  Client side (kefuctl, tests): send query to endpoint and wait up to
//  timeout_ms for the answer. With server_key (metrics' public key, Z85)
//  the connection is CURVE with cert's key pair (borrowed); empty: plain.
//  NULL on timeout or a reply that does not parse. Caller owns the answer
//  (kefu__v1__answer__free_unpacked).
Kefu__V1__Answer *metrics_query_call (const char *endpoint, const char *server_key, zcert_t *cert,
                                      const Kefu__V1__Query *query, int timeout_ms);

#endif
