/*  ordersync_config — kefu-ordersync's KEFU_ORDERSYNC_* settings (one table). */
#ifndef ORDERSYNC_CONFIG_H
#define ORDERSYNC_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "kf_config.h"

typedef struct {
    char *intake_events;     //  intake's PUB endpoint (events to follow)
    char *intake_commands;   //  intake's command endpoint (reminders, notices)
    char *routing_events;    //  routing's PUB endpoint (agent.shift)
    char *events_endpoint;   //  ordersync's own PUB (stream "ordersync")
    char *control_endpoint;  //  control ROUTER (status)
    bool insecure;           //  KEFU_INSECURE: plain sockets (development only)
    char *secret_key_file;   //  ordersync's key pair (zcert secret file)
    char *server_key;        //  intake's public key (Z85)
    char *server_key_file;   //  ... or a file holding it
    char *routing_key;       //  routing's public key (Z85)
    char *routing_key_file;  //  ... or a file holding it
    int64_t auth_refresh;    //  ms between re-reads of the keys (and the shops' settings)
    int64_t poll_interval;   //  ms between catch-up reads of the events table
    int64_t command_timeout; //  ms before an unacknowledged command is sent again
} ordersync_config_t;

extern const kf_config_spec_t ordersync_config_spec;

//  Defaults plus environment, as the daemon loads them (tests).
int ordersync_config_defaults (ordersync_config_t *config, kf_common_config_t *common);

#endif
