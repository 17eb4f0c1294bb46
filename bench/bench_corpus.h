/*  bench_corpus — realistic inbound traffic for the benchmarks: customer
    messages as a Taobao/Qianniu shop receives them (Chinese bodies of 30-60
    bytes, many distinct buyers, some VIPs and order numbers), and the sizes
    of the frames they travel in.

        uint64_t rng = 42;
        bench_item_t it;
        bench_item_make (&it, "bench-shop", "s3", 3, 8, seq, 20000, &rng);
        kefu_gateway_send (gw, &it.item);     //  it.item points into it

    Customers are split between gateways (a buyer talks through one
    platform connector), so `customers` distinct buyers appear in total. */
#ifndef BENCH_CORPUS_H
#define BENCH_CORPUS_H

#include <stddef.h>
#include <stdint.h>

#include "kefu/v1/gateway.pb-c.h"

typedef struct {
    char shop_id[64];                  //  the shop
    char msg_id[48];                   //  gateway_msg_id: "<prefix>-<seq>"
    char customer[48];                 //  buyer id on the channel
    const char *name;                  //  buyer display name (static)
    char body[160];                    //  message text, UTF-8
    char agent[48];                    //  agent id (agent replies, presence, ratings, closes)
    int customer_index;                //  0 .. customers-1, unique per buyer
    Kefu__V1__CustomerMessage msg;     //  points at the fields above
    Kefu__V1__AgentReply reply;        //  bench_item_reply: points at the fields above
    Kefu__V1__CustomerRating rating;   //  bench_item_rating
    Kefu__V1__ConversationClose close; //  bench_item_close
    Kefu__V1__AgentPresence presence;  //  bench_item_presence
    char order_id[48];                 //  bench_item_order, bench_item_review
    Kefu__V1__OrderUpdate order;       //  bench_item_order
    Kefu__V1__Review review;           //  bench_item_review
    Kefu__V1__InboundItem item;        //  points at the message of its kind and the fields above
} bench_item_t;

//  Fill `self` with item `seq` of gateway `gateway` (of `gateways`). The
//  item borrows from self: do not copy a bench_item_t after this call.
void bench_item_make (bench_item_t *self, const char *shop_id, const char *prefix, int gateway,
                      int gateways, int64_t seq, int customers, uint64_t *rng);

//  The same with the buyer chosen: buyer k (0 .. customers/gateways - 1)
//  of gateway `gateway`, whose customer_index is gateway * per_gateway + k.
void bench_item_customer (bench_item_t *self, const char *shop_id, const char *prefix, int gateway,
                          int per_gateway, int k, int64_t seq, uint64_t *rng);

//  Items of the other kinds, on the platform chat channel with sent_at now
//  (set item.channel after the call for another channel); the buyer is
//  buyer k of gateway `gateway` as above, the agent an agent id:
//  an agent's reply (now and then one with a forbidden phrase, 服务禁忌),
//  the buyer's rating (score 1-5), the conversation closed by the agent
//  (agent non-empty: resolved) or by the buyer (agent "": customer left),
//  an agent's presence (with a handover note, 交接留言, when going offline).
void bench_item_reply (bench_item_t *self, const char *shop_id, const char *prefix, int gateway,
                       int k, const char *agent, int64_t seq, uint64_t *rng);
void bench_item_rating (bench_item_t *self, const char *shop_id, const char *prefix, int gateway,
                        int k, const char *agent, int64_t seq, uint64_t *rng);
void bench_item_close (bench_item_t *self, const char *shop_id, const char *prefix, int gateway,
                       int k, const char *agent, int64_t seq);
void bench_item_presence (bench_item_t *self, const char *shop_id, const char *prefix,
                          const char *agent, Kefu__V1__AgentStatus status, int64_t seq);

//  The buyer's order (a platform connector's snapshot): order id
//  "<prefix>-o<seq>", placed a minute ago and paid now, amount_cents; and
//  the buyer's review of an order (stars 1-5; the text a bad one's).
void bench_item_order (bench_item_t *self, const char *shop_id, const char *prefix, int gateway,
                       int k, int64_t seq, int64_t amount_cents);
void bench_item_review (bench_item_t *self, const char *shop_id, const char *prefix, int gateway,
                        int k, int64_t seq, const char *order_id, uint32_t stars);

//  The buyer a customer id made here belongs to: its gateway and k; -1 if
//  the id was not made here.
int bench_customer_parse (const uint8_t *id, size_t len, int *gateway);

//  The sequence number encoded in a gateway_msg_id made here; -1 if none.
int64_t bench_item_seq (const uint8_t *msg_id, size_t len);

//  Mean packed size of the GatewayFrame carrying such an item, of the
//  IntakeFrame carrying its ACCEPTED ack, and of the message bodies, over a
//  sample of 1,000 items.
typedef struct {
    double frame_bytes; //  GatewayFrame{item}
    double ack_bytes;   //  IntakeFrame{ack}
    double body_bytes;  //  body text
    int body_min;       //  shortest body seen
    int body_max;       //  longest body seen
} bench_corpus_sizes_t;
void bench_corpus_sizes (const char *shop_id, int gateways, int customers,
                         bench_corpus_sizes_t *out);

//  xorshift64*: fast, deterministic per seed; *state must not be 0.
uint64_t bench_rand (uint64_t *state);

#endif
