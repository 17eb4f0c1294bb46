/*  test_gateway_lib — libkefu-gateway against a real ROUTER speaking intake's side.

    The test plays intake with a real ROUTER socket on tcp://127.0.0.1:*: it
    receives the gateway's frames, answers Welcome / Reject / Ack / Command,
    restarts, and checks what the library does on the wire. The gateway and
    the ROUTER share this thread, so every wait pumps both (kefu_gateway_poll
    plus a short poll on the ROUTER) until a frame arrives or a generous
    deadline passes. Nothing asserts on timing; "nothing arrives" checks
    wait several ack timeouts.

    The flush test and the kefu-push tests use an auto-answering intake in an
    actor thread (Welcome to every Hello, an ack to every item after checking
    it like intake would), because flush blocks the calling thread.

    Usage, in short (see kefu_gateway.h for the whole example):
        kefu_gateway_options_t opts = kefu_gateway_options_default ();
        opts.endpoint = endpoint; opts.gateway_id = "qianniu-1";
        kefu_gateway_t *gw = kefu_gateway_new (&opts);
        kefu_gateway_on_ack (gw, on_ack, &state);
        kefu_gateway_send (gw, &item);          //  0, or -1 (window full)
        kefu_gateway_poll (gw, 100);            //  acks arrive via on_ack
        kefu_gateway_flush (gw, 5000);          //  0 = everything acked
        kefu_gateway_destroy (&gw);                                        */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kefu_gateway.h"
#include "kf_valid.h"

#define SHOP        "tmall-hzfs"
#define WAIT_MS     5000 //  generous deadline for "this must arrive"
#define QUIET_MS    400  //  window for "this must not arrive" (several ack timeouts)
#define ACK_TIMEOUT 100  //  small, so resends happen quickly

//  --------------------------------------------------------------------------
//  Intake's side: a ROUTER and the helpers to speak the protocol on it

typedef struct {
    zsock_t *router; //  bound to tcp://127.0.0.1:<port>
    char *endpoint;  //  what the gateway connects to
    zframe_t *peer;  //  routing id of the last gateway heard from
} s_intake_t;

static s_intake_t *
s_intake_new (const char *endpoint)
{
    s_intake_t *self = (s_intake_t *) calloc (1, sizeof *self);
    assert_non_null (self);
    self->router = zsock_new (ZMQ_ROUTER);
    assert_non_null (self->router);
    zsock_set_router_mandatory (self->router, 1);
    zsock_set_linger (self->router, 0);
    if (endpoint) {
        //  A fixed endpoint (a restarted intake): bound exactly as asked.
        assert_int_equal (zsock_bind (self->router, "%s", endpoint), 0);
        self->endpoint = strdup (endpoint);
    } else {
        int port = zsock_bind (self->router, "tcp://127.0.0.1:*");
        assert_true (port > 0);
        self->endpoint = zsys_sprintf ("tcp://127.0.0.1:%d", port);
    }
    return self;
}

static void
s_intake_destroy (s_intake_t **self_p)
{
    s_intake_t *self = *self_p;
    if (self) {
        zsock_destroy (&self->router);
        zframe_destroy (&self->peer);
        zstr_free (&self->endpoint);
        free (self);
        *self_p = NULL;
    }
}

//  One frame as intake received it.
typedef struct {
    Kefu__V1__GatewayFrame *frame; //  unpacked (free with s_received_free)
    zchunk_t *raw;                 //  the exact bytes
} s_received_t;

static void
s_received_free (s_received_t *r)
{
    if (r->frame)
        kefu__v1__gateway_frame__free_unpacked (r->frame, NULL);
    zchunk_destroy (&r->raw);
    r->frame = NULL;
}

//  Wait up to timeout_ms for the next frame from the gateway, pumping the
//  gateway (may be NULL) meanwhile. False on timeout.
static bool
s_intake_recv (s_intake_t *self, kefu_gateway_t *gw, int timeout_ms, s_received_t *out)
{
    out->frame = NULL;
    out->raw = NULL;
    int64_t end = zclock_mono () + timeout_ms;
    void *router = zsock_resolve (self->router);
    while (zclock_mono () < end) {
        if (gw)
            kefu_gateway_poll (gw, 5);
        zmq_pollitem_t item = {router, 0, ZMQ_POLLIN, 0};
        if (zmq_poll (&item, 1, gw ? 5 : 20) <= 0)
            continue;
        zmsg_t *msg = zmsg_recv (self->router);
        assert_non_null (msg);
        assert_int_equal (zmsg_size (msg), 2); //  routing id + exactly one frame
        zframe_destroy (&self->peer);
        self->peer = zmsg_pop (msg);
        zframe_t *body = zmsg_pop (msg);
        out->raw = zchunk_new (zframe_data (body), zframe_size (body));
        out->frame = kefu__v1__gateway_frame__unpack (NULL, zframe_size (body), zframe_data (body));
        assert_non_null (out->frame);
        zframe_destroy (&body);
        zmsg_destroy (&msg);
        return true;
    }
    return false;
}

//  Expect the next frame to be of this kind; returns it (caller frees).
static s_received_t
s_expect (s_intake_t *self, kefu_gateway_t *gw, Kefu__V1__GatewayFrame__BodyCase kind)
{
    s_received_t r;
    assert_true (s_intake_recv (self, gw, WAIT_MS, &r));
    assert_int_equal (r.frame->body_case, kind);
    return r;
}

//  Pump for `ms` and assert that nothing arrives.
static void
s_expect_nothing (s_intake_t *self, kefu_gateway_t *gw, int ms)
{
    s_received_t r;
    bool got = s_intake_recv (self, gw, ms, &r);
    if (got)
        fail_msg ("expected silence, got a frame of kind %d", r.frame->body_case);
}

static void
s_intake_send (s_intake_t *self, const Kefu__V1__IntakeFrame *frame)
{
    assert_non_null (self->peer);
    size_t size = kefu__v1__intake_frame__get_packed_size (frame);
    zframe_t *body = zframe_new (NULL, size);
    kefu__v1__intake_frame__pack (frame, zframe_data (body));
    zframe_t *peer = zframe_dup (self->peer);
    assert_int_equal (zframe_send (&peer, self->router, ZFRAME_MORE), 0);
    assert_int_equal (zframe_send (&body, self->router, 0), 0);
}

static void
s_send_raw (s_intake_t *self, const void *data, size_t size, bool two_frames)
{
    zframe_t *peer = zframe_dup (self->peer);
    zframe_send (&peer, self->router, ZFRAME_MORE);
    zframe_t *body = zframe_new (data, size);
    zframe_send (&body, self->router, two_frames ? ZFRAME_MORE : 0);
    if (two_frames) {
        body = zframe_new (data, size);
        zframe_send (&body, self->router, 0);
    }
}

static void
s_welcome (s_intake_t *self, uint32_t max_frame_bytes)
{
    Kefu__V1__Welcome welcome = KEFU__V1__WELCOME__INIT;
    welcome.protocol_version = KEFU__V1__GATEWAY_PROTOCOL__GATEWAY_PROTOCOL_V1;
    welcome.principal_id = "dev";
    welcome.max_frame_bytes = max_frame_bytes;
    welcome.insecure = true;
    Kefu__V1__IntakeFrame frame = KEFU__V1__INTAKE_FRAME__INIT;
    frame.body_case = KEFU__V1__INTAKE_FRAME__BODY_WELCOME;
    frame.welcome = &welcome;
    s_intake_send (self, &frame);
}

static void
s_reject_hello (s_intake_t *self, Kefu__V1__ErrorCode code, const char *reason)
{
    Kefu__V1__Reject reject = KEFU__V1__REJECT__INIT;
    reject.code = code;
    reject.reason = (char *) reason;
    Kefu__V1__IntakeFrame frame = KEFU__V1__INTAKE_FRAME__INIT;
    frame.body_case = KEFU__V1__INTAKE_FRAME__BODY_REJECT;
    frame.reject = &reject;
    s_intake_send (self, &frame);
}

static void
s_ack (s_intake_t *self, const char *shop, const char *id, Kefu__V1__AckStatus status,
       Kefu__V1__ErrorCode code, int64_t stored_id, uint32_t retry_after_ms)
{
    Kefu__V1__Ack ack = KEFU__V1__ACK__INIT;
    ack.shop_id = kefu_gateway_text (shop);
    ack.gateway_msg_id = kefu_gateway_text (id);
    ack.status = status;
    ack.code = code;
    ack.stored_id = stored_id;
    ack.retry_after_ms = retry_after_ms;
    ack.reason = code ? "test says so" : "";
    Kefu__V1__IntakeFrame frame = KEFU__V1__INTAKE_FRAME__INIT;
    frame.body_case = KEFU__V1__INTAKE_FRAME__BODY_ACK;
    frame.ack = &ack;
    s_intake_send (self, &frame);
}

static void
s_command (s_intake_t *self, int64_t command_id)
{
    Kefu__V1__AutoReplyCommand reply = KEFU__V1__AUTO_REPLY_COMMAND__INIT;
    reply.conversation_id = 99;
    reply.kind = KEFU__V1__AUTO_REPLY_KIND__AUTO_REPLY_BUSY;
    reply.text = kefu_gateway_text ("亲，客服正忙，请稍候～");
    Kefu__V1__Command command = KEFU__V1__COMMAND__INIT;
    command.command_id = command_id;
    command.shop_id = kefu_gateway_text (SHOP);
    command.channel = KEFU__V1__CHANNEL__CHANNEL_PLATFORM_CHAT;
    command.customer_id = kefu_gateway_text ("tb_lily88");
    command.origin = "routing";
    command.kind_case = KEFU__V1__COMMAND__KIND_AUTO_REPLY;
    command.auto_reply = &reply;
    Kefu__V1__IntakeFrame frame = KEFU__V1__INTAKE_FRAME__INIT;
    frame.body_case = KEFU__V1__INTAKE_FRAME__BODY_COMMAND;
    frame.command = &command;
    s_intake_send (self, &frame);
}

