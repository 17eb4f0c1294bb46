/*  intake_auth — CURVE + zauth, the principal cache and the shop registry. */
#include "intake_auth.h"

#include "intake_store.h"
#include "kf_log.h"
#include "kf_wire.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

//  libzmq 4.3 has this option outside its draft API guard in the library
//  but declares it only with ZMQ_BUILD_DRAFT_API.
#ifndef ZMQ_ZAP_ENFORCE_DOMAIN
#define ZMQ_ZAP_ENFORCE_DOMAIN 93
#endif

struct _intake_auth_t {
    const intake_config_t *config; //  borrowed
    bool insecure;                 //  KEFU_INSECURE
    zcert_t *server_cert;          //  intake's key pair (secure mode)
    zactor_t *zauth;               //  ZAP handler (secure mode)
    zhashx_t *principals;          //  principal id -> intake_principal_t
    zhashx_t *shops;               //  registered shop ids (set)
    const char **shop_list;        //  the same, as an array for sweeps
    int shop_count;                //  entries in shop_list
    char *key_digest;              //  the key set written to cert_dir last time
    intake_principal_t dev;        //  the insecure-mode principal
    bool loaded;                   //  a refresh succeeded
    zsock_t *monitor;              //  PAIR receiving handshake reports
    int64_t handshake_failures;    //  counted from the monitor
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
        zsock_destroy (&self->monitor);
        zactor_destroy (&self->zauth);
        zcert_destroy (&self->server_cert);
        zhashx_destroy (&self->principals);
        zhashx_destroy (&self->shops);
        free (self->shop_list);
        free (self->key_digest);
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
                     "push for every shop under any gateway id (even another gateway's), and "
                     "no row records who wrote it. Development only.\"");
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
    self->server_cert = zcert_load (key_file);
    if (!self->server_cert || strlen (zcert_secret_txt (self->server_cert)) != 40 ||
        strcmp (zcert_secret_txt (self->server_cert), "0000000000000000000000000000000000000000") ==
            0) {
        snprintf (why, why_size, "cannot load a key pair from KEFU_INTAKE_SECRET_KEY_FILE=%s",
                  key_file);
        return -1;
    }
    if (zsys_dir_create ("%s", self->config->cert_dir)) {
        snprintf (why, why_size, "cannot create KEFU_INTAKE_CERT_DIR=%s", self->config->cert_dir);
        return -1;
    }
    //  zauth binds inproc://zeromq.zap.01 in czmq's (shared) context; it
    //  must answer before the first CURVE socket binds.
    self->zauth = zactor_new (zauth, NULL);
    if (!self->zauth) {
        snprintf (why, why_size, "cannot start the ZAP handler (zauth)");
        return -1;
    }
    zstr_sendx (self->zauth, "CURVE", self->config->cert_dir, NULL);
    zsock_wait (self->zauth);
    kf_log_info ("intake.curve", "public_key=\"%s\" cert_dir=%s",
                 zcert_public_txt (self->server_cert), self->config->cert_dir);
    return 0;
}

void
intake_auth_secure (intake_auth_t *self, zsock_t *sock)
{
    if (self->insecure)
        return;
    zcert_apply (self->server_cert, sock);
    zsock_set_curve_server (sock, 1);
    zsock_set_zap_domain (sock, "kefu");
    //  Fail closed: without a ZAP handler, handshakes are refused.
    int enforce = 1;
    zmq_setsockopt (zsock_resolve (sock), ZMQ_ZAP_ENFORCE_DOMAIN, &enforce, sizeof enforce);
}

//  ---------------------------------------------------------------------
//  Refresh

typedef struct {
    zhashx_t *principals; //  new cache
    zlist_t *keys;        //  "<key> <principal>" for the cert dir
} s_load_t;

static void
s_on_principal (void *arg, const char *id, const char *role, const char *key, bool all_shops,
                const char *shops_csv)
{
    s_load_t *load = arg;
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
    zhashx_insert (load->principals, id, p);
    char line[128];
    snprintf (line, sizeof line, "%s %s", key, id);
    zlist_append (load->keys, line); //  autofree: the list copies it
}

static void
s_on_gateway (void *arg, const char *gateway_id, const char *principal_id)
{
    s_load_t *load = arg;
    intake_principal_t *p = zhashx_lookup (load->principals, principal_id);
    if (p) //  a principal without a key is not loaded
        zhashx_insert (p->gateway_ids, gateway_id, (void *) 1);
}

static void
s_on_shop (void *arg, const char *shop_id)
{
    zhashx_insert ((zhashx_t *) arg, shop_id, (void *) 1);
}

static int
s_compare_str (void *a, void *b)
{
    return strcmp ((const char *) a, (const char *) b);
}

