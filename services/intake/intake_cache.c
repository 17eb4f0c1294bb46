/*  intake_cache — what a writer knows about the customers it stored last. */
#include "intake_cache.h"

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
};

#define S_PRESUME_PAUSE_MIN 16
#define S_PRESUME_PAUSE_MAX 4096

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
    pthread_mutex_init (&self->lock, NULL);
    return self;
}

void
intake_cache_destroy (intake_cache_t **self_p)
{
    if (self_p && *self_p) {
        zhashx_destroy (&(*self_p)->entries);
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

bool
intake_cache_presume_new (intake_cache_t *self)
{
    pthread_mutex_lock (&self->lock);
    bool presume = self->skip == 0;
    if (!presume)
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
