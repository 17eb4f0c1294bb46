/*  intake_session — gateway sessions keyed by routing id, bound to their
    connection's socket, one in force per gateway. */
#include "intake_session.h"

#include <stdlib.h>
#include <string.h>

struct _intake_sessions_t {
    zhashx_t *by_routing_id; //  hex routing id -> intake_session_t (owned)
    zhashx_t *by_fd;         //  decimal fd -> the session bound to it (borrowed)
    zhashx_t *by_gateway;    //  principal \x1f gateway id -> the gateway's session (borrowed)
    int64_t replaced;        //  sessions replaced by their gateway's Hello elsewhere
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
    self->by_fd = zhashx_new ();
    self->by_gateway = zhashx_new ();
    return self;
}

void
intake_sessions_destroy (intake_sessions_t **self_p)
{
    if (self_p && *self_p) {
        intake_sessions_t *self = *self_p;
        zhashx_destroy (&self->by_gateway);
        zhashx_destroy (&self->by_fd);
        zhashx_destroy (&self->by_routing_id);
        free (self);
        *self_p = NULL;
    }
}

//  The routing id in hex (looked up for every frame and every ack).
static void
s_key (zframe_t *routing_id, char *buf, size_t size)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = zframe_size (routing_id);
    const uint8_t *d = zframe_data (routing_id);
    size_t used = 0;
    for (size_t i = 0; i < n && used + 3 <= size; i++) {
        buf[used++] = hex[d[i] >> 4];
        buf[used++] = hex[d[i] & 15];
    }
    buf[used] = '\0';
}

static void
s_fd_key (int fd, char *buf, size_t size)
{
    snprintf (buf, size, "%d", fd);
}

static void
s_gateway_key (const intake_session_t *s, char *buf, size_t size)
{
    snprintf (buf, size, "%s\x1f%s", s->principal_id, s->gateway_id);
}

//  > 0 when connection a is newer than b, < 0 when older, 0 when unknown.
//  libzmq gives each connection without a routing id of its own the next
//  number of a counter: 5 bytes, a zero, then the number (big-endian).
static int
s_newer (zframe_t *a, zframe_t *b)
{
    if (zframe_size (a) != 5 || zframe_size (b) != 5 || zframe_data (a)[0] != 0 ||
        zframe_data (b)[0] != 0)
        return 0;
    const uint8_t *x = zframe_data (a) + 1, *y = zframe_data (b) + 1;
    uint32_t nx = (uint32_t) x[0] << 24 | (uint32_t) x[1] << 16 | (uint32_t) x[2] << 8 | x[3];
    uint32_t ny = (uint32_t) y[0] << 24 | (uint32_t) y[1] << 16 | (uint32_t) y[2] << 8 | y[3];
    int32_t d = (int32_t) (nx - ny); //  serial-number order: survives wrapping
    return d > 0 ? 1 : d < 0 ? -1 : 0;
}

intake_session_t *
intake_sessions_lookup (intake_sessions_t *self, zframe_t *routing_id)
{
    char key[600];
    s_key (routing_id, key, sizeof key);
    return zhashx_lookup (self->by_routing_id, key);
}

//  Take s out of the fd and gateway indexes. If it was its gateway's
//  session, the newest other connection of the same gateway takes over.
static void
s_unindex (intake_sessions_t *self, intake_session_t *s)
{
    char key[600];
    if (s->fd >= 0) {
        s_fd_key (s->fd, key, sizeof key);
        if (zhashx_lookup (self->by_fd, key) == s)
            zhashx_delete (self->by_fd, key);
    }
    s_gateway_key (s, key, sizeof key);
    if (zhashx_lookup (self->by_gateway, key) != s)
        return;
    zhashx_delete (self->by_gateway, key);
    intake_session_t *heir = NULL;
    for (intake_session_t *o = zhashx_first (self->by_routing_id); o;
         o = zhashx_next (self->by_routing_id))
        if (o != s && strcmp (o->principal_id, s->principal_id) == 0 &&
            strcmp (o->gateway_id, s->gateway_id) == 0 &&
            (!heir || s_newer (o->routing_id, heir->routing_id) > 0))
            heir = o;
    if (heir)
        zhashx_insert (self->by_gateway, key, heir);
}

