/*  test_kf_events — the event machinery end to end (kf_outbox + kf_subscriber).

    A publisher writes 10,000 events (marker n = 1..10000) across shops in
    several partitions. The subscriber runs as a separate process (this
    program re-executed with --subscriber) that loses every 7th publication
    (fault injection). It is stopped halfway (SIGTERM) while the publisher
    goes on, started again, later killed with SIGKILL in the middle of the
    stream and started once more. At the end it must have applied all 10,000
    events exactly once (primary key on the applied table), in sequence order
    within each partition, with gap-free sequences. */
#include "kf_batch.h"
#include "kf_daemon.h"
#include "kf_log.h"
#include "kf_outbox.h"
#include "kf_shop.h"
#include "kf_subscriber.h"
#include "kf_wire.h"
#include "kt_db.h"

#include <libpq-fe.h>

#include <setjmp.h>
#include <stdbool.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#define TOTAL 10000
#define BATCH 40

static const char *s_shops[] = {"shop-a", "shop-b", "shop-c", "shop-d", "shop-e", "shop-f"};

static const kf_stmt_t s_test_statements[] = {
    {"test_apply", "INSERT INTO test_applied (partition, seq, n, shop_id) "
                   "VALUES ($1::int2, $2::int8, $3::int8, $4::text)"},
    {NULL, NULL}};

//  The subscriber's handler: record the event (the primary key on
//  (partition, seq) and the unique n make a second application fail).
static int
s_apply (kf_store_t *store, const Kefu__V1__Event *event, void *arg, kf_error_t *err)
{
    (void) arg;
    if (event->payload_case != KEFU__V1__EVENT__PAYLOAD_MARKER)
        return 0;
    kf_params_t params;
    kf_params_init (&params);
    kf_params_int (&params, event->partition);
    kf_params_int (&params, event->seq);
    kf_params_int (&params, event->marker->n);
    kf_params_str (&params, event->shop_id);
    return kf_store_exec (store, "test_apply", &params, NULL, NULL, err);
}

//  Child process: subscribe until SIGTERM, then print stats and exit 0.
static int
s_subscriber_main (const char *conninfo, const char *endpoint)
{
    kf_log_init ("test-subscriber");
    int sfd = kf_daemon_block_signals ();
    zsys_handler_set (NULL);
    kf_store_t *store = kf_store_new (conninfo, "test-subscriber");
    kf_store_add_statements (store, s_test_statements);
    kf_subscriber_t *sub = kf_subscriber_new ("test-consumer", store, s_apply, NULL);
    kf_subscriber_follow (sub, "testpub", endpoint);
    kf_subscriber_set_drop_every (sub, 7);
    kf_subscriber_set_batch (sub, 100);
    kf_subscriber_start (sub);
    zmq_pollitem_t items[] = {{zsock_resolve (kf_subscriber_socket (sub)), 0, ZMQ_POLLIN, 0},
                              {NULL, sfd, ZMQ_POLLIN, 0}};
    int64_t next_poll = 0;
    while (true) {
        zmq_poll (items, 2, 50);
        if (items[1].revents & ZMQ_POLLIN)
            break;
        if (items[0].revents & ZMQ_POLLIN)
            kf_subscriber_handle (sub);
        //  The periodic catch-up: the only way to notice that the *last*
        //  publications were dropped.
        if (zclock_mono () >= next_poll) {
            kf_subscriber_poll (sub);
            next_poll = zclock_mono () + 200;
        }
    }
    kf_subscriber_stats_t st;
    kf_subscriber_stats (sub, &st);
    printf ("applied=%ld from_pub=%ld from_table=%ld gaps=%ld dropped=%ld stale=%ld\n",
            (long) st.applied, (long) st.from_pub, (long) st.from_table, (long) st.gaps,
            (long) st.dropped_injected, (long) st.stale);
    fflush (stdout);
    kf_subscriber_destroy (&sub);
    kf_store_destroy (&store);
    return 0;
}

typedef struct {
    pid_t pid; //  child process
    int out;   //  its stdout (read end)
} s_child_t;

