/*  kt_gw — raw gateway socket helpers for tests. */
#include "kt_gw.h"

#include "kf_wire.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

ProtobufCBinaryData
kt_text (const char *s)
{
    return (ProtobufCBinaryData){strlen (s), (uint8_t *) s};
}

void
kt_gw_send (zsock_t *sock, const Kefu__V1__GatewayFrame *frame)
{
    zframe_t *f = kf_wire_pack (&frame->base);
    assert_int_equal (zframe_send (&f, sock, 0), 0);
}

void
kt_gw_send_item (zsock_t *sock, const Kefu__V1__InboundItem *item)
{
    Kefu__V1__GatewayFrame frame = KEFU__V1__GATEWAY_FRAME__INIT;
    frame.body_case = KEFU__V1__GATEWAY_FRAME__BODY_ITEM;
    frame.item = (Kefu__V1__InboundItem *) item;
    kt_gw_send (sock, &frame);
}

Kefu__V1__IntakeFrame *
kt_gw_recv (zsock_t *sock)
{
    zpoller_t *poller = zpoller_new (sock, NULL);
    void *which = zpoller_wait (poller, 10000);
    zpoller_destroy (&poller);
    assert_non_null (which);
    zframe_t *f = zframe_recv (sock);
    assert_non_null (f);
    Kefu__V1__IntakeFrame *in =
        kefu__v1__intake_frame__unpack (NULL, zframe_size (f), zframe_data (f));
    zframe_destroy (&f);
    assert_non_null (in);
    return in;
}

bool
kt_gw_silent (zsock_t *sock, int ms)
{
    zpoller_t *poller = zpoller_new (sock, NULL);
    void *which = zpoller_wait (poller, ms);
    zpoller_destroy (&poller);
    return which == NULL;
}

void
kt_gw_push (zsock_t *sock, const Kefu__V1__InboundItem *item)
{
    kt_gw_push_keep (sock, item, NULL);
}

void
kt_gw_push_keep (zsock_t *sock, const Kefu__V1__InboundItem *item, zlist_t *early)
{
    kt_gw_send_item (sock, item);
    while (true) {
        Kefu__V1__IntakeFrame *in = kt_gw_recv (sock);
        bool ack = in->body_case == KEFU__V1__INTAKE_FRAME__BODY_ACK;
        if (ack)
            assert_int_equal (in->ack->status, KEFU__V1__ACK_STATUS__ACK_ACCEPTED);
        if (!ack && early)
            zlist_append (early, in);
        else
            kefu__v1__intake_frame__free_unpacked (in, NULL);
        if (ack)
            return;
    }
}

void
kt_gw_ack_command (zsock_t *sock, int64_t command_id)
{
    Kefu__V1__CommandAck ack = KEFU__V1__COMMAND_ACK__INIT;
    ack.command_id = command_id;
    ack.status = KEFU__V1__COMMAND_ACK_STATUS__COMMAND_DELIVERED;
    Kefu__V1__GatewayFrame frame = KEFU__V1__GATEWAY_FRAME__INIT;
    frame.body_case = KEFU__V1__GATEWAY_FRAME__BODY_COMMAND_ACK;
    frame.command_ack = &ack;
    kt_gw_send (sock, &frame);
}

zsock_t *
kt_gw_connect (const char *endpoint, const char *gateway_id, const char *shop, bool *welcomed)
{
    zsock_t *gw = zsock_new (ZMQ_DEALER);
    assert_int_equal (zsock_connect (gw, "%s", endpoint), 0);
    Kefu__V1__ShopChannel serves = KEFU__V1__SHOP_CHANNEL__INIT;
    Kefu__V1__ShopChannel *serves_list[] = {&serves};
    Kefu__V1__Hello hello = KEFU__V1__HELLO__INIT;
    hello.gateway_id = kt_text (gateway_id);
    hello.protocol_version = KEFU__V1__GATEWAY_PROTOCOL__GATEWAY_PROTOCOL_V1;
    if (shop) {
        serves.shop_id = kt_text (shop);
        serves.channel = KEFU__V1__CHANNEL__CHANNEL_PLATFORM_CHAT;
        hello.n_serves = 1;
        hello.serves = serves_list;
    }
    Kefu__V1__GatewayFrame frame = KEFU__V1__GATEWAY_FRAME__INIT;
    frame.body_case = KEFU__V1__GATEWAY_FRAME__BODY_HELLO;
    frame.hello = &hello;
    kt_gw_send (gw, &frame);
    *welcomed = false;
    if (!kt_gw_silent (gw, 3000)) {
        Kefu__V1__IntakeFrame *in = kt_gw_recv (gw);
        *welcomed = in->body_case == KEFU__V1__INTAKE_FRAME__BODY_WELCOME;
        kefu__v1__intake_frame__free_unpacked (in, NULL);
    }
    return gw;
}

void
kt_gw_message (Kefu__V1__InboundItem *item, Kefu__V1__CustomerMessage *msg, const char *shop,
               const char *id, const char *customer, const char *body, int64_t sent_at_ms)
{
    kefu__v1__customer_message__init (msg);
    msg->customer_id = kt_text (customer);
    msg->body = kt_text (body);
    kefu__v1__inbound_item__init (item);
    item->shop_id = kt_text (shop);
    item->gateway_msg_id = kt_text (id);
    item->sent_at_ms = sent_at_ms;
    item->channel = KEFU__V1__CHANNEL__CHANNEL_PLATFORM_CHAT;
    item->kind_case = KEFU__V1__INBOUND_ITEM__KIND_CUSTOMER_MESSAGE;
    item->customer_message = msg;
}
