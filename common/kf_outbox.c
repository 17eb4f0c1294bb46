/*  kf_outbox — transactional outbox + PUB doorbell. */
#include "kf_outbox.h"

#include "kf_batch.h"
#include "kf_clock.h"
#include "kf_log.h"
#include "kf_shop.h"
#include "kf_valid.h"
#include "kf_wire.h"
#include "kf_zap.h"

#include <assert.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static const kf_stmt_t s_statements[] = {
    //  One statement per flush: reserve a range per partition touched (rows
    //  locked in partition order so that two writers can never deadlock),
    //  then insert the events numbered from it: each row carries its
    //  distance back from its partition's new last_seq (0 for the last),
    //  looked up per event rather than hash-joined (a hash join's set-up
    //  costs more than the whole lookup for a few events); the payload gets
    //  its seq field appended (kefu_event_seq_field, migration 0010)
    //  exactly as the publisher appends it. Returns each partition's new
    //  last_seq.
    {"kf_outbox_write",
     "WITH r AS (INSERT INTO event_sequences (stream, partition, last_seq) "
     "  SELECT $1::text, p, n FROM (SELECT unnest ($2::int2[]) AS p, "
     "unnest ($3::int8[]) AS n) AS c ORDER BY p "
     "  ON CONFLICT (stream, partition) DO UPDATE "
     "  SET last_seq = event_sequences.last_seq + EXCLUDED.last_seq "
     "  RETURNING partition, last_seq), "
     "i AS (INSERT INTO events (stream, partition, seq, shop_id, kind, occurred_at, payload) "
     "  SELECT $1::text, e.p, q.seq, e.sh, e.kd, to_timestamp (e.o / 1000.0::float8), "
     "    e.pl || kefu_event_seq_field (q.seq) "
     "  FROM (SELECT unnest ($4::int2[]) AS p, unnest ($5::int8[]) AS back, "
     "unnest ($6::text[]) AS sh, unnest ($7::text[]) AS kd, unnest ($8::int8[]) AS o, "
     "unnest ($9::bytea[]) AS pl) AS e, "
     "  LATERAL (SELECT r.last_seq - e.back AS seq FROM r WHERE r.partition = e.p OFFSET 0) AS q) "
     "SELECT partition, last_seq FROM r"},
    {NULL, NULL}};

typedef struct {
    unsigned partition;  //  shop's partition
    int64_t seq;         //  assigned by flush
    int64_t occurred_at; //  ms
    char *shop_id;       //  owned copy
    char *kind;          //  owned copy
    uint8_t *data;       //  packed Event without seq, then seq appended by flush
    size_t size;         //  bytes in data
} s_pending_t;

struct _kf_outbox_t {
    char stream[32];                     //  stream name
    kf_store_t *store;                   //  borrowed
    zsock_t *pub;                        //  PUB socket, NULL until bound
    s_pending_t *pending;                //  events of the current transaction
    int count;                           //  pending events
    int cap;                             //  allocated slots
    int flushed;                         //  how many of pending have sequences and rows
    kf_batch_t *rows;                    //  events insert batch
    kf_batch_t *ranges;                  //  events per partition of the write
    int64_t write_counts[KF_PARTITIONS]; //  the same, by partition
    int write_from;                      //  first pending event of the write
    int64_t published;                   //  counter
    int64_t publish_failures;            //  counter
    bool deferred;                       //  publication left to kf_outbox_publish_on
    int committed;                       //  deferred: events committed, not yet published
};

static void s_clear_from (kf_outbox_t *self, int from);

static const kf_col_type_t s_row_types[] = {KF_COL_INT2, KF_COL_INT8, KF_COL_TEXT,
                                            KF_COL_TEXT, KF_COL_INT8, KF_COL_BYTEA};

kf_outbox_t *
kf_outbox_new (const char *stream, kf_store_t *store)
{
    kf_outbox_t *self = calloc (1, sizeof *self);
    //  [a-z][a-z0-9_]*, as the events' readers expect (a contract, not input).
    assert (kf_valid_name (stream, sizeof self->stream - 1, ""));
    snprintf (self->stream, sizeof self->stream, "%s", stream);
    self->store = store;
    self->rows = kf_batch_new (6, s_row_types);
    kf_col_type_t range_types[2] = {KF_COL_INT2, KF_COL_INT8};
    self->ranges = kf_batch_new (2, range_types);
    kf_store_add_statements (store, s_statements);
    return self;
}

void
kf_outbox_destroy (kf_outbox_t **self_p)
{
    if (self_p && *self_p) {
        kf_outbox_t *self = *self_p;
        s_clear_from (self, 0);
        free (self->pending);
        kf_batch_destroy (&self->rows);
        kf_batch_destroy (&self->ranges);
        zsock_destroy (&self->pub);
        free (self);
        *self_p = NULL;
    }
}

