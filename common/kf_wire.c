/*  kf_wire — frames <-> protobuf, socket options. */
#include "kf_wire.h"

zframe_t *
kf_wire_pack (const ProtobufCMessage *msg)
{
    size_t size = protobuf_c_message_get_packed_size (msg);
    zframe_t *frame = zframe_new (NULL, size);
    if (frame && size)
        protobuf_c_message_pack (msg, zframe_data (frame));
    return frame;
}

ProtobufCMessage *
kf_wire_unpack (const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t size,
                size_t max_bytes, kf_error_t *err)
{
    if (size > max_bytes) {
        kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_OVERSIZED_FRAME,
                      "frame is %zu bytes, over the limit of %zu", size, max_bytes);
        return NULL;
    }
    ProtobufCMessage *msg = protobuf_c_message_unpack (desc, NULL, size, data);
    if (!msg)
        kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_MALFORMED,
                      "frame of %zu bytes is not a valid %s message", size, desc->name);
    return msg;
}

int
kf_wire_send (zsock_t *sock, zframe_t *routing_id, const ProtobufCMessage *msg)
{
    zframe_t *frame = kf_wire_pack (msg);
    if (!frame)
        return -1;
    if (routing_id &&
        zframe_send (&routing_id, sock, ZFRAME_MORE | ZFRAME_REUSE | ZFRAME_DONTWAIT) == -1) {
        zframe_destroy (&frame);
        return -1;
    }
    //  The routing-id part is already queued, so the body goes out whole.
    int rc = zframe_send (&frame, sock, ZFRAME_DONTWAIT);
    if (rc == -1)
        zframe_destroy (&frame);
    return rc;
}

int
kf_wire_send_topic (zsock_t *sock, const char *topic, const uint8_t *data, size_t size)
{
    void *raw = zsock_resolve (sock);
    if (zmq_send (raw, topic, strlen (topic), ZMQ_SNDMORE | ZMQ_DONTWAIT) == -1)
        return -1;
    return zmq_send (raw, data, size, ZMQ_DONTWAIT) == -1 ? -1 : 0;
}

zmsg_t *
kf_wire_recv_nowait (zsock_t *sock)
{
    //  A receive with a zero timeout instead of asking ZMQ_EVENTS first:
    //  that costs libzmq a poll() and a getpid() per message, while a
    //  receive looks at its command mailbox only when nothing is waiting.
    //  zmsg_recv keeps each frame's metadata (the ZAP User-Id intake
    //  authenticates by). ZeroMQ delivers multipart messages atomically,
    //  so once the first frame is here the rest are too. Setting and
    //  restoring the timeout are plain option writes, no system calls.
    int timeout = zsock_rcvtimeo (sock);
    zsock_set_rcvtimeo (sock, 0);
    zmsg_t *msg = zmsg_recv (sock);
    zsock_set_rcvtimeo (sock, timeout);
    return msg;
}

int
kf_wire_recv_parts (zsock_t *sock, zmq_msg_t *parts, int max)
{
    void *raw = zsock_resolve (sock);
    zmq_msg_t dropped;
    zmq_msg_init (&dropped);
    int count = 0;
    while (true) {
        zmq_msg_t *part = count < max ? &parts[count] : &dropped;
        //  ZeroMQ delivers multipart messages atomically: once the first
        //  frame is here the rest are too.
        if (zmq_msg_recv (part, raw, count == 0 ? ZMQ_DONTWAIT : 0) == -1)
            break;
        count++;
        if (!zmq_msg_more (part))
            break;
    }
    zmq_msg_close (&dropped);
    return count;
}

int
kf_wire_port (zsock_t *sock)
{
    //  zsock_last_endpoint returns a fresh string the caller must free.
    char *endpoint = sock ? zsock_last_endpoint (sock) : NULL;
    const char *colon = endpoint ? strrchr (endpoint, ':') : NULL;
    int port = colon ? atoi (colon + 1) : -1;
    zstr_free (&endpoint);
    return port;
}

