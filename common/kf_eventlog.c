/*  kf_eventlog — partitions of the event log made ahead and dropped whole. */
#include "kf_eventlog.h"

#include "kf_clock.h"
#include "kf_log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_DROPPABLE_SQL                                                                            \
    "SELECT d.name, (extract (epoch FROM d.to_ts) * 1000)::int8, "                                 \
    "  coalesce ((SELECT greatest (c.reltuples, 0)::int8 FROM pg_class c "                         \
    "             WHERE c.oid = to_regclass (d.name)), 0) "                                        \
    "FROM kefu_events_droppable ($1::int8 * interval '1 millisecond') AS d"

//  0 not attached (left over by an interrupted prune), 1 attached, 2 a
//  concurrent detach was interrupted half-way.
#define S_ATTACHED_SQL                                                                             \
    "SELECT coalesce ((SELECT CASE WHEN i.inhdetachpending THEN 2 ELSE 1 END FROM pg_inherits i "  \
    "  WHERE i.inhrelid = to_regclass ($1::text) AND i.inhparent = 'events'::regclass), 0)"

//  Session-level: held across the detach, which runs outside a transaction.
#define S_LOCK_SQL   "SELECT pg_advisory_lock (hashtext ('kefu.events.prune'))"
#define S_UNLOCK_SQL "SELECT pg_advisory_unlock (hashtext ('kefu.events.prune'))"

#define S_NAME_MAX 48

typedef struct {
    char name[S_NAME_MAX]; //  partition table
    int64_t ends_ms;       //  end of its range
    int64_t rows;          //  estimated rows
} s_part_t;

typedef struct {
    s_part_t *parts; //  droppable partitions, oldest first
    int count;       //  entries in parts
} s_parts_t;

//  The names come from event_partitions, whose CHECK allows only these
//  characters; checked again because they are spliced into DDL.
static bool
s_valid_name (const char *name)
{
    size_t len = strlen (name);
    if (len <= 7 || len >= S_NAME_MAX || strncmp (name, "events_", 7) != 0)
        return false;
    for (const char *c = name + 7; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_'))
            return false;
    return true;
}

static int
s_on_droppable (const PGresult *res, void *arg)
{
    s_parts_t *p = arg;
    int n = PQntuples (res);
    p->parts = calloc ((size_t) n + 1, sizeof *p->parts);
    if (!p->parts)
        return -1;
    for (int i = 0; i < n; i++) {
        const char *name = kf_store_text (res, i, 0);
        if (!s_valid_name (name))
            return -1;
        s_part_t *part = &p->parts[p->count++];
        snprintf (part->name, sizeof part->name, "%s", name);
        part->ends_ms = kf_store_int (res, i, 1);
        part->rows = kf_store_int (res, i, 2);
    }
    return 0;
}

int
kf_eventlog_ensure (kf_store_t *store, int days_ahead, kf_error_t *err)
{
    kf_params_t params;
    kf_params_init (&params);
    kf_params_int (&params, days_ahead);
    int64_t made = 0;
    if (kf_store_exec_sql (store, "SELECT kefu_events_ensure_partitions ($1::int4)", &params,
                           kf_store_on_int, &made, err))
        return -1;
    if (made > 0)
        kf_log_info ("eventlog.partitions_created", "count=%" PRId64 " days_ahead=%d", made,
                     days_ahead);
    return (int) made;
}

//  Detach (concurrently: writers keep writing) and drop one partition;
//  how long each step took goes to *detach_ms and *drop_ms.
static int
s_drop (kf_store_t *store, const char *name, int64_t *detach_ms, int64_t *drop_ms, kf_error_t *err)
{
    int64_t start = kf_clock_mono_ms ();
    kf_params_t params;
    kf_params_init (&params);
    kf_params_str (&params, name);
    int64_t state = 0;
    if (kf_store_exec_sql (store, S_ATTACHED_SQL, &params, kf_store_on_int, &state, err))
        return -1;
    char ddl[128];
    if (state > 0) {
        snprintf (ddl, sizeof ddl, "ALTER TABLE events DETACH PARTITION %s %s", name,
                  state == 2 ? "FINALIZE" : "CONCURRENTLY");
        if (kf_store_exec_sql (store, ddl, NULL, NULL, NULL, err))
            return -1;
    }
    int64_t detached = kf_clock_mono_ms ();
    *detach_ms = detached - start;
    snprintf (ddl, sizeof ddl, "DROP TABLE IF EXISTS %s", name);
    if (kf_store_begin (store, err))
        return -1;
    if (kf_store_exec_sql (store, ddl, NULL, NULL, NULL, err) ||
        kf_store_exec_sql (store, "DELETE FROM event_partitions WHERE name = $1::text", &params,
                           NULL, NULL, err) ||
        kf_store_commit (store, err)) {
        kf_store_rollback (store);
        return -1;
    }
    *drop_ms = kf_clock_mono_ms () - detached;
    return 0;
}

int
kf_eventlog_prune (kf_store_t *store, int64_t keep_ms, bool dry_run, kf_eventlog_dropped_fn *fn,
                   void *arg, kf_error_t *err)
{
    if (kf_store_exec_sql (store, S_LOCK_SQL, NULL, NULL, NULL, err))
        return -1;
    s_parts_t parts = {NULL, 0};
    kf_params_t params;
    kf_params_init (&params);
    kf_params_int (&params, keep_ms);
    int dropped = -1;
    if (kf_store_exec_sql (store, S_DROPPABLE_SQL, &params, s_on_droppable, &parts, err))
        goto done;
    dropped = 0;
    for (int i = 0; i < parts.count; i++) {
        s_part_t *part = &parts.parts[i];
        if (dry_run) {
            kf_params_t count;
            kf_params_init (&count);
            kf_params_str (&count, part->name);
            if (kf_store_exec_sql (store, "SELECT kefu_events_count ($1::text)", &count,
                                   kf_store_on_int, &part->rows, err)) {
                dropped = -1;
                break;
            }
        } else {
            int64_t detach_ms = 0, drop_ms = 0;
            if (s_drop (store, part->name, &detach_ms, &drop_ms, err)) {
                dropped = -1;
                break;
            }
            kf_log_info ("eventlog.partition_dropped",
                         "partition=%s rows_estimate=%" PRId64 " detach_ms=%" PRId64
                         " drop_ms=%" PRId64,
                         part->name, part->rows, detach_ms, drop_ms);
        }
        dropped++;
        if (fn)
            fn (part->name, part->ends_ms, part->rows, arg);
    }
done:
    free (parts.parts);
    kf_error_t unlock_err;
    if (kf_store_exec_sql (store, S_UNLOCK_SQL, NULL, NULL, NULL, &unlock_err))
        kf_store_disconnect (store); //  the session's lock goes with it
    return dropped;
}

// --- the keeper ------------------------------------------------------------

typedef struct {
    char *database_url;  //  owned
    char *app_name;      //  owned
    int64_t keep_ms;     //  0: never prune
    int64_t interval_ms; //  between rounds
} s_keeper_args_t;

//  One round: partitions ahead, then prune. Fills made/dropped; 0 or -1.
static int
s_round (kf_store_t *store, int64_t keep_ms, int *made, int *dropped, kf_error_t *err)
{
    *made = *dropped = 0;
    if (kf_store_ensure (store)) {
        kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_STORE_UNAVAILABLE, "database unavailable");
        return -1;
    }
    *made = kf_eventlog_ensure (store, KF_EVENTLOG_DAYS_AHEAD, err);
    if (*made < 0)
        return -1;
    if (keep_ms > 0) {
        *dropped = kf_eventlog_prune (store, keep_ms, false, NULL, NULL, err);
        if (*dropped < 0)
            return -1;
    }
    return 0;
}