static bool
s_id_is (const Kefu__V1__GatewayFrame *frame, const char *id)
{
    return frame->body_case == KEFU__V1__GATEWAY_FRAME__BODY_ITEM &&
           frame->item->gateway_msg_id.len == strlen (id) &&
           memcmp (frame->item->gateway_msg_id.data, id, strlen (id)) == 0;
}

//  --------------------------------------------------------------------------
//  The gateway's side

typedef struct {
    int acks; //  ack callbacks
    int accepted, duplicate, rejected;
    Kefu__V1__AckStatus last_status;
    Kefu__V1__ErrorCode last_code;
    int64_t last_stored_id;
    char last_id[64];
    int commands; //  command callbacks
    int64_t last_command_id;
} s_seen_t;

static void
s_on_ack (const Kefu__V1__Ack *ack, void *arg)
{
    s_seen_t *seen = (s_seen_t *) arg;
    seen->acks++;
    seen->accepted += ack->status == KEFU__V1__ACK_STATUS__ACK_ACCEPTED;
    seen->duplicate += ack->status == KEFU__V1__ACK_STATUS__ACK_DUPLICATE;
    seen->rejected += ack->status == KEFU__V1__ACK_STATUS__ACK_REJECTED;
    assert_int_not_equal (ack->status, KEFU__V1__ACK_STATUS__ACK_RETRY_LATER); //  never final
    seen->last_status = ack->status;
    seen->last_code = ack->code;
    seen->last_stored_id = ack->stored_id;
    snprintf (seen->last_id, sizeof seen->last_id, "%.*s", (int) ack->gateway_msg_id.len,
              (const char *) ack->gateway_msg_id.data);
}

static void
s_on_command (kefu_gateway_t *gw, const Kefu__V1__Command *command, void *arg)
{
    (void) gw;
    s_seen_t *seen = (s_seen_t *) arg;
    seen->commands++;
    seen->last_command_id = command->command_id;
    assert_int_equal (command->kind_case, KEFU__V1__COMMAND__KIND_AUTO_REPLY);
}

//  Pump the gateway until cond holds or WAIT_MS passes.
#define PUMP_UNTIL(gw, cond)                                                                       \
    do {                                                                                           \
        int64_t end_ = zclock_mono () + WAIT_MS;                                                   \
        while (!(cond) && zclock_mono () < end_)                                                   \
            kefu_gateway_poll ((gw), 10);                                                          \
        assert_true (cond);                                                                        \
    } while (0)

static kefu_gateway_shop_channel_t s_serves[] = {{SHOP, KEFU__V1__CHANNEL__CHANNEL_PLATFORM_CHAT},
                                                 {"jd-hzfs", KEFU__V1__CHANNEL__CHANNEL_WECHAT}};

static kefu_gateway_t *
s_gateway_new (const char *endpoint, int window, s_seen_t *seen)
{
    kefu_gateway_options_t opts = kefu_gateway_options_default ();
    opts.endpoint = endpoint;
    opts.gateway_id = "qianniu-1";
    opts.serves = s_serves;
    opts.serves_count = 2;
    opts.window = window;
    opts.ack_timeout_ms = ACK_TIMEOUT;
    opts.retry_backoff_ms = 20;
    opts.hello_timeout_ms = 60000; //  no Hello repeats unless the test causes them
    opts.software = "test_gateway_lib 1.0";
    kefu_gateway_t *gw = kefu_gateway_new (&opts);
    assert_non_null (gw);
    memset (seen, 0, sizeof *seen);
    kefu_gateway_on_ack (gw, s_on_ack, seen);
    kefu_gateway_on_command (gw, s_on_command, seen);
    return gw;
}

//  A customer message, built on the stack, pointing at borrowed strings.
typedef struct {
    Kefu__V1__InboundItem item;
    Kefu__V1__CustomerMessage msg;
} s_item_t;

static void
s_item_init (s_item_t *s, const char *id, const char *body)
{
    Kefu__V1__InboundItem item = KEFU__V1__INBOUND_ITEM__INIT;
    Kefu__V1__CustomerMessage msg = KEFU__V1__CUSTOMER_MESSAGE__INIT;
    s->item = item;
    s->msg = msg;
    s->msg.customer_id = kefu_gateway_text ("tb_lily88");
    s->msg.body = kefu_gateway_text (body);
    s->item.shop_id = kefu_gateway_text (SHOP);
    s->item.gateway_msg_id = kefu_gateway_text (id);
    s->item.sent_at_ms = kefu_gateway_now_ms ();
    s->item.channel = KEFU__V1__CHANNEL__CHANNEL_PLATFORM_CHAT;
    s->item.kind_case = KEFU__V1__INBOUND_ITEM__KIND_CUSTOMER_MESSAGE;
    s->item.customer_message = &s->msg;
}

static void
s_send_item (kefu_gateway_t *gw, const char *id, const char *body)
{
    s_item_t s;
    s_item_init (&s, id, body);
    assert_int_equal (kefu_gateway_send (gw, &s.item), 0);
}

//  Hello, then Welcome: the session every item test starts from.
static void
s_open_session (s_intake_t *intake, kefu_gateway_t *gw)
{
    s_received_t hello = s_expect (intake, gw, KEFU__V1__GATEWAY_FRAME__BODY_HELLO);
    s_received_free (&hello);
    s_welcome (intake, 0);
    PUMP_UNTIL (gw, kefu_gateway_welcomed (gw));
}

//  --------------------------------------------------------------------------
//  Tests

static void
test_hello_first_then_items_after_welcome (void **state)
{
    (void) state;
    s_intake_t *intake = s_intake_new (NULL);
    s_seen_t seen;
    kefu_gateway_t *gw = s_gateway_new (intake->endpoint, 100, &seen);
    //  Items sent before the session is open are queued.
    s_send_item (gw, "qn-1", "在吗？");
    s_send_item (gw, "qn-2", "这件有M码吗");
    assert_int_equal (kefu_gateway_inflight (gw), 2);

    s_received_t r = s_expect (intake, gw, KEFU__V1__GATEWAY_FRAME__BODY_HELLO);
    const Kefu__V1__Hello *hello = r.frame->hello;
    assert_int_equal (hello->gateway_id.len, strlen ("qianniu-1"));
    assert_memory_equal (hello->gateway_id.data, "qianniu-1", strlen ("qianniu-1"));
    assert_int_equal (hello->protocol_version, KEFU__V1__GATEWAY_PROTOCOL__GATEWAY_PROTOCOL_V1);
    assert_int_equal (hello->n_serves, 2);
    assert_memory_equal (hello->serves[0]->shop_id.data, SHOP, strlen (SHOP));
    assert_int_equal (hello->serves[0]->channel, KEFU__V1__CHANNEL__CHANNEL_PLATFORM_CHAT);
    assert_memory_equal (hello->serves[1]->shop_id.data, "jd-hzfs", 7);
    assert_int_equal (hello->serves[1]->channel, KEFU__V1__CHANNEL__CHANNEL_WECHAT);
    assert_memory_equal (hello->software.data, "test_gateway_lib 1.0", hello->software.len);
    s_received_free (&r);

    //  No item before the Welcome, however long we wait.
    s_expect_nothing (intake, gw, QUIET_MS);
    assert_false (kefu_gateway_welcomed (gw));

    //  The Welcome releases them, in order.
    s_welcome (intake, 65536);
    r = s_expect (intake, gw, KEFU__V1__GATEWAY_FRAME__BODY_ITEM);
    assert_true (s_id_is (r.frame, "qn-1"));
    assert_int_equal (r.frame->item->kind_case, KEFU__V1__INBOUND_ITEM__KIND_CUSTOMER_MESSAGE);
    assert_memory_equal (r.frame->item->customer_message->body.data, "在吗？", strlen ("在吗？"));
    s_received_free (&r);
    r = s_expect (intake, gw, KEFU__V1__GATEWAY_FRAME__BODY_ITEM);
    assert_true (s_id_is (r.frame, "qn-2"));
    s_received_free (&r);
    assert_true (kefu_gateway_welcomed (gw));
    assert_null (kefu_gateway_reject_reason (gw));

    s_ack (intake, SHOP, "qn-1", KEFU__V1__ACK_STATUS__ACK_ACCEPTED, 0, 1001, 0);
    s_ack (intake, SHOP, "qn-2", KEFU__V1__ACK_STATUS__ACK_ACCEPTED, 0, 1002, 0);
    PUMP_UNTIL (gw, seen.acks == 2);
    assert_int_equal (seen.accepted, 2);
    assert_int_equal (seen.last_stored_id, 1002);
    assert_int_equal (kefu_gateway_inflight (gw), 0);
    kefu_gateway_stats_t stats;
    kefu_gateway_stats (gw, &stats);
    assert_int_equal (stats.sent, 2);
    assert_int_equal (stats.accepted, 2);
    assert_int_equal (stats.hellos, 1);

    kefu_gateway_destroy (&gw);
    assert_null (gw);
    kefu_gateway_destroy (&gw); //  NULL-safe
    kefu_gateway_destroy (NULL);
    s_intake_destroy (&intake);
}

static void
test_unacked_item_is_resent_with_same_bytes (void **state)
{
    (void) state;
    s_intake_t *intake = s_intake_new (NULL);
    s_seen_t seen;
    kefu_gateway_t *gw = s_gateway_new (intake->endpoint, 100, &seen);
    s_open_session (intake, gw);
    s_send_item (gw, "qn-7", "快递到哪了？单号发我一下");
    s_received_t first = s_expect (intake, gw, KEFU__V1__GATEWAY_FRAME__BODY_ITEM);
    //  No ack: after ack_timeout the very same bytes come again.
    s_received_t again = s_expect (intake, gw, KEFU__V1__GATEWAY_FRAME__BODY_ITEM);
    assert_int_equal (zchunk_size (first.raw), zchunk_size (again.raw));
    assert_memory_equal (zchunk_data (first.raw), zchunk_data (again.raw), zchunk_size (first.raw));
    s_received_free (&first);
    s_received_free (&again);
    kefu_gateway_stats_t stats;
    kefu_gateway_stats (gw, &stats);
    assert_int_equal (stats.sent, 1);
    assert_true (stats.resent >= 1);
    assert_int_equal (seen.acks, 0);

    //  Two answers (one per copy intake got): one callback, the other ignored.
    s_ack (intake, SHOP, "qn-7", KEFU__V1__ACK_STATUS__ACK_ACCEPTED, 0, 7, 0);
    s_ack (intake, SHOP, "qn-7", KEFU__V1__ACK_STATUS__ACK_DUPLICATE, 0, 7, 0);
    PUMP_UNTIL (gw, seen.acks == 1);
    s_expect_nothing (intake, gw, QUIET_MS); //  no more resends once acked
    assert_int_equal (seen.acks, 1);
    assert_int_equal (seen.accepted, 1);
    kefu_gateway_destroy (&gw);
    s_intake_destroy (&intake);
}