static s_child_t
s_spawn (const char *conninfo, const char *endpoint)
{
    int fds[2];
    assert_int_equal (pipe (fds), 0);
    pid_t pid = fork ();
    assert_true (pid >= 0);
    if (pid == 0) {
        //  Never outlive the test (a failed assertion must not leave it running).
        prctl (PR_SET_PDEATHSIG, SIGKILL);
        dup2 (fds[1], 1);
        close (fds[0]);
        execl ("/proc/self/exe", "test_kf_events", "--subscriber", conninfo, endpoint,
               (char *) NULL);
        _exit (127);
    }
    close (fds[1]);
    return (s_child_t){pid, fds[0]};
}

static void
s_wait_child (s_child_t *child, int sig, char *out, size_t size)
{
    kill (child->pid, sig);
    int status = 0;
    assert_int_equal (waitpid (child->pid, &status, 0), child->pid);
    ssize_t n = read (child->out, out, size - 1);
    out[n > 0 ? n : 0] = '\0';
    close (child->out);
    if (sig == SIGTERM)
        assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);
    else
        assert_true (WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL);
}

static long long
s_applied (const char *conninfo)
{
    return kt_db_count (conninfo, "SELECT count(*) FROM test_applied");
}

//  Wait (bounded) until the subscriber process has applied at least n.
static void
s_wait_applied (const char *conninfo, long long n)
{
    int64_t deadline = zclock_mono () + 120000;
    while (s_applied (conninfo) < n && zclock_mono () < deadline)
        zclock_sleep (20);
    assert_true (s_applied (conninfo) >= n);
}

//  Add marker event n for shop to the outbox's transaction.
static void
s_add_marker (kf_outbox_t *outbox, const char *shop, int64_t n, const char *label)
{
    Kefu__V1__Marker marker = KEFU__V1__MARKER__INIT;
    marker.n = n;
    if (label)
        marker.label = (char *) label;
    Kefu__V1__Event ev = KEFU__V1__EVENT__INIT;
    ev.shop_id = (char *) shop;
    ev.kind = "marker";
    ev.payload_case = KEFU__V1__EVENT__PAYLOAD_MARKER;
    ev.marker = &marker;
    assert_int_equal (kf_outbox_add (outbox, &ev), 0);
}

//  The publisher's connection to a fresh test database, with the table the
//  subscribers' handlers record applied events in.
static kf_store_t *
s_publisher (const char *db)
{
    kf_store_t *store = kf_store_new (db, "test-publisher");
    assert_int_equal (kf_store_connect (store), 0);
    kf_error_t err;
    assert_int_equal (kf_store_exec_sql (store,
                                         "CREATE TABLE test_applied (partition int2, seq int8, "
                                         "n int8 UNIQUE, shop_id text, applied_order bigserial, "
                                         "PRIMARY KEY (partition, seq))",
                                         NULL, NULL, NULL, &err),
                      0);
    return store;
}

