/*  metrics_auth — metrics' key pair, the writers' keys, ZAP (kf_zap) for
    the query endpoint, the principal cache and the shops' time zones. */
#include "metrics_auth.h"

#include "kf_log.h"
#include "kf_zap.h"
#include "metrics_store.h"

#include <stdlib.h>
#include <string.h>

struct _metrics_auth_t {
    const metrics_config_t *config; //  borrowed
    zcert_t *cert;                  //  metrics' key pair (secure mode)
    char intake_key[41];            //  intake's public key (Z85; secure mode)
    char routing_key[41];           //  routing's public key (Z85; secure mode)
    kf_zap_t *zap;                  //  ZAP handler (secure mode)
    zsock_t *monitor;               //  PAIR receiving the query endpoint's handshake reports
    zhashx_t *principals;           //  principal id -> metrics_principal_t
    zhashx_t *tokens;               //  token SHA-256 -> principal (borrowed from principals)
    zhashx_t *shops;                //  shop id -> time zone (strdup'd)
    metrics_principal_t dev;        //  the insecure-mode principal
    bool loaded;                    //  a refresh succeeded
    int64_t handshake_failures;     //  counted from the monitor
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

metrics_auth_t *
metrics_auth_new (const metrics_config_t *config)
{
    metrics_auth_t *self = calloc (1, sizeof *self);
    self->config = config;
    self->principals = zhashx_new ();
    zhashx_set_destructor (self->principals, s_principal_destroy);
    self->tokens = zhashx_new ();
    self->shops = zhashx_new ();
    zhashx_set_destructor (self->shops, s_free);
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
        zsock_destroy (&self->monitor);
        kf_zap_destroy (&self->zap);
        zcert_destroy (&self->cert);
        zhashx_destroy (&self->tokens);
        zhashx_destroy (&self->principals);
        zhashx_destroy (&self->shops);
        free (self);
        *self_p = NULL;
    }
}

bool
metrics_auth_insecure (const metrics_auth_t *self)
{
    return self->config->insecure;
}

int
metrics_auth_start (metrics_auth_t *self, char *why, size_t why_size)
{
    const metrics_config_t *c = self->config;
    if (c->insecure) {
        kf_log_warn ("metrics.insecure",
                     "note=\"KEFU_INSECURE=1: plain sockets; queries are NOT authenticated and "
                     "every peer may read every shop. Development only.\"");
        return 0;
    }
    if (!*c->secret_key_file) {
        snprintf (why, why_size,
                  "KEFU_METRICS_SECRET_KEY_FILE is not set (make a key pair with: kefuctl "
                  "principal add metrics --role service --all-shops --generate DIR), or set "
                  "KEFU_INSECURE=1 for local development");
        return -1;
    }
    self->cert = kf_zap_key_pair (c->secret_key_file, why, why_size);
    if (!self->cert)
        return -1;
    char reason[256];
    if (kf_zap_public_key (c->intake_key, c->intake_key_file, self->intake_key, reason,
                           sizeof reason) ||
        kf_zap_public_key (c->routing_key, c->routing_key_file, self->routing_key, reason,
                           sizeof reason)) {
        snprintf (why, why_size,
                  "the writers' public keys (KEFU_METRICS_INTAKE_KEY or _FILE, "
                  "KEFU_METRICS_ROUTING_KEY or _FILE): %s",
                  reason);
        return -1;
    }
    //  Until the first refresh the handler knows no key: everyone is refused.
    self->zap = kf_zap_new (why, why_size);
    if (!self->zap)
        return -1;
    kf_log_info ("metrics.curve", "public_key=\"%s\"", zcert_public_txt (self->cert));
    return 0;
}

void
metrics_auth_secure (metrics_auth_t *self, zsock_t *sock)
{
    if (self->cert)
        kf_zap_curve_server (sock, self->cert, KF_ZAP_CLIENTS);
}

int
metrics_auth_follow (metrics_auth_t *self, kf_subscriber_t *sub, const char *stream,
                     const char *endpoint)
{
    const char *key = strcmp (stream, "intake") == 0 ? self->intake_key : self->routing_key;
    return kf_subscriber_follow_curve (sub, stream, endpoint, self->cert, self->cert ? key : NULL);
}

