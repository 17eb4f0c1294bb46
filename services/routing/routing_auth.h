/*  routing_auth — routing's keys: towards intake, and for its own events.

    Secure mode (the default): routing has a key pair of its own (a
    principal of role service, KEFU_ROUTING_SECRET_KEY_FILE) and trusts
    intake's public key (KEFU_ROUTING_SERVER_KEY or _FILE). With them it is
    a CURVE client of intake's command endpoint and events PUB, and its own
    events PUB is a CURVE server that lets in only service (and admin) keys:
    kf_zap, fed from the principals table on start, every
    KEFU_ROUTING_AUTH_REFRESH and on SIGHUP (a revoked key's subscription
    is cut: kf_outbox_rebind). Until the first read, nobody may subscribe.
    Failed handshakes are counted.

    Insecure mode (KEFU_INSECURE=1, development only): plain sockets,
    loudly logged. */
#ifndef ROUTING_AUTH_H
#define ROUTING_AUTH_H

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

#include "kf_outbox.h"
#include "kf_store.h"
#include "kf_subscriber.h"
#include "routing_config.h"

typedef struct _routing_auth_t routing_auth_t;

//  config is borrowed. Caller owns return value.
routing_auth_t *routing_auth_new (const routing_config_t *config);
void routing_auth_destroy (routing_auth_t **self_p);

//  Load the keys and start the ZAP handler (secure mode), or warn
//  (insecure). Before any connect or bind. 0, or -1 with the reason in why.
int routing_auth_start (routing_auth_t *self, char *why, size_t why_size);
bool routing_auth_insecure (const routing_auth_t *self);

//  Secure mode (no-ops when insecure): intake's command endpoint as a
//  CURVE client (before connect); the events PUB as a CURVE server for
//  service keys (before kf_outbox_bind).
void routing_auth_client (routing_auth_t *self, zsock_t *sock);
void routing_auth_secure_events (routing_auth_t *self, kf_outbox_t *outbox);
//  Follow intake's stream by publication, with routing's key in secure mode.
int routing_auth_follow (routing_auth_t *self, kf_subscriber_t *sub, const char *stream,
                         const char *endpoint);

//  Watch the events PUB's handshakes (after bind). Returns the socket that
//  reports them (borrowed), for the loop; NULL when insecure or on failure.
zsock_t *routing_auth_monitor (routing_auth_t *self, zsock_t *pub);
//  Watch a client socket's handshakes with intake (after connect; up to
//  2). libzmq does not try a refused handshake again (a key registered or
//  enabled only later, intake's keys not loaded yet): routing connects the
//  socket to endpoint again after a back-off of 1 s, doubling up to 30 s.
//  Returns the socket that reports them (borrowed), for the loop; NULL
//  when insecure or on failure.
zsock_t *routing_auth_watch (routing_auth_t *self, zsock_t *client, const char *endpoint);
//  Read the reports waiting on the monitors; count failed handshakes and
//  schedule the reconnections.
void routing_auth_handle_monitor (routing_auth_t *self);
//  Connect again the clients whose back-off has passed (on a timer).
void routing_auth_reconnect (routing_auth_t *self);
int64_t routing_auth_handshake_failures (const routing_auth_t *self);

//  Re-read the principals allowed to subscribe, if due (or now when force);
//  no-op when insecure. 0, or -1 (the keys in force stay).
int routing_auth_refresh (routing_auth_t *self, kf_store_t *store, bool force);

#endif
