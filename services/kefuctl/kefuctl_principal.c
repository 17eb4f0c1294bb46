/*  kefuctl principal — the keys of gateways, supervisors, admins and
    kefu's own services, the shops each may act for, and the gateway ids
    (part of intake's de-duplication key) each gateway key may say. */
#include "kefuctl.h"

#include "kf_batch.h"
#include "kf_valid.h"
#include "metrics_token.h"

#include <czmq.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
s_help (void)
{
    printf ("Usage:\n"
            "  kefuctl principal add <id> --role ROLE (--shops A,B | --all-shops)\n"
            "                        [--key Z85 | --generate DIR] [--gateway-id GW]... [--token]\n"
            "  kefuctl principal token <id>\n"
            "  kefuctl principal bind <id> --gateway-id GW [--gateway-id GW]...\n"
            "  kefuctl principal list [--json]\n"
            "  kefuctl principal disable <id>\n\n"
            "A principal is whoever connects to kefu with a CURVE key: a gateway (pushes chats\n"
            "for its shops), a supervisor (queries its shops), an admin, or a kefu service.\n"
            "ROLE is gateway, supervisor, admin or service. --shops lists the shops it may act\n"
            "for (they must exist: kefuctl shop add); --all-shops grants every shop.\n"
            "--key takes the principal's public key (40 Z85 characters). --generate DIR makes a\n"
            "new key pair and writes DIR/<id>.key (public) and DIR/<id>.key_secret (give this\n"
            "file to the gateway and keep it private).\n"
            "Gateway ids: the id a gateway says in its Hello is part of intake's de-duplication\n"
            "key, so each belongs to one key, and intake refuses (forbidden) a Hello naming an id\n"
            "that is not its key's. A gateway or admin principal gets the ids given with\n"
            "--gateway-id (repeat it for several), or else its own <id>. bind adds ids to an\n"
            "existing principal (e.g. the id a gateway used before it had this key). An id that\n"
            "belongs to a disabled principal is taken over (a new key for the same gateway\n"
            "keeps its de-duplication); one that belongs to an active principal is refused.\n"
            "disable revokes the key: new connections are refused, and items on open\n"
            "connections are REJECTED (not_authenticated) within the services' key-cache time\n"
            "(KEFU_INTAKE_AUTH_REFRESH, 30 s). Its gateway ids stay bound to it until taken over.\n"
            "Dashboard tokens: --token (or token <id>, which replaces the principal's token)\n"
            "prints a new token for kefu-metrics' dashboard and HTTP API (sent as\n"
            "\"Authorization: Bearer <token>\"); it is shown once and kefu keeps only its\n"
            "SHA-256. Only supervisors and admins get one; disable ends it with the key.\n"
            "Exit codes: 0 success, 1 failure, 2 usage, 3 already exists (a principal, key or\n"
            "gateway id of an active principal), 4 not found.\n");
}

static bool
s_valid_key (const char *key)
{
    if (strlen (key) != 40)
        return false;
    uint8_t raw[32];
    return zmq_z85_decode (raw, key) != NULL;
}

static int
s_on_rows (const PGresult *res, void *arg)
{
    *(int *) arg = PQntuples (res);
    return 0;
}

#define S_GATEWAY_IDS_MAX 32

typedef struct {
    const char *id;   //  the principal binding the ids
    int conflicts;    //  ids of other active principals
    char taken[1024]; //  "gw (from old-key), ..." taken over from disabled principals
} s_bind_t;

static int
s_on_owners (const PGresult *res, void *arg)
{
    s_bind_t *bind = arg;
    for (int r = 0; r < PQntuples (res); r++) {
        const char *gw = kf_store_text (res, r, 0), *owner = kf_store_text (res, r, 1);
        if (strcmp (kf_store_text (res, r, 2), "t") == 0) {
            size_t used = strlen (bind->taken);
            snprintf (bind->taken + used, sizeof bind->taken - used, "%s%s (from %s)",
                      used ? ", " : "", gw, owner);
        } else {
            fprintf (stderr,
                     "kefuctl principal: gateway id %s belongs to active principal %s (disable it "
                     "first to move the id to %s)\n",
                     gw, owner, bind->id);
            bind->conflicts++;
        }
    }
    return 0;
}

