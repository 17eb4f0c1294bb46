/*  intake_writer — stores batches on a connection and in a thread of its own. */
#include "intake_writer.h"

#include "kf_log.h"
#include "kf_outbox.h"
#include "kf_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_MAX_ATTEMPTS 3 //  whole-batch attempts on conflicts with the other writer

struct _intake_writer_t {
    zactor_t *actor;               //  the thread; its pipe signals "done"
    kf_store_t *store;             //  own connection (used by the thread only while busy)
    kf_outbox_t *outbox;           //  "intake" events, published by the server (deferred)
    intake_id_pool_t pool;         //  conversation and message ids reserved ahead
    intake_cache_t *cache;         //  the customers the writers stored last (shared, borrowed)
    bool busy;                     //  a batch is submitted and not collected
    intake_item_t *items;          //  the batch (borrowed from the server while busy)
    int count;                     //  items in it
    intake_periods_t periods;      //  the conversation limits for this batch
    intake_writer_result_t result; //  what the thread did
    intake_writer_job_fn *job;     //  the job submitted instead of a batch (NULL: a batch)
    void *job_arg;                 //  its argument (the caller's while busy)
    int job_rc;                    //  what the job returned
};

//  Conflicts with a concurrent writer are worth an immediate retry.
static bool
s_transient (const char *sqlstate)
{
    return strcmp (sqlstate, "23505") == 0 || strcmp (sqlstate, "40P01") == 0 ||
           strcmp (sqlstate, "40001") == 0;
}

//  In the thread: store the batch, set every item's status.
static void
s_store (intake_writer_t *self)
{
    intake_writer_result_t *out = &self->result;
    memset (out, 0, sizeof *out);
    int64_t started = zclock_usecs ();
    kf_error_t err;
    kf_error_clear (&err);
    int rc = -1;
    for (int attempt = 0; attempt < S_MAX_ATTEMPTS && rc != 0; attempt++) {
        if (kf_store_ensure (self->store)) {
            kf_error_set (&err, KEFU__V1__ERROR_CODE__ERROR_STORE_UNAVAILABLE,
                          "database unavailable");
            break;
        }
        kf_error_clear (&err);
        int conflicts = out->batch.unique_conflicts;
        rc = intake_store_write_batch (self->store, self->outbox, &self->pool, self->cache,
                                       self->items, self->count, self->periods, &out->batch, &err);
        out->batch.unique_conflicts += conflicts;
        if (rc != 0 && strcmp (kf_store_sqlstate (self->store), "23505") == 0) {
            out->batch.unique_conflicts++;
            kf_log_warn ("intake.unique_conflict", "items=%d reason=\"%s\"", self->count,
                         err.reason);
        }
        if (rc != 0 && !s_transient (kf_store_sqlstate (self->store)))
            break;
    }
    if (rc == 0)
        out->committed = true;
    else if (kf_error_is_retryable (err.code)) {
        out->failed = true;
        for (int i = 0; i < self->count; i++) {
            self->items[i].status = KEFU__V1__ACK_STATUS__ACK_RETRY_LATER;
            self->items[i].error = err;
        }
    } else {
        //  A statement failed for a reason that retrying the whole batch
        //  will not fix: store the items one by one so one bad item cannot
        //  hold back the others; it alone is REJECTED as internal.
        out->failed = true;
        out->one_by_one = true;
        kf_log_error ("intake.batch_failed", "items=%d reason=\"%s\" action=one_by_one",
                      self->count, err.reason);
        for (int i = 0; i < self->count; i++) {
            intake_item_t *item = &self->items[i];
            intake_batch_result_t one;
            kf_error_t one_err;
            kf_error_clear (&one_err);
            //  Ids from the writer's pool as always (message ids then keep
            //  growing with arrival within a conversation).
            if (intake_store_write_batch (self->store, self->outbox, &self->pool, NULL, item, 1,
                                          self->periods, &one, &one_err) == 0) {
                out->batch.accepted += one.accepted;
                out->batch.duplicates += one.duplicates;
                out->batch.conflicts += one.conflicts;
                out->batch.opened += one.opened;
                out->batch.closed += one.closed;
                out->batch.unique_conflicts += one.unique_conflicts;
                continue;
            }
            //  A conflict with another writer is not the item's fault.
            bool retry = kf_error_is_retryable (one_err.code) ||
                         s_transient (kf_store_sqlstate (self->store));
            item->status =
                retry ? KEFU__V1__ACK_STATUS__ACK_RETRY_LATER : KEFU__V1__ACK_STATUS__ACK_REJECTED;
            item->error = one_err;
        }
    }
    out->us = zclock_usecs () - started;
}

