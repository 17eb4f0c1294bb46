/*  kefuctl_change — the database side every kefuctl command shares: the
    connection, a shop opened for reading, one change as one transaction
    with its events on the "admin" stream, and the "<noun> list <shop>"
    shape. Builds on kefuctl_args only. */
#include "kefuctl.h"

#include "routing_store.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

kf_store_t *
kefuctl_store (kefuctl_t *ctl)
{
    kf_store_t *store = kf_store_new (ctl->common->database_url, "kefuctl");
    if (kf_store_connect (store)) {
        fprintf (stderr, "kefuctl: cannot connect to the database (KEFU_DATABASE_URL)\n");
        kf_store_destroy (&store);
    }
    return store;
}

static int
s_on_timezone (const PGresult *res, void *arg)
{
    char *timezone = arg; //  65 bytes
    if (PQntuples (res) == 1)
        snprintf (timezone, 65, "%s", kf_store_text (res, 0, 0));
    return 0;
}

//  Does the shop exist? Its time zone into timezone (65 bytes).
static int
s_shop_exists (kf_store_t *store, const char *cmd, const char *shop_id, char *timezone)
{
    kf_params_t params;
    kf_params_init (&params);
    kf_params_str (&params, shop_id);
    kf_error_t err;
    timezone[0] = 0;
    if (kf_store_exec_sql (store, "SELECT timezone FROM shops WHERE shop_id = $1::text", &params,
                           s_on_timezone, timezone, &err)) {
        fprintf (stderr, "%s: %s\n", cmd, err.reason);
        return KEFUCTL_FAILED;
    }
    if (!timezone[0]) {
        fprintf (stderr, "%s: shop %s does not exist (kefuctl shop list)\n", cmd, shop_id);
        return KEFUCTL_NOT_FOUND;
    }
    return KEFUCTL_OK;
}

//  Connect and check the shop; its time zone into timezone (65 bytes).
static int
s_shop_open (kefuctl_t *ctl, const char *cmd, const char *shop_id, kf_store_t **store_p,
             char *timezone)
{
    *store_p = NULL;
    kf_store_t *store = kefuctl_store (ctl);
    if (!store)
        return KEFUCTL_FAILED;
    int rc = s_shop_exists (store, cmd, shop_id, timezone);
    if (rc)
        kf_store_destroy (&store);
    *store_p = store;
    return rc;
}

int
kefuctl_shop_open (kefuctl_t *ctl, const char *cmd, const char *shop_id, kf_store_t **store_p)
{
    char timezone[65];
    return s_shop_open (ctl, cmd, shop_id, store_p, timezone);
}

//  The change happens at kefuctl's time (KEFU_CLOCK): what keeps history
//  (shift_history) records it then.
static int
s_change_time (kefuctl_change_t *change)
{
    char when[40];
    kf_params_t params;
    kf_params_init (&params);
    snprintf (when, sizeof when, "%" PRId64, change->now_ms);
    kf_params_str (&params, when);
    return kf_store_exec_sql (change->store,
                              "SELECT set_config ('kefu.now', (to_timestamp ($1::int8 / "
                              "1000.0::float8))::text, true)",
                              &params, NULL, NULL, &change->err);
}

int
kefuctl_change_run (kefuctl_t *ctl, const char *cmd, const char *shop_id, const char *by,
                    kefuctl_change_fn *fn, void *arg)
{
    kf_store_t *store = kefuctl_store (ctl);
    if (!store)
        return KEFUCTL_FAILED;
    //  No bind: kefuctl is no daemon. The routing service reads the admin
    //  stream from the events table, so publish is only a no-op doorbell.
    kf_outbox_t *outbox = kf_outbox_new ("admin", store);
    char *text = NULL;
    size_t size = 0;
    kefuctl_change_t change = {.store = store,
                               .outbox = outbox,
                               .cmd = cmd,
                               .shop_id = shop_id,
                               .by = by,
                               .out = open_memstream (&text, &size),
                               .now_ms = ctl->now_ms};
    kf_error_clear (&change.err);
    int rc = KEFUCTL_FAILED;
    if (!change.out)
        fprintf (stderr, "%s: out of memory\n", cmd);
    else if (kf_store_begin (store, &change.err) || s_change_time (&change))
        rc = kefuctl_change_failed (&change);
    else if ((rc = s_shop_exists (store, cmd, shop_id, change.timezone)) == KEFUCTL_OK &&
             (rc = fn (&change, arg)) == KEFUCTL_OK) {
        if ((kf_outbox_pending (outbox) > 0 && kf_outbox_flush (outbox, &change.err)) ||
            kf_store_commit (store, &change.err))
            rc = kefuctl_change_failed (&change);
    }
    if (rc == KEFUCTL_OK)
        kf_outbox_publish (outbox);
    else {
        kf_store_rollback (store);
        kf_outbox_discard (outbox);
    }
    //  Say what was done only once it is in the record.
    if (change.out) {
        fclose (change.out);
        if (rc == KEFUCTL_OK && text)
            fputs (text, stdout);
    }
    free (text);
    kf_outbox_destroy (&outbox);
    kf_store_destroy (&store);
    return rc;
}

