/*  kf_subscriber — SUB fast path + events-table catch-up, offsets stored
    with the effect. */
#include "kf_subscriber.h"

#include "kf_arena.h"

#include "kf_batch.h"
#include "kf_log.h"
#include "kf_shop.h"
#include "kf_valid.h"
#include "kf_wire.h"
#include "kf_zap.h"

#include <assert.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define S_MAX_STREAMS   8
#define S_MAX_PUB_FRAME (1024 * 1024)
#define S_DRAIN_MAX     10000 //  publications read by one kf_subscriber_handle

static const kf_stmt_t s_statements[] = {
    {"kf_sub_init_offsets", "INSERT INTO consumer_offsets (consumer, stream, partition, last_seq) "
                            "SELECT $1::text, $2::text, p, 0 "
                            "FROM (SELECT unnest ($3::int2[]) AS p) AS t "
                            "ON CONFLICT DO NOTHING"},
    {"kf_sub_load_offsets",
     "SELECT partition, last_seq FROM consumer_offsets WHERE consumer = $1 AND stream = $2"},
    //  Compare-and-set: an offset only moves from the value this instance
    //  applied from, so two instances can never both apply one event.
    //  Every offset a batch moves, in one statement, compare-and-set: if
    //  any offset is not where this subscriber left it (another process with
    //  the same consumer name), the statement fails with SQLSTATE KF409 and
    //  the transaction cannot commit.
    {"kf_sub_save_offsets",
     "WITH u AS (UPDATE consumer_offsets o SET last_seq = m.to_seq, updated_at = now () "
     "  FROM (SELECT unnest ($2::text[]) AS stream, unnest ($3::int2[]) AS partition, "
     "unnest ($4::int8[]) AS to_seq, unnest ($5::int8[]) AS from_seq) AS m "
     "  WHERE o.consumer = $1 AND o.stream = m.stream AND o.partition = m.partition "
     "  AND o.last_seq = m.from_seq RETURNING 1) "
     "SELECT CASE WHEN count(*) = $6::int8 THEN count(*) ELSE kefu_fail ('KF409', "
     "  format ('consumer %s: %s of %s offsets moved by someone else', $1::text, "
     "  $6::int8 - count(*), $6::int8)) END FROM u"},
    //  The newest sequence written per partition: what "behind" means.
    {"kf_sub_heads", "SELECT partition, last_seq FROM event_sequences WHERE stream = $1"},
    {"kf_sub_read_events",
     "SELECT seq, payload FROM events WHERE stream = $1 AND partition = $2 AND seq > $3 "
     "ORDER BY seq LIMIT $4"},
    {NULL, NULL}};

typedef struct _s_stream_t s_stream_t;

//  A batch's move of one (stream, partition) offset.
typedef struct {
    s_stream_t *stream; //  the offset's stream
    unsigned partition; //  its partition
    int64_t from;       //  last applied before the batch
    int64_t to;         //  last applied in the batch
} s_offset_move_t;

struct _s_stream_t {
    char name[32];               //  stream name
    int64_t last[KF_PARTITIONS]; //  last applied sequence per partition
    //  The head of each partition seen by the previous poll: still not
    //  applied at the next poll means the fast path lost it (or is very
    //  late), so the table is read.
    int64_t mark[KF_PARTITIONS];
    bool published; //  publications of this stream arrive on the socket
};

