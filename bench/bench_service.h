/*  bench_service — the kefu services a benchmark runs, and the tools it calls.

    A service runs either as its Release binary built beside the benchmark
    (build-bench/services/...), a child process configured through KEFU_*
    variables as an operator configures it, or as the in-process actor.
    Either way it is ready when its control endpoint answers with the
    database connected, and it stops as an operator stops it: SIGTERM
    (DRAIN for an actor), SIGKILL only if it has not exited within the
    grace period. One place for all of it, so that every benchmark starts,
    waits for and stops services the same way.

        char bin[1024], control[64];
        bench_service_bin (bin, sizeof bin, "intake/kefu-intake");
        snprintf (control, sizeof control, "tcp://127.0.0.1:%d", bench_free_port ());
        ... env: {"KEFU_DATABASE_URL=...", "KEFU_INTAKE_CONTROL_ENDPOINT=<control>", ..., NULL}
        bench_service_t *intake = bench_service_spawn ("intake", bin, env, control, NULL);
        int64_t accepted = bench_service_counter (intake, "items.accepted");
        int code = bench_service_stop (&intake, 10, NULL);     //  its exit code

    A child process gets SIGTERM when the benchmark dies (PR_SET_PDEATHSIG),
    so an interrupted benchmark leaves no service behind. */
#ifndef BENCH_SERVICE_H
#define BENCH_SERVICE_H

#include <czmq.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "kefu/v1/control.pb-c.h"

//  A TCP port on 127.0.0.1 that was free a moment ago; -1 on error.
int bench_free_port (void);

//  Path of a kefu program built beside this one: `path` under the build
//  tree's services/ (e.g. "intake/kefu-intake", "kefuctl/kefuctl").
void bench_service_bin (char *out, size_t size, const char *path);

typedef struct _bench_service_t bench_service_t;

//  Start bin as a child process named `name` in reports, with our
//  environment plus env (NAME=VALUE entries, NULL-terminated; KEFU_LOG_LEVEL
//  is warn unless set), its stderr appended to log_path (NULL: ours). Waits
//  up to 30 s until control_endpoint answers with the database connected.
//  NULL (reason on stderr) if it exited or did not answer (it is killed).
//  Caller owns return value and must stop it.
bench_service_t *bench_service_spawn (const char *name, const char *bin, const char *const *env,
                                      const char *control_endpoint, const char *log_path);

//  Start an in-process service actor (args borrowed: they must outlive the
//  service) and send START. The actor's thread, which inherits the caller's
//  name, is renamed "bench-<name>" for the CPU accounting (bench_stats).
//  NULL (reason on stderr) if START did not answer OK. Caller owns return
//  value and must stop it.
bench_service_t *bench_service_actor (const char *name, zactor_fn *actor, void *args);

//  An actor's bound port `name` (its PORT command), or -1 (or a process).
int bench_service_port (bench_service_t *self, const char *name);
//  The actor's pipe (for commands such as SYNC), NULL for a process. Borrowed.
zactor_t *bench_service_pipe (bench_service_t *self);
//  The child's pid; 0 for an actor.
pid_t bench_service_pid (const bench_service_t *self);
//  Its name and control endpoint. Borrowed.
const char *bench_service_name (const bench_service_t *self);
const char *bench_service_control (const bench_service_t *self);

//  The service's status (counters, database connection), or NULL if it did
//  not answer within timeout_ms. Caller owns the reply and frees it with
//  kefu__v1__control_reply__free_unpacked (reply, NULL).
Kefu__V1__ControlReply *bench_service_status (const bench_service_t *self, int timeout_ms);
//  One counter (0 if the service has no such counter); -1 if it did not
//  answer within 5 s.
int64_t bench_service_counter (const bench_service_t *self, const char *name);

//  Stop: DRAIN an actor; SIGTERM a process and wait up to grace_s, then
//  SIGKILL. Returns the exit code (128 + signal if it was killed, 0 for an
//  actor); took_s (may be NULL) gets the seconds it took. NULL-safe (returns
//  0); nulls *self_p.
int bench_service_stop (bench_service_t **self_p, double grace_s, double *took_s);

//  Run a tool to completion: argv[0] is its path, env as for
//  bench_service_spawn (NULL: none added); its stdout goes into out
//  (NUL-terminated, the rest dropped; out may be NULL), its stderr to ours.
//  Returns its exit code, or -1 if it could not be run; took_s (may be
//  NULL) gets its wall time, process start included.
int bench_tool_run (const char *const *argv, const char *const *env, char *out, size_t out_size,
                    double *took_s);

#endif
