/*  metrics_auth — CURVE on the query endpoint, a ZAP handler served by the
    service's loop, the principal cache and the shops' time zones. */
#include "metrics_auth.h"

#include "kf_log.h"
#include "metrics_store.h"

#include <stdlib.h>
#include <string.h>

//  libzmq 4.3 has this option outside its draft API guard in the library
//  but declares it only with ZMQ_BUILD_DRAFT_API.
#ifndef ZMQ_ZAP_ENFORCE_DOMAIN
#define ZMQ_ZAP_ENFORCE_DOMAIN 93
#endif

#define S_ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define S_ZAP_DOMAIN   "kefu.metrics"

struct _metrics_auth_t {
    bool insecure;           //  KEFU_INSECURE
    zcert_t *cert;           //  metrics' key pair (secure mode)
    zsock_t *zap;            //  the ZAP handler (secure mode)
    zhashx_t *principals;    //  principal id -> metrics_principal_t
    zhashx_t *keys;          //  public key (Z85) -> principal id
    zhashx_t *shops;         //  shop id -> time zone (strdup'd)
    metrics_principal_t dev; //  the insecure-mode principal
    bool loaded;             //  a refresh succeeded
    int64_t denied;          //  handshakes refused
};

static void
s_principal_destroy (void **item_p)
{
    metrics_principal_t *p = *item_p;
    if (p) {
        zhashx_destroy (&p->shops);
        free (p);
        *item_p = NULL;
    }
}

static void
s_free (void **item_p)
{
    free (*item_p);
    *item_p = NULL;
}

static zhashx_t *
s_principal_map (void)
{
    zhashx_t *map = zhashx_new ();
    zhashx_set_destructor (map, s_principal_destroy);
    return map;
}

static zhashx_t *
s_string_map (void)
{
    zhashx_t *map = zhashx_new ();
    zhashx_set_destructor (map, s_free);
    return map;
}

metrics_auth_t *
metrics_auth_new (bool insecure)
{
    metrics_auth_t *self = calloc (1, sizeof *self);
    self->insecure = insecure;
    self->principals = s_principal_map ();
    self->keys = s_string_map ();
    self->shops = s_string_map ();
    snprintf (self->dev.id, sizeof self->dev.id, "dev");
    snprintf (self->dev.role, sizeof self->dev.role, "admin");
    self->dev.all_shops = true;
    return self;
}

void
metrics_auth_destroy (metrics_auth_t **self_p)
{
    if (self_p && *self_p) {
        metrics_auth_t *self = *self_p;
        zsock_destroy (&self->zap);
        zcert_destroy (&self->cert);
        zhashx_destroy (&self->principals);
        zhashx_destroy (&self->keys);
        zhashx_destroy (&self->shops);
        free (self);
        *self_p = NULL;
    }
}

bool
metrics_auth_insecure (const metrics_auth_t *self)
{
    return self->insecure;
}

const char *
metrics_auth_public_key (const metrics_auth_t *self)
{
    return self->cert ? zcert_public_txt (self->cert) : "";
}

zsock_t *
metrics_auth_zap (metrics_auth_t *self)
{
    return self->zap;
}

int64_t
metrics_auth_denied (const metrics_auth_t *self)
{
    return self->denied;
}

int
metrics_auth_start (metrics_auth_t *self, const char *secret_key_file, char *why, size_t why_size)
{
    if (self->insecure) {
        kf_log_warn ("metrics.insecure",
                     "note=\"KEFU_INSECURE=1: queries are NOT authenticated and every peer may "
                     "read every shop. Development only.\"");
        return 0;
    }
    if (!secret_key_file || !*secret_key_file) {
        snprintf (why, why_size,
                  "KEFU_METRICS_SECRET_KEY_FILE is not set (make a key pair with: kefuctl "
                  "principal add metrics --role service --all-shops --generate DIR), or set "
                  "KEFU_INSECURE=1 for local development");
        return -1;
    }
    self->cert = zcert_load (secret_key_file);
    if (!self->cert || strlen (zcert_secret_txt (self->cert)) != 40 ||
        strcmp (zcert_secret_txt (self->cert), "0000000000000000000000000000000000000000") == 0) {
        snprintf (why, why_size, "cannot load a key pair from KEFU_METRICS_SECRET_KEY_FILE=%s",
                  secret_key_file);
        return -1;
    }
    self->zap = zsock_new (ZMQ_REP);
    if (!self->zap || zsock_bind (self->zap, S_ZAP_ENDPOINT) != 0) {
        snprintf (why, why_size,
                  "cannot bind the ZAP handler (%s): another one runs in this process",
                  S_ZAP_ENDPOINT);
        return -1;
    }
    kf_log_info ("metrics.curve", "public_key=\"%s\"", zcert_public_txt (self->cert));
    return 0;
}

void
metrics_auth_secure (metrics_auth_t *self, zsock_t *sock)
{
    if (self->insecure)
        return;
    zcert_apply (self->cert, sock);
    zsock_set_curve_server (sock, 1);
    zsock_set_zap_domain (sock, S_ZAP_DOMAIN);
    int enforce = 1;
    zmq_setsockopt (zsock_resolve (sock), ZMQ_ZAP_ENFORCE_DOMAIN, &enforce, sizeof enforce);
}