void
kf_outbox_secure (kf_outbox_t *self, zcert_t *cert)
{
    if (!self->pub)
        self->pub = kf_wire_socket (KF_SOCK_PUB, 0);
    kf_zap_curve_server (self->pub, cert, KF_ZAP_EVENTS);
}

int
kf_outbox_bind (kf_outbox_t *self, const char *endpoint)
{
    if (!self->pub)
        self->pub = kf_wire_socket (KF_SOCK_PUB, 0);
    int rc = zsock_bind (self->pub, "%s", endpoint);
    if (rc == -1)
        kf_log_error ("outbox.bind_failed", "endpoint=%s error=\"%s\"", endpoint,
                      zmq_strerror (zmq_errno ()));
    return rc;
}

int
kf_outbox_rebind (kf_outbox_t *self)
{
    //  The endpoint as bound (a port chosen for tcp://...:* included); a
    //  fresh string the caller must free.
    char *endpoint = self->pub ? zsock_last_endpoint (self->pub) : NULL;
    int rc = endpoint ? zsock_unbind (self->pub, "%s", endpoint) : -1;
    //  libzmq's I/O thread closes the old listener moments after the
    //  unbind; until then the port is taken. A short bounded wait: this is
    //  rare (a key was revoked).
    if (rc == 0)
        for (int i = 0; (rc = zsock_bind (self->pub, "%s", endpoint)) == -1 && i < 250 &&
                        zmq_errno () == EADDRINUSE;
             i++)
            zclock_sleep (2);
    if (rc == -1)
        //  Subscribers read the events table until the next start.
        kf_log_error ("outbox.rebind_failed", "stream=%s endpoint=%s error=\"%s\"", self->stream,
                      endpoint ? endpoint : "-", zmq_strerror (zmq_errno ()));
    else
        kf_log_info ("outbox.rebound", "stream=%s endpoint=%s", self->stream, endpoint);
    zstr_free (&endpoint);
    return rc == -1 ? -1 : 0;
}

zsock_t *
kf_outbox_socket (kf_outbox_t *self)
{
    return self->pub;
}

const char *
kf_outbox_stream (const kf_outbox_t *self)
{
    return self->stream;
}

const char *
kf_outbox_topic (char *buf, size_t size, const char *stream, unsigned partition, const char *kind)
{
    snprintf (buf, size, "%s/%02x/%s", stream, partition, kind);
    return buf;
}

int
kf_outbox_add (kf_outbox_t *self, const Kefu__V1__Event *event)
{
    if (self->count == self->cap) {
        int cap = self->cap ? self->cap * 2 : 64;
        s_pending_t *p = realloc (self->pending, (size_t) cap * sizeof *p);
        if (!p)
            return -1;
        self->pending = p;
        self->cap = cap;
    }
    Kefu__V1__Event copy = *event;
    copy.stream = self->stream;
    copy.partition = kf_shop_partition (event->shop_id, strlen (event->shop_id));
    copy.seq = 0; //  appended by flush, see s_append_seq
    if (copy.occurred_at_ms == 0)
        copy.occurred_at_ms = kf_clock_now_ms (NULL);
    size_t size = kefu__v1__event__get_packed_size (&copy);
    s_pending_t *p = &self->pending[self->count];
    //  Room for the seq field appended later: 1 tag byte + up to 10 varint bytes.
    p->data = malloc (size + 11);
    if (!p->data)
        return -1;
    kefu__v1__event__pack (&copy, p->data);
    p->size = size;
    p->partition = copy.partition;
    p->seq = 0;
    p->occurred_at = copy.occurred_at_ms;
    p->shop_id = strdup (event->shop_id);
    p->kind = strdup (event->kind);
    self->count++;
    return 0;
}

int
kf_outbox_pending (const kf_outbox_t *self)
{
    return self->count - self->flushed;
}

//  Protobuf parsers merge repeated occurrences of a message's fields and the
//  last value of a scalar wins, so appending "field 3 = seq" to the packed
//  event sets its sequence without packing it again.
static void
s_append_seq (s_pending_t *p)
{
    uint8_t *out = p->data + p->size;
    *out++ = (3 << 3) | 0; //  field 3 (seq), wire type varint
    uint64_t v = (uint64_t) p->seq;
    do {
        uint8_t byte = v & 0x7f;
        v >>= 7;
        *out++ = byte | (v ? 0x80 : 0);
    } while (v);
    p->size = (size_t) (out - p->data);
}

