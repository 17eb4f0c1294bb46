/*  intake_cache — what a writer knows about the customers it stored last. */
#include "intake_cache.h"

#include <czmq.h>
#include <stdlib.h>
#include <string.h>

struct _intake_cache_t {
    zhashx_t *entries; //  key -> intake_cache_entry_t (owned)
    size_t max;        //  bound
};

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
    return self;
}

void
intake_cache_destroy (intake_cache_t **self_p)
{
    if (self_p && *self_p) {
        zhashx_destroy (&(*self_p)->entries);
        free (*self_p);
        *self_p = NULL;
    }
}

const intake_cache_entry_t *
intake_cache_get (intake_cache_t *self, const char *key)
{
    return zhashx_lookup (self->entries, key);
}

void
intake_cache_put (intake_cache_t *self, const char *key, const intake_cache_entry_t *entry)
{
    if (zhashx_size (self->entries) >= self->max && !zhashx_lookup (self->entries, key))
        zhashx_purge (self->entries); //  simple bound: the busy keys come back at once
    intake_cache_entry_t *copy = malloc (sizeof *copy);
    *copy = *entry;
    copy->name = entry->name ? strdup (entry->name) : NULL;
    zhashx_update (self->entries, key, copy);
}

void
intake_cache_forget (intake_cache_t *self, const char *key)
{
    zhashx_delete (self->entries, key);
}

size_t
intake_cache_size (intake_cache_t *self)
{
    return zhashx_size (self->entries);
}
