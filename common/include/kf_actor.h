/*  kf_actor — the service side of the actor protocol (see kf_daemon.h).

    Every kefu service is a czmq actor that main (kf_daemon_run) or a test
    drives with the same string commands on the actor pipe. A service
    supplies its operations and runs its zloop through kf_actor_run:

        static const kf_actor_ops_t s_ops = {s_start, s_socket, s_reload, s_drain, NULL};
        void
        intake_server (zsock_t *pipe, void *args)
        {
            s_server_t *self = s_server_new (pipe, args);
            kf_actor_run (pipe, self->loop, &s_ops, self);
            s_server_destroy (&self);
        }

    Commands: START -> "OK" | "FAIL <reason>" (start runs once); PORT <name>
    -> the TCP port of that socket (-1 if unknown); RELOAD; DRAIN ->
    "DRAINED", then the loop ends; $TERM ends the loop; anything else goes
    to ops->other, which returns the reply (NULL: the command is ignored). */
#ifndef KF_ACTOR_H
#define KF_ACTOR_H

#include <czmq.h>
#include <stddef.h>

typedef struct {
    int (*start) (void *server, char *why, size_t why_size);  //  0, or -1 with why
    zsock_t *(*socket) (void *server, const char *name);      //  for PORT; NULL if unknown
    void (*reload) (void *server);                            //  RELOAD (SIGHUP)
    void (*drain) (void *server);                             //  before DRAINED
    const char *(*other) (void *server, const char *command); //  may be NULL
} kf_actor_ops_t;

//  Signal the pipe, serve commands on it and run loop (borrowed) until
//  $TERM or DRAIN. The loop is set nonstop: main decides when we stop.
void kf_actor_run (zsock_t *pipe, zloop_t *loop, const kf_actor_ops_t *ops, void *server);

#endif