//  Check a --gateway-id value (the rules intake applies to Hello.gateway_id).
static bool
s_valid_gateway_id (const char *gw)
{
    ProtobufCBinaryData value = {strlen (gw), (uint8_t *) gw};
    kf_error_t err;
    kf_error_clear (&err);
    if (kf_valid_id (&value, "--gateway-id", KF_ID_MAX, &err) == 0)
        return true;
    fprintf (stderr, "kefuctl principal: %s\n", err.reason);
    return false;
}

//  Bind gateway ids to principal id, inside the caller's transaction. Ids
//  of disabled principals are taken over; any id of another active
//  principal refuses the lot. KEFUCTL_OK or the exit code (rolled back by
//  the caller).
static int
s_bind_gateways (kf_store_t *store, const char *id, const char **gateway_ids, int count)
{
    kf_col_type_t type = KF_COL_TEXT;
    kf_batch_t *ids = kf_batch_new (1, &type);
    for (int i = 0; i < count; i++)
        kf_batch_str (ids, 0, gateway_ids[i]);
    kf_params_t params;
    kf_params_init (&params);
    kf_params_str (&params, id);
    kf_batch_params (ids, &params);
    s_bind_t bind = {id, 0, ""};
    kf_error_t err;
    kf_error_clear (&err);
    int rc = KEFUCTL_FAILED;
    if (kf_store_exec_sql (store,
                           "SELECT g.gateway_id, g.principal_id, p.disabled_at IS NOT NULL "
                           "FROM principal_gateways g JOIN principals p USING (principal_id) "
                           "WHERE g.gateway_id = ANY ($2::text[]) AND g.principal_id <> $1::text "
                           "ORDER BY g.gateway_id FOR UPDATE OF g",
                           &params, s_on_owners, &bind, &err))
        goto failed;
    if (bind.conflicts) {
        rc = KEFUCTL_EXISTS;
        goto done;
    }
    if (kf_store_exec_sql (
            store,
            "INSERT INTO principal_gateways (gateway_id, principal_id) "
            "SELECT DISTINCT g, $1::text FROM unnest ($2::text[]) AS g "
            "ON CONFLICT (gateway_id) DO UPDATE SET principal_id = excluded.principal_id, "
            "  bound_at = now () WHERE principal_gateways.principal_id <> excluded.principal_id",
            &params, NULL, NULL, &err))
        goto failed;
    if (bind.taken[0])
        printf ("gateway ids taken over from disabled principals: %s\n", bind.taken);
    rc = KEFUCTL_OK;
    goto done;
failed:
    fprintf (stderr, "kefuctl principal: %s\n", err.reason);
done:
    kf_batch_destroy (&ids);
    return rc;
}

static bool
s_sends_items (const char *role)
{
    return strcmp (role, "gateway") == 0 || strcmp (role, "admin") == 0;
}

typedef struct {
    bool found;    //  the principal exists
    bool disabled; //  ... and is disabled
    char role[16]; //  its role
} s_principal_row_t;

static int
s_on_principal (const PGresult *res, void *arg)
{
    s_principal_row_t *row = arg;
    if (PQntuples (res) == 1) {
        row->found = true;
        snprintf (row->role, sizeof row->role, "%s", kf_store_text (res, 0, 0));
        row->disabled = strcmp (kf_store_text (res, 0, 1), "t") == 0;
    }
    return 0;
}

