/*  kefu_gateway.c — libkefu-gateway: deliver items to intake, receive commands.

    One DEALER socket, connected to intake's ROUTER; every message either way
    is one frame holding one packed GatewayFrame / IntakeFrame.

    Items. Every kefu_gateway_send packs the item once into an owned buffer;
    exactly those bytes are what is sent and resent. In-flight items live in
    a hash keyed by (shop_id, gateway_msg_id) so an ack finds its item in
    O(1). An item is in one of three states:
      queued    in `ready`, waiting to be transmitted (new, timed out, back
                from a RETRY_LATER backoff, or left over from a lost session);
      waiting   transmitted, `due_ms` = when its ack timeout expires;
      backoff   answered RETRY_LATER, `due_ms` = when the backoff ends.
    `ready` is transmitted in order whenever the session is open. Finding
    expired items scans the hash, but only when the earliest deadline
    (`next_due_ms`) has passed, which normal traffic never reaches.

    Session. Hello goes out once per connection, when its handshake has
    succeeded (a socket monitor reports connects and disconnects; a Hello
    sent any earlier could fall into the dying pipe of the old connection),
    and again when no Welcome came within hello_timeout_ms (every 5 s after
    a Reject). `session` counts Hellos;
    each transmission remembers it, so after a re-Welcome everything that
    was sent in an earlier session and is still unacked is resent at once
    (intake de-duplicates, so resending is always safe). An ack saying
    RETRY_LATER ERROR_NOT_AUTHENTICATED (intake restarted and forgot us)
    closes the session: Hello again, resend after the Welcome. REJECTED is
    final with every code (not_authenticated: our key was revoked).

    Commands. Ids already handed to the app are remembered (hash + ring of
    the last S_COMMAND_MEMORY ids); repeats are dropped, and repeats of a
    command the app already acked are re-acked with the same answer (the
    first CommandAck may have been lost).

    Everything runs in the caller's thread inside kefu_gateway_poll; the
    library has no threads and no global state of its own (czmq keeps its
    process-wide ZeroMQ context). */
#include "kefu_gateway.h"

#include <czmq.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_BACKOFF_MAX_MS   10000         //  RETRY_LATER backoff ceiling
#define S_REJECT_RETRY_MS  5000          //  Hello interval after a Reject
#define S_BLOCKED_RETRY_MS 50            //  retry a send that hit EAGAIN, at the latest
#define S_COMMAND_MEMORY   10000         //  command ids remembered for de-duplication
#define S_REASON_MAX       1024          //  bytes of a CommandAck reason kept for re-acks
#define S_RCVHWM           10000         //  acks + commands queued for us
#define S_MAX_MSG_BYTES    (1024 * 1024) //  largest frame we accept from intake
#define S_DRAIN_MAX        10000         //  frames handled per poll at most (fairness)
#define S_NEVER            INT64_MAX     //  "no deadline"

//  Identity of an item: (shop_id, gateway_msg_id), compared as bytes.
typedef struct {
    const uint8_t *shop; //  shop_id bytes (not NUL-terminated)
    size_t shop_len;     //  bytes in shop
    const uint8_t *id;   //  gateway_msg_id bytes
    size_t id_len;       //  bytes in id
} s_key_t;

//  One in-flight item; the key's bytes live in the same allocation.
typedef struct {
    s_key_t key;        //  hash key, pointing into this allocation
    uint64_t seq;       //  order of the first send (): resends keep the app's order
    uint8_t *frame;     //  packed GatewayFrame{item}: the bytes (re)sent, owned
    size_t frame_size;  //  bytes in frame
    int refs;           //  send () calls for this key still waiting for a final ack
    bool transmitted;   //  sent at least once (later transmissions count as resends)
    uint64_t session;   //  self->session when last transmitted
    void *ready_handle; //  handle in self->ready while queued, else NULL
    bool backoff;       //  waiting out a RETRY_LATER (due_ms = end of the backoff)
    int64_t due_ms;     //  not queued: when to queue again (ack timeout or backoff end)
} s_item_t;

//  A command id the app has seen.
typedef struct {
    int64_t id;     //  Command.command_id (also the hash key)
    bool acked;     //  the app acked it: repeats are answered with the same ack
    bool delivered; //  the app's answer: delivered or failed
    char *reason;   //  the app's failure reason, owned, may be NULL
} s_command_t;

struct _kefu_gateway_t {
    //  Configuration (strings are owned copies)
    char *endpoint;       //  intake's gateway endpoint
    char *gateway_id;     //  our stable name
    int window;           //  max items in flight
    int ack_timeout_ms;   //  resend an unacked item after this
    int retry_backoff_ms; //  first RETRY_LATER backoff
    int hello_timeout_ms; //  resend Hello when no Welcome came
    uint8_t *hello;       //  packed GatewayFrame{hello}, owned; never changes
    size_t hello_size;    //  bytes in hello

    //  Sockets
    zsock_t *dealer;        //  to intake's ROUTER
    zsock_t *monitor;       //  PAIR receiving the dealer's connection events
    char *monitor_endpoint; //  inproc endpoint of the monitor, owned

    //  Session
    bool welcomed;            //  Welcome received on the current session
    bool rejected;            //  the last answer to Hello was a Reject
    uint64_t session;         //  Hellos sent so far; transmissions remember it
    int64_t hello_due_ms;     //  while not welcomed: when to (re)send Hello
    char *reject_reason;      //  why the session is refused, owned, NULL if not
    uint32_t max_frame_bytes; //  from Welcome: largest frame intake takes, 0 = unknown

    //  Items
    zhashx_t *items;          //  s_key_t -> s_item_t, owns the items
    zlistx_t *ready;          //  s_item_t queued for transmission, in order (borrowed)
    size_t inflight;          //  sum of refs: sends without a final ack
    uint64_t next_seq;        //  seq of the next new item
    int64_t next_due_ms;      //  earliest due_ms of a waiting/backoff item (may be early)
    bool blocked;             //  the last transmission hit EAGAIN: wait for POLLOUT
    int64_t blocked_since_ms; //  when it did

