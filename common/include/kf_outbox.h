/*  kf_outbox — writing events: stored with the change, then published.

    A service that changes the record adds its events inside its own
    transaction and publishes them after the commit:

        kf_store_begin (store, &err);
        ... the service's own statements ...
        kf_outbox_add (outbox, &event);          //  any number, any shops
        kf_outbox_flush (outbox, &err);          //  reserve sequences, insert rows
        kf_store_commit (store, &err);
        kf_outbox_publish (outbox);              //  or kf_outbox_discard after a rollback

    Sequences are gap-free per (stream, partition) and follow commit order
    (see deploy/migrations/0002_events.sql). Publishing is only a doorbell on a
    PUB socket: frames [topic][Event], topic "<stream>/<pp>/<kind>". A dropped
    publication is recovered by subscribers from the events table. */
#ifndef KF_OUTBOX_H
#define KF_OUTBOX_H

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

#include "kefu/v1/events.pb-c.h"
#include "kf_error.h"
#include "kf_shop.h"
#include "kf_store.h"

typedef struct _kf_outbox_t kf_outbox_t;

//  An outbox writing to `stream` ("intake", "routing", ...) through `store`
//  (borrowed; its statements are registered here). Caller owns return value.
kf_outbox_t *kf_outbox_new (const char *stream, kf_store_t *store);
void kf_outbox_destroy (kf_outbox_t **self_p);

//  Make the PUB socket a CURVE server with cert's key pair (borrowed) that
//  lets in only service keys (kf_zap, domain KF_ZAP_EVENTS; the process's
//  ZAP handler must be running). Call before kf_outbox_bind.
void kf_outbox_secure (kf_outbox_t *self, zcert_t *cert);
//  Bind the PUB socket. Returns the port bound (for tcp://...:*), 0 for
//  other transports, or -1.
int kf_outbox_bind (kf_outbox_t *self, const char *endpoint);
//  Bind the PUB socket's endpoint anew. Unbinding ends the connections
//  accepted through it (libzmq finishes that when the socket is used next:
//  before the next publication goes out): every subscriber connects again
//  and passes the ZAP handler again (after a key was revoked); what they
//  miss meanwhile they read from the events table. 0, or -1.
int kf_outbox_rebind (kf_outbox_t *self);
//  The PUB socket (borrowed).
zsock_t *kf_outbox_socket (kf_outbox_t *self);
//  The stream name (borrowed).
const char *kf_outbox_stream (const kf_outbox_t *self);

//  Add an event to the current transaction. The caller sets shop_id, kind,
//  the payload and (optionally) occurred_at_ms; stream, partition and seq are
//  set here. The event is packed now: it may point at borrowed data.
int kf_outbox_add (kf_outbox_t *self, const Kefu__V1__Event *event);
//  Events added since the last flush/publish/discard.
int kf_outbox_pending (const kf_outbox_t *self);
//  Reserve sequences and insert the pending events (inside the transaction).
int kf_outbox_flush (kf_outbox_t *self, kf_error_t *err) __attribute__ ((warn_unused_result));
//  The same flush queued in the store's open pipeline (kf_store_pipeline_begin),
//  typically right before COMMIT so that the partitions' sequence rows stay
//  locked as briefly as possible; the events get their sequences when the
//  pipeline runs. Once per pipeline.
void kf_outbox_queue_write (kf_outbox_t *self);

//  After COMMIT: publish the flushed events. Returns how many were sent.
//  Events added since the flush (the next transaction's) are kept.
int kf_outbox_publish (kf_outbox_t *self);
//  After ROLLBACK: forget the pending events.
void kf_outbox_discard (kf_outbox_t *self);

//  Deferred publication, for an outbox used in a thread that does not own
//  the PUB socket: kf_outbox_publish then only keeps the committed events
//  (across several transactions), and the owner of the socket, once the
//  thread has handed the outbox back, sends them in commit order with
//  kf_outbox_publish_on (returns how many were sent) and the outbox is
//  empty again.
void kf_outbox_set_deferred (kf_outbox_t *self, bool deferred);
int kf_outbox_publish_on (kf_outbox_t *self, zsock_t *pub);

//  Counters: events published, and publications the socket refused.
int64_t kf_outbox_published (const kf_outbox_t *self);
int64_t kf_outbox_publish_failures (const kf_outbox_t *self);

//  Build a topic "<stream>/<pp>/<kind>" into buf (>= 96 bytes).
const char *kf_outbox_topic (char *buf, size_t size, const char *stream, unsigned partition,
                             const char *kind);

#endif
