/*  kefuctl shop — register and list shops. */
#include "kefuctl.h"

#include "kf_shop.h"
#include "kf_tz.h"
#include "kf_valid.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
s_help (void)
{
    printf ("Usage:\n"
            "  kefuctl shop add <shop_id> --name NAME [--timezone TZ]\n"
            "  kefuctl shop list [--json]\n\n"
            "A shop id is 1-64 characters of a-z, 0-9, '_', '.', '-' (e.g. tmall-hzfs) and is\n"
            "what gateways put in shop_id. The time zone (IANA name or +08:00, default\n"
            "Asia/Shanghai) decides shifts, reminder times and daily reports.\n"
            "Exit codes: 0 success, 1 failure, 2 usage, 3 the shop already exists.\n");
}

static int
s_on_list (const PGresult *res, void *arg)
{
    bool json = *(bool *) arg;
    json_t *array = json_array ();
    static const char *head[] = {"SHOP", "NAME", "TIMEZONE", "PART"};
    kefuctl_table_t *table = kefuctl_table_new (4, head);
    for (int i = 0; i < PQntuples (res); i++) {
        if (json)
            json_array_append_new (array, json_pack ("{s:s, s:s, s:s, s:I, s:s}", "shop_id",
                                                     kf_store_text (res, i, 0), "name",
                                                     kf_store_text (res, i, 1), "timezone",
                                                     kf_store_text (res, i, 2), "partition",
                                                     (json_int_t) kf_store_int (res, i, 3),
                                                     "created_at", kf_store_text (res, i, 4)));
        else {
            const char *row[] = {kf_store_text (res, i, 0), kf_store_text (res, i, 1),
                                 kf_store_text (res, i, 2), kf_store_text (res, i, 3)};
            kefuctl_table_add (table, row);
        }
    }
    if (json) {
        char *text = json_dumps (array, JSON_INDENT (2));
        printf ("%s\n", text);
        free (text);
    } else
        kefuctl_table_print (table, stdout);
    kefuctl_table_destroy (&table);
    json_decref (array);
    return 0;
}

static int
s_on_inserted (const PGresult *res, void *arg)
{
    *(int *) arg = PQntuples (res);
    return 0;
}

int
kefuctl_shop (kefuctl_t *ctl, int argc, char **argv)
{
    if (argc < 2 || kefuctl_wants_help (argc, argv)) {
        s_help ();
        return argc < 2 ? KEFUCTL_USAGE : KEFUCTL_OK;
    }
    const char *verb = argv[1];
    if (strcmp (verb, "list") == 0) {
        bool json = argc > 2 && strcmp (argv[2], "--json") == 0;
        if (argc > 2 + (json ? 1 : 0)) {
            fprintf (stderr, "kefuctl shop list: unexpected argument \"%s\"\n", argv[argc - 1]);
            return KEFUCTL_USAGE;
        }
        kf_store_t *store = kefuctl_store (ctl);
        if (!store)
            return KEFUCTL_FAILED;
        kf_error_t err;
        int rc = kf_store_exec_sql (store,
                                    "SELECT shop_id, name, timezone, partition, created_at::text "
                                    "FROM shops ORDER BY shop_id",
                                    NULL, s_on_list, &json, &err);
        if (rc)
            fprintf (stderr, "kefuctl shop list: %s\n", err.reason);
        kf_store_destroy (&store);
        return rc ? KEFUCTL_FAILED : KEFUCTL_OK;
    }
    if (strcmp (verb, "add") != 0) {
        fprintf (stderr, "kefuctl shop: unknown verb \"%s\" (add, list)\n", verb);
        return KEFUCTL_USAGE;
    }
    const char *shop_id = NULL, *name = NULL, *timezone = "Asia/Shanghai";
    for (int i = 2; i < argc; i++) {
        if (strcmp (argv[i], "--name") == 0 && i + 1 < argc)
            name = argv[++i];
        else if (strcmp (argv[i], "--timezone") == 0 && i + 1 < argc)
            timezone = argv[++i];
        else if (argv[i][0] != '-' && !shop_id)
            shop_id = argv[i];
        else {
            fprintf (stderr, "kefuctl shop add: unexpected argument \"%s\"\n", argv[i]);
            return KEFUCTL_USAGE;
        }
    }
    kf_error_t err;
    kf_error_clear (&err);
    if (!shop_id || !name) {
        fprintf (stderr, "kefuctl shop add: needs <shop_id> and --name NAME\n");
        return KEFUCTL_USAGE;
    }
    if (kf_valid_shop_id (shop_id, strlen (shop_id), &err)) {
        fprintf (stderr, "kefuctl shop add: bad shop id \"%s\": %s\n", shop_id, err.reason);
        return KEFUCTL_USAGE;
    }
    ProtobufCBinaryData name_bytes = {strlen (name), (uint8_t *) name};
    if (kf_valid_text (&name_bytes, "name", KF_NAME_MAX, true, &err)) {
        fprintf (stderr, "kefuctl shop add: bad name: %s\n", err.reason);
        return KEFUCTL_USAGE;
    }
    kf_tz_t *tz = kf_tz_new (timezone);
    if (!tz) {
        fprintf (stderr, "kefuctl shop add: unknown time zone \"%s\" (use e.g. Asia/Shanghai)\n",
                 timezone);
        return KEFUCTL_USAGE;
    }
    kf_tz_destroy (&tz);
    kf_store_t *store = kefuctl_store (ctl);
    if (!store)
        return KEFUCTL_FAILED;
    kf_params_t params;
    kf_params_init (&params);
    kf_params_str (&params, shop_id);
    kf_params_str (&params, name);
    kf_params_str (&params, timezone);
    kf_params_int (&params, kf_shop_partition (shop_id, strlen (shop_id)));
    int inserted = 0;
    int rc = kf_store_exec_sql (store,
                                "INSERT INTO shops (shop_id, name, timezone, partition) "
                                "VALUES ($1::text, $2::text, $3::text, $4::int2) "
                                "ON CONFLICT (shop_id) DO NOTHING RETURNING 1",
                                &params, s_on_inserted, &inserted, &err);
    kf_store_destroy (&store);
    if (rc) {
        fprintf (stderr, "kefuctl shop add: %s\n", err.reason);
        return KEFUCTL_FAILED;
    }
    if (!inserted) {
        fprintf (stderr, "kefuctl shop add: shop %s already exists\n", shop_id);
        return KEFUCTL_EXISTS;
    }
    printf ("shop %s added (time zone %s)\n", shop_id, timezone);
    return KEFUCTL_OK;
}