intake_session_t *
intake_sessions_open (intake_sessions_t *self, zframe_t *routing_id, int fd,
                      const char *principal_id, const char *gateway_id)
{
    intake_session_t *s = intake_sessions_lookup (self, routing_id);
    char key[600];
    if (fd >= 0) {
        s_fd_key (fd, key, sizeof key);
        intake_session_t *holder = zhashx_lookup (self->by_fd, key);
        if (holder && holder != s) {
            //  Two connections on one fd: the older one has closed.
            if (s_newer (routing_id, holder->routing_id) < 0)
                return NULL;
            intake_sessions_remove (self, holder->routing_id);
        }
    }
    if (s)
        s_unindex (self, s);
    else {
        s = calloc (1, sizeof *s);
        s->routing_id = zframe_dup (routing_id);
        s_key (routing_id, key, sizeof key);
        zhashx_insert (self->by_routing_id, key, s);
    }
    s->fd = fd;
    snprintf (s->principal_id, sizeof s->principal_id, "%s", principal_id);
    snprintf (s->gateway_id, sizeof s->gateway_id, "%s", gateway_id);
    s->serves_count = 0;
    s->last_seen = zclock_mono ();
    if (fd >= 0) {
        s_fd_key (fd, key, sizeof key);
        zhashx_insert (self->by_fd, key, s);
    }
    s_gateway_key (s, key, sizeof key);
    if (zhashx_lookup (self->by_gateway, key))
        self->replaced++; //  another connection's: it keeps its place until it closes
    zhashx_update (self->by_gateway, key, s);
    return s;
}

void
intake_sessions_remove (intake_sessions_t *self, zframe_t *routing_id)
{
    char key[600];
    s_key (routing_id, key, sizeof key); //  before routing_id may go with its session
    intake_session_t *s = zhashx_lookup (self->by_routing_id, key);
    if (s) {
        s_unindex (self, s);
        zhashx_delete (self->by_routing_id, key);
    }
}

intake_session_t *
intake_sessions_of_fd (intake_sessions_t *self, int fd)
{
    char key[32];
    s_fd_key (fd, key, sizeof key);
    return zhashx_lookup (self->by_fd, key);
}

int
intake_sessions_expire (intake_sessions_t *self, int64_t now_mono, int64_t idle_ms)
{
    zlist_t *gone = zlist_new ();
    for (intake_session_t *s = zhashx_first (self->by_routing_id); s;
         s = zhashx_next (self->by_routing_id))
        if (now_mono - s->last_seen > idle_ms)
            zlist_append (gone, zframe_dup (s->routing_id));
    int n = (int) zlist_size (gone);
    zframe_t *routing_id;
    while ((routing_id = zlist_pop (gone))) {
        intake_sessions_remove (self, routing_id);
        zframe_destroy (&routing_id);
    }
    zlist_destroy (&gone);
    return n;
}

size_t
intake_sessions_size (intake_sessions_t *self)
{
    return zhashx_size (self->by_gateway);
}

size_t
intake_sessions_connections (intake_sessions_t *self)
{
    return zhashx_size (self->by_routing_id);
}

int64_t
intake_sessions_replaced (intake_sessions_t *self)
{
    return self->replaced;
}

int
intake_sessions_serving (intake_sessions_t *self, const char *shop_id, int channel,
                         intake_session_t **out, int max)
{
    int n = 0;
    for (intake_session_t *s = zhashx_first (self->by_gateway); s && n < max;
         s = zhashx_next (self->by_gateway))
        for (int i = 0; i < s->serves_count; i++)
            if (s->serves[i].channel == channel && strcmp (s->serves[i].shop_id, shop_id) == 0) {
                out[n++] = s;
                break;
            }
    return n;
}
