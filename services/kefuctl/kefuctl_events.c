/*  kefuctl events — the event log: how far each consumer is, its daily
    partitions, and pruning what every consumer has applied.

    The events table is the outbox every service writes and the history a
    subscriber catches up from, partitioned by the day its rows were
    stored. Pruning drops whole days (kf_eventlog.h says which may go); every
    daemon does it hourly, this command does it by hand. */
#include "kefuctl.h"

#include "kf_eventlog.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

//  Per (stream, partition): the newest sequence, the oldest row kept, the
//  lowest offset over the stream's consumers and how many there are.
#define S_POSITIONS_SQL                                                                            \
    "WITH c AS (SELECT DISTINCT consumer, stream FROM consumer_offsets) "                          \
    "SELECT s.stream, s.partition, s.last_seq, "                                                   \
    "  coalesce ((SELECT min (e.seq) FROM events e WHERE e.stream = s.stream "                     \
    "             AND e.partition = s.partition), 0), "                                            \
    "  CASE WHEN count (c.consumer) = 0 THEN 0 ELSE min (coalesce (o.last_seq, 0)) END, "          \
    "  count (c.consumer) "                                                                        \
    "FROM event_sequences s LEFT JOIN c ON c.stream = s.stream "                                   \
    "LEFT JOIN consumer_offsets o ON o.consumer = c.consumer AND o.stream = s.stream "             \
    "  AND o.partition = s.partition "                                                             \
    "GROUP BY s.stream, s.partition, s.last_seq ORDER BY s.stream, s.partition"

//  The partitions of the event log (migration 0019) with their size.
#define S_PARTITIONS_SQL                                                                           \
    "SELECT p.name, CASE WHEN p.from_ts = '-infinity' THEN '-infinity' ELSE "                      \
    "  to_char (p.from_ts AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') END, "                         \
    "  to_char (p.to_ts AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), "                               \
    "  coalesce ((SELECT greatest (c.reltuples, 0)::int8 FROM pg_class c "                         \
    "             WHERE c.oid = to_regclass (p.name)), 0), "                                       \
    "  coalesce (pg_total_relation_size (to_regclass (p.name)), 0) "                               \
    "FROM event_partitions p ORDER BY p.to_ts"

#define S_DEFAULT_KEEP_MS (7LL * 24 * 3600 * 1000)

static void
s_help (void)
{
    printf (
        "Usage:\n"
        "  kefuctl events list [--json]\n"
        "  kefuctl events partitions [--json]\n"
        "  kefuctl events prune [--keep DURATION] [--dry-run]\n"
        "  kefuctl events forget-consumer <consumer>\n"
        "  kefuctl events watch ENDPOINT [keys] [--count N] [--timeout D]   (see its --help)\n\n"
        "Every service writes its events (message.accepted, conversation.assigned, ...) to the\n"
        "events table and publishes them; subscribers record how far they have applied each\n"
        "stream and partition (consumer_offsets) and catch up from the table after a restart.\n"
        "The table is partitioned by the day (UTC) its rows were stored.\n\n"
        "list             per stream and partition: the newest sequence, the oldest row kept,\n"
        "                 the consumers and how far behind the slowest one is.\n"
        "partitions       the daily partitions: their range, rows (PostgreSQL's estimate), size.\n"
        "prune            drop, oldest first, whole days of events that ended more than --keep\n"
        "                 ago (default KEFU_EVENTS_KEEP, else 7d; e.g. 12h, 30d) and that every\n"
        "                 consumer of every stream in them has applied (a consumer without an\n"
        "                 offset for a partition counts as 0 there; a stream nobody consumes\n"
        "                 holds nothing back). A dropped day is gone at once: no DELETE, no\n"
        "                 dead rows, writers not blocked. --dry-run only reports (exact counts).\n"
        "                 Every running daemon already does this hourly (KEFU_EVENTS_KEEP).\n"
        "forget-consumer  delete a retired consumer's offsets (a consumer that no longer runs\n"
        "                 holds back pruning of every stream it followed). A consumer started\n"
        "                 later begins at the oldest event still kept.\n"
        "watch            print a service's events as they are published (a service key for\n"
        "                 a secure service).\n"
        "Exit codes: 0 success, 1 failure, 2 usage, 4 no such consumer.\n");
}