struct _kf_subscriber_t {
    char consumer[64];                 //  offsets key
    kf_store_t *store;                 //  borrowed
    kf_subscriber_fn *fn;              //  handler
    void *arg;                         //  handler argument
    kf_outbox_t *outbox;               //  handler's outbox, borrowed, may be NULL
    kf_subscriber_hooks_t hooks;       //  around each transaction
    kf_subscriber_prepare_fn *prepare; //  a look at each batch first, may be NULL
    zsock_t *sub;                      //  SUB socket
    zmq_msg_t parts[2];                //  a publication: topic, body (reused)
    s_stream_t streams[S_MAX_STREAMS]; //  followed streams
    int stream_count;                  //  streams in use
    uint32_t partitions;               //  bit mask of followed partitions
    int batch_max;                     //  events per transaction
    int64_t lag_alarm;                 //  warn above this backlog
    int drop_every;                    //  fault injection
    bool in_memory;                    //  the handler runs no SQL: BEGIN goes in the pipeline
    int64_t received;                  //  publications received (for drop_every)
    bool backlog;                      //  the last drain stopped with more on the socket
    bool started;                      //  offsets loaded and subscribed
    //  In-memory handlers: the batch whose transaction is under way (sent,
    //  its results not read) while the next one is applied. Offsets move
    //  (last[]) when it is sent and move back if it fails.
    struct {
        bool active;                                          //  a batch is in flight
        s_offset_move_t moves[S_MAX_STREAMS * KF_PARTITIONS]; //  its offset moves
        int move_count;                                       //  how many
        int applied;                                          //  its events
    } flight;
    kf_subscriber_stats_t stats; //  counters
    //  The batch being applied (events unpacked into the arena).
    Kefu__V1__Event **batch; //  events of the current batch (in arena)
    kf_arena_t *arena;       //  unpacked events, until the batch is cleared
    int batch_count;         //  events in it
    kf_batch_t *moves;       //  offset moves of the batch (stream, partition, to, from)
};

static const kf_col_type_t s_move_columns[] = {KF_COL_TEXT, KF_COL_INT2, KF_COL_INT8, KF_COL_INT8};

static int s_catch_up_all (kf_subscriber_t *self);
static int s_settle (kf_subscriber_t *self);

kf_subscriber_t *
kf_subscriber_new (const char *consumer, kf_store_t *store, kf_subscriber_fn *fn, void *arg)
{
    kf_subscriber_t *self = calloc (1, sizeof *self);
    assert (kf_valid_name (consumer, sizeof self->consumer - 1, ".-")); //  a contract
    snprintf (self->consumer, sizeof self->consumer, "%s", consumer);
    self->store = store;
    self->fn = fn;
    self->arg = arg;
    self->partitions = (1u << KF_PARTITIONS) - 1;
    self->batch_max = 500;
    self->lag_alarm = 10000;
    self->batch = calloc ((size_t) self->batch_max, sizeof *self->batch);
    self->arena = kf_arena_new (65536);
    self->sub = kf_wire_socket (KF_SOCK_SUB, S_MAX_PUB_FRAME / 4);
    zmq_msg_init (&self->parts[0]);
    zmq_msg_init (&self->parts[1]);
    self->moves = kf_batch_new (4, s_move_columns);
    kf_store_add_statements (store, s_statements);
    return self;
}

//  An unpacked event (in the arena: gone at the next s_batch_clear), or NULL.
static Kefu__V1__Event *
s_unpack (kf_subscriber_t *self, const uint8_t *data, size_t size)
{
    return kefu__v1__event__unpack (kf_arena_allocator (self->arena), size, data);
}

//  Drop the batch's events, and every other event unpacked since.
static void
s_batch_clear (kf_subscriber_t *self)
{
    self->batch_count = 0;
    kf_arena_reset (self->arena);
}

void
kf_subscriber_destroy (kf_subscriber_t **self_p)
{
    if (self_p && *self_p) {
        kf_subscriber_t *self = *self_p;
        if (self->flight.active) {
            //  Shutting down: the transaction ends as it ends; what it
            //  decided is found in the record at the next start.
            kf_error_t ignored;
            kf_store_set_settle (self->store, NULL, NULL);
            self->flight.active = false;
            if (kf_store_pipeline_wait (self->store, &ignored) == 0 && self->outbox)
                kf_outbox_publish (self->outbox);
        }
        kf_store_set_settle (self->store, NULL, NULL);
        s_batch_clear (self);
        free (self->batch);
        kf_arena_destroy (&self->arena);
        kf_batch_destroy (&self->moves);
        zsock_destroy (&self->sub);
        zmq_msg_close (&self->parts[0]);
        zmq_msg_close (&self->parts[1]);
        free (self);
        *self_p = NULL;
    }
}

