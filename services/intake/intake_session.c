/*  intake_session — gateway sessions keyed by routing id. */
#include "intake_session.h"

#include <stdlib.h>
#include <string.h>

struct _intake_sessions_t {
    zhashx_t *by_routing_id; //  hex routing id -> intake_session_t
};

static void
s_session_destroy (void **item_p)
{
    intake_session_t *s = *item_p;
    if (s) {
        zframe_destroy (&s->routing_id);
        free (s);
        *item_p = NULL;
    }
}

intake_sessions_t *
intake_sessions_new (void)
{
    intake_sessions_t *self = calloc (1, sizeof *self);
    self->by_routing_id = zhashx_new ();
    zhashx_set_destructor (self->by_routing_id, s_session_destroy);
    return self;
}

void
intake_sessions_destroy (intake_sessions_t **self_p)
{
    if (self_p && *self_p) {
        zhashx_destroy (&(*self_p)->by_routing_id);
        free (*self_p);
        *self_p = NULL;
    }
}

static void
s_key (zframe_t *routing_id, char *buf, size_t size)
{
    size_t n = zframe_size (routing_id);
    const uint8_t *d = zframe_data (routing_id);
    size_t used = 0;
    for (size_t i = 0; i < n && used + 3 < size; i++)
        used += (size_t) snprintf (buf + used, size - used, "%02x", d[i]);
    buf[used] = '\0';
}

intake_session_t *
intake_sessions_lookup (intake_sessions_t *self, zframe_t *routing_id)
{
    char key[600];
    s_key (routing_id, key, sizeof key);
    return zhashx_lookup (self->by_routing_id, key);
}

intake_session_t *
intake_sessions_open (intake_sessions_t *self, zframe_t *routing_id)
{
    char key[600];
    s_key (routing_id, key, sizeof key);
    intake_session_t *s = calloc (1, sizeof *s);
    s->routing_id = zframe_dup (routing_id);
    s->last_seen = zclock_mono ();
    zhashx_update (self->by_routing_id, key, s);
    return s;
}

void
intake_sessions_remove (intake_sessions_t *self, zframe_t *routing_id)
{
    char key[600];
    s_key (routing_id, key, sizeof key);
    zhashx_delete (self->by_routing_id, key);
}

int
intake_sessions_expire (intake_sessions_t *self, int64_t now_mono, int64_t idle_ms)
{
    zlist_t *gone = zlist_new ();
    zlist_autofree (gone);
    for (intake_session_t *s = zhashx_first (self->by_routing_id); s;
         s = zhashx_next (self->by_routing_id))
        if (now_mono - s->last_seen > idle_ms)
            zlist_append (gone, (void *) zhashx_cursor (self->by_routing_id));
    int n = (int) zlist_size (gone);
    for (char *key = zlist_first (gone); key; key = zlist_next (gone))
        zhashx_delete (self->by_routing_id, key);
    zlist_destroy (&gone);
    return n;
}

size_t
intake_sessions_size (intake_sessions_t *self)
{
    return zhashx_size (self->by_routing_id);
}

int
intake_sessions_serving (intake_sessions_t *self, const char *shop_id, int channel,
                         intake_session_t **out, int max)
{
    int n = 0;
    for (intake_session_t *s = zhashx_first (self->by_routing_id); s && n < max;
         s = zhashx_next (self->by_routing_id))
        for (int i = 0; i < s->serves_count; i++)
            if (s->serves[i].channel == channel && strcmp (s->serves[i].shop_id, shop_id) == 0) {
                out[n++] = s;
                break;
            }
    return n;
}

intake_session_t *
intake_sessions_first (intake_sessions_t *self)
{
    return zhashx_first (self->by_routing_id);
}

intake_session_t *
intake_sessions_next (intake_sessions_t *self)
{
    return zhashx_next (self->by_routing_id);
}