int
kefuctl_change_config (kefuctl_change_t *change, const char *what)
{
    Kefu__V1__ConfigChanged changed = KEFU__V1__CONFIG_CHANGED__INIT;
    changed.what = (char *) what;
    changed.by = (char *) change->by;
    Kefu__V1__Event event = KEFU__V1__EVENT__INIT;
    event.shop_id = (char *) change->shop_id;
    event.kind = "config.changed";
    event.payload_case = KEFU__V1__EVENT__PAYLOAD_CONFIG_CHANGED;
    event.config_changed = &changed;
    if (kf_outbox_add (change->outbox, &event)) {
        fprintf (stderr, "%s: out of memory\n", change->cmd);
        return KEFUCTL_FAILED;
    }
    return KEFUCTL_OK;
}

int
kefuctl_change_failed (kefuctl_change_t *change)
{
    const char *state = kf_store_sqlstate (change->store);
    if (strcmp (state, "23503") == 0)
        fprintf (stderr, "%s: a group, shift or agent it refers to was removed meanwhile (%s)\n",
                 change->cmd, change->err.reason);
    else
        fprintf (stderr, "%s: %s\n", change->cmd, change->err.reason);
    return KEFUCTL_FAILED;
}

int
kefuctl_require (kefuctl_change_t *change, const char *what, const kefuctl_names_t *names)
{
    if (names->count == 0)
        return KEFUCTL_OK;
    bool group = strcmp (what, "group") == 0;
    char missing[256];
    int rc = routing_store_missing (change->store, change->shop_id, group, names->csv, missing,
                                    sizeof missing, &change->err);
    if (rc)
        return kefuctl_change_failed (change);
    if (!*missing)
        return KEFUCTL_OK;
    fprintf (stderr, "%s: shop %s has no %s %s (see kefuctl %s list %s; %s)\n", change->cmd,
             change->shop_id, what, missing, what, change->shop_id,
             group ? "create it with kefuctl group add, or run kefuctl shift defaults for "
                     "presales/aftersales"
                   : "create it with kefuctl shift add, or run kefuctl shift defaults for "
                     "day/night");
    return KEFUCTL_USAGE;
}

int
kefuctl_rotation_resolve (kefuctl_change_t *c, int weeks, int *offset)
{
    if (*offset >= 0)
        return KEFUCTL_OK;
    int64_t week = kefuctl_week (c->timezone, c->now_ms);
    if (week < 0) {
        fprintf (stderr, "%s: shop %s has an unknown time zone \"%s\" (kefuctl shop list)\n",
                 c->cmd, c->shop_id, c->timezone);
        return KEFUCTL_FAILED;
    }
    *offset = (int) ((week + (*offset == KEFUCTL_ROTATION_NEXT)) % weeks);
    return KEFUCTL_OK;
}

int
kefuctl_list_run (kefuctl_t *ctl, const char *cmd, int argc, char **argv, int first,
                  kefuctl_lister_fn *fn, void *arg)
{
    const char *shop_id;
    bool json;
    int rc = kefuctl_shop_args (cmd, argc, argv, first, &shop_id, &json, NULL);
    if (rc)
        return rc;
    kf_store_t *store = NULL;
    char timezone[65];
    rc = s_shop_open (ctl, cmd, shop_id, &store, timezone);
    if (rc)
        return rc;
    kf_error_t err;
    kf_error_clear (&err);
    kefuctl_list_t list = {json, timezone, ctl->now_ms, store, shop_id, arg};
    if (fn (&list, &err)) {
        fprintf (stderr, "%s: %s\n", cmd, err.reason);
        rc = KEFUCTL_FAILED;
    }
    kf_store_destroy (&store);
    return rc;
}