//  One ZAP request (RFC 27: version, request id, domain, address, identity,
//  mechanism, credentials) and its reply (version, request id, status
//  code, status text, user id, metadata).
void
metrics_auth_handle_zap (metrics_auth_t *self)
{
    zmsg_t *request;
    while (self->zap && (zsock_events (self->zap) & ZMQ_POLLIN) &&
           (request = zmsg_recv (self->zap))) {
        char *version = zmsg_popstr (request);
        char *sequence = zmsg_popstr (request);
        char *domain = zmsg_popstr (request);
        char *address = zmsg_popstr (request);
        char *identity = zmsg_popstr (request);
        char *mechanism = zmsg_popstr (request);
        zframe_t *credential = zmsg_pop (request);
        const char *principal = NULL;
        char key[41] = "";
        if (mechanism && strcmp (mechanism, "CURVE") == 0 && credential &&
            zframe_size (credential) == 32 && domain && strcmp (domain, S_ZAP_DOMAIN) == 0) {
            zmq_z85_encode (key, zframe_data (credential), 32);
            principal = zhashx_lookup (self->keys, key);
        }
        char user[128] = "";
        if (principal)
            snprintf (user, sizeof user, "%s %s", principal, key);
        else {
            self->denied++;
            kf_log_warn ("metrics.handshake_denied", "mechanism=%s address=\"%s\"",
                         mechanism ? mechanism : "?", address ? address : "");
        }
        zstr_sendx (self->zap, version ? version : "1.0", sequence ? sequence : "",
                    principal ? "200" : "400", principal ? "OK" : "No access", user, "", NULL);
        free (version);
        free (sequence);
        free (domain);
        free (address);
        free (identity);
        free (mechanism);
        zframe_destroy (&credential);
        zmsg_destroy (&request);
    }
}

//  ---------------------------------------------------------------------
//  Refresh

typedef struct {
    zhashx_t *principals; //  new cache
    zhashx_t *keys;       //  key -> id
} s_load_t;

static void
s_on_principal (void *arg, const char *id, const char *role, const char *key, bool all_shops,
                const char *shops_csv)
{
    s_load_t *load = arg;
    metrics_principal_t *p = calloc (1, sizeof *p);
    snprintf (p->id, sizeof p->id, "%s", id);
    snprintf (p->role, sizeof p->role, "%s", role);
    snprintf (p->key, sizeof p->key, "%s", key);
    p->all_shops = all_shops;
    p->shops = zhashx_new ();
    char *list = strdup (shops_csv);
    char *save = NULL;
    for (char *s = strtok_r (list, ",", &save); s; s = strtok_r (NULL, ",", &save))
        zhashx_insert (p->shops, s, (void *) 1);
    free (list);
    zhashx_insert (load->principals, id, p);
    zhashx_update (load->keys, key, strdup (id));
}

static void
s_on_shop (void *arg, const char *shop_id, const char *timezone)
{
    zhashx_update ((zhashx_t *) arg, shop_id, strdup (timezone));
}

int
metrics_auth_refresh (metrics_auth_t *self, kf_store_t *store, kf_error_t *err)
{
    s_load_t load = {s_principal_map (), s_string_map ()};
    zhashx_t *shops = s_string_map ();
    int rc = -1;
    if (metrics_store_load_principals (store, s_on_principal, &load, err) == 0 &&
        metrics_store_load_shops (store, s_on_shop, shops, err) == 0) {
        zhashx_destroy (&self->principals);
        self->principals = load.principals;
        load.principals = NULL;
        zhashx_destroy (&self->keys);
        self->keys = load.keys;
        load.keys = NULL;
        zhashx_destroy (&self->shops);
        self->shops = shops;
        shops = NULL;
        self->loaded = true;
        rc = 0;
    }
    zhashx_destroy (&load.principals);
    zhashx_destroy (&load.keys);
    zhashx_destroy (&shops);
    return rc;
}

bool
metrics_auth_loaded (const metrics_auth_t *self)
{
    return self->loaded;
}

const metrics_principal_t *
metrics_auth_principal_of (metrics_auth_t *self, zframe_t *frame)
{
    if (self->insecure)
        return &self->dev;
    const char *user = zframe_meta (frame, "User-Id");
    const char *space = user ? strchr (user, ' ') : NULL;
    if (!space || space - user >= 65)
        return NULL;
    char id[65];
    snprintf (id, sizeof id, "%.*s", (int) (space - user), user);
    const metrics_principal_t *p = zhashx_lookup (self->principals, id);
    //  The key must still be the principal's: a replaced or revoked key
    //  stops working for open connections too.
    return p && strcmp (p->key, space + 1) == 0 ? p : NULL;
}

bool
metrics_auth_in_scope (const metrics_principal_t *principal, const char *shop_id)
{
    return principal->all_shops || zhashx_lookup (principal->shops, shop_id) != NULL;
}

const char *
metrics_auth_shop_timezone (metrics_auth_t *self, const char *shop_id)
{
    return zhashx_lookup (self->shops, shop_id);
}