    //  RETRY_LATER backoff, shared by the gateway: a store outage hits every item
    int64_t backoff_ms;           //  current level, retry_backoff_ms .. S_BACKOFF_MAX_MS
    int64_t backoff_round_end_ms; //  RETRY_LATERs before this belong to the same round
    uint64_t rng;                 //  xorshift state for jitter

    //  Commands
    zhashx_t *commands;    //  int64 id -> s_command_t, owns the entries
    int64_t *command_ring; //  ids in arrival order, S_COMMAND_MEMORY slots, owned
    size_t ring_next;      //  slot the next id goes into (the oldest when full)
    size_t ring_count;     //  slots in use

    //  Callbacks
    kefu_gateway_ack_fn *on_ack;         //  final acks, may be NULL
    void *on_ack_arg;                    //  its argument
    kefu_gateway_command_fn *on_command; //  commands, may be NULL
    void *on_command_arg;                //  its argument
    uint64_t callbacks;                  //  callbacks made so far (poll returns the difference)

    //  Counters
    kefu_gateway_stats_t stats; //  what kefu_gateway_stats reports
    uint64_t unknown_acks;      //  acks for ids not in flight (late duplicates, bad frames)
    uint64_t malformed_frames;  //  frames from intake we could not use
};

//  --------------------------------------------------------------------------
//  Small helpers

static char *
s_strdup_or_null (const char *s)
{
    return s ? strdup (s) : NULL;
}

static bool
s_bytes_equal (const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len)
{
    //  memcmp with a NULL pointer is undefined even for length 0.
    return a_len == b_len && (a_len == 0 || memcmp (a, b, a_len) == 0);
}

static size_t
s_key_hash (const void *key)
{
    const s_key_t *k = (const s_key_t *) key;
    uint64_t h = 14695981039346656037ULL; //  FNV-1a
    for (size_t i = 0; i < k->shop_len; i++)
        h = (h ^ k->shop[i]) * 1099511628211ULL;
    h = (h ^ 0xff) * 1099511628211ULL; //  separator: ("ab","c") != ("a","bc")
    for (size_t i = 0; i < k->id_len; i++)
        h = (h ^ k->id[i]) * 1099511628211ULL;
    return (size_t) h;
}

static int
s_key_compare (const void *key1, const void *key2)
{
    const s_key_t *a = (const s_key_t *) key1;
    const s_key_t *b = (const s_key_t *) key2;
    return s_bytes_equal (a->shop, a->shop_len, b->shop, b->shop_len) &&
                   s_bytes_equal (a->id, a->id_len, b->id, b->id_len)
               ? 0
               : 1;
}

static size_t
s_command_hash (const void *key)
{
    uint64_t id = (uint64_t) * (const int64_t *) key;
    return (size_t) (id * 11400714819323198485ULL); //  Fibonacci hashing
}

static int
s_command_compare (const void *key1, const void *key2)
{
    int64_t a = *(const int64_t *) key1, b = *(const int64_t *) key2;
    return a < b ? -1 : a > b ? 1 : 0;
}

static void
s_command_destroy (void **entry_p)
{
    s_command_t *entry = (s_command_t *) *entry_p;
    if (entry) {
        free (entry->reason);
        free (entry);
        *entry_p = NULL;
    }
}

static void
s_item_destroy (void **item_p)
{
    s_item_t *item = (s_item_t *) *item_p;
    if (item) {
        free (item->frame);
        free (item);
        *item_p = NULL;
    }
}

//  Sort items by seq (qsort comparator over s_item_t *).
static int
s_item_seq_cmp (const void *a, const void *b)
{
    const s_item_t *x = *(s_item_t *const *) a;
    const s_item_t *y = *(s_item_t *const *) b;
    return x->seq < y->seq ? -1 : x->seq > y->seq ? 1 : 0;
}

