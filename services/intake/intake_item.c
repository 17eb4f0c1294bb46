/*  intake_item — validation of inbound items. */
#include "intake_item.h"

#include "intake_aftersales.h"
#include "intake_orders.h"
#include "kf_shop.h"

#include <stdlib.h>
#include <string.h>

//  Copy a validated id into a fixed buffer.
static void
s_copy (char *dst, const ProtobufCBinaryData *src)
{
    memcpy (dst, src->data, src->len);
    dst[src->len] = '\0';
}

//  An optional id: empty is fine, otherwise it must be a valid id.
static int
s_optional_id (char *dst, const ProtobufCBinaryData *src, const char *field, kf_error_t *err)
{
    if (src->len == 0) {
        dst[0] = '\0';
        return 0;
    }
    if (kf_valid_id (src, field, KF_ID_MAX, err))
        return -1;
    s_copy (dst, src);
    return 0;
}

static int
s_required_id (char *dst, const ProtobufCBinaryData *src, const char *field, kf_error_t *err)
{
    if (kf_valid_id (src, field, KF_ID_MAX, err))
        return -1;
    s_copy (dst, src);
    return 0;
}

//  An agent id (kf_valid_agent_id); empty is fine unless required.
static int
s_agent_id (char *dst, const ProtobufCBinaryData *src, const char *field, bool required,
            kf_error_t *err)
{
    if (src->len == 0 && !required) {
        dst[0] = '\0';
        return 0;
    }
    if (kf_valid_agent_id ((const char *) src->data, src->len, field, err))
        return -1;
    s_copy (dst, src);
    return 0;
}

static int
s_text (char **dst, const ProtobufCBinaryData *src, const char *field, size_t max, bool required,
        kf_error_t *err)
{
    if (kf_valid_text (src, field, max, required, err))
        return -1;
    *dst = src->len ? kf_valid_strdup (src) : NULL;
    return 0;
}