typedef struct {
    char stream[40];   //  stream name
    int partition;     //  partition
    int64_t head;      //  newest sequence written
    int64_t oldest;    //  oldest sequence still in the table (0: none)
    int64_t upto;      //  lowest consumer offset (0 with no consumer)
    int64_t consumers; //  consumers of the stream
} s_position_t;

typedef struct {
    s_position_t *rows; //  positions read
    int count;          //  rows in it
} s_positions_t;

static int
s_on_positions (const PGresult *res, void *arg)
{
    s_positions_t *p = arg;
    p->count = PQntuples (res);
    p->rows = calloc ((size_t) p->count + 1, sizeof *p->rows);
    for (int i = 0; i < p->count; i++) {
        s_position_t *r = &p->rows[i];
        snprintf (r->stream, sizeof r->stream, "%s", kf_store_text (res, i, 0));
        r->partition = (int) kf_store_int (res, i, 1);
        r->head = kf_store_int (res, i, 2);
        r->oldest = kf_store_int (res, i, 3);
        r->upto = kf_store_int (res, i, 4);
        r->consumers = kf_store_int (res, i, 5);
    }
    return 0;
}

//  Connect and read the positions. On 0 the caller owns *store_p and
//  pos->rows; otherwise both are released and the exit code is returned.
static int
s_open (kefuctl_t *ctl, const char *cmd, kf_store_t **store_p, s_positions_t *pos)
{
    *pos = (s_positions_t){NULL, 0};
    *store_p = kefuctl_store (ctl);
    if (!*store_p)
        return KEFUCTL_FAILED;
    kf_error_t err;
    kf_error_clear (&err);
    if (kf_store_exec_sql (*store_p, S_POSITIONS_SQL, NULL, s_on_positions, pos, &err)) {
        fprintf (stderr, "%s: %s\n", cmd, err.reason);
        kf_store_destroy (store_p);
        free (pos->rows);
        return KEFUCTL_FAILED;
    }
    return KEFUCTL_OK;
}

//  A verb whose only option is --json: 0, or the usage exit code.
static int
s_json_only (const char *cmd, int argc, char **argv, bool *json)
{
    for (int i = 2; i < argc; i++) {
        if (strcmp (argv[i], "--json") == 0)
            *json = true;
        else
            return kefuctl_bad_arg (cmd, argc, argv, i);
    }
    return 0;
}

static int
s_list (kefuctl_t *ctl, int argc, char **argv)
{
    const char *cmd = "kefuctl events list";
    bool json = false;
    int bad = s_json_only (cmd, argc, argv, &json);
    if (bad)
        return bad;
    kf_store_t *store;
    s_positions_t pos;
    int rc = s_open (ctl, cmd, &store, &pos);
    if (rc)
        return rc;
    kf_store_destroy (&store);
    json_t *array = json_array ();
    if (!json)
        printf ("%-12s %4s %12s %12s %9s %12s\n", "STREAM", "PART", "NEWEST", "OLDEST KEPT",
                "CONSUMERS", "SLOWEST LAG");
    for (int i = 0; i < pos.count; i++) {
        s_position_t *r = &pos.rows[i];
        int64_t lag = r->consumers ? r->head - r->upto : 0;
        if (json)
            json_array_append_new (
                array, json_pack ("{s:s, s:i, s:I, s:I, s:I, s:I}", "stream", r->stream,
                                  "partition", r->partition, "newest", (json_int_t) r->head,
                                  "oldest_kept", (json_int_t) r->oldest, "consumers",
                                  (json_int_t) r->consumers, "slowest_lag", (json_int_t) lag));
        else {
            char lag_text[24];
            if (r->consumers)
                snprintf (lag_text, sizeof lag_text, "%" PRId64, lag);
            else
                snprintf (lag_text, sizeof lag_text, "(none)");
            printf ("%-12s %4d %12" PRId64 " %12" PRId64 " %9" PRId64 " %12s\n", r->stream,
                    r->partition, r->head, r->oldest, r->consumers, lag_text);
        }
    }
    if (json) {
        char *text = json_dumps (array, JSON_INDENT (2));
        printf ("%s\n", text);
        free (text);
    }
    json_decref (array);
    free (pos.rows);
    return KEFUCTL_OK;
}

