/*  intake_auth — who may talk to intake, and for which shops.

    Secure mode (the default): every listening socket is a CURVE server
    with intake's key pair: the gateway and command endpoints let in every
    active principal's key (what each may do is checked per message), the
    events PUB only service (and admin) keys. kf_zap is the ZAP handler,
    started before any bind and fed from the principals table, and
    ZMQ_ZAP_ENFORCE_DOMAIN makes handshakes fail closed if it is missing.
    The cache of principals, their shop scope and the registered shops is
    refreshed every KEFU_INTAKE_AUTH_REFRESH (and on SIGHUP), so a disabled
    key stops working for new connections at the next refresh and for open
    sessions at the same time (every item is re-checked against the cache;
    an events subscription is cut: kf_outbox_rebind).

    A gateway id (part of the de-duplication key) belongs to one principal
    (principal_gateways, kefuctl principal add --gateway-id): a Hello may
    name only an id of its own key.

    Insecure mode (KEFU_INSECURE=1, development only): plain sockets; every
    peer is the principal "dev" with every shop and any gateway id. Loudly
    logged. */
#ifndef INTAKE_AUTH_H
#define INTAKE_AUTH_H

#include <czmq.h>
#include <stdbool.h>

#include "intake_config.h"
#include "kf_outbox.h"
#include "kf_store.h"

typedef struct {
    char id[65];           //  principal id
    char role[16];         //  gateway, supervisor, admin, service
    char key[41];          //  CURVE public key (Z85), "" in insecure mode
    bool all_shops;        //  may act for every shop
    zhashx_t *shops;       //  shop ids it may act for (set)
    zhashx_t *gateway_ids; //  gateway ids registered to it (set)
    bool any_gateway_id;   //  insecure mode: every gateway id is its own
} intake_principal_t;

typedef struct _intake_auth_t intake_auth_t;

//  config is borrowed. Caller owns return value.
intake_auth_t *intake_auth_new (const intake_config_t *config);
void intake_auth_destroy (intake_auth_t **self_p);

//  Secure mode: load intake's key pair and start the ZAP handler (kf_zap).
//  Must run before any socket binds. 0, or -1 with the reason in why.
int intake_auth_start (intake_auth_t *self, char *why, size_t why_size);
//  Make sock a CURVE server under ZAP (secure mode); no-op when insecure.
void intake_auth_secure (intake_auth_t *self, zsock_t *sock);
//  Make the events PUB of outbox a CURVE server for service keys (secure
//  mode); no-op when insecure. Call before kf_outbox_bind.
void intake_auth_secure_events (intake_auth_t *self, kf_outbox_t *outbox);
bool intake_auth_insecure (const intake_auth_t *self);
//  intake's public key (Z85), "" when insecure. Borrowed.
const char *intake_auth_public_key (const intake_auth_t *self);

//  Watch sock's handshakes (call after bind; up to 4 sockets). Returns the
//  socket that reports them (borrowed), for the service's loop; NULL on
//  failure.
zsock_t *intake_auth_monitor (intake_auth_t *self, zsock_t *sock);
//  Read the reports waiting on the monitor sockets; count failed handshakes.
void intake_auth_handle_monitor (intake_auth_t *self);
//  A failed handshake reported by a monitor the caller reads (the gateway
//  socket's, which reports its connections too): count and log it (in
//  insecure mode a peer gone before the greeting ended is abandoned, not
//  failed).
void intake_auth_handshake_failed (intake_auth_t *self, int event, uint32_t value,
                                   const char *endpoint);
//  Handshakes refused (wrong key, plaintext peer on a CURVE endpoint, ...).
int64_t intake_auth_handshake_failures (const intake_auth_t *self);
//  Insecure mode: connections closed before their ZMTP handshake ended (a
//  port check, a gateway stopped while connecting), logged at info and not
//  counted as failures.
int64_t intake_auth_handshakes_abandoned (const intake_auth_t *self);

//  Reload principals and shops from the store and hand the keys to the ZAP
//  handler. 0, or -1 (the old cache stays).
int intake_auth_refresh (intake_auth_t *self, kf_store_t *store);
//  The same in two steps, so that the reading runs on a writer's thread
//  and the loop only applies: principals and shops as stored now (NULL on
//  failure, err set; caller owns return value), then the apply, which
//  takes ownership of *snap_p.
typedef struct _intake_auth_snapshot_t intake_auth_snapshot_t;
intake_auth_snapshot_t *intake_auth_load (kf_store_t *store, kf_error_t *err);
void intake_auth_apply (intake_auth_t *self, intake_auth_snapshot_t **snap_p);
void intake_auth_snapshot_destroy (intake_auth_snapshot_t **self_p);
//  True once a refresh has succeeded.
bool intake_auth_loaded (const intake_auth_t *self);

//  The principal a frame came from (from the connection's ZAP metadata),
//  or NULL when unknown or disabled since. Borrowed until the next refresh.
const intake_principal_t *intake_auth_principal_of (intake_auth_t *self, zframe_t *frame);
//  Is the shop registered?
bool intake_auth_shop_known (const intake_auth_t *self, const char *shop_id);
//  May the principal act for the shop?
bool intake_auth_in_scope (const intake_principal_t *principal, const char *shop_id);
//  May the principal send items (role gateway or admin)?
bool intake_auth_may_send_items (const intake_principal_t *principal);
//  Is gateway_id registered to the principal?
bool intake_auth_owns_gateway (const intake_principal_t *principal, const char *gateway_id);
//  The registered shops (borrowed array, valid until the next refresh).
const char **intake_auth_shops (const intake_auth_t *self, int *count);

#endif
