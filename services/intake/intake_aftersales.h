/*  intake_aftersales — intake's handling of after-sales items (review,
    complaint_action).

    Intake does not own complaints or reviews (kefu-escalation does): it
    validates these items like every item, stores them in messages (kind 9
    or 10, de-duplicated and acknowledged after commit like every item; the
    body is the review's text or the action's note) and publishes them as
    "review.received" / "complaint_action.received" on its stream. Whether
    an action is allowed at the case's stage is escalation's to say (it
    answers with complaint.action_refused). These are the two hooks
    intake_item and intake_conversations call, as intake_orders'. */
#ifndef INTAKE_AFTERSALES_H
#define INTAKE_AFTERSALES_H

#include "intake_item.h"
#include "kefu/v1/events.pb-c.h"

//  Limits of the after-sales fields, bytes.
#define INTAKE_REVIEW_TEXT_MAX  2048 //  review text
#define INTAKE_REVIEW_ITEM_MAX  256  //  item reviewed
#define INTAKE_REVIEW_PHONE_MAX 32   //  buyer's phone
#define INTAKE_ACTION_NOTE_MAX  512  //  action's note or reason
//  Largest remedy amount accepted, in minor units (10^6 yuan).
#define INTAKE_ACTION_AMOUNT_MAX 100000000LL

//  Validate a review or complaint_action item (in->kind_case is one of
//  them) and fill item's kind, customer_id, order_id, agent_id, text and
//  its packed copy of the message (item->order). 0, or -1 with err set
//  (item then holds what intake_item_clear frees).
int intake_aftersales_from_wire (intake_item_t *item, const Kefu__V1__InboundItem *in,
                                 const intake_limits_t *limits, int64_t now_ms, kf_error_t *err);

//  The stored item's event, handed to fn (borrowed for the call): fn's
//  answer, or -1 when the packed copy does not unpack (it was packed from
//  a validated message, so it does).
int intake_aftersales_event (const intake_item_t *item,
                             int (*fn) (void *arg, Kefu__V1__Event *event), void *arg);

#endif