static void
test_retry_later_is_resent_later (void **state)
{
    (void) state;
    s_intake_t *intake = s_intake_new (NULL);
    s_seen_t seen;
    kefu_gateway_t *gw = s_gateway_new (intake->endpoint, 100, &seen);
    s_open_session (intake, gw);
    s_send_item (gw, "qn-8", "能今天发货吗");
    s_received_t first = s_expect (intake, gw, KEFU__V1__GATEWAY_FRAME__BODY_ITEM);
    s_ack (intake, SHOP, "qn-8", KEFU__V1__ACK_STATUS__ACK_RETRY_LATER,
           KEFU__V1__ERROR_CODE__ERROR_STORE_UNAVAILABLE, 0, 50);
    s_received_t again = s_expect (intake, gw, KEFU__V1__GATEWAY_FRAME__BODY_ITEM);
    assert_memory_equal (zchunk_data (first.raw), zchunk_data (again.raw), zchunk_size (first.raw));
    assert_int_equal (seen.acks, 0); //  RETRY_LATER is not final
    s_received_free (&first);
    s_received_free (&again);
    //  Again, and again: still not final.
    s_ack (intake, SHOP, "qn-8", KEFU__V1__ACK_STATUS__ACK_RETRY_LATER,
           KEFU__V1__ERROR_CODE__ERROR_OVERLOADED, 0, 0);
    again = s_expect (intake, gw, KEFU__V1__GATEWAY_FRAME__BODY_ITEM);
    assert_true (s_id_is (again.frame, "qn-8"));
    s_received_free (&again);
    s_ack (intake, SHOP, "qn-8", KEFU__V1__ACK_STATUS__ACK_ACCEPTED, 0, 8, 0);
    PUMP_UNTIL (gw, seen.acks == 1);
    assert_int_equal (seen.last_status, KEFU__V1__ACK_STATUS__ACK_ACCEPTED);
    kefu_gateway_stats_t stats;
    kefu_gateway_stats (gw, &stats);
    assert_int_equal (stats.retry_later, 2);
    assert_int_equal (kefu_gateway_inflight (gw), 0);
    kefu_gateway_destroy (&gw);
    s_intake_destroy (&intake);
}

static void
test_not_authenticated_means_hello_again (void **state)
{
    (void) state;
    s_intake_t *intake = s_intake_new (NULL);
    s_seen_t seen;
    kefu_gateway_t *gw = s_gateway_new (intake->endpoint, 100, &seen);
    s_open_session (intake, gw);
    s_send_item (gw, "qn-9", "退款什么时候到");
    s_received_t r = s_expect (intake, gw, KEFU__V1__GATEWAY_FRAME__BODY_ITEM);
    s_received_free (&r);
    //  Intake restarted and lost the session.
    s_ack (intake, SHOP, "qn-9", KEFU__V1__ACK_STATUS__ACK_RETRY_LATER,
           KEFU__V1__ERROR_CODE__ERROR_NOT_AUTHENTICATED, 0, 0);
    r = s_expect (intake, gw, KEFU__V1__GATEWAY_FRAME__BODY_HELLO);
    s_received_free (&r);
    assert_false (kefu_gateway_welcomed (gw));
    s_expect_nothing (intake, gw, QUIET_MS); //  the item waits for the Welcome
    s_welcome (intake, 0);
    r = s_expect (intake, gw, KEFU__V1__GATEWAY_FRAME__BODY_ITEM);
    assert_true (s_id_is (r.frame, "qn-9"));
    s_received_free (&r);
    s_ack (intake, SHOP, "qn-9", KEFU__V1__ACK_STATUS__ACK_ACCEPTED, 0, 9, 0);
    PUMP_UNTIL (gw, seen.acks == 1);
    assert_int_equal (seen.accepted, 1);
    kefu_gateway_stats_t stats;
    kefu_gateway_stats (gw, &stats);
    assert_int_equal (stats.hellos, 2);
    kefu_gateway_destroy (&gw);
    s_intake_destroy (&intake);
}

//  A revoked key: intake answers every item REJECTED not_authenticated.
//  That is final (reported, never resent, no new Hello), unlike the
//  RETRY_LATER of a session intake forgot.
static void
test_revoked_key_rejections_are_final (void **state)
{
    (void) state;
    s_intake_t *intake = s_intake_new (NULL);
    s_seen_t seen;
    kefu_gateway_t *gw = s_gateway_new (intake->endpoint, 100, &seen);
    s_open_session (intake, gw);
    s_send_item (gw, "qn-r1", "在吗");
    s_send_item (gw, "qn-r2", "发货了吗");
    for (int i = 0; i < 2; i++) {
        s_received_t r = s_expect (intake, gw, KEFU__V1__GATEWAY_FRAME__BODY_ITEM);
        s_received_free (&r);
    }
    s_ack (intake, SHOP, "qn-r1", KEFU__V1__ACK_STATUS__ACK_REJECTED,
           KEFU__V1__ERROR_CODE__ERROR_NOT_AUTHENTICATED, 0, 0);
    s_ack (intake, SHOP, "qn-r2", KEFU__V1__ACK_STATUS__ACK_REJECTED,
           KEFU__V1__ERROR_CODE__ERROR_NOT_AUTHENTICATED, 0, 0);
    PUMP_UNTIL (gw, seen.acks == 2);
    assert_int_equal (seen.rejected, 2);
    assert_int_equal (seen.last_code, KEFU__V1__ERROR_CODE__ERROR_NOT_AUTHENTICATED);
    assert_int_equal (kefu_gateway_inflight (gw), 0);
    s_expect_nothing (intake, gw, QUIET_MS); //  no Hello, no resend
    kefu_gateway_stats_t stats;
    kefu_gateway_stats (gw, &stats);
    assert_int_equal (stats.hellos, 1);
    assert_int_equal (stats.resent, 0);
    kefu_gateway_destroy (&gw);
    s_intake_destroy (&intake);
}

static void
test_rejected_once_never_resent (void **state)
{
    (void) state;
    s_intake_t *intake = s_intake_new (NULL);
    s_seen_t seen;
    kefu_gateway_t *gw = s_gateway_new (intake->endpoint, 100, &seen);
    s_open_session (intake, gw);
    s_send_item (gw, "qn-10", "这件起球吗");
    s_received_t r = s_expect (intake, gw, KEFU__V1__GATEWAY_FRAME__BODY_ITEM);
    s_received_free (&r);
    s_ack (intake, SHOP, "qn-10", KEFU__V1__ACK_STATUS__ACK_REJECTED,
           KEFU__V1__ERROR_CODE__ERROR_INVALID_UTF8, 0, 0);
    PUMP_UNTIL (gw, seen.acks == 1);
    assert_int_equal (seen.rejected, 1);
    assert_int_equal (seen.last_code, KEFU__V1__ERROR_CODE__ERROR_INVALID_UTF8);
    assert_string_equal (seen.last_id, "qn-10");
    assert_int_equal (kefu_gateway_inflight (gw), 0);
    //  Several ack timeouts later: never sent again; a repeated REJECTED
    //  (intake answering a copy) is not reported twice.
    s_ack (intake, SHOP, "qn-10", KEFU__V1__ACK_STATUS__ACK_REJECTED,
           KEFU__V1__ERROR_CODE__ERROR_INVALID_UTF8, 0, 0);
    s_expect_nothing (intake, gw, QUIET_MS);
    assert_int_equal (seen.acks, 1);
    kefu_gateway_destroy (&gw);
    s_intake_destroy (&intake);
}

static void
test_final_acks_reported_once (void **state)
{
    (void) state;
    s_intake_t *intake = s_intake_new (NULL);
    s_seen_t seen;
    kefu_gateway_t *gw = s_gateway_new (intake->endpoint, 100, &seen);
    s_open_session (intake, gw);
    s_send_item (gw, "qn-11", "包邮吗");
    s_send_item (gw, "qn-12", "有优惠券吗");
    for (int i = 0; i < 2; i++) {
        s_received_t r = s_expect (intake, gw, KEFU__V1__GATEWAY_FRAME__BODY_ITEM);
        s_received_free (&r);
    }
    s_ack (intake, SHOP, "qn-11", KEFU__V1__ACK_STATUS__ACK_ACCEPTED, 0, 11, 0);
    s_ack (intake, SHOP, "qn-12", KEFU__V1__ACK_STATUS__ACK_DUPLICATE, 0, 5, 0);
    //  Noise that must change nothing: a late duplicate ack, an ack for an
    //  id never sent, a REJECTED with an empty id (a frame intake could not
    //  read), an unknown status, garbage bytes, a two-frame message.
    s_ack (intake, SHOP, "qn-11", KEFU__V1__ACK_STATUS__ACK_ACCEPTED, 0, 11, 0);
    s_ack (intake, SHOP, "qn-404", KEFU__V1__ACK_STATUS__ACK_ACCEPTED, 0, 404, 0);
    s_ack (intake, "", "", KEFU__V1__ACK_STATUS__ACK_REJECTED,
           KEFU__V1__ERROR_CODE__ERROR_MALFORMED, 0, 0);
    s_send_raw (intake, "\xff\xff\xff\xff\x0f", 5, false);
    s_send_raw (intake, "\x1a\x00", 2, true);
    PUMP_UNTIL (gw, seen.acks == 2);
    s_expect_nothing (intake, gw, QUIET_MS);
    assert_int_equal (seen.acks, 2);
    assert_int_equal (seen.accepted, 1);
    assert_int_equal (seen.duplicate, 1);
    assert_int_equal (seen.last_stored_id, 5);
    assert_int_equal (kefu_gateway_inflight (gw), 0);
    kefu_gateway_stats_t stats;
    kefu_gateway_stats (gw, &stats);
    assert_int_equal (stats.accepted, 1);
    assert_int_equal (stats.duplicate, 1);
    assert_int_equal (stats.resent, 0);
    kefu_gateway_destroy (&gw);
    s_intake_destroy (&intake);
}

