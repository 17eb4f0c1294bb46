/*  intake_auth — CURVE + ZAP (kf_zap), the principal cache and the shop registry. */
#include "intake_auth.h"

#include "intake_store.h"
#include "kf_log.h"
#include "kf_zap.h"

#include <stdlib.h>
#include <string.h>

#define S_MONITORS 4 //  sockets whose handshakes are watched

struct _intake_auth_t {
    const intake_config_t *config; //  borrowed
    bool insecure;                 //  KEFU_INSECURE
    zcert_t *server_cert;          //  intake's key pair (secure mode)
    kf_zap_t *zap;                 //  ZAP handler (secure mode)
    kf_outbox_t *events;           //  the events PUB's outbox (borrowed; secure mode)
    zhashx_t *principals;          //  principal id -> intake_principal_t
    zhashx_t *shops;               //  registered shop ids (set)
    const char **shop_list;        //  the same, as an array for sweeps
    int shop_count;                //  entries in shop_list
    intake_principal_t dev;        //  the insecure-mode principal
    bool loaded;                   //  a refresh succeeded
    zsock_t *monitors[S_MONITORS]; //  PAIRs receiving handshake reports
    int monitor_count;             //  monitors in use
    int64_t handshake_failures;    //  counted from the monitor
    int64_t handshakes_abandoned;  //  insecure mode: peers gone before the handshake ended
};

static void
s_principal_destroy (void **item_p)
{
    intake_principal_t *p = *item_p;
    if (p) {
        zhashx_destroy (&p->shops);
        zhashx_destroy (&p->gateway_ids);
        free (p);
        *item_p = NULL;
    }
}

intake_auth_t *
intake_auth_new (const intake_config_t *config)
{
    intake_auth_t *self = calloc (1, sizeof *self);
    self->config = config;
    self->insecure = config->insecure;
    self->principals = zhashx_new ();
    zhashx_set_destructor (self->principals, s_principal_destroy);
    self->shops = zhashx_new ();
    snprintf (self->dev.id, sizeof self->dev.id, "dev");
    snprintf (self->dev.role, sizeof self->dev.role, "admin");
    self->dev.all_shops = true;
    self->dev.any_gateway_id = true;
    return self;
}

void
intake_auth_destroy (intake_auth_t **self_p)
{
    if (self_p && *self_p) {
        intake_auth_t *self = *self_p;
        for (int i = 0; i < self->monitor_count; i++)
            zsock_destroy (&self->monitors[i]);
        kf_zap_destroy (&self->zap);
        zcert_destroy (&self->server_cert);
        zhashx_destroy (&self->principals);
        zhashx_destroy (&self->shops);
        free (self->shop_list);
        free (self);
        *self_p = NULL;
    }
}

bool
intake_auth_insecure (const intake_auth_t *self)
{
    return self->insecure;
}

const char *
intake_auth_public_key (const intake_auth_t *self)
{
    return self->server_cert ? zcert_public_txt (self->server_cert) : "";
}

int
intake_auth_start (intake_auth_t *self, char *why, size_t why_size)
{
    if (self->insecure) {
        kf_log_warn ("intake.insecure",
                     "note=\"KEFU_INSECURE=1: gateways are NOT authenticated, every peer may "
                     "push for every shop under any gateway id (even another gateway's) and "
                     "read every event, and no row records who wrote it. Development only.\"");
        return 0;
    }
    const char *key_file = self->config->secret_key_file;
    if (!key_file || !*key_file) {
        snprintf (why, why_size,
                  "KEFU_INTAKE_SECRET_KEY_FILE is not set (make a key pair with: kefuctl "
                  "principal add intake --role service --all-shops --generate DIR), or set "
                  "KEFU_INSECURE=1 for local development");
        return -1;
    }
    self->server_cert = kf_zap_key_pair (key_file, why, why_size);
    if (!self->server_cert)
        return -1;
    //  The ZAP handler binds inproc://zeromq.zap.01 in czmq's (shared)
    //  context; it must answer before the first CURVE socket binds. Until
    //  the first refresh it knows no key: everyone is refused.
    self->zap = kf_zap_new (why, why_size);
    if (!self->zap)
        return -1;
    kf_log_info ("intake.curve", "public_key=\"%s\"", zcert_public_txt (self->server_cert));
    return 0;
}

