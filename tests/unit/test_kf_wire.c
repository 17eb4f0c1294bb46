/*  test_kf_wire — protobuf <-> ZeroMQ frames, and tuned sockets.

    Usage, as intake does it: build the reply on the stack with borrowed
    pointers, kf_wire_send it; unpack what arrives with a size limit, and
    free it once with protobuf_c_message_free_unpacked (or receive into
    reused frames with kf_wire_recv_parts). Every truncation and
    thousands of bit flips of a real frame are fed to kf_wire_unpack: it must
    either unpack or say ERROR_MALFORMED, never crash (ASan watches). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "kefu/v1/gateway.pb-c.h"
#include "kf_wire.h"

#define SHOP     "tmall-hzfs"
#define MSG_ID   "qn-20261123-000042"
#define CUST_ID  "买家小王"
#define CUST_NM  "小王🐱"
#define BODY     "亲，在吗？这件衣服有M码吗 😀"
#define ORDER_ID "3745623894561234567"
#define SENT_AT  1795422600000LL

#define BIN(lit) ((ProtobufCBinaryData){sizeof (lit) - 1, (uint8_t *) (lit)})

//  The frame a gateway sends for one customer message; everything on the
//  stack, pointing at literals (built, so never free_unpacked).
typedef struct {
    Kefu__V1__GatewayFrame frame;
    Kefu__V1__InboundItem item;
    Kefu__V1__CustomerMessage msg;
} s_sample_t;

static void
s_sample_init (s_sample_t *s)
{
    Kefu__V1__GatewayFrame frame = KEFU__V1__GATEWAY_FRAME__INIT;
    Kefu__V1__InboundItem item = KEFU__V1__INBOUND_ITEM__INIT;
    Kefu__V1__CustomerMessage msg = KEFU__V1__CUSTOMER_MESSAGE__INIT;
    s->frame = frame;
    s->item = item;
    s->msg = msg;
    s->msg.customer_id = BIN (CUST_ID);
    s->msg.customer_name = BIN (CUST_NM);
    s->msg.body = BIN (BODY);
    s->msg.vip = 1;
    s->msg.order_id = BIN (ORDER_ID);
    s->item.shop_id = BIN (SHOP);
    s->item.gateway_msg_id = BIN (MSG_ID);
    s->item.sent_at_ms = SENT_AT;
    s->item.channel = KEFU__V1__CHANNEL__CHANNEL_PLATFORM_CHAT;
    s->item.kind_case = KEFU__V1__INBOUND_ITEM__KIND_CUSTOMER_MESSAGE;
    s->item.customer_message = &s->msg;
    s->frame.body_case = KEFU__V1__GATEWAY_FRAME__BODY_ITEM;
    s->frame.item = &s->item;
}

#define ASSERT_BIN(field, lit)                                                                     \
    do {                                                                                           \
        assert_int_equal ((field).len, sizeof (lit) - 1);                                          \
        assert_memory_equal ((field).data, (lit), sizeof (lit) - 1);                               \
    } while (0)

static void
s_assert_sample (const ProtobufCMessage *m)
{
    assert_non_null (m);
    assert_ptr_equal (m->descriptor, &kefu__v1__gateway_frame__descriptor);
    const Kefu__V1__GatewayFrame *frame = (const Kefu__V1__GatewayFrame *) m;
    assert_int_equal (frame->body_case, KEFU__V1__GATEWAY_FRAME__BODY_ITEM);
    const Kefu__V1__InboundItem *item = frame->item;
    assert_non_null (item);
    ASSERT_BIN (item->shop_id, SHOP);
    ASSERT_BIN (item->gateway_msg_id, MSG_ID);
    assert_int_equal (item->sent_at_ms, SENT_AT);
    assert_int_equal (item->channel, KEFU__V1__CHANNEL__CHANNEL_PLATFORM_CHAT);
    assert_int_equal (item->kind_case, KEFU__V1__INBOUND_ITEM__KIND_CUSTOMER_MESSAGE);
    const Kefu__V1__CustomerMessage *msg = item->customer_message;
    ASSERT_BIN (msg->customer_id, CUST_ID);
    ASSERT_BIN (msg->customer_name, CUST_NM);
    ASSERT_BIN (msg->body, BODY);
    ASSERT_BIN (msg->order_id, ORDER_ID);
    assert_true (msg->vip);
}

static void
test_pack_unpack (void **state)
{
    (void) state;
    s_sample_t s;
    s_sample_init (&s);
    zframe_t *frame = kf_wire_pack (&s.frame.base);
    assert_non_null (frame);
    size_t size = zframe_size (frame);
    assert_int_equal (size, kefu__v1__gateway_frame__get_packed_size (&s.frame));
    //  The CJK bytes travel unchanged.
    assert_non_null (memmem (zframe_data (frame), size, BODY, sizeof BODY - 1));

    kf_error_t err;
    kf_error_clear (&err);
    ProtobufCMessage *m = kf_wire_unpack (&kefu__v1__gateway_frame__descriptor, zframe_data (frame),
                                          size, size, &err);
    s_assert_sample (m);
    assert_int_equal (err.code, KEFU__V1__ERROR_CODE__ERROR_NONE);
    protobuf_c_message_free_unpacked (m, NULL);

    //  A message with no fields set packs to an empty frame and back.
    Kefu__V1__GatewayFrame empty = KEFU__V1__GATEWAY_FRAME__INIT;
    zframe_t *ef = kf_wire_pack (&empty.base);
    assert_non_null (ef);
    assert_int_equal (zframe_size (ef), 0);
    m = kf_wire_unpack (&kefu__v1__gateway_frame__descriptor, zframe_data (ef), 0,
                        KF_WIRE_MAX_FRAME_DEFAULT, &err);
    assert_non_null (m);
    assert_int_equal (((Kefu__V1__GatewayFrame *) m)->body_case,
                      KEFU__V1__GATEWAY_FRAME__BODY__NOT_SET);
    protobuf_c_message_free_unpacked (m, NULL);
    zframe_destroy (&ef);
    zframe_destroy (&frame);
}

static void
test_oversized (void **state)
{
    (void) state;
    s_sample_t s;
    s_sample_init (&s);
    zframe_t *frame = kf_wire_pack (&s.frame.base);
    size_t size = zframe_size (frame);
    kf_error_t err;

    kf_error_clear (&err);
    ProtobufCMessage *m = kf_wire_unpack (&kefu__v1__gateway_frame__descriptor, zframe_data (frame),
                                          size, size - 1, &err);
    assert_null (m);
    assert_int_equal (err.code, KEFU__V1__ERROR_CODE__ERROR_OVERSIZED_FRAME);
    assert_true (strlen (err.reason) > 0);

    //  Exactly at the limit is fine.
    kf_error_clear (&err);
    m = kf_wire_unpack (&kefu__v1__gateway_frame__descriptor, zframe_data (frame), size, size,
                        &err);
    s_assert_sample (m);
    protobuf_c_message_free_unpacked (m, NULL);

    //  A huge size is refused before anything reads the data.
    kf_error_clear (&err);
    m = kf_wire_unpack (&kefu__v1__gateway_frame__descriptor, zframe_data (frame), SIZE_MAX,
                        KF_WIRE_MAX_FRAME_DEFAULT, &err);
    assert_null (m);
    assert_int_equal (err.code, KEFU__V1__ERROR_CODE__ERROR_OVERSIZED_FRAME);
    zframe_destroy (&frame);
}

static void
test_malformed (void **state)
{
    (void) state;
    kf_error_t err;
    const struct {
        const char *bytes;
        size_t len;
    } bad[] = {
        {"\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF", 11}, //  endless varint
        {"\x12\x05\x0a", 3},                                  //  item longer than the frame
        {"\x12\xFF\xFF\xFF\xFF\x0F", 6},                      //  item of 4 GiB
        {"\x07", 1},                                          //  wire type 7
        {"\x00\x00", 2},                                      //  field number 0
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        kf_error_clear (&err);
        ProtobufCMessage *m =
            kf_wire_unpack (&kefu__v1__gateway_frame__descriptor, (const uint8_t *) bad[i].bytes,
                            bad[i].len, KF_WIRE_MAX_FRAME_DEFAULT, &err);
        if (m)
            fail_msg ("case %zu unpacked", i);
        assert_int_equal (err.code, KEFU__V1__ERROR_CODE__ERROR_MALFORMED);
        assert_non_null (strstr (err.reason, "GatewayFrame"));
    }
    //  Unknown fields are kept for forward compatibility, not refused:
    //  field 99, varint 1.
    kf_error_clear (&err);
    ProtobufCMessage *m =
        kf_wire_unpack (&kefu__v1__gateway_frame__descriptor, (const uint8_t *) "\x98\x06\x01", 3,
                        KF_WIRE_MAX_FRAME_DEFAULT, &err);
    assert_non_null (m);
    protobuf_c_message_free_unpacked (m, NULL);
}

//  Unpack `size` bytes; they must unpack or be refused as malformed.
static void
s_unpack_anything (const uint8_t *data, size_t size, size_t *unpacked, size_t *refused)
{
    kf_error_t err;
    kf_error_clear (&err);
    ProtobufCMessage *m = kf_wire_unpack (&kefu__v1__gateway_frame__descriptor, data, size,
                                          KF_WIRE_MAX_FRAME_DEFAULT, &err);
    if (m) {
        (*unpacked)++;
        assert_int_equal (err.code, KEFU__V1__ERROR_CODE__ERROR_NONE);
        protobuf_c_message_free_unpacked (m, NULL);
    } else {
        (*refused)++;
        assert_int_equal (err.code, KEFU__V1__ERROR_CODE__ERROR_MALFORMED);
    }
}

static void
test_every_truncation (void **state)
{
    (void) state;
    s_sample_t s;
    s_sample_init (&s);
    zframe_t *frame = kf_wire_pack (&s.frame.base);
    size_t size = zframe_size (frame);
    size_t unpacked = 0, refused = 0;
    for (size_t len = 0; len < size; len++) {
        //  A copy of exactly len bytes, so ASan sees any read past the end.
        uint8_t *copy = malloc (len ? len : 1);
        memcpy (copy, zframe_data (frame), len);
        s_unpack_anything (copy, len, &unpacked, &refused);
        free (copy);
    }
    //  The frame is one length-delimited field: only the empty prefix is a
    //  complete message; every other cut is in the middle of it.
    assert_int_equal (unpacked, 1);
    assert_int_equal (refused, size - 1);
    zframe_destroy (&frame);
}

//  xorshift64: the same "random" flips on every run.
static uint64_t
s_next (uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static void
test_bit_flips (void **state)
{
    (void) state;
    s_sample_t s;
    s_sample_init (&s);
    zframe_t *frame = kf_wire_pack (&s.frame.base);
    size_t size = zframe_size (frame);
    uint8_t *copy = malloc (size);
    uint64_t seed = 0x6b6566752d77697eULL;
    size_t unpacked = 0, refused = 0;
    for (int round = 0; round < 5000; round++) {
        memcpy (copy, zframe_data (frame), size);
        int flips = 1 + (int) (s_next (&seed) % 4);
        for (int f = 0; f < flips; f++) {
            uint64_t r = s_next (&seed);
            copy[r % size] ^= (uint8_t) (1u << ((r >> 32) % 8));
        }
        s_unpack_anything (copy, size, &unpacked, &refused);
    }
    //  Both outcomes happen (flips inside text bytes still parse).
    assert_int_equal (unpacked + refused, 5000);
    assert_true (unpacked > 0);
    assert_true (refused > 0);
    free (copy);
    zframe_destroy (&frame);
}

//  Wait up to timeout_ms for sock to accept a message (ZMQ_IMMEDIATE
//  sockets refuse to queue before a connection is up).
static bool
s_wait_writable (zsock_t *sock, int timeout_ms)
{
    zmq_pollitem_t item = {zsock_resolve (sock), 0, ZMQ_POLLOUT, 0};
    return zmq_poll (&item, 1, timeout_ms) == 1 && (item.revents & ZMQ_POLLOUT);
}

static void
test_send_receive (void **state)
{
    (void) state;
    zsock_t *router = kf_wire_socket (KF_SOCK_ROUTER_SERVER, 0);
    assert_non_null (router);
    assert_int_equal (zsock_type (router), ZMQ_ROUTER);
    int port = zsock_bind (router, "tcp://127.0.0.1:*");
    assert_true (port > 0);
    zsock_t *dealer = kf_wire_socket (KF_SOCK_DEALER_CLIENT, 0);
    assert_non_null (dealer);
    assert_int_equal (zsock_type (dealer), ZMQ_DEALER);
    //  The options of the roles.
    assert_int_equal (zsock_maxmsgsize (router), KF_WIRE_MAX_FRAME_DEFAULT);
    assert_int_equal (zsock_linger (router), 1000);
    assert_int_equal (zsock_rcvhwm (router), 10000);
    assert_int_equal (zsock_heartbeat_ivl (dealer), 1000);
    assert_int_equal (zsock_maxmsgsize (dealer), KF_WIRE_MAX_FRAME_DEFAULT);
    assert_int_equal (zsock_connect (dealer, "tcp://127.0.0.1:%d", port), 0);
    assert_true (s_wait_writable (dealer, 5000));

    //  Gateway -> intake: one frame, no routing id.
    s_sample_t s;
    s_sample_init (&s);
    assert_int_equal (kf_wire_send (dealer, NULL, &s.frame.base), 0);
    zpoller_t *poller = zpoller_new (router, NULL);
    assert_ptr_equal (zpoller_wait (poller, 5000), router);
    zmsg_t *msg = zmsg_recv (router);
    assert_non_null (msg);
    assert_int_equal (zmsg_size (msg), 2);
    zframe_t *routing_id = zmsg_pop (msg);
    zframe_t *body = zmsg_pop (msg);
    kf_error_t err;
    ProtobufCMessage *m = kf_wire_unpack (&kefu__v1__gateway_frame__descriptor, zframe_data (body),
                                          zframe_size (body), KF_WIRE_MAX_FRAME_DEFAULT, &err);
    s_assert_sample (m);
    protobuf_c_message_free_unpacked (m, NULL);
    zframe_destroy (&body);
    zmsg_destroy (&msg);

    //  Intake -> gateway: the routing id is borrowed (still ours after).
    Kefu__V1__Ack ack = KEFU__V1__ACK__INIT;
    ack.gateway_msg_id = BIN (MSG_ID);
    ack.status = KEFU__V1__ACK_STATUS__ACK_ACCEPTED;
    Kefu__V1__IntakeFrame reply = KEFU__V1__INTAKE_FRAME__INIT;
    reply.body_case = KEFU__V1__INTAKE_FRAME__BODY_ACK;
    reply.ack = &ack;
    assert_int_equal (kf_wire_send (router, routing_id, &reply.base), 0);
    assert_non_null (routing_id);
    assert_int_equal (kf_wire_send (router, routing_id, &reply.base), 0);
    zpoller_t *dpoller = zpoller_new (dealer, NULL);
    for (int i = 0; i < 2; i++) {
        assert_ptr_equal (zpoller_wait (dpoller, 5000), dealer);
        msg = zmsg_recv (dealer);
        assert_int_equal (zmsg_size (msg), 1);
        body = zmsg_first (msg);
        m = kf_wire_unpack (&kefu__v1__intake_frame__descriptor, zframe_data (body),
                            zframe_size (body), KF_WIRE_MAX_FRAME_DEFAULT, &err);
        assert_non_null (m);
        Kefu__V1__IntakeFrame *got = (Kefu__V1__IntakeFrame *) m;
        assert_int_equal (got->body_case, KEFU__V1__INTAKE_FRAME__BODY_ACK);
        ASSERT_BIN (got->ack->gateway_msg_id, MSG_ID);
        assert_int_equal (got->ack->status, KEFU__V1__ACK_STATUS__ACK_ACCEPTED);
        protobuf_c_message_free_unpacked (m, NULL);
        zmsg_destroy (&msg);
    }

    //  A peer that is not there: refused at once (ROUTER_MANDATORY), not dropped.
    zframe_t *nobody = zframe_new ("\x00\x12\x34\x56\x78", 5);
    assert_int_equal (kf_wire_send (router, nobody, &reply.base), -1);
    assert_int_equal (zmq_errno (), EHOSTUNREACH);
    zframe_destroy (&nobody);

    zframe_destroy (&routing_id);
    zpoller_destroy (&dpoller);
    zpoller_destroy (&poller);
    zsock_destroy (&dealer);
    zsock_destroy (&router);
}

static void
test_oversized_on_socket (void **state)
{
    (void) state;
    //  The socket's own limit (ZMQ_MAXMSGSIZE, enforced by the TCP decoder):
    //  a frame over max_frame never reaches the ROUTER, which drops that
    //  connection; the DEALER reconnects and small frames get through.
    zsock_t *router = kf_wire_socket (KF_SOCK_ROUTER_SERVER, 1024);
    assert_int_equal (zsock_maxmsgsize (router), 1024);
    int port = zsock_bind (router, "tcp://127.0.0.1:*");
    assert_true (port > 0);
    zsock_t *dealer = kf_wire_socket (KF_SOCK_DEALER_CLIENT, 0);
    assert_int_equal (zsock_connect (dealer, "tcp://127.0.0.1:%d", port), 0);
    assert_true (s_wait_writable (dealer, 5000));

    s_sample_t big;
    s_sample_init (&big);
    uint8_t body[2000];
    memset (body, 'x', sizeof body);
    big.msg.body.data = body;
    big.msg.body.len = sizeof body;
    assert_int_equal (kf_wire_send (dealer, NULL, &big.frame.base), 0);

    //  Then small frames until one arrives; every arrival must be small.
    s_sample_t small;
    s_sample_init (&small);
    zpoller_t *poller = zpoller_new (router, NULL);
    int small_seen = 0;
    for (int attempt = 0; attempt < 200 && !small_seen; attempt++) {
        if (!s_wait_writable (dealer, 50) || kf_wire_send (dealer, NULL, &small.frame.base))
            continue;
        while (zpoller_wait (poller, 50) == router) {
            zmsg_t *msg = zmsg_recv (router);
            assert_int_equal (zmsg_size (msg), 2);
            zframe_t *frame = zmsg_last (msg);
            assert_true (zframe_size (frame) <= 1024);
            kf_error_t err;
            ProtobufCMessage *m =
                kf_wire_unpack (&kefu__v1__gateway_frame__descriptor, zframe_data (frame),
                                zframe_size (frame), 1024, &err);
            s_assert_sample (m);
            protobuf_c_message_free_unpacked (m, NULL);
            zmsg_destroy (&msg);
            small_seen++;
        }
    }
    assert_true (small_seen > 0);
    zpoller_destroy (&poller);
    zsock_destroy (&dealer);
    zsock_destroy (&router);
}

static void
test_pub_sub_topic (void **state)
{
    (void) state;
    zsock_t *pub = kf_wire_socket (KF_SOCK_PUB, 0);
    zsock_t *sub = kf_wire_socket (KF_SOCK_SUB, 0);
    assert_int_equal (zsock_type (pub), ZMQ_PUB);
    assert_int_equal (zsock_type (sub), ZMQ_SUB);
    assert_int_equal (zsock_sndhwm (pub), 100000);
    assert_int_equal (zsock_rcvhwm (sub), 100000);
    //  The publisher checks its subscribers with heartbeats; a subscriber
    //  does not (a stalled one would have its connection replaced under it,
    //  and libzmq 4.3.4 aborts: see kf_wire.c), it relies on TCP keepalive.
    assert_int_equal (zsock_heartbeat_ivl (pub), 1000);
    assert_int_equal (zsock_heartbeat_ivl (sub), 0);
    assert_int_equal (zsock_tcp_keepalive (sub), 1);
    assert_int_equal (zsock_tcp_keepalive_idle (sub), 10);
    assert_int_equal (zsock_bind (pub, "inproc://kf-wire-test-pub"), 0);
    zsock_set_subscribe (sub, "events.3");
    assert_int_equal (zsock_connect (sub, "inproc://kf-wire-test-pub"), 0);
    //  The subscription reaches the PUB asynchronously: publish until the
    //  first message arrives, waiting on the socket each time.
    const uint8_t payload[] = "事件 7";
    zpoller_t *poller = zpoller_new (sub, NULL);
    zmsg_t *msg = NULL;
    for (int attempt = 0; attempt < 100 && !msg; attempt++) {
        assert_int_equal (kf_wire_send_topic (pub, "events.9", payload, 3), 0); //  filtered out
        assert_int_equal (kf_wire_send_topic (pub, "events.3", payload, sizeof payload - 1), 0);
        if (zpoller_wait (poller, 50) == sub)
            msg = zmsg_recv (sub);
    }
    assert_non_null (msg);
    assert_int_equal (zmsg_size (msg), 2);
    assert_true (zframe_streq (zmsg_first (msg), "events.3"));
    zframe_t *data = zmsg_next (msg);
    assert_int_equal (zframe_size (data), sizeof payload - 1);
    assert_memory_equal (zframe_data (data), payload, sizeof payload - 1);
    zmsg_destroy (&msg);
    zpoller_destroy (&poller);
    zsock_destroy (&sub);
    zsock_destroy (&pub);
}

//  kf_wire_recv_parts: one message into reused frames, extra frames counted
//  and dropped, nothing waiting is 0 (never blocks).
static void
test_recv_parts (void **state)
{
    (void) state;
    zsock_t *out = zsock_new_pair ("@inproc://kf-wire-test-parts");
    zsock_t *in = zsock_new_pair (">inproc://kf-wire-test-parts");
    assert_non_null (out);
    assert_non_null (in);
    zmq_msg_t parts[2];
    zmq_msg_init (&parts[0]);
    zmq_msg_init (&parts[1]);
    assert_int_equal (kf_wire_recv_parts (in, parts, 2), 0);

    assert_int_equal (zstr_sendm (out, "intake/03/message.accepted"), 0);
    assert_int_equal (zstr_send (out, BODY), 0);
    assert_int_equal (zstr_sendm (out, "a"), 0);
    assert_int_equal (zstr_sendm (out, "b"), 0);
    assert_int_equal (zstr_send (out, "c"), 0);
    assert_int_equal (zstr_send (out, "single"), 0);
    zpoller_t *poller = zpoller_new (in, NULL);
    assert_ptr_equal (zpoller_wait (poller, 5000), in);

    assert_int_equal (kf_wire_recv_parts (in, parts, 2), 2);
    assert_int_equal (zmq_msg_size (&parts[0]), strlen ("intake/03/message.accepted"));
    assert_memory_equal (zmq_msg_data (&parts[0]), "intake/03/message.accepted",
                         strlen ("intake/03/message.accepted"));
    assert_int_equal (zmq_msg_size (&parts[1]), strlen (BODY));
    assert_memory_equal (zmq_msg_data (&parts[1]), BODY, strlen (BODY));
    //  Three frames into two: all three read, the first two kept.
    assert_int_equal (kf_wire_recv_parts (in, parts, 2), 3);
    assert_memory_equal (zmq_msg_data (&parts[0]), "a", 1);
    assert_memory_equal (zmq_msg_data (&parts[1]), "b", 1);
    //  The next message starts where it should.
    assert_int_equal (kf_wire_recv_parts (in, parts, 2), 1);
    assert_int_equal (zmq_msg_size (&parts[0]), strlen ("single"));
    assert_memory_equal (zmq_msg_data (&parts[0]), "single", strlen ("single"));
    assert_int_equal (kf_wire_recv_parts (in, parts, 2), 0);

    zmq_msg_close (&parts[0]);
    zmq_msg_close (&parts[1]);
    zpoller_destroy (&poller);
    zsock_destroy (&in);
    zsock_destroy (&out);
}

int
main (void)
{
    zsys_init ();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_pack_unpack),         cmocka_unit_test (test_oversized),
        cmocka_unit_test (test_malformed),           cmocka_unit_test (test_every_truncation),
        cmocka_unit_test (test_bit_flips),           cmocka_unit_test (test_send_receive),
        cmocka_unit_test (test_oversized_on_socket), cmocka_unit_test (test_pub_sub_topic),
        cmocka_unit_test (test_recv_parts),
    };
    int rc = cmocka_run_group_tests (tests, NULL, NULL);
    zsys_shutdown ();
    return rc;
}