static void
test_same_id_twice_gets_two_answers (void **state)
{
    (void) state;
    s_intake_t *intake = s_intake_new (NULL);
    s_seen_t seen;
    kefu_gateway_t *gw = s_gateway_new (intake->endpoint, 100, &seen);
    s_open_session (intake, gw);
    s_send_item (gw, "qn-13", "怎么还不发货");
    s_send_item (gw, "qn-13", "怎么还不发货");
    assert_int_equal (kefu_gateway_inflight (gw), 2);
    for (int i = 0; i < 2; i++) {
        s_received_t r = s_expect (intake, gw, KEFU__V1__GATEWAY_FRAME__BODY_ITEM);
        assert_true (s_id_is (r.frame, "qn-13"));
        s_received_free (&r);
    }
    s_ack (intake, SHOP, "qn-13", KEFU__V1__ACK_STATUS__ACK_ACCEPTED, 0, 13, 0);
    s_ack (intake, SHOP, "qn-13", KEFU__V1__ACK_STATUS__ACK_DUPLICATE, 0, 13, 0);
    PUMP_UNTIL (gw, seen.acks == 2);
    assert_int_equal (seen.accepted, 1);
    assert_int_equal (seen.duplicate, 1);
    assert_int_equal (kefu_gateway_inflight (gw), 0);
    kefu_gateway_destroy (&gw);
    s_intake_destroy (&intake);
}

static void
test_window_full_send_fails (void **state)
{
    (void) state;
    s_intake_t *intake = s_intake_new (NULL);
    s_seen_t seen;
    kefu_gateway_t *gw = s_gateway_new (intake->endpoint, 3, &seen);
    s_send_item (gw, "w-1", "1");
    s_send_item (gw, "w-2", "2");
    s_send_item (gw, "w-3", "3");
    s_item_t s;
    s_item_init (&s, "w-4", "4");
    errno = 0;
    assert_int_equal (kefu_gateway_send (gw, &s.item), -1);
    assert_int_equal (errno, EAGAIN);
    assert_int_equal (kefu_gateway_inflight (gw), 3);
    //  Items without ids are refused (EINVAL), window or not.
    s_item_t bad;
    s_item_init (&bad, "", "no id");
    errno = 0;
    assert_int_equal (kefu_gateway_send (gw, &bad.item), -1);
    assert_int_equal (errno, EINVAL);

    s_open_session (intake, gw);
    for (int i = 0; i < 3; i++) {
        s_received_t r = s_expect (intake, gw, KEFU__V1__GATEWAY_FRAME__BODY_ITEM);
        s_received_free (&r);
    }
    s_ack (intake, SHOP, "w-2", KEFU__V1__ACK_STATUS__ACK_ACCEPTED, 0, 2, 0);
    PUMP_UNTIL (gw, seen.acks == 1);
    assert_int_equal (kefu_gateway_send (gw, &s.item), 0); //  room again
    s_received_t r = s_expect (intake, gw, KEFU__V1__GATEWAY_FRAME__BODY_ITEM);
    assert_true (s_id_is (r.frame, "w-4"));
    s_received_free (&r);
    kefu_gateway_destroy (&gw);
    s_intake_destroy (&intake);
}

static void
test_commands_once_and_reacked (void **state)
{
    (void) state;
    s_intake_t *intake = s_intake_new (NULL);
    s_seen_t seen;
    kefu_gateway_t *gw = s_gateway_new (intake->endpoint, 100, &seen);
    s_open_session (intake, gw);

    //  Delivered twice before the app acks: one callback.
    s_command (intake, 7);
    s_command (intake, 7);
    PUMP_UNTIL (gw, seen.commands == 1);
    kefu_gateway_stats_t stats;
    PUMP_UNTIL (gw, (kefu_gateway_stats (gw, &stats), stats.command_repeats == 1));
    assert_int_equal (seen.commands, 1);
    assert_int_equal (seen.last_command_id, 7);
    s_expect_nothing (intake, gw, 100); //  no automatic ack before the app's

    assert_int_equal (kefu_gateway_ack_command (gw, 7, true, NULL), 0);
    s_received_t r = s_expect (intake, gw, KEFU__V1__GATEWAY_FRAME__BODY_COMMAND_ACK);
    assert_int_equal (r.frame->command_ack->command_id, 7);
    assert_int_equal (r.frame->command_ack->status,
                      KEFU__V1__COMMAND_ACK_STATUS__COMMAND_DELIVERED);
    s_received_free (&r);

    //  The ack was "lost": intake repeats; the library re-acks by itself.
    s_command (intake, 7);
    r = s_expect (intake, gw, KEFU__V1__GATEWAY_FRAME__BODY_COMMAND_ACK);
    assert_int_equal (r.frame->command_ack->command_id, 7);
    assert_int_equal (r.frame->command_ack->status,
                      KEFU__V1__COMMAND_ACK_STATUS__COMMAND_DELIVERED);
    s_received_free (&r);
    assert_int_equal (seen.commands, 1);

    //  A failed one is re-acked as failed, with the same reason.
    s_command (intake, 8);
    PUMP_UNTIL (gw, seen.commands == 2);
    assert_int_equal (kefu_gateway_ack_command (gw, 8, false, "买家已拉黑客服"), 0);
    r = s_expect (intake, gw, KEFU__V1__GATEWAY_FRAME__BODY_COMMAND_ACK);
    s_received_free (&r);
    s_command (intake, 8);
    r = s_expect (intake, gw, KEFU__V1__GATEWAY_FRAME__BODY_COMMAND_ACK);
    assert_int_equal (r.frame->command_ack->command_id, 8);
    assert_int_equal (r.frame->command_ack->status, KEFU__V1__COMMAND_ACK_STATUS__COMMAND_FAILED);
    assert_int_equal (r.frame->command_ack->reason.len, strlen ("买家已拉黑客服"));
    assert_memory_equal (r.frame->command_ack->reason.data, "买家已拉黑客服",
                         strlen ("买家已拉黑客服"));
    s_received_free (&r);
    assert_int_equal (seen.commands, 2);
    kefu_gateway_stats (gw, &stats);
    assert_int_equal (stats.commands, 2);
    assert_int_equal (stats.command_repeats, 3);
    kefu_gateway_destroy (&gw);
    s_intake_destroy (&intake);
}

static void
test_reject_keeps_reason_and_items (void **state)
{
    (void) state;
    s_intake_t *intake = s_intake_new (NULL);
    s_seen_t seen;
    kefu_gateway_t *gw = s_gateway_new (intake->endpoint, 100, &seen);
    s_send_item (gw, "rj-1", "能便宜点吗");
    s_received_t r = s_expect (intake, gw, KEFU__V1__GATEWAY_FRAME__BODY_HELLO);
    s_received_free (&r);
    s_reject_hello (intake, KEFU__V1__ERROR_CODE__ERROR_FORBIDDEN,
                    "principal qianniu-1 is disabled");
    PUMP_UNTIL (gw, kefu_gateway_reject_reason (gw) != NULL);
    assert_non_null (strstr (kefu_gateway_reject_reason (gw), "principal qianniu-1 is disabled"));
    assert_false (kefu_gateway_welcomed (gw));
    s_expect_nothing (intake, gw, QUIET_MS); //  no item; the Hello retry is 5 s away
    assert_int_equal (kefu_gateway_inflight (gw), 1);
    //  The retry comes (within the 5 s interval plus margin) and is welcomed.
    assert_true (s_intake_recv (intake, gw, 5000 + WAIT_MS, &r));
    assert_int_equal (r.frame->body_case, KEFU__V1__GATEWAY_FRAME__BODY_HELLO);
    s_received_free (&r);
    s_welcome (intake, 0);
    r = s_expect (intake, gw, KEFU__V1__GATEWAY_FRAME__BODY_ITEM);
    assert_true (s_id_is (r.frame, "rj-1"));
    s_received_free (&r);
    assert_null (kefu_gateway_reject_reason (gw));
    kefu_gateway_destroy (&gw);
    s_intake_destroy (&intake);
}

static char *s_make_tempdir (void);
static void s_remove_tree (const char *dir);

static void
test_reconnect_to_restarted_intake (void **state)
{
    (void) state;
    //  IPC, not TCP: a TCP port given back to the kernel's ephemeral range
    //  may be taken by another process (or by the gateway's own reconnect,
    //  a TCP self-connect) before the "restarted" intake binds it again.
    char *dir = s_make_tempdir ();
    char *endpoint = zsys_sprintf ("ipc://%s/intake.sock", dir);
    s_intake_t *intake = s_intake_new (endpoint);
    s_seen_t seen;
    kefu_gateway_t *gw = s_gateway_new (endpoint, 100, &seen);
    s_open_session (intake, gw);
    s_send_item (gw, "rc-1", "12315投诉你们");
    s_received_t r = s_expect (intake, gw, KEFU__V1__GATEWAY_FRAME__BODY_ITEM);
    s_received_free (&r);
    //  Intake dies before acking, and comes back on the same port.
    s_intake_destroy (&intake);
    PUMP_UNTIL (gw, !kefu_gateway_welcomed (gw));
    intake = s_intake_new (endpoint);
    //  The gateway reconnects, says Hello on the new connection, and after
    //  the Welcome sends the unacked item again.
    r = s_expect (intake, gw, KEFU__V1__GATEWAY_FRAME__BODY_HELLO);
    s_received_free (&r);
    s_welcome (intake, 0);
    r = s_expect (intake, gw, KEFU__V1__GATEWAY_FRAME__BODY_ITEM);
    assert_true (s_id_is (r.frame, "rc-1"));
    s_received_free (&r);
    s_ack (intake, SHOP, "rc-1", KEFU__V1__ACK_STATUS__ACK_ACCEPTED, 0, 1, 0);
    PUMP_UNTIL (gw, seen.acks == 1);
    kefu_gateway_stats_t stats;
    kefu_gateway_stats (gw, &stats);
    assert_true (stats.hellos >= 2);
    kefu_gateway_destroy (&gw);
    s_intake_destroy (&intake);
    s_remove_tree (dir);
    zstr_free (&endpoint);
    free (dir);
}

