/*  kt_intake — run the real intake service in-process for tests: a fresh
    database, endpoints on tcp://127.0.0.1:* and the ports it bound. */
#ifndef KT_INTAKE_H
#define KT_INTAKE_H

#include <czmq.h>
#include <stdbool.h>
#include <sys/types.h>

#include "intake_config.h"
#include "kf_clock.h"
#include "kf_daemon.h"

typedef struct {
    zactor_t *actor;           //  the intake_server actor
    intake_config_t config;    //  its settings (tests may change them before start)
    kf_common_config_t common; //  database URL etc.
    kf_service_args_t args;    //  what the actor got
    kf_clock_t *clock;         //  its clock (owned when made here)
    bool own_clock;            //  destroy the clock on stop
    int gateway_port;          //  bound ports
    int command_port;
    int events_port;
    int control_port;
    char gateway_endpoint[64]; //  tcp://127.0.0.1:<gateway_port>
    char command_endpoint[64]; //  tcp://127.0.0.1:<command_port>
    char events_endpoint[64];  //  tcp://127.0.0.1:<events_port>
    char control_endpoint[64]; //  tcp://127.0.0.1:<control_port>
} kt_intake_t;

//  Settings for an intake on conninfo, all endpoints on 127.0.0.1:*,
//  insecure unless a key file is given later. clock may be NULL (real time;
//  otherwise borrowed). Adjust ->config, then kt_intake_start.
kt_intake_t *kt_intake_new (const char *conninfo, kf_clock_t *clock);
//  Start the actor; aborts the test if START fails.
void kt_intake_start (kt_intake_t *self);
//  Drain and stop (DRAIN, then destroy); frees everything.
void kt_intake_destroy (kt_intake_t **self_p);

//  Move intake's driven clock forward by by_ms through its control endpoint
//  (what kefuctl clock does); returns once its sweep has run.
void kt_intake_advance (kt_intake_t *self, int64_t by_ms);

//  Send RELOAD (what SIGHUP does: configuration, dictionary, principals
//  and shops) and return once the actor has done it.
void kt_intake_reload (kt_intake_t *self);

//  Register a shop (and its partition) directly in the database.
void kt_shop_add (const char *conninfo, const char *shop_id);
//  Register a principal with cert's public key, for every shop or none (a
//  gateway or admin gets its own id as its gateway id, as kefuctl gives it).
void kt_principal_add (const char *conninfo, const char *id, const char *role, zcert_t *cert,
                       bool all_shops);
//  Add shop_id to a principal's scope (one not of all shops).
void kt_principal_scope (const char *conninfo, const char *id, const char *shop_id);

//  A counter of intake's status (kefuctl status), 0 if absent; *insecure
//  (if not NULL) says whether it runs with KEFU_INSECURE=1.
int64_t kt_intake_counter (kt_intake_t *self, const char *name, bool *insecure);
//  The same for any service, by its control endpoint.
int64_t kt_control_counter (const char *control_endpoint, const char *name, bool *insecure);
//  Wait (up to 10 s) until that counter is at least n; returns its value.
int64_t kt_control_wait (const char *control_endpoint, const char *name, int64_t n);

//  A SUB on a service's events endpoint, subscribed to everything:
//  plaintext when cert is NULL, else a CURVE client with cert's keys
//  trusting server_key. Caller owns return value.
zsock_t *kt_events_sub (const char *endpoint, zcert_t *cert, const char *server_key);
//  The next publication on sub within ms (its topic must start with
//  prefix, else the test aborts); false when none came.
bool kt_events_received (zsock_t *sub, const char *prefix, int ms);

//  A TCP port on 127.0.0.1 that was free a moment ago.
int kt_free_port (void);
//  kefu-intake (this build's binary) as a child process on db, insecure,
//  logging errors only, killed if the test dies: its gateway endpoint on
//  gateway_port, its control endpoint on control_port (0: a port the system
//  picks), the others on ports the system picks (a port chosen here could
//  be taken by a test running beside this one before intake binds it).
pid_t kt_intake_spawn (const char *db, int gateway_port, int control_port);

//  Resident set size of process pid (VmRSS) in KiB, -1 if it is gone.
int64_t kt_process_rss_kb (pid_t pid);
//  Open file descriptors of process pid, -1 if it is gone.
int kt_process_fds (pid_t pid);

#endif
