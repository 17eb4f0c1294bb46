/*  kt_metrics — kefu-metrics as an in-process actor for tests, and a
    client that asks it (the query protocol kefuctl speaks). */
#ifndef KT_METRICS_H
#define KT_METRICS_H

#include <jansson.h>

#include "kefu/v1/control.pb-c.h"
#include "kefu/v1/events.pb-c.h"
#include "kf_clock.h"
#include "kf_daemon.h"
#include "metrics_config.h"
#include "metrics_server.h"

typedef struct {
    zactor_t *actor;           //  metrics, NULL when stopped
    metrics_config_t config;   //  its settings (change before kt_metrics_start)
    kf_common_config_t common; //  its shared settings
    kf_service_args_t args;    //  what its actor got
    char query[64];            //  tcp://127.0.0.1:<query port>
    char control[64];          //  tcp://127.0.0.1:<control port>
    int http_port;             //  the dashboard's port, -1 without HTTP
} kt_metrics_t;

//  Settings for metrics on database db following intake's and routing's
//  events, insecure, its endpoints on 127.0.0.1:*. Adjust ->config, then
//  kt_metrics_start.
void kt_metrics_init (kt_metrics_t *self, const char *db, const char *intake_events,
                      const char *routing_events);
//  Start on clock (borrowed); fails the test if START fails.
void kt_metrics_start (kt_metrics_t *self, kf_clock_t *clock);
//  DRAIN, then stop (the record stays). The settings stay for a restart.
void kt_metrics_stop (kt_metrics_t *self);
//  Stop at once, without draining ($TERM), as a crash would.
void kt_metrics_kill (kt_metrics_t *self);
//  Free the settings.
void kt_metrics_free (kt_metrics_t *self);
//  SYNC until metrics has applied every event of the streams it follows in db
//  (fails the test after 20 s).
void kt_metrics_settle (kt_metrics_t *self, const char *db);
//  A counter of metrics' status (kefuctl status), 0 if absent.
int64_t kt_metrics_counter (kt_metrics_t *self, const char *name);
//  Send an actor command, return its reply (caller frees).
char *kt_metrics_command (kt_metrics_t *self, const char *command);

//  The dashboard's shop day, written into metrics' tables as metrics would
//  have kept it (start metrics after): demo-shop on Monday 2026-11-23 in
//  Shanghai, 9 customer-opened conversations (2 after hours) in 09:00 and
//  10:00, xiaomei and ajie answering (first responses mean 21.4 s, rounds
//  mean 17.1 s, 4 ratings, CSAT 75 %), and one customer waiting since
//  09:00 whose id is customer. other-shop has 99
//  conversations nobody of demo-shop may see. Set the clock to
//  2026-11-23T02:05:00Z (10:05 in Shanghai).
void kt_metrics_seed_day (const char *db, const char *customer);

//  Write ev into the event log of db on stream (as that service's outbox
//  would, in one transaction): order-sync's and complaint-escalation's
//  events for tests that do not run those services.
void kt_metrics_write_event (const char *db, const char *stream, const Kefu__V1__Event *ev);

//  Ask: a Query of kind for shop (from/to ms may be 0, group_by and
//  params_json may be NULL). Returns the answer (fails the test if none
//  comes within 10 s); caller frees it.
Kefu__V1__Answer *kt_metrics_ask (const char *endpoint, const char *kind, const char *shop,
                                  int64_t from_ms, int64_t to_ms, const char *group_by,
                                  const char *params_json);
//  The same, requiring ACCEPTED; returns the parsed JSON (caller decrefs).
json_t *kt_metrics_json (const char *endpoint, const char *kind, const char *shop, int64_t from_ms,
                         int64_t to_ms, const char *group_by, const char *params_json);
//  A number inside a JSON document by path ("total.first_response.count";
//  a segment "#3" is an array index, "@xiaomei" the element whose "key"
//  is xiaomei). Fails the test if absent; null reads as -1.
double kt_json_num (json_t *root, const char *path);

#endif
