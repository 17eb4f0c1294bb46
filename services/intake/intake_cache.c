/*  intake_cache — what a writer knows about the customers it stored last. */
#include "intake_cache.h"

#include "kf_shop.h"

#include <czmq.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct _intake_cache_t {
    pthread_mutex_t lock; //  the writers share the cache
    zhashx_t *entries;    //  key -> intake_cache_entry_t (owned)
    size_t max;           //  bound
    int skip;             //  batches left before presuming new customers again
    int backoff;          //  the last pause after a wrong presumption (0: none)
    uint64_t *seen;       //  every customer key stored: a Bloom filter
    bool complete;        //  seen holds every key of the record (loaded)
};

#define S_PRESUME_PAUSE_MIN 16
#define S_PRESUME_PAUSE_MAX 4096
//  The filter of stored keys: 2^25 bits (4 MiB), two bits per key. With a
//  million customers about 0.4 % of unknown keys look seen and are read
//  first (correct, one round trip more); a key stored is never missed.
#define S_SEEN_BITS (1u << 25)

//  Two bit positions of a key: FNV-1a (kf_fnv1a), then again from there.
static void
s_seen_bits (const char *key, uint32_t bits[2])
{
    size_t len = strlen (key);
    uint32_t h1 = kf_fnv1a (2166136261u, key, len);
    uint32_t h2 = kf_fnv1a (h1 ^ 0x9e3779b9u, key, len);
    bits[0] = h1 & (S_SEEN_BITS - 1);
    bits[1] = h2 & (S_SEEN_BITS - 1);
}

static void
s_mark_seen (intake_cache_t *self, const char *key)
{
    uint32_t bits[2];
    s_seen_bits (key, bits);
    for (int i = 0; i < 2; i++)
        self->seen[bits[i] / 64] |= 1ull << (bits[i] % 64);
}

static void
s_entry_free (void **item_p)
{
    intake_cache_entry_t *e = *item_p;
    if (e) {
        free (e->name);
        free (e);
        *item_p = NULL;
    }
}

intake_cache_t *
intake_cache_new (size_t max_entries)
{
    intake_cache_t *self = calloc (1, sizeof *self);
    self->entries = zhashx_new ();
    zhashx_set_destructor (self->entries, s_entry_free);
    self->max = max_entries > 0 ? max_entries : 1;
    self->seen = calloc (S_SEEN_BITS / 64, sizeof (uint64_t));
    //  Resident from the start: memory that stays flat while customers
    //  come, rather than growing page by page.
    for (size_t i = 0; i < S_SEEN_BITS / 64; i += 512)
        ((volatile uint64_t *) self->seen)[i] = 0;
    pthread_mutex_init (&self->lock, NULL);
    return self;
}

void
intake_cache_destroy (intake_cache_t **self_p)
{
    if (self_p && *self_p) {
        zhashx_destroy (&(*self_p)->entries);
        free ((*self_p)->seen);
        pthread_mutex_destroy (&(*self_p)->lock);
        free (*self_p);
        *self_p = NULL;
    }
}

bool
intake_cache_get (intake_cache_t *self, const char *key, intake_cache_entry_t *out)
{
    pthread_mutex_lock (&self->lock);
    const intake_cache_entry_t *e = zhashx_lookup (self->entries, key);
    if (e) {
        *out = *e;
        out->name = e->name ? strdup (e->name) : NULL;
    } else
        memset (out, 0, sizeof *out);
    pthread_mutex_unlock (&self->lock);
    return e != NULL;
}

void
intake_cache_entry_clear (intake_cache_entry_t *entry)
{
    free (entry->name);
    memset (entry, 0, sizeof *entry);
}

//  Store a copy of entry for key; with merge, a NULL name keeps the stored
//  one and a stored VIP flag stays set.
static void
s_put (intake_cache_t *self, const char *key, const intake_cache_entry_t *entry, bool merge)
{
    intake_cache_entry_t *copy = malloc (sizeof *copy);
    *copy = *entry;
    copy->name = entry->name ? strdup (entry->name) : NULL;
    pthread_mutex_lock (&self->lock);
    const intake_cache_entry_t *old = zhashx_lookup (self->entries, key);
    if (merge && old) {
        if (!copy->name && old->name)
            copy->name = strdup (old->name);
        copy->vip = copy->vip || old->vip;
    }
    if (zhashx_size (self->entries) >= self->max && !old)
        zhashx_purge (self->entries); //  simple bound: the busy keys come back at once
    zhashx_update (self->entries, key, copy);
    s_mark_seen (self, key);
    pthread_mutex_unlock (&self->lock);
}

void
intake_cache_put (intake_cache_t *self, const char *key, const intake_cache_entry_t *entry)
{
    s_put (self, key, entry, false);
}

void
intake_cache_learn (intake_cache_t *self, const char *key, const intake_cache_entry_t *entry)
{
    s_put (self, key, entry, true);
}

void
intake_cache_forget (intake_cache_t *self, const char *key)
{
    pthread_mutex_lock (&self->lock);
    zhashx_delete (self->entries, key);
    pthread_mutex_unlock (&self->lock);
}

size_t
intake_cache_size (intake_cache_t *self)
{
    pthread_mutex_lock (&self->lock);
    size_t size = zhashx_size (self->entries);
    pthread_mutex_unlock (&self->lock);
    return size;
}

void
intake_cache_mark_stored (intake_cache_t *self, const char *key)
{
    pthread_mutex_lock (&self->lock);
    s_mark_seen (self, key);
    pthread_mutex_unlock (&self->lock);
}

void
intake_cache_set_complete (intake_cache_t *self)
{
    pthread_mutex_lock (&self->lock);
    self->complete = true;
    pthread_mutex_unlock (&self->lock);
}

bool
intake_cache_maybe_stored (intake_cache_t *self, const char *key)
{
    uint32_t bits[2];
    s_seen_bits (key, bits);
    pthread_mutex_lock (&self->lock);
    //  Until the record's keys are loaded, any key may be stored.
    bool seen = true;
    for (int i = 0; i < 2 && seen && self->complete; i++)
        seen = (self->seen[bits[i] / 64] >> (bits[i] % 64)) & 1;
    pthread_mutex_unlock (&self->lock);
    return seen;
}

bool
intake_cache_presume_new (intake_cache_t *self)
{
    pthread_mutex_lock (&self->lock);
    bool presume = self->complete && self->skip == 0;
    if (self->skip > 0)
        self->skip--;
    pthread_mutex_unlock (&self->lock);
    return presume;
}

void
intake_cache_presumed (intake_cache_t *self, bool held)
{
    pthread_mutex_lock (&self->lock);
    if (held)
        self->backoff = 0;
    else {
        self->backoff = self->backoff ? self->backoff * 2 : S_PRESUME_PAUSE_MIN;
        if (self->backoff > S_PRESUME_PAUSE_MAX)
            self->backoff = S_PRESUME_PAUSE_MAX;
        self->skip = self->backoff;
    }
    pthread_mutex_unlock (&self->lock);
}
