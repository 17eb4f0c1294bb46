/*  intake_cache — what intake's writers know about the customers they
    stored last.

    A writer owns the customers hashed to it while it has items of theirs
    (intake_server partitions items by shop, channel and customer; a bucket
    moves to another writer only when nothing of it is waiting or being
    stored), so the writers share one cache, each reading and changing only
    the keys it owns at the time; a mutex guards the table itself. After
    each commit a writer remembers each
    customer key's kefu customer id, name and VIP flag, and the conversation
    left open. In later batches those customers are not read from the
    customer record and conversations again (intake_store's fast path; a
    batch of only such customers takes one round trip). The cache is a
    hint, never the truth: the write round trip locks the remembered
    conversations and fails (SQLSTATE KF410) unless every one is still
    open; then the keys are forgotten and the batch is done again reading
    everything. A conversation expired by its limit (the quiet period, or
    the abandon limit while its customer waits) is always read (the sweep
    has probably closed it). Keys it does not hold
    are presumed new customers while that presumption keeps holding
    (intake_cache_presume_new).

        intake_cache_t *cache = intake_cache_new (200000);
        intake_cache_entry_t e;
        if (intake_cache_get (cache, key, &e)) {
            ... use e ...
            intake_cache_entry_clear (&e);
        }
        intake_cache_put (cache, key, &entry);
        intake_cache_destroy (&cache); */
#ifndef INTAKE_CACHE_H
#define INTAKE_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct _intake_cache_t intake_cache_t;

typedef struct {
    int64_t customer_ref;     //  kefu customer id
    char *name;               //  display name as stored (NULL: not known)
    bool vip;                 //  VIP as stored
    int64_t conv_id;          //  the open conversation (0: none)
    int64_t conv_stored_ms;   //  its last_message_at as stored (kept lazily)
    int64_t conv_last_ms;     //  its exact last message time (sent_at)
    int64_t conv_opened_ms;   //  its opening time
    int64_t conv_customer_ms; //  its latest customer message (0: none)
    int64_t conv_reply_ms;    //  its latest human reply (0: none)
    int64_t conv_previous_id; //  the conversation it follows (0: none)
    int conv_priority;        //  its priority
    int conv_intent;          //  its intent
} intake_cache_entry_t;

//  Remember at most max_entries keys (then start afresh). Caller owns it.
intake_cache_t *intake_cache_new (size_t max_entries);
void intake_cache_destroy (intake_cache_t **self_p);

//  Copy the entry for a customer key ("shop\x1f" "channel\x1f" "ccid")
//  into *out and return true (free it with intake_cache_entry_clear), or
//  return false (*out zeroed).
bool intake_cache_get (intake_cache_t *self, const char *key, intake_cache_entry_t *out);
void intake_cache_entry_clear (intake_cache_entry_t *entry);
//  Remember (a copy of) entry for key, replacing what was there.
void intake_cache_put (intake_cache_t *self, const char *key, const intake_cache_entry_t *entry);
//  The same after a commit: a name the batch did not carry (NULL) stays
//  what was stored, and a VIP flag once seen stays set (one lookup).
void intake_cache_learn (intake_cache_t *self, const char *key, const intake_cache_entry_t *entry);
void intake_cache_forget (intake_cache_t *self, const char *key);
size_t intake_cache_size (intake_cache_t *self);

//  Whether a customer key this cache does not hold should be presumed a
//  new customer (stored with plain inserts, in the same round trip as its
//  messages) rather than read first: only keys the filter of stored keys
//  (below) says are new, and only once that filter is complete. Intake is
//  the only writer of the customer record, so a wrong presumption means
//  someone else wrote it (another intake, a restore); it costs a failed
//  round trip, so after each wrong one the cache stops presuming for a
//  while (16 batches, doubling up to 4,096 while they stay wrong; back to
//  presuming at once after a right one). Call once per batch that has
//  unknown keys; report how it went with intake_cache_presumed.
bool intake_cache_presume_new (intake_cache_t *self);
void intake_cache_presumed (intake_cache_t *self, bool held);

//  Which keys are stored in the customer record, kept apart from the
//  bounded entries (a purge, or a conversation found closed, forgets an
//  entry, not that its customer exists): a filter of fixed size (4 MiB)
//  that may say "stored" of a new key (then it is read first) but never
//  "new" of a stored one. Every key put or learned is marked; at start the
//  server loads the record's keys (intake_store_load_customer_keys) and then
//  calls intake_cache_set_complete. Until then nothing is presumed new.
void intake_cache_mark_stored (intake_cache_t *self, const char *key);
void intake_cache_set_complete (intake_cache_t *self);
//  False only when the key is surely not in the record (complete filter).
bool intake_cache_maybe_stored (intake_cache_t *self, const char *key);

#endif