int
kf_subscriber_follow (kf_subscriber_t *self, const char *stream, const char *endpoint)
{
    return kf_subscriber_follow_curve (self, stream, endpoint, NULL, NULL);
}

int
kf_subscriber_follow_curve (kf_subscriber_t *self, const char *stream, const char *endpoint,
                            zcert_t *cert, const char *server_key)
{
    if (self->stream_count == S_MAX_STREAMS || strlen (stream) >= 32)
        return -1;
    s_stream_t *s = &self->streams[self->stream_count++];
    snprintf (s->name, sizeof s->name, "%s", stream);
    //  Keys are socket options, taken by each connect that follows.
    if (cert && endpoint && *endpoint)
        kf_zap_curve_client (self->sub, cert, server_key);
    if (endpoint && *endpoint && zsock_connect (self->sub, "%s", endpoint) == -1) {
        kf_log_error ("subscriber.connect_failed", "consumer=%s endpoint=%s", self->consumer,
                      endpoint);
        return -1;
    }
    return 0;
}

void
kf_subscriber_set_partitions (kf_subscriber_t *self, uint32_t mask)
{
    self->partitions = mask & ((1u << KF_PARTITIONS) - 1);
}

void
kf_subscriber_set_batch (kf_subscriber_t *self, int max_events)
{
    s_batch_clear (self);
    self->batch_max = max_events > 0 ? max_events : 1;
    free (self->batch);
    self->batch = calloc ((size_t) self->batch_max, sizeof *self->batch);
}

void
kf_subscriber_set_lag_alarm (kf_subscriber_t *self, int64_t events)
{
    self->lag_alarm = events;
}

void
kf_subscriber_set_outbox (kf_subscriber_t *self, kf_outbox_t *outbox)
{
    self->outbox = outbox;
}

void
kf_subscriber_set_hooks (kf_subscriber_t *self, const kf_subscriber_hooks_t *hooks)
{
    self->hooks = *hooks;
}

void
kf_subscriber_set_prepare (kf_subscriber_t *self, kf_subscriber_prepare_fn *prepare)
{
    self->prepare = prepare;
}

void
kf_subscriber_set_drop_every (kf_subscriber_t *self, int n)
{
    self->drop_every = n;
}

static void s_on_settle (void *arg);

void
kf_subscriber_set_in_memory (kf_subscriber_t *self, bool in_memory)
{
    self->in_memory = in_memory;
    kf_store_set_settle (self->store, in_memory ? s_on_settle : NULL, self);
}

zsock_t *
kf_subscriber_socket (kf_subscriber_t *self)
{
    return self->sub;
}

bool
kf_subscriber_started (const kf_subscriber_t *self)
{
    return self->started;
}

static s_stream_t *
s_stream (kf_subscriber_t *self, const char *name)
{
    for (int i = 0; i < self->stream_count; i++)
        if (strcmp (self->streams[i].name, name) == 0)
            return &self->streams[i];
    return NULL;
}

int64_t
kf_subscriber_last_seq (const kf_subscriber_t *self, const char *stream, unsigned partition)
{
    if (partition >= KF_PARTITIONS)
        return -1;
    s_stream_t *s = s_stream ((kf_subscriber_t *) self, stream);
    return s ? s->last[partition] : -1;
}

void
kf_subscriber_stats (const kf_subscriber_t *self, kf_subscriber_stats_t *out)
{
    *out = self->stats;
}

