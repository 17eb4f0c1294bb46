/*  ordersync_server — the kefu-ordersync service as a czmq actor.

        kf_service_args_t args = {&ordersync_config_spec, &config, &common, clock};
        zactor_t *ordersync = zactor_new (ordersync_server, &args);
        zstr_send (ordersync, "START");            //  -> "OK" | "FAIL <reason>"
        zstr_send (ordersync, "SYNC");             //  tests: catch up now -> "OK"
        zstr_send (ordersync, "DRAIN");            //  -> "DRAINED"

    PORT takes events or control. The actor protocol is in kf_daemon.h. */
#ifndef ORDERSYNC_SERVER_H
#define ORDERSYNC_SERVER_H

#include <czmq.h>

//  The actor. args is a kf_service_args_t * (borrowed for the actor's life).
void ordersync_server (zsock_t *pipe, void *args);

#endif