static void
test_oversized_item_rejected_locally (void **state)
{
    (void) state;
    s_intake_t *intake = s_intake_new (NULL);
    s_seen_t seen;
    kefu_gateway_t *gw = s_gateway_new (intake->endpoint, 100, &seen);
    s_received_t r = s_expect (intake, gw, KEFU__V1__GATEWAY_FRAME__BODY_HELLO);
    s_received_free (&r);
    s_welcome (intake, 200); //  intake takes frames up to 200 bytes
    PUMP_UNTIL (gw, kefu_gateway_welcomed (gw));
    char big[600];
    memset (big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    s_send_item (gw, "big-1", big);
    s_send_item (gw, "small-1", "ok");
    PUMP_UNTIL (gw, seen.acks == 1);
    assert_int_equal (seen.last_status, KEFU__V1__ACK_STATUS__ACK_REJECTED);
    assert_int_equal (seen.last_code, KEFU__V1__ERROR_CODE__ERROR_OVERSIZED_FRAME);
    assert_string_equal (seen.last_id, "big-1");
    r = s_expect (intake, gw, KEFU__V1__GATEWAY_FRAME__BODY_ITEM); //  only the small one
    assert_true (s_id_is (r.frame, "small-1"));
    s_received_free (&r);
    kefu_gateway_destroy (&gw);
    s_intake_destroy (&intake);
}

//  --------------------------------------------------------------------------
//  An intake that answers by itself, in a thread: Welcome to every Hello,
//  and for every item an ack after checking it the way intake does
//  (kf_valid): ACCEPTED, DUPLICATE for an id seen before, or REJECTED.

typedef struct {
    int items;        //  items received (copies included)
    int accepted;     //  distinct items stored
    int rejected;     //  items refused
    int out_of_order; //  items whose sent_at is before the previous one's
    int command_acks; //  CommandAcks received
    int orders;       //  order snapshots accepted
    int flags;        //  order flags accepted
} s_auto_stats_t;

static int
s_auto_check (const Kefu__V1__InboundItem *item, kf_error_t *err)
{
    if (kf_valid_id (&item->shop_id, "shop_id", KF_SHOP_ID_MAX, err) ||
        kf_valid_id (&item->gateway_msg_id, "gateway_msg_id", KF_ID_MAX, err) ||
        kf_valid_enum (&kefu__v1__channel__descriptor, (int) item->channel, "channel", false, err))
        return -1;
    if (item->sent_at_ms == 0)
        return kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_MISSING_FIELD, "sent_at is 0");
    switch (item->kind_case) {
    case KEFU__V1__INBOUND_ITEM__KIND_CUSTOMER_MESSAGE:
        return kf_valid_id (&item->customer_message->customer_id, "customer_id", KF_ID_MAX, err) ||
               kf_valid_text (&item->customer_message->customer_name, "customer_name", KF_NAME_MAX,
                              false, err) ||
               kf_valid_text (&item->customer_message->body, "body", 8192, true, err) ||
               kf_valid_text (&item->customer_message->order_id, "order_id", KF_ID_MAX, false, err);
    case KEFU__V1__INBOUND_ITEM__KIND_AGENT_REPLY:
        return kf_valid_id (&item->agent_reply->customer_id, "customer_id", KF_ID_MAX, err) ||
               kf_valid_id (&item->agent_reply->agent_id, "agent_id", KF_ID_MAX, err) ||
               kf_valid_text (&item->agent_reply->body, "body", 8192, true, err);
    case KEFU__V1__INBOUND_ITEM__KIND_AGENT_PRESENCE:
        return kf_valid_id (&item->agent_presence->agent_id, "agent_id", KF_ID_MAX, err) ||
               kf_valid_enum (&kefu__v1__agent_status__descriptor,
                              (int) item->agent_presence->status, "status", false, err) ||
               kf_valid_text (&item->agent_presence->handover_note, "handover_note", 8192, false,
                              err);
    case KEFU__V1__INBOUND_ITEM__KIND_CUSTOMER_RATING:
        if (item->customer_rating->score < 1 || item->customer_rating->score > 5)
            return kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_INVALID_VALUE,
                                 "score must be 1..5, not %u", item->customer_rating->score);
        return kf_valid_id (&item->customer_rating->customer_id, "customer_id", KF_ID_MAX, err) ||
               kf_valid_text (&item->customer_rating->comment, "comment", 8192, false, err) ||
               kf_valid_text (&item->customer_rating->agent_id, "agent_id", KF_ID_MAX, false, err);
    case KEFU__V1__INBOUND_ITEM__KIND_CONVERSATION_CLOSE:
        return kf_valid_id (&item->conversation_close->customer_id, "customer_id", KF_ID_MAX,
                            err) ||
               kf_valid_text (&item->conversation_close->agent_id, "agent_id", KF_ID_MAX, false,
                              err) ||
               kf_valid_enum (&kefu__v1__close_reason__descriptor,
                              (int) item->conversation_close->reason, "reason", true, err);
    case KEFU__V1__INBOUND_ITEM__KIND_REVIEW:
        return kf_valid_id (&item->review->order_id, "order_id", KF_ID_MAX, err) ||
               kf_valid_id (&item->review->customer_id, "customer_id", KF_ID_MAX, err) ||
               kf_valid_text (&item->review->text, "text", 2048, false, err) ||
               (item->review->reviewed_at_ms != item->sent_at_ms
                    ? kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_INVALID_VALUE,
                                    "reviewed_at_ms is not the item's time")
                    : 0);
    case KEFU__V1__INBOUND_ITEM__KIND_ORDER_UPDATE: {
        //  Times as intake wants them: the snapshot's near the item's, the
        //  order placed before it was modified.
        const Kefu__V1__OrderUpdate *u = item->order_update;
        if (kf_valid_id (&u->order_id, "order_id", KF_ID_MAX, err) ||
            kf_valid_id (&u->customer_id, "customer_id", KF_ID_MAX, err) ||
            kf_valid_enum (&kefu__v1__order_state__descriptor, (int) u->state, "state", false,
                           err) ||
            kf_valid_enum (&kefu__v1__payment_method__descriptor, (int) u->payment, "payment", true,
                           err))
            return -1;
        if (u->amount_cents < 0 || u->amount_cents > 10000000000LL ||
            llabs (u->modified_at_ms - item->sent_at_ms) > 24 * 3600 * 1000LL ||
            u->created_at_ms == 0 || u->created_at_ms > u->modified_at_ms ||
            u->paid_at_ms > u->modified_at_ms)
            return kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_INVALID_VALUE,
                                 "order %.*s: amount or times out of range", (int) u->order_id.len,
                                 (const char *) u->order_id.data);
        return 0;
    }
    case KEFU__V1__INBOUND_ITEM__KIND_ORDER_FLAG:
        return kf_valid_id (&item->order_flag->order_id, "order_id", KF_ID_MAX, err) ||
               kf_valid_enum (&kefu__v1__order_flag_colour__descriptor,
                              (int) item->order_flag->colour, "colour", false, err) ||
               kf_valid_text (&item->order_flag->note, "note", 512, false, err);
    default:
        return kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_MISSING_FIELD, "no item kind");
    }
}

