/*  kf_zap — the ZAP handler: principals by key, domains by role. */
#include "kf_zap.h"

#include "kf_log.h"
#include "kf_wire.h"

#include <assert.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

//  libzmq 4.3 has this option outside its draft API guard in the library
//  but declares it only with ZMQ_BUILD_DRAFT_API.
#ifndef ZMQ_ZAP_ENFORCE_DOMAIN
#define ZMQ_ZAP_ENFORCE_DOMAIN 93
#endif

#define S_ZAP_ENDPOINT "inproc://zeromq.zap.01"

typedef struct {
    char id[65];   //  principal id
    char role[16]; //  gateway, supervisor, admin, service
} s_principal_t;

struct _kf_zap_t {
    zactor_t *actor;   //  the handler thread
    zhashx_t *current; //  Z85 key -> s_principal_t: a copy of the set in force
    zhashx_t *next;    //  the set kf_zap_allow builds, NULL until the first allow
};

static void *
s_principal_dup (const void *item)
{
    s_principal_t *copy = malloc (sizeof *copy);
    memcpy (copy, item, sizeof *copy);
    return copy;
}

static void
s_principal_free (void **item_p)
{
    free (*item_p);
    *item_p = NULL;
}

static zhashx_t *
s_set_new (void)
{
    zhashx_t *set = zhashx_new ();
    zhashx_set_duplicator (set, s_principal_dup);
    zhashx_set_destructor (set, s_principal_free);
    return set;
}

//  ---------------------------------------------------------------------
//  The handler thread

//  One ZMTP property (RFC 23): name length (1 octet), name, value length
//  (4 octets, network order), value.
static size_t
s_property (uint8_t *out, const char *name, const char *value)
{
    size_t n = strlen (name), v = strlen (value);
    out[0] = (uint8_t) n;
    memcpy (out + 1, name, n);
    out[1 + n] = (uint8_t) (v >> 24);
    out[2 + n] = (uint8_t) (v >> 16);
    out[3 + n] = (uint8_t) (v >> 8);
    out[4 + n] = (uint8_t) v;
    memcpy (out + 5 + n, value, v);
    return 5 + n + v;
}

//  Judge one handshake: the principal, or NULL with the reason.
static const s_principal_t *
s_judge (zhashx_t *set, const char *domain, const char *mechanism, zframe_t *credentials, char *key,
         const char **why)
{
    key[0] = '\0';
    if (strcmp (mechanism, "CURVE") != 0 || !credentials || zframe_size (credentials) != 32) {
        *why = "not a CURVE handshake";
        return NULL;
    }
    zmq_z85_encode (key, zframe_data (credentials), 32);
    const s_principal_t *p = zhashx_lookup (set, key);
    if (!p) {
        *why = "unknown or disabled key";
        return NULL;
    }
    if (strcmp (domain, KF_ZAP_CLIENTS) == 0)
        return p;
    if (strcmp (domain, KF_ZAP_EVENTS) == 0) {
        if (strcmp (p->role, "service") == 0 || strcmp (p->role, "admin") == 0)
            return p;
        *why = "events are for service keys only";
        return NULL;
    }
    *why = "unknown ZAP domain";
    return NULL;
}

//  Answer one ZAP request (RFC 27): version, request id, domain, address,
//  identity, mechanism, credentials.
static void
s_answer (zsock_t *zap, zhashx_t *set)
{
    zmsg_t *request = zmsg_recv (zap);
    if (!request)
        return;
    char *version = zmsg_popstr (request);
    zframe_t *request_id = zmsg_pop (request);
    char *domain = zmsg_popstr (request);
    char *address = zmsg_popstr (request);
    zframe_t *identity = zmsg_pop (request);
    char *mechanism = zmsg_popstr (request);
    zframe_t *credentials = zmsg_pop (request);
    char key[41];
    const char *why = "malformed ZAP request";
    const s_principal_t *p = NULL;
    if (version && strcmp (version, "1.0") == 0 && request_id && domain && address && mechanism)
        p = s_judge (set, domain, mechanism, credentials, key, &why);
    zmsg_t *reply = zmsg_new ();
    zmsg_addstr (reply, "1.0");
    zmsg_addmem (reply, request_id ? zframe_data (request_id) : NULL,
                 request_id ? zframe_size (request_id) : 0);
    if (p) {
        uint8_t metadata[512];
        size_t size = s_property (metadata, "principal", p->id);
        size += s_property (metadata + size, "key", key);
        size += s_property (metadata + size, "role", p->role);
        zmsg_addstr (reply, "200");
        zmsg_addstr (reply, "OK");
        zmsg_addstr (reply, p->id);
        zmsg_addmem (reply, metadata, size);
    } else {
        kf_log_info ("zap.refused", "domain=%s peer=%s key=%s reason=\"%s\"", domain ? domain : "",
                     address ? address : "", key[0] ? key : "-", why);
        zmsg_addstr (reply, "400");
        zmsg_addstr (reply, why);
        zmsg_addstr (reply, "");
        zmsg_addstr (reply, "");
    }
    zmsg_send (&reply, zap);
    zstr_free (&version);
    zstr_free (&domain);
    zstr_free (&address);
    zstr_free (&mechanism);
    zframe_destroy (&request_id);
    zframe_destroy (&identity);
    zframe_destroy (&credentials);
    zmsg_destroy (&request);
}

