/*  intake_aftersales — validation and the event of review and
    complaint_action items. */
#include "intake_aftersales.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

//  A review may be posted up to the platform's review period after the
//  order (Taobao: 15 days) and fetched later still: 60 days back at most.
#define S_REVIEW_PAST_MS (60LL * 24 * 3600 * 1000)

static void
s_copy (char *dst, const ProtobufCBinaryData *src)
{
    memcpy (dst, src->data, src->len);
    dst[src->len] = '\0';
}

static int
s_review (intake_item_t *item, const Kefu__V1__Review *r, const intake_limits_t *limits,
          int64_t now_ms, kf_error_t *err)
{
    item->kind = INTAKE_KIND_REVIEW;
    if (kf_valid_id (&r->order_id, "review.order_id", KF_ID_MAX, err) ||
        kf_valid_id (&r->customer_id, "review.customer_id", KF_ID_MAX, err) ||
        kf_valid_enum (&kefu__v1__review_grade__descriptor, r->grade, "review.grade", true, err) ||
        kf_valid_text (&r->text, "review.text", INTAKE_REVIEW_TEXT_MAX, false, err) ||
        kf_valid_text (&r->item, "review.item", INTAKE_REVIEW_ITEM_MAX, false, err) ||
        kf_valid_text (&r->phone, "review.phone", INTAKE_REVIEW_PHONE_MAX, false, err) ||
        kf_valid_timestamp (r->reviewed_at_ms, now_ms, S_REVIEW_PAST_MS, limits->max_future,
                            "review.reviewed_at_ms", true, err))
        return -1;
    if (r->grade == 0 && r->stars == 0)
        return kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_MISSING_FIELD,
                             "review has neither grade nor stars");
    if (r->grade != 0 && r->stars != 0)
        return kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_INVALID_VALUE,
                             "review has both grade and stars: give one");
    if (r->stars > 5)
        return kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_INVALID_VALUE,
                             "review.stars is %u, must be 1..5", r->stars);
    s_copy (item->order_id, &r->order_id);
    s_copy (item->customer_id, &r->customer_id);
    item->text = r->text.len ? kf_valid_strdup (&r->text) : NULL;
    size_t size = kefu__v1__review__get_packed_size (r);
    item->order = malloc (size ? size : 1);
    item->order_size = kefu__v1__review__pack (r, item->order);
    return 0;
}

static int
s_action (intake_item_t *item, const Kefu__V1__ComplaintAction *a, kf_error_t *err)
{
    item->kind = INTAKE_KIND_COMPLAINT_ACTION;
    if (a->complaint_id <= 0)
        return kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_MISSING_FIELD,
                             "complaint_action.complaint_id is missing");
    if (kf_valid_enum (&kefu__v1__complaint_action_kind__descriptor, a->action,
                       "complaint_action.action", false, err) ||
        kf_valid_agent_id ((const char *) a->agent_id.data, a->agent_id.len,
                           "complaint_action.agent_id", err) ||
        kf_valid_text (&a->note, "complaint_action.note", INTAKE_ACTION_NOTE_MAX, false, err) ||
        kf_valid_enum (&kefu__v1__complaint_category__descriptor, a->category,
                       "complaint_action.category", true, err) ||
        kf_valid_enum (&kefu__v1__responsible_party__descriptor, a->responsible,
                       "complaint_action.responsible", true, err) ||
        kf_valid_enum (&kefu__v1__remedy__descriptor, a->remedy, "complaint_action.remedy", true,
                       err) ||
        (a->concerned_agent_id.len &&
         kf_valid_agent_id ((const char *) a->concerned_agent_id.data, a->concerned_agent_id.len,
                            "complaint_action.concerned_agent_id", err)))
        return -1;
    //  What each action needs (the stage is escalation's to check).
    if (a->action == KEFU__V1__COMPLAINT_ACTION_KIND__COMPLAINT_ACTION_JUDGE && !a->valid &&
        a->note.len == 0)
        return kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_MISSING_FIELD,
                             "complaint_action: judging not valid needs the reason in note");
    if (a->action == KEFU__V1__COMPLAINT_ACTION_KIND__COMPLAINT_ACTION_INVESTIGATE &&
        a->responsible == 0)
        return kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_MISSING_FIELD,
                             "complaint_action: investigate needs responsible");
    if (a->action == KEFU__V1__COMPLAINT_ACTION_KIND__COMPLAINT_ACTION_PROPOSE && a->remedy == 0)
        return kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_MISSING_FIELD,
                             "complaint_action: propose needs remedy");
    if (a->amount_cents < 0 || a->amount_cents > INTAKE_ACTION_AMOUNT_MAX)
        return kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_INVALID_VALUE,
                             "complaint_action.amount_cents is %lld, must be 0..%lld",
                             (long long) a->amount_cents, (long long) INTAKE_ACTION_AMOUNT_MAX);
    s_copy (item->agent_id, &a->agent_id);
    item->text = a->note.len ? kf_valid_strdup (&a->note) : NULL;
    size_t size = kefu__v1__complaint_action__get_packed_size (a);
    item->order = malloc (size ? size : 1);
    item->order_size = kefu__v1__complaint_action__pack (a, item->order);
    return 0;
}

