/*  kefuctl principal — the keys of gateways, supervisors, admins and
    kefu's own services, and the shops each may act for. */
#include "kefuctl.h"

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
            "                        [--key Z85 | --generate DIR]\n"
            "  kefuctl principal list [--json]\n"
            "  kefuctl principal disable <id>\n\n"
            "A principal is whoever connects to kefu with a CURVE key: a gateway (pushes chats\n"
            "for its shops), a supervisor (queries its shops), an admin, or a kefu service.\n"
            "ROLE is gateway, supervisor, admin or service. --shops lists the shops it may act\n"
            "for (they must exist: kefuctl shop add); --all-shops grants every shop.\n"
            "--key takes the principal's public key (40 Z85 characters). --generate DIR makes a\n"
            "new key pair and writes DIR/<id>.key (public) and DIR/<id>.key_secret (give this\n"
            "file to the gateway and keep it private).\n"
            "disable revokes the key: new connections are refused and open sessions are\n"
            "refused within the services' key-cache time (30 s).\n"
            "Exit codes: 0 success, 1 failure, 2 usage, 3 already exists, 4 not found.\n");
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

static int
s_on_list (const PGresult *res, void *arg)
{
    bool json = *(bool *) arg;
    json_t *array = json_array ();
    if (!json)
        printf ("%-24s %-10s %-8s %-42s %s\n", "PRINCIPAL", "ROLE", "STATE", "PUBLIC KEY", "SHOPS");
    for (int i = 0; i < PQntuples (res); i++) {
        const char *shops = kf_store_text (res, i, 4);
        bool all = strcmp (kf_store_text (res, i, 3), "t") == 0;
        bool disabled = !kf_store_isnull (res, i, 5);
        if (json)
            json_array_append_new (
                array, json_pack ("{s:s, s:s, s:s?, s:b, s:s, s:b}", "principal_id",
                                  kf_store_text (res, i, 0), "role", kf_store_text (res, i, 1),
                                  "public_key",
                                  kf_store_isnull (res, i, 2) ? NULL : kf_store_text (res, i, 2),
                                  "all_shops", all, "shops", shops, "disabled", disabled));
        else
            printf ("%-24s %-10s %-8s %-42s %s\n", kf_store_text (res, i, 0),
                    kf_store_text (res, i, 1), disabled ? "disabled" : "active",
                    kf_store_isnull (res, i, 2) ? "-" : kf_store_text (res, i, 2),
                    all ? "*" : shops);
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
        " coalesce (string_agg (s.shop_id, ',' ORDER BY s.shop_id), ''), p.disabled_at "
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
    if (strcmp (argv[1], "add") != 0) {
        fprintf (stderr, "kefuctl principal: unknown verb \"%s\" (add, list, disable)\n", argv[1]);
        return KEFUCTL_USAGE;
    }
    const char *id = NULL, *role = NULL, *shops = NULL, *key = NULL, *generate = NULL;
    bool all_shops = false;
    for (int i = 2; i < argc; i++) {
        if (strcmp (argv[i], "--role") == 0 && i + 1 < argc)
            role = argv[++i];
        else if (strcmp (argv[i], "--shops") == 0 && i + 1 < argc)
            shops = argv[++i];
        else if (strcmp (argv[i], "--all-shops") == 0)
            all_shops = true;
        else if (strcmp (argv[i], "--key") == 0 && i + 1 < argc)
            key = argv[++i];
        else if (strcmp (argv[i], "--generate") == 0 && i + 1 < argc)
            generate = argv[++i];
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
    rc = KEFUCTL_OK;
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
