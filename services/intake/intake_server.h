/*  intake_server — the kefu-intake service as a czmq actor.

    Run it with kf_daemon (main.c) or in-process in tests:

        kf_service_args_t args = {&intake_config_spec, &config, &common, clock};
        zactor_t *intake = zactor_new (intake_server, &args);
        zstr_send (intake, "START");            //  -> "OK" | "FAIL <reason>"
        zstr_sendx (intake, "PORT", "gateway", NULL);  //  -> "<port>"
        ...
        zstr_send (intake, "DRAIN");            //  -> "DRAINED"
        zactor_destroy (&intake);

    PORT takes gateway, command, events or control. The actor protocol is
    described in kf_daemon.h. */
#ifndef INTAKE_SERVER_H
#define INTAKE_SERVER_H

#include <czmq.h>

//  The actor. args is a kf_service_args_t * (borrowed for the actor's life).
void intake_server (zsock_t *pipe, void *args);

#endif
