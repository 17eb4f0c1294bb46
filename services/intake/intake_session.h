/*  intake_session — the gateways connected right now.

    A session starts with an accepted Hello on a connection (ROUTER routing
    id) and remembers the gateway id (part of the de-dup key), the
    authenticated principal and the shops+channels the gateway serves
    (where outbound commands go). A ROUTER does not report disconnects, so
    sessions are dropped when a send to them fails or after a silence. */
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
    char gateway_id[KF_ID_MAX + 1];            //  from Hello
    char principal_id[65];                     //  authenticated principal
    intake_serves_t serves[INTAKE_SERVES_MAX]; //  where its commands go
    int serves_count;                          //  entries in serves
    int64_t last_seen;                         //  monotonic ms of the last frame
} intake_session_t;

typedef struct _intake_sessions_t intake_sessions_t;

intake_sessions_t *intake_sessions_new (void);
void intake_sessions_destroy (intake_sessions_t **self_p);

//  The session of a connection, or NULL. Borrowed.
intake_session_t *intake_sessions_lookup (intake_sessions_t *self, zframe_t *routing_id);
//  Start (or restart) the session of a connection. Borrowed result.
intake_session_t *intake_sessions_open (intake_sessions_t *self, zframe_t *routing_id);
void intake_sessions_remove (intake_sessions_t *self, zframe_t *routing_id);
//  Forget sessions silent for longer than idle_ms. Returns how many.
int intake_sessions_expire (intake_sessions_t *self, int64_t now_mono, int64_t idle_ms);
size_t intake_sessions_size (intake_sessions_t *self);

//  Sessions serving (shop, channel): fills out[] (borrowed) and returns the count.
int intake_sessions_serving (intake_sessions_t *self, const char *shop_id, int channel,
                             intake_session_t **out, int max);
//  Iterate every session (borrowed; do not add or remove while iterating).
intake_session_t *intake_sessions_first (intake_sessions_t *self);
intake_session_t *intake_sessions_next (intake_sessions_t *self);

#endif