static int
s_on_offsets (const PGresult *res, void *arg)
{
    s_stream_t *s = arg;
    for (int i = 0; i < PQntuples (res); i++) {
        int64_t p = kf_store_int (res, i, 0);
        if (p >= 0 && p < KF_PARTITIONS)
            s->last[p] = kf_store_int (res, i, 1);
    }
    return 0;
}

static int
s_load_offsets (kf_subscriber_t *self, kf_error_t *err)
{
    kf_col_type_t type = KF_COL_INT2;
    kf_batch_t *parts = kf_batch_new (1, &type);
    for (int p = 0; p < KF_PARTITIONS; p++)
        if (self->partitions & (1u << p))
            kf_batch_int (parts, 0, p);
    int rc = 0;
    for (int i = 0; i < self->stream_count && rc == 0; i++) {
        s_stream_t *s = &self->streams[i];
        kf_params_t params;
        kf_params_init (&params);
        kf_params_str (&params, self->consumer);
        kf_params_str (&params, s->name);
        kf_batch_params (parts, &params);
        rc = kf_store_exec (self->store, "kf_sub_init_offsets", &params, NULL, NULL, err);
        if (rc == 0) {
            kf_params_init (&params);
            kf_params_str (&params, self->consumer);
            kf_params_str (&params, s->name);
            rc = kf_store_exec (self->store, "kf_sub_load_offsets", &params, s_on_offsets, s, err);
        }
    }
    kf_batch_destroy (&parts);
    return rc;
}

int
kf_subscriber_start (kf_subscriber_t *self)
{
    if (self->started)
        return 0;
    if (kf_store_ensure (self->store))
        return -1;
    kf_error_t err;
    kf_error_clear (&err);
    if (s_load_offsets (self, &err)) {
        kf_log_warn ("subscriber.start_failed", "consumer=%s reason=\"%s\"", self->consumer,
                     err.reason);
        return -1;
    }
    //  Subscribe before catching up, so nothing published in between is
    //  missed (the slow-joiner hole); duplicates are skipped by sequence.
    for (int i = 0; i < self->stream_count; i++)
        for (int p = 0; p < KF_PARTITIONS; p++)
            if (self->partitions & (1u << p)) {
                char prefix[64];
                snprintf (prefix, sizeof prefix, "%s/%02x/", self->streams[i].name, p);
                zsock_set_subscribe (self->sub, prefix);
            }
    self->started = true;
    for (int i = 0; i < self->stream_count; i++)
        kf_log_info ("subscriber.started", "consumer=%s stream=%s", self->consumer,
                     self->streams[i].name);
    int rc = s_catch_up_all (self) < 0 ? -1 : 0;
    return s_settle (self) ? -1 : rc;
}

static int s_apply_in_memory (kf_subscriber_t *self);

//  The offset moves of the collected batch, from where the subscriber is
//  (counting a batch in flight, whose moves are already in last[]).
static int
s_collect_moves (kf_subscriber_t *self, s_offset_move_t *moves)
{
    int move_count = 0;
    for (int i = 0; i < self->batch_count; i++) {
        Kefu__V1__Event *ev = self->batch[i];
        s_stream_t *s = s_stream (self, ev->stream);
        s_offset_move_t *m = NULL;
        for (int k = 0; k < move_count; k++)
            if (moves[k].stream == s && moves[k].partition == ev->partition)
                m = &moves[k];
        if (!m) {
            m = &moves[move_count++];
            m->stream = s;
            m->partition = ev->partition;
            m->from = s->last[ev->partition];
        }
        m->to = ev->seq;
    }
    return move_count;
}

//  Queue the compare-and-set of the offsets in the open pipeline.
static void
s_queue_offsets (kf_subscriber_t *self, const s_offset_move_t *moves, int move_count)
{
    kf_batch_reset (self->moves);
    for (int k = 0; k < move_count; k++) {
        kf_batch_str (self->moves, 0, moves[k].stream->name);
        kf_batch_int (self->moves, 1, moves[k].partition);
        kf_batch_int (self->moves, 2, moves[k].to);
        kf_batch_int (self->moves, 3, moves[k].from);
    }
    kf_params_t params;
    kf_params_init (&params);
    kf_params_str (&params, self->consumer);
    kf_batch_params (self->moves, &params);
    kf_params_int (&params, move_count);
    kf_store_pipeline_add (self->store, "kf_sub_save_offsets", &params, NULL, NULL);
}

