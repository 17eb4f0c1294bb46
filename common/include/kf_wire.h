/*  kf_wire — protobuf messages to and from ZeroMQ frames, and the socket
    options every kefu socket gets.

    Inbound: the socket caps frame size (ZMQ_MAXMSGSIZE, set before bind);
    kf_wire_unpack checks the size again (so a caller's smaller limit holds)
    and unpacks with the default allocator. The caller validates fields and
    frees with the message type's __free_unpacked at one exit.
    Outbound: build messages on the stack with borrowed pointers and pack
    them with kf_wire_pack; never free_unpacked a message you built. */
#ifndef KF_WIRE_H
#define KF_WIRE_H

#include <czmq.h>
#include <protobuf-c/protobuf-c.h>

#include "kf_error.h"

#define KF_WIRE_MAX_FRAME_DEFAULT 65536 //  bytes; per ZeroMQ frame

//  Pack a message into a new frame. Caller owns return value.
zframe_t *kf_wire_pack (const ProtobufCMessage *msg);

//  Unpack `size` bytes as a `desc` message. NULL with ERROR_OVERSIZED_FRAME
//  if size > max_bytes, ERROR_MALFORMED if it does not parse. Caller owns the
//  return value and frees it with protobuf_c_message_free_unpacked (msg, NULL).
ProtobufCMessage *kf_wire_unpack (const ProtobufCMessageDescriptor *desc, const uint8_t *data,
                                  size_t size, size_t max_bytes, kf_error_t *err);

//  Send msg as one frame, preceded by a copy of routing_id when not NULL
//  (ROUTER sockets). Never blocks: returns -1 when the peer is gone
//  (EHOSTUNREACH with ROUTER_MANDATORY) or its queue is full (EAGAIN).
int kf_wire_send (zsock_t *sock, zframe_t *routing_id, const ProtobufCMessage *msg);

//  Same, with a topic frame first (PUB sockets).
int kf_wire_send_topic (zsock_t *sock, const char *topic, const uint8_t *data, size_t size);

//  The next message waiting on sock, or NULL when none is waiting (never
//  blocks). Caller owns return value.
zmsg_t *kf_wire_recv_nowait (zsock_t *sock);

//  The next message waiting on sock, received into the caller's frames
//  (each initialised once with zmq_msg_init and reused from call to call:
//  no allocation per message, unlike a zmsg_t). Returns how many frames the
//  message has (frames past max are read and dropped, but counted), or 0
//  when none is waiting (never blocks).
int kf_wire_recv_parts (zsock_t *sock, zmq_msg_t *parts, int max);

//  The TCP port a socket is bound to (its last endpoint), or -1.
int kf_wire_port (zsock_t *sock);

//  Client side (kefuctl, tests): send request over a fresh DEALER to
//  endpoint and wait up to timeout_ms for one reply frame. setup (may be
//  NULL) prepares the socket before it connects (CURVE keys). Returns the
//  reply, NULL on timeout or error. Caller owns return value.
typedef void (kf_wire_setup_fn) (zsock_t *sock, void *arg);
zframe_t *kf_wire_call (const char *endpoint, const ProtobufCMessage *request, int timeout_ms,
                        kf_wire_setup_fn *setup, void *arg);

//  Socket roles; each gets the options RELIABILITY.md asks for.
typedef enum {
    KF_SOCK_ROUTER_SERVER, //  public-facing ROUTER: mandatory routing, MAXMSGSIZE, HWM 10000
    KF_SOCK_DEALER_CLIENT, //  client DEALER: IMMEDIATE, bounded HWM
    KF_SOCK_PUB,           //  event doorbell: SNDHWM 100000
    KF_SOCK_SUB,           //  event subscriber: RCVHWM 100000
} kf_sock_role_t;

//  Heartbeats (1 s / 3 s / 3 s), linger 1 s, handshake 5 s, plus the role's
//  options. Call before bind/connect. max_frame 0 = KF_WIRE_MAX_FRAME_DEFAULT.
void kf_wire_tune (zsock_t *sock, kf_sock_role_t role, size_t max_frame);

//  A new socket of the role's type, tuned, not yet bound or connected.
//  Caller owns return value.
zsock_t *kf_wire_socket (kf_sock_role_t role, size_t max_frame);

#endif