static void
s_keeper (zsock_t *pipe, void *arg)
{
    s_keeper_args_t *args = arg;
    kf_store_t *store = kf_store_new (args->database_url, args->app_name);
    zpoller_t *poller = zpoller_new (pipe, NULL);
    zsock_signal (pipe, 0);
    int64_t next = kf_clock_mono_ms (); //  a round at once
    while (store && poller) {
        int64_t now = kf_clock_mono_ms ();
        if (now >= next) {
            int made, dropped;
            kf_error_t err;
            kf_error_clear (&err);
            bool ok = s_round (store, args->keep_ms, &made, &dropped, &err) == 0;
            if (!ok)
                kf_log_warn ("eventlog.round_failed", "reason=\"%s\"", err.reason);
            //  A failed round is tried again within a minute.
            next = now + (ok || args->interval_ms < 60000 ? args->interval_ms : 60000);
            continue;
        }
        int64_t wait = next - now;
        zsock_t *which = zpoller_wait (poller, wait > 3600000 ? 3600000 : (int) wait);
        if (zpoller_terminated (poller))
            break;
        if (which != pipe)
            continue;
        char *command = zstr_recv (pipe);
        if (!command || streq (command, "$TERM")) {
            free (command);
            break;
        }
        if (streq (command, "ROUND")) {
            int made, dropped;
            kf_error_t err;
            kf_error_clear (&err);
            if (s_round (store, args->keep_ms, &made, &dropped, &err) == 0)
                zstr_sendf (pipe, "OK %d %d", made, dropped);
            else
                zstr_sendf (pipe, "FAIL %s", err.reason);
        }
        free (command);
    }
    zpoller_destroy (&poller);
    kf_store_destroy (&store);
    free (args->database_url);
    free (args->app_name);
    free (args);
}

zactor_t *
kf_eventlog_keeper_new (const char *database_url, const char *app_name, int64_t keep_ms,
                        int64_t interval_ms)
{
    s_keeper_args_t *args = calloc (1, sizeof *args);
    if (!args)
        return NULL;
    args->database_url = strdup (database_url);
    args->app_name = strdup (app_name);
    args->keep_ms = keep_ms;
    args->interval_ms = interval_ms > 0 ? interval_ms : 3600000;
    if (!args->database_url || !args->app_name) {
        free (args->database_url);
        free (args->app_name);
        free (args);
        return NULL;
    }
    return zactor_new (s_keeper, args);
}
