/*  intake_config — the table of kefu-intake's settings. */
#include "intake_config.h"

#include <stddef.h>

#define O(field) offsetof (intake_config_t, field)

static const kf_config_entry_t s_entries[] = {
    {"KEFU_INTAKE_GATEWAY_ENDPOINT", KF_CFG_STRING, O (gateway_endpoint), "tcp://0.0.0.0:5555",
     "ROUTER endpoint chat gateways connect to", 0, 0, NULL, 0},
    {"KEFU_INTAKE_COMMAND_ENDPOINT", KF_CFG_STRING, O (command_endpoint), "tcp://127.0.0.1:5556",
     "ROUTER endpoint where kefu services hand in commands for gateways", 0, 0, NULL, 0},
    {"KEFU_INTAKE_EVENTS_ENDPOINT", KF_CFG_STRING, O (events_endpoint), "tcp://127.0.0.1:5557",
     "PUB endpoint of intake's events (stream \"intake\")", 0, 0, NULL, 0},
    {"KEFU_INTAKE_CONTROL_ENDPOINT", KF_CFG_STRING, O (control_endpoint), "tcp://127.0.0.1:5581",
     "control endpoint (kefuctl status, health checks)", 0, 0, NULL, 0},
    {"KEFU_INSECURE", KF_CFG_BOOL, O (insecure), "0",
     "1 = plain sockets WITHOUT authentication: any peer may push items (any shop, any gateway "
     "id, no principal recorded) and read events (local development only)",
     0, 0, NULL, 0},
    {"KEFU_INTAKE_SECRET_KEY_FILE", KF_CFG_STRING, O (secret_key_file), "",
     "intake's CURVE key pair (the _secret file of kefuctl principal add --generate)", 0, 0, NULL,
     0},
    {"KEFU_INTAKE_MAX_FRAME", KF_CFG_BYTES, O (max_frame), "64KiB",
     "largest gateway frame accepted (larger: REJECTED oversized_frame; over twice this the "
     "gateway is disconnected)",
     1024, 16 << 20, NULL, 0},
    {"KEFU_INTAKE_MAX_BODY", KF_CFG_BYTES, O (max_body), "8KiB",
     "largest message body accepted (larger: REJECTED too_long)", 16, 65536, NULL,
     KF_CFG_RELOADABLE},
    {"KEFU_INTAKE_MAX_PAST", KF_CFG_DURATION, O (max_past), "30d",
     "oldest sent_at accepted, before the server's receive time", 1000, 3650LL * 86400000, NULL,
     KF_CFG_RELOADABLE},
    {"KEFU_INTAKE_MAX_FUTURE", KF_CFG_DURATION, O (max_future), "24h",
     "newest sent_at accepted, after the server's receive time", 1000, 30LL * 86400000, NULL,
     KF_CFG_RELOADABLE},
    {"KEFU_INTAKE_QUIET_PERIOD", KF_CFG_DURATION, O (quiet_period), "30m",
     "a conversation closes after this long without messages (sent_at, the platform's clock) "
     "while nobody waits for a reply",
     1000, 7LL * 86400000, NULL, KF_CFG_RELOADABLE},
    {"KEFU_INTAKE_ABANDON_AFTER", KF_CFG_DURATION, O (abandon_after), "24h",
     "a conversation whose customer waits for a human reply closes (reason abandoned) after "
     "this long without messages; the quiet period does not run while someone waits",
     1000, 30LL * 86400000, NULL, KF_CFG_RELOADABLE},
    {"KEFU_INTAKE_CATCH_UP", KF_CFG_DURATION, O (catch_up), "1h",
     "the sweep closes a shop's quiet conversations as far as its newest messages' sent_at, or, "
     "once none came for this long, as far as intake's clock less this: a gateway catching up "
     "after an outage shorter than this finds its customers' conversations as it left them",
     1000, 7LL * 86400000, NULL, KF_CFG_RELOADABLE},
    {"KEFU_INTAKE_BATCH_MAX", KF_CFG_INT, O (batch_max), "1000",
     "most items stored in one transaction", 1, 20000, NULL, 0},
    {"KEFU_INTAKE_WRITERS", KF_CFG_INT, O (writers), "2",
     "most batches stored at once, each on its own connection and thread (the second and later "
     "work only while the first falls behind)",
     1, 8, NULL, 0},
    {"KEFU_INTAKE_SWEEP_INTERVAL", KF_CFG_DURATION, O (sweep_interval), "10s",
     "how often quiet conversations are looked for and closed", 100, 3600000, NULL,
     KF_CFG_RELOADABLE},
    {"KEFU_INTAKE_AUTH_REFRESH", KF_CFG_DURATION, O (auth_refresh), "30s",
     "how often principals, keys and shops are re-read (revocation delay)", 100, 60000, NULL,
     KF_CFG_RELOADABLE},
    {"KEFU_INTAKE_COMMAND_ACK_TIMEOUT", KF_CFG_DURATION, O (command_ack_timeout), "10s",
     "an outbound command not acked by its gateway within this is sent again", 100, 3600000, NULL,
     KF_CFG_RELOADABLE},
    {"KEFU_INTAKE_SESSION_IDLE", KF_CFG_DURATION, O (session_idle), "1h",
     "a gateway session ends with its connection; one with no traffic for this long is "
     "forgotten as well (a connection whose closing went unseen; it says Hello again)",
     1000, 86400000, NULL, KF_CFG_RELOADABLE},
    {"KEFU_INTAKE_CONNECTION_INFLIGHT", KF_CFG_BYTES, O (connection_inflight), "256KiB",
     "most bytes of items one gateway connection may have inside intake (read, not yet "
     "acknowledged); more are answered RETRY_LATER overloaded with a retry_after_ms, so one "
     "gateway's burst waits for its own turn and does not hold up the others",
     4096, 64 << 20, NULL, KF_CFG_RELOADABLE},
    {"KEFU_INTAKE_CONNECTION_BATCH", KF_CFG_BYTES, O (connection_batch), "0",
     "0 (off), or while other connections have items inside intake: most bytes of one "
     "connection's items waiting for the writers' next batches; more are answered "
     "RETRY_LATER overloaded, so a batch holds only a slice of a burst of large items "
     "(a flood of small items from a fast gateway is answered the same)",
     0, 64 << 20, NULL, KF_CFG_RELOADABLE},
    {"KEFU_INTAKE_DICTIONARY", KF_CFG_STRING, O (dictionary), "",
     "intent and forbidden-phrase dictionary (JSON); empty: the shipped deploy/dictionaries/"
     "intents.json; reloaded on SIGHUP",
     0, 0, NULL, KF_CFG_RELOADABLE},
    KF_CONFIG_END};

const kf_config_spec_t intake_config_spec = {
    "kefu-intake",
    "kefu-intake is the front door for chat gateways (Taobao/Qianniu, WeChat, web chat, e-mail,\n"
    "phone). Gateways connect with CURVE keys and push customer messages, agent replies, agent\n"
    "presence, ratings and conversation closes; each item is validated, classified (intent,\n"
    "priority, forbidden phrases), stored in PostgreSQL with its events in one transaction, and\n"
    "acknowledged only after the commit. Intake also delivers commands from other kefu services\n"
    "(assignments, auto-replies, reminders, notices) to the right gateway until acknowledged.",
    NULL, s_entries, kf_common_config_entries};

int
intake_config_defaults (intake_config_t *config, kf_common_config_t *common)
{
    int argc = 1;
    char *argv[] = {"kefu-intake", NULL};
    return kf_config_load (&intake_config_spec, config, common, &argc, argv) == KF_CONFIG_OK ? 0
                                                                                             : -1;
}
