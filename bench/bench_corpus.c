/*  bench_corpus — realistic customer messages for the benchmarks. */
#include "bench_corpus.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

//  What buyers write to a clothing shop on Taobao: pre-sales questions,
//  bargaining, urging, logistics, returns, praise. 30-60 bytes of UTF-8
//  each (a Chinese character is 3 bytes); %s takes an order number.
static const char *s_bodies[] = {
    "亲，这件衣服有M码吗？",
    "在吗？我昨天拍的那件什么时候发货啊",
    "快递到哪里了？三天了还没收到",
    "可以便宜点吗？我买两件有优惠吗",
    "订单%s麻烦帮我查一下物流",
    "衣服收到了，尺码偏小，想换大一号",
    "这个颜色和图片上不一样，可以退货吗",
    "请问有没有优惠券可以用？",
    "能不能今天发货？急用，谢谢",
    "我要退款，质量太差了，线头很多",
    "这款是纯棉的吗？会不会起球",
    "身高165体重110穿什么码合适？",
    "已经付款了，请尽快安排发货",
    "包邮吗？新疆偏远地区能发吗",
    "怎么还没有物流信息？都两天了",
    "客服在吗，有个问题想咨询一下",
    "收到货了，很满意，下次还来买",
    "这个价格能再少一点吗？老顾客了",
    "退货地址发我一下，我已经寄回了",
    "订单显示已签收，可是我没收到啊",
    "这双鞋37码还有白色的吗？",
    "赠品怎么没有收到？说好的送袜子",
    "能开发票吗？公司报销要用",
    "我想修改收货地址，还来得及吗",
    "订单%s的快递单号是多少？",
    "洗了一次就掉色了，怎么处理？",
};
#define S_BODIES (sizeof s_bodies / sizeof s_bodies[0])

//  Nick roots and display names of buyers (an id is root + number).
static const char *s_roots[] = {"xiaomei", "kuaile", "tb_buyer", "lucky", "sunny", "meimei",
                                "dahai",   "xiaoyu", "jiajia",   "momo",  "ahua",  "coco"};
static const char *s_names[] = {"小美", "快乐每一天", "买买买", "幸运星", "阳光", "美美",
                                "大海", "小鱼儿",     "佳佳",   "默默",   "阿华", "可可"};
#define S_ROOTS (sizeof s_roots / sizeof s_roots[0])

