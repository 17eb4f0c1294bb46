/*  metrics_config — the table of kefu-metrics' settings. */
#include "metrics_config.h"

#include <stddef.h>

#define O(field) offsetof (metrics_config_t, field)

static const kf_config_entry_t s_entries[] = {
    {"KEFU_METRICS_INTAKE_EVENTS", KF_CFG_STRING, O (intake_events), "tcp://127.0.0.1:5557",
     "intake's events endpoint (PUB) metrics follows", 0, 0, NULL, 0},
    {"KEFU_METRICS_ROUTING_EVENTS", KF_CFG_STRING, O (routing_events), "tcp://127.0.0.1:5567",
     "routing's events endpoint (PUB) metrics follows", 0, 0, NULL, 0},
    {"KEFU_METRICS_QUERY_ENDPOINT", KF_CFG_STRING, O (query_endpoint), "tcp://127.0.0.1:5577",
     "ROUTER endpoint where supervisors' tools (kefuctl kpi, kefuctl now) send queries", 0, 0, NULL,
     0},
    {"KEFU_METRICS_CONTROL_ENDPOINT", KF_CFG_STRING, O (control_endpoint), "tcp://127.0.0.1:5585",
     "control endpoint (kefuctl status, health checks)", 0, 0, NULL, 0},
    {"KEFU_INSECURE", KF_CFG_BOOL, O (insecure), "0",
     "1 = plain sockets WITHOUT authentication: every peer may ask about every shop (local "
     "development only)",
     0, 0, NULL, 0},
    {"KEFU_METRICS_SECRET_KEY_FILE", KF_CFG_STRING, O (secret_key_file), "",
     "metrics' key pair (the _secret file of kefuctl principal add metrics --role service "
     "--all-shops --generate DIR): towards intake's and routing's events, and for its query "
     "endpoint",
     0, 0, NULL, 0},
    {"KEFU_METRICS_INTAKE_KEY", KF_CFG_STRING, O (intake_key), "",
     "intake's CURVE public key (Z85)", 0, 0, NULL, 0},
    {"KEFU_METRICS_INTAKE_KEY_FILE", KF_CFG_STRING, O (intake_key_file), "",
     "a file holding intake's public key (intake's .key), when KEFU_METRICS_INTAKE_KEY is empty", 0,
     0, NULL, 0},
    {"KEFU_METRICS_ROUTING_KEY", KF_CFG_STRING, O (routing_key), "",
     "routing's CURVE public key (Z85)", 0, 0, NULL, 0},
    {"KEFU_METRICS_ROUTING_KEY_FILE", KF_CFG_STRING, O (routing_key_file), "",
     "a file holding routing's public key (routing's .key), when KEFU_METRICS_ROUTING_KEY is "
     "empty",
     0, 0, NULL, 0},
    {"KEFU_METRICS_POLL_INTERVAL", KF_CFG_DURATION, O (poll_interval), "500ms",
     "how often the events table is read for anything the PUB fast path missed", 10, 60000, NULL,
     KF_CFG_RELOADABLE},
    {"KEFU_METRICS_AUTH_REFRESH", KF_CFG_DURATION, O (auth_refresh), "30s",
     "how often principals, keys and shops are re-read (revocation delay)", 100, 3600000, NULL,
     KF_CFG_RELOADABLE},
    {"KEFU_METRICS_MAX_PERIOD", KF_CFG_DURATION, O (max_period), "400d",
     "longest period one query may cover (longer: REJECTED limit_exceeded)", 3600000,
     3660LL * 86400000, NULL, KF_CFG_RELOADABLE},
    {"KEFU_METRICS_MAX_ROWS", KF_CFG_INT, O (max_rows), "1000",
     "most rows one answer may hold: groups, points of a series, QA lines (more: REJECTED "
     "limit_exceeded)",
     10, 100000, NULL, KF_CFG_RELOADABLE},
    {"KEFU_METRICS_QUERY_WORKERS", KF_CFG_INT, O (query_workers), "3",
     "threads answering questions from the rollups, each with its own database connection: a "
     "question waits for a free one, another shop's first",
     1, 16, NULL, 0},
    {"KEFU_METRICS_REBUILD", KF_CFG_BOOL, O (rebuild), "0",
     "at start, drop the rollups and recompute them from the event log (refused if the log no "
     "longer starts at the first event), then run as usual",
     0, 0, NULL, KF_CFG_OPTION},
    {"KEFU_METRICS_HTTP_ENDPOINT", KF_CFG_STRING, O (http_endpoint), "127.0.0.1:8480",
     "HOST:PORT of the dashboard, its HTTP API and /metrics (a numeric address; empty: no "
     "HTTP). Loopback by default",
     0, 0, NULL, 0},
    {"KEFU_METRICS_HTTP_CERT_FILE", KF_CFG_STRING, O (http_cert_file), "",
     "PEM certificate (chain): serve HTTPS instead of HTTP (with KEFU_METRICS_HTTP_KEY_FILE)", 0, 0,
     NULL, 0},
    {"KEFU_METRICS_HTTP_KEY_FILE", KF_CFG_STRING, O (http_key_file), "",
     "PEM private key of KEFU_METRICS_HTTP_CERT_FILE", 0, 0, NULL, 0},
    {"KEFU_METRICS_STATUS_ENDPOINTS", KF_CFG_STRING, O (status_endpoints),
     "intake=tcp://127.0.0.1:5581,routing=tcp://127.0.0.1:5582",
     "NAME=ENDPOINT,... the control endpoints whose counters /metrics shows, besides metrics' "
     "own",
     0, 0, NULL, 0},
    KF_CONFIG_END};

const kf_config_spec_t metrics_config_spec = {
    "kefu-metrics",
    "kefu-metrics answers what supervisors (督导) ask: first-response and response times,\n"
    "answer rates (接线率), the queue, satisfaction, time to close, reply ratios (答问比) and\n"
    "QA flags, per shop, group, agent, channel and hour/day/week/month in the shop's time zone,\n"
    "and who is online and who waits right now. It follows intake's and routing's events,\n"
    "keeps hourly rollups in its own tables in the same transaction as its place in the\n"
    "streams, and answers Query messages (proto/kefu/v1/control.proto) on its query endpoint\n"
    "with JSON, CURVE-authenticated, each supervisor limited to their shops.",
    NULL, s_entries, kf_common_config_entries};

int
metrics_config_defaults (metrics_config_t *config, kf_common_config_t *common)
{
    int argc = 1;
    char *argv[] = {"kefu-metrics", NULL};
    return kf_config_load (&metrics_config_spec, config, common, &argc, argv) == KF_CONFIG_OK ? 0
                                                                                              : -1;
}