//  A transaction failed: nothing of it (nor of what the handler did in
//  memory since) is the record. The handler is told; its events will be
//  read again from the table.
static void
s_failed (kf_subscriber_t *self, const kf_error_t *err, int events)
{
    if (strcmp (kf_store_sqlstate (self->store), "KF409") == 0) {
        //  Someone else moved one of these offsets: reload and start over.
        kf_log_warn ("subscriber.offset_conflict", "consumer=%s reason=\"%s\"", self->consumer,
                     err->reason);
        kf_store_rollback (self->store);
        kf_error_t ignored;
        s_load_offsets (self, &ignored);
    } else
        kf_store_rollback (self->store);
    if (self->outbox)
        kf_outbox_discard (self->outbox);
    if (self->hooks.after_rollback)
        self->hooks.after_rollback (self->hooks.arg);
    self->stats.failed_batches++;
    kf_log_warn ("subscriber.batch_failed", "consumer=%s events=%d reason=\"%s\"", self->consumer,
                 events, err->reason);
}

//  Set last[] of every moved offset to where the batch took it, or back.
static void
s_move_offsets (const s_offset_move_t *moves, int move_count, bool forward)
{
    for (int k = 0; k < move_count; k++)
        moves[k].stream->last[moves[k].partition] = forward ? moves[k].to : moves[k].from;
}

//  Queue the end of a batch's transaction in the open pipeline: its offsets,
//  the handler's writes, its events, COMMIT. -1 (pipeline discarded) if the
//  handler could not queue its writes.
static int
s_queue_commit (kf_subscriber_t *self, const s_offset_move_t *moves, int move_count,
                kf_error_t *err)
{
    s_queue_offsets (self, moves, move_count);
    if (self->hooks.queue_writes && self->hooks.queue_writes (self->store, self->hooks.arg, err)) {
        kf_store_pipeline_discard (self->store);
        return -1;
    }
    if (self->outbox)
        kf_outbox_queue_write (self->outbox);
    kf_store_pipeline_sql (self->store, "COMMIT", NULL, NULL, NULL);
    return 0;
}

//  Read the results of the batch in flight: publish and tell the handler,
//  or move the offsets back. 0, or -1 if it failed.
static int
s_settle (kf_subscriber_t *self)
{
    if (!self->flight.active)
        return 0;
    self->flight.active = false;
    kf_error_t err;
    kf_error_clear (&err);
    if (kf_store_pipeline_wait (self->store, &err)) {
        s_move_offsets (self->flight.moves, self->flight.move_count, false);
        s_failed (self, &err, self->flight.applied);
        return -1;
    }
    if (self->outbox)
        kf_outbox_publish (self->outbox);
    if (self->hooks.after_commit)
        self->hooks.after_commit (self->hooks.arg);
    self->stats.applied += self->flight.applied;
    return 0;
}

static void
s_on_settle (void *arg)
{
    s_settle ((kf_subscriber_t *) arg);
}

int
kf_subscriber_settle (kf_subscriber_t *self)
{
    return s_settle (self);
}

//  The handler's look at the batch before it is applied. True if it went well.
static bool
s_prepare (kf_subscriber_t *self, kf_error_t *err)
{
    return !self->prepare ||
           self->prepare (self->store, self->batch, self->batch_count, self->hooks.arg, err) == 0;
}

