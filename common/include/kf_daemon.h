/*  kf_daemon — the thin main of every kefu service.

    main () fills a kf_daemon_t and calls kf_daemon_run, which:
    blocks SIGTERM/SIGINT/SIGHUP before any thread exists and tells czmq not
    to install handlers; loads the configuration (exit 2 on a bad value;
    --help and --print-config exit 0); starts the service actor and sends it
    START; then waits on a signalfd and the actor pipe. SIGTERM/SIGINT send
    DRAIN and wait for DRAINED (the service stops reading, commits, acks,
    closes its sockets with a bounded linger); SIGHUP sends RELOAD.

    The actor protocol (strings on the actor pipe), also used by tests that
    run a service in-process:
        START        -> "OK" | "FAIL <reason>"   bind, connect, begin work
        PORT <name>  -> "<port>"                 a bound tcp port, for tests
        RELOAD       -> (no reply)               reload configuration/dictionaries
        DRAIN        -> "DRAINED"                finish in-flight work, then the actor returns
        $TERM                                    stop now
    The actor may send "FATAL <reason>" at any time; main exits 1. */
#ifndef KF_DAEMON_H
#define KF_DAEMON_H

#include <czmq.h>

#include "kf_clock.h"
#include "kf_config.h"

//  What every service actor receives as its argument.
typedef struct {
    const kf_config_spec_t *spec;     //  the program's configuration table
    void *config;                     //  the program's configuration struct
    const kf_common_config_t *common; //  shared settings
    kf_clock_t *clock;                //  time source (real, or driven in tests)
} kf_service_args_t;

typedef struct {
    const char *name;             //  service name, "intake"
    const kf_config_spec_t *spec; //  configuration table
    void *config;                 //  the struct it fills (static storage in main)
    zactor_fn *actor;             //  the service
} kf_daemon_t;

//  Run the service until SIGTERM/SIGINT. Returns the process exit code.
int kf_daemon_run (const kf_daemon_t *daemon, int argc, char **argv);

//  The same signal set-up, for tools that are not daemons (kefuctl, tests):
//  blocks SIGTERM/SIGINT/SIGHUP and returns a signalfd, or -1.
int kf_daemon_block_signals (void);

//  For tests and benchmarks that run a service in-process: DRAIN, wait for
//  the reply, destroy the actor (NULL or already gone: nothing).
void kf_daemon_drain_actor (zactor_t **actor_p);

#endif
