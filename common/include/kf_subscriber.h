/*  kf_subscriber — applying another service's events exactly once, in order.

    The subscriber listens on a SUB socket for the fast path and reads the
    events table for everything else (start-up, a gap, a slow spell, a
    dropped publication). Each batch of events is applied inside one
    transaction together with the update of this consumer's offsets, so an
    event's effect and "I applied it" commit together: after a crash,
    nothing is applied twice and nothing is skipped.

        kf_subscriber_t *sub = kf_subscriber_new ("routing", store, s_apply, self);
        kf_subscriber_follow (sub, "intake", "tcp://127.0.0.1:5561");
        kf_subscriber_start (sub);                  //  offsets, subscribe, catch up
        ... zloop_reader (loop, kf_subscriber_socket (sub), ...) -> kf_subscriber_handle (sub)
        ... zloop_timer (loop, 1000, 0, ...)        -> kf_subscriber_poll (sub)

    Order is guaranteed per (stream, partition), i.e. per shop; events of
    different partitions may interleave. The handler sees every event of the
    followed streams and partitions (kinds it does not care about it simply
    ignores), so sequence numbers are gap-free and gaps are detectable. */
#ifndef KF_SUBSCRIBER_H
#define KF_SUBSCRIBER_H

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

#include "kefu/v1/events.pb-c.h"
#include "kf_error.h"
#include "kf_outbox.h"
#include "kf_store.h"

typedef struct _kf_subscriber_t kf_subscriber_t;

//  Apply one event inside the subscriber's open transaction. Return 0 when
//  applied (or deliberately ignored), -1 to roll the batch back and retry
//  later (e.g. the store is unavailable). event is borrowed and lives until
//  its batch has been applied (it is unpacked into the subscriber's arena):
//  copy whatever is kept.
typedef int (kf_subscriber_fn) (kf_store_t *store, const Kefu__V1__Event *event, void *arg,
                                kf_error_t *err);

//  A subscriber called `consumer` (its offsets' key) applying events with fn.
//  store is borrowed. Caller owns return value.
kf_subscriber_t *kf_subscriber_new (const char *consumer, kf_store_t *store, kf_subscriber_fn *fn,
                                    void *arg);
void kf_subscriber_destroy (kf_subscriber_t **self_p);

//  Follow a stream; endpoint is the writer's PUB endpoint (NULL: read the
//  events table only). Call before start.
int kf_subscriber_follow (kf_subscriber_t *self, const char *stream, const char *endpoint);
//  The same for a writer whose PUB is a CURVE server (kf_outbox_secure):
//  connect with this subscriber's key pair (cert, borrowed; a service
//  principal's) trusting the writer's public key (Z85). All the streams one
//  subscriber follows by publication use the same mode.
int kf_subscriber_follow_curve (kf_subscriber_t *self, const char *stream, const char *endpoint,
                                zcert_t *cert, const char *server_key);
//  Follow only these partitions (bit i = partition i). Default: all.
void kf_subscriber_set_partitions (kf_subscriber_t *self, uint32_t mask);
//  Events per transaction (default 500).
void kf_subscriber_set_batch (kf_subscriber_t *self, int max_events);
//  Warn (events.lag) when a catch-up finds more than this many events behind.
void kf_subscriber_set_lag_alarm (kf_subscriber_t *self, int64_t events);
//  The handler's own outbox, if it writes events: flushed before each
//  commit, published after it, discarded on rollback.
void kf_subscriber_set_outbox (kf_subscriber_t *self, kf_outbox_t *outbox);
//  Hooks around each batch's transaction, for handlers that keep state
//  beside the store. queue_writes queues what the handlers collected in the
//  store's open pipeline (kf_store_pipeline_add only, no blocking
//  statements): it runs in one round trip with the offsets (return -1 to
//  roll back). after_commit / after_rollback tell the handler whether its
//  in-memory changes became the record. Any may be NULL.
typedef struct {
    int (*queue_writes) (kf_store_t *store, void *arg, kf_error_t *err);
    void (*after_commit) (void *arg);
    void (*after_rollback) (void *arg);
    void *arg;
} kf_subscriber_hooks_t;
void kf_subscriber_set_hooks (kf_subscriber_t *self, const kf_subscriber_hooks_t *hooks);