//  Write one public certificate per principal (metadata: principal, key)
//  and remove the files of principals that are gone. Then make zauth
//  re-read the directory (its own change detection looks only at the
//  directory's size, count and time).
static void
s_sync_cert_dir (intake_auth_t *self, zlist_t *keys)
{
    zlist_sort (keys, s_compare_str);
    size_t total = 1;
    for (char *k = zlist_first (keys); k; k = zlist_next (keys))
        total += strlen (k) + 1;
    char *digest = calloc (1, total);
    for (char *k = zlist_first (keys); k; k = zlist_next (keys)) {
        strcat (digest, k);
        strcat (digest, "\n");
    }
    if (self->key_digest && strcmp (self->key_digest, digest) == 0) {
        free (digest);
        return;
    }
    const char *dir = self->config->cert_dir;
    zhashx_t *wanted = zhashx_new ();
    for (char *k = zlist_first (keys); k; k = zlist_next (keys)) {
        char key[41], id[65];
        if (sscanf (k, "%40s %64s", key, id) != 2)
            continue;
        char name[96], path[1024], tmp[1100];
        snprintf (name, sizeof name, "%s.key", id);
        snprintf (path, sizeof path, "%s/%s", dir, name);
        snprintf (tmp, sizeof tmp, "%s/.%s.tmp", dir, name);
        FILE *f = fopen (tmp, "w");
        if (!f)
            continue;
        //  zcert's text format; zauth passes the metadata to the connection.
        fprintf (f,
                 "#   kefu-intake: public key of principal %s\nmetadata\n"
                 "    principal = \"%s\"\n    key = \"%s\"\ncurve\n    public-key = \"%s\"\n",
                 id, id, key, key);
        fclose (f);
        rename (tmp, path);
        zhashx_insert (wanted, name, (void *) 1);
    }
    DIR *d = opendir (dir);
    if (d) {
        struct dirent *ent;
        while ((ent = readdir (d))) {
            size_t len = strlen (ent->d_name);
            if (len > 4 && strcmp (ent->d_name + len - 4, ".key") == 0 &&
                !zhashx_lookup (wanted, ent->d_name)) {
                char path[1024];
                snprintf (path, sizeof path, "%s/%s", dir, ent->d_name);
                unlink (path);
            }
        }
        closedir (d);
    }
    zhashx_destroy (&wanted);
    if (self->zauth) {
        zstr_sendx (self->zauth, "CURVE", dir, NULL);
        zsock_wait (self->zauth);
    }
    kf_log_info ("intake.keys_synced", "principals=%zu dir=%s", zlist_size (keys), dir);
    free (self->key_digest);
    self->key_digest = digest;
}

int
intake_auth_refresh (intake_auth_t *self, kf_store_t *store)
{
    kf_error_t err;
    kf_error_clear (&err);
    s_load_t load = {zhashx_new (), zlist_new ()};
    zhashx_set_destructor (load.principals, s_principal_destroy);
    zlist_autofree (load.keys);
    zhashx_t *shops = zhashx_new ();
    int rc = -1;
    if (intake_store_load_principals (store, s_on_principal, &load, &err) == 0 &&
        intake_store_load_gateways (store, s_on_gateway, &load, &err) == 0 &&
        intake_store_load_shops (store, s_on_shop, shops, &err) == 0) {
        zhashx_destroy (&self->principals);
        self->principals = load.principals;
        load.principals = NULL;
        zhashx_destroy (&self->shops);
        self->shops = shops;
        shops = NULL;
        free (self->shop_list);
        self->shop_count = (int) zhashx_size (self->shops);
        self->shop_list = calloc ((size_t) self->shop_count + 1, sizeof (char *));
        int i = 0;
        for (void *v = zhashx_first (self->shops); v; v = zhashx_next (self->shops))
            self->shop_list[i++] = zhashx_cursor (self->shops);
        if (!self->insecure)
            s_sync_cert_dir (self, load.keys);
        self->loaded = true;
        rc = 0;
    } else
        kf_log_warn ("intake.auth_refresh_failed", "reason=\"%s\"", err.reason);
    zhashx_destroy (&load.principals);
    zlist_destroy (&load.keys);
    zhashx_destroy (&shops);
    return rc;
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
    char endpoint[64];
    snprintf (endpoint, sizeof endpoint, "inproc://intake-monitor-%p", (void *) self);
    if (zmq_socket_monitor (zsock_resolve (sock), endpoint,
                            ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                                ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                                ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) == -1)
        return NULL;
    self->monitor = zsock_new_pair (endpoint);
    return self->monitor;
}

void
intake_auth_handle_monitor (intake_auth_t *self)
{
    zmsg_t *msg;
    while ((msg = kf_wire_recv_nowait (self->monitor))) {
        //  Frame 1: uint16 event + uint32 value; frame 2: the peer's address.
        zframe_t *head = zmsg_first (msg);
        if (head && zframe_size (head) >= 6) {
            uint16_t event;
            uint32_t value;
            memcpy (&event, zframe_data (head), 2);
            memcpy (&value, zframe_data (head) + 2, 4);
            zframe_t *addr = zmsg_next (msg);
            self->handshake_failures++;
            kf_log_warn ("intake.handshake_failed", "event=0x%x status=%u peer=\"%.*s\"", event,
                         value, addr ? (int) zframe_size (addr) : 0,
                         addr ? (const char *) zframe_data (addr) : "");
        }
        zmsg_destroy (&msg);
    }
}

int64_t
intake_auth_handshake_failures (const intake_auth_t *self)
{
    return self->handshake_failures;
}