zsock_t *
metrics_auth_monitor (metrics_auth_t *self, zsock_t *sock)
{
    if (self->config->insecure)
        return NULL;
    self->monitor = kf_zap_monitor (sock, KF_ZAP_FAILED);
    return self->monitor;
}

void
metrics_auth_handle_monitor (metrics_auth_t *self)
{
    if (self->monitor)
        self->handshake_failures += kf_zap_failures (self->monitor, "metrics.handshake_failed");
}

int64_t
metrics_auth_handshake_failures (const metrics_auth_t *self)
{
    return self->handshake_failures;
}

//  ---------------------------------------------------------------------
//  Refresh

static void
s_on_principal (void *arg, const char *id, const char *role, const char *key, const char *token,
                bool all_shops, const char *shops_csv)
{
    metrics_principal_t *p = calloc (1, sizeof *p);
    snprintf (p->id, sizeof p->id, "%s", id);
    snprintf (p->role, sizeof p->role, "%s", role);
    snprintf (p->key, sizeof p->key, "%s", key);
    snprintf (p->token, sizeof p->token, "%s", token);
    p->all_shops = all_shops;
    p->shops = zhashx_new ();
    char *list = strdup (shops_csv);
    char *save = NULL;
    for (char *s = strtok_r (list, ",", &save); s; s = strtok_r (NULL, ",", &save))
        zhashx_insert (p->shops, s, (void *) 1);
    free (list);
    zhashx_insert ((zhashx_t *) arg, id, p);
}

static void
s_on_shop (void *arg, const char *shop_id, const char *timezone)
{
    zhashx_update ((zhashx_t *) arg, shop_id, strdup (timezone));
}

int
metrics_auth_refresh (metrics_auth_t *self, kf_store_t *store, kf_error_t *err)
{
    zhashx_t *principals = zhashx_new ();
    zhashx_set_destructor (principals, s_principal_destroy);
    zhashx_t *shops = zhashx_new ();
    zhashx_set_destructor (shops, s_free);
    int rc = -1;
    if (metrics_store_load_principals (store, s_on_principal, principals, err) == 0 &&
        metrics_store_load_shops (store, s_on_shop, shops, err) == 0) {
        zhashx_destroy (&self->principals);
        self->principals = principals;
        principals = NULL;
        zhashx_destroy (&self->shops);
        self->shops = shops;
        shops = NULL;
        zhashx_purge (self->tokens);
        for (metrics_principal_t *p = zhashx_first (self->principals); p;
             p = zhashx_next (self->principals)) {
            if (*p->token)
                zhashx_insert (self->tokens, p->token, p);
            if (self->zap && *p->key)
                kf_zap_allow (self->zap, p->id, p->role, p->key);
        }
        if (self->zap)
            kf_zap_commit (self->zap);
        self->loaded = true;
        rc = 0;
    }
    zhashx_destroy (&principals);
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
    if (self->config->insecure)
        return &self->dev;
    const char *id = zframe_meta (frame, "principal");
    const char *key = zframe_meta (frame, "key");
    if (!id || !key)
        return NULL;
    const metrics_principal_t *p = zhashx_lookup (self->principals, id);
    //  The key must still be the principal's: a replaced or revoked key
    //  stops working for open connections too.
    return p && strcmp (p->key, key) == 0 ? p : NULL;
}

const metrics_principal_t *
metrics_auth_principal_of_token (metrics_auth_t *self, const char *token_sha256)
{
    return zhashx_lookup (self->tokens, token_sha256);
}

void
metrics_auth_each_shop (metrics_auth_t *self, const metrics_principal_t *principal,
                        metrics_auth_shop_fn *fn, void *arg)
{
    for (const char *tz = zhashx_first (self->shops); tz; tz = zhashx_next (self->shops)) {
        const char *shop = zhashx_cursor (self->shops);
        if (metrics_auth_in_scope (principal, shop))
            fn (arg, shop, tz);
    }
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
