/*  intake_config — kefu-intake's KEFU_INTAKE_* settings (one table). */
#ifndef INTAKE_CONFIG_H
#define INTAKE_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "kf_config.h"

typedef struct {
    char *gateway_endpoint;      //  ROUTER gateways connect to
    char *command_endpoint;      //  ROUTER kefu services hand commands to
    char *events_endpoint;       //  PUB for intake's events
    char *control_endpoint;      //  control ROUTER (status)
    bool insecure;               //  KEFU_INSECURE: no authentication (development only)
    char *secret_key_file;       //  intake's CURVE key pair (zcert secret file)
    int64_t max_frame;           //  bytes per ZeroMQ frame
    int64_t max_body;            //  bytes per message body
    int64_t max_past;            //  ms: how old a sent_at may be
    int64_t max_future;          //  ms: how far ahead a sent_at may be
    int64_t quiet_period;        //  ms: a conversation closes after this long without messages
    int64_t abandon_after;       //  ms: ... or this long while its customer waits
    int64_t catch_up;            //  ms: the sweep's allowance for late items
    int64_t batch_max;           //  items per transaction
    int64_t writers;             //  batches stored at once (connections + threads)
    int64_t sweep_interval;      //  ms between quiet-period sweeps
    int64_t auth_refresh;        //  ms between refreshes of principals, shops and keys
    int64_t command_ack_timeout; //  ms before an unacked command is sent again
    int64_t session_idle;        //  ms after which a silent gateway session is forgotten
    int64_t connection_inflight; //  bytes of items one connection may have inside intake
    int64_t connection_batch;    //  ... and in the writers' next batches
    char *dictionary;            //  intent dictionary path (empty: the shipped one)
} intake_config_t;

extern const kf_config_spec_t intake_config_spec;

//  Defaults for tests that run intake in-process: loads the table's
//  defaults (plus the environment), as the daemon does.
int intake_config_defaults (intake_config_t *config, kf_common_config_t *common);

#endif