static void
s_auto_intake (zsock_t *pipe, void *args)
{
    (void) args;
    zsock_t *router = zsock_new (ZMQ_ROUTER);
    zsock_set_router_mandatory (router, 1);
    zsock_set_rcvhwm (router, 100000);
    zsock_set_sndhwm (router, 100000);
    int port = zsock_bind (router, "tcp://127.0.0.1:*");
    zsock_signal (pipe, 0);
    zstr_sendf (pipe, "tcp://127.0.0.1:%d", port);
    zhash_t *stored = zhash_new (); //  "shop/id" -> stored id (text)
    zhash_autofree (stored);
    s_auto_stats_t stats = {0, 0, 0, 0, 0, 0, 0};
    int64_t last_sent_at = 0;
    zpoller_t *poller = zpoller_new (pipe, router, NULL);
    while (true) {
        zsock_t *which = (zsock_t *) zpoller_wait (poller, -1);
        if (which == pipe || !which) {
            char *cmd = zstr_recv (pipe);
            bool stop = !cmd || streq (cmd, "$TERM");
            if (cmd && streq (cmd, "STATS"))
                zsock_send (pipe, "b", &stats, sizeof stats);
            zstr_free (&cmd);
            if (stop)
                break;
            continue;
        }
        zmsg_t *msg = zmsg_recv (router);
        zframe_t *peer = zmsg_pop (msg);
        zframe_t *body = zmsg_pop (msg);
        Kefu__V1__GatewayFrame *in =
            kefu__v1__gateway_frame__unpack (NULL, zframe_size (body), zframe_data (body));
        Kefu__V1__IntakeFrame out = KEFU__V1__INTAKE_FRAME__INIT;
        Kefu__V1__Welcome welcome = KEFU__V1__WELCOME__INIT;
        Kefu__V1__Ack ack = KEFU__V1__ACK__INIT;
        kf_error_t err;
        kf_error_clear (&err);
        if (in && in->body_case == KEFU__V1__GATEWAY_FRAME__BODY_HELLO) {
            welcome.protocol_version = KEFU__V1__GATEWAY_PROTOCOL__GATEWAY_PROTOCOL_V1;
            welcome.max_frame_bytes = 65536;
            out.body_case = KEFU__V1__INTAKE_FRAME__BODY_WELCOME;
            out.welcome = &welcome;
        } else if (in && in->body_case == KEFU__V1__GATEWAY_FRAME__BODY_ITEM) {
            const Kefu__V1__InboundItem *item = in->item;
            stats.items++;
            if (item->sent_at_ms < last_sent_at)
                stats.out_of_order++;
            last_sent_at = item->sent_at_ms;
            ack.shop_id = item->shop_id;
            ack.gateway_msg_id = item->gateway_msg_id;
            char key[300];
            snprintf (key, sizeof key, "%.*s/%.*s", (int) item->shop_id.len,
                      (const char *) item->shop_id.data, (int) item->gateway_msg_id.len,
                      (const char *) item->gateway_msg_id.data);
            const char *seen_id = (const char *) zhash_lookup (stored, key);
            if (s_auto_check (item, &err)) {
                stats.rejected++;
                ack.status = KEFU__V1__ACK_STATUS__ACK_REJECTED;
                ack.code = err.code;
                ack.reason = err.reason;
            } else if (seen_id) {
                ack.status = KEFU__V1__ACK_STATUS__ACK_DUPLICATE;
                ack.stored_id = atoll (seen_id);
            } else {
                stats.accepted++;
                stats.orders += item->kind_case == KEFU__V1__INBOUND_ITEM__KIND_ORDER_UPDATE;
                stats.flags += item->kind_case == KEFU__V1__INBOUND_ITEM__KIND_ORDER_FLAG;
                ack.status = KEFU__V1__ACK_STATUS__ACK_ACCEPTED;
                ack.stored_id = 1000 + stats.accepted;
                char stored_text[32];
                snprintf (stored_text, sizeof stored_text, "%" PRId64, ack.stored_id);
                zhash_update (stored, key, stored_text); //  autofree: copied
            }
            out.body_case = KEFU__V1__INTAKE_FRAME__BODY_ACK;
            out.ack = &ack;
        } else if (in && in->body_case == KEFU__V1__GATEWAY_FRAME__BODY_COMMAND_ACK)
            stats.command_acks++;
        if (out.body_case != KEFU__V1__INTAKE_FRAME__BODY__NOT_SET) {
            size_t size = kefu__v1__intake_frame__get_packed_size (&out);
            zframe_t *reply = zframe_new (NULL, size);
            kefu__v1__intake_frame__pack (&out, zframe_data (reply));
            zframe_send (&peer, router, ZFRAME_MORE | ZFRAME_REUSE);
            zframe_send (&reply, router, 0);
        }
        if (in)
            kefu__v1__gateway_frame__free_unpacked (in, NULL);
        zframe_destroy (&peer);
        zframe_destroy (&body);
        zmsg_destroy (&msg);
    }
    zpoller_destroy (&poller);
    zhash_destroy (&stored);
    zsock_destroy (&router);
}

static zactor_t *
s_auto_intake_new (char **endpoint_p)
{
    zactor_t *actor = zactor_new (s_auto_intake, NULL);
    assert_non_null (actor);
    *endpoint_p = zstr_recv (actor);
    assert_non_null (*endpoint_p);
    return actor;
}

static s_auto_stats_t
s_auto_stats (zactor_t *actor)
{
    s_auto_stats_t stats;
    zstr_send (actor, "STATS");
    zframe_t *frame = NULL;
    assert_int_equal (zsock_recv (actor, "f", &frame), 0);
    assert_int_equal (zframe_size (frame), sizeof stats);
    memcpy (&stats, zframe_data (frame), sizeof stats);
    zframe_destroy (&frame);
    return stats;
}

static void
test_flush_waits_for_every_ack (void **state)
{
    (void) state;
    char *endpoint;
    zactor_t *auto_intake = s_auto_intake_new (&endpoint);
    s_seen_t seen;
    kefu_gateway_t *gw = s_gateway_new (endpoint, 50, &seen);
    //  2,000 items through a window of 50, as the header's example does it.
    for (int i = 0; i < 2000; i++) {
        char id[32];
        snprintf (id, sizeof id, "fl-%05d", i);
        s_item_t s;
        s_item_init (&s, id, "快递到哪了");
        int64_t end = zclock_mono () + WAIT_MS;
        while (kefu_gateway_send (gw, &s.item) == -1) {
            assert_int_equal (errno, EAGAIN);
            assert_true (zclock_mono () < end);
            kefu_gateway_poll (gw, 100);
        }
    }
    assert_int_equal (kefu_gateway_flush (gw, 30000), 0);
    assert_int_equal (seen.acks, 2000);
    assert_int_equal (seen.accepted, 2000);
    s_auto_stats_t stats = s_auto_stats (auto_intake);
    assert_int_equal (stats.accepted, 2000);
    assert_int_equal (stats.rejected, 0);
    kefu_gateway_destroy (&gw);

    //  Nobody acks (a ROUTER that only welcomes): flush gives up and says how many.
    s_intake_t *intake = s_intake_new (NULL);
    gw = s_gateway_new (intake->endpoint, 50, &seen);
    s_open_session (intake, gw);
    s_send_item (gw, "fl-lonely", "在吗");
    assert_int_equal (kefu_gateway_flush (gw, 300), 1);
    kefu_gateway_destroy (&gw);
    s_intake_destroy (&intake);

    zactor_destroy (&auto_intake);
    zstr_free (&endpoint);
}

static void
test_bad_options (void **state)
{
    (void) state;
    kefu_gateway_options_t opts = kefu_gateway_options_default ();
    assert_null (kefu_gateway_new (NULL));
    assert_null (kefu_gateway_new (&opts)); //  no endpoint, no gateway_id
    opts.endpoint = "tcp://127.0.0.1:1";
    assert_null (kefu_gateway_new (&opts)); //  no gateway_id
    opts.gateway_id = "qianniu-1";
    opts.server_public_key = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
    assert_null (kefu_gateway_new (&opts)); //  server key without a key file
    opts.secret_key_file = "/nonexistent/qianniu-1.key_secret";
    assert_null (kefu_gateway_new (&opts)); //  unreadable key file
    opts.server_public_key = "too short";
    assert_null (kefu_gateway_new (&opts)); //  not Z85
    opts.server_public_key = NULL;
    opts.secret_key_file = NULL;
    opts.endpoint = "no-such-transport://x";
    assert_null (kefu_gateway_new (&opts));
    opts.endpoint = "tcp://127.0.0.1:1";
    kefu_gateway_t *gw = kefu_gateway_new (&opts); //  plain: fine, nobody there yet
    assert_non_null (gw);
    assert_false (kefu_gateway_welcomed (gw));
    assert_int_equal (kefu_gateway_poll (gw, 0), 0);
    kefu_gateway_destroy (&gw);
    assert_string_equal (kefu_gateway_status_name (KEFU__V1__ACK_STATUS__ACK_ACCEPTED), "accepted");
    assert_string_equal (kefu_gateway_status_name (KEFU__V1__ACK_STATUS__ACK_RETRY_LATER),
                         "retry_later");
    assert_int_equal (kefu_gateway_text (NULL).len, 0);
    assert_true (kefu_gateway_now_ms () > 1700000000000LL);
}

static char *
s_make_tempdir (void)
{
    char *dir = strdup ("/tmp/kefu-gw-test-XXXXXX");
    assert_non_null (mkdtemp (dir));
    return dir;
}

static void
s_remove_tree (const char *dir)
{
    char *cmd = zsys_sprintf ("rm -rf '%s'", dir);
    assert_int_equal (system (cmd), 0);
    zstr_free (&cmd);
}