//  The actor: takes ownership of the bound ZAP socket (args). Pipe
//  commands: KEYS <set> (takes ownership of the set; signals when in
//  force) and $TERM.
static void
s_handler (zsock_t *pipe, void *args)
{
    zsock_t *zap = args;
    zhashx_t *set = s_set_new ();
    zpoller_t *poller = zpoller_new (pipe, zap, NULL);
    zsock_signal (pipe, 0);
    bool running = true;
    while (running) {
        void *which = zpoller_wait (poller, -1);
        if (which == zap)
            s_answer (zap, set);
        else if (which == pipe) {
            char *command = NULL;
            zhashx_t *fresh = NULL;
            if (zsock_recv (pipe, "sp", &command, &fresh) == -1 || !command ||
                strcmp (command, "$TERM") == 0)
                running = false;
            else if (strcmp (command, "KEYS") == 0 && fresh) {
                zhashx_destroy (&set);
                set = fresh;
                zsock_signal (pipe, 0);
            }
            zstr_free (&command);
        } else
            running = false; //  interrupted
    }
    zpoller_destroy (&poller);
    zhashx_destroy (&set);
    //  Closing a socket frees its endpoints only once libzmq has ended its
    //  pipes (later, in another thread); unbinding frees an inproc name at
    //  once, so a handler started after kf_zap_destroy can bind it.
    zsock_unbind (zap, S_ZAP_ENDPOINT);
    zsock_destroy (&zap);
}

//  ---------------------------------------------------------------------
//  The owner's side

kf_zap_t *
kf_zap_new (char *why, size_t why_size)
{
    zsock_t *zap = zsock_new (ZMQ_REP);
    if (!zap || zsock_bind (zap, S_ZAP_ENDPOINT) == -1) {
        snprintf (why, why_size, "cannot start the ZAP handler: %s (one CURVE service per process)",
                  zmq_strerror (zmq_errno ()));
        zsock_destroy (&zap);
        return NULL;
    }
    kf_zap_t *self = calloc (1, sizeof *self);
    self->current = s_set_new ();
    self->actor = zactor_new (s_handler, zap);
    return self;
}

void
kf_zap_destroy (kf_zap_t **self_p)
{
    if (self_p && *self_p) {
        kf_zap_t *self = *self_p;
        zactor_destroy (&self->actor);
        zhashx_destroy (&self->current);
        zhashx_destroy (&self->next);
        free (self);
        *self_p = NULL;
    }
}

void
kf_zap_allow (kf_zap_t *self, const char *principal, const char *role, const char *key)
{
    assert (self);
    if (!self->next)
        self->next = s_set_new ();
    s_principal_t p;
    memset (&p, 0, sizeof p);
    snprintf (p.id, sizeof p.id, "%s", principal);
    snprintf (p.role, sizeof p.role, "%s", role);
    zhashx_update (self->next, key, &p);
}

//  Is every principal of `a` in `b`, with the same id and role?
static bool
s_subset (zhashx_t *a, zhashx_t *b)
{
    for (s_principal_t *p = zhashx_first (a); p; p = zhashx_next (a)) {
        const s_principal_t *q = zhashx_lookup (b, zhashx_cursor (a));
        if (!q || strcmp (p->id, q->id) != 0 || strcmp (p->role, q->role) != 0)
            return false;
    }
    return true;
}

kf_zap_change_t
kf_zap_commit (kf_zap_t *self)
{
    assert (self);
    zhashx_t *next = self->next ? self->next : s_set_new ();
    self->next = NULL;
    kf_zap_change_t change = !s_subset (self->current, next)                     ? KF_ZAP_REVOKED
                             : zhashx_size (next) != zhashx_size (self->current) ? KF_ZAP_ADDED
                                                                                 : KF_ZAP_SAME;
    if (change == KF_ZAP_SAME) {
        zhashx_destroy (&next);
        return change;
    }
    zhashx_t *copy = zhashx_dup (next);
    zsock_send (self->actor, "sp", "KEYS", copy); //  the handler owns copy now
    zsock_wait (self->actor);
    zhashx_destroy (&self->current);
    self->current = next;
    kf_log_info ("zap.principals", "count=%zu revoked=%d", zhashx_size (next),
                 change == KF_ZAP_REVOKED);
    return change;
}

static int
s_on_principals (const PGresult *res, void *arg)
{
    for (int i = 0; i < PQntuples (res); i++)
        kf_zap_allow ((kf_zap_t *) arg, kf_store_text (res, i, 0), kf_store_text (res, i, 1),
                      kf_store_text (res, i, 2));
    return 0;
}

