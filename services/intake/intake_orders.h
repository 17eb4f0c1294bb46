/*  intake_orders — intake's handling of order items (order_update, order_flag).

    Intake does not own orders (order-sync does): it validates an order
    item like every item, stores it in messages (kind 7 or 8, de-duplicated
    and acknowledged after commit like every item; no body: the snapshot's
    personal data lives only in the event) and publishes it as
    "order.received" on its stream. These are the two hooks intake_item
    and intake_store call. Nothing here logs a field's value. */
#ifndef INTAKE_ORDERS_H
#define INTAKE_ORDERS_H

#include "intake_item.h"
#include "kefu/v1/events.pb-c.h"

//  Limits of the order fields, bytes.
#define INTAKE_ORDER_TEXT_MAX     1024 //  item summary
#define INTAKE_ORDER_ADDRESS_MAX  512  //  receiver address, flag note
#define INTAKE_ORDER_PHONE_MAX    32   //  receiver phone
#define INTAKE_ORDER_TRACKING_MAX 64   //  tracking number
//  Largest amount accepted, in minor units (10^8 yuan).
#define INTAKE_ORDER_AMOUNT_MAX 10000000000LL

//  Validate an order_update or order_flag item (in->kind_case is one of
//  them) and fill item's kind, customer_id, order_id, agent_id, text and
//  its packed copy of the order message. 0, or -1 with err set (item then
//  holds what intake_item_clear frees).
int intake_orders_from_wire (intake_item_t *item, const Kefu__V1__InboundItem *in,
                             const intake_limits_t *limits, int64_t now_ms, kf_error_t *err);

//  The stored item's "order.received" event, handed to fn (borrowed for the
//  call, as intake_conversations_events does): fn's answer, or -1 when the
//  item's packed copy does not unpack (it was packed from a validated
//  message, so it does).
int intake_orders_event (const intake_item_t *item, int (*fn) (void *arg, Kefu__V1__Event *event),
                         void *arg);

#endif