static void
test_curve (void **state)
{
    (void) state;
    char *dir = s_make_tempdir ();
    char *certs = zsys_sprintf ("%s/certs", dir);
    assert_int_equal (zsys_dir_create ("%s", certs), 0);
    //  Intake's key pair, the registered gateway's, and a stranger's.
    zcert_t *server = zcert_new ();
    zcert_t *client = zcert_new ();
    zcert_t *stranger = zcert_new ();
    char *client_public = zsys_sprintf ("%s/qianniu-1.key", certs);
    assert_int_equal (zcert_save_public (client, client_public), 0);
    char *client_secret = zsys_sprintf ("%s/qianniu-1.key_secret", dir);
    assert_int_equal (zcert_save_secret (client, client_secret), 0);
    char *stranger_secret = zsys_sprintf ("%s/stranger.key_secret", dir);
    assert_int_equal (zcert_save_secret (stranger, stranger_secret), 0);

    //  Intake: zauth with the cert directory, started before the bind.
    zactor_t *auth = zactor_new (zauth, NULL);
    assert_non_null (auth);
    assert_int_equal (zstr_sendx (auth, "CURVE", certs, NULL), 0);
    assert_int_equal (zsock_wait (auth), 0);
    s_intake_t *intake = (s_intake_t *) calloc (1, sizeof *intake);
    intake->router = zsock_new (ZMQ_ROUTER);
    zsock_set_router_mandatory (intake->router, 1);
    zsock_set_linger (intake->router, 0);
    zcert_apply (server, intake->router);
    zsock_set_curve_server (intake->router, 1);
    zsock_set_zap_domain (intake->router, "kefu");
    int port = zsock_bind (intake->router, "tcp://127.0.0.1:*");
    assert_true (port > 0);
    intake->endpoint = zsys_sprintf ("tcp://127.0.0.1:%d", port);

    //  The registered gateway gets through and works.
    s_seen_t seen;
    kefu_gateway_options_t opts = kefu_gateway_options_default ();
    opts.endpoint = intake->endpoint;
    opts.gateway_id = "qianniu-1";
    opts.server_public_key = zcert_public_txt (server);
    opts.secret_key_file = client_secret;
    opts.ack_timeout_ms = ACK_TIMEOUT;
    kefu_gateway_t *gw = kefu_gateway_new (&opts);
    assert_non_null (gw);
    memset (&seen, 0, sizeof seen);
    kefu_gateway_on_ack (gw, s_on_ack, &seen);
    s_received_t r = s_expect (intake, gw, KEFU__V1__GATEWAY_FRAME__BODY_HELLO);
    s_received_free (&r);
    s_welcome (intake, 0);
    s_send_item (gw, "cv-1", "亲，这件衣服有M码吗？");
    r = s_expect (intake, gw, KEFU__V1__GATEWAY_FRAME__BODY_ITEM);
    assert_true (s_id_is (r.frame, "cv-1"));
    s_received_free (&r);
    s_ack (intake, SHOP, "cv-1", KEFU__V1__ACK_STATUS__ACK_ACCEPTED, 0, 1, 0);
    PUMP_UNTIL (gw, seen.acks == 1);
    kefu_gateway_destroy (&gw);

    //  A key intake does not know: nothing gets through, and the gateway
    //  says why it is stuck.
    opts.secret_key_file = stranger_secret;
    gw = kefu_gateway_new (&opts);
    assert_non_null (gw);
    kefu_gateway_on_ack (gw, s_on_ack, &seen);
    s_send_item (gw, "cv-2", "在吗");
    s_expect_nothing (intake, gw, 1000);
    PUMP_UNTIL (gw, kefu_gateway_reject_reason (gw) != NULL);
    assert_false (kefu_gateway_welcomed (gw));
    assert_int_equal (kefu_gateway_inflight (gw), 1);
    kefu_gateway_destroy (&gw);

    //  The right key pair but the wrong idea of intake's key: nothing either.
    opts.secret_key_file = client_secret;
    opts.server_public_key = zcert_public_txt (stranger);
    gw = kefu_gateway_new (&opts);
    assert_non_null (gw);
    s_expect_nothing (intake, gw, 1000);
    kefu_gateway_destroy (&gw);

    s_intake_destroy (&intake);
    zactor_destroy (&auth);
    zcert_destroy (&server);
    zcert_destroy (&client);
    zcert_destroy (&stranger);
    s_remove_tree (dir);
    zstr_free (&client_public);
    zstr_free (&client_secret);
    zstr_free (&stranger_secret);
    zstr_free (&certs);
    free (dir);
}

//  --------------------------------------------------------------------------
//  kefu-push, the command-line gateway, end to end against the auto intake

static char *
s_push_path (void)
{
    const char *bin = getenv ("KEFU_TEST_BIN_DIR");
    if (!bin)
        fail_msg ("KEFU_TEST_BIN_DIR is not set: run this test through ctest");
    char *path = zsys_sprintf ("%s/clients/push/kefu-push", bin);
    if (access (path, X_OK) != 0)
        fail_msg ("%s is missing: build the kefu-push target first", path);
    return path;
}

//  Run kefu-push with `env` on `input`; stdout into *out_p (caller frees).
//  Returns its exit status.
static int
s_run_push (const char *env, const char *input_path, const char *flags, char **out_p)
{
    char *push = s_push_path ();
    char *dir = s_make_tempdir ();
    char *out_path = zsys_sprintf ("%s/out", dir);
    char *cmd = zsys_sprintf ("%s '%s' %s < '%s' > '%s' 2>> '%s/err'", env, push, flags, input_path,
                              out_path, dir);
    int status = system (cmd);
    assert_true (WIFEXITED (status));
    zchunk_t *chunk = zchunk_slurp (out_path, 0);
    *out_p = chunk ? zchunk_strdup (chunk) : strdup ("");
    zchunk_destroy (&chunk);
    //  Show kefu-push's stderr (its summary) in the test log.
    char *err_path = zsys_sprintf ("%s/err", dir);
    chunk = zchunk_slurp (err_path, 0);
    if (chunk) {
        char *text = zchunk_strdup (chunk);
        fprintf (stderr, "%s", text);
        free (text);
        zchunk_destroy (&chunk);
    }
    s_remove_tree (dir);
    zstr_free (&err_path);
    zstr_free (&cmd);
    zstr_free (&out_path);
    zstr_free (&push);
    free (dir);
    return WEXITSTATUS (status);
}

static int
s_count (const char *haystack, const char *needle)
{
    int n = 0;
    for (const char *p = strstr (haystack, needle); p; p = strstr (p + 1, needle))
        n++;
    return n;
}

static void
test_kefu_push_replays_the_sample_day (void **state)
{
    (void) state;
    const char *source = getenv ("KEFU_SOURCE_DIR");
    if (!source)
        fail_msg ("KEFU_SOURCE_DIR is not set: run this test through ctest");
    char *sample = zsys_sprintf ("%s/deploy/samples/shop-day.jsonl", source);
    zchunk_t *chunk = zchunk_slurp (sample, 0);
    assert_non_null (chunk);
    char *text = zchunk_strdup (chunk);
    zchunk_destroy (&chunk);
    int lines = s_count (text, "\n");
    free (text);
    assert_true (lines > 150);

    char *endpoint;
    zactor_t *auto_intake = s_auto_intake_new (&endpoint);
    char *env =
        zsys_sprintf ("KEFU_PUSH_ENDPOINT=%s KEFU_PUSH_WINDOW=64 KEFU_PUSH_TIMEOUT=20s", endpoint);
    char *out;
    int rc = s_run_push (env, sample, "--rebase", &out);
    //  Every line is a valid item: all accepted, in chronological order.
    s_auto_stats_t stats = s_auto_stats (auto_intake);
    if (rc != 0 || stats.rejected)
        fprintf (stderr, "%s", out);
    assert_int_equal (rc, 0);
    assert_int_equal (stats.rejected, 0);
    assert_int_equal (stats.accepted, lines);
    assert_int_equal (stats.out_of_order, 0);
    assert_int_equal (s_count (out, "\"status\":\"accepted\""), lines);
    free (out);

    //  Replayed again: the same ids are duplicates, still exit 0.
    rc = s_run_push (env, sample, "", &out);
    assert_int_equal (rc, 0);
    assert_int_equal (s_count (out, "\"status\":\"duplicate\""), lines);
    free (out);

    zactor_destroy (&auto_intake);
    zstr_free (&env);
    zstr_free (&endpoint);
    zstr_free (&sample);
}

//  dir/in.jsonl holding text. Caller owns return value.
static char *
s_input_file (const char *dir, const char *text)
{
    char *input = zsys_sprintf ("%s/in.jsonl", dir);
    FILE *f = fopen (input, "w");
    assert_non_null (f);
    fputs (text, f);
    fclose (f);
    return input;
}

static void
test_kefu_push_reports_every_line (void **state)
{
    (void) state;
    char *dir = s_make_tempdir ();
    char *input = s_input_file (
        dir,
        "{\"type\":\"customer_message\",\"shop_id\":\"demo-shop\",\"id\":\"t-1\","
        "\"channel\":\"wechat\",\"sent_at\":\"2026-11-23T09:00:05+08:00\","
        "\"customer_id\":\"wx_abc\",\"body\":\"在吗？\",\"vip\":true}\n"
        "\n"
        "{\"type\":\"rating\",\"shop_id\":\"demo-shop\",\"id\":\"t-2\",\"channel\":\"wechat\","
        "\"customer_id\":\"wx_abc\",\"score\":9}\n"
        "{\"type\":\"rating\",\"shop_id\":\"demo-shop\",\"id\":\"t-3\"\n"
        "{\"type\":\"teleport\",\"shop_id\":\"demo-shop\",\"id\":\"t-4\"}\n"
        "{\"type\":\"agent_presence\",\"shop_id\":\"demo-shop\",\"id\":\"t-5\","
        "\"channel\":\"web_chat\",\"sent_at\":1795395600000,\"agent_id\":\"ajie\","
        "\"status\":\"online\"}\n"
        "{\"type\":\"customer_message\",\"shop_id\":\"demo-shop\",\"id\":\"t-1\","
        "\"channel\":\"wechat\",\"customer_id\":\"wx_abc\",\"body\":\"在吗？\"}"); //  no newline
    char *endpoint;
    zactor_t *auto_intake = s_auto_intake_new (&endpoint);
    char *env = zsys_sprintf ("KEFU_PUSH_ENDPOINT=%s", endpoint);
    char *out;
    int rc = s_run_push (env, input, "", &out);
    assert_int_equal (rc, 1); //  something was rejected
    assert_non_null (strstr (out, "{\"line\":1,\"id\":\"t-1\",\"shop_id\":\"demo-shop\","
                                  "\"status\":\"accepted\",\"stored_id\":"));
    assert_non_null (strstr (out, "{\"line\":3,\"id\":\"t-2\",\"shop_id\":\"demo-shop\","
                                  "\"status\":\"rejected\",\"code\":\"invalid_value\""));
    assert_non_null (strstr (out, "{\"line\":4,\"status\":\"rejected\",\"code\":\"malformed\""));
    assert_non_null (strstr (out, "{\"line\":5,\"id\":\"t-4\",\"shop_id\":\"demo-shop\","
                                  "\"status\":\"rejected\",\"code\":\"invalid_value\""));
    assert_non_null (strstr (out, "{\"line\":6,\"id\":\"t-5\",\"shop_id\":\"demo-shop\","
                                  "\"status\":\"accepted\""));
    assert_non_null (strstr (out, "{\"line\":7,\"id\":\"t-1\",\"shop_id\":\"demo-shop\","
                                  "\"status\":\"duplicate\""));
    assert_int_equal (s_count (out, "\n"), 6); //  one line per item, blank line skipped
    free (out);
    zactor_destroy (&auto_intake);

    //  Nobody listening: the items stay unacked, exit 3.
    zstr_free (&env);
    s_intake_t *silent = s_intake_new (NULL); //  takes connections, never answers
    env = zsys_sprintf ("KEFU_PUSH_ENDPOINT=%s KEFU_PUSH_TIMEOUT=300ms", silent->endpoint);
    rc = s_run_push (env, input, "", &out);
    assert_int_equal (rc, 3);
    assert_int_equal (s_count (out, "\"status\":\"unacked\""), 4); //  what reached the library
    free (out);
    s_intake_destroy (&silent);

    //  Usage errors: exit 2.
    rc = s_run_push ("KEFU_PUSH_WINDOW=0", input, "", &out);
    assert_int_equal (rc, 2);
    free (out);
    rc = s_run_push ("", input, "--speed fast", &out);
    assert_int_equal (rc, 2);
    free (out);

    s_remove_tree (dir);
    zstr_free (&env);
    zstr_free (&endpoint);
    zstr_free (&input);
    free (dir);
}

