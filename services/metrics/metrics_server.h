/*  metrics_server — the kefu-metrics service as a czmq actor.

        kf_service_args_t args = {&metrics_config_spec, &config, &common, clock};
        zactor_t *metrics = zactor_new (metrics_server, &args);
        zstr_send (metrics, "START");              //  -> "OK" | "FAIL <reason>"
        zstr_send (metrics, "SYNC");               //  tests: catch up now -> "OK"
        zstr_send (metrics, "REBUILD");            //  recompute from the log -> "OK" | "FAIL ..."
        zstr_send (metrics, "DRAIN");              //  -> "DRAINED"

    PORT takes query or control. The actor protocol is in kf_daemon.h. */
#ifndef METRICS_SERVER_H
#define METRICS_SERVER_H

#include <czmq.h>

//  The actor. args is a kf_service_args_t * (borrowed for the actor's life).
void metrics_server (zsock_t *pipe, void *args);

#endif
