/*  kefuctl events — the event log: how far each consumer is, and pruning
    what every consumer has applied.

    The events table is the outbox every service writes and the history a
    subscriber catches up from. A row may go once every consumer of its
    stream has applied it (its offset is past it) and it is older than the
    retention period. A consumer that follows a stream but has no offset for
    one of its partitions counts as being at 0 there, so a partition nobody
    has applied yet is never pruned; a stream nobody consumes is kept
    whole. */
#include "kefuctl.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

#define S_PRUNE_SQL                                                                                \
    "DELETE FROM events WHERE stream = $1::text AND partition = $2::int2 AND seq IN ("             \
    "  SELECT seq FROM events WHERE stream = $1::text AND partition = $2::int2 "                   \
    "  AND seq <= $3::int8 AND occurred_at < now () - $4::int8 * interval '1 millisecond' "        \
    "  ORDER BY seq LIMIT $5::int4)"

#define S_PRUNABLE_SQL                                                                             \
    "SELECT count (*) FROM events WHERE stream = $1::text AND partition = $2::int2 "               \
    "AND seq <= $3::int8 AND occurred_at < now () - $4::int8 * interval '1 millisecond'"

#define S_CHUNK 10000

static void
s_help (void)
{
    printf (
        "Usage:\n"
        "  kefuctl events list [--json]\n"
        "  kefuctl events prune [--keep DURATION] [--dry-run]\n"
        "  kefuctl events forget-consumer <consumer>\n"
        "  kefuctl events watch ENDPOINT [keys] [--count N] [--timeout D]   (see its --help)\n\n"
        "Every service writes its events (message.accepted, conversation.assigned, ...) to the\n"
        "events table and publishes them; subscribers record how far they have applied each\n"
        "stream and partition (consumer_offsets) and catch up from the table after a restart.\n\n"
        "list             per stream and partition: the newest sequence, the oldest row kept,\n"
        "                 the consumers and how far behind the slowest one is.\n"
        "prune            delete events every consumer of their stream has applied and that\n"
        "                 are older than --keep (default 7d; e.g. 12h, 30d), in chunks of %d\n"
        "                 rows, each its own transaction (safe while services run). A stream no\n"
        "                 consumer follows is kept whole. --dry-run only counts. Run it from\n"
        "                 cron, e.g. daily.\n"
        "forget-consumer  delete a retired consumer's offsets (a consumer that no longer runs\n"
        "                 holds back pruning of every stream it followed). A consumer started\n"
        "                 later begins at the oldest event still kept.\n"
        "watch            print a service's events as they are published (a service key for\n"
        "                 a secure service).\n"
        "Exit codes: 0 success, 1 failure, 2 usage, 4 no such consumer.\n",
        S_CHUNK);
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

static int
s_list (kefuctl_t *ctl, int argc, char **argv)
{
    const char *cmd = "kefuctl events list";
    bool json = false;
    for (int i = 2; i < argc; i++) {
        if (strcmp (argv[i], "--json") == 0)
            json = true;
        else
            return kefuctl_bad_arg (cmd, argc, argv, i);
    }
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

static int
s_prune (kefuctl_t *ctl, int argc, char **argv)
{
    const char *cmd = "kefuctl events prune";
    int64_t keep_ms = 7LL * 24 * 3600 * 1000;
    bool dry_run = false;
    for (int i = 2; i < argc; i++) {
        const char *v;
        if ((v = kefuctl_opt (argc, argv, &i, "--keep"))) {
            if (kefuctl_parse_duration (cmd, "--keep", v, 0, 3650LL * 24 * 3600 * 1000, &keep_ms))
                return KEFUCTL_USAGE;
        } else if (strcmp (argv[i], "--dry-run") == 0)
            dry_run = true;
        else
            return kefuctl_bad_arg (cmd, argc, argv, i);
    }
    kf_store_t *store;
    s_positions_t pos;
    int rc = s_open (ctl, cmd, &store, &pos);
    if (rc)
        return rc;
    int64_t total = 0;
    for (int i = 0; rc == KEFUCTL_OK && i < pos.count; i++) {
        s_position_t *r = &pos.rows[i];
        if (r->consumers == 0 || r->upto <= 0 || r->oldest == 0 || r->oldest > r->upto)
            continue;
        int64_t pruned = 0;
        kf_error_t err;
        kf_error_clear (&err);
        while (true) {
            kf_params_t params;
            kf_params_init (&params);
            kf_params_str (&params, r->stream);
            kf_params_int (&params, r->partition);
            kf_params_int (&params, r->upto);
            kf_params_int (&params, keep_ms);
            int64_t n = 0;
            if (dry_run) {
                if (kf_store_exec_sql (store, S_PRUNABLE_SQL, &params, kefuctl_on_int, &n, &err))
                    break;
                pruned = n;
                break;
            }
            kf_params_int (&params, S_CHUNK);
            if (kf_store_exec_sql (store, S_PRUNE_SQL, &params, kefuctl_on_affected, &n, &err))
                break;
            pruned += n;
            if (n < S_CHUNK)
                break;
        }
        if (err.code != KEFU__V1__ERROR_CODE__ERROR_NONE) {
            fprintf (stderr, "%s: %s/%d: %s\n", cmd, r->stream, r->partition, err.reason);
            rc = KEFUCTL_FAILED;
        }
        if (pruned > 0)
            printf ("%s/%02d: %s %" PRId64 " events (applied by all %" PRId64
                    " consumers up to seq %" PRId64 ")\n",
                    r->stream, r->partition, dry_run ? "would prune" : "pruned", pruned,
                    r->consumers, r->upto);
        total += pruned;
    }
    for (int i = 0; rc == KEFUCTL_OK && i < pos.count; i++)
        if (pos.rows[i].consumers == 0 && pos.rows[i].oldest > 0 &&
            (i == 0 || strcmp (pos.rows[i - 1].stream, pos.rows[i].stream) != 0))
            printf ("%s: no consumer follows this stream: kept whole\n", pos.rows[i].stream);
    if (rc == KEFUCTL_OK)
        printf ("%s %" PRId64 " events in all\n", dry_run ? "would prune" : "pruned", total);
    free (pos.rows);
    kf_store_destroy (&store);
    return rc;
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
                                &params, kefuctl_on_affected, &n, &err);
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
    if (strcmp (verb, "forget-consumer") == 0)
        return s_forget (ctl, argc, argv);
    fprintf (stderr, "kefuctl events: unknown verb \"%s\" (list, prune, forget-consumer, watch)\n",
             verb);
    return KEFUCTL_USAGE;
}