typedef struct {
    bool dry_run; //  only reporting
    int64_t rows; //  rows in all (estimated unless dry_run)
} s_pruned_t;

static void
s_on_dropped (const char *partition, int64_t ends_ms, int64_t rows, void *arg)
{
    s_pruned_t *p = arg;
    char ends[32];
    time_t t = (time_t) (ends_ms / 1000);
    struct tm tm;
    strftime (ends, sizeof ends, "%Y-%m-%d %H:%M UTC", gmtime_r (&t, &tm));
    printf ("%s (ended %s): %s %s%" PRId64 " events\n", partition, ends,
            p->dry_run ? "would drop," : "dropped,", p->dry_run ? "" : "~", rows);
    p->rows += rows;
}

static int
s_prune (kefuctl_t *ctl, int argc, char **argv)
{
    const char *cmd = "kefuctl events prune";
    int64_t keep_ms = ctl->common->events_keep > 0 ? ctl->common->events_keep : S_DEFAULT_KEEP_MS;
    s_pruned_t pruned = {false, 0};
    for (int i = 2; i < argc; i++) {
        const char *v;
        if ((v = kefuctl_opt (argc, argv, &i, "--keep"))) {
            if (kefuctl_parse_duration (cmd, "--keep", v, 0, 3650LL * 24 * 3600 * 1000, &keep_ms))
                return KEFUCTL_USAGE;
        } else if (strcmp (argv[i], "--dry-run") == 0)
            pruned.dry_run = true;
        else
            return kefuctl_bad_arg (cmd, argc, argv, i);
    }
    kf_store_t *store = kefuctl_store (ctl);
    if (!store)
        return KEFUCTL_FAILED;
    kf_error_t err;
    kf_error_clear (&err);
    int dropped = kf_eventlog_prune (store, keep_ms, pruned.dry_run, s_on_dropped, &pruned, &err);
    //  Partitions ahead, as every daemon keeps them (none may be running).
    if (dropped >= 0 && !pruned.dry_run &&
        kf_eventlog_ensure (store, KF_EVENTLOG_DAYS_AHEAD, &err) < 0)
        dropped = -1;
    kf_store_destroy (&store);
    if (dropped < 0) {
        fprintf (stderr, "%s: %s\n", cmd, err.reason);
        return KEFUCTL_FAILED;
    }
    printf ("%s %d partitions, %s%" PRId64 " events in all\n",
            pruned.dry_run ? "would drop" : "dropped", dropped, pruned.dry_run ? "" : "~",
            pruned.rows);
    return KEFUCTL_OK;
}

static int
s_on_partitions (const PGresult *res, void *arg)
{
    json_t *array = arg;
    for (int i = 0; i < PQntuples (res); i++)
        json_array_append_new (
            array, json_pack ("{s:s, s:s, s:s, s:I, s:I}", "partition", kf_store_text (res, i, 0),
                              "from", kf_store_text (res, i, 1), "to", kf_store_text (res, i, 2),
                              "rows_estimate", (json_int_t) kf_store_int (res, i, 3), "bytes",
                              (json_int_t) kf_store_int (res, i, 4)));
    return 0;
}