//  Uniform random in [0, 1) from a per-instance xorshift64*.
static double
s_random (kefu_gateway_t *self)
{
    self->rng ^= self->rng >> 12;
    self->rng ^= self->rng << 25;
    self->rng ^= self->rng >> 27;
    return (double) ((self->rng * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

static void
s_set_reject_reason (kefu_gateway_t *self, const char *reason)
{
    free (self->reject_reason);
    self->reject_reason = s_strdup_or_null (reason);
}

//  Pack a GatewayFrame into a new heap buffer. Caller owns return value.
static uint8_t *
s_pack_frame (const Kefu__V1__GatewayFrame *frame, size_t *size_p)
{
    size_t size = kefu__v1__gateway_frame__get_packed_size (frame);
    uint8_t *buffer = (uint8_t *) malloc (size ? size : 1);
    if (buffer)
        kefu__v1__gateway_frame__pack (frame, buffer);
    *size_p = size;
    return buffer;
}

//  One frame, never blocking. 0, or -1 (EAGAIN: no connection yet, or the
//  send queue is full).
static int
s_send_raw (kefu_gateway_t *self, const uint8_t *data, size_t size)
{
    return zmq_send (zsock_resolve (self->dealer), data, size, ZMQ_DONTWAIT) == -1 ? -1 : 0;
}

//  --------------------------------------------------------------------------
//  Item states

static void
s_note_due (kefu_gateway_t *self, int64_t due_ms)
{
    if (due_ms < self->next_due_ms)
        self->next_due_ms = due_ms;
}

//  Queue an item for transmission (no-op if it already is).
static void
s_queue (kefu_gateway_t *self, s_item_t *item, bool at_front)
{
    if (item->ready_handle)
        return;
    item->backoff = false;
    item->ready_handle =
        at_front ? zlistx_add_start (self->ready, item) : zlistx_add_end (self->ready, item);
}

static void
s_unqueue (kefu_gateway_t *self, s_item_t *item)
{
    if (item->ready_handle) {
        zlistx_detach (self->ready, item->ready_handle);
        item->ready_handle = NULL;
    }
}

//  Queue several items in seq order, before (at_front) or after what is queued.
static void
s_queue_sorted (kefu_gateway_t *self, s_item_t **list, size_t count, bool at_front)
{
    if (count == 0)
        return; //  (list may be NULL then)
    qsort (list, count, sizeof list[0], s_item_seq_cmp);
    if (at_front)
        for (size_t i = count; i > 0; i--)
            s_queue (self, list[i - 1], true);
    else
        for (size_t i = 0; i < count; i++)
            s_queue (self, list[i], false);
}

//  Forget an item: out of the queue and the hash, freed.
static void
s_item_remove (kefu_gateway_t *self, s_item_t *item)
{
    s_unqueue (self, item);
    self->inflight -= (size_t) item->refs;
    zhashx_delete (self->items, &item->key); //  frees it (hash destructor)
}

//  Move waiting/backoff items whose time has come into the queue, and find
//  the next deadline. Collect first: the hash must not change while we walk it.
static void
s_scan_due (kefu_gateway_t *self, int64_t now)
{
    size_t size = zhashx_size (self->items);
    s_item_t **due = size ? (s_item_t **) malloc (size * sizeof (s_item_t *)) : NULL;
    size_t count = 0;
    int64_t next = S_NEVER;
    for (s_item_t *item = (s_item_t *) zhashx_first (self->items); item;
         item = (s_item_t *) zhashx_next (self->items)) {
        if (item->ready_handle)
            continue;
        if (item->due_ms <= now && due)
            due[count++] = item;
        else if (item->due_ms < next)
            next = item->due_ms;
    }
    if (size && !due)
        next = now + S_BLOCKED_RETRY_MS; //  out of memory: try again soon
    self->next_due_ms = next;
    s_queue_sorted (self, due, count, false);
    free (due);
}

//  After a (re)Welcome: everything transmitted in an earlier session and not
//  acked will never be acked there; send it again now, oldest first.
static void
s_queue_stale (kefu_gateway_t *self)
{
    size_t size = zhashx_size (self->items);
    if (size == 0)
        return;
    s_item_t **stale = (s_item_t **) malloc (size * sizeof (s_item_t *));
    if (!stale)
        return; //  the ack timeout resends them anyway
    size_t count = 0;
    for (s_item_t *item = (s_item_t *) zhashx_first (self->items); item;
         item = (s_item_t *) zhashx_next (self->items))
        if (!item->ready_handle && !item->backoff && item->transmitted &&
            item->session < self->session)
            stale[count++] = item;
    s_queue_sorted (self, stale, count, true);
    free (stale);
}

//  --------------------------------------------------------------------------
//  Session

//  Try to send Hello, and schedule the next try in case no Welcome comes.
//  Without a connection (IMMEDIATE) the send fails; the monitor's next
//  handshake event brings us back sooner than that timer.
static void
s_send_hello (kefu_gateway_t *self, int64_t now)
{
    self->hello_due_ms = now + (self->rejected ? S_REJECT_RETRY_MS : self->hello_timeout_ms);
    if (s_send_raw (self, self->hello, self->hello_size) == -1)
        return;
    self->session++;
    self->stats.hellos++;
}

//  The session is gone (intake forgot us, or a new connection): Hello now.
static void
s_session_lost (kefu_gateway_t *self, int64_t now)
{
    self->welcomed = false;
    self->hello_due_ms = now;
}

static void
s_handle_welcome (kefu_gateway_t *self, const Kefu__V1__Welcome *welcome)
{
    self->max_frame_bytes = welcome->max_frame_bytes;
    self->rejected = false;
    s_set_reject_reason (self, NULL);
    if (self->welcomed)
        return; //  an answer to a repeated Hello
    self->welcomed = true;
    s_queue_stale (self);
}

static void
s_handle_reject (kefu_gateway_t *self, const Kefu__V1__Reject *reject, int64_t now)
{
    char reason[512];
    const ProtobufCEnumValue *code = protobuf_c_enum_descriptor_get_value (
        &kefu__v1__error_code__descriptor, (int) reject->code);
    snprintf (reason, sizeof reason, "intake refused the Hello: %s (%s)",
              reject->reason && *reject->reason ? reject->reason : "no reason given",
              code ? code->name : "ERROR_?");
    if (!self->reject_reason || strcmp (self->reject_reason, reason) != 0)
        zsys_warning ("kefu-gateway: %s; retrying every %d s", reason, S_REJECT_RETRY_MS / 1000);
    s_set_reject_reason (self, reason);
    self->welcomed = false;
    self->rejected = true;
    self->hello_due_ms = now + S_REJECT_RETRY_MS;
}

//  --------------------------------------------------------------------------
//  Transmission

//  Tell the app an item can never be delivered (it is larger than intake's
//  frame limit: sending it would only get this connection dropped).
static void
s_reject_oversized (kefu_gateway_t *self, s_item_t *item)
{
    char reason[160];
    snprintf (reason, sizeof reason, "item is %zu bytes packed, over intake's frame limit of %u",
              item->frame_size, (unsigned) self->max_frame_bytes);
    Kefu__V1__Ack ack = KEFU__V1__ACK__INIT;
    //  The key's bytes die with the item: copy them for the callback.
    uint8_t *copy = (uint8_t *) malloc (item->key.shop_len + item->key.id_len + 1);
    if (copy) {
        if (item->key.shop_len)
            memcpy (copy, item->key.shop, item->key.shop_len);
        if (item->key.id_len)
            memcpy (copy + item->key.shop_len, item->key.id, item->key.id_len);
        ack.shop_id.data = copy;
        ack.shop_id.len = item->key.shop_len;
        ack.gateway_msg_id.data = copy + item->key.shop_len;
        ack.gateway_msg_id.len = item->key.id_len;
    }
    ack.status = KEFU__V1__ACK_STATUS__ACK_REJECTED;
    ack.code = KEFU__V1__ERROR_CODE__ERROR_OVERSIZED_FRAME;
    ack.reason = reason;
    int refs = item->refs;
    s_item_remove (self, item);
    for (int i = 0; i < refs; i++) {
        self->stats.rejected++;
        self->callbacks++;
        if (self->on_ack)
            self->on_ack (&ack, self->on_ack_arg);
    }
    free (copy);
}

//  Transmit queued items in order while the session is open and the socket
//  takes them. Callbacks (local rejects) only when may_call_back.
static void
s_transmit (kefu_gateway_t *self, bool may_call_back, int64_t now)
{
    if (!self->welcomed)
        return;
    s_item_t *item;
    while ((item = (s_item_t *) zlistx_first (self->ready))) {
        if (self->max_frame_bytes && item->frame_size > self->max_frame_bytes) {
            if (!may_call_back)
                return;
            s_reject_oversized (self, item);
            continue;
        }
        if (s_send_raw (self, item->frame, item->frame_size) == -1) {
            //  EAGAIN: disconnected, or the send queue is full. The item
            //  stays first in line; POLLOUT (or a short timer) retries.
            if (!self->blocked)
                self->blocked_since_ms = now;
            self->blocked = true;
            return;
        }
        self->blocked = false;
        s_unqueue (self, item);
        if (item->transmitted)
            self->stats.resent++;
        else
            self->stats.sent++;
        item->transmitted = true;
        item->session = self->session;
        item->due_ms = now + self->ack_timeout_ms;
        s_note_due (self, item->due_ms);
    }
}

static void
s_run_timers (kefu_gateway_t *self, int64_t now)
{
    if (!self->welcomed && now >= self->hello_due_ms)
        s_send_hello (self, now);
    if (now >= self->next_due_ms)
        s_scan_due (self, now);
}

//  The earliest moment a timer needs us.
static int64_t
s_next_wakeup (const kefu_gateway_t *self)
{
    int64_t next = self->next_due_ms;
    if (!self->welcomed && self->hello_due_ms < next)
        next = self->hello_due_ms;
    if (self->blocked && self->welcomed && zlistx_size (self->ready) &&
        self->blocked_since_ms + S_BLOCKED_RETRY_MS < next)
        next = self->blocked_since_ms + S_BLOCKED_RETRY_MS;
    return next;
}

//  --------------------------------------------------------------------------
//  Acks

//  The store is struggling: back off. The level doubles once per round (a
//  burst of RETRY_LATERs for a whole window is one round, not 1000 doublings)
//  and drops back to the start after a success.
static int64_t
s_backoff_delay (kefu_gateway_t *self, int64_t now)
{
    if (now >= self->backoff_round_end_ms) {
        if (self->backoff_round_end_ms > 0) {
            self->backoff_ms *= 2;
            if (self->backoff_ms > S_BACKOFF_MAX_MS)
                self->backoff_ms = S_BACKOFF_MAX_MS;
        }
        self->backoff_round_end_ms = now + self->backoff_ms;
    }
    //  +-20 % jitter, so a thousand gateways do not come back in step.
    double factor = 0.8 + 0.4 * s_random (self);
    return (int64_t) ((double) self->backoff_ms * factor);
}

static void
s_backoff_reset (kefu_gateway_t *self)
{
    self->backoff_ms = self->retry_backoff_ms;
    self->backoff_round_end_ms = 0;
}

static void
s_handle_ack (kefu_gateway_t *self, const Kefu__V1__Ack *ack, int64_t now)
{
    s_key_t key = {ack->shop_id.data, ack->shop_id.len, ack->gateway_msg_id.data,
                   ack->gateway_msg_id.len};
    s_item_t *item = (s_item_t *) zhashx_lookup (self->items, &key);
    if (!item) {
        //  A late duplicate of a finished item, or a REJECTED for a frame
        //  intake could not even read the id of. Nothing to do.
        self->unknown_acks++;
        return;
    }
    if (ack->code == KEFU__V1__ERROR_CODE__ERROR_NOT_AUTHENTICATED &&
        ack->status == KEFU__V1__ACK_STATUS__ACK_RETRY_LATER) {
        //  Intake has no session for us (it restarted, or our Hello was
        //  lost): not the item's fault, so never final. (REJECTED
        //  not_authenticated is: our key was revoked.) If the item was sent
        //  in the current session, the session is gone: Hello again. If it
        //  was sent before our latest Hello, the answer is stale.
        self->stats.retry_later++;
        if (self->welcomed && item->session == self->session)
            s_session_lost (self, now);
        s_queue (self, item, false);
        return;
    }
    switch (ack->status) {
    case KEFU__V1__ACK_STATUS__ACK_ACCEPTED:
    case KEFU__V1__ACK_STATUS__ACK_DUPLICATE:
    case KEFU__V1__ACK_STATUS__ACK_REJECTED:
        if (ack->status == KEFU__V1__ACK_STATUS__ACK_ACCEPTED)
            self->stats.accepted++;
        else if (ack->status == KEFU__V1__ACK_STATUS__ACK_DUPLICATE)
            self->stats.duplicate++;
        else
            self->stats.rejected++;
        if (ack->status != KEFU__V1__ACK_STATUS__ACK_REJECTED)
            s_backoff_reset (self);
        //  One final ack per send (); the item goes when the last one came.
        //  A REJECTED item is never sent again.
        item->refs--;
        self->inflight--;
        if (item->refs == 0)
            s_item_remove (self, item);
        self->callbacks++;
        if (self->on_ack)
            self->on_ack (ack, self->on_ack_arg);
        break;
    case KEFU__V1__ACK_STATUS__ACK_RETRY_LATER: {
        self->stats.retry_later++;
        int64_t delay = s_backoff_delay (self, now);
        if ((int64_t) ack->retry_after_ms > delay)
            delay = (int64_t) ack->retry_after_ms;
        s_unqueue (self, item);
        item->backoff = true;
        item->due_ms = now + delay;
        s_note_due (self, item->due_ms);
        break;
    }
    default:
        self->malformed_frames++; //  a status this version does not know
        break;
    }
}

//  --------------------------------------------------------------------------
//  Commands

//  Remember a command id (evicting the oldest when full). Returns the entry.
static s_command_t *
s_command_remember (kefu_gateway_t *self, int64_t id)
{
    s_command_t *entry = (s_command_t *) calloc (1, sizeof *entry);
    if (!entry)
        return NULL;
    entry->id = id;
    if (self->ring_count == S_COMMAND_MEMORY) {
        int64_t oldest = self->command_ring[self->ring_next];
        zhashx_delete (self->commands, &oldest);
    } else
        self->ring_count++;
    self->command_ring[self->ring_next] = id;
    self->ring_next = (self->ring_next + 1) % S_COMMAND_MEMORY;
    if (zhashx_insert (self->commands, &entry->id, entry) == -1) {
        free (entry);
        return NULL;
    }
    return entry;
}

static int
s_send_command_ack (kefu_gateway_t *self, int64_t id, bool delivered, const char *reason)
{
    Kefu__V1__CommandAck command_ack = KEFU__V1__COMMAND_ACK__INIT;
    command_ack.command_id = id;
    command_ack.status = delivered ? KEFU__V1__COMMAND_ACK_STATUS__COMMAND_DELIVERED
                                   : KEFU__V1__COMMAND_ACK_STATUS__COMMAND_FAILED;
    if (reason) {
        command_ack.reason.data = (uint8_t *) reason;
        command_ack.reason.len = strlen (reason);
    }
    Kefu__V1__GatewayFrame frame = KEFU__V1__GATEWAY_FRAME__INIT;
    frame.body_case = KEFU__V1__GATEWAY_FRAME__BODY_COMMAND_ACK;
    frame.command_ack = &command_ack;
    size_t size;
    uint8_t *buffer = s_pack_frame (&frame, &size);
    if (!buffer)
        return -1;
    int rc = s_send_raw (self, buffer, size);
    free (buffer);
    return rc;
}

static void
s_handle_command (kefu_gateway_t *self, const Kefu__V1__Command *command)
{
    s_command_t *seen = (s_command_t *) zhashx_lookup (self->commands, &command->command_id);
    if (seen) {
        //  Intake resends until it gets our ack. If the app answered, the
        //  answer may have been lost: give it again. Else the app is on it.
        self->stats.command_repeats++;
        if (seen->acked)
            s_send_command_ack (self, seen->id, seen->delivered, seen->reason);
        return;
    }
    if (!self->on_command)
        return; //  nobody to give it to yet: intake will send it again
    if (!s_command_remember (self, command->command_id))
        return; //  out of memory: let intake resend it
    self->stats.commands++;
    self->callbacks++;
    self->on_command (self, command, self->on_command_arg);
}

//  --------------------------------------------------------------------------
//  Input

static void
s_handle_frame (kefu_gateway_t *self, const uint8_t *data, size_t size, int64_t now)
{
    Kefu__V1__IntakeFrame *frame = kefu__v1__intake_frame__unpack (NULL, size, data);
    if (!frame) {
        self->malformed_frames++;
        return;
    }
    switch (frame->body_case) {
    case KEFU__V1__INTAKE_FRAME__BODY_WELCOME:
        s_handle_welcome (self, frame->welcome);
        break;
    case KEFU__V1__INTAKE_FRAME__BODY_REJECT:
        s_handle_reject (self, frame->reject, now);
        break;
    case KEFU__V1__INTAKE_FRAME__BODY_ACK:
        s_handle_ack (self, frame->ack, now);
        break;
    case KEFU__V1__INTAKE_FRAME__BODY_COMMAND:
        s_handle_command (self, frame->command);
        break;
    default:
        self->malformed_frames++;
        break;
    }
    kefu__v1__intake_frame__free_unpacked (frame, NULL);
}

//  Handle every frame that is ready (up to S_DRAIN_MAX). Returns how many.
static int
s_drain (kefu_gateway_t *self)
{
    void *dealer = zsock_resolve (self->dealer);
    int count = 0;
    while (count < S_DRAIN_MAX) {
        zmq_msg_t msg;
        zmq_msg_init (&msg);
        if (zmq_msg_recv (&msg, dealer, ZMQ_DONTWAIT) == -1) {
            zmq_msg_close (&msg);
            break;
        }
        count++;
        if (zmq_msg_more (&msg)) {
            //  Intake sends single frames; drop the whole message.
            self->malformed_frames++;
            while (zmq_msg_more (&msg)) {
                zmq_msg_close (&msg);
                zmq_msg_init (&msg);
                if (zmq_msg_recv (&msg, dealer, ZMQ_DONTWAIT) == -1)
                    break;
            }
        } else
            s_handle_frame (self, (const uint8_t *) zmq_msg_data (&msg), zmq_msg_size (&msg),
                            zclock_mono ());
        zmq_msg_close (&msg);
    }
    return count;
}

//  Connection events from the socket monitor.
static void
s_handle_monitor (kefu_gateway_t *self, int64_t now)
{
    void *monitor = zsock_resolve (self->monitor);
    while (true) {
        zmq_msg_t msg;
        zmq_msg_init (&msg);
        if (zmq_msg_recv (&msg, monitor, ZMQ_DONTWAIT) == -1) {
            zmq_msg_close (&msg);
            return;
        }
        //  Frame 1: uint16 event + uint32 value (host order); frame 2: address.
        uint16_t event = 0;
        uint32_t value = 0;
        if (zmq_msg_size (&msg) >= 6) {
            memcpy (&event, zmq_msg_data (&msg), 2);
            memcpy (&value, (uint8_t *) zmq_msg_data (&msg) + 2, 4);
        }
        while (zmq_msg_more (&msg)) {
            zmq_msg_close (&msg);
            zmq_msg_init (&msg);
            if (zmq_msg_recv (&msg, monitor, ZMQ_DONTWAIT) == -1)
                break;
        }
        zmq_msg_close (&msg);
        char reason[200];
        switch (event) {
        case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
            //  A new connection is a new peer for intake's ROUTER: it does not
            //  know us until we say Hello on it. Always say it here, even if
            //  a Hello went out since the disconnect: that one may have gone
            //  into the dying pipe of the old connection and been dropped.
            s_session_lost (self, now);
            break;
        case ZMQ_EVENT_DISCONNECTED:
            //  Nothing to say Hello on until the next handshake succeeds
            //  (the hello timer is the fallback).
            self->welcomed = false;
            self->hello_due_ms = now + self->hello_timeout_ms;
            break;
        case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
            snprintf (reason, sizeof reason,
                      "intake refused this gateway's CURVE key (ZAP status %u): is the key "
                      "registered and enabled?",
                      (unsigned) value);
            goto handshake_failed;
        case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
            snprintf (reason, sizeof reason,
                      "handshake with intake failed (protocol error 0x%x): wrong server key, or "
                      "CURVE on one side only?",
                      (unsigned) value);
            goto handshake_failed;
        case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
            snprintf (reason, sizeof reason, "handshake with intake failed (errno %u)",
                      (unsigned) value);
        handshake_failed:
            if (!self->reject_reason || strcmp (self->reject_reason, reason) != 0)
                zsys_warning ("kefu-gateway: %s", reason);
            s_set_reject_reason (self, reason);
            break;
        default:
            break;
        }
    }
}

//  --------------------------------------------------------------------------
//  Construction

kefu_gateway_options_t
kefu_gateway_options_default (void)
{
    kefu_gateway_options_t options;
    memset (&options, 0, sizeof options);
    options.window = 1000;
    options.ack_timeout_ms = 5000;
    options.retry_backoff_ms = 200;
    options.hello_timeout_ms = 2000;
    options.software = "libkefu-gateway";
    return options;
}

//  Pack the Hello once: it never changes for the life of the gateway.
static int
s_build_hello (kefu_gateway_t *self, const kefu_gateway_options_t *options)
{
    size_t count = options->serves_count;
    Kefu__V1__ShopChannel *serves =
        count ? (Kefu__V1__ShopChannel *) calloc (count, sizeof *serves) : NULL;
    Kefu__V1__ShopChannel **serves_p =
        count ? (Kefu__V1__ShopChannel **) calloc (count, sizeof *serves_p) : NULL;
    if (count && (!serves || !serves_p)) {
        free (serves);
        free (serves_p);
        return -1;
    }
    for (size_t i = 0; i < count; i++) {
        Kefu__V1__ShopChannel init = KEFU__V1__SHOP_CHANNEL__INIT;
        serves[i] = init;
        serves[i].shop_id = kefu_gateway_text (options->serves[i].shop_id);
        serves[i].channel = options->serves[i].channel;
        serves_p[i] = &serves[i];
    }
    Kefu__V1__Hello hello = KEFU__V1__HELLO__INIT;
    hello.gateway_id = kefu_gateway_text (self->gateway_id);
    hello.protocol_version = KEFU__V1__GATEWAY_PROTOCOL__GATEWAY_PROTOCOL_V1;
    hello.n_serves = count;
    hello.serves = serves_p;
    hello.software = kefu_gateway_text (options->software ? options->software : "libkefu-gateway");
    Kefu__V1__GatewayFrame frame = KEFU__V1__GATEWAY_FRAME__INIT;
    frame.body_case = KEFU__V1__GATEWAY_FRAME__BODY_HELLO;
    frame.hello = &hello;
    self->hello = s_pack_frame (&frame, &self->hello_size);
    free (serves);
    free (serves_p);
    return self->hello ? 0 : -1;
}

//  CURVE: our key pair from the zcert file, intake's public key.
static int
s_apply_curve (kefu_gateway_t *self, const kefu_gateway_options_t *options)
{
    const char *server_key = options->server_public_key;
    const char *key_file = options->secret_key_file;
    bool has_server_key = server_key && *server_key;
    bool has_key_file = key_file && *key_file;
    if (!has_server_key && !has_key_file)
        return 0; //  plain (development only)
    if (!has_server_key || !has_key_file) {
        fprintf (stderr, "kefu-gateway: CURVE needs both server_public_key and secret_key_file "
                         "(or neither, for plain development mode)\n");
        return -1;
    }
    uint8_t decoded[32];
    if (strlen (server_key) != 40 || !zmq_z85_decode (decoded, server_key)) {
        fprintf (stderr, "kefu-gateway: server_public_key is not a 40-character Z85 key\n");
        return -1;
    }
    zcert_t *cert = zcert_load (key_file);
    if (!cert) {
        fprintf (stderr, "kefu-gateway: cannot read key pair file %s (a zcert \"_secret\" file)\n",
                 key_file);
        return -1;
    }
    if (strcmp (zcert_secret_txt (cert), "0000000000000000000000000000000000000000") == 0) {
        fprintf (stderr, "kefu-gateway: %s holds no secret key (give the \"_secret\" file)\n",
                 key_file);
        zcert_destroy (&cert);
        return -1;
    }
    zcert_apply (cert, self->dealer);
    zcert_destroy (&cert);
    zsock_set_curve_serverkey (self->dealer, server_key);
    return 0;
}

static void
s_tune (kefu_gateway_t *self)
{
    zsock_t *sock = self->dealer;
    //  ZMTP heartbeats: a dead intake is noticed in seconds, not TCP's 30 min.
    zsock_set_heartbeat_ivl (sock, 1000);
    zsock_set_heartbeat_timeout (sock, 3000);
    zsock_set_heartbeat_ttl (sock, 3000);
    //  Queue nothing on connections that are not up: a send either goes
    //  to a live intake or fails with EAGAIN and the item stays ours.
    zsock_set_immediate (sock, 1);
    //  The window bounds what we queue; acks and commands are small.
    int sndhwm = self->window > 500000 ? 1000000 : self->window * 2;
    zsock_set_sndhwm (sock, sndhwm < 1000 ? 1000 : sndhwm);
    zsock_set_rcvhwm (sock, S_RCVHWM);
    zsock_set_maxmsgsize (sock, S_MAX_MSG_BYTES);
    zsock_set_reconnect_ivl (sock, 100);
    zsock_set_reconnect_ivl_max (sock, 2000);
    zsock_set_handshake_ivl (sock, 5000);
    //  Destroy drops what is still queued: the contract is "flush first".
    zsock_set_linger (sock, 0);
}

kefu_gateway_t *
kefu_gateway_new (const kefu_gateway_options_t *options)
{
    if (!options || !options->endpoint || !*options->endpoint || !options->gateway_id ||
        !*options->gateway_id) {
        fprintf (stderr, "kefu-gateway: endpoint and gateway_id are required\n");
        return NULL;
    }
    for (size_t i = 0; i < options->serves_count; i++)
        if (!options->serves || !options->serves[i].shop_id || !*options->serves[i].shop_id) {
            fprintf (stderr, "kefu-gateway: serves[%zu] has no shop_id\n", i);
            return NULL;
        }
    kefu_gateway_options_t defaults = kefu_gateway_options_default ();
    kefu_gateway_t *self = (kefu_gateway_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->endpoint = strdup (options->endpoint);
    self->gateway_id = strdup (options->gateway_id);
    self->window = options->window > 0 ? options->window : defaults.window;
    self->ack_timeout_ms =
        options->ack_timeout_ms > 0 ? options->ack_timeout_ms : defaults.ack_timeout_ms;
    self->retry_backoff_ms =
        options->retry_backoff_ms > 0 ? options->retry_backoff_ms : defaults.retry_backoff_ms;
    if (self->retry_backoff_ms > S_BACKOFF_MAX_MS)
        self->retry_backoff_ms = S_BACKOFF_MAX_MS;
    self->hello_timeout_ms =
        options->hello_timeout_ms > 0 ? options->hello_timeout_ms : defaults.hello_timeout_ms;
    self->backoff_ms = self->retry_backoff_ms;
    self->next_due_ms = S_NEVER;
    self->rng = (uint64_t) zclock_usecs () ^ ((uint64_t) (uintptr_t) self << 16) ^
                ((uint64_t) getpid () << 40);
    if (self->rng == 0)
        self->rng = 0x9e3779b97f4a7c15ULL;
    self->items = zhashx_new ();
    self->ready = zlistx_new ();
    self->commands = zhashx_new ();
    self->command_ring = (int64_t *) calloc (S_COMMAND_MEMORY, sizeof (int64_t));
    self->dealer = zsock_new (ZMQ_DEALER);
    if (!self->endpoint || !self->gateway_id || !self->items || !self->ready || !self->commands ||
        !self->command_ring || !self->dealer || s_build_hello (self, options)) {
        fprintf (stderr, "kefu-gateway: out of memory or sockets\n");
        kefu_gateway_destroy (&self);
        return NULL;
    }
    zhashx_set_key_hasher (self->items, s_key_hash);
    zhashx_set_key_comparator (self->items, s_key_compare);
    zhashx_set_key_duplicator (self->items, NULL); //  keys live inside the items
    zhashx_set_key_destructor (self->items, NULL);
    zhashx_set_destructor (self->items, s_item_destroy);
    zhashx_set_key_hasher (self->commands, s_command_hash);
    zhashx_set_key_comparator (self->commands, s_command_compare);
    zhashx_set_key_duplicator (self->commands, NULL);
    zhashx_set_key_destructor (self->commands, NULL);
    zhashx_set_destructor (self->commands, s_command_destroy);

    s_tune (self);
    if (s_apply_curve (self, options)) {
        kefu_gateway_destroy (&self);
        return NULL;
    }
    //  Watch the connection before connecting, so no event is missed.
    self->monitor_endpoint =
        zsys_sprintf ("inproc://kefu-gateway-monitor-%p-%" PRId64, (void *) self, zclock_usecs ());
    if (!self->monitor_endpoint ||
        zmq_socket_monitor (zsock_resolve (self->dealer), self->monitor_endpoint,
                            ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
                                ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                                ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                                ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) == -1 ||
        !(self->monitor = zsock_new (ZMQ_PAIR)) ||
        zsock_connect (self->monitor, "%s", self->monitor_endpoint) == -1) {
        fprintf (stderr, "kefu-gateway: cannot monitor the intake connection: %s\n",
                 zmq_strerror (zmq_errno ()));
        kefu_gateway_destroy (&self);
        return NULL;
    }
    zsock_set_linger (self->monitor, 0);
    if (zsock_connect (self->dealer, "%s", self->endpoint) == -1) {
        fprintf (stderr, "kefu-gateway: bad endpoint \"%s\": %s\n", self->endpoint,
                 zmq_strerror (zmq_errno ()));
        kefu_gateway_destroy (&self);
        return NULL;
    }
    //  Hello goes out when the handshake succeeds (the monitor tells us),
    //  once per connection; this timer is only the fallback.
    self->hello_due_ms = zclock_mono () + self->hello_timeout_ms;
    return self;
}

void
kefu_gateway_destroy (kefu_gateway_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    kefu_gateway_t *self = *self_p;
    if (self->dealer && self->monitor_endpoint)
        zmq_socket_monitor (zsock_resolve (self->dealer), NULL, 0);
    zsock_destroy (&self->monitor);
    zsock_destroy (&self->dealer);
    zstr_free (&self->monitor_endpoint);
    zlistx_destroy (&self->ready); //  borrowed pointers: before the hash
    zhashx_destroy (&self->items);
    zhashx_destroy (&self->commands);
    free (self->command_ring);
    free (self->hello);
    free (self->reject_reason);
    free (self->endpoint);
    free (self->gateway_id);
    free (self);
    *self_p = NULL;
}

void
kefu_gateway_on_ack (kefu_gateway_t *self, kefu_gateway_ack_fn *fn, void *arg)
{
    assert (self);
    self->on_ack = fn;
    self->on_ack_arg = arg;
}

void
kefu_gateway_on_command (kefu_gateway_t *self, kefu_gateway_command_fn *fn, void *arg)
{
    assert (self);
    self->on_command = fn;
    self->on_command_arg = arg;
}

//  --------------------------------------------------------------------------
//  The application's calls

int
kefu_gateway_send (kefu_gateway_t *self, const Kefu__V1__InboundItem *item)
{
    assert (self);
    if (!item || item->shop_id.len == 0 || item->gateway_msg_id.len == 0) {
        errno = EINVAL;
        return -1;
    }
    if (self->inflight >= (size_t) self->window) {
        errno = EAGAIN;
        return -1;
    }
    Kefu__V1__GatewayFrame frame = KEFU__V1__GATEWAY_FRAME__INIT;
    frame.body_case = KEFU__V1__GATEWAY_FRAME__BODY_ITEM;
    frame.item = (Kefu__V1__InboundItem *) item; //  only read by pack
    size_t size;
    uint8_t *packed = s_pack_frame (&frame, &size);
    if (!packed) {
        errno = ENOMEM;
        return -1;
    }
    s_key_t key = {item->shop_id.data, item->shop_id.len, item->gateway_msg_id.data,
                   item->gateway_msg_id.len};
    s_item_t *existing = (s_item_t *) zhashx_lookup (self->items, &key);
    if (existing) {
        //  The same id again while the first is in flight: one entry, one
        //  more final ack owed, and the newest bytes are what gets resent.
        free (existing->frame);
        existing->frame = packed;
        existing->frame_size = size;
        existing->refs++;
        self->inflight++;
        s_queue (self, existing, false);
    } else {
        s_item_t *entry = (s_item_t *) calloc (1, sizeof *entry + key.shop_len + key.id_len);
        if (!entry) {
            free (packed);
            errno = ENOMEM;
            return -1;
        }
        uint8_t *bytes = (uint8_t *) (entry + 1);
        memcpy (bytes, key.shop, key.shop_len);
        memcpy (bytes + key.shop_len, key.id, key.id_len);
        entry->key.shop = bytes;
        entry->key.shop_len = key.shop_len;
        entry->key.id = bytes + key.shop_len;
        entry->key.id_len = key.id_len;
        entry->seq = self->next_seq++;
        entry->frame = packed;
        entry->frame_size = size;
        entry->refs = 1;
        entry->due_ms = S_NEVER;
        if (zhashx_insert (self->items, &entry->key, entry) == -1) {
            free (packed);
            free (entry);
            errno = ENOMEM;
            return -1;
        }
        self->inflight++;
        s_queue (self, entry, false);
    }
    //  Out at once when the session is open (no callbacks from here).
    if (!self->blocked)
        s_transmit (self, false, zclock_mono ());
    return 0;
}

int
kefu_gateway_poll (kefu_gateway_t *self, int timeout_ms)
{
    assert (self);
    uint64_t callbacks_before = self->callbacks;
    int64_t start = zclock_mono ();
    int64_t end = timeout_ms < 0 ? S_NEVER : start + timeout_ms;
    void *dealer = zsock_resolve (self->dealer);
    void *monitor = zsock_resolve (self->monitor);
    while (true) {
        int64_t now = zclock_mono ();
        s_run_timers (self, now);
        s_transmit (self, true, now);
        now = zclock_mono ();
        int64_t wake = s_next_wakeup (self);
        if (wake > end)
            wake = end;
        long wait = wake == S_NEVER ? -1 : wake > now ? (long) (wake - now) : 0;
        bool want_out = self->blocked && self->welcomed && zlistx_size (self->ready) > 0;
        zmq_pollitem_t pollitems[2] = {
            {dealer, 0, (short) (ZMQ_POLLIN | (want_out ? ZMQ_POLLOUT : 0)), 0},
            {monitor, 0, ZMQ_POLLIN, 0}};
        if (zmq_poll (pollitems, 2, wait) == -1)
            return -1; //  EINTR (a signal) or ETERM
        now = zclock_mono ();
        if (pollitems[1].revents & ZMQ_POLLIN)
            s_handle_monitor (self, now);
        if (pollitems[0].revents & ZMQ_POLLOUT)
            self->blocked = false;
        int received = 0;
        if (pollitems[0].revents & ZMQ_POLLIN)
            received = s_drain (self);
        now = zclock_mono ();
        if (received > 0 || now >= end) {
            s_run_timers (self, now);
            s_transmit (self, true, now);
            break;
        }
        if (self->blocked && now >= self->blocked_since_ms + S_BLOCKED_RETRY_MS)
            self->blocked = false; //  POLLOUT never came: just try again
    }
    return (int) (self->callbacks - callbacks_before);
}

size_t
kefu_gateway_flush (kefu_gateway_t *self, int timeout_ms)
{
    assert (self);
    int64_t end = zclock_mono () + (timeout_ms > 0 ? timeout_ms : 0);
    while (self->inflight > 0) {
        int64_t now = zclock_mono ();
        if (now >= end)
            break;
        if (kefu_gateway_poll (self, (int) (end - now)) == -1)
            break;
    }
    return self->inflight;
}

int
kefu_gateway_ack_command (kefu_gateway_t *self, int64_t command_id, bool delivered,
                          const char *reason)
{
    assert (self);
    s_command_t *entry = (s_command_t *) zhashx_lookup (self->commands, &command_id);
    if (!entry)
        entry = s_command_remember (self, command_id);
    if (entry) {
        //  Keep the answer for repeats; a very long reason is cut at a
        //  character boundary so the memory stays bounded.
        free (entry->reason);
        entry->reason = NULL;
        if (reason) {
            size_t len = strlen (reason);
            if (len > S_REASON_MAX) {
                len = S_REASON_MAX;
                while (len > 0 && ((uint8_t) reason[len] & 0xC0) == 0x80)
                    len--;
            }
            entry->reason = strndup (reason, len);
        }
        entry->acked = true;
        entry->delivered = delivered;
        reason = entry->reason;
    }
    return s_send_command_ack (self, command_id, delivered, reason);
}

size_t
kefu_gateway_inflight (const kefu_gateway_t *self)
{
    assert (self);
    return self->inflight;
}

bool
kefu_gateway_welcomed (const kefu_gateway_t *self)
{
    assert (self);
    return self->welcomed;
}

const char *
kefu_gateway_reject_reason (const kefu_gateway_t *self)
{
    assert (self);
    return self->reject_reason;
}

void
kefu_gateway_stats (const kefu_gateway_t *self, kefu_gateway_stats_t *out)
{
    assert (self);
    assert (out);
    *out = self->stats;
}

ProtobufCBinaryData
kefu_gateway_text (const char *s)
{
    ProtobufCBinaryData value = {0, NULL};
    if (s) {
        value.len = strlen (s);
        value.data = (uint8_t *) s;
    }
    return value;
}

int64_t
kefu_gateway_now_ms (void)
{
    return zclock_time ();
}

const char *
kefu_gateway_status_name (Kefu__V1__AckStatus status)
{
    switch (status) {
    case KEFU__V1__ACK_STATUS__ACK_ACCEPTED:
        return "accepted";
    case KEFU__V1__ACK_STATUS__ACK_DUPLICATE:
        return "duplicate";
    case KEFU__V1__ACK_STATUS__ACK_REJECTED:
        return "rejected";
    case KEFU__V1__ACK_STATUS__ACK_RETRY_LATER:
        return "retry_later";
    default:
        return "unspecified";
    }
}
