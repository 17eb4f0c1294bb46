/*  routing_config — kefu-routing's KEFU_ROUTING_* settings (one table). */
#ifndef ROUTING_CONFIG_H
#define ROUTING_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "kf_config.h"

typedef struct {
    char *intake_events;     //  intake's PUB endpoint (events to follow)
    char *intake_commands;   //  intake's command endpoint (assign, auto-replies)
    char *events_endpoint;   //  routing's own PUB (stream "routing")
    char *control_endpoint;  //  control ROUTER (status)
    char *partitions;        //  "all" or a list like "0-7" / "0,2,4"
    bool insecure;           //  KEFU_INSECURE: plain sockets (development only)
    char *secret_key_file;   //  routing's key pair (zcert secret file)
    char *server_key;        //  intake's public key (Z85)
    char *server_key_file;   //  ... or a file holding it
    int64_t auth_refresh;    //  ms between re-reads of the keys allowed to read events
    int64_t poll_interval;   //  ms between catch-up reads of the events table
    int64_t command_timeout; //  ms before an unacknowledged command is sent again
    int64_t suggestions;     //  quick replies per assign / suggest command (0..8)
} routing_config_t;

extern const kf_config_spec_t routing_config_spec;

//  Defaults plus environment, as the daemon loads them (tests).
int routing_config_defaults (routing_config_t *config, kf_common_config_t *common);

//  Parse the partitions setting into a bit mask; -1 if malformed.
int64_t routing_config_partitions (const char *spec);

#endif
