/*  ordersync_config — the table of kefu-ordersync's settings. */
#include "ordersync_config.h"

#include <stddef.h>

#define O(field) offsetof (ordersync_config_t, field)

static const kf_config_entry_t s_entries[] = {
    {"KEFU_ORDERSYNC_INTAKE_EVENTS", KF_CFG_STRING, O (intake_events), "tcp://127.0.0.1:5557",
     "intake's events endpoint (PUB): order items and agents' replies", 0, 0, NULL, 0},
    {"KEFU_ORDERSYNC_INTAKE_COMMANDS", KF_CFG_STRING, O (intake_commands), "tcp://127.0.0.1:5556",
     "intake's command endpoint: where reminders and notices are handed in", 0, 0, NULL, 0},
    {"KEFU_ORDERSYNC_ROUTING_EVENTS", KF_CFG_STRING, O (routing_events), "tcp://127.0.0.1:5567",
     "routing's events endpoint (PUB): who is on shift (agent.shift)", 0, 0, NULL, 0},
    {"KEFU_ORDERSYNC_EVENTS_ENDPOINT", KF_CFG_STRING, O (events_endpoint), "tcp://127.0.0.1:5568",
     "PUB endpoint of order-sync's events (stream \"ordersync\")", 0, 0, NULL, 0},
    {"KEFU_ORDERSYNC_CONTROL_ENDPOINT", KF_CFG_STRING, O (control_endpoint), "tcp://127.0.0.1:5583",
     "control endpoint (kefuctl status, health checks)", 0, 0, NULL, 0},
    {"KEFU_INSECURE", KF_CFG_BOOL, O (insecure), "0",
     "1 = plain sockets WITHOUT authentication: anyone who reaches order-sync's events endpoint "
     "reads them (local development only)",
     0, 0, NULL, 0},
    {"KEFU_ORDERSYNC_SECRET_KEY_FILE", KF_CFG_STRING, O (secret_key_file), "",
     "order-sync's key pair (the _secret file of kefuctl principal add ordersync --role service "
     "--all-shops --generate): towards intake, and for its own events endpoint",
     0, 0, NULL, 0},
    {"KEFU_ORDERSYNC_SERVER_KEY", KF_CFG_STRING, O (server_key), "",
     "intake's CURVE public key (Z85)", 0, 0, NULL, 0},
    {"KEFU_ORDERSYNC_SERVER_KEY_FILE", KF_CFG_STRING, O (server_key_file), "",
     "a file holding intake's public key (intake's .key), when KEFU_ORDERSYNC_SERVER_KEY is empty",
     0, 0, NULL, 0},
    {"KEFU_ORDERSYNC_ROUTING_KEY", KF_CFG_STRING, O (routing_key), "",
     "routing's CURVE public key (Z85)", 0, 0, NULL, 0},
    {"KEFU_ORDERSYNC_ROUTING_KEY_FILE", KF_CFG_STRING, O (routing_key_file), "",
     "a file holding routing's public key (routing's .key), when KEFU_ORDERSYNC_ROUTING_KEY is "
     "empty",
     0, 0, NULL, 0},
    {"KEFU_ORDERSYNC_AUTH_REFRESH", KF_CFG_DURATION, O (auth_refresh), "30s",
     "how often the keys allowed to read order-sync's events and the shops' order settings are "
     "re-read",
     100, 600000, NULL, KF_CFG_RELOADABLE},
    {"KEFU_ORDERSYNC_POLL_INTERVAL", KF_CFG_DURATION, O (poll_interval), "500ms",
     "how often the events table is read for anything the PUB fast path missed", 10, 60000, NULL,
     KF_CFG_RELOADABLE},
    {"KEFU_ORDERSYNC_COMMAND_TIMEOUT", KF_CFG_DURATION, O (command_timeout), "2s",
     "a reminder or notice not acknowledged by intake within this is sent again", 100, 600000, NULL,
     KF_CFG_RELOADABLE},
    KF_CONFIG_END};

const kf_config_spec_t ordersync_config_spec = {
    "kefu-ordersync",
    "kefu-ordersync keeps the shop's orders beside its chats. It follows intake's events\n"
    "(order snapshots and agents' flags pushed by platform connectors or kefuctl orders\n"
    "import, and agents' replies), keeps each order in its newest valid state, reminds unpaid\n"
    "orders once at the shop's reminder time (催付), opens COD and address confirmations,\n"
    "flags late and stalled shipments, credits orders to the agent who served the buyer\n"
    "(询单转化), and hands its reminders and notices to intake for the gateways.",
    NULL, s_entries, kf_common_config_entries};

int
ordersync_config_defaults (ordersync_config_t *config, kf_common_config_t *common)
{
    int argc = 1;
    char *argv[] = {"kefu-ordersync", NULL};
    return kf_config_load (&ordersync_config_spec, config, common, &argc, argv) == KF_CONFIG_OK
               ? 0
               : -1;
}