static int
s_bind (kefuctl_t *ctl, int argc, char **argv)
{
    const char *id = NULL;
    const char *gateway_ids[S_GATEWAY_IDS_MAX];
    int count = 0;
    for (int i = 2; i < argc; i++) {
        if (strcmp (argv[i], "--gateway-id") == 0 && i + 1 < argc && count < S_GATEWAY_IDS_MAX)
            gateway_ids[count++] = argv[++i];
        else if (argv[i][0] != '-' && !id)
            id = argv[i];
        else {
            fprintf (stderr, "kefuctl principal bind: unexpected argument \"%s\"\n", argv[i]);
            return KEFUCTL_USAGE;
        }
    }
    if (!id || count == 0) {
        fprintf (stderr, "kefuctl principal bind: needs <id> and at least one --gateway-id\n");
        return KEFUCTL_USAGE;
    }
    for (int i = 0; i < count; i++)
        if (!s_valid_gateway_id (gateway_ids[i]))
            return KEFUCTL_USAGE;
    kf_store_t *store = kefuctl_store (ctl);
    if (!store)
        return KEFUCTL_FAILED;
    kf_error_t err;
    kf_error_clear (&err);
    kf_params_t params;
    kf_params_init (&params);
    kf_params_str (&params, id);
    s_principal_row_t row = {false, false, ""};
    int rc = KEFUCTL_FAILED;
    if (kf_store_begin (store, &err) ||
        kf_store_exec_sql (store,
                           "SELECT role, disabled_at IS NOT NULL FROM principals "
                           "WHERE principal_id = $1::text FOR UPDATE",
                           &params, s_on_principal, &row, &err)) {
        fprintf (stderr, "kefuctl principal bind: %s\n", err.reason);
        goto rollback;
    }
    if (!row.found || row.disabled) {
        fprintf (stderr, "kefuctl principal bind: no active principal %s\n", id);
        rc = KEFUCTL_NOT_FOUND;
        goto rollback;
    }
    if (!s_sends_items (row.role)) {
        fprintf (stderr, "kefuctl principal bind: principal %s has role %s, which sends no items\n",
                 id, row.role);
        rc = KEFUCTL_USAGE;
        goto rollback;
    }
    rc = s_bind_gateways (store, id, gateway_ids, count);
    if (rc != KEFUCTL_OK)
        goto rollback;
    if (kf_store_commit (store, &err)) {
        fprintf (stderr, "kefuctl principal bind: %s\n", err.reason);
        rc = KEFUCTL_FAILED;
        goto done;
    }
    for (int i = 0; i < count; i++)
        printf ("gateway id %s bound to principal %s\n", gateway_ids[i], id);
    goto done;
rollback:
    kf_store_rollback (store);
done:
    kf_store_destroy (&store);
    return rc;
}

static int
s_on_list (const PGresult *res, void *arg)
{
    bool json = *(bool *) arg;
    json_t *array = json_array ();
    if (!json)
        printf ("%-24s %-10s %-8s %-42s %-24s %s\n", "PRINCIPAL", "ROLE", "STATE", "PUBLIC KEY",
                "SHOPS", "GATEWAY IDS");
    for (int i = 0; i < PQntuples (res); i++) {
        const char *shops = kf_store_text (res, i, 4);
        bool all = strcmp (kf_store_text (res, i, 3), "t") == 0;
        bool disabled = !kf_store_isnull (res, i, 5);
        //  A JSON array: gateway ids may hold any character but control ones.
        json_t *gateways = json_loads (kf_store_text (res, i, 6), 0, NULL);
        if (!json_is_array (gateways)) {
            json_decref (gateways);
            gateways = json_array ();
        }
        if (json)
            json_array_append_new (
                array, json_pack ("{s:s, s:s, s:s?, s:b, s:s, s:O, s:b}", "principal_id",
                                  kf_store_text (res, i, 0), "role", kf_store_text (res, i, 1),
                                  "public_key",
                                  kf_store_isnull (res, i, 2) ? NULL : kf_store_text (res, i, 2),
                                  "all_shops", all, "shops", shops, "gateway_ids", gateways,
                                  "disabled", disabled));
        else {
            printf ("%-24s %-10s %-8s %-42s %-24s ", kf_store_text (res, i, 0),
                    kf_store_text (res, i, 1), disabled ? "disabled" : "active",
                    kf_store_isnull (res, i, 2) ? "-" : kf_store_text (res, i, 2),
                    all ? "*" : shops);
            size_t n = json_array_size (gateways);
            for (size_t g = 0; g < n; g++)
                printf ("%s%s", g ? "," : "", json_string_value (json_array_get (gateways, g)));
            printf ("%s\n", n ? "" : "-");
        }
        json_decref (gateways);
    }
    if (json) {
        char *text = json_dumps (array, JSON_INDENT (2));
        printf ("%s\n", text);
        free (text);
    }
    json_decref (array);
    return 0;
}