int
kf_zap_load (kf_zap_t *self, kf_store_t *store, kf_error_t *err)
{
    zhashx_destroy (&self->next);
    if (kf_store_exec_sql (store,
                           "SELECT principal_id, role, public_key FROM principals "
                           "WHERE disabled_at IS NULL AND public_key IS NOT NULL",
                           NULL, s_on_principals, self, err)) {
        zhashx_destroy (&self->next);
        return -1;
    }
    return (int) kf_zap_commit (self);
}

zcert_t *
kf_zap_key_pair (const char *path, char *why, size_t why_size)
{
    zcert_t *cert = path && *path ? zcert_load (path) : NULL;
    if (!cert || strlen (zcert_secret_txt (cert)) != 40 ||
        strcmp (zcert_secret_txt (cert), "0000000000000000000000000000000000000000") == 0) {
        snprintf (why, why_size, "cannot load a key pair (a _secret file) from %s", path);
        zcert_destroy (&cert);
    }
    return cert;
}

int
kf_zap_public_key (const char *z85, const char *file, char key[41], char *why, size_t why_size)
{
    uint8_t raw[32];
    if (z85 && *z85) {
        if (strlen (z85) != 40 || !zmq_z85_decode (raw, z85)) {
            snprintf (why, why_size, "\"%s\" is not a public key (40 Z85 characters)", z85);
            return -1;
        }
        snprintf (key, 41, "%s", z85);
        return 0;
    }
    zcert_t *cert = file && *file ? zcert_load (file) : NULL;
    if (!cert) {
        snprintf (why, why_size, "cannot load a public key from %s", file && *file ? file : "\"\"");
        return -1;
    }
    snprintf (key, 41, "%s", zcert_public_txt (cert));
    zcert_destroy (&cert);
    return 0;
}

void
kf_zap_curve_server (zsock_t *sock, zcert_t *cert, const char *domain)
{
    zcert_apply (cert, sock);
    zsock_set_curve_server (sock, 1);
    zsock_set_zap_domain (sock, domain);
    //  Fail closed: without a ZAP handler, handshakes are refused.
    int enforce = 1;
    zmq_setsockopt (zsock_resolve (sock), ZMQ_ZAP_ENFORCE_DOMAIN, &enforce, sizeof enforce);
}

void
kf_zap_curve_client (zsock_t *sock, zcert_t *cert, const char *server_key)
{
    zcert_apply (cert, sock);
    zsock_set_curve_serverkey (sock, server_key);
}

zsock_t *
kf_zap_monitor (zsock_t *sock, int events)
{
    //  A socket's address can come back for a new socket while libzmq
    //  still holds the old one's monitor endpoint (sockets are reaped in
    //  the background), so the name carries a process-wide sequence.
    static atomic_uint s_monitors;
    char endpoint[64];
    snprintf (endpoint, sizeof endpoint, "inproc://kf-zap-monitor-%u-%p",
              atomic_fetch_add (&s_monitors, 1), (void *) sock);
    if (zmq_socket_monitor (zsock_resolve (sock), endpoint, events) == -1)
        return NULL;
    //  libzmq blocks its I/O thread (every socket's traffic) while a
    //  monitor's queue is full; an inproc pipe is unbounded when the
    //  receiving side's RCVHWM is 0.
    zsock_t *monitor = zsock_new (ZMQ_PAIR);
    zsock_set_rcvhwm (monitor, 0);
    if (zsock_connect (monitor, "%s", endpoint) == -1) {
        zmq_socket_monitor (zsock_resolve (sock), NULL, 0);
        zsock_destroy (&monitor);
    }
    return monitor;
}

void
kf_zap_monitor_destroy (zsock_t *sock, zsock_t **monitor_p)
{
    if (monitor_p && *monitor_p) {
        if (sock)
            zmq_socket_monitor (zsock_resolve (sock), NULL, 0);
        zsock_destroy (monitor_p);
    }
}

int
kf_zap_monitor_read (zsock_t *monitor, int *event, uint32_t *value, char *endpoint,
                     size_t endpoint_size)
{
    while (true) {
        zmsg_t *msg = kf_wire_recv_nowait (monitor);
        if (!msg)
            return 0;
        //  Frame 1: uint16 event + uint32 value; frame 2: the endpoint.
        zframe_t *head = zmsg_first (msg);
        zframe_t *addr = zmsg_next (msg);
        bool valid = head && zframe_size (head) >= 6;
        if (valid) {
            uint16_t code;
            memcpy (&code, zframe_data (head), 2);
            memcpy (value, zframe_data (head) + 2, 4);
            *event = code;
            snprintf (endpoint, endpoint_size, "%.*s", addr ? (int) zframe_size (addr) : 0,
                      addr ? (const char *) zframe_data (addr) : "");
        }
        zmsg_destroy (&msg);
        if (valid)
            return 1;
    }
}

int
kf_zap_failures (zsock_t *monitor, const char *event)
{
    int failures = 0, code;
    uint32_t value;
    char endpoint[256];
    while (kf_zap_monitor_read (monitor, &code, &value, endpoint, sizeof endpoint)) {
        failures++;
        kf_log_warn (event, "event=0x%x status=%u endpoint=\"%s\"", code, value, endpoint);
    }
    return failures;
}
