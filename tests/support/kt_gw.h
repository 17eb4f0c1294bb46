/*  kt_gw — a raw gateway for tests: a real DEALER socket speaking the
    gateway protocol byte by byte, so tests control every frame they send
    (malformed ones included). Tests that want the real client use
    libkefu-gateway instead. */
#ifndef KT_GW_H
#define KT_GW_H

#include <czmq.h>
#include <stdbool.h>

#include "kefu/v1/gateway.pb-c.h"

//  A bytes field pointing at a C string (borrowed).
ProtobufCBinaryData kt_text (const char *s);

//  Pack and send one GatewayFrame.
void kt_gw_send (zsock_t *sock, const Kefu__V1__GatewayFrame *frame);
//  Send an item.
void kt_gw_send_item (zsock_t *sock, const Kefu__V1__InboundItem *item);
//  The next IntakeFrame (fails the test after 10 s). Caller frees with
//  kefu__v1__intake_frame__free_unpacked.
Kefu__V1__IntakeFrame *kt_gw_recv (zsock_t *sock);
//  True when nothing arrives within ms.
bool kt_gw_silent (zsock_t *sock, int ms);

//  Connect a DEALER to endpoint and say Hello (serving shop on platform
//  chat when shop is not NULL). Returns the socket; *welcomed says whether
//  a Welcome came back (false: a Reject or nothing). Caller owns the socket.
zsock_t *kt_gw_connect (const char *endpoint, const char *gateway_id, const char *shop,
                        bool *welcomed);

//  Send an item and wait for its ack, which must be ACCEPTED (commands
//  for the gateway that arrive meanwhile are dropped).
void kt_gw_push (zsock_t *sock, const Kefu__V1__InboundItem *item);
//  The same, keeping the frames that arrive meanwhile (IntakeFrame *,
//  unpacked: the caller frees them) at the end of early.
void kt_gw_push_keep (zsock_t *sock, const Kefu__V1__InboundItem *item, zlist_t *early);
//  Acknowledge a command: delivered.
void kt_gw_ack_command (zsock_t *sock, int64_t command_id);

//  Fill item as a customer message (strings borrowed).
void kt_gw_message (Kefu__V1__InboundItem *item, Kefu__V1__CustomerMessage *msg, const char *shop,
                    const char *id, const char *customer, const char *body, int64_t sent_at_ms);

#endif