//  A look at each batch's events before they are applied (with the hooks'
//  arg), to read what they need from the record in one statement rather
//  than one per event. It may use the store (an in-memory handler's
//  transaction under way is then settled first, kf_subscriber_settle);
//  -1 fails the batch as the handler would. NULL: none.
typedef int (kf_subscriber_prepare_fn) (kf_store_t *store, Kefu__V1__Event *const *events,
                                        int count, void *arg, kf_error_t *err);
void kf_subscriber_set_prepare (kf_subscriber_t *self, kf_subscriber_prepare_fn *prepare);

//  The handler runs no SQL of its own (kf_subscriber_fn ignores the store;
//  its writes go through queue_writes): each batch is then ONE round trip,
//  BEGIN ... COMMIT in a single pipeline, and the next batch is applied in
//  memory while PostgreSQL works on it. The transaction under way is
//  settled (results read, events published, after_commit) when the next
//  batch is ready to be sent, when the socket has nothing more, before any
//  other use of the store (kf_store_set_settle), or by
//  kf_subscriber_settle. queue_writes must take only what was decided
//  before it is called (later changes belong to the next batch); if a
//  transaction fails, after_rollback is told once, and the batch applied
//  after it is dropped too: the handler's memory holds both. Default false.
void kf_subscriber_set_in_memory (kf_subscriber_t *self, bool in_memory);
//  Finish the transaction under way, if any. 0, or -1 if it failed.
int kf_subscriber_settle (kf_subscriber_t *self);

//  Fault injection for tests: discard every nth publication received (0 = off).
void kf_subscriber_set_drop_every (kf_subscriber_t *self, int n);

//  Load (or create) offsets, subscribe, and catch up from the table.
//  0 ok, -1 if the store is unavailable (call again later).
int kf_subscriber_start (kf_subscriber_t *self);
bool kf_subscriber_started (const kf_subscriber_t *self);
//  The SUB socket, for a poller or zloop (borrowed).
zsock_t *kf_subscriber_socket (kf_subscriber_t *self);
//  Read the publications waiting on the socket (at most 10,000 per call)
//  and apply what is next in sequence; on a gap, catch up from the table
//  first. Returns events applied, or -1 if a batch failed (it will be
//  retried by poll).
int kf_subscriber_handle (kf_subscriber_t *self);
//  Call on a timer: the only way to notice that the *last* publications
//  were dropped. Takes what is waiting on the socket, then reads the table
//  for each followed (stream, partition) that is behind the newest event
//  written (event_sequences) when the socket had nothing, or when events
//  that existed at the previous poll have still not arrived. Events merely
//  in flight are left to the socket, and so is a stream whose publications
//  fill more than one drain of the socket (a subscriber behind by more than
//  a poll interval): it is judged at the first poll that empties the
//  socket. Also starts the subscriber if it is not started. Returns events
//  applied, or -1.
int kf_subscriber_poll (kf_subscriber_t *self);

//  The last applied sequence of (stream, partition); -1 if not followed.
int64_t kf_subscriber_last_seq (const kf_subscriber_t *self, const char *stream,
                                unsigned partition);

//  Counters.
typedef struct {
    int64_t applied;          //  events applied
    int64_t from_pub;         //  of which arrived by publication
    int64_t from_table;       //  of which were read from the events table
    int64_t stale;            //  publications already applied (skipped)
    int64_t gaps;             //  gaps detected in publications
    int64_t dropped_injected; //  publications discarded by fault injection
    int64_t failed_batches;   //  batches rolled back
    int64_t bad_publications; //  publications that did not parse or are not followed
} kf_subscriber_stats_t;
void kf_subscriber_stats (const kf_subscriber_t *self, kf_subscriber_stats_t *out);

#endif