static void
s_actor (zsock_t *pipe, void *arg)
{
    intake_writer_t *self = arg;
    zsock_signal (pipe, 0);
    while (true) {
        char *command = zstr_recv (pipe);
        if (!command)
            break; //  interrupted
        bool term = streq (command, "$TERM");
        if (streq (command, "WRITE")) {
            s_store (self);
            zsock_signal (pipe, 0);
        } else if (streq (command, "JOB")) {
            self->job_rc = kf_store_ensure (self->store) == 0
                               ? self->job (self->store, self->outbox, self->job_arg)
                               : -1;
            zsock_signal (pipe, 0);
        }
        zstr_free (&command);
        if (term)
            break;
    }
}

intake_writer_t *
intake_writer_new (const char *database_url, int index, intake_cache_t *cache)
{
    char name[32];
    snprintf (name, sizeof name, "w%d", index);
    return intake_writer_new_named (database_url, name, cache);
}

intake_writer_t *
intake_writer_new_named (const char *database_url, const char *name, intake_cache_t *cache)
{
    intake_writer_t *self = calloc (1, sizeof *self);
    char application[64];
    snprintf (application, sizeof application, "kefu-intake-%s", name);
    self->store = kf_store_new (database_url, application);
    kf_store_set_batch_plans (self->store, true); //  batch statements only
    intake_store_register (self->store);
    self->outbox = kf_outbox_new ("intake", self->store);
    self->cache = cache;
    kf_outbox_set_deferred (self->outbox, true);
    self->actor = zactor_new (s_actor, self);
    return self;
}

void
intake_writer_destroy (intake_writer_t **self_p)
{
    if (self_p && *self_p) {
        intake_writer_t *self = *self_p;
        if (self->busy)
            zsock_wait (self->actor); //  let the batch in progress finish
        zactor_destroy (&self->actor);
        kf_outbox_destroy (&self->outbox);
        kf_store_destroy (&self->store);
        intake_id_pool_clear (&self->pool);
        free (self);
        *self_p = NULL;
    }
}

zsock_t *
intake_writer_socket (intake_writer_t *self)
{
    return zactor_sock (self->actor);
}

bool
intake_writer_busy (const intake_writer_t *self)
{
    return self->busy;
}

void
intake_writer_submit (intake_writer_t *self, intake_item_t *items, int count,
                      intake_periods_t periods)
{
    assert (!self->busy);
    self->items = items;
    self->count = count;
    self->periods = periods;
    self->busy = true;
    zstr_send (self->actor, "WRITE");
}

intake_item_t *
intake_writer_collect (intake_writer_t *self, zsock_t *pub, int *count,
                       intake_writer_result_t *result)
{
    assert (self->busy && !self->job);
    zsock_wait (self->actor);
    self->busy = false;
    int64_t failures = kf_outbox_publish_failures (self->outbox);
    self->result.published = kf_outbox_publish_on (self->outbox, pub);
    self->result.publish_failures = kf_outbox_publish_failures (self->outbox) - failures;
    *result = self->result;
    *count = self->count;
    intake_item_t *items = self->items;
    self->items = NULL;
    self->count = 0;
    return items;
}

void
intake_writer_run (intake_writer_t *self, intake_writer_job_fn *fn, void *arg)
{
    assert (!self->busy);
    assert (fn);
    self->job = fn;
    self->job_arg = arg;
    self->busy = true;
    zstr_send (self->actor, "JOB");
}

bool
intake_writer_has_job (const intake_writer_t *self)
{
    return self->busy && self->job;
}

void *
intake_writer_collect_job (intake_writer_t *self, zsock_t *pub, int *rc)
{
    assert (self->busy && self->job);
    zsock_wait (self->actor);
    self->busy = false;
    kf_outbox_publish_on (self->outbox, pub);
    *rc = self->job_rc;
    void *arg = self->job_arg;
    self->job = NULL;
    self->job_arg = NULL;
    return arg;
}
