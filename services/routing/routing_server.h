/*  routing_server — the kefu-routing service as a czmq actor.

        kf_service_args_t args = {&routing_config_spec, &config, &common, clock};
        zactor_t *routing = zactor_new (routing_server, &args);
        zstr_send (routing, "START");              //  -> "OK" | "FAIL <reason>"
        zstr_send (routing, "SYNC");               //  tests: catch up now -> "OK"
        zstr_send (routing, "DRAIN");              //  -> "DRAINED"

    PORT takes events or control. The actor protocol is in kf_daemon.h. */
#ifndef ROUTING_SERVER_H
#define ROUTING_SERVER_H

#include <czmq.h>

//  The actor. args is a kf_service_args_t * (borrowed for the actor's life).
void routing_server (zsock_t *pipe, void *args);

#endif
