/*  bench_intake_actor — kefu-intake in-process, for the benchmarks that
    measure another service behind a real intake (ordersync, escalation):
    every endpoint on 127.0.0.1:*, insecure, on the caller's clock.

        bench_intake_actor_t intake;
        if (bench_intake_actor_start (&intake, db, clock))
            return 1;
        ... a gateway on intake.gateway; a service following intake.events
        ... and handing commands to intake.commands
        bench_intake_actor_stop (&intake); */
#ifndef BENCH_INTAKE_ACTOR_H
#define BENCH_INTAKE_ACTOR_H

#include "bench_service.h"
#include "intake_config.h"
#include "kf_clock.h"
#include "kf_daemon.h"

typedef struct {
    intake_config_t config;    //  its settings
    kf_common_config_t common; //  its shared settings
    kf_service_args_t args;    //  what its actor got (must outlive it)
    bench_service_t *service;  //  the actor, NULL when stopped
    char gateway[64];          //  tcp://127.0.0.1:<port>: gateways connect here
    char events[64];           //  ... its events (PUB)
    char commands[64];         //  ... its command endpoint
} bench_intake_actor_t;

//  Start intake on database db and clock (borrowed) into self; its
//  logging as the environment says. 0, or -1 (reason on stderr).
int bench_intake_actor_start (bench_intake_actor_t *self, const char *db, kf_clock_t *clock);
//  Stop it (DRAIN) and free its settings. Idempotent.
void bench_intake_actor_stop (bench_intake_actor_t *self);

#endif