int
intake_aftersales_from_wire (intake_item_t *item, const Kefu__V1__InboundItem *in,
                             const intake_limits_t *limits, int64_t now_ms, kf_error_t *err)
{
    if (in->kind_case == KEFU__V1__INBOUND_ITEM__KIND_REVIEW)
        return s_review (item, in->review, limits, now_ms, err);
    assert (in->kind_case == KEFU__V1__INBOUND_ITEM__KIND_COMPLAINT_ACTION);
    return s_action (item, in->complaint_action, err);
}

int
intake_aftersales_event (const intake_item_t *item, int (*fn) (void *arg, Kefu__V1__Event *event),
                         void *arg)
{
    Kefu__V1__AfterSalesReceived r = KEFU__V1__AFTER_SALES_RECEIVED__INIT;
    r.message_id = item->stored_id;
    r.customer_id = item->customer_ref;
    r.channel = item->channel;
    r.channel_customer_id = (char *) item->customer_id;
    r.received_at_ms = item->received_at;
    r.gateway_id = (char *) item->gateway_id;
    r.principal_id = (char *) item->principal_id;
    Kefu__V1__Event ev = KEFU__V1__EVENT__INIT;
    //  The copy was packed from a validated message: it unpacks.
    if (item->kind == INTAKE_KIND_REVIEW) {
        r.item_case = KEFU__V1__AFTER_SALES_RECEIVED__ITEM_REVIEW;
        r.review = kefu__v1__review__unpack (NULL, item->order_size, item->order);
        if (!r.review)
            return -1;
        ev.kind = "review.received";
    } else {
        r.item_case = KEFU__V1__AFTER_SALES_RECEIVED__ITEM_COMPLAINT_ACTION;
        r.complaint_action =
            kefu__v1__complaint_action__unpack (NULL, item->order_size, item->order);
        if (!r.complaint_action)
            return -1;
        ev.kind = "complaint_action.received";
    }
    ev.shop_id = (char *) item->shop_id;
    ev.occurred_at_ms = item->received_at;
    ev.payload_case = KEFU__V1__EVENT__PAYLOAD_AFTERSALES_RECEIVED;
    ev.aftersales_received = &r;
    int rc = fn (arg, &ev);
    //  review and complaint_action share a union (oneof).
    if (r.item_case == KEFU__V1__AFTER_SALES_RECEIVED__ITEM_REVIEW)
        kefu__v1__review__free_unpacked (r.review, NULL);
    else
        kefu__v1__complaint_action__free_unpacked (r.complaint_action, NULL);
    return rc;
}
