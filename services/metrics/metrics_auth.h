/*  metrics_auth — who may ask kefu-metrics, and about which shops.

    Secure mode (the default): the query endpoint is a CURVE server with
    metrics' key pair, in the ZAP domain "kefu.metrics" with
    ZMQ_ZAP_ENFORCE_DOMAIN, so a handshake fails closed without a handler.
    This module is the ZAP handler (ZeroMQ RFC 27): a REP socket on
    inproc://zeromq.zap.01 that the service's loop serves, admitting the
    key of every active principal (kefuctl principal add) and naming it in
    the connection's User-Id ("<principal> <key>"). What a principal may
    ask is checked per query: its role (supervisor or admin) and its shops.
    Principals, keys and shops are re-read every KEFU_METRICS_AUTH_REFRESH:
    a disabled or replaced key stops at once for new connections and, as
    every query is checked against the cache, for open ones at the next
    refresh. libzmq takes one ZAP handler per process.

    Insecure mode (KEFU_INSECURE=1, development only): plain socket; every
    peer is the principal "dev", an admin of every shop. Loudly logged. */
#ifndef METRICS_AUTH_H
#define METRICS_AUTH_H

#include <czmq.h>
#include <stdbool.h>

#include "kf_store.h"

typedef struct {
    char id[65];     //  principal id
    char role[16];   //  gateway, supervisor, admin, service
    char key[41];    //  CURVE public key (Z85), "" in insecure mode
    bool all_shops;  //  may see every shop
    zhashx_t *shops; //  shop ids it may see (set)
} metrics_principal_t;

typedef struct _metrics_auth_t metrics_auth_t;

//  Caller owns return value.
metrics_auth_t *metrics_auth_new (bool insecure);
void metrics_auth_destroy (metrics_auth_t **self_p);

//  Secure mode: load the key pair and bind the ZAP handler. Must run
//  before the query endpoint binds. 0, or -1 with the reason in why.
int metrics_auth_start (metrics_auth_t *self, const char *secret_key_file, char *why,
                        size_t why_size);
//  Make sock a CURVE server in the ZAP domain (secure mode); no-op when insecure.
void metrics_auth_secure (metrics_auth_t *self, zsock_t *sock);
bool metrics_auth_insecure (const metrics_auth_t *self);
//  metrics' public key (Z85), "" when insecure. Borrowed.
const char *metrics_auth_public_key (const metrics_auth_t *self);
//  The ZAP handler's socket for the loop (NULL when insecure); answer what
//  waits on it with metrics_auth_handle_zap.
zsock_t *metrics_auth_zap (metrics_auth_t *self);
void metrics_auth_handle_zap (metrics_auth_t *self);
//  Handshakes refused (a key no active principal has).
int64_t metrics_auth_denied (const metrics_auth_t *self);

//  Reload principals and shops. 0, or -1 (the old cache stays).
int metrics_auth_refresh (metrics_auth_t *self, kf_store_t *store, kf_error_t *err);
bool metrics_auth_loaded (const metrics_auth_t *self);

//  The principal a received frame came from, or NULL when unknown, disabled
//  or its key was replaced since. Borrowed until the next refresh.
const metrics_principal_t *metrics_auth_principal_of (metrics_auth_t *self, zframe_t *frame);
//  May the principal see the shop?
bool metrics_auth_in_scope (const metrics_principal_t *principal, const char *shop_id);
//  The shop's time zone (IANA name), or NULL when no such shop is registered.
const char *metrics_auth_shop_timezone (metrics_auth_t *self, const char *shop_id);

#endif
