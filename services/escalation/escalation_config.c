/*  escalation_config — the table of kefu-escalation's settings. */
#include "escalation_config.h"

#include <stddef.h>

#define O(field) offsetof (escalation_config_t, field)

static const kf_config_entry_t s_entries[] = {
    {"KEFU_ESCALATION_INTAKE_EVENTS", KF_CFG_STRING, O (intake_events), "tcp://127.0.0.1:5557",
     "intake's events endpoint (PUB): complaint-classified messages, buyers answering", 0, 0, NULL,
     0},
    {"KEFU_ESCALATION_INTAKE_COMMANDS", KF_CFG_STRING, O (intake_commands), "tcp://127.0.0.1:5556",
     "intake's command endpoint: where chat messages, SMS, phone tasks and supervisor notices "
     "are handed in",
     0, 0, NULL, 0},
    {"KEFU_ESCALATION_EVENTS_ENDPOINT", KF_CFG_STRING, O (events_endpoint), "tcp://127.0.0.1:5569",
     "PUB endpoint of escalation's events (stream \"escalation\")", 0, 0, NULL, 0},
    {"KEFU_ESCALATION_CONTROL_ENDPOINT", KF_CFG_STRING, O (control_endpoint),
     "tcp://127.0.0.1:5584", "control endpoint (kefuctl status, health checks)", 0, 0, NULL, 0},
    {"KEFU_INSECURE", KF_CFG_BOOL, O (insecure), "0",
     "1 = plain sockets WITHOUT authentication: anyone who reaches escalation's events endpoint "
     "reads complaints and reviews (local development only)",
     0, 0, NULL, 0},
    {"KEFU_ESCALATION_SECRET_KEY_FILE", KF_CFG_STRING, O (secret_key_file), "",
     "escalation's key pair (the _secret file of kefuctl principal add escalation --role service "
     "--all-shops --generate): towards intake, and for its own events endpoint",
     0, 0, NULL, 0},
    {"KEFU_ESCALATION_SERVER_KEY", KF_CFG_STRING, O (server_key), "",
     "intake's CURVE public key (Z85)", 0, 0, NULL, 0},
    {"KEFU_ESCALATION_SERVER_KEY_FILE", KF_CFG_STRING, O (server_key_file), "",
     "a file holding intake's public key (intake's .key), when KEFU_ESCALATION_SERVER_KEY is "
     "empty",
     0, 0, NULL, 0},
    {"KEFU_ESCALATION_AUTH_REFRESH", KF_CFG_DURATION, O (auth_refresh), "30s",
     "how often the keys allowed to read escalation's events are re-read (revocation delay)", 100,
     600000, NULL, KF_CFG_RELOADABLE},
    {"KEFU_ESCALATION_DICTIONARY", KF_CFG_STRING, O (dictionary), "",
     "bad-review severity dictionary (JSON); empty: the shipped deploy/dictionaries/"
     "severity.json; reloaded on SIGHUP (an invalid file keeps the one in force)",
     0, 0, NULL, KF_CFG_RELOADABLE},
    {"KEFU_ESCALATION_POLL_INTERVAL", KF_CFG_DURATION, O (poll_interval), "500ms",
     "how often the events table is read for anything the PUB fast path missed", 10, 60000, NULL,
     KF_CFG_RELOADABLE},
    {"KEFU_ESCALATION_COMMAND_TIMEOUT", KF_CFG_DURATION, O (command_timeout), "2s",
     "a command not acknowledged by intake within this is sent again", 100, 600000, NULL,
     KF_CFG_RELOADABLE},
    {"KEFU_ESCALATION_FIRE_BATCH", KF_CFG_INT, O (fire_batch), "1000",
     "due deadlines and ladder steps fired per transaction", 1, 100000, NULL, KF_CFG_RELOADABLE},
    KF_CONFIG_END};

const kf_config_spec_t escalation_config_spec = {
    "kefu-escalation",
    "kefu-escalation drives complaints and bad reviews (中差评) to a close on a clock. It\n"
    "follows intake's events (a message classified complaint opens a case or joins the open\n"
    "one of that customer and order; any message from a buyer stops their review's contact\n"
    "ladder), fires the cases' deadlines (a stage deadline raises the escalation level and\n"
    "tells the supervisors; a review's next rung sends the chat message, the SMS or the phone\n"
    "task, calls only inside the shop's calling windows, most severe first), and hands those\n"
    "commands to intake until it acknowledges them. People move the cases with kefuctl\n"
    "complaint / review.",
    NULL, s_entries, kf_common_config_entries};

int
escalation_config_defaults (escalation_config_t *config, kf_common_config_t *common)
{
    int argc = 1;
    char *argv[] = {"kefu-escalation", NULL};
    return kf_config_load (&escalation_config_spec, config, common, &argc, argv) == KF_CONFIG_OK
               ? 0
               : -1;
}
