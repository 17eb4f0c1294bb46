/*  intake_item — one inbound item, validated and copied out of its frame.

    intake_item_from_wire checks everything a gateway sent (kf_valid: UTF-8,
    NUL, lengths, enums, the timestamp window, CSAT range, required fields)
    and copies the values into an owned item that outlives the frame. The
    batch then adds the store's results (ids, conversation, ack). */
#ifndef INTAKE_ITEM_H
#define INTAKE_ITEM_H

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

#include "kefu/v1/gateway.pb-c.h"
#include "kf_error.h"
#include "kf_valid.h"

//  Item kinds as stored in messages.kind.
typedef enum {
    INTAKE_KIND_MESSAGE = 1,           //  customer message
    INTAKE_KIND_REPLY = 2,             //  agent reply
    INTAKE_KIND_PRESENCE = 3,          //  agent presence
    INTAKE_KIND_RATING = 4,            //  customer rating
    INTAKE_KIND_CLOSE = 5,             //  conversation close
    INTAKE_KIND_TRANSFER = 6,          //  transfer request
    INTAKE_KIND_ORDER_UPDATE = 7,      //  order snapshot (intake_orders)
    INTAKE_KIND_ORDER_FLAG = 8,        //  agent's flag on an order (intake_orders)
    INTAKE_KIND_REVIEW = 9,            //  a buyer's review (intake_aftersales)
    INTAKE_KIND_COMPLAINT_ACTION = 10, //  an agent acting on a complaint (intake_aftersales)
} intake_kind_t;

typedef struct {
    int64_t max_body;   //  bytes
    int64_t max_past;   //  ms
    int64_t max_future; //  ms
} intake_limits_t;

#define INTAKE_QA_MAX 8

typedef struct {
    //  Where the ack goes.
    zframe_t *routing_id; //  owned copy of the gateway connection's routing id
    int64_t frame_bytes;  //  size of its frame (counted in the connection's share)
    int64_t admitted_us;  //  when it joined a batch (zclock_usecs)
    //  Identity and de-dup key.
    char shop_id[KF_SHOP_ID_MAX + 1]; //  validated shop id
    unsigned partition;               //  the shop's partition
    char gateway_id[KF_ID_MAX + 1];   //  from the session's Hello (registered to the key)
    char principal_id[65];            //  whose key sent it ("" in insecure mode)
    char msg_id[KF_ID_MAX + 1];       //  gateway_msg_id
    //  What happened.
    intake_kind_t kind;                  //  item kind
    int channel;                         //  Channel
    int64_t sent_at;                     //  gateway's time, ms
    int64_t received_at;                 //  server's receive time, ms
    char customer_id[KF_ID_MAX + 1];     //  customer's id on the channel ("" for presence)
    char agent_id[KF_ID_MAX + 1];        //  agent ("" when none; for a transfer: who asks)
    char target_agent_id[KF_ID_MAX + 1]; //  transfer: who should take over
    char order_id[KF_ID_MAX + 1];        //  referenced order ("" when none)
    char *customer_name;                 //  owned, may be NULL
    char *text;       //  owned: body, comment, handover note or transfer reason; may be NULL
    bool vip;         //  VIP customer
    bool auto_reply;  //  platform auto-responder
    int agent_status; //  AgentStatus (presence)
    int score;        //  1..5 (rating)
    int close_reason; //  CloseReason (close)
    uint8_t
        *order; //  owned: the packed OrderUpdate / OrderFlag / Review / ComplaintAction, else NULL
    size_t order_size; //  bytes in order
    //  Classification (customer messages and agent replies).
    int intent;                          //  Intent
    int priority;                        //  Priority
    const char *qa_flags[INTAKE_QA_MAX]; //  borrowed from the dictionary in force
    int qa_count;                        //  flags found
    //  Results filled by the batch.
    int dup_of;              //  index of an earlier item with the same key, or -1
    int64_t customer_ref;    //  kefu customer id
    int64_t conversation_id; //  conversation (0 when none)
    int status;              //  AckStatus
    int64_t stored_id;       //  message id (new or original)
    kf_error_t error;        //  for REJECTED / RETRY_LATER
} intake_item_t;

//  Validate `in` and fill `item` (which must be zeroed or cleared). Returns
//  0, or -1 with err set (the item holds nothing to free). shop checks
//  (registered, in scope) are the caller's: they need the auth cache.
int intake_item_from_wire (intake_item_t *item, const Kefu__V1__InboundItem *in,
                           const intake_limits_t *limits, int64_t now_ms, kf_error_t *err);

//  Free what the item owns and zero it.
void intake_item_clear (intake_item_t *item);

//  "customer_message", "agent_reply", ... for logs.
const char *intake_item_kind_name (intake_kind_t kind);

#endif