void
kf_wire_tune (zsock_t *sock, kf_sock_role_t role, size_t max_frame)
{
    if (max_frame == 0)
        max_frame = KF_WIRE_MAX_FRAME_DEFAULT;
    //  ZMTP heartbeats: dead peers are noticed in seconds, not TCP's 30 min.
    zsock_set_heartbeat_ivl (sock, 1000);
    zsock_set_heartbeat_timeout (sock, 3000);
    zsock_set_heartbeat_ttl (sock, 3000);
    //  czmq's default linger is 0 (drop on close); give queued replies 1 s.
    zsock_set_linger (sock, 1000);
    zsock_set_handshake_ivl (sock, 5000);
    switch (role) {
    case KF_SOCK_ROUTER_SERVER:
        zsock_set_router_mandatory (sock, 1);
        zsock_set_maxmsgsize (sock, (int) max_frame);
        zsock_set_rcvhwm (sock, 10000);
        zsock_set_sndhwm (sock, 10000);
        break;
    case KF_SOCK_DEALER_CLIENT:
        zsock_set_immediate (sock, 1);
        zsock_set_maxmsgsize (sock, (int) max_frame);
        zsock_set_sndhwm (sock, 10000);
        zsock_set_rcvhwm (sock, 10000);
        break;
    case KF_SOCK_PUB:
        zsock_set_sndhwm (sock, 100000);
        break;
    case KF_SOCK_SUB:
        //  No ZMTP heartbeats on the receiving end of events: a subscriber
        //  that falls behind fills its pipe and stops reading the
        //  connection, its PINGs go unanswered, the heartbeat timeout
        //  replaces the connection under the stalled reader, and libzmq
        //  4.3.4 then aborts the process (Assertion failed: _input_stopped,
        //  stream_engine_base.cpp:417; libzmq issue #3937, fix in PR #4830).
        //  A dead publisher is noticed by TCP keepalive instead, and what
        //  the subscriber misses meanwhile it reads from the events table.
        zsock_set_heartbeat_ivl (sock, 0);
        zsock_set_tcp_keepalive (sock, 1);
        zsock_set_tcp_keepalive_idle (sock, 10);
        zsock_set_tcp_keepalive_intvl (sock, 5);
        zsock_set_tcp_keepalive_cnt (sock, 3);
        zsock_set_rcvhwm (sock, 100000);
        zsock_set_maxmsgsize (sock, (int) max_frame * 4);
        break;
    }
}

zsock_t *
kf_wire_socket (kf_sock_role_t role, size_t max_frame)
{
    int type = role == KF_SOCK_ROUTER_SERVER   ? ZMQ_ROUTER
               : role == KF_SOCK_DEALER_CLIENT ? ZMQ_DEALER
               : role == KF_SOCK_PUB           ? ZMQ_PUB
                                               : ZMQ_SUB;
    zsock_t *sock = zsock_new (type);
    if (sock)
        kf_wire_tune (sock, role, max_frame);
    return sock;
}

zframe_t *
kf_wire_call (const char *endpoint, const ProtobufCMessage *request, int timeout_ms,
              kf_wire_setup_fn *setup, void *arg)
{
    zsock_t *dealer = kf_wire_socket (KF_SOCK_DEALER_CLIENT, 16 << 20);
    zsock_set_immediate (dealer, 0); //  queue until connected; we wait anyway
    zsock_set_linger (dealer, 0);
    if (setup)
        setup (dealer, arg);
    zframe_t *reply = NULL;
    if (zsock_connect (dealer, "%s", endpoint) == 0) {
        zframe_t *frame = kf_wire_pack (request);
        if (zframe_send (&frame, dealer, 0) == 0) {
            zpoller_t *poller = zpoller_new (dealer, NULL);
            if (zpoller_wait (poller, timeout_ms) == dealer)
                reply = zframe_recv (dealer);
            zpoller_destroy (&poller);
        } else
            zframe_destroy (&frame);
    }
    zsock_destroy (&dealer);
    return reply;
}