//  An in-memory handler's batch: applied in memory first (while the
//  previous batch's transaction may still be under way in PostgreSQL),
//  then, once that one has committed, its own transaction is sent — BEGIN,
//  offsets, the handler's writes, its events, COMMIT in one pipeline — and
//  left in flight. It is settled when the next batch is ready, when the
//  socket has nothing more, or before any other use of the store. If the
//  previous one failed, this batch is dropped with it (its events are read
//  again from the table): the handler's memory holds both.
static int
s_apply_in_memory (kf_subscriber_t *self)
{
    kf_error_t err;
    kf_error_clear (&err);
    int applied = self->batch_count;
    bool ok = s_prepare (self, &err);
    for (int i = 0; i < self->batch_count; i++)
        if (!ok || self->fn (self->store, self->batch[i], self->arg, &err)) {
            if (s_settle (self)) { //  failed too: the handler knows already
                s_batch_clear (self);
                return -1;
            }
            goto failed;
        }
    if (s_settle (self)) {
        s_batch_clear (self);
        return -1;
    }
    self->flight.move_count = s_collect_moves (self, self->flight.moves);
    if (kf_store_ensure (self->store) || kf_store_pipeline_begin (self->store, &err))
        goto failed;
    kf_store_pipeline_sql (self->store, "BEGIN", NULL, NULL, NULL);
    if (s_queue_commit (self, self->flight.moves, self->flight.move_count, &err) ||
        kf_store_pipeline_send (self->store, &err))
        goto failed;
    s_move_offsets (self->flight.moves, self->flight.move_count, true);
    self->flight.applied = applied;
    self->flight.active = true;
    s_batch_clear (self);
    return applied;
failed:
    s_failed (self, &err, applied);
    s_batch_clear (self);
    return -1;
}

//  Apply the collected batch in one transaction with its offsets. A handler
//  that runs SQL needs its transaction open first; the rest (offsets, the
//  handler's queued writes, its events, COMMIT) is one round trip.
static int
s_apply_batch (kf_subscriber_t *self)
{
    if (self->batch_count == 0)
        return 0;
    if (self->in_memory)
        return s_apply_in_memory (self);
    kf_error_t err;
    kf_error_clear (&err);
    s_offset_move_t moves[S_MAX_STREAMS * KF_PARTITIONS];
    int applied = self->batch_count;
    if (kf_store_ensure (self->store) || kf_store_begin (self->store, &err) ||
        !s_prepare (self, &err))
        goto failed;
    for (int i = 0; i < self->batch_count; i++)
        if (self->fn (self->store, self->batch[i], self->arg, &err))
            goto failed;
    int move_count = s_collect_moves (self, moves);
    if (kf_store_pipeline_begin (self->store, &err) ||
        s_queue_commit (self, moves, move_count, &err) || kf_store_pipeline_run (self->store, &err))
        goto failed;
    if (self->outbox)
        kf_outbox_publish (self->outbox);
    if (self->hooks.after_commit)
        self->hooks.after_commit (self->hooks.arg);
    s_move_offsets (moves, move_count, true);
    self->stats.applied += applied;
    s_batch_clear (self);
    return applied;
failed:
    s_failed (self, &err, applied);
    s_batch_clear (self);
    return -1;
}

typedef struct {
    kf_subscriber_t *self; //  subscriber
    s_stream_t *stream;    //  stream read
    unsigned partition;    //  partition read
    int rows;              //  rows seen
    int64_t last_seq;      //  highest seq seen
    int bad;               //  rows that did not parse
} s_read_t;

