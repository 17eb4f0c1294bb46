/*  metrics_http — kefu-metrics' dashboard, HTTP JSON API and /metrics.

    libmicrohttpd, a thread per connection (at most 64), on
    KEFU_METRICS_HTTP_ENDPOINT (loopback by default; HTTPS when given a
    certificate and key). Routes:

      GET /                 the dashboard (embedded, from web/)
      GET /assets/NAME      its script and style (embedded)
      GET /healthz          "ok" (no login, no data)
      GET /api/whoami       who the token is, and the shops they may see
      GET /api/KIND?shop=S&by=G&from=..&to=..&threshold_s=..&agent=..&group=..&channel=..&limit=..
                            any query kind, answered by the same check and
                            dispatch as the ZeroMQ endpoint; &format=csv
                            gives the answer's table as CSV
      GET /metrics          Prometheus text: every service's counters
                            (asked of their control endpoints) and the
                            KPIs of today for the token's shops

    Every route but /, /assets and /healthz needs "Authorization: Bearer
    <token>" (kefuctl principal token). The token is hashed here and only
    its SHA-256 crosses to the service's thread (the bridge, an inproc
    ROUTER), which looks the principal up and checks scope per request. A
    source with failed logins is refused (429) for a time that doubles
    with each failure past the fifth, up to a minute. Request bodies,
    methods other than GET/HEAD, long URLs and paths with ".." are refused;
    nothing is ever read from the file system. */
#ifndef METRICS_HTTP_H
#define METRICS_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "kf_clock.h"

typedef struct {
    const char *endpoint;                //  HOST:PORT (port 0: any)
    const char *cert_file;               //  PEM certificate ("" = plain HTTP)
    const char *key_file;                //  PEM private key
    const char *bridge;                  //  the service's inproc ROUTER
    const char *const *status_services;  //  names of the services /metrics asks
    const char *const *status_endpoints; //  their control endpoints
    size_t status_count;                 //  how many
    kf_clock_t *clock;                   //  time of the login throttle (borrowed)
} metrics_http_args_t;

typedef struct {
    int64_t requests;         //  requests answered
    int64_t logins_failed;    //  no, or an unknown, token (401)
    int64_t logins_throttled; //  refused while a source waits (429)
    int64_t forbidden;        //  out of scope or role (403)
    int64_t refused;          //  bad method, path, size (4xx)
} metrics_http_stats_t;

typedef struct _metrics_http_t metrics_http_t;

//  Start serving (args and what it points to are copied). NULL with the
//  reason in why. Caller owns return value.
metrics_http_t *metrics_http_new (const metrics_http_args_t *args, char *why, size_t why_size);
//  Stop serving (waits for requests in progress). NULL-safe.
void metrics_http_destroy (metrics_http_t **self_p);
//  The port it listens on.
int metrics_http_port (metrics_http_t *self);
void metrics_http_stats (metrics_http_t *self, metrics_http_stats_t *stats);

//  The table of an answer as CSV: its array of rows ("rows", "points",
//  "agents", "conversations", "lines", or anything an answer of a new kind
//  has; a "total" first when there is one), nested objects flattened to
//  dotted columns. Caller owns return value.
char *metrics_http_csv (const char *json);

//  The value at a dotted path of o ("total.response.mean_s"), or NULL.
//  Borrowed.
json_t *metrics_http_json_at (json_t *o, const char *path);

#endif