//  Build the write of the pending events: counts per partition, and each
//  row's distance back from its partition's last sequence after the write
//  (n-1 for the first of n, 0 for the last; PostgreSQL knows that last).
static void
s_build_write (kf_outbox_t *self, kf_params_t *params)
{
    memset (self->write_counts, 0, sizeof self->write_counts);
    for (int i = self->flushed; i < self->count; i++)
        self->write_counts[self->pending[i].partition]++;
    int64_t back[KF_PARTITIONS];
    memcpy (back, self->write_counts, sizeof back);
    kf_batch_reset (self->rows);
    for (int i = self->flushed; i < self->count; i++) {
        s_pending_t *e = &self->pending[i];
        kf_batch_int (self->rows, 0, e->partition);
        kf_batch_int (self->rows, 1, --back[e->partition]);
        kf_batch_str (self->rows, 2, e->shop_id);
        kf_batch_str (self->rows, 3, e->kind);
        kf_batch_int (self->rows, 4, e->occurred_at);
        kf_batch_text (self->rows, 5, e->data, e->size);
    }
    kf_batch_reset (self->ranges);
    for (int p = 0; p < KF_PARTITIONS; p++)
        if (self->write_counts[p]) {
            kf_batch_int (self->ranges, 0, p);
            kf_batch_int (self->ranges, 1, self->write_counts[p]);
        }
    kf_params_init (params);
    kf_params_str (params, self->stream);
    kf_batch_params (self->ranges, params);
    kf_batch_params (self->rows, params);
    self->write_from = self->flushed;
    self->flushed = self->count;
}

//  The ranges came back: give the written events their sequences (each
//  partition's range is (last - count, last]), as PostgreSQL did.
static int
s_on_written (const PGresult *res, void *arg)
{
    kf_outbox_t *self = arg;
    int64_t next[KF_PARTITIONS] = {0};
    for (int i = 0; i < PQntuples (res); i++) {
        int64_t partition = kf_store_int (res, i, 0);
        if (partition < 0 || partition >= KF_PARTITIONS)
            return -1;
        next[partition] = kf_store_int (res, i, 1) - self->write_counts[partition] + 1;
    }
    for (int p = 0; p < KF_PARTITIONS; p++)
        if (self->write_counts[p] && next[p] < 1)
            return -1; //  a partition without its range
    for (int i = self->write_from; i < self->flushed; i++) {
        s_pending_t *e = &self->pending[i];
        e->seq = next[e->partition]++;
        s_append_seq (e);
    }
    return 0;
}

int
kf_outbox_flush (kf_outbox_t *self, kf_error_t *err)
{
    if (self->flushed == self->count)
        return 0;
    kf_params_t params;
    s_build_write (self, &params);
    return kf_store_exec (self->store, "kf_outbox_write", &params, s_on_written, self, err);
}

void
kf_outbox_queue_write (kf_outbox_t *self)
{
    if (self->flushed == self->count)
        return;
    kf_params_t params;
    s_build_write (self, &params);
    kf_store_pipeline_add (self->store, "kf_outbox_write", &params, s_on_written, self);
}

static void
s_free_events (kf_outbox_t *self, int from, int to)
{
    for (int i = from; i < to; i++) {
        free (self->pending[i].data);
        free (self->pending[i].shop_id);
        free (self->pending[i].kind);
    }
}

//  Forget the events from index `from` on.
static void
s_clear_from (kf_outbox_t *self, int from)
{
    s_free_events (self, from, self->count);
    self->count = from;
    self->flushed = from;
}

//  Forget the first n events (published); events added after them (the
//  next transaction's, when the caller works while a commit is under way)
//  stay, not yet flushed.
static void
s_drop_first (kf_outbox_t *self, int n)
{
    s_free_events (self, 0, n);
    if (self->count > n)
        memmove (self->pending, self->pending + n,
                 (size_t) (self->count - n) * sizeof *self->pending);
    self->count -= n;
    self->flushed -= n;
}

static int
s_send (kf_outbox_t *self, zsock_t *pub, int upto)
{
    int sent = 0;
    for (int i = 0; i < upto && pub; i++) {
        s_pending_t *e = &self->pending[i];
        char topic[128];
        kf_outbox_topic (topic, sizeof topic, self->stream, e->partition, e->kind);
        if (kf_wire_send_topic (pub, topic, e->data, e->size) == 0)
            sent++;
        else
            self->publish_failures++;
    }
    self->published += sent;
    return sent;
}

void
kf_outbox_set_deferred (kf_outbox_t *self, bool deferred)
{
    self->deferred = deferred;
}

int
kf_outbox_publish (kf_outbox_t *self)
{
    if (self->deferred) {
        //  Committed: kept for kf_outbox_publish_on, in commit order.
        self->committed = self->flushed;
        return 0;
    }
    int sent = s_send (self, self->pub, self->flushed);
    s_drop_first (self, self->flushed);
    return sent;
}

int
kf_outbox_publish_on (kf_outbox_t *self, zsock_t *pub)
{
    int sent = s_send (self, pub, self->committed);
    s_clear_from (self, 0);
    self->committed = 0;
    return sent;
}

void
kf_outbox_discard (kf_outbox_t *self)
{
    s_clear_from (self, self->committed);
}

int64_t
kf_outbox_published (const kf_outbox_t *self)
{
    return self->published;
}

int64_t
kf_outbox_publish_failures (const kf_outbox_t *self)
{
    return self->publish_failures;
}
