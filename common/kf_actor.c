/*  kf_actor — START/PORT/RELOAD/DRAIN/$TERM on a service's actor pipe. */
#include "kf_actor.h"

#include "kf_wire.h"

#include <stdbool.h>
#include <stdlib.h>

typedef struct {
    const kf_actor_ops_t *ops; //  the service's operations
    void *server;              //  the service
    bool started;              //  START succeeded
} s_actor_t;

static int
s_handle_pipe (zloop_t *loop, zsock_t *reader, void *arg)
{
    (void) loop;
    s_actor_t *a = arg;
    zmsg_t *msg = zmsg_recv (reader);
    if (!msg)
        return -1;
    char *command = zmsg_popstr (msg);
    int rc = 0;
    if (!command || streq (command, "$TERM"))
        rc = -1;
    else if (streq (command, "START")) {
        char why[512] = "";
        if (a->started || a->ops->start (a->server, why, sizeof why) == 0) {
            a->started = true;
            zstr_send (reader, "OK");
        } else
            zstr_sendf (reader, "FAIL %s", why);
    } else if (streq (command, "PORT")) {
        char *name = zmsg_popstr (msg);
        zsock_t *sock = name ? a->ops->socket (a->server, name) : NULL;
        zstr_sendf (reader, "%d", kf_wire_port (sock));
        free (name);
    } else if (streq (command, "RELOAD"))
        a->ops->reload (a->server);
    else if (streq (command, "DRAIN")) {
        a->ops->drain (a->server);
        zstr_send (reader, "DRAINED");
        rc = -1;
    } else if (a->ops->other) {
        const char *reply = a->ops->other (a->server, command);
        if (reply)
            zstr_send (reader, reply);
    }
    free (command);
    zmsg_destroy (&msg);
    return rc;
}

void
kf_actor_run (zsock_t *pipe, zloop_t *loop, const kf_actor_ops_t *ops, void *server)
{
    s_actor_t actor = {ops, server, false};
    zloop_set_nonstop (loop, true);
    zloop_reader (loop, pipe, s_handle_pipe, &actor);
    zsock_signal (pipe, 0);
    zloop_start (loop);
}
