/*  intake_cache — what a writer knows about the customers it stored last.

    A writer owns the customers hashed to it (intake_server partitions items
    by shop, channel and customer), so after each commit it remembers each
    customer key's kefu customer id, name and VIP flag, and the conversation
    left open. In later batches those customers are not read from the
    customer record and conversations again (intake_store's fast path; a
    batch of only such customers takes one round trip). The cache is a
    hint, never the truth: the write round trip locks the remembered
    conversations and fails (SQLSTATE KF410) unless every one is still
    open; then the keys are forgotten and the batch is done again reading
    everything. A conversation quiet for longer than the quiet period is
    always read (the sweep has probably closed it).

        intake_cache_t *cache = intake_cache_new (100000);
        const intake_cache_entry_t *e = intake_cache_get (cache, key);
        intake_cache_put (cache, key, &entry);
        intake_cache_destroy (&cache); */
#ifndef INTAKE_CACHE_H
#define INTAKE_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct _intake_cache_t intake_cache_t;

typedef struct {
    int64_t customer_ref;   //  kefu customer id
    char *name;             //  display name as stored (NULL: not known)
    bool vip;               //  VIP as stored
    int64_t conv_id;        //  the open conversation (0: none)
    int64_t conv_stored_ms; //  its last_message_at as stored (kept lazily)
    int64_t conv_last_ms;   //  its exact last message time
    int conv_priority;      //  its priority
    int conv_intent;        //  its intent
} intake_cache_entry_t;

//  Remember at most max_entries keys (then start afresh). Caller owns it.
intake_cache_t *intake_cache_new (size_t max_entries);
void intake_cache_destroy (intake_cache_t **self_p);

//  The entry for a customer key ("shop\x1f" "channel\x1f" "ccid"), or NULL.
const intake_cache_entry_t *intake_cache_get (intake_cache_t *self, const char *key);
//  Remember (a copy of) entry for key, replacing what was there.
void intake_cache_put (intake_cache_t *self, const char *key, const intake_cache_entry_t *entry);
void intake_cache_forget (intake_cache_t *self, const char *key);
size_t intake_cache_size (intake_cache_t *self);

#endif
