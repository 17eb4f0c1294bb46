/*  escalation_config — kefu-escalation's KEFU_ESCALATION_* settings (one table). */
#ifndef ESCALATION_CONFIG_H
#define ESCALATION_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "kf_config.h"

typedef struct {
    char *intake_events;     //  intake's PUB endpoint (events to follow)
    char *intake_commands;   //  intake's command endpoint (contacts, notices)
    char *events_endpoint;   //  escalation's own PUB (stream "escalation")
    char *control_endpoint;  //  control ROUTER (status, driven clock)
    bool insecure;           //  KEFU_INSECURE: plain sockets (development only)
    char *secret_key_file;   //  escalation's key pair (zcert secret file)
    char *server_key;        //  intake's public key (Z85)
    char *server_key_file;   //  ... or a file holding it
    int64_t auth_refresh;    //  ms between re-reads of the keys allowed to read events
    char *dictionary;        //  severity dictionary ("" = the shipped one)
    int64_t poll_interval;   //  ms between catch-up reads of the events table
    int64_t command_timeout; //  ms before an unacknowledged command is sent again
    int64_t fire_batch;      //  due cases fired per transaction
} escalation_config_t;

extern const kf_config_spec_t escalation_config_spec;

//  Defaults plus environment, as the daemon loads them (tests).
int escalation_config_defaults (escalation_config_t *config, kf_common_config_t *common);

#endif
