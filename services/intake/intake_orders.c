/*  intake_orders — validation and the event of order items. */
#include "intake_orders.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

//  Times on an order may lie further back than sent_at_ms may (an export of
//  last month's orders), but a year is the most that makes sense.
#define S_ORDER_PAST_MS (366LL * 24 * 3600 * 1000)

static int
s_id (char *dst, const ProtobufCBinaryData *src, const char *field, bool required, kf_error_t *err)
{
    dst[0] = '\0';
    if (!required && src->len == 0)
        return 0;
    if (kf_valid_id (src, field, KF_ID_MAX, err))
        return -1;
    memcpy (dst, src->data, src->len);
    dst[src->len] = '\0';
    return 0;
}

//  An optional time: 0 (not known) or within a year back and the future limit.
static int
s_time (int64_t ts, int64_t now_ms, const intake_limits_t *limits, const char *field,
        kf_error_t *err)
{
    if (ts == 0)
        return 0;
    return kf_valid_timestamp (ts, now_ms, S_ORDER_PAST_MS, limits->max_future, field, false, err);
}

static int
s_update (intake_item_t *item, const Kefu__V1__OrderUpdate *u, const intake_limits_t *limits,
          int64_t now_ms, kf_error_t *err)
{
    item->kind = INTAKE_KIND_ORDER_UPDATE;
    if (s_id (item->order_id, &u->order_id, "order_update.order_id", true, err) ||
        s_id (item->customer_id, &u->customer_id, "order_update.customer_id", true, err) ||
        kf_valid_enum (&kefu__v1__order_state__descriptor, u->state, "order_update.state", false,
                       err) ||
        kf_valid_enum (&kefu__v1__payment_method__descriptor, u->payment, "order_update.payment",
                       true, err) ||
        kf_valid_text (&u->currency, "order_update.currency", 3, false, err) ||
        kf_valid_text (&u->tracking_no, "order_update.tracking_no", INTAKE_ORDER_TRACKING_MAX,
                       false, err) ||
        kf_valid_text (&u->items, "order_update.items", INTAKE_ORDER_TEXT_MAX, false, err) ||
        kf_valid_text (&u->receiver_address, "order_update.receiver_address",
                       INTAKE_ORDER_ADDRESS_MAX, false, err) ||
        kf_valid_text (&u->receiver_phone, "order_update.receiver_phone", INTAKE_ORDER_PHONE_MAX,
                       false, err))
        return -1;
    if (u->amount_cents < 0 || u->amount_cents > INTAKE_ORDER_AMOUNT_MAX)
        return kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_INVALID_VALUE,
                             "order_update.amount_cents is %lld, must be 0..%lld",
                             (long long) u->amount_cents, (long long) INTAKE_ORDER_AMOUNT_MAX);
    if (u->currency.len != 0) {
        for (size_t i = 0; i < u->currency.len; i++)
            if (u->currency.data[i] < 'A' || u->currency.data[i] > 'Z' || u->currency.len != 3)
                return kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_INVALID_VALUE,
                                     "order_update.currency must be three capital letters "
                                     "(ISO 4217)");
    }
    //  The modification time decides which snapshot is newer: required and
    //  in the window of every item's time.
    if (kf_valid_timestamp (u->modified_at_ms, now_ms, limits->max_past, limits->max_future,
                            "order_update.modified_at_ms", true, err) ||
        kf_valid_timestamp (u->created_at_ms, now_ms, S_ORDER_PAST_MS, limits->max_future,
                            "order_update.created_at_ms", true, err) ||
        s_time (u->paid_at_ms, now_ms, limits, "order_update.paid_at_ms", err) ||
        s_time (u->shipped_at_ms, now_ms, limits, "order_update.shipped_at_ms", err) ||
        s_time (u->delivered_at_ms, now_ms, limits, "order_update.delivered_at_ms", err) ||
        s_time (u->logistics_at_ms, now_ms, limits, "order_update.logistics_at_ms", err))
        return -1;
    size_t size = kefu__v1__order_update__get_packed_size (u);
    item->order = malloc (size ? size : 1);
    item->order_size = kefu__v1__order_update__pack (u, item->order);
    return 0;
}