uint64_t
bench_rand (uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static int64_t
s_wall_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

//  What agents answer (服务用语), and now and then a forbidden phrase
//  (服务禁忌) that QA flags.
static const char *s_replies[] = {
    "亲，有的哦，M码现在有现货，今天拍下今天发～",
    "您好，已经帮您催促仓库了，今天一定发出",
    "亲，快递在路上了，预计明天送达，请耐心等待哦",
    "这边给您申请了一张5元优惠券，下单可以直接用",
    "亲，尺码不合适可以免费换的，退货地址稍后发您",
    "非常抱歉给您带来不便，已经为您登记退款了",
    "您好，纯棉面料的，洗后不会起球，放心购买",
    "亲，身高165体重110建议选M码哦",
    "新疆地区也是包邮的，大概5-7天到",
    "收到您的好评啦，感谢亲的支持，欢迎再来～",
    "发票可以开的，请把抬头和税号发给我",
    "地址已经帮您改好了，请核对一下",
    "这个没办法哦，活动价已经是最低了",
};
#define S_REPLIES (sizeof s_replies / sizeof s_replies[0])

static const char *s_comments[] = {"",           "",     "服务很好，解答很耐心",
                                   "发货太慢了", "满意", "客服态度好，下次还来"};
#define S_COMMENTS (sizeof s_comments / sizeof s_comments[0])

//  The parts every item has: shop, id, time, platform chat channel.
static void
s_item_base (bench_item_t *self, const char *shop_id, const char *prefix, int64_t seq)
{
    snprintf (self->shop_id, sizeof self->shop_id, "%s", shop_id);
    snprintf (self->msg_id, sizeof self->msg_id, "%s-%" PRId64, prefix, seq);
    Kefu__V1__InboundItem item = KEFU__V1__INBOUND_ITEM__INIT;
    self->item = item;
    self->item.shop_id.data = (uint8_t *) self->shop_id;
    self->item.shop_id.len = strlen (self->shop_id);
    self->item.gateway_msg_id.data = (uint8_t *) self->msg_id;
    self->item.gateway_msg_id.len = strlen (self->msg_id);
    self->item.sent_at_ms = s_wall_ms ();
    self->item.channel = KEFU__V1__CHANNEL__CHANNEL_PLATFORM_CHAT;
}

//  Buyer k of a gateway: id, display name, index.
static void
s_buyer (bench_item_t *self, int gateway, int per_gateway, int k)
{
    self->customer_index = gateway * per_gateway + k;
    snprintf (self->customer, sizeof self->customer, "%s_%02d%06d", s_roots[k % S_ROOTS], gateway,
              k);
    self->name = s_names[k % S_ROOTS];
}

static ProtobufCBinaryData
s_bytes (const char *s)
{
    return (ProtobufCBinaryData){strlen (s), (uint8_t *) s};
}

void
bench_item_customer (bench_item_t *self, const char *shop_id, const char *prefix, int gateway,
                     int per_gateway, int k, int64_t seq, uint64_t *rng)
{
    s_item_base (self, shop_id, prefix, seq);
    s_buyer (self, gateway, per_gateway, k);
    const char *body = s_bodies[bench_rand (rng) % S_BODIES];
    if (strstr (body, "%s")) {
        char order[24];
        //  Taobao order numbers have 18-19 digits.
        uint64_t number = 1000000000000000000ULL + bench_rand (rng) % 8000000000000000000ULL;
        snprintf (order, sizeof order, "%" PRIu64, number);
        const char *at = strstr (body, "%s");
        snprintf (self->body, sizeof self->body, "%.*s%s%s", (int) (at - body), body, order,
                  at + 2);
    } else
        snprintf (self->body, sizeof self->body, "%s", body);

    Kefu__V1__CustomerMessage msg = KEFU__V1__CUSTOMER_MESSAGE__INIT;
    self->msg = msg;
    self->msg.customer_id = s_bytes (self->customer);
    self->msg.customer_name = s_bytes (self->name);
    self->msg.body = s_bytes (self->body);
    self->msg.vip = k % 50 == 0;
    self->item.kind_case = KEFU__V1__INBOUND_ITEM__KIND_CUSTOMER_MESSAGE;
    self->item.customer_message = &self->msg;
}

void
bench_item_make (bench_item_t *self, const char *shop_id, const char *prefix, int gateway,
                 int gateways, int64_t seq, int customers, uint64_t *rng)
{
    int per_gateway = customers / (gateways > 0 ? gateways : 1);
    if (per_gateway < 1)
        per_gateway = 1;
    int k = (int) (bench_rand (rng) % (uint64_t) per_gateway);
    bench_item_customer (self, shop_id, prefix, gateway, per_gateway, k, seq, rng);
}

void
bench_item_reply (bench_item_t *self, const char *shop_id, const char *prefix, int gateway, int k,
                  const char *agent, int64_t seq, uint64_t *rng)
{
    s_item_base (self, shop_id, prefix, seq);
    s_buyer (self, gateway, 0, k);
    snprintf (self->agent, sizeof self->agent, "%s", agent);
    snprintf (self->body, sizeof self->body, "%s", s_replies[bench_rand (rng) % S_REPLIES]);
    Kefu__V1__AgentReply reply = KEFU__V1__AGENT_REPLY__INIT;
    self->reply = reply;
    self->reply.customer_id = s_bytes (self->customer);
    self->reply.agent_id = s_bytes (self->agent);
    self->reply.body = s_bytes (self->body);
    self->item.kind_case = KEFU__V1__INBOUND_ITEM__KIND_AGENT_REPLY;
    self->item.agent_reply = &self->reply;
}

void
bench_item_order (bench_item_t *self, const char *shop_id, const char *prefix, int gateway, int k,
                  int64_t seq, int64_t amount_cents)
{
    s_item_base (self, shop_id, prefix, seq);
    s_buyer (self, gateway, 0, k);
    snprintf (self->order_id, sizeof self->order_id, "%s-o%" PRId64, prefix, seq);
    snprintf (self->body, sizeof self->body, "%s", "高腰显瘦牛仔裤女直筒 M x1");
    Kefu__V1__OrderUpdate order = KEFU__V1__ORDER_UPDATE__INIT;
    self->order = order;
    self->order.order_id = s_bytes (self->order_id);
    self->order.customer_id = s_bytes (self->customer);
    self->order.state = KEFU__V1__ORDER_STATE__ORDER_PAID;
    self->order.payment = KEFU__V1__PAYMENT_METHOD__PAYMENT_ONLINE;
    self->order.amount_cents = amount_cents;
    self->order.currency = s_bytes ("CNY");
    self->order.items = s_bytes (self->body);
    self->order.created_at_ms = self->item.sent_at_ms - 60000;
    self->order.paid_at_ms = self->order.modified_at_ms = self->item.sent_at_ms;
    self->item.kind_case = KEFU__V1__INBOUND_ITEM__KIND_ORDER_UPDATE;
    self->item.order_update = &self->order;
}

void
bench_item_review (bench_item_t *self, const char *shop_id, const char *prefix, int gateway, int k,
                   int64_t seq, const char *order_id, uint32_t stars)
{
    s_item_base (self, shop_id, prefix, seq);
    s_buyer (self, gateway, 0, k);
    snprintf (self->order_id, sizeof self->order_id, "%s", order_id);
    snprintf (self->body, sizeof self->body, "%s",
              stars <= 2 ? "质量太差了，和描述不符，客服态度也不好" : "还行吧，物流有点慢");
    Kefu__V1__Review review = KEFU__V1__REVIEW__INIT;
    self->review = review;
    self->review.order_id = s_bytes (self->order_id);
    self->review.customer_id = s_bytes (self->customer);
    self->review.stars = stars;
    self->review.text = s_bytes (self->body);
    self->review.reviewed_at_ms = self->item.sent_at_ms;
    self->item.kind_case = KEFU__V1__INBOUND_ITEM__KIND_REVIEW;
    self->item.review = &self->review;
}

void
bench_item_rating (bench_item_t *self, const char *shop_id, const char *prefix, int gateway, int k,
                   const char *agent, int64_t seq, uint64_t *rng)
{
    s_item_base (self, shop_id, prefix, seq);
    s_buyer (self, gateway, 0, k);
    snprintf (self->agent, sizeof self->agent, "%s", agent);
    //  Mostly satisfied: 5 5 5 5 4 4 3 2 1 5.
    static const uint32_t scores[] = {5, 5, 5, 5, 4, 4, 3, 2, 1, 5};
    Kefu__V1__CustomerRating rating = KEFU__V1__CUSTOMER_RATING__INIT;
    self->rating = rating;
    self->rating.customer_id = s_bytes (self->customer);
    self->rating.score = scores[bench_rand (rng) % 10];
    self->rating.comment = s_bytes (s_comments[bench_rand (rng) % S_COMMENTS]);
    self->rating.agent_id = s_bytes (self->agent);
    self->item.kind_case = KEFU__V1__INBOUND_ITEM__KIND_CUSTOMER_RATING;
    self->item.customer_rating = &self->rating;
}

void
bench_item_close (bench_item_t *self, const char *shop_id, const char *prefix, int gateway, int k,
                  const char *agent, int64_t seq)
{
    s_item_base (self, shop_id, prefix, seq);
    s_buyer (self, gateway, 0, k);
    snprintf (self->agent, sizeof self->agent, "%s", agent);
    Kefu__V1__ConversationClose close = KEFU__V1__CONVERSATION_CLOSE__INIT;
    self->close = close;
    self->close.customer_id = s_bytes (self->customer);
    self->close.agent_id = s_bytes (self->agent);
    self->close.reason = agent[0] ? KEFU__V1__CLOSE_REASON__CLOSE_REASON_RESOLVED
                                  : KEFU__V1__CLOSE_REASON__CLOSE_REASON_CUSTOMER_LEFT;
    self->item.kind_case = KEFU__V1__INBOUND_ITEM__KIND_CONVERSATION_CLOSE;
    self->item.conversation_close = &self->close;
}

void
bench_item_presence (bench_item_t *self, const char *shop_id, const char *prefix, const char *agent,
                     Kefu__V1__AgentStatus status, int64_t seq)
{
    s_item_base (self, shop_id, prefix, seq);
    self->customer[0] = '\0';
    self->customer_index = -1;
    snprintf (self->agent, sizeof self->agent, "%s", agent);
    snprintf (self->body, sizeof self->body, "%s",
              status == KEFU__V1__AGENT_STATUS__AGENT_STATUS_OFFLINE
                  ? "下班了，没回复的客户请接着跟进，谢谢"
                  : "");
    Kefu__V1__AgentPresence presence = KEFU__V1__AGENT_PRESENCE__INIT;
    self->presence = presence;
    self->presence.agent_id = s_bytes (self->agent);
    self->presence.status = status;
    self->presence.handover_note = s_bytes (self->body);
    self->item.kind_case = KEFU__V1__INBOUND_ITEM__KIND_AGENT_PRESENCE;
    self->item.agent_presence = &self->presence;
}

int
bench_customer_parse (const uint8_t *id, size_t len, int *gateway)
{
    //  <root>_GGKKKKKK
    if (len < 9 || id[len - 9] != '_')
        return -1;
    int value[2] = {0, 0};
    for (size_t i = len - 8; i < len; i++) {
        if (id[i] < '0' || id[i] > '9')
            return -1;
        int which = i < len - 6 ? 0 : 1;
        value[which] = value[which] * 10 + (id[i] - '0');
    }
    *gateway = value[0];
    return value[1];
}

int64_t
bench_item_seq (const uint8_t *msg_id, size_t len)
{
    size_t i = len;
    while (i > 0 && msg_id[i - 1] != '-')
        i--;
    if (i == 0 || i == len)
        return -1;
    int64_t seq = 0;
    for (; i < len; i++) {
        if (msg_id[i] < '0' || msg_id[i] > '9')
            return -1;
        seq = seq * 10 + (msg_id[i] - '0');
    }
    return seq;
}

void
bench_corpus_sizes (const char *shop_id, int gateways, int customers, bench_corpus_sizes_t *out)
{
    memset (out, 0, sizeof *out);
    out->body_min = 1 << 30;
    uint64_t rng = 0x9e3779b97f4a7c15ULL;
    enum { SAMPLE = 1000 };
    for (int i = 0; i < SAMPLE; i++) {
        bench_item_t it;
        char prefix[16];
        snprintf (prefix, sizeof prefix, "s%d", i % gateways);
        bench_item_make (&it, shop_id, prefix, i % gateways, gateways, 100000 + i, customers, &rng);
        Kefu__V1__GatewayFrame frame = KEFU__V1__GATEWAY_FRAME__INIT;
        frame.body_case = KEFU__V1__GATEWAY_FRAME__BODY_ITEM;
        frame.item = &it.item;
        out->frame_bytes += (double) kefu__v1__gateway_frame__get_packed_size (&frame);
        int body = (int) it.msg.body.len;
        out->body_bytes += body;
        if (body < out->body_min)
            out->body_min = body;
        if (body > out->body_max)
            out->body_max = body;
        Kefu__V1__Ack ack = KEFU__V1__ACK__INIT;
        ack.gateway_msg_id = it.item.gateway_msg_id;
        ack.shop_id = it.item.shop_id;
        ack.status = KEFU__V1__ACK_STATUS__ACK_ACCEPTED;
        ack.stored_id = 1000000 + i;
        Kefu__V1__IntakeFrame reply = KEFU__V1__INTAKE_FRAME__INIT;
        reply.body_case = KEFU__V1__INTAKE_FRAME__BODY_ACK;
        reply.ack = &ack;
        out->ack_bytes += (double) kefu__v1__intake_frame__get_packed_size (&reply);
    }
    out->frame_bytes /= SAMPLE;
    out->ack_bytes /= SAMPLE;
    out->body_bytes /= SAMPLE;
}
