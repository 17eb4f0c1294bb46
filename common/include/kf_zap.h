/*  kf_zap — who may connect to a kefu service's CURVE sockets.

    libzmq asks a ZAP handler (ZeroMQ RFC 27) about every CURVE handshake
    on a socket that has a ZAP domain. kf_zap is that handler: a thread
    bound to inproc://zeromq.zap.01 of czmq's context before any CURVE
    socket binds, answering from the principals its owner hands it (made by
    kefuctl principal add: the active ones with a key), by domain:

      KF_ZAP_CLIENTS  gateway and command endpoints: every active principal
                      (what each may do is checked per message by the service)
      KF_ZAP_EVENTS   event PUBs: principals of role service or admin only,
                      so a gateway's key reads no events, and a peer without
                      a registered key reads nothing

    An accepted connection carries the principal's id, key and role as ZAP
    metadata ("principal", "key", "role"; zframe_meta, zmq_msg_gets). A CURVE
    server socket made by kf_zap_curve_server also has ZMQ_ZAP_ENFORCE_DOMAIN:
    with no handler its handshakes fail closed. libzmq takes one ZAP handler
    per context: one kf_zap per process (kf_zap_new fails for a second).

        kf_zap_t *zap = kf_zap_new (why, sizeof why);          //  before any bind
        kf_zap_curve_server (pub, cert, KF_ZAP_EVENTS);
        kf_zap_load (zap, store, &err);                         //  on start, then on a timer
        zsock_t *monitor = kf_zap_monitor (pub);                //  failed handshakes
        ... readable: failures += kf_zap_failures (monitor, "routing.handshake_failed"); */
#ifndef KF_ZAP_H
#define KF_ZAP_H

#include <czmq.h>
#include <stdbool.h>

#include "kf_error.h"
#include "kf_store.h"

#define KF_ZAP_CLIENTS "kefu"        //  ZAP domain of gateway and command endpoints
#define KF_ZAP_EVENTS  "kefu.events" //  ZAP domain of event PUBs

typedef struct _kf_zap_t kf_zap_t;

//  Start the handler; until the first commit it refuses everyone. NULL
//  with the reason in why when another handler already runs in this
//  process. Caller owns return value.
kf_zap_t *kf_zap_new (char *why, size_t why_size);
void kf_zap_destroy (kf_zap_t **self_p);

//  Add a principal to the set the next kf_zap_commit puts in force.
void kf_zap_allow (kf_zap_t *self, const char *principal, const char *role, const char *key);
//  What a commit changed. A handshake is judged once: connections made
//  with a key that is revoked since stay open until the socket closes them
//  (kf_outbox_rebind does that for an events PUB).
typedef enum {
    KF_ZAP_SAME = 0,    //  the same principals as before
    KF_ZAP_ADDED = 1,   //  principals added, none taken away
    KF_ZAP_REVOKED = 2, //  a key was removed, or its principal or role changed
} kf_zap_change_t;

//  Put the set built by kf_zap_allow since the last commit in force (an
//  empty one if none was added): once this returns, handshakes are judged
//  by it.
kf_zap_change_t kf_zap_commit (kf_zap_t *self);
//  Read the active principals with a key from store and commit them.
//  Returns the kf_zap_change_t, or -1 with err set (the set in force stays).
int kf_zap_load (kf_zap_t *self, kf_store_t *store, kf_error_t *err)
    __attribute__ ((warn_unused_result));

//  A key pair from a file (the _secret file of kefuctl principal add
//  --generate). NULL with the reason in why when it holds no secret key.
//  Caller owns return value.
zcert_t *kf_zap_key_pair (const char *path, char *why, size_t why_size);
//  A public key (Z85) into key: z85 itself when not empty, else the one in
//  file (a public .key file or a key pair). 0, or -1 with the reason in why.
int kf_zap_public_key (const char *z85, const char *file, char key[41], char *why, size_t why_size);

//  Make sock a CURVE server with cert's key pair (borrowed) in a ZAP
//  domain, failing closed without a handler. Call before bind.
void kf_zap_curve_server (zsock_t *sock, zcert_t *cert, const char *domain);
//  Make sock a CURVE client with cert's key pair (borrowed), trusting the
//  server key (Z85). Call before connect.
void kf_zap_curve_client (zsock_t *sock, zcert_t *cert, const char *server_key);

//  The handshake failures a monitor reports: a wrong or unknown key, a
//  plaintext peer on a CURVE endpoint, a role the domain refuses.
#define KF_ZAP_FAILED                                                                              \
    (ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |                  \
     ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)

//  Report sock's handshake events (a mask of ZMQ_EVENT_*, e.g.
//  KF_ZAP_FAILED, or connections: ZMQ_EVENT_ACCEPTED, ZMQ_EVENT_DISCONNECTED
//  with the connection's fd as value) to a new PAIR socket with no
//  high-water mark. libzmq takes one monitor per socket: a second replaces
//  the first. Caller owns return value; NULL on failure.
zsock_t *kf_zap_monitor (zsock_t *sock, int events);
//  Stop reporting sock's events, then destroy its monitor (NULL-safe; nulls
//  *monitor_p). Destroyed first, the monitor would leave libzmq's I/O
//  thread blocked on the next event for it.
void kf_zap_monitor_destroy (zsock_t *sock, zsock_t **monitor_p);
//  The next report waiting on a kf_zap_monitor socket (never blocks): 1
//  with *event, *value (a ZAP status, a protocol error) and the endpoint
//  (into a buffer of endpoint_size), or 0 when none is waiting.
int kf_zap_monitor_read (zsock_t *monitor, int *event, uint32_t *value, char *endpoint,
                         size_t endpoint_size);
//  Read the reports waiting on a KF_ZAP_FAILED monitor, log each at warn as
//  `event`, and return how many failed handshakes they were.
int kf_zap_failures (zsock_t *monitor, const char *event);

#endif