static int
s_flag (intake_item_t *item, const Kefu__V1__OrderFlag *f, kf_error_t *err)
{
    item->kind = INTAKE_KIND_ORDER_FLAG;
    if (s_id (item->order_id, &f->order_id, "order_flag.order_id", true, err) ||
        s_id (item->agent_id, &f->agent_id, "order_flag.agent_id", true, err) ||
        s_id (item->customer_id, &f->customer_id, "order_flag.customer_id", false, err) ||
        kf_valid_enum (&kefu__v1__order_flag_colour__descriptor, f->colour, "order_flag.colour",
                       false, err) ||
        kf_valid_enum (&kefu__v1__order_flag_meaning__descriptor, f->meaning, "order_flag.meaning",
                       true, err) ||
        kf_valid_text (&f->note, "order_flag.note", INTAKE_ORDER_ADDRESS_MAX, false, err))
        return -1;
    //  The note is what the agent wrote on the platform ("发邮政快递"): it
    //  is the flag's body in the record.
    item->text = f->note.len ? kf_valid_strdup (&f->note) : NULL;
    size_t size = kefu__v1__order_flag__get_packed_size (f);
    item->order = malloc (size ? size : 1);
    item->order_size = kefu__v1__order_flag__pack (f, item->order);
    return 0;
}

int
intake_orders_from_wire (intake_item_t *item, const Kefu__V1__InboundItem *in,
                         const intake_limits_t *limits, int64_t now_ms, kf_error_t *err)
{
    if (in->kind_case == KEFU__V1__INBOUND_ITEM__KIND_ORDER_UPDATE)
        return s_update (item, in->order_update, limits, now_ms, err);
    assert (in->kind_case == KEFU__V1__INBOUND_ITEM__KIND_ORDER_FLAG);
    return s_flag (item, in->order_flag, err);
}

int
intake_orders_event (const intake_item_t *item, int (*fn) (void *arg, Kefu__V1__Event *event),
                     void *arg)
{
    Kefu__V1__OrderReceived r = KEFU__V1__ORDER_RECEIVED__INIT;
    r.message_id = item->stored_id;
    r.customer_id = item->customer_ref;
    r.channel = item->channel;
    r.channel_customer_id = (char *) item->customer_id;
    r.received_at_ms = item->received_at;
    r.sent_at_ms = item->sent_at;
    r.gateway_id = (char *) item->gateway_id;
    //  The copy was packed from a validated message: it unpacks.
    if (item->kind == INTAKE_KIND_ORDER_UPDATE) {
        r.item_case = KEFU__V1__ORDER_RECEIVED__ITEM_UPDATE;
        r.update = kefu__v1__order_update__unpack (NULL, item->order_size, item->order);
        if (!r.update)
            return -1;
    } else {
        r.item_case = KEFU__V1__ORDER_RECEIVED__ITEM_FLAG;
        r.flag = kefu__v1__order_flag__unpack (NULL, item->order_size, item->order);
        if (!r.flag)
            return -1;
    }
    Kefu__V1__Event ev = KEFU__V1__EVENT__INIT;
    ev.shop_id = (char *) item->shop_id;
    ev.kind = "order.received";
    ev.occurred_at_ms = item->received_at;
    ev.payload_case = KEFU__V1__EVENT__PAYLOAD_ORDER_RECEIVED;
    ev.order_received = &r;
    int rc = fn (arg, &ev);
    //  update and flag share a union (oneof).
    if (r.item_case == KEFU__V1__ORDER_RECEIVED__ITEM_UPDATE)
        kefu__v1__order_update__free_unpacked (r.update, NULL);
    else
        kefu__v1__order_flag__free_unpacked (r.flag, NULL);
    return rc;
}