static void
test_ten_thousand_events_exactly_once (void **state)
{
    (void) state;
    char *db = kt_db_fresh ("events_test");
    kf_store_t *store = s_publisher (db);
    kf_error_t err;
    //  The shops span several partitions.
    unsigned parts[6];
    for (int i = 0; i < 6; i++)
        parts[i] = kf_shop_partition (s_shops[i], strlen (s_shops[i]));
    assert_true (parts[0] != parts[1] || parts[1] != parts[2]);

    kf_outbox_t *outbox = kf_outbox_new ("testpub", store);
    int port = kf_outbox_bind (outbox, "tcp://127.0.0.1:*");
    assert_true (port > 0);
    char endpoint[64];
    snprintf (endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", port);

    s_child_t child = s_spawn (db, endpoint);
    char stats[512];
    for (int n = 1; n <= TOTAL;) {
        assert_int_equal (kf_store_begin (store, &err), 0);
        for (int k = 0; k < BATCH && n <= TOTAL; k++, n++) {
            s_add_marker (outbox, s_shops[n % 6], n, "test");
        }
        assert_int_equal (kf_outbox_flush (outbox, &err), 0);
        assert_int_equal (kf_store_commit (store, &err), 0);
        kf_outbox_publish (outbox);
        int written = n - 1;
        if (written == 4000) {
            //  Halfway through the first half: stop the subscriber cleanly
            //  once it has applied something, and keep publishing.
            s_wait_applied (db, 1000);
            s_wait_child (&child, SIGTERM, stats, sizeof stats);
            fprintf (stderr, "subscriber stopped: %s", stats);
        }
        if (written == 6000)
            child = s_spawn (db, endpoint); //  catches up 2,000+ from the table
        if (written == 8000) {
            s_wait_applied (db, 6500);
            s_wait_child (&child, SIGKILL, stats, sizeof stats);
            child = s_spawn (db, endpoint);
        }
        //  Pace the publisher now and then so that publications reach a
        //  running subscriber live (the fast path), not only via catch-up.
        bool running = written < 4000 || written >= 6000;
        if (running && written % 400 == 0)
            s_wait_applied (db, written - BATCH);
    }
    s_wait_applied (db, TOTAL);
    s_wait_child (&child, SIGTERM, stats, sizeof stats);
    fprintf (stderr, "final subscriber: %s", stats);

    //  Exactly once: 10,000 rows, each n once (UNIQUE), each (partition, seq) once (PK).
    assert_int_equal (s_applied (db), TOTAL);
    assert_int_equal (kt_db_count (db, "SELECT count(DISTINCT n) FROM test_applied"), TOTAL);
    assert_int_equal (kt_db_count (db, "SELECT min(n) FROM test_applied"), 1);
    assert_int_equal (kt_db_count (db, "SELECT max(n) FROM test_applied"), TOTAL);
    //  Gap-free sequences per partition: 1..count.
    assert_int_equal (kt_db_count (db, "SELECT count(*) FROM (SELECT partition FROM test_applied "
                                       "GROUP BY partition HAVING min(seq) <> 1 "
                                       "OR max(seq) <> count(*)) t"),
                      0);
    //  In order: within a partition, applied order follows seq, and n grows with seq.
    assert_int_equal (kt_db_count (db, "SELECT count(*) FROM (SELECT seq, lag (seq) OVER "
                                       "(PARTITION BY partition ORDER BY applied_order) AS prev "
                                       "FROM test_applied) t WHERE prev >= seq"),
                      0);
    assert_int_equal (kt_db_count (db, "SELECT count(*) FROM (SELECT n, lag (n) OVER "
                                       "(PARTITION BY partition ORDER BY seq) AS prev "
                                       "FROM test_applied) t WHERE prev >= n"),
                      0);
    //  The offsets agree with what was applied.
    assert_int_equal (kt_db_count (db, "SELECT sum(last_seq) FROM consumer_offsets "
                                       "WHERE consumer = 'test-consumer'"),
                      TOTAL);
    //  The faults really happened: the final subscriber dropped publications
    //  and detected gaps.
    long applied = 0, from_pub = 0, from_table = 0, gaps = 0, dropped = 0, stale = 0;
    assert_int_equal (sscanf (stats,
                              "applied=%ld from_pub=%ld from_table=%ld gaps=%ld dropped=%ld "
                              "stale=%ld",
                              &applied, &from_pub, &from_table, &gaps, &dropped, &stale),
                      6);
    assert_true (applied > 0);
    assert_true (dropped > 0);
    assert_true (from_pub > 0);
    assert_true (gaps > 0);

    kf_outbox_destroy (&outbox);
    kf_store_destroy (&store);
    free (db);
}

//  A rolled-back transaction leaves no event and no hole in the sequence.
static void
test_rollback_leaves_no_gap (void **state)
{
    (void) state;
    char *db = kt_db_fresh ("events_rollback");
    kf_store_t *store = kf_store_new (db, "test-publisher");
    assert_int_equal (kf_store_connect (store), 0);
    kf_outbox_t *outbox = kf_outbox_new ("testpub", store);
    kf_error_t err;
    for (int round = 0; round < 3; round++) {
        assert_int_equal (kf_store_begin (store, &err), 0);
        s_add_marker (outbox, "shop-a", round, NULL);
        assert_int_equal (kf_outbox_flush (outbox, &err), 0);
        if (round == 1) {
            kf_store_rollback (store);
            kf_outbox_discard (outbox);
        } else {
            assert_int_equal (kf_store_commit (store, &err), 0);
            kf_outbox_publish (outbox);
        }
    }
    assert_int_equal (kt_db_count (db, "SELECT count(*) FROM events"), 2);
    assert_int_equal (kt_db_count (db, "SELECT max(seq) FROM events"), 2);
    kf_outbox_destroy (&outbox);
    kf_store_destroy (&store);
    free (db);
}

//  What is stored is byte for byte what is published: PostgreSQL appends the
//  seq field to the stored payload (kefu_event_seq_field) the way the
//  publisher appends it, for one- to five-byte sequences, whether the
//  outbox is flushed on its own or queued in a pipeline before COMMIT.
static void
test_stored_payload_is_the_published_one (void **state)
{
    (void) state;
    char *db = kt_db_fresh ("events_payload");
    kf_store_t *store = kf_store_new (db, "test-publisher");
    assert_int_equal (kf_store_connect (store), 0);
    kf_outbox_t *outbox = kf_outbox_new ("testpay", store);
    assert_int_equal (kf_outbox_bind (outbox, "inproc://test-payload"), 0);
    zsock_t *sub = zsock_new_sub ("inproc://test-payload", "testpay/");
    assert_non_null (sub);
    zsock_set_rcvtimeo (sub, 5000);
    //  Probe until the subscription has reached the PUB socket.
    zpoller_t *poller = zpoller_new (sub, NULL);
    bool subscribed = false;
    for (int tries = 0; tries < 500 && !subscribed; tries++) {
        assert_int_equal (kf_wire_send_topic (kf_outbox_socket (outbox), "testpay/probe",
                                              (const uint8_t *) "p", 1),
                          0);
        subscribed = zpoller_wait (poller, 10) != NULL;
    }
    zpoller_destroy (&poller);
    assert_true (subscribed);
    //  Start each shop's partition at a sequence needing a longer varint.
    const int64_t starts[] = {0, 126, 16382, 2097150, 268435454};
    const char *shops[] = {"shop-a", "shop-b", "shop-c", "shop-d", "shop-e"};
    PGconn *conn = PQconnectdb (db);
    assert_int_equal (PQstatus (conn), CONNECTION_OK);
    int partitions[5];
    for (int i = 0; i < 5; i++) {
        partitions[i] = (int) kf_shop_partition (shops[i], strlen (shops[i]));
        for (int k = 0; k < i; k++)
            assert_int_not_equal (partitions[k], partitions[i]); //  distinct, or pick others
        char partition[16], start[32];
        snprintf (partition, sizeof partition, "%d", partitions[i]);
        snprintf (start, sizeof start, "%lld", (long long) starts[i]);
        const char *values[] = {partition, start};
        PGresult *res = PQexecParams (conn,
                                      "INSERT INTO event_sequences (stream, partition, last_seq) "
                                      "VALUES ('testpay', $1::int2, $2::int8)",
                                      2, NULL, values, NULL, NULL, 0);
        assert_int_equal (PQresultStatus (res), PGRES_COMMAND_OK);
        PQclear (res);
    }
    kf_error_t err;
    int sent = 0;
    for (int round = 0; round < 2; round++) {
        assert_int_equal (kf_store_begin (store, &err), 0);
        for (int i = 0; i < 5; i++)
            for (int n = 0; n < 3; n++)
                s_add_marker (outbox, shops[i], round * 100 + i * 10 + n, NULL);
        if (round == 0) {
            assert_int_equal (kf_outbox_flush (outbox, &err), 0);
            assert_int_equal (kf_store_commit (store, &err), 0);
        } else {
            assert_int_equal (kf_store_pipeline_begin (store, &err), 0);
            kf_outbox_queue_write (outbox);
            kf_store_pipeline_sql (store, "COMMIT", NULL, NULL, NULL);
            assert_int_equal (kf_store_pipeline_run (store, &err), 0);
        }
        assert_int_equal (kf_outbox_publish (outbox), 15);
        sent += 15;
    }
    for (int m = 0; m < sent; m++) {
        zmsg_t *msg = zmsg_recv (sub);
        assert_non_null (msg);
        assert_int_equal (zmsg_size (msg), 2);
        if (zframe_streq (zmsg_first (msg), "testpay/probe")) {
            zmsg_destroy (&msg);
            m--;
            continue;
        }
        zframe_t *data = zmsg_last (msg);
        Kefu__V1__Event *ev =
            kefu__v1__event__unpack (NULL, zframe_size (data), zframe_data (data));
        assert_non_null (ev);
        int i = (int) (ev->marker->n % 100) / 10;
        //  Sequences continue each partition's start, in order.
        assert_int_equal (ev->seq, starts[i] + 1 + (ev->marker->n / 100) * 3 + ev->marker->n % 10);
        char partition[16], seq[32];
        snprintf (partition, sizeof partition, "%u", ev->partition);
        snprintf (seq, sizeof seq, "%lld", (long long) ev->seq);
        const char *values[] = {partition, seq};
        PGresult *res = PQexecParams (conn,
                                      "SELECT encode (payload, 'hex') FROM events WHERE stream = "
                                      "'testpay' AND partition = $1::int2 AND seq = $2::int8",
                                      2, NULL, values, NULL, NULL, 0);
        assert_int_equal (PQntuples (res), 1);
        char hex[2048] = "";
        for (size_t b = 0; b < zframe_size (data) && b * 2 + 2 < sizeof hex; b++)
            snprintf (hex + b * 2, 3, "%02x", zframe_data (data)[b]);
        assert_string_equal (PQgetvalue (res, 0, 0), hex);
        PQclear (res);
        kefu__v1__event__free_unpacked (ev, NULL);
        zmsg_destroy (&msg);
    }
    PQfinish (conn);
    zsock_destroy (&sub);
    kf_outbox_destroy (&outbox);
    kf_store_destroy (&store);
    free (db);
}

//  Write one marker event for shop in its own transaction; publish it or
//  not (a lost publication).
static void
s_write_marker (kf_store_t *store, kf_outbox_t *outbox, const char *shop, int n, bool publish)
{
    kf_error_t err;
    assert_int_equal (kf_store_begin (store, &err), 0);
    s_add_marker (outbox, shop, n, NULL);
    assert_int_equal (kf_outbox_flush (outbox, &err), 0);
    assert_int_equal (kf_store_commit (store, &err), 0);
    if (publish)
        assert_int_equal (kf_outbox_publish (outbox), 1);
    else
        kf_outbox_discard (outbox);
}

//  Wait (bounded) until a publication is waiting on the subscriber's socket.
static void
s_wait_readable (kf_subscriber_t *sub)
{
    zpoller_t *poller = zpoller_new (kf_subscriber_socket (sub), NULL);
    assert_non_null (zpoller_wait (poller, 5000));
    zpoller_destroy (&poller);
}

//  Publish markers for shop until one gets through to sub (its SUB
//  connection is then up); returns the next marker number.
static int
s_connect_sub (kf_store_t *store, kf_outbox_t *outbox, kf_subscriber_t *sub, const char *shop)
{
    int n = 1;
    for (int tries = 0; tries < 200; tries++) {
        s_write_marker (store, outbox, shop, n++, true);
        zpoller_t *poller = zpoller_new (kf_subscriber_socket (sub), NULL);
        bool ready = zpoller_wait (poller, 50) != NULL;
        zpoller_destroy (&poller);
        if (ready)
            break;
    }
    return n;
}

//  The periodic poll reads the table only when the fast path is really
//  behind: at once when the socket is quiet, and when it is busy only for
//  events that were already written at the previous poll and still have
//  not arrived (a lost last publication of a partition).
static void
test_poll_reads_table_only_when_behind (void **state)
{
    (void) state;
    char *db = kt_db_fresh ("events_poll");
    kf_store_t *store = s_publisher (db);
    kf_error_t err;
    //  Two shops in different partitions.
    const char *quiet = s_shops[0];
    const char *busy = NULL;
    for (int i = 1; i < 6 && !busy; i++)
        if (kf_shop_partition (s_shops[i], strlen (s_shops[i])) !=
            kf_shop_partition (quiet, strlen (quiet)))
            busy = s_shops[i];
    assert_non_null (busy);
    kf_outbox_t *outbox = kf_outbox_new ("testpub", store);
    int port = kf_outbox_bind (outbox, "tcp://127.0.0.1:*");
    assert_true (port > 0);
    char endpoint[64];
    snprintf (endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", port);

    kf_store_t *sub_store = kf_store_new (db, "test-subscriber");
    kf_store_add_statements (sub_store, s_test_statements);
    kf_subscriber_t *sub = kf_subscriber_new ("test-consumer", sub_store, s_apply, NULL);
    kf_subscriber_follow (sub, "testpub", endpoint);
    assert_int_equal (kf_subscriber_start (sub), 0);
    int n = s_connect_sub (store, outbox, sub, busy);
    assert_true (kf_subscriber_poll (sub) >= 0);
    kf_subscriber_stats_t st;
    kf_subscriber_stats (sub, &st);
    int64_t from_table = st.from_table;
    assert_int_equal (s_applied (db), n - 1);

    //  1. All publications lost, socket quiet: the first poll reads them.
    s_write_marker (store, outbox, quiet, n++, false);
    s_write_marker (store, outbox, quiet, n++, false);
    assert_int_equal (kf_subscriber_poll (sub), 2);
    kf_subscriber_stats (sub, &st);
    assert_int_equal (st.from_table, from_table + 2);
    assert_int_equal (s_applied (db), n - 1);

    //  2. The quiet partition loses its last publication while the other
    //  one keeps the socket busy: the first poll leaves it to the socket...
    int lost = n;
    char lost_sql[96];
    snprintf (lost_sql, sizeof lost_sql, "SELECT count(*) FROM test_applied WHERE n = %d", lost);
    s_write_marker (store, outbox, quiet, n++, false);
    s_write_marker (store, outbox, busy, n++, true);
    s_wait_readable (sub);
    assert_int_equal (kf_subscriber_poll (sub), 1);
    assert_int_equal (kt_db_count (db, lost_sql), 0);
    kf_subscriber_stats (sub, &st);
    assert_int_equal (st.from_table, from_table + 2);
    //  ... the next one, still busy, sees it has not come and reads it.
    s_write_marker (store, outbox, busy, n++, true);
    s_wait_readable (sub);
    assert_int_equal (kf_subscriber_poll (sub), 2);
    assert_int_equal (kt_db_count (db, lost_sql), 1);
    kf_subscriber_stats (sub, &st);
    assert_int_equal (st.from_table, from_table + 3);
    assert_int_equal (s_applied (db), n - 1);

    //  3. Nothing behind: a poll reads nothing.
    assert_int_equal (kf_subscriber_poll (sub), 0);

    //  4. A backlog bigger than one drain (25,000 publications waiting, a
    //  drain takes 10,000): the events are on the socket, not lost, so the
    //  polls take them all from there, none from the table (reading the
    //  table for them made a subscriber that fell behind by one poll
    //  interval fall further behind).
    assert_int_equal (kf_store_begin (store, &err), 0);
    for (int i = 0; i < 25000; i++)
        s_add_marker (outbox, busy, n++, NULL);
    assert_int_equal (kf_outbox_flush (outbox, &err), 0);
    assert_int_equal (kf_store_commit (store, &err), 0);
    assert_int_equal (kf_outbox_publish (outbox), 25000);
    s_wait_readable (sub);
    kf_subscriber_stats (sub, &st);
    int64_t table_before = st.from_table;
    int polls = 0;
    for (; polls < 100 && s_applied (db) < n - 1; polls++) {
        assert_true (kf_subscriber_poll (sub) >= 0);
        if (s_applied (db) < n - 1) {
            zpoller_t *poller = zpoller_new (kf_subscriber_socket (sub), NULL);
            zpoller_wait (poller, 100);
            zpoller_destroy (&poller);
        }
    }
    assert_true (polls >= 3); //  at least three drains
    assert_int_equal (s_applied (db), n - 1);
    kf_subscriber_stats (sub, &st);
    assert_int_equal (st.from_table, table_before);

    kf_subscriber_destroy (&sub);
    kf_store_destroy (&sub_store);
    kf_outbox_destroy (&outbox);
    kf_store_destroy (&store);
    free (db);
}

//  An in-memory handler (like routing's model): events are decided in
//  memory, written by queue_writes. `valid` is false from a failed
//  transaction until the test "rebuilds" it.
typedef struct {
    kf_batch_t *pending; //  (partition, seq, n, shop) decided, not yet queued
    bool valid;          //  memory is the record's
    int fail_next;       //  transactions to make fail
    int commits;         //  after_commit calls
    int rollbacks;       //  after_rollback calls
    int decided;         //  events decided while valid
    int decided_at_fail; //  ... when the first rollback was told
} s_memory_t;

static int
s_apply_memory (kf_store_t *store, const Kefu__V1__Event *event, void *arg, kf_error_t *err)
{
    (void) store;
    s_memory_t *m = arg;
    if (!m->valid)
        return kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_STORE_UNAVAILABLE, "rebuilding");
    m->decided++;
    if (event->payload_case == KEFU__V1__EVENT__PAYLOAD_MARKER) {
        kf_batch_int (m->pending, 0, event->partition);
        kf_batch_int (m->pending, 1, event->seq);
        kf_batch_int (m->pending, 2, event->marker->n);
        kf_batch_str (m->pending, 3, event->shop_id);
    }
    return 0;
}

static int
s_queue_memory (kf_store_t *store, void *arg, kf_error_t *err)
{
    (void) err;
    s_memory_t *m = arg;
    if (kf_batch_rows (m->pending) > 0) {
        kf_params_t params;
        kf_params_init (&params);
        kf_batch_params (m->pending, &params);
        kf_store_pipeline_add (store, "test_apply_many", &params, NULL, NULL);
        kf_batch_reset (m->pending);
    }
    if (m->fail_next > 0) {
        m->fail_next--;
        kf_store_pipeline_sql (store, "SELECT kefu_fail ('KF999', 'injected')", NULL, NULL, NULL);
    }
    return 0;
}

static void
s_memory_committed (void *arg)
{
    ((s_memory_t *) arg)->commits++;
}

static void
s_memory_rolled_back (void *arg)
{
    s_memory_t *m = arg;
    if (m->rollbacks++ == 0)
        m->decided_at_fail = m->decided;
    m->valid = false;
    kf_batch_reset (m->pending);
}

//  An in-memory subscriber decides the next batch while the previous one
//  commits. When that transaction fails, the batch decided behind it is
//  dropped too (it was decided on memory the record does not have): nothing
//  of either is stored, the offsets stay, and after the handler rebuilds,
//  a poll applies every event exactly once from the table.
static void
test_in_memory_failure_drops_the_batch_behind (void **state)
{
    (void) state;
    char *db = kt_db_fresh ("events_overlap");
    kf_store_t *store = s_publisher (db);
    kf_error_t err;
    //  inproc: a publication is on the subscriber's socket when
    //  kf_outbox_publish returns, so the 12 events below are all there
    //  before the subscriber reads any.
    kf_outbox_t *outbox = kf_outbox_new ("testpub", store);
    const char *endpoint = "inproc://test-events-overlap";
    assert_int_equal (kf_outbox_bind (outbox, endpoint), 0);

    static const kf_stmt_t statements[] = {
        {"test_apply_many", "INSERT INTO test_applied (partition, seq, n, shop_id) "
                            "SELECT unnest ($1::int2[]), unnest ($2::int8[]), unnest ($3::int8[]), "
                            "unnest ($4::text[])"},
        {NULL, NULL}};
    kf_store_t *sub_store = kf_store_new (db, "test-subscriber");
    kf_store_add_statements (sub_store, statements);
    kf_col_type_t types[] = {KF_COL_INT2, KF_COL_INT8, KF_COL_INT8, KF_COL_TEXT};
    s_memory_t m = {kf_batch_new (4, types), true, 0, 0, 0, 0, 0};
    kf_subscriber_t *sub = kf_subscriber_new ("test-memory", sub_store, s_apply_memory, &m);
    kf_subscriber_follow (sub, "testpub", endpoint);
    kf_subscriber_set_batch (sub, 5);
    kf_subscriber_set_in_memory (sub, true);
    kf_subscriber_hooks_t hooks = {s_queue_memory, s_memory_committed, s_memory_rolled_back, &m};
    kf_subscriber_set_hooks (sub, &hooks);
    assert_int_equal (kf_subscriber_start (sub), 0);
    int n = s_connect_sub (store, outbox, sub, s_shops[0]);
    assert_true (kf_subscriber_poll (sub) >= 0);
    assert_int_equal (s_applied (db), n - 1);
    int before = n - 1;

    //  12 events of one shop: batches of 5, 5, 2. The first transaction
    //  fails; the second batch is applied in memory before that is known.
    assert_int_equal (kf_store_begin (store, &err), 0);
    for (int i = 0; i < 12; i++)
        s_add_marker (outbox, s_shops[0], n++, NULL);
    assert_int_equal (kf_outbox_flush (outbox, &err), 0);
    assert_int_equal (kf_store_commit (store, &err), 0);
    assert_int_equal (kf_outbox_publish (outbox), 12);
    s_wait_readable (sub);
    m.fail_next = 1;
    int commits = m.commits;
    int decided = m.decided;
    kf_subscriber_stats_t st;
    kf_subscriber_stats (sub, &st);
    int64_t from_table = st.from_table;
    for (int polls = 0; polls < 50 && m.rollbacks == 0; polls++) {
        kf_subscriber_handle (sub);
        if (m.rollbacks == 0)
            s_wait_readable (sub);
    }
    //  When the failure became known, the second batch (5 more events) was
    //  already decided in memory; it was dropped with the first. Until the
    //  handler is rebuilt it refuses what comes next (more rollbacks).
    assert_true (m.rollbacks >= 1);
    assert_int_equal (m.decided_at_fail - decided, 10);
    assert_int_equal (m.commits, commits);
    assert_int_equal (s_applied (db), before); //  neither batch stored
    char offset_sql[160];
    snprintf (offset_sql, sizeof offset_sql,
              "SELECT coalesce (sum (last_seq), 0) FROM consumer_offsets "
              "WHERE consumer = 'test-memory'");
    assert_int_equal (kt_db_count (db, offset_sql), before);

    //  Rebuilt: the poll reads what was dropped from the table, in
    //  transactions that overlap, each event once.
    m.valid = true;
    assert_true (kf_subscriber_poll (sub) >= 0);
    assert_int_equal (s_applied (db), n - 1);
    assert_int_equal (kt_db_count (db, offset_sql), n - 1);
    assert_int_equal (kt_db_count (db, "SELECT count(DISTINCT n) FROM test_applied"), n - 1);
    kf_subscriber_stats (sub, &st);
    assert_int_equal (st.from_table, from_table + 12);
    assert_true (m.commits >= commits + 3);
    assert_false (kf_store_pipeline_in_flight (sub_store));

    kf_subscriber_destroy (&sub);
    kf_store_destroy (&sub_store);
    kf_batch_destroy (&m.pending);
    kf_outbox_destroy (&outbox);
    kf_store_destroy (&store);
    free (db);
}

int
main (int argc, char **argv)
{
    if (argc == 4 && strcmp (argv[1], "--subscriber") == 0)
        return s_subscriber_main (argv[2], argv[3]);
    kf_log_init ("test-events");
    kf_log_set_level (KF_LOG_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_rollback_leaves_no_gap),
        cmocka_unit_test (test_stored_payload_is_the_published_one),
        cmocka_unit_test (test_poll_reads_table_only_when_behind),
        cmocka_unit_test (test_in_memory_failure_drops_the_batch_behind),
        cmocka_unit_test (test_ten_thousand_events_exactly_once),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