void
intake_auth_secure (intake_auth_t *self, zsock_t *sock)
{
    if (!self->insecure)
        kf_zap_curve_server (sock, self->server_cert, KF_ZAP_CLIENTS);
}

void
intake_auth_secure_events (intake_auth_t *self, kf_outbox_t *outbox)
{
    if (!self->insecure) {
        kf_outbox_secure (outbox, self->server_cert);
        self->events = outbox;
    }
}

//  ---------------------------------------------------------------------
//  Refresh

static void
s_on_principal (void *arg, const char *id, const char *role, const char *key, bool all_shops,
                const char *shops_csv)
{
    intake_principal_t *p = calloc (1, sizeof *p);
    snprintf (p->id, sizeof p->id, "%s", id);
    snprintf (p->role, sizeof p->role, "%s", role);
    snprintf (p->key, sizeof p->key, "%s", key);
    p->all_shops = all_shops;
    p->shops = zhashx_new ();
    p->gateway_ids = zhashx_new ();
    char *list = strdup (shops_csv);
    char *save = NULL;
    for (char *s = strtok_r (list, ",", &save); s; s = strtok_r (NULL, ",", &save))
        zhashx_insert (p->shops, s, (void *) 1);
    free (list);
    zhashx_insert ((zhashx_t *) arg, id, p);
}

static void
s_on_gateway (void *arg, const char *gateway_id, const char *principal_id)
{
    intake_principal_t *p = zhashx_lookup ((zhashx_t *) arg, principal_id);
    if (p) //  a principal without a key is not loaded
        zhashx_insert (p->gateway_ids, gateway_id, (void *) 1);
}

static void
s_on_shop (void *arg, const char *shop_id)
{
    zhashx_insert ((zhashx_t *) arg, shop_id, (void *) 1);
}

//  Hand the cached principals' keys to the ZAP handler.
static void
s_sync_zap (intake_auth_t *self)
{
    for (intake_principal_t *p = zhashx_first (self->principals); p;
         p = zhashx_next (self->principals))
        kf_zap_allow (self->zap, p->id, p->role, p->key);
    kf_zap_change_t change = kf_zap_commit (self->zap);
    if (change != KF_ZAP_SAME)
        kf_log_info ("intake.keys_synced", "principals=%zu", zhashx_size (self->principals));
    //  A revoked key stops reading events at once: its subscription is cut
    //  (and every other subscriber's, which reconnect and catch up).
    if (change == KF_ZAP_REVOKED && self->events)
        kf_outbox_rebind (self->events);
}

struct _intake_auth_snapshot_t {
    zhashx_t *principals; //  id -> intake_principal_t (owned)
    zhashx_t *shops;      //  registered shop ids
};

void
intake_auth_snapshot_destroy (intake_auth_snapshot_t **self_p)
{
    if (self_p && *self_p) {
        zhashx_destroy (&(*self_p)->principals);
        zhashx_destroy (&(*self_p)->shops);
        free (*self_p);
        *self_p = NULL;
    }
}

intake_auth_snapshot_t *
intake_auth_load (kf_store_t *store, kf_error_t *err)
{
    intake_auth_snapshot_t *snap = calloc (1, sizeof *snap);
    snap->principals = zhashx_new ();
    zhashx_set_destructor (snap->principals, s_principal_destroy);
    snap->shops = zhashx_new ();
    if (intake_store_load_principals (store, s_on_principal, snap->principals, err) == 0 &&
        intake_store_load_gateways (store, s_on_gateway, snap->principals, err) == 0 &&
        intake_store_load_shops (store, s_on_shop, snap->shops, err) == 0)
        return snap;
    intake_auth_snapshot_destroy (&snap);
    return NULL;
}