static int
s_list (kefuctl_t *ctl, int argc, char **argv)
{
    bool json = argc > 2 && strcmp (argv[2], "--json") == 0;
    kf_store_t *store = kefuctl_store (ctl);
    if (!store)
        return KEFUCTL_FAILED;
    kf_error_t err;
    int rc = kf_store_exec_sql (
        store,
        "SELECT p.principal_id, p.role, p.public_key, p.all_shops,"
        " coalesce (string_agg (s.shop_id, ',' ORDER BY s.shop_id), ''), p.disabled_at, "
        " coalesce ((SELECT json_agg (g.gateway_id ORDER BY g.gateway_id) FROM principal_gateways g"
        "  WHERE g.principal_id = p.principal_id), '[]')::text "
        "FROM principals p LEFT JOIN principal_shops s USING (principal_id) "
        "GROUP BY p.principal_id ORDER BY p.principal_id",
        NULL, s_on_list, &json, &err);
    if (rc)
        fprintf (stderr, "kefuctl principal list: %s\n", err.reason);
    kf_store_destroy (&store);
    return rc ? KEFUCTL_FAILED : KEFUCTL_OK;
}

static int
s_disable (kefuctl_t *ctl, const char *id)
{
    kf_store_t *store = kefuctl_store (ctl);
    if (!store)
        return KEFUCTL_FAILED;
    kf_params_t params;
    kf_params_init (&params);
    kf_params_str (&params, id);
    int rows = 0;
    kf_error_t err;
    int rc = kf_store_exec_sql (store,
                                "UPDATE principals SET disabled_at = now () "
                                "WHERE principal_id = $1::text AND disabled_at IS NULL RETURNING 1",
                                &params, s_on_rows, &rows, &err);
    kf_store_destroy (&store);
    if (rc) {
        fprintf (stderr, "kefuctl principal disable: %s\n", err.reason);
        return KEFUCTL_FAILED;
    }
    if (!rows) {
        fprintf (stderr, "kefuctl principal disable: no active principal %s\n", id);
        return KEFUCTL_NOT_FOUND;
    }
    printf ("principal %s disabled\n", id);
    return KEFUCTL_OK;
}

//  A new dashboard token for a supervisor or admin: printed alone on
//  stdout (scripts read it), its SHA-256 stored in place of the old one.
static int
s_token (kefuctl_t *ctl, const char *id)
{
    char token[METRICS_TOKEN_LEN + 1], hash[METRICS_HASH_LEN + 1];
    if (metrics_token_new (token, sizeof token)) {
        fprintf (stderr, "kefuctl principal token: no randomness available\n");
        return KEFUCTL_FAILED;
    }
    metrics_token_hash (token, strlen (token), hash);
    kf_store_t *store = kefuctl_store (ctl);
    if (!store)
        return KEFUCTL_FAILED;
    kf_params_t params;
    kf_params_init (&params);
    kf_params_str (&params, id);
    kf_params_str (&params, hash);
    int rows = 0;
    kf_error_t err;
    int rc = kf_store_exec_sql (store,
                                "UPDATE principals SET token_sha256 = $2::text "
                                "WHERE principal_id = $1::text AND disabled_at IS NULL "
                                "  AND role IN ('supervisor', 'admin') RETURNING 1",
                                &params, s_on_rows, &rows, &err);
    kf_store_destroy (&store);
    if (rc) {
        fprintf (stderr, "kefuctl principal token: %s\n", err.reason);
        return KEFUCTL_FAILED;
    }
    if (!rows) {
        fprintf (stderr, "kefuctl principal token: no active supervisor or admin %s\n", id);
        return KEFUCTL_NOT_FOUND;
    }
    printf ("%s\n", token);
    fprintf (stderr, "dashboard token of %s printed (shown once; kefu keeps only its SHA-256)\n",
             id);
    return KEFUCTL_OK;
}