int
intake_item_from_wire (intake_item_t *item, const Kefu__V1__InboundItem *in,
                       const intake_limits_t *limits, int64_t now_ms, kf_error_t *err)
{
    item->dup_of = -1;
    if (kf_valid_text (&in->shop_id, "shop_id", KF_SHOP_ID_MAX, true, err) ||
        kf_valid_shop_id ((const char *) in->shop_id.data, in->shop_id.len, err))
        return -1;
    s_copy (item->shop_id, &in->shop_id);
    item->partition = kf_shop_partition (item->shop_id, in->shop_id.len);
    if (s_required_id (item->msg_id, &in->gateway_msg_id, "gateway_msg_id", err))
        return -1;
    if (kf_valid_enum (&kefu__v1__channel__descriptor, in->channel, "channel", false, err))
        return -1;
    item->channel = in->channel;
    if (kf_valid_timestamp (in->sent_at_ms, now_ms, limits->max_past, limits->max_future,
                            "sent_at_ms", true, err))
        return -1;
    item->sent_at = in->sent_at_ms;
    item->received_at = now_ms;
    size_t max_body = (size_t) limits->max_body;

    switch (in->kind_case) {
    case KEFU__V1__INBOUND_ITEM__KIND_CUSTOMER_MESSAGE: {
        const Kefu__V1__CustomerMessage *m = in->customer_message;
        item->kind = INTAKE_KIND_MESSAGE;
        if (s_required_id (item->customer_id, &m->customer_id, "customer_message.customer_id",
                           err) ||
            s_optional_id (item->order_id, &m->order_id, "customer_message.order_id", err) ||
            s_text (&item->customer_name, &m->customer_name, "customer_message.customer_name",
                    KF_NAME_MAX, false, err) ||
            s_text (&item->text, &m->body, "customer_message.body", max_body, true, err))
            goto failed;
        item->vip = m->vip;
        break;
    }
    case KEFU__V1__INBOUND_ITEM__KIND_AGENT_REPLY: {
        const Kefu__V1__AgentReply *r = in->agent_reply;
        item->kind = INTAKE_KIND_REPLY;
        if (s_required_id (item->customer_id, &r->customer_id, "agent_reply.customer_id", err) ||
            s_agent_id (item->agent_id, &r->agent_id, "agent_reply.agent_id", true, err) ||
            s_text (&item->text, &r->body, "agent_reply.body", max_body, true, err))
            goto failed;
        item->auto_reply = r->auto_reply;
        break;
    }
    case KEFU__V1__INBOUND_ITEM__KIND_AGENT_PRESENCE: {
        const Kefu__V1__AgentPresence *p = in->agent_presence;
        item->kind = INTAKE_KIND_PRESENCE;
        if (s_agent_id (item->agent_id, &p->agent_id, "agent_presence.agent_id", true, err) ||
            kf_valid_enum (&kefu__v1__agent_status__descriptor, p->status, "agent_presence.status",
                           false, err) ||
            s_text (&item->text, &p->handover_note, "agent_presence.handover_note", max_body, false,
                    err))
            goto failed;
        item->agent_status = p->status;
        break;
    }
    case KEFU__V1__INBOUND_ITEM__KIND_CUSTOMER_RATING: {
        const Kefu__V1__CustomerRating *r = in->customer_rating;
        item->kind = INTAKE_KIND_RATING;
        if (s_required_id (item->customer_id, &r->customer_id, "customer_rating.customer_id",
                           err) ||
            s_agent_id (item->agent_id, &r->agent_id, "customer_rating.agent_id", false, err) ||
            s_text (&item->text, &r->comment, "customer_rating.comment", max_body, false, err))
            goto failed;
        if (r->score < 1 || r->score > 5) {
            kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_INVALID_VALUE,
                          "customer_rating.score is %u, must be 1..5", r->score);
            goto failed;
        }
        item->score = (int) r->score;
        break;
    }
    case KEFU__V1__INBOUND_ITEM__KIND_CONVERSATION_CLOSE: {
        const Kefu__V1__ConversationClose *c = in->conversation_close;
        item->kind = INTAKE_KIND_CLOSE;
        if (s_required_id (item->customer_id, &c->customer_id, "conversation_close.customer_id",
                           err) ||
            s_agent_id (item->agent_id, &c->agent_id, "conversation_close.agent_id", false, err) ||
            kf_valid_enum (&kefu__v1__close_reason__descriptor, c->reason,
                           "conversation_close.reason", true, err))
            goto failed;
        item->close_reason = c->reason ? c->reason : KEFU__V1__CLOSE_REASON__CLOSE_REASON_RESOLVED;
        break;
    }
    case KEFU__V1__INBOUND_ITEM__KIND_TRANSFER_REQUEST: {
        const Kefu__V1__TransferRequest *t = in->transfer_request;
        item->kind = INTAKE_KIND_TRANSFER;
        if (s_required_id (item->customer_id, &t->customer_id, "transfer_request.customer_id",
                           err) ||
            s_agent_id (item->agent_id, &t->from_agent_id, "transfer_request.from_agent_id", false,
                        err) ||
            s_agent_id (item->target_agent_id, &t->to_agent_id, "transfer_request.to_agent_id",
                        true, err) ||
            s_text (&item->text, &t->reason, "transfer_request.reason", 1024, false, err))
            goto failed;
        break;
    }
    case KEFU__V1__INBOUND_ITEM__KIND_ORDER_UPDATE:
    case KEFU__V1__INBOUND_ITEM__KIND_ORDER_FLAG:
        if (intake_orders_from_wire (item, in, limits, now_ms, err))
            goto failed;
        break;
    case KEFU__V1__INBOUND_ITEM__KIND_REVIEW:
    case KEFU__V1__INBOUND_ITEM__KIND_COMPLAINT_ACTION:
        if (intake_aftersales_from_wire (item, in, limits, now_ms, err))
            goto failed;
        break;
    default:
        kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_MISSING_FIELD,
                      "item has no kind (customer_message, agent_reply, agent_presence, "
                      "customer_rating, conversation_close, transfer_request, order_update, "
                      "order_flag, review or complaint_action)");
        return -1;
    }
    return 0;
failed:
    intake_item_clear (item);
    return -1;
}

void
intake_item_clear (intake_item_t *item)
{
    zframe_destroy (&item->routing_id);
    free (item->customer_name);
    free (item->text);
    free (item->order);
    memset (item, 0, sizeof *item);
}

const char *
intake_item_kind_name (intake_kind_t kind)
{
    switch (kind) {
    case INTAKE_KIND_MESSAGE:
        return "customer_message";
    case INTAKE_KIND_REPLY:
        return "agent_reply";
    case INTAKE_KIND_PRESENCE:
        return "agent_presence";
    case INTAKE_KIND_RATING:
        return "customer_rating";
    case INTAKE_KIND_CLOSE:
        return "conversation_close";
    case INTAKE_KIND_TRANSFER:
        return "transfer_request";
    case INTAKE_KIND_ORDER_UPDATE:
        return "order_update";
    case INTAKE_KIND_ORDER_FLAG:
        return "order_flag";
    case INTAKE_KIND_REVIEW:
        return "review";
    case INTAKE_KIND_COMPLAINT_ACTION:
        return "complaint_action";
    }
    return "unknown";
}