//  Order snapshots and flags: the order desk's field names (times as
//  sent_at, or the proto's *_ms names), moved with --rebase like sent_at;
//  a word or a field kefu-push does not know is refused on its line.
static void
test_kefu_push_sends_orders_and_flags (void **state)
{
    (void) state;
    char *dir = s_make_tempdir ();
    char *input = s_input_file (
        dir,
        "{\"type\":\"order_update\",\"shop_id\":\"demo-shop\",\"id\":\"o-1\","
        "\"channel\":\"platform_chat\",\"sent_at\":\"2026-11-23T10:00:00+08:00\","
        "\"order_id\":\"TB1001\",\"customer_id\":\"tb_lily88\",\"state\":\"paid\","
        "\"payment\":\"online\",\"amount_cents\":12900,\"currency\":\"CNY\","
        "\"created_at\":\"2026-11-23T09:55:00+08:00\",\"paid_at\":\"2026-11-23T09:58:00+08:00\","
        "\"items\":\"连衣裙 M x1\",\"receiver_address\":\"杭州市西湖区文三路 100 号\","
        "\"receiver_phone\":\"13800138000\"}\n"
        "{\"type\":\"order_update\",\"shop_id\":\"demo-shop\",\"id\":\"o-2\","
        "\"channel\":\"platform_chat\",\"sent_at\":\"2026-11-23T10:05:00+08:00\","
        "\"order_id\":\"TB1002\",\"customer_id\":\"tb_amy\",\"state\":\"created\","
        "\"payment\":\"cash_on_delivery\",\"amount_cents\":5900,"
        "\"created_at_ms\":1795399200000,\"modified_at\":\"2026-11-23T10:05:00+08:00\"}\n"
        "{\"type\":\"order_flag\",\"shop_id\":\"demo-shop\",\"id\":\"f-1\","
        "\"channel\":\"platform_chat\",\"sent_at\":\"2026-11-23T10:10:00+08:00\","
        "\"order_id\":\"TB1001\",\"colour\":\"red\",\"meaning\":\"address_confirmed\","
        "\"note\":\"发邮政快递\",\"agent_id\":\"xiaomei\"}\n"
        "{\"type\":\"order_update\",\"shop_id\":\"demo-shop\",\"id\":\"o-3\","
        "\"order_id\":\"TB1003\",\"state\":\"lost\"}\n"
        "{\"type\":\"order_update\",\"shop_id\":\"demo-shop\",\"id\":\"o-4\","
        "\"order_id\":\"TB1004\",\"created_at\":1,\"created_at_ms\":1}\n"
        "{\"type\":\"order_flag\",\"shop_id\":\"demo-shop\",\"id\":\"f-2\","
        "\"order_id\":\"TB1001\",\"colour\":\"red\",\"body\":\"?\"}\n");
    char *endpoint;
    zactor_t *auto_intake = s_auto_intake_new (&endpoint);
    char *env = zsys_sprintf ("KEFU_PUSH_ENDPOINT=%s", endpoint);
    char *out;
    //  The sample dates are weeks old: only --rebase makes the times the
    //  auto intake's (the snapshot's within a day of the item's).
    int rc = s_run_push (env, input, "--rebase", &out);
    assert_int_equal (rc, 1); //  three lines refused
    s_auto_stats_t stats = s_auto_stats (auto_intake);
    assert_int_equal (stats.rejected, 0);
    assert_int_equal (stats.orders, 2);
    assert_int_equal (stats.flags, 1);
    assert_int_equal (s_count (out, "\"status\":\"accepted\""), 3);
    assert_non_null (strstr (out, "{\"line\":4,\"id\":\"o-3\",\"shop_id\":\"demo-shop\","
                                  "\"status\":\"rejected\",\"code\":\"invalid_value\""));
    assert_non_null (strstr (out, "\"reason\":\"state must be one of created|paid|"));
    assert_non_null (strstr (out, "{\"line\":5,\"id\":\"o-4\""));
    assert_non_null (strstr (out, "same field"));
    assert_non_null (strstr (out, "unknown field \\\"body\\\" for type order_flag"));
    free (out);
    zactor_destroy (&auto_intake);
    s_remove_tree (dir);
    zstr_free (&env);
    zstr_free (&endpoint);
    zstr_free (&input);
    free (dir);
}

//  kefu-push --commands: says Hello with KEFU_PUSH_SERVES, prints each
//  command as a JSON line, acks it delivered, and stops cleanly on SIGINT.
static void
test_kefu_push_commands (void **state)
{
    (void) state;
    char *push = s_push_path ();
    s_intake_t *intake = s_intake_new (NULL);
    //  Everything the child needs is made before fork (threads are running).
    extern char **environ;
    size_t n_env = 0;
    while (environ[n_env])
        n_env++;
    char **envp = (char **) calloc (n_env + 3, sizeof (char *));
    memcpy (envp, environ, n_env * sizeof (char *));
    char *endpoint_var = zsys_sprintf ("KEFU_PUSH_ENDPOINT=%s", intake->endpoint);
    envp[n_env] = endpoint_var;
    envp[n_env + 1] = (char *) "KEFU_PUSH_SERVES=" SHOP ":platform_chat,jd-hzfs:wechat";
    char *argv[] = {push, (char *) "--commands", NULL};
    int devnull = open ("/dev/null", O_RDONLY);
    assert_true (devnull >= 0);
    int out[2];
    assert_int_equal (pipe (out), 0);
    pid_t pid = fork ();
    assert_true (pid >= 0);
    if (pid == 0) {
        dup2 (out[1], STDOUT_FILENO);
        dup2 (devnull, STDIN_FILENO);
        close (out[0]);
        close (out[1]);
        execve (push, argv, envp);
        _exit (127);
    }
    close (devnull);
    free (envp);
    zstr_free (&endpoint_var);
    close (out[1]);
    s_received_t r = s_expect (intake, NULL, KEFU__V1__GATEWAY_FRAME__BODY_HELLO);
    assert_int_equal (r.frame->hello->n_serves, 2);
    assert_int_equal (r.frame->hello->serves[1]->channel, KEFU__V1__CHANNEL__CHANNEL_WECHAT);
    s_received_free (&r);
    s_welcome (intake, 0);
    s_command (intake, 4242);
    r = s_expect (intake, NULL, KEFU__V1__GATEWAY_FRAME__BODY_COMMAND_ACK);
    assert_int_equal (r.frame->command_ack->command_id, 4242);
    assert_int_equal (r.frame->command_ack->status,
                      KEFU__V1__COMMAND_ACK_STATUS__COMMAND_DELIVERED);
    s_received_free (&r);
    //  The command as a JSON line on its stdout.
    char line[2048] = "";
    size_t len = 0;
    int64_t end = zclock_mono () + WAIT_MS;
    while (!strchr (line, '\n') && zclock_mono () < end && len < sizeof line - 1) {
        struct pollfd pfd = {out[0], POLLIN, 0};
        if (poll (&pfd, 1, 100) == 1) {
            ssize_t got = read (out[0], line + len, sizeof line - 1 - len);
            if (got <= 0)
                break;
            len += (size_t) got;
            line[len] = '\0';
        }
    }
    assert_non_null (strstr (line, "{\"command\":\"auto_reply\",\"command_id\":4242,"
                                   "\"shop_id\":\"" SHOP "\",\"channel\":\"platform_chat\""));
    assert_non_null (strstr (line, "\"kind\":\"busy\""));
    assert_non_null (strstr (line, "亲，客服正忙，请稍候～"));
    //  Ctrl-C: it stops, with nothing pushed and nothing unacked: exit 0.
    kill (pid, SIGINT);
    int status;
    assert_int_equal (waitpid (pid, &status, 0), pid);
    assert_true (WIFEXITED (status));
    assert_int_equal (WEXITSTATUS (status), 0);
    close (out[0]);
    s_intake_destroy (&intake);
    zstr_free (&push);
}

int
main (void)
{
    zsys_init ();
    zsys_set_logstream (stderr);
    if (getenv ("KEFU_TEST_FILTER")) //  e.g. KEFU_TEST_FILTER=test_curve
        cmocka_set_test_filter (getenv ("KEFU_TEST_FILTER"));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_hello_first_then_items_after_welcome),
        cmocka_unit_test (test_unacked_item_is_resent_with_same_bytes),
        cmocka_unit_test (test_retry_later_is_resent_later),
        cmocka_unit_test (test_not_authenticated_means_hello_again),
        cmocka_unit_test (test_revoked_key_rejections_are_final),
        cmocka_unit_test (test_rejected_once_never_resent),
        cmocka_unit_test (test_final_acks_reported_once),
        cmocka_unit_test (test_same_id_twice_gets_two_answers),
        cmocka_unit_test (test_window_full_send_fails),
        cmocka_unit_test (test_commands_once_and_reacked),
        cmocka_unit_test (test_reject_keeps_reason_and_items),
        cmocka_unit_test (test_reconnect_to_restarted_intake),
        cmocka_unit_test (test_oversized_item_rejected_locally),
        cmocka_unit_test (test_flush_waits_for_every_ack),
        cmocka_unit_test (test_bad_options),
        cmocka_unit_test (test_curve),
        cmocka_unit_test (test_kefu_push_replays_the_sample_day),
        cmocka_unit_test (test_kefu_push_reports_every_line),
        cmocka_unit_test (test_kefu_push_commands),
        cmocka_unit_test (test_kefu_push_sends_orders_and_flags),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
