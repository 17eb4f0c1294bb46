/*  intake_session — the gateways connected right now.

    A session starts with an accepted Hello on a connection (ROUTER routing
    id) and remembers the gateway id (part of the de-dup key), the
    authenticated principal and the shops+channels the gateway serves
    (where outbound commands go).

    A session ends with its connection. A ROUTER does not report
    disconnects, but its socket monitor reports each connection's socket
    (fd) as it is accepted and as it closes, and every frame carries the fd
    it came on (ZMQ_SRCFD): a session is bound to the fd of its Hello, and
    intake_sessions_close_fd ends it when that socket closes. An fd is
    reused by the next connection as soon as it is closed, so the server
    applies every monitor event waiting before it binds a Hello to an fd
    (the closing of the fd's previous connection was reported before the
    fd could be reused); a Hello still queued from a connection that is
    gone, read after the fd's new connection said Hello, is told apart by
    its routing id (libzmq numbers connections in order). Sessions whose
    fd is unknown end when a send to them fails, or after a silence.

    One session per gateway: a Hello with the principal and gateway id of
    an open session on another connection (the gateway reconnected before
    its old connection was seen to close) replaces it. The old connection
    keeps its place until it closes (items sent on it are still taken: they
    are the same gateway's), but it no longer counts as a session and gets
    no commands; should the new connection close first, the old one is the
    gateway's session again. */
#ifndef INTAKE_SESSION_H
#define INTAKE_SESSION_H

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

#include "kf_valid.h"

#define INTAKE_SERVES_MAX 64

typedef struct {
    char shop_id[KF_SHOP_ID_MAX + 1]; //  shop
    int channel;                      //  Channel
} intake_serves_t;

typedef struct {
    zframe_t *routing_id;                      //  owned copy of the connection's routing id
    int fd;                                    //  the connection's socket, -1 if unknown
    char gateway_id[KF_ID_MAX + 1];            //  from Hello
    char principal_id[65];                     //  authenticated principal
    intake_serves_t serves[INTAKE_SERVES_MAX]; //  where its commands go
    int serves_count;                          //  entries in serves
    int64_t last_seen;                         //  monotonic ms of the last frame
    int inflight;                              //  items read from it and not yet acked
    int64_t inflight_bytes;                    //  their frames' bytes
    int64_t waiting_bytes;                     //  ... of those not yet handed to a writer
    int64_t retry_slot_us;                     //  overloaded: next free retry time (zclock_usecs)
    int64_t drain_us; //  how long its items stay inside intake (0: unknown)
} intake_session_t;

typedef struct _intake_sessions_t intake_sessions_t;

//  Caller owns return value.
intake_sessions_t *intake_sessions_new (void);
void intake_sessions_destroy (intake_sessions_t **self_p);

//  The session of a connection (replaced or not), or NULL. Borrowed.
intake_session_t *intake_sessions_lookup (intake_sessions_t *self, zframe_t *routing_id);
//  Start (or restart) the session of the connection routing_id on socket fd
//  (-1: unknown) for (principal_id, gateway_id); the caller fills in what
//  it serves. Replaces the session of the same gateway on another
//  connection, and ends the one of a closed connection whose fd this
//  connection reuses. NULL when the connection is older than the one now on
//  fd: it is gone. A restarted session keeps its items in flight. Borrowed.
intake_session_t *intake_sessions_open (intake_sessions_t *self, zframe_t *routing_id, int fd,
                                        const char *principal_id, const char *gateway_id);
//  End the session of a connection (NULL-safe for unknown ones).
void intake_sessions_remove (intake_sessions_t *self, zframe_t *routing_id);
//  The session bound to socket fd, or NULL. When the fd closes (or a new
//  connection takes it), remove that session. Borrowed.
intake_session_t *intake_sessions_of_fd (intake_sessions_t *self, int fd);
//  End sessions silent for longer than idle_ms. Returns how many.
int intake_sessions_expire (intake_sessions_t *self, int64_t now_mono, int64_t idle_ms);

//  Gateways with a session (one per principal and gateway id).
size_t intake_sessions_size (intake_sessions_t *self);
//  Connections with a session, replaced ones included.
size_t intake_sessions_connections (intake_sessions_t *self);
//  Sessions replaced so far by a Hello of the same gateway on another
//  connection.
int64_t intake_sessions_replaced (intake_sessions_t *self);

//  Sessions serving (shop, channel), replaced ones left out: fills out[]
//  (borrowed) and returns the count.
int intake_sessions_serving (intake_sessions_t *self, const char *shop_id, int channel,
                             intake_session_t **out, int max);

#endif
