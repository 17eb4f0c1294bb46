/*  metrics_auth — metrics' keys, and who may ask it about which shops.

    Secure mode (the default): metrics has a key pair of its own (a
    principal of role service, KEFU_METRICS_SECRET_KEY_FILE). With it, it
    follows intake's and routing's event PUBs as a CURVE client, trusting
    their public keys (KEFU_METRICS_INTAKE_KEY, _ROUTING_KEY, or their
    _FILE), and its query endpoint is a CURVE server in kf_zap's domain
    for clients: every active principal's key gets through the handshake
    (kf_zap, fed from the principals table), and what a principal may ask
    is checked per query: its role (supervisor or admin) and its shops.
    Principals, keys and shops are re-read every KEFU_METRICS_AUTH_REFRESH
    (and on SIGHUP): a disabled or replaced key stops for new connections,
    and for open ones as every query is checked against the cache. Failed
    handshakes are counted. libzmq takes one ZAP handler per process.

    Insecure mode (KEFU_INSECURE=1, development only): plain sockets; every
    peer is the principal "dev", an admin of every shop. Loudly logged. */
#ifndef METRICS_AUTH_H
#define METRICS_AUTH_H

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

#include "kf_store.h"
#include "kf_subscriber.h"
#include "metrics_config.h"

typedef struct {
    char id[65];     //  principal id
    char role[16];   //  gateway, supervisor, admin, service
    char key[41];    //  CURVE public key (Z85), "" without one or in insecure mode
    char token[65];  //  SHA-256 (hex) of its dashboard token, "" without one
    bool all_shops;  //  may see every shop
    zhashx_t *shops; //  shop ids it may see (set)
} metrics_principal_t;

typedef struct _metrics_auth_t metrics_auth_t;

//  config is borrowed. Caller owns return value.
metrics_auth_t *metrics_auth_new (const metrics_config_t *config);
void metrics_auth_destroy (metrics_auth_t **self_p);

//  Load the keys and start the ZAP handler (secure mode), or warn
//  (insecure). Before any connect or bind. 0, or -1 with the reason in why.
int metrics_auth_start (metrics_auth_t *self, char *why, size_t why_size);
bool metrics_auth_insecure (const metrics_auth_t *self);
//  Make the query endpoint a CURVE server for principals' keys (secure
//  mode; no-op when insecure). Before bind.
void metrics_auth_secure (metrics_auth_t *self, zsock_t *sock);
//  Follow a stream by publication ("intake" or "routing"), with metrics'
//  key in secure mode.
int metrics_auth_follow (metrics_auth_t *self, kf_subscriber_t *sub, const char *stream,
                         const char *endpoint);
//  Watch the query endpoint's handshakes (after bind). Returns the socket
//  that reports them (borrowed), for the loop; NULL when insecure.
zsock_t *metrics_auth_monitor (metrics_auth_t *self, zsock_t *sock);
//  Read the reports waiting on the monitor; count failed handshakes.
void metrics_auth_handle_monitor (metrics_auth_t *self);
int64_t metrics_auth_handshake_failures (const metrics_auth_t *self);

//  Reload principals and shops (and hand the keys to the ZAP handler).
//  0, or -1 (the old cache stays).
int metrics_auth_refresh (metrics_auth_t *self, kf_store_t *store, kf_error_t *err);
bool metrics_auth_loaded (const metrics_auth_t *self);

//  The principal a received frame came from, or NULL when unknown, disabled
//  or its key was replaced since. Borrowed until the next refresh.
const metrics_principal_t *metrics_auth_principal_of (metrics_auth_t *self, zframe_t *frame);
//  The principal whose dashboard token has this SHA-256 (hex), or NULL.
//  Tokens count in insecure mode too (the dashboard always logs in).
//  Borrowed until the next refresh.
const metrics_principal_t *metrics_auth_principal_of_token (metrics_auth_t *self,
                                                            const char *token_sha256);
//  Call fn for every registered shop the principal may see.
typedef void (metrics_auth_shop_fn) (void *arg, const char *shop_id, const char *timezone);
void metrics_auth_each_shop (metrics_auth_t *self, const metrics_principal_t *principal,
                             metrics_auth_shop_fn *fn, void *arg);
//  May the principal see the shop?
bool metrics_auth_in_scope (const metrics_principal_t *principal, const char *shop_id);
//  The shop's time zone (IANA name), or NULL when no such shop is registered.
const char *metrics_auth_shop_timezone (metrics_auth_t *self, const char *shop_id);

#endif