static int
s_on_events (const PGresult *res, void *arg)
{
    s_read_t *r = arg;
    kf_subscriber_t *self = r->self;
    r->rows = PQntuples (res);
    for (int i = 0; i < r->rows; i++) {
        int64_t seq = kf_store_int (res, i, 0);
        //  bytea arrives in text form (hex); decode it.
        size_t len = 0;
        unsigned char *bytes =
            PQunescapeBytea ((const unsigned char *) PQgetvalue (res, i, 1), &len);
        Kefu__V1__Event *ev = bytes ? s_unpack (self, bytes, len) : NULL;
        PQfreemem (bytes);
        r->last_seq = seq;
        if (!ev || ev->seq != seq || ev->partition != r->partition ||
            strcmp (ev->stream, r->stream->name) != 0) {
            //  A row we cannot read is a bug or corruption: skip it loudly
            //  rather than stall every later event of the partition.
            kf_log_error ("subscriber.bad_row", "consumer=%s stream=%s partition=%u seq=%" PRId64,
                          self->consumer, r->stream->name, r->partition, seq);
            r->bad++;
            continue;
        }
        self->batch[self->batch_count++] = ev;
    }
    return 0;
}

//  Read and apply everything after last[partition] from the events table.
static int
s_catch_up (kf_subscriber_t *self, s_stream_t *s, unsigned partition)
{
    int total = 0;
    int64_t start = s->last[partition];
    while (true) {
        kf_error_t err;
        kf_error_clear (&err);
        s_apply_batch (self); //  never mix a pending batch into this one
        s_read_t r = {self, s, partition, 0, 0, 0};
        kf_params_t params;
        kf_params_init (&params);
        kf_params_str (&params, s->name);
        kf_params_int (&params, partition);
        kf_params_int (&params, s->last[partition]);
        kf_params_int (&params, self->batch_max);
        if (kf_store_exec (self->store, "kf_sub_read_events", &params, s_on_events, &r, &err)) {
            s_batch_clear (self);
            return -1;
        }
        if (r.rows == 0)
            break;
        int n = self->batch_count;
        if (s_apply_batch (self) < 0)
            return -1;
        if (r.bad && n == 0)
            s->last[partition] = r.last_seq; //  only unreadable rows: step over them
        self->stats.from_table += n;
        total += n;
        if (r.rows < self->batch_max)
            break;
    }
    if (total > self->lag_alarm)
        kf_log_warn ("events.lag", "consumer=%s stream=%s partition=%u behind=%d from_seq=%" PRId64,
                     self->consumer, s->name, partition, total, start);
    return total;
}

//  Catch up every followed (stream, partition) from the table.
static int
s_catch_up_all (kf_subscriber_t *self)
{
    int total = 0;
    for (int i = 0; i < self->stream_count; i++)
        for (unsigned p = 0; p < KF_PARTITIONS; p++)
            if (self->partitions & (1u << p)) {
                int n = s_catch_up (self, &self->streams[i], p);
                if (n < 0)
                    return -1;
                total += n;
            }
    return total;
}

static int
s_on_heads (const PGresult *res, void *arg)
{
    int64_t *heads = arg;
    for (int i = 0; i < PQntuples (res); i++) {
        int64_t p = kf_store_int (res, i, 0);
        if (p >= 0 && p < KF_PARTITIONS)
            heads[p] = kf_store_int (res, i, 1);
    }
    return 0;
}

int
kf_subscriber_poll (kf_subscriber_t *self)
{
    if (!self->started)
        return kf_subscriber_start (self);
    if (kf_store_ensure (self->store))
        return -1;
    //  Take what the fast path has first. Reading the table for events
    //  that are merely on their way would apply them from there and then
    //  skip them on the socket: work twice, and a stall for everything
    //  queued behind the poll.
    int drained = kf_subscriber_handle (self);
    int total = drained > 0 ? drained : 0;
    bool failed = drained < 0;
    for (int i = 0; i < self->stream_count; i++) {
        s_stream_t *s = &self->streams[i];
        //  The socket holds more than one drain: this stream's events are
        //  queued there, not lost. Reading the table now would apply them
        //  from there and skip them on the socket later, costing more than
        //  the socket does just when the subscriber is behind (a backlog of
        //  one poll interval turned into a spiral of catch-ups). Judge at a
        //  poll that empties the socket; marks stay as they were.
        if (s->published && self->backlog)
            continue;
        int64_t heads[KF_PARTITIONS] = {0};
        kf_error_t err;
        kf_error_clear (&err);
        kf_params_t params;
        kf_params_init (&params);
        kf_params_str (&params, s->name);
        if (kf_store_exec (self->store, "kf_sub_heads", &params, s_on_heads, heads, &err))
            return -1;
        for (unsigned p = 0; p < KF_PARTITIONS; p++) {
            if (!(self->partitions & (1u << p)))
                continue;
            //  Behind, and either the socket is quiet (nothing else will
            //  reveal the gap) or what was already there at the previous
            //  poll has still not arrived.
            bool behind = s->last[p] < heads[p];
            bool lost = s->last[p] < s->mark[p];
            s->mark[p] = heads[p];
            if (!behind || (drained > 0 && !lost))
                continue;
            int n = s_catch_up (self, s, p);
            if (n < 0)
                failed = true;
            else
                total += n;
        }
    }
    if (s_settle (self))
        failed = true;
    return failed ? -1 : total;
}

