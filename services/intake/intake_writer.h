/*  intake_writer — stores batches on a connection and in a thread of its own.

    The server hands a batch to an idle writer and goes on reading the
    gateways while PostgreSQL works; with two writers one batch is stored
    while the next is built and stored beside it. A writer stores its batch
    as one transaction (a few attempts on conflicts with the other writer:
    the same customer in both, deadlock, serialisation), or item by item
    when a statement fails for a reason a retry will not fix, so that one
    bad item cannot hold back the others. The batch comes back with every
    item's ack status set; its events are published by the server, which
    owns the PUB socket, before it sends the acks.

        intake_writer_t *w = intake_writer_new (url, 1, cache);
        zloop_reader (loop, intake_writer_socket (w), s_on_done, ...);
        if (!intake_writer_busy (w))
            intake_writer_submit (w, items, count, periods);
        ... s_on_done: items = intake_writer_collect (w, pub, &count, &result);
                       ack items[0..count), then reuse or free the array */
#ifndef INTAKE_WRITER_H
#define INTAKE_WRITER_H

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

#include "intake_item.h"
#include "intake_store.h"

typedef struct _intake_writer_t intake_writer_t;

//  What storing one batch did.
typedef struct {
    intake_batch_result_t batch; //  accepted, duplicates, conflicts, opened, closed
    bool committed;              //  stored as one transaction
    bool failed;                 //  the transaction failed (items then RETRY_LATER or one by one)
    bool one_by_one;             //  ... and the items were stored one by one
    int64_t us;                  //  microseconds spent
    int published;               //  events published by collect
    int publish_failures;        //  events the PUB socket refused
} intake_writer_result_t;

//  A writer with its own connection (application_name kefu-intake-w<index>)
//  and thread, sharing the writers' memory of their customers (cache,
//  borrowed: it must outlive the writer; may be NULL). Caller owns return
//  value.
intake_writer_t *intake_writer_new (const char *database_url, int index, intake_cache_t *cache);
//  The same, its connection named kefu-intake-NAME (intake_writer_new:
//  kefu-intake-w<index>).
intake_writer_t *intake_writer_new_named (const char *database_url, const char *name,
                                          intake_cache_t *cache);
//  Waits for a batch in progress, then stops the thread.
void intake_writer_destroy (intake_writer_t **self_p);

//  Readable when the submitted batch is done (for a zloop reader).
zsock_t *intake_writer_socket (intake_writer_t *self);
bool intake_writer_busy (const intake_writer_t *self);

//  Hand items[0..count) over (validated, shop checked); the array belongs to
//  the writer until collected. periods: the conversation limits.
void intake_writer_submit (intake_writer_t *self, intake_item_t *items, int count,
                           intake_periods_t periods);
//  Once the socket is readable (or to wait for it): take the batch back,
//  statuses set, after publishing its committed events on pub. Returns the
//  array given to submit (count in *count).
intake_item_t *intake_writer_collect (intake_writer_t *self, zsock_t *pub, int *count,
                                      intake_writer_result_t *result);

//  Housekeeping goes through a writer too, so that the loop reading the
//  gateways never waits on PostgreSQL: fn runs on the writer's thread with
//  its connection (ensured; -1 without running when the database is down)
//  and its outbox (events published on collect). arg belongs to the caller
//  but must not be touched until collected.
typedef int (intake_writer_job_fn) (kf_store_t *store, kf_outbox_t *outbox, void *arg);
void intake_writer_run (intake_writer_t *self, intake_writer_job_fn *fn, void *arg);
//  Busy with a job (rather than a batch).
bool intake_writer_has_job (const intake_writer_t *self);
//  Once the socket is readable: publish the job's committed events on pub,
//  set *rc to what fn returned and give arg back.
void *intake_writer_collect_job (intake_writer_t *self, zsock_t *pub, int *rc);

#endif