int
kefuctl_principal (kefuctl_t *ctl, int argc, char **argv)
{
    if (argc < 2 || kefuctl_wants_help (argc, argv)) {
        s_help ();
        return argc < 2 ? KEFUCTL_USAGE : KEFUCTL_OK;
    }
    if (strcmp (argv[1], "list") == 0)
        return s_list (ctl, argc, argv);
    if (strcmp (argv[1], "disable") == 0) {
        if (argc != 3) {
            fprintf (stderr, "kefuctl principal disable: needs <id>\n");
            return KEFUCTL_USAGE;
        }
        return s_disable (ctl, argv[2]);
    }
    if (strcmp (argv[1], "bind") == 0)
        return s_bind (ctl, argc, argv);
    if (strcmp (argv[1], "token") == 0) {
        if (argc != 3) {
            fprintf (stderr, "kefuctl principal token: needs <id>\n");
            return KEFUCTL_USAGE;
        }
        return s_token (ctl, argv[2]);
    }
    if (strcmp (argv[1], "add") != 0) {
        fprintf (stderr, "kefuctl principal: unknown verb \"%s\" (add, bind, list, disable)\n",
                 argv[1]);
        return KEFUCTL_USAGE;
    }
    const char *id = NULL, *role = NULL, *shops = NULL, *key = NULL, *generate = NULL;
    const char *gateway_ids[S_GATEWAY_IDS_MAX];
    int gateway_count = 0;
    bool all_shops = false, token = false;
    for (int i = 2; i < argc; i++) {
        if (strcmp (argv[i], "--role") == 0 && i + 1 < argc)
            role = argv[++i];
        else if (strcmp (argv[i], "--shops") == 0 && i + 1 < argc)
            shops = argv[++i];
        else if (strcmp (argv[i], "--all-shops") == 0)
            all_shops = true;
        else if (strcmp (argv[i], "--token") == 0)
            token = true;
        else if (strcmp (argv[i], "--key") == 0 && i + 1 < argc)
            key = argv[++i];
        else if (strcmp (argv[i], "--generate") == 0 && i + 1 < argc)
            generate = argv[++i];
        else if (strcmp (argv[i], "--gateway-id") == 0 && i + 1 < argc &&
                 gateway_count < S_GATEWAY_IDS_MAX)
            gateway_ids[gateway_count++] = argv[++i];
        else if (argv[i][0] != '-' && !id)
            id = argv[i];
        else {
            fprintf (stderr, "kefuctl principal add: unexpected argument \"%s\"\n", argv[i]);
            return KEFUCTL_USAGE;
        }
    }
    if (!id || !role || (!shops && !all_shops) || (shops && all_shops) || (key && generate)) {
        fprintf (stderr, "kefuctl principal add: needs <id>, --role and exactly one of --shops "
                         "or --all-shops (and at most one of --key, --generate)\n");
        return KEFUCTL_USAGE;
    }
    if (strcmp (role, "gateway") && strcmp (role, "supervisor") && strcmp (role, "admin") &&
        strcmp (role, "service")) {
        fprintf (stderr,
                 "kefuctl principal add: bad role \"%s\" (gateway, supervisor, admin, "
                 "service)\n",
                 role);
        return KEFUCTL_USAGE;
    }
    if (gateway_count > 0 && !s_sends_items (role)) {
        fprintf (stderr, "kefuctl principal add: --gateway-id is for roles gateway and admin\n");
        return KEFUCTL_USAGE;
    }
    if (token && strcmp (role, "supervisor") && strcmp (role, "admin")) {
        fprintf (stderr, "kefuctl principal add: --token is for roles supervisor and admin\n");
        return KEFUCTL_USAGE;
    }
    for (int i = 0; i < gateway_count; i++)
        if (!s_valid_gateway_id (gateway_ids[i]))
            return KEFUCTL_USAGE;
    //  A principal that sends items says its own id unless told otherwise.
    if (gateway_count == 0 && s_sends_items (role))
        gateway_ids[gateway_count++] = id;
    if (key && !s_valid_key (key)) {
        fprintf (stderr, "kefuctl principal add: --key must be 40 Z85 characters\n");
        return KEFUCTL_USAGE;
    }
    zcert_t *cert = NULL;
    if (generate) {
        if (zsys_dir_create ("%s", generate)) {
            fprintf (stderr, "kefuctl principal add: cannot create %s\n", generate);
            return KEFUCTL_FAILED;
        }
        cert = zcert_new ();
        key = zcert_public_txt (cert);
    }
    kf_store_t *store = kefuctl_store (ctl);
    if (!store) {
        zcert_destroy (&cert);
        return KEFUCTL_FAILED;
    }
    kf_error_t err;
    kf_error_clear (&err);
    int rc = KEFUCTL_FAILED;
    int rows = 0;
    kf_params_t params;
    kf_params_init (&params);
    kf_params_str (&params, id);
    kf_params_str (&params, role);
    if (key)
        kf_params_str (&params, key);
    else
        kf_params_null (&params);
    kf_params_bool (&params, all_shops);
    if (kf_store_begin (store, &err) ||
        kf_store_exec_sql (store,
                           "INSERT INTO principals (principal_id, role, public_key, all_shops) "
                           "VALUES ($1::text, $2::text, $3::text, $4::bool) "
                           "ON CONFLICT DO NOTHING RETURNING 1",
                           &params, s_on_rows, &rows, &err))
        goto failed;
    if (!rows) {
        kf_store_rollback (store);
        fprintf (stderr, "kefuctl principal add: principal %s (or its key) already exists\n", id);
        rc = KEFUCTL_EXISTS;
        goto done;
    }
    if (shops) {
        kf_params_init (&params);
        kf_params_str (&params, id);
        kf_params_str (&params, shops);
        //  Unknown shops surface as a foreign-key error, reported below.
        if (kf_store_exec_sql (
                store,
                "INSERT INTO principal_shops (shop_id, principal_id) "
                "SELECT DISTINCT s, $1::text FROM unnest (string_to_array ($2::text, ',')) AS s",
                &params, NULL, NULL, &err))
            goto failed;
    }
    if (gateway_count > 0) {
        rc = s_bind_gateways (store, id, gateway_ids, gateway_count);
        if (rc != KEFUCTL_OK) {
            kf_store_rollback (store);
            goto done;
        }
        rc = KEFUCTL_FAILED;
    }
    if (kf_store_commit (store, &err))
        goto failed;
    if (cert) {
        char path[1024];
        snprintf (path, sizeof path, "%s/%s.key", generate, id);
        if (zcert_save (cert, path)) {
            fprintf (stderr, "kefuctl principal add: cannot write %s\n", path);
            goto done;
        }
        printf ("key pair written: %s (public) and %s_secret (secret)\n", path, path);
    }
    printf ("principal %s added (role %s, shops %s, key %s)\n", id, role, all_shops ? "*" : shops,
            key ? key : "none");
    for (int i = 0; i < gateway_count; i++)
        printf ("gateway id %s bound to principal %s\n", gateway_ids[i], id);
    rc = token ? s_token (ctl, id) : KEFUCTL_OK;
    goto done;
failed:
    kf_store_rollback (store);
    if (strcmp (kf_store_sqlstate (store), "23503") == 0)
        fprintf (stderr, "kefuctl principal add: a shop in --shops does not exist (%s)\n", shops);
    else
        fprintf (stderr, "kefuctl principal add: %s\n", err.reason);
done:
    kf_store_destroy (&store);
    zcert_destroy (&cert);
    return rc;
}