//  The sequence a publication would be applied after, counting events
//  already collected into the current batch.
static int64_t
s_expected (kf_subscriber_t *self, s_stream_t *s, unsigned partition)
{
    int64_t last = s->last[partition];
    for (int i = 0; i < self->batch_count; i++)
        if (self->batch[i]->partition == partition && strcmp (self->batch[i]->stream, s->name) == 0)
            last = self->batch[i]->seq;
    return last + 1;
}

int
kf_subscriber_handle (kf_subscriber_t *self)
{
    if (!self->started && kf_subscriber_start (self))
        return -1;
    int applied = 0;
    bool failed = false;
    //  Drain everything that is ready; apply in batches.
    self->backlog = true;
    for (int reads = 0; reads < S_DRAIN_MAX; reads++) {
        int frames = kf_wire_recv_parts (self->sub, self->parts, 2);
        if (frames == 0) {
            self->backlog = false;
            break;
        }
        self->received++;
        if (self->drop_every > 0 && self->received % self->drop_every == 0) {
            self->stats.dropped_injected++;
            continue;
        }
        Kefu__V1__Event *ev = NULL;
        if (frames == 2)
            ev = s_unpack (self, zmq_msg_data (&self->parts[1]), zmq_msg_size (&self->parts[1]));
        s_stream_t *s = ev ? s_stream (self, ev->stream) : NULL;
        if (!ev || !s || ev->partition >= KF_PARTITIONS ||
            !(self->partitions & (1u << ev->partition))) {
            self->stats.bad_publications++;
            continue;
        }
        s->published = true;
        int64_t expected = s_expected (self, s, ev->partition);
        if (ev->seq < expected) {
            self->stats.stale++;
            continue;
        }
        if (ev->seq > expected) {
            //  A gap: apply what we have, then read the missing range (and
            //  this event) from the table.
            self->stats.gaps++;
            unsigned partition = ev->partition;
            int n = s_apply_batch (self);
            if (n < 0)
                failed = true;
            else
                applied += n;
            n = s_catch_up (self, s, partition);
            if (n < 0)
                failed = true;
            else
                applied += n;
            continue;
        }
        self->batch[self->batch_count++] = ev;
        self->stats.from_pub++;
        if (self->batch_count == self->batch_max) {
            int n = s_apply_batch (self);
            if (n < 0)
                failed = true;
            else
                applied += n;
        }
    }
    int n = s_apply_batch (self);
    if (n < 0)
        failed = true;
    else
        applied += n;
    //  Events dropped since the last batch (stale, not ours) go too.
    if (self->batch_count == 0)
        kf_arena_reset (self->arena);
    //  Nothing more to apply: finish the transaction under way now, rather
    //  than with the next batch.
    if (self->flight.active && !(zsock_events (self->sub) & ZMQ_POLLIN) && s_settle (self))
        failed = true;
    return failed ? -1 : applied;
}
