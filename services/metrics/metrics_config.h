/*  metrics_config — kefu-metrics' KEFU_METRICS_* settings (one table). */
#ifndef METRICS_CONFIG_H
#define METRICS_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "kf_config.h"

typedef struct {
    char *intake_events;    //  intake's PUB endpoint (events to follow)
    char *routing_events;   //  routing's PUB endpoint
    char *query_endpoint;   //  ROUTER for supervisors' queries
    char *control_endpoint; //  control ROUTER (status)
    bool insecure;          //  KEFU_INSECURE: no authentication (development)
    char *secret_key_file;  //  metrics' CURVE key pair (events, query endpoint)
    char *intake_key;       //  intake's public key (Z85)
    char *intake_key_file;  //  ... or a file holding it
    char *routing_key;      //  routing's public key (Z85)
    char *routing_key_file; //  ... or a file holding it
    int64_t poll_interval;  //  ms between catch-up reads of the events table
    int64_t auth_refresh;   //  ms between reloads of principals and shops
    int64_t max_period;     //  ms: longest period a query may cover
    int64_t max_rows;       //  most rows (groups, points, lines) in an answer
    int64_t query_workers;  //  threads answering from the rollups, each its own connection
    bool rebuild;           //  recompute everything from the event log at start
    char *http_endpoint;    //  dashboard HOST:PORT ("" = no HTTP)
    char *http_cert_file;   //  PEM certificate: HTTPS
    char *http_key_file;    //  PEM private key
    char *status_endpoints; //  NAME=ENDPOINT,... whose counters /metrics shows
} metrics_config_t;

extern const kf_config_spec_t metrics_config_spec;

//  Defaults plus environment, as the daemon loads them (tests).
int metrics_config_defaults (metrics_config_t *config, kf_common_config_t *common);

#endif