static int
s_partitions (kefuctl_t *ctl, int argc, char **argv)
{
    const char *cmd = "kefuctl events partitions";
    bool json = false;
    int bad = s_json_only (cmd, argc, argv, &json);
    if (bad)
        return bad;
    kf_store_t *store = kefuctl_store (ctl);
    if (!store)
        return KEFUCTL_FAILED;
    json_t *array = json_array ();
    kf_error_t err;
    kf_error_clear (&err);
    int rc = kf_store_exec_sql (store, S_PARTITIONS_SQL, NULL, s_on_partitions, array, &err);
    kf_store_destroy (&store);
    if (rc) {
        fprintf (stderr, "%s: %s\n", cmd, err.reason);
        json_decref (array);
        return KEFUCTL_FAILED;
    }
    if (json) {
        char *text = json_dumps (array, JSON_INDENT (2));
        printf ("%s\n", text);
        free (text);
    } else {
        printf ("%-16s %-22s %-22s %12s %10s\n", "PARTITION", "FROM (UTC)", "TO (UTC)",
                "ROWS (EST.)", "MB");
        size_t i;
        json_t *row;
        json_array_foreach (array, i, row)
        {
            printf ("%-16s %-22s %-22s %12" PRId64 " %10.1f\n",
                    json_string_value (json_object_get (row, "partition")),
                    json_string_value (json_object_get (row, "from")),
                    json_string_value (json_object_get (row, "to")),
                    (int64_t) json_integer_value (json_object_get (row, "rows_estimate")),
                    (double) json_integer_value (json_object_get (row, "bytes")) / 1048576.0);
        }
    }
    json_decref (array);
    return KEFUCTL_OK;
}

static int
s_forget (kefuctl_t *ctl, int argc, char **argv)
{
    const char *cmd = "kefuctl events forget-consumer";
    if (argc != 3 || argv[2][0] == '-') {
        fprintf (stderr, "%s: needs exactly one <consumer> (see kefuctl events --help)\n", cmd);
        return KEFUCTL_USAGE;
    }
    kf_store_t *store = kefuctl_store (ctl);
    if (!store)
        return KEFUCTL_FAILED;
    kf_params_t params;
    kf_params_init (&params);
    kf_params_str (&params, argv[2]);
    int64_t n = 0;
    kf_error_t err;
    kf_error_clear (&err);
    int rc = kf_store_exec_sql (store, "DELETE FROM consumer_offsets WHERE consumer = $1::text",
                                &params, kf_store_on_changed, &n, &err);
    kf_store_destroy (&store);
    if (rc) {
        fprintf (stderr, "%s: %s\n", cmd, err.reason);
        return KEFUCTL_FAILED;
    }
    if (n == 0) {
        fprintf (stderr, "%s: no consumer \"%s\" (see kefuctl events list)\n", cmd, argv[2]);
        return KEFUCTL_NOT_FOUND;
    }
    printf ("consumer %s forgotten (%" PRId64 " offsets)\n", argv[2], n);
    return KEFUCTL_OK;
}

int
kefuctl_events (kefuctl_t *ctl, int argc, char **argv)
{
    if (argc >= 2 && strcmp (argv[1], "watch") == 0) //  its own --help
        return kefuctl_events_watch (ctl, argc, argv);
    if (argc < 2 || kefuctl_wants_help (argc, argv)) {
        s_help ();
        return argc < 2 ? KEFUCTL_USAGE : KEFUCTL_OK;
    }
    const char *verb = argv[1];
    if (strcmp (verb, "list") == 0)
        return s_list (ctl, argc, argv);
    if (strcmp (verb, "prune") == 0)
        return s_prune (ctl, argc, argv);
    if (strcmp (verb, "partitions") == 0)
        return s_partitions (ctl, argc, argv);
    if (strcmp (verb, "forget-consumer") == 0)
        return s_forget (ctl, argc, argv);
    fprintf (stderr,
             "kefuctl events: unknown verb \"%s\" (list, prune, partitions, forget-consumer, "
             "watch)\n",
             verb);
    return KEFUCTL_USAGE;
}
