/*  routing_config — the table of kefu-routing's settings. */
#include "routing_config.h"

#include "routing_phrases.h"

#include "kf_shop.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define O(field) offsetof (routing_config_t, field)

static const kf_config_entry_t s_entries[] = {
    {"KEFU_ROUTING_INTAKE_EVENTS", KF_CFG_STRING, O (intake_events), "tcp://127.0.0.1:5557",
     "intake's events endpoint (PUB) routing follows", 0, 0, NULL, 0},
    {"KEFU_ROUTING_INTAKE_COMMANDS", KF_CFG_STRING, O (intake_commands), "tcp://127.0.0.1:5556",
     "intake's command endpoint: where assignments and auto-replies are handed in", 0, 0, NULL, 0},
    {"KEFU_ROUTING_EVENTS_ENDPOINT", KF_CFG_STRING, O (events_endpoint), "tcp://127.0.0.1:5567",
     "PUB endpoint of routing's events (stream \"routing\")", 0, 0, NULL, 0},
    {"KEFU_ROUTING_CONTROL_ENDPOINT", KF_CFG_STRING, O (control_endpoint), "tcp://127.0.0.1:5582",
     "control endpoint (kefuctl status, health checks)", 0, 0, NULL, 0},
    {"KEFU_ROUTING_PARTITIONS", KF_CFG_STRING, O (partitions), "all",
     "shop partitions this instance routes: all, or e.g. 0-7 or 0,2,4 (of 16)", 0, 0, NULL, 0},
    {"KEFU_INSECURE", KF_CFG_BOOL, O (insecure), "0",
     "1 = plain sockets WITHOUT authentication: anyone who reaches routing's events endpoint "
     "reads them (local development only)",
     0, 0, NULL, 0},
    {"KEFU_ROUTING_SECRET_KEY_FILE", KF_CFG_STRING, O (secret_key_file), "",
     "routing's key pair (the _secret file of kefuctl principal add routing --role service "
     "--all-shops --generate): towards intake, and for its own events endpoint",
     0, 0, NULL, 0},
    {"KEFU_ROUTING_SERVER_KEY", KF_CFG_STRING, O (server_key), "",
     "intake's CURVE public key (Z85)", 0, 0, NULL, 0},
    {"KEFU_ROUTING_SERVER_KEY_FILE", KF_CFG_STRING, O (server_key_file), "",
     "a file holding intake's public key (intake's .key), when KEFU_ROUTING_SERVER_KEY is empty", 0,
     0, NULL, 0},
    {"KEFU_ROUTING_AUTH_REFRESH", KF_CFG_DURATION, O (auth_refresh), "30s",
     "how often the keys allowed to read routing's events are re-read (revocation delay)", 100,
     600000, NULL, KF_CFG_RELOADABLE},
    {"KEFU_ROUTING_POLL_INTERVAL", KF_CFG_DURATION, O (poll_interval), "500ms",
     "how often the events table is read for anything the PUB fast path missed", 10, 60000, NULL,
     KF_CFG_RELOADABLE},
    {"KEFU_ROUTING_COMMAND_TIMEOUT", KF_CFG_DURATION, O (command_timeout), "2s",
     "an assignment or auto-reply not acknowledged by intake within this is sent again", 100,
     600000, NULL, KF_CFG_RELOADABLE},
    {"KEFU_ROUTING_SUGGESTIONS", KF_CFG_INT, O (suggestions), "3",
     "quick replies (kefuctl phrases) an assign or suggest command carries for the agent, "
     "0 = none",
     0, ROUTING_SUGGESTIONS_MAX, NULL, KF_CFG_RELOADABLE},
    KF_CONFIG_END};

const kf_config_spec_t routing_config_spec = {
    "kefu-routing",
    "kefu-routing decides who serves each customer (分流). It follows intake's events\n"
    "(conversations opened and closed, messages, agent presence) and the operators' changes\n"
    "(kefuctl agent/group/shift/routing/transfer), assigns each conversation to an eligible\n"
    "agent (group by intent, first-contact stickiness, spare capacity, shifts), queues it by\n"
    "priority when everyone is full, watches response times and shift changes, and hands its\n"
    "assignments and auto-replies to intake for delivery to the gateways.",
    NULL, s_entries, kf_common_config_entries};

int
routing_config_defaults (routing_config_t *config, kf_common_config_t *common)
{
    int argc = 1;
    char *argv[] = {"kefu-routing", NULL};
    return kf_config_load (&routing_config_spec, config, common, &argc, argv) == KF_CONFIG_OK ? 0
                                                                                              : -1;
}

int64_t
routing_config_partitions (const char *spec)
{
    if (!spec || strcmp (spec, "all") == 0 || !*spec)
        return (1 << KF_PARTITIONS) - 1;
    int64_t mask = 0;
    const char *p = spec;
    while (*p) {
        char *end;
        long a = strtol (p, &end, 10);
        if (end == p || a < 0 || a >= KF_PARTITIONS)
            return -1;
        long b = a;
        p = end;
        if (*p == '-') {
            b = strtol (p + 1, &end, 10);
            if (end == p + 1 || b < a || b >= KF_PARTITIONS)
                return -1;
            p = end;
        }
        for (long i = a; i <= b; i++)
            mask |= 1LL << i;
        if (*p == ',')
            p++;
        else if (*p)
            return -1;
    }
    return mask ? mask : -1;
}