void
intake_auth_apply (intake_auth_t *self, intake_auth_snapshot_t **snap_p)
{
    assert (snap_p && *snap_p);
    intake_auth_snapshot_t *snap = *snap_p;
    zhashx_destroy (&self->principals);
    self->principals = snap->principals;
    snap->principals = NULL;
    zhashx_destroy (&self->shops);
    self->shops = snap->shops;
    snap->shops = NULL;
    intake_auth_snapshot_destroy (snap_p);
    free (self->shop_list);
    self->shop_count = (int) zhashx_size (self->shops);
    self->shop_list = calloc ((size_t) self->shop_count + 1, sizeof (char *));
    int i = 0;
    for (void *v = zhashx_first (self->shops); v; v = zhashx_next (self->shops))
        self->shop_list[i++] = zhashx_cursor (self->shops);
    if (!self->insecure)
        s_sync_zap (self);
    self->loaded = true;
}

int
intake_auth_refresh (intake_auth_t *self, kf_store_t *store)
{
    kf_error_t err;
    kf_error_clear (&err);
    intake_auth_snapshot_t *snap = intake_auth_load (store, &err);
    if (!snap) {
        kf_log_warn ("intake.auth_refresh_failed", "reason=\"%s\"", err.reason);
        return -1;
    }
    intake_auth_apply (self, &snap);
    return 0;
}

bool
intake_auth_loaded (const intake_auth_t *self)
{
    return self->loaded;
}

const intake_principal_t *
intake_auth_principal_of (intake_auth_t *self, zframe_t *frame)
{
    if (self->insecure)
        return &self->dev;
    const char *id = zframe_meta (frame, "principal");
    const char *key = zframe_meta (frame, "key");
    if (!id || !key)
        return NULL;
    const intake_principal_t *p = zhashx_lookup (self->principals, id);
    //  The key must still be the principal's key: a replaced or revoked key
    //  stops working for open sessions too.
    if (!p || strcmp (p->key, key) != 0)
        return NULL;
    return p;
}

bool
intake_auth_shop_known (const intake_auth_t *self, const char *shop_id)
{
    return zhashx_lookup (self->shops, shop_id) != NULL;
}

bool
intake_auth_in_scope (const intake_principal_t *principal, const char *shop_id)
{
    return principal->all_shops || zhashx_lookup (principal->shops, shop_id) != NULL;
}

bool
intake_auth_may_send_items (const intake_principal_t *principal)
{
    return strcmp (principal->role, "gateway") == 0 || strcmp (principal->role, "admin") == 0;
}

bool
intake_auth_owns_gateway (const intake_principal_t *principal, const char *gateway_id)
{
    return principal->any_gateway_id || zhashx_lookup (principal->gateway_ids, gateway_id) != NULL;
}

const char **
intake_auth_shops (const intake_auth_t *self, int *count)
{
    *count = self->shop_count;
    return self->shop_list;
}

zsock_t *
intake_auth_monitor (intake_auth_t *self, zsock_t *sock)
{
    if (self->monitor_count == S_MONITORS)
        return NULL;
    zsock_t *monitor = kf_zap_monitor (sock, KF_ZAP_FAILED);
    if (monitor)
        self->monitors[self->monitor_count++] = monitor;
    return monitor;
}

void
intake_auth_handle_monitor (intake_auth_t *self)
{
    int event;
    uint32_t value;
    char endpoint[256];
    for (int i = 0; i < self->monitor_count; i++)
        while (kf_zap_monitor_read (self->monitors[i], &event, &value, endpoint, sizeof endpoint))
            intake_auth_handshake_failed (self, event, value, endpoint);
}

void
intake_auth_handshake_failed (intake_auth_t *self, int event, uint32_t value, const char *endpoint)
{
    if (self->insecure && event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) {
        //  Without authentication nothing can fail but the greeting: a peer
        //  that closed the connection (or stalled) before the ZMTP greeting
        //  ended - a port check, a gateway stopped while it connected - is
        //  no failure. value is then the errno.
        self->handshakes_abandoned++;
        kf_log_info ("intake.handshake_abandoned", "errno=%u endpoint=\"%s\"", value, endpoint);
        return;
    }
    self->handshake_failures++;
    kf_log_warn ("intake.handshake_failed", "event=0x%x status=%u endpoint=\"%s\"", event, value,
                 endpoint);
}

int64_t
intake_auth_handshake_failures (const intake_auth_t *self)
{
    return self->handshake_failures;
}

int64_t
intake_auth_handshakes_abandoned (const intake_auth_t *self)
{
    return self->handshakes_abandoned;
}
