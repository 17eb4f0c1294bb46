/*  escalation_server — the kefu-escalation service as a czmq actor.

        kf_service_args_t args = {&escalation_config_spec, &config, &common, clock};
        zactor_t *escalation = zactor_new (escalation_server, &args);
        zstr_send (escalation, "START");           //  -> "OK" | "FAIL <reason>"
        zstr_send (escalation, "SYNC");            //  tests: catch up, fire what is due -> "OK"
        zstr_send (escalation, "DRAIN");           //  -> "DRAINED"

    PORT takes events or control. The actor protocol is in kf_daemon.h. */
#ifndef ESCALATION_SERVER_H
#define ESCALATION_SERVER_H

#include <czmq.h>

//  The actor. args is a kf_service_args_t * (borrowed for the actor's life).
void escalation_server (zsock_t *pipe, void *args);

#endif
