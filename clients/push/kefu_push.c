/*  kefu_push.c — kefu-push: JSON lines on stdin -> intake, one JSON ack per line on stdout.

    A command-line gateway built on libkefu-gateway: replays recorded shop
    traffic (deploy/samples/shop-day.jsonl), feeds test data, and shows
    gateway authors what a session looks like on the wire.

    Input: one JSON object per line (blank lines are skipped). Every line is
    one item; common fields first, then the fields of its type:

      type       "customer_message" | "agent_reply" | "agent_presence" |
                 "rating" | "close" | "transfer" | "review" | "order_update" |
                 "order_flag"                                      (required)
                 (the item kinds' names in gateway.proto are accepted too:
                 "customer_rating", "conversation_close", "transfer_request")
      shop_id    kefu shop id, e.g. "demo-shop"                     (required)
      id         the item's unique id (gateway_msg_id), <= 128 bytes (required)
      channel    "platform_chat" | "wechat" | "web_chat" | "email" | "phone"
                 (intake requires it on every item, presence changes too)
      sent_at    when it happened: ISO-8601 with a UTC offset or Z
                 ("2026-11-23T09:00:05+08:00", "2026-11-23T01:00:05.250Z"),
                 or integer milliseconds since the epoch; missing = now

      customer_message  customer_id, customer_name, body, vip (true|false),
                        order_id
      agent_reply       customer_id, agent_id, body, auto_reply (true|false)
      agent_presence    agent_id, status ("online" | "busy" | "away" |
                        "offline"), handover_note (交接留言, when going offline)
      rating            customer_id, score (integer, 1..5), comment, agent_id
      close             customer_id, agent_id, reason ("resolved" |
                        "customer_left" | "quiet" | "transferred")
      transfer          customer_id, agent_id (who asks), to_agent_id (who
                        should take over), reason: routing carries it out and
                        records it, or refuses it (target full, not active)
      review            order_id, customer_id, grade ("good" | "neutral" |
                        "negative") or stars (integer, 1..5), text, item,
                        phone; the review's time is sent_at: a neutral or
                        negative one opens a 中差评 case in kefu-escalation
      order_update      order_id, customer_id (the buyer on the channel), state
                        ("created" | "paid" | "shipped" | "delivered" |
                        "refunding" | "refunded" | "closed"), payment ("online" |
                        "cash_on_delivery"), amount_cents (integer, 分),
                        currency, created_at, paid_at, shipped_at, delivered_at,
                        logistics_at, modified_at (times as sent_at; the
                        proto's names created_at_ms, ... work too; modified_at
                        missing = sent_at), tracking_no, items,
                        receiver_address, receiver_phone
      order_flag        order_id, colour ("red" | "yellow" | "green" | "blue" |
                        "purple"), meaning ("address_confirmed" |
                        "cod_confirmed" | "reminded"), note, agent_id,
                        customer_id

    Example lines:
      {"type":"customer_message","shop_id":"demo-shop","id":"m-0001","channel":"platform_chat",
       "sent_at":"2026-11-23T09:00:05+08:00","customer_id":"tb_lily88","customer_name":"lily",
       "body":"在吗？","vip":false,"order_id":"TB123"}
      {"type":"agent_reply","shop_id":"demo-shop","id":"m-0002","channel":"platform_chat",
       "sent_at":"2026-11-23T09:00:20+08:00","customer_id":"tb_lily88","agent_id":"xiaomei",
       "body":"亲，在的","auto_reply":false}
      {"type":"agent_presence","shop_id":"demo-shop","id":"p-0001","channel":"platform_chat",
       "sent_at":"2026-11-23T17:30:00+08:00","agent_id":"xiaomei","status":"offline",
       "handover_note":"tb_lily88 等退款，已催财务"}
      {"type":"rating","shop_id":"demo-shop","id":"r-0001","channel":"platform_chat",
       "sent_at":"2026-11-23T09:10:00+08:00","customer_id":"tb_lily88","score":5,
       "comment":"很满意","agent_id":"xiaomei"}
      {"type":"close","shop_id":"demo-shop","id":"c-0001","channel":"platform_chat",
       "sent_at":"2026-11-23T09:10:30+08:00","customer_id":"tb_lily88","agent_id":"xiaomei",
       "reason":"resolved"}
      {"type":"order_update","shop_id":"demo-shop","id":"o-0001","channel":"platform_chat",
       "sent_at":"2026-11-23T09:12:00+08:00","order_id":"TB123","customer_id":"tb_lily88",
       "state":"paid","payment":"online","amount_cents":12900,
       "created_at":"2026-11-23T09:11:00+08:00","paid_at":"2026-11-23T09:12:00+08:00"}
      {"type":"order_flag","shop_id":"demo-shop","id":"f-0001","channel":"platform_chat",
       "sent_at":"2026-11-23T09:15:00+08:00","order_id":"TB123","colour":"red",
       "meaning":"address_confirmed","note":"发邮政快递","agent_id":"xiaomei"}

    Text goes into the item's bytes fields exactly as written: kefu-push does
    not trim, shorten or check it (intake does, and answers REJECTED with the
    reason). Only what cannot become an item is refused locally: a line that
    is not a JSON object (code "malformed"), an unknown type, field or enum
    word, or a value of the wrong JSON type ("invalid_value"), and a missing
    type, shop_id or id ("missing_field"). Absent optional fields are sent
    empty; an absent enum is sent as UNSPECIFIED (intake decides).

    Output: one JSON line per item, in the order the answers arrive:
      {"line":1,"id":"m-0001","shop_id":"demo-shop","status":"accepted","stored_id":123}
      {"line":2,"id":"m-0001","shop_id":"demo-shop","status":"duplicate","stored_id":123}
      {"line":3,"id":"m-0003","shop_id":"demo-shop","status":"rejected","code":"invalid_value",
       "reason":"customer_rating.score is 9, must be 1..5"}
      {"line":4,"status":"rejected","code":"malformed","reason":"..."}
      {"line":5,"id":"m-0005","shop_id":"demo-shop","status":"unacked"}   (at the end, if no ack)
    With --commands, commands from intake are printed as
      {"command":"assign","command_id":7,"shop_id":"demo-shop","channel":"platform_chat",...}
    and acked as delivered. At the end a summary goes to stderr:
      kefu-push: 120 items: 118 accepted, 1 duplicate, 1 rejected, 0 unacked

    Exit: 0 every item ACCEPTED or DUPLICATE; 1 something was rejected (by
    intake or locally); 3 some items got no final ack within KEFU_PUSH_TIMEOUT
    (wins over 1); 2 bad usage or configuration. */
#include "kefu_gateway.h"
#include "kf_config.h"
#include "kf_error.h"
#include "kf_log.h"
#include "kf_valid.h"

#include <czmq.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_LINE_MAX (4 * 1024 * 1024) //  longer input lines are refused (malformed)

typedef struct {
    char *endpoint;        //  KEFU_PUSH_ENDPOINT
    char *gateway_id;      //  KEFU_PUSH_GATEWAY_ID
    char *server_key;      //  KEFU_PUSH_SERVER_KEY (Z85), empty = plain
    char *secret_key_file; //  KEFU_PUSH_SECRET_KEY_FILE
    int64_t window;        //  KEFU_PUSH_WINDOW
    int64_t timeout_ms;    //  KEFU_PUSH_TIMEOUT
    char *serves;          //  KEFU_PUSH_SERVES: "shop:channel,..."
} push_config_t;

static const kf_config_entry_t s_entries[] = {
    {"KEFU_PUSH_ENDPOINT", KF_CFG_STRING, offsetof (push_config_t, endpoint),
     "tcp://127.0.0.1:5555", "intake's gateway endpoint", 0, 0, NULL, 0},
    {"KEFU_PUSH_GATEWAY_ID", KF_CFG_STRING, offsetof (push_config_t, gateway_id), "kefu-push",
     "gateway id sent in Hello (part of intake's de-dup key); with a key, an id registered to it "
     "(by default the principal id; kefuctl principal add/bind --gateway-id)",
     0, 0, NULL, 0},
    {"KEFU_PUSH_SERVER_KEY", KF_CFG_STRING, offsetof (push_config_t, server_key), "",
     "intake's CURVE public key (Z85); empty = plain (development only)", 0, 0, NULL, 0},
    {"KEFU_PUSH_SECRET_KEY_FILE", KF_CFG_STRING, offsetof (push_config_t, secret_key_file), "",
     "this gateway's key pair (zcert _secret file), with SERVER_KEY", 0, 0, NULL, KF_CFG_SECRET},
    {"KEFU_PUSH_WINDOW", KF_CFG_INT, offsetof (push_config_t, window), "1000",
     "items in flight (sent, not yet acked) at most", 1, 100000, NULL, 0},
    {"KEFU_PUSH_TIMEOUT", KF_CFG_DURATION, offsetof (push_config_t, timeout_ms), "30s",
     "wait this long for the last acks (and for any ack when the window is full)", 0, 86400000,
     NULL, 0},
    {"KEFU_PUSH_SERVES", KF_CFG_STRING, offsetof (push_config_t, serves), "",
     "shop:channel,... to take commands for (--commands)", 0, 0, NULL, 0},
    KF_CONFIG_END};

static const char *s_usage =
    "Flags:\n"
    "  --rebase     shift every sent_at so the first item's is now, keeping the intervals\n"
    "               (the samples carry fixed dates; intake refuses timestamps far from now)\n"
    "  --speed N    replay pacing: wait (difference of sent_at) / N between items\n"
    "               (1 = real time, 60 = a minute per second); default: no pacing\n"
    "  --commands   print commands intake sends for KEFU_PUSH_SERVES as JSON lines and ack\n"
    "               them delivered; keeps running after the input ends, until Ctrl-C\n"
    "               (an assign with \"agent_id\":\"\" gives the conversation to nobody: the\n"
    "               agent in previous_agent_id left it and it waits in kefu's queue; an\n"
    "               assign and a suggest carry \"suggestions\": the shop's quick replies for\n"
    "               the agent, [{\"phrase_id\",\"intent\",\"text\"}], filled in)\n"
    "\n"
    "Input: one JSON object per line (blank lines are skipped):\n"
    "  type       customer_message | agent_reply | agent_presence | rating | close |\n"
    "             transfer | review | order_update | order_flag  (required;\n"
    "             customer_rating, conversation_close and\n"
    "             transfer_request, the kinds' names in gateway.proto, work too)\n"
    "  shop_id    kefu shop id (required)     id  unique item id, <= 128 bytes (required)\n"
    "  channel    platform_chat | wechat | web_chat | email | phone (intake requires it\n"
    "             on every item, presence changes too)\n"
    "  sent_at    ISO-8601 with offset or Z (2026-11-23T09:00:05+08:00), or integer ms;\n"
    "             missing = now\n"
    "  customer_message: customer_id, customer_name, body, vip (bool), order_id\n"
    "  agent_reply:      customer_id, agent_id, body, auto_reply (bool)\n"
    "  agent_presence:   agent_id, status (online|busy|away|offline), handover_note\n"
    "  rating:           customer_id, score (1..5), comment, agent_id\n"
    "  transfer:         customer_id, agent_id (who asks), to_agent_id, reason\n"
    "  review:           order_id, customer_id, grade (good|neutral|negative) or stars\n"
    "                    (1..5), text, item, phone (the review's time is sent_at)\n"
    "  close:            customer_id, agent_id,\n"
    "                    reason (resolved|customer_left|quiet|transferred)\n"
    "  order_update:     order_id, customer_id, state (created|paid|shipped|delivered|\n"
    "                    refunding|refunded|closed), payment (online|cash_on_delivery),\n"
    "                    amount_cents (integer), currency, created_at, paid_at,\n"
    "                    shipped_at, delivered_at, logistics_at, modified_at (as sent_at;\n"
    "                    or created_at_ms, ...; modified_at missing = sent_at),\n"
    "                    tracking_no, items, receiver_address, receiver_phone\n"
    "  order_flag:       order_id, colour (red|yellow|green|blue|purple), meaning\n"
    "                    (address_confirmed|cod_confirmed|reminded), note, agent_id,\n"
    "                    customer_id\n"
    "  e.g. {\"type\":\"customer_message\",\"shop_id\":\"demo-shop\",\"id\":\"m-0001\",\n"
    "        \"channel\":\"platform_chat\",\"sent_at\":\"2026-11-23T09:00:05+08:00\",\n"
    "        \"customer_id\":\"tb_lily88\",\"customer_name\":\"lily\",\"body\":\"在吗？\",\n"
    "        \"vip\":false,\"order_id\":\"TB123\"}\n"
    "  Text is sent as written; intake validates it. Lines that cannot become an item\n"
    "  (bad JSON, unknown type/field/word, wrong JSON type) are refused locally.\n"
    "\n"
    "Output: one JSON line per item, as the acks arrive:\n"
    "  {\"line\":1,\"id\":\"m-0001\",\"shop_id\":\"demo-shop\",\"status\":\"accepted\","
    "\"stored_id\":123}\n"
    "  status accepted | duplicate (stored_id of the original) | rejected (code, reason) |\n"
    "  unacked (no answer within KEFU_PUSH_TIMEOUT). A summary line goes to stderr.\n"
    "\n"
    "Exit codes of kefu-push: 0 all accepted or duplicate, 1 something rejected,\n"
    "  2 bad usage or configuration, 3 some items unacked (wins over 1).";

static const kf_config_spec_t s_spec = {
    "kefu-push",
    "kefu-push reads items (customer messages, agent replies, presence changes, ratings,\n"
    "conversation closes, reviews, order snapshots and flags) as JSON lines on stdin,\n"
    "delivers them to kefu's intake service through libkefu-gateway (acked, resent until\n"
    "stored) and prints one JSON answer per item.",
    NULL, s_entries, NULL};

//  Words of the input's enums.
typedef struct {
    const char *word;
    int value;
} s_word_t;

static const s_word_t s_channels[] = {{"platform_chat", KEFU__V1__CHANNEL__CHANNEL_PLATFORM_CHAT},
                                      {"wechat", KEFU__V1__CHANNEL__CHANNEL_WECHAT},
                                      {"web_chat", KEFU__V1__CHANNEL__CHANNEL_WEB_CHAT},
                                      {"email", KEFU__V1__CHANNEL__CHANNEL_EMAIL},
                                      {"phone", KEFU__V1__CHANNEL__CHANNEL_PHONE},
                                      {NULL, 0}};
static const s_word_t s_statuses[] = {{"online", KEFU__V1__AGENT_STATUS__AGENT_STATUS_ONLINE},
                                      {"busy", KEFU__V1__AGENT_STATUS__AGENT_STATUS_BUSY},
                                      {"away", KEFU__V1__AGENT_STATUS__AGENT_STATUS_AWAY},
                                      {"offline", KEFU__V1__AGENT_STATUS__AGENT_STATUS_OFFLINE},
                                      {NULL, 0}};
static const s_word_t s_grades[] = {{"good", KEFU__V1__REVIEW_GRADE__REVIEW_GOOD},
                                    {"neutral", KEFU__V1__REVIEW_GRADE__REVIEW_NEUTRAL},
                                    {"negative", KEFU__V1__REVIEW_GRADE__REVIEW_NEGATIVE},
                                    {NULL, 0}};
static const s_word_t s_order_states[] = {{"created", KEFU__V1__ORDER_STATE__ORDER_CREATED},
                                          {"paid", KEFU__V1__ORDER_STATE__ORDER_PAID},
                                          {"shipped", KEFU__V1__ORDER_STATE__ORDER_SHIPPED},
                                          {"delivered", KEFU__V1__ORDER_STATE__ORDER_DELIVERED},
                                          {"refunding", KEFU__V1__ORDER_STATE__ORDER_REFUNDING},
                                          {"refunded", KEFU__V1__ORDER_STATE__ORDER_REFUNDED},
                                          {"closed", KEFU__V1__ORDER_STATE__ORDER_CLOSED},
                                          {NULL, 0}};
static const s_word_t s_payments[] = {
    {"online", KEFU__V1__PAYMENT_METHOD__PAYMENT_ONLINE},
    {"cash_on_delivery", KEFU__V1__PAYMENT_METHOD__PAYMENT_CASH_ON_DELIVERY},
    {NULL, 0}};
static const s_word_t s_colours[] = {{"red", KEFU__V1__ORDER_FLAG_COLOUR__ORDER_FLAG_RED},
                                     {"yellow", KEFU__V1__ORDER_FLAG_COLOUR__ORDER_FLAG_YELLOW},
                                     {"green", KEFU__V1__ORDER_FLAG_COLOUR__ORDER_FLAG_GREEN},
                                     {"blue", KEFU__V1__ORDER_FLAG_COLOUR__ORDER_FLAG_BLUE},
                                     {"purple", KEFU__V1__ORDER_FLAG_COLOUR__ORDER_FLAG_PURPLE},
                                     {NULL, 0}};
static const s_word_t s_meanings[] = {
    {"address_confirmed", KEFU__V1__ORDER_FLAG_MEANING__ORDER_FLAG_ADDRESS_CONFIRMED},
    {"cod_confirmed", KEFU__V1__ORDER_FLAG_MEANING__ORDER_FLAG_COD_CONFIRMED},
    {"reminded", KEFU__V1__ORDER_FLAG_MEANING__ORDER_FLAG_REMINDED},
    {NULL, 0}};
static const s_word_t s_reasons[] = {
    {"resolved", KEFU__V1__CLOSE_REASON__CLOSE_REASON_RESOLVED},
    {"customer_left", KEFU__V1__CLOSE_REASON__CLOSE_REASON_CUSTOMER_LEFT},
    {"quiet", KEFU__V1__CLOSE_REASON__CLOSE_REASON_QUIET},
    {"transferred", KEFU__V1__CLOSE_REASON__CLOSE_REASON_TRANSFERRED},
    {NULL, 0}};

//  Input lines of the items in flight with one (shop_id, id): the same id
//  may appear more than once, each gets its own answer, in order.
typedef struct {
    char *id;      //  the item's id, owned (for "unacked" lines)
    char *shop_id; //  its shop, owned
    size_t *lines; //  input line numbers, oldest first, owned
    size_t count;  //  entries in lines
} s_pending_t;

//  The program's state.
typedef struct {
    push_config_t config;     //  settings
    bool rebase;              //  --rebase
    double speed;             //  --speed, 0 = no pacing
    bool commands;            //  --commands
    kefu_gateway_t *gateway;  //  the connection to intake
    zhashx_t *pending;        //  hex(shop) ":" hex(id) -> s_pending_t
    size_t items;             //  non-blank input lines
    size_t accepted;          //  ACCEPTED answers
    size_t duplicate;         //  DUPLICATE answers
    size_t rejected;          //  REJECTED answers plus local refusals
    size_t sent;              //  items handed to the library
    int64_t last_progress_ms; //  when the last ack arrived (or sending started)
    bool have_first;          //  the first explicit sent_at has been seen
    int64_t first_sent_at;    //  the first explicit sent_at, as written
    int64_t rebase_offset;    //  added to every explicit sent_at with --rebase
    int64_t pace_anchor_ms;   //  monotonic time the first item was paced from
} push_t;

//  Output

static void
s_print (json_t *obj)
{
    char *text = json_dumps (obj, JSON_COMPACT);
    if (text) {
        puts (text);
        fflush (stdout);
        free (text);
    }
    json_decref (obj);
}

//  A JSON string of bytes; invalid UTF-8 becomes U+FFFD (output only).
static json_t *
s_json_bytes (const uint8_t *data, size_t len)
{
    if (len == 0)
        return json_string ("");
    size_t bad_at;
    if (kf_valid_utf8 (data, len, &bad_at) == 0 && !memchr (data, 0, len))
        return json_stringn ((const char *) data, len);
    char *copy = (char *) malloc (len * 3 + 1);
    if (!copy)
        return json_string ("");
    size_t out = 0, at = 0;
    while (at < len) {
        if (kf_valid_utf8 (data + at, len - at, &bad_at) == 0)
            bad_at = len - at;
        for (size_t i = 0; i < bad_at; i++)
            if (data[at + i])
                copy[out++] = (char) data[at + i];
        at += bad_at;
        if (at < len) {
            memcpy (copy + out, "\xEF\xBF\xBD", 3);
            out += 3;
            at++;
        }
    }
    json_t *value = json_stringn (copy, out);
    free (copy);
    return value;
}

static json_t *
s_json_text (ProtobufCBinaryData value)
{
    return s_json_bytes (value.data, value.len);
}

//  "CHANNEL_PLATFORM_CHAT" -> "platform_chat" (prefix stripped, lower case).
static json_t *
s_json_enum (const ProtobufCEnumDescriptor *desc, int value, const char *prefix)
{
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value (desc, value);
    if (!v)
        return json_integer (value);
    const char *name = v->name;
    size_t plen = strlen (prefix);
    if (strncmp (name, prefix, plen) == 0)
        name += plen;
    char word[64];
    size_t i = 0;
    for (; name[i] && i < sizeof word - 1; i++)
        word[i] = (char) (name[i] >= 'A' && name[i] <= 'Z' ? name[i] - 'A' + 'a' : name[i]);
    word[i] = '\0';
    return json_string (word);
}

static void
s_print_refusal (size_t line, const char *id, const char *shop_id, int code, const char *reason)
{
    json_t *obj = json_object ();
    json_object_set_new (obj, "line", json_integer ((json_int_t) line));
    if (id)
        json_object_set_new (obj, "id", json_string (id));
    if (shop_id)
        json_object_set_new (obj, "shop_id", json_string (shop_id));
    json_object_set_new (obj, "status", json_string ("rejected"));
    json_object_set_new (obj, "code", json_string (kf_error_code_name (code)));
    json_object_set_new (obj, "reason", json_string (reason));
    s_print (obj);
}

//  Pending lines

//  hex(shop) ":" hex(id): a string key for any bytes. Caller owns return value.
static char *
s_pending_key (const uint8_t *shop, size_t shop_len, const uint8_t *id, size_t id_len)
{
    char *key = (char *) malloc ((shop_len + id_len) * 2 + 2);
    if (!key)
        return NULL;
    char *p = key;
    for (size_t i = 0; i < shop_len; i++, p += 2)
        sprintf (p, "%02x", shop[i]);
    *p++ = ':';
    for (size_t i = 0; i < id_len; i++, p += 2)
        sprintf (p, "%02x", id[i]);
    *p = '\0';
    return key;
}

static void
s_pending_destroy (void **item_p)
{
    s_pending_t *pending = (s_pending_t *) *item_p;
    if (pending) {
        free (pending->id);
        free (pending->shop_id);
        free (pending->lines);
        free (pending);
        *item_p = NULL;
    }
}

//  A NUL-terminated copy of bytes. Caller owns return value.
static char *
s_memdup (ProtobufCBinaryData value)
{
    char *copy = (char *) malloc (value.len + 1);
    if (copy) {
        if (value.len)
            memcpy (copy, value.data, value.len);
        copy[value.len] = '\0';
    }
    return copy;
}

static int
s_pending_add (push_t *push, const Kefu__V1__InboundItem *item, size_t line)
{
    char *key = s_pending_key (item->shop_id.data, item->shop_id.len, item->gateway_msg_id.data,
                               item->gateway_msg_id.len);
    if (!key)
        return -1;
    s_pending_t *pending = (s_pending_t *) zhashx_lookup (push->pending, key);
    if (!pending) {
        pending = (s_pending_t *) calloc (1, sizeof *pending);
        if (!pending || !(pending->id = s_memdup (item->gateway_msg_id)) ||
            !(pending->shop_id = s_memdup (item->shop_id))) {
            void *p = pending;
            s_pending_destroy (&p);
            free (key);
            return -1;
        }
        zhashx_insert (push->pending, key, pending);
    }
    size_t *lines = (size_t *) realloc (pending->lines, (pending->count + 1) * sizeof (size_t));
    free (key);
    if (!lines)
        return -1;
    pending->lines = lines;
    pending->lines[pending->count++] = line;
    return 0;
}

//  The oldest line waiting for this (shop, id); 0 if none (an unexpected ack).
static size_t
s_pending_take (push_t *push, const Kefu__V1__Ack *ack)
{
    char *key = s_pending_key (ack->shop_id.data, ack->shop_id.len, ack->gateway_msg_id.data,
                               ack->gateway_msg_id.len);
    if (!key)
        return 0;
    size_t line = 0;
    s_pending_t *pending = (s_pending_t *) zhashx_lookup (push->pending, key);
    if (pending && pending->count) {
        line = pending->lines[0];
        memmove (pending->lines, pending->lines + 1, (pending->count - 1) * sizeof (size_t));
        if (--pending->count == 0)
            zhashx_delete (push->pending, key);
    }
    free (key);
    return line;
}

//  Callbacks

static void
s_on_ack (const Kefu__V1__Ack *ack, void *arg)
{
    push_t *push = (push_t *) arg;
    push->last_progress_ms = zclock_mono ();
    size_t line = s_pending_take (push, ack);
    json_t *obj = json_object ();
    json_object_set_new (obj, "line", line ? json_integer ((json_int_t) line) : json_null ());
    json_object_set_new (obj, "id", s_json_text (ack->gateway_msg_id));
    json_object_set_new (obj, "shop_id", s_json_text (ack->shop_id));
    json_object_set_new (obj, "status", json_string (kefu_gateway_status_name (ack->status)));
    if (ack->status == KEFU__V1__ACK_STATUS__ACK_REJECTED) {
        push->rejected++;
        json_object_set_new (obj, "code", json_string (kf_error_code_name ((int) ack->code)));
        json_object_set_new (
            obj, "reason",
            s_json_bytes ((const uint8_t *) ack->reason, ack->reason ? strlen (ack->reason) : 0));
    } else {
        if (ack->status == KEFU__V1__ACK_STATUS__ACK_ACCEPTED)
            push->accepted++;
        else
            push->duplicate++;
        json_object_set_new (obj, "stored_id", json_integer ((json_int_t) ack->stored_id));
    }
    s_print (obj);
}

//  Quick replies (快捷短语) of an assign or suggest command, for the agent:
//  [{"phrase_id", "intent", "text"}, ...].
static json_t *
s_json_suggestions (size_t n, Kefu__V1__Suggestion *const *list)
{
    json_t *array = json_array ();
    for (size_t i = 0; i < n; i++)
        json_array_append_new (
            array,
            json_pack ("{s:I, s:o, s:o}", "phrase_id", (json_int_t) list[i]->phrase_id, "intent",
                       list[i]->intent ? s_json_enum (&kefu__v1__intent__descriptor,
                                                      (int) list[i]->intent, "INTENT_")
                                       : json_string ("greeting"),
                       "text", s_json_text (list[i]->text)));
    return array;
}

static void
s_on_command (kefu_gateway_t *gateway, const Kefu__V1__Command *cmd, void *arg)
{
    (void) arg;
    json_t *obj = json_object ();
    const char *kind = cmd->kind_case == KEFU__V1__COMMAND__KIND_ASSIGN       ? "assign"
                       : cmd->kind_case == KEFU__V1__COMMAND__KIND_AUTO_REPLY ? "auto_reply"
                       : cmd->kind_case == KEFU__V1__COMMAND__KIND_REMINDER   ? "reminder"
                       : cmd->kind_case == KEFU__V1__COMMAND__KIND_NOTICE     ? "notice"
                       : cmd->kind_case == KEFU__V1__COMMAND__KIND_SUGGEST    ? "suggest"
                                                                              : "unknown";
    json_object_set_new (obj, "command", json_string (kind));
    json_object_set_new (obj, "command_id", json_integer ((json_int_t) cmd->command_id));
    json_object_set_new (obj, "shop_id", s_json_text (cmd->shop_id));
    json_object_set_new (
        obj, "channel",
        s_json_enum (&kefu__v1__channel__descriptor, (int) cmd->channel, "CHANNEL_"));
    if (cmd->customer_id.len)
        json_object_set_new (obj, "customer_id", s_json_text (cmd->customer_id));
    json_object_set_new (obj, "created_at_ms", json_integer ((json_int_t) cmd->created_at_ms));
    json_object_set_new (obj, "origin", json_string (cmd->origin ? cmd->origin : ""));
    if (cmd->kind_case == KEFU__V1__COMMAND__KIND_ASSIGN && cmd->assign) {
        const Kefu__V1__AssignCommand *a = cmd->assign;
        json_object_set_new (obj, "conversation_id",
                             json_integer ((json_int_t) a->conversation_id));
        json_object_set_new (obj, "agent_id", s_json_text (a->agent_id));
        if (a->previous_agent_id.len)
            json_object_set_new (obj, "previous_agent_id", s_json_text (a->previous_agent_id));
        json_object_set_new (
            obj, "reason",
            s_json_enum (&kefu__v1__assign_reason__descriptor, (int) a->reason, "ASSIGN_REASON_"));
        if (a->note.len)
            json_object_set_new (obj, "note", s_json_text (a->note));
        if (a->n_suggestions)
            json_object_set_new (obj, "suggestions",
                                 s_json_suggestions (a->n_suggestions, a->suggestions));
    } else if (cmd->kind_case == KEFU__V1__COMMAND__KIND_SUGGEST && cmd->suggest) {
        const Kefu__V1__SuggestCommand *s = cmd->suggest;
        json_object_set_new (obj, "conversation_id",
                             json_integer ((json_int_t) s->conversation_id));
        json_object_set_new (obj, "agent_id", s_json_text (s->agent_id));
        json_object_set_new (
            obj, "intent", s_json_enum (&kefu__v1__intent__descriptor, (int) s->intent, "INTENT_"));
        json_object_set_new (obj, "suggestions",
                             s_json_suggestions (s->n_suggestions, s->suggestions));
    } else if (cmd->kind_case == KEFU__V1__COMMAND__KIND_AUTO_REPLY && cmd->auto_reply) {
        const Kefu__V1__AutoReplyCommand *r = cmd->auto_reply;
        json_object_set_new (obj, "conversation_id",
                             json_integer ((json_int_t) r->conversation_id));
        json_object_set_new (
            obj, "kind",
            s_json_enum (&kefu__v1__auto_reply_kind__descriptor, (int) r->kind, "AUTO_REPLY_"));
        json_object_set_new (obj, "text", s_json_text (r->text));
    } else if (cmd->kind_case == KEFU__V1__COMMAND__KIND_REMINDER && cmd->reminder) {
        const Kefu__V1__ReminderCommand *r = cmd->reminder;
        json_object_set_new (obj, "order_id", s_json_text (r->order_id));
        json_object_set_new (
            obj, "kind",
            s_json_enum (&kefu__v1__reminder_kind__descriptor, (int) r->kind, "REMINDER_"));
        json_object_set_new (obj, "text", s_json_text (r->text));
    } else if (cmd->kind_case == KEFU__V1__COMMAND__KIND_NOTICE && cmd->notice) {
        const Kefu__V1__NoticeCommand *n = cmd->notice;
        json_object_set_new (obj, "audience", s_json_text (n->audience));
        json_object_set_new (
            obj, "severity",
            s_json_enum (&kefu__v1__notice_severity__descriptor, (int) n->severity, "NOTICE_"));
        json_object_set_new (obj, "text", s_json_text (n->text));
        if (n->complaint_id)
            json_object_set_new (obj, "complaint_id", json_integer ((json_int_t) n->complaint_id));
        if (n->order_id.len)
            json_object_set_new (obj, "order_id", s_json_text (n->order_id));
    }
    s_print (obj);
    //  Printing is all a command-line gateway can do with it.
    kefu_gateway_ack_command (gateway, cmd->command_id, true, NULL);
}

//  Parsing one line into an item

//  Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
static int64_t
s_days_from_civil (int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static bool
s_digits (const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

//  "2026-11-23T09:00:05[.250](Z|+08:00|+0800|+08)" -> ms since the epoch. 0 / -1.
static int
s_parse_iso (const char *s, int64_t *ms_out)
{
    int year, month, day, hour, minute, second, ms = 0;
    if (!s_digits (s, 4, &year) || s[4] != '-' || !s_digits (s + 5, 2, &month) || s[7] != '-' ||
        !s_digits (s + 8, 2, &day) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
        !s_digits (s + 11, 2, &hour) || s[13] != ':' || !s_digits (s + 14, 2, &minute) ||
        s[16] != ':' || !s_digits (s + 17, 2, &second))
        return -1;
    const char *p = s + 19;
    if (*p == '.' || *p == ',') {
        p++;
        int digits = 0;
        while (*p >= '0' && *p <= '9') {
            if (digits < 3)
                ms = ms * 10 + (*p - '0');
            digits++;
            p++;
        }
        if (digits == 0)
            return -1;
        for (; digits < 3; digits++)
            ms *= 10;
    }
    int offset_min = 0;
    if (*p == 'Z' || *p == 'z')
        p++;
    else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1, oh, om = 0;
        p++;
        if (!s_digits (p, 2, &oh))
            return -1;
        p += 2;
        if (*p == ':')
            p++;
        if (*p) {
            if (!s_digits (p, 2, &om))
                return -1;
            p += 2;
        }
        if (oh > 23 || om > 59)
            return -1;
        offset_min = sign * (oh * 60 + om);
    } else
        return -1; //  no offset: ambiguous
    if (*p)
        return -1;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    if (month < 1 || month > 12 || day < 1 || day > mdays[month - 1] ||
        (month == 2 && day == 29 && !leap) || hour > 23 || minute > 59 || second > 60)
        return -1;
    int64_t secs = s_days_from_civil (year, month, day) * 86400 + hour * 3600 + minute * 60 +
                   second - (int64_t) offset_min * 60;
    *ms_out = secs * 1000 + ms;
    return 0;
}

//  Everything one item needs, pointing into the line's JSON (borrowed).
typedef struct {
    Kefu__V1__InboundItem item;
    Kefu__V1__CustomerMessage customer_message;
    Kefu__V1__AgentReply agent_reply;
    Kefu__V1__AgentPresence agent_presence;
    Kefu__V1__CustomerRating rating;
    Kefu__V1__ConversationClose close;
    Kefu__V1__TransferRequest transfer;
    Kefu__V1__Review review;
    Kefu__V1__OrderUpdate order_update;
    Kefu__V1__OrderFlag order_flag;
    bool has_sent_at;    //  sent_at was given (pacing and --rebase use it)
    const char *shop_id; //  for messages, may be NULL
    const char *id;      //  for messages, may be NULL
} s_parsed_t;

//  Fields each type allows, besides the common ones. A type has a short
//  name and the name of its kind in gateway.proto's InboundItem (the same
//  for the first three); both are accepted.
typedef struct {
    const char *type;
    const char *proto_name;
    Kefu__V1__InboundItem__KindCase kind;
    const char *fields[24];
} s_type_t;

static const s_type_t s_types[] = {
    {"customer_message",
     "customer_message",
     KEFU__V1__INBOUND_ITEM__KIND_CUSTOMER_MESSAGE,
     {"customer_id", "customer_name", "body", "vip", "order_id", NULL}},
    {"agent_reply",
     "agent_reply",
     KEFU__V1__INBOUND_ITEM__KIND_AGENT_REPLY,
     {"customer_id", "agent_id", "body", "auto_reply", NULL}},
    {"agent_presence",
     "agent_presence",
     KEFU__V1__INBOUND_ITEM__KIND_AGENT_PRESENCE,
     {"agent_id", "status", "handover_note", NULL}},
    {"rating",
     "customer_rating",
     KEFU__V1__INBOUND_ITEM__KIND_CUSTOMER_RATING,
     {"customer_id", "score", "comment", "agent_id", NULL}},
    {"close",
     "conversation_close",
     KEFU__V1__INBOUND_ITEM__KIND_CONVERSATION_CLOSE,
     {"customer_id", "agent_id", "reason", NULL}},
    {"transfer",
     "transfer_request",
     KEFU__V1__INBOUND_ITEM__KIND_TRANSFER_REQUEST,
     {"customer_id", "agent_id", "to_agent_id", "reason", NULL}},
    {"review",
     "review",
     KEFU__V1__INBOUND_ITEM__KIND_REVIEW,
     {"order_id", "customer_id", "grade", "stars", "text", "item", "phone", NULL}},
    {"order_update",
     "order_update",
     KEFU__V1__INBOUND_ITEM__KIND_ORDER_UPDATE,
     {"order_id",        "customer_id",    "state",      "payment",          "amount_cents",
      "currency",        "tracking_no",    "items",      "receiver_address", "receiver_phone",
      "created_at",      "paid_at",        "shipped_at", "delivered_at",     "logistics_at",
      "modified_at",     "created_at_ms",  "paid_at_ms", "shipped_at_ms",    "delivered_at_ms",
      "logistics_at_ms", "modified_at_ms", NULL}},
    {"order_flag",
     "order_flag",
     KEFU__V1__INBOUND_ITEM__KIND_ORDER_FLAG,
     {"order_id", "colour", "meaning", "note", "agent_id", "customer_id", NULL}},
    {NULL, NULL, KEFU__V1__INBOUND_ITEM__KIND__NOT_SET, {NULL}}};

//  A text field: absent/null = empty; else must be a string. 0 / -1 + err.
static int
s_get_text (json_t *obj, const char *field, ProtobufCBinaryData *out, kf_error_t *err)
{
    json_t *v = json_object_get (obj, field);
    out->len = 0;
    out->data = NULL;
    if (!v || json_is_null (v))
        return 0;
    if (!json_is_string (v))
        return kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_INVALID_VALUE, "%s must be a string",
                             field);
    out->data = (uint8_t *) json_string_value (v);
    out->len = json_string_length (v);
    return 0;
}

static int
s_get_bool (json_t *obj, const char *field, protobuf_c_boolean *out, kf_error_t *err)
{
    json_t *v = json_object_get (obj, field);
    *out = 0;
    if (!v || json_is_null (v))
        return 0;
    if (!json_is_boolean (v))
        return kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_INVALID_VALUE,
                             "%s must be true or false", field);
    *out = json_is_true (v);
    return 0;
}

//  An enum word; absent = 0 (UNSPECIFIED: intake decides whether that is allowed).
static int
s_get_word (json_t *obj, const char *field, const s_word_t *words, int *out, kf_error_t *err)
{
    json_t *v = json_object_get (obj, field);
    *out = 0;
    if (!v || json_is_null (v))
        return 0;
    if (json_is_string (v))
        for (const s_word_t *w = words; w->word; w++)
            if (strcmp (json_string_value (v), w->word) == 0) {
                *out = w->value;
                return 0;
            }
    char list[160] = "";
    for (const s_word_t *w = words; w->word; w++) {
        strncat (list, w->word, sizeof list - strlen (list) - 1);
        if (w[1].word)
            strncat (list, "|", sizeof list - strlen (list) - 1);
    }
    return kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_INVALID_VALUE, "%s must be one of %s",
                         field, list);
}

//  Required string (type, shop_id, id).
static const char *
s_get_required (json_t *obj, const char *field, kf_error_t *err)
{
    json_t *v = json_object_get (obj, field);
    if (!v || json_is_null (v)) {
        kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_MISSING_FIELD, "%s is missing", field);
        return NULL;
    }
    if (!json_is_string (v)) {
        kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_INVALID_VALUE, "%s must be a string", field);
        return NULL;
    }
    if (json_string_length (v) == 0) {
        kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_MISSING_FIELD, "%s is empty", field);
        return NULL;
    }
    return json_string_value (v);
}

//  A time: ISO-8601 with an offset or Z, or integer milliseconds; absent
//  or null = 0. `alias` (the proto's *_ms name, may be NULL) may give it
//  instead, not both. 0 / -1 + err.
static int
s_get_time (json_t *obj, const char *field, const char *alias, int64_t *out, kf_error_t *err)
{
    json_t *v = json_object_get (obj, field);
    json_t *a = alias ? json_object_get (obj, alias) : NULL;
    if (v && a)
        return kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_INVALID_VALUE,
                             "%s and %s are the same field: give one", field, alias);
    if (a)
        v = a, field = alias;
    *out = 0;
    if (!v || json_is_null (v))
        return 0;
    if (json_is_integer (v))
        *out = json_integer_value (v);
    else if (!json_is_string (v) || s_parse_iso (json_string_value (v), out))
        return kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_INVALID_VALUE,
                             "%s must be ISO-8601 with an offset or Z "
                             "(2026-11-23T09:00:05+08:00) or integer milliseconds",
                             field);
    return 0;
}

//  An order snapshot's fields (times as given: --rebase shifts them later).
static int
s_parse_order_update (json_t *obj, Kefu__V1__OrderUpdate *u, kf_error_t *err)
{
    int state = 0, payment = 0;
    json_t *amount = json_object_get (obj, "amount_cents");
    if (amount && !json_is_null (amount)) {
        if (!json_is_integer (amount))
            return kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_INVALID_VALUE,
                                 "amount_cents must be an integer (分)");
        u->amount_cents = json_integer_value (amount);
    }
    if (s_get_text (obj, "order_id", &u->order_id, err) ||
        s_get_text (obj, "customer_id", &u->customer_id, err) ||
        s_get_word (obj, "state", s_order_states, &state, err) ||
        s_get_word (obj, "payment", s_payments, &payment, err) ||
        s_get_text (obj, "currency", &u->currency, err) ||
        s_get_text (obj, "tracking_no", &u->tracking_no, err) ||
        s_get_text (obj, "items", &u->items, err) ||
        s_get_text (obj, "receiver_address", &u->receiver_address, err) ||
        s_get_text (obj, "receiver_phone", &u->receiver_phone, err) ||
        s_get_time (obj, "created_at", "created_at_ms", &u->created_at_ms, err) ||
        s_get_time (obj, "paid_at", "paid_at_ms", &u->paid_at_ms, err) ||
        s_get_time (obj, "shipped_at", "shipped_at_ms", &u->shipped_at_ms, err) ||
        s_get_time (obj, "delivered_at", "delivered_at_ms", &u->delivered_at_ms, err) ||
        s_get_time (obj, "logistics_at", "logistics_at_ms", &u->logistics_at_ms, err) ||
        s_get_time (obj, "modified_at", "modified_at_ms", &u->modified_at_ms, err))
        return -1;
    u->state = (Kefu__V1__OrderState) state;
    u->payment = (Kefu__V1__PaymentMethod) payment;
    return 0;
}

static int
s_parse_order_flag (json_t *obj, Kefu__V1__OrderFlag *f, kf_error_t *err)
{
    int colour = 0, meaning = 0;
    if (s_get_text (obj, "order_id", &f->order_id, err) ||
        s_get_word (obj, "colour", s_colours, &colour, err) ||
        s_get_word (obj, "meaning", s_meanings, &meaning, err) ||
        s_get_text (obj, "note", &f->note, err) ||
        s_get_text (obj, "agent_id", &f->agent_id, err) ||
        s_get_text (obj, "customer_id", &f->customer_id, err))
        return -1;
    f->colour = (Kefu__V1__OrderFlagColour) colour;
    f->meaning = (Kefu__V1__OrderFlagMeaning) meaning;
    return 0;
}

static int
s_parse_item (json_t *obj, s_parsed_t *p, kf_error_t *err)
{
    Kefu__V1__InboundItem item = KEFU__V1__INBOUND_ITEM__INIT;
    Kefu__V1__CustomerMessage customer_message = KEFU__V1__CUSTOMER_MESSAGE__INIT;
    Kefu__V1__AgentReply agent_reply = KEFU__V1__AGENT_REPLY__INIT;
    Kefu__V1__AgentPresence agent_presence = KEFU__V1__AGENT_PRESENCE__INIT;
    Kefu__V1__CustomerRating rating = KEFU__V1__CUSTOMER_RATING__INIT;
    Kefu__V1__ConversationClose close = KEFU__V1__CONVERSATION_CLOSE__INIT;
    Kefu__V1__TransferRequest transfer = KEFU__V1__TRANSFER_REQUEST__INIT;
    Kefu__V1__Review review = KEFU__V1__REVIEW__INIT;
    Kefu__V1__OrderUpdate order_update = KEFU__V1__ORDER_UPDATE__INIT;
    Kefu__V1__OrderFlag order_flag = KEFU__V1__ORDER_FLAG__INIT;
    p->review = review;
    p->order_update = order_update;
    p->order_flag = order_flag;
    p->item = item;
    p->transfer = transfer;
    p->customer_message = customer_message;
    p->agent_reply = agent_reply;
    p->agent_presence = agent_presence;
    p->rating = rating;
    p->close = close;
    p->has_sent_at = false;
    p->shop_id = NULL;
    p->id = NULL;

    if (!json_is_object (obj))
        return kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_MALFORMED,
                             "a line must be one JSON object");
    //  Ids first, so even a refused line can be told apart in the output.
    json_t *v = json_object_get (obj, "shop_id");
    p->shop_id = json_is_string (v) ? json_string_value (v) : NULL;
    v = json_object_get (obj, "id");
    p->id = json_is_string (v) ? json_string_value (v) : NULL;

    const char *type = s_get_required (obj, "type", err);
    if (!type)
        return -1;
    const s_type_t *t = s_types;
    while (t->type && strcmp (t->type, type) != 0 && strcmp (t->proto_name, type) != 0)
        t++;
    if (!t->type)
        return kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_INVALID_VALUE,
                             "type \"%.60s\" is not one of customer_message|agent_reply|"
                             "agent_presence|rating|close|transfer|review|order_update|"
                             "order_flag (or customer_rating|conversation_close|"
                             "transfer_request)",
                             type);
    //  Unknown fields are refused: a typo must not silently become "absent".
    const char *key;
    json_t *value;
    json_object_foreach (obj, key, value)
    {
        static const char *common[] = {"type", "shop_id", "id", "channel", "sent_at", NULL};
        bool known = false;
        for (int i = 0; common[i] && !known; i++)
            known = strcmp (key, common[i]) == 0;
        for (int i = 0; t->fields[i] && !known; i++)
            known = strcmp (key, t->fields[i]) == 0;
        if (!known)
            return kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_INVALID_VALUE,
                                 "unknown field \"%.60s\" for type %s", key, t->type);
    }
    const char *shop_id = s_get_required (obj, "shop_id", err);
    if (!shop_id)
        return -1;
    const char *id = s_get_required (obj, "id", err);
    if (!id)
        return -1;
    p->item.shop_id.data = (uint8_t *) shop_id;
    p->item.shop_id.len = json_string_length (json_object_get (obj, "shop_id"));
    p->item.gateway_msg_id.data = (uint8_t *) id;
    p->item.gateway_msg_id.len = json_string_length (json_object_get (obj, "id"));
    int channel;
    if (s_get_word (obj, "channel", s_channels, &channel, err))
        return -1;
    p->item.channel = (Kefu__V1__Channel) channel;

    json_t *sent_at = json_object_get (obj, "sent_at");
    if (sent_at && !json_is_null (sent_at)) {
        if (s_get_time (obj, "sent_at", NULL, &p->item.sent_at_ms, err))
            return -1;
        p->has_sent_at = true;
    } else
        p->item.sent_at_ms = kefu_gateway_now_ms ();

    p->item.kind_case = t->kind;
    int rc = 0;
    int word = 0;
    switch (t->kind) {
    case KEFU__V1__INBOUND_ITEM__KIND_CUSTOMER_MESSAGE: {
        Kefu__V1__CustomerMessage *m = &p->customer_message;
        rc = s_get_text (obj, "customer_id", &m->customer_id, err) ||
             s_get_text (obj, "customer_name", &m->customer_name, err) ||
             s_get_text (obj, "body", &m->body, err) || s_get_bool (obj, "vip", &m->vip, err) ||
             s_get_text (obj, "order_id", &m->order_id, err);
        p->item.customer_message = m;
        break;
    }
    case KEFU__V1__INBOUND_ITEM__KIND_AGENT_REPLY: {
        Kefu__V1__AgentReply *r = &p->agent_reply;
        rc = s_get_text (obj, "customer_id", &r->customer_id, err) ||
             s_get_text (obj, "agent_id", &r->agent_id, err) ||
             s_get_text (obj, "body", &r->body, err) ||
             s_get_bool (obj, "auto_reply", &r->auto_reply, err);
        p->item.agent_reply = r;
        break;
    }
    case KEFU__V1__INBOUND_ITEM__KIND_AGENT_PRESENCE: {
        Kefu__V1__AgentPresence *a = &p->agent_presence;
        rc = s_get_text (obj, "agent_id", &a->agent_id, err) ||
             s_get_word (obj, "status", s_statuses, &word, err) ||
             s_get_text (obj, "handover_note", &a->handover_note, err);
        a->status = (Kefu__V1__AgentStatus) word;
        p->item.agent_presence = a;
        break;
    }
    case KEFU__V1__INBOUND_ITEM__KIND_CUSTOMER_RATING: {
        Kefu__V1__CustomerRating *r = &p->rating;
        json_t *score = json_object_get (obj, "score");
        if (score && !json_is_null (score)) {
            if (!json_is_integer (score) || json_integer_value (score) < 0 ||
                json_integer_value (score) > UINT32_MAX)
                return kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_INVALID_VALUE,
                                     "score must be an integer (1..5)");
            r->score = (uint32_t) json_integer_value (score);
        }
        rc = s_get_text (obj, "customer_id", &r->customer_id, err) ||
             s_get_text (obj, "comment", &r->comment, err) ||
             s_get_text (obj, "agent_id", &r->agent_id, err);
        p->item.customer_rating = r;
        break;
    }
    case KEFU__V1__INBOUND_ITEM__KIND_CONVERSATION_CLOSE: {
        Kefu__V1__ConversationClose *c = &p->close;
        rc = s_get_text (obj, "customer_id", &c->customer_id, err) ||
             s_get_text (obj, "agent_id", &c->agent_id, err) ||
             s_get_word (obj, "reason", s_reasons, &word, err);
        c->reason = (Kefu__V1__CloseReason) word;
        p->item.conversation_close = c;
        break;
    }
    case KEFU__V1__INBOUND_ITEM__KIND_TRANSFER_REQUEST: {
        Kefu__V1__TransferRequest *tr = &p->transfer;
        rc = s_get_text (obj, "customer_id", &tr->customer_id, err) ||
             s_get_text (obj, "agent_id", &tr->from_agent_id, err) ||
             s_get_text (obj, "to_agent_id", &tr->to_agent_id, err) ||
             s_get_text (obj, "reason", &tr->reason, err);
        p->item.transfer_request = tr;
        break;
    }
    case KEFU__V1__INBOUND_ITEM__KIND_REVIEW: {
        Kefu__V1__Review *r = &p->review;
        json_t *stars = json_object_get (obj, "stars");
        if (stars && !json_is_null (stars)) {
            if (!json_is_integer (stars) || json_integer_value (stars) < 0 ||
                json_integer_value (stars) > UINT32_MAX)
                return kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_INVALID_VALUE,
                                     "stars must be an integer (1..5)");
            r->stars = (uint32_t) json_integer_value (stars);
        }
        rc = s_get_text (obj, "order_id", &r->order_id, err) ||
             s_get_text (obj, "customer_id", &r->customer_id, err) ||
             s_get_word (obj, "grade", s_grades, &word, err) ||
             s_get_text (obj, "text", &r->text, err) || s_get_text (obj, "item", &r->item, err) ||
             s_get_text (obj, "phone", &r->phone, err);
        r->grade = (Kefu__V1__ReviewGrade) word;
        p->item.review = r;
        break;
    }
    case KEFU__V1__INBOUND_ITEM__KIND_ORDER_UPDATE:
        rc = s_parse_order_update (obj, &p->order_update, err);
        p->item.order_update = &p->order_update;
        break;
    case KEFU__V1__INBOUND_ITEM__KIND_ORDER_FLAG:
        rc = s_parse_order_flag (obj, &p->order_flag, err);
        p->item.order_flag = &p->order_flag;
        break;
    default:
        break;
    }
    return rc ? -1 : 0;
}

//  An order's times move with --rebase (those given: 0 stays "not known");
//  its modification time is the item's when not given.
static void
s_order_times (Kefu__V1__OrderUpdate *u, int64_t sent_at_ms, int64_t offset)
{
    int64_t *times[] = {&u->created_at_ms,   &u->paid_at_ms,      &u->shipped_at_ms,
                        &u->delivered_at_ms, &u->logistics_at_ms, &u->modified_at_ms};
    for (size_t i = 0; i < sizeof times / sizeof times[0]; i++)
        if (*times[i])
            *times[i] += offset;
    if (!u->modified_at_ms)
        u->modified_at_ms = sent_at_ms;
}

//  Reading stdin without blocking the gateway

typedef struct {
    char *buf;      //  bytes read and not yet returned, owned
    size_t len;     //  bytes in buf
    size_t cap;     //  allocated
    size_t scanned; //  bytes of buf known to hold no newline
    bool eof;       //  read () returned 0
    bool overlong;  //  discarding the rest of an overlong line
} s_reader_t;

//  1: *line_p holds the next line (NUL-terminated, owned by the reader until
//  the next call); 0: no whole line yet; -1: end of input.
static int
s_reader_next (s_reader_t *r, char **line_p, size_t *consumed_p)
{
    //  Drop the line returned last time.
    if (*consumed_p) {
        memmove (r->buf, r->buf + *consumed_p, r->len - *consumed_p);
        r->len -= *consumed_p;
        r->scanned = 0;
        *consumed_p = 0;
    }
    while (true) {
        char *nl = r->len > r->scanned
                       ? (char *) memchr (r->buf + r->scanned, '\n', r->len - r->scanned)
                       : NULL;
        if (nl || (r->eof && r->len)) {
            size_t n = nl ? (size_t) (nl - r->buf) : r->len;
            if (n == r->len) {
                //  Last line without a newline: make room for the NUL.
                if (r->len == r->cap) {
                    char *bigger = (char *) realloc (r->buf, r->cap + 1);
                    if (!bigger)
                        return -1;
                    r->buf = bigger;
                    r->cap++;
                }
            }
            r->buf[n] = '\0';
            *line_p = r->buf;
            *consumed_p = nl ? n + 1 : n;
            return 1;
        }
        if (r->eof)
            return -1;
        r->scanned = r->len;
        struct pollfd pfd = {STDIN_FILENO, POLLIN, 0};
        if (poll (&pfd, 1, 0) <= 0)
            return 0;
        if (r->len == r->cap) {
            size_t cap = r->cap ? r->cap * 2 : 65536;
            if (cap > S_LINE_MAX + 65536) {
                //  An overlong line: hand out what we have as one (it will
                //  not parse) and skip to the next newline.
                r->overlong = true;
                r->buf[r->len - 1] = '\0';
                *line_p = r->buf;
                *consumed_p = r->len;
                return 1;
            }
            char *bigger = (char *) realloc (r->buf, cap);
            if (!bigger)
                return -1;
            r->buf = bigger;
            r->cap = cap;
        }
        ssize_t got = read (STDIN_FILENO, r->buf + r->len, r->cap - r->len);
        if (got < 0 && errno != EINTR && errno != EAGAIN)
            r->eof = true;
        else if (got == 0)
            r->eof = true;
        else if (got > 0) {
            if (r->overlong) {
                char *nl2 = (char *) memchr (r->buf + r->len, '\n', (size_t) got);
                if (!nl2)
                    continue; //  still inside the overlong line: drop
                size_t keep = (size_t) got - (size_t) (nl2 + 1 - (r->buf + r->len));
                memmove (r->buf, nl2 + 1, keep);
                r->len = keep;
                r->scanned = 0;
                r->overlong = false;
                continue;
            }
            r->len += (size_t) got;
        } else
            return 0;
    }
}

//  Driving the gateway

//  Poll the gateway until mono time `until` (or an interrupt).
static void
s_wait_until (push_t *push, int64_t until)
{
    while (!zsys_interrupted) {
        int64_t now = zclock_mono ();
        if (now >= until)
            return;
        int64_t wait = until - now > 200 ? 200 : until - now;
        kefu_gateway_poll (push->gateway, (int) wait);
    }
}

//  Hand one item to the library, waiting for room in the window. -1 when
//  no ack came for KEFU_PUSH_TIMEOUT while the window was full (or ^C).
static int
s_send (push_t *push, const Kefu__V1__InboundItem *item)
{
    int64_t waiting_since = zclock_mono ();
    while (kefu_gateway_send (push->gateway, item) == -1) {
        if (errno != EAGAIN)
            return -1;
        if (zsys_interrupted)
            return -1;
        int64_t progress =
            push->last_progress_ms > waiting_since ? push->last_progress_ms : waiting_since;
        if (zclock_mono () - progress > push->config.timeout_ms) {
            const char *why = kefu_gateway_reject_reason (push->gateway);
            fprintf (stderr,
                     "kefu-push: no ack from intake for %" PRId64 " ms with %zu items in "
                     "flight; giving up%s%s\n",
                     push->config.timeout_ms, kefu_gateway_inflight (push->gateway),
                     why ? ": " : "", why ? why : "");
            return -1;
        }
        kefu_gateway_poll (push->gateway, 100);
    }
    push->sent++;
    return 0;
}

//  One input line. Returns -1 to stop reading (gave up or interrupted).
static int
s_handle_line (push_t *push, char *line, size_t lineno)
{
    size_t i = 0;
    while (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')
        i++;
    if (!line[i])
        return 0; //  blank
    push->items++;
    json_error_t jerr;
    json_t *obj = json_loads (line, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
    if (!obj) {
        char reason[300];
        snprintf (reason, sizeof reason, "not valid JSON: %s at column %d", jerr.text, jerr.column);
        push->rejected++;
        s_print_refusal (lineno, NULL, NULL, KEFU__V1__ERROR_CODE__ERROR_MALFORMED, reason);
        return 0;
    }
    s_parsed_t parsed;
    kf_error_t err;
    kf_error_clear (&err);
    if (s_parse_item (obj, &parsed, &err)) {
        push->rejected++;
        s_print_refusal (lineno, parsed.id, parsed.shop_id, (int) err.code, err.reason);
        json_decref (obj);
        return 0;
    }
    if (parsed.has_sent_at) {
        int64_t original = parsed.item.sent_at_ms;
        if (!push->have_first) {
            push->have_first = true;
            push->first_sent_at = original;
            push->rebase_offset = kefu_gateway_now_ms () - original;
            push->pace_anchor_ms = zclock_mono ();
        } else if (push->speed > 0) {
            //  Keep to the schedule from the first item, so time spent
            //  working does not add up over a long replay.
            double delta = (double) (original - push->first_sent_at) / push->speed;
            if (delta > 0)
                s_wait_until (push, push->pace_anchor_ms + (int64_t) delta);
        }
        if (push->rebase)
            parsed.item.sent_at_ms = original + push->rebase_offset;
    }
    //  A review's time is the item's time (rebased with it).
    if (parsed.item.kind_case == KEFU__V1__INBOUND_ITEM__KIND_REVIEW)
        parsed.review.reviewed_at_ms = parsed.item.sent_at_ms;
    if (parsed.item.kind_case == KEFU__V1__INBOUND_ITEM__KIND_ORDER_UPDATE)
        s_order_times (&parsed.order_update, parsed.item.sent_at_ms,
                       parsed.has_sent_at && push->rebase ? push->rebase_offset : 0);
    int rc = 0;
    if (zsys_interrupted)
        rc = -1;
    else if (s_pending_add (push, &parsed.item, lineno)) {
        fprintf (stderr, "kefu-push: out of memory\n");
        rc = -1;
    } else if (s_send (push, &parsed.item))
        rc = -1; //  stays pending: reported as unacked
    else
        kefu_gateway_poll (push->gateway, 0); //  take acks as they come
    json_decref (obj);
    return rc;
}

//  "demo-shop:platform_chat,other:wechat" -> array. -1 on a bad entry.
static int
s_parse_serves (const char *text, kefu_gateway_shop_channel_t **out, size_t *count, char **storage)
{
    *out = NULL;
    *count = 0;
    *storage = strdup (text ? text : "");
    if (!*storage)
        return -1;
    size_t n = 0;
    for (const char *p = *storage; *p; p++)
        n += *p == ',';
    kefu_gateway_shop_channel_t *serves =
        (kefu_gateway_shop_channel_t *) calloc (n + 1, sizeof *serves);
    if (!serves)
        return -1;
    *out = serves;
    char *save = NULL;
    for (char *entry = strtok_r (*storage, ",", &save); entry;
         entry = strtok_r (NULL, ",", &save)) {
        char *colon = strchr (entry, ':');
        if (!colon || colon == entry)
            return -1;
        *colon = '\0';
        const s_word_t *w = s_channels;
        while (w->word && strcmp (w->word, colon + 1) != 0)
            w++;
        if (!w->word)
            return -1;
        serves[*count].shop_id = entry;
        serves[*count].channel = (Kefu__V1__Channel) w->value;
        (*count)++;
    }
    return 0;
}

static int
s_parse_flags (push_t *push, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp (arg, "--rebase") == 0)
            push->rebase = true;
        else if (strcmp (arg, "--commands") == 0)
            push->commands = true;
        else if (strcmp (arg, "--speed") == 0 || strncmp (arg, "--speed=", 8) == 0) {
            const char *value = arg[7] == '=' ? arg + 8 : (i + 1 < argc ? argv[++i] : NULL);
            char *end = NULL;
            double speed = value ? strtod (value, &end) : 0;
            if (!value || end == value || *end || !(speed > 0) || !isfinite (speed)) {
                fprintf (stderr, "kefu-push: --speed needs a number > 0 (e.g. --speed 60)\n");
                return -1;
            }
            push->speed = speed;
        } else {
            fprintf (stderr, "kefu-push: unknown argument \"%s\" (see --help)\n", arg);
            return -1;
        }
    }
    return 0;
}

int
main (int argc, char **argv)
{
    kf_log_init ("push");
    static push_t push;
    kf_config_spec_t spec = s_spec;
    spec.usage = s_usage;
    kf_config_result_t loaded = kf_config_load (&spec, &push.config, NULL, &argc, argv);
    if (loaded != KF_CONFIG_OK) {
        kf_config_free (s_entries, &push.config);
        return loaded == KF_CONFIG_EXIT_OK ? 0 : 2;
    }
    kefu_gateway_shop_channel_t *serves = NULL;
    size_t serves_count = 0;
    char *serves_storage = NULL;
    int rc = 2;
    if (s_parse_flags (&push, argc, argv))
        goto done;
    if (s_parse_serves (push.config.serves, &serves, &serves_count, &serves_storage)) {
        fprintf (stderr,
                 "kefu-push: bad value for KEFU_PUSH_SERVES=\"%s\": use shop:channel,... with "
                 "channel one of platform_chat|wechat|web_chat|email|phone\n",
                 push.config.serves);
        goto done;
    }
    if (push.commands && serves_count == 0) {
        fprintf (stderr, "kefu-push: --commands needs KEFU_PUSH_SERVES (which shops and "
                         "channels to receive commands for)\n");
        goto done;
    }
    kefu_gateway_options_t options = kefu_gateway_options_default ();
    options.endpoint = push.config.endpoint;
    options.gateway_id = push.config.gateway_id;
    options.server_public_key = *push.config.server_key ? push.config.server_key : NULL;
    options.secret_key_file = *push.config.secret_key_file ? push.config.secret_key_file : NULL;
    options.serves = serves;
    options.serves_count = serves_count;
    options.window = (int) push.config.window;
    options.software = "kefu-push " KEFU_VERSION;
    if (!options.server_public_key && !options.secret_key_file)
        fprintf (stderr, "kefu-push: no KEFU_PUSH_SERVER_KEY: connecting WITHOUT encryption or "
                         "authentication (development only)\n");
    push.gateway = kefu_gateway_new (&options);
    if (!push.gateway)
        goto done;
    kefu_gateway_on_ack (push.gateway, s_on_ack, &push);
    if (push.commands)
        kefu_gateway_on_command (push.gateway, s_on_command, &push);
    push.pending = zhashx_new ();
    zhashx_set_destructor (push.pending, s_pending_destroy);
    push.last_progress_ms = zclock_mono ();

    //  Read and send until the input ends.
    s_reader_t reader = {NULL, 0, 0, 0, false, false};
    size_t consumed = 0, lineno = 0;
    bool stopped = false;
    while (!zsys_interrupted) {
        char *line;
        int got = s_reader_next (&reader, &line, &consumed);
        if (got == -1)
            break;
        if (got == 0) {
            //  Nothing to read yet: let the gateway work meanwhile.
            kefu_gateway_poll (push.gateway, 10);
            continue;
        }
        if (s_handle_line (&push, line, ++lineno)) {
            stopped = true;
            break;
        }
    }
    free (reader.buf);

    //  Wait for the last acks; report what never came.
    kefu_gateway_flush (push.gateway,
                        stopped || zsys_interrupted ? 0 : (int) push.config.timeout_ms);
    if (push.commands && !stopped)
        while (!zsys_interrupted && kefu_gateway_poll (push.gateway, 1000) != -1)
            ;
    for (s_pending_t *p = (s_pending_t *) zhashx_first (push.pending); p;
         p = (s_pending_t *) zhashx_next (push.pending))
        for (size_t i = 0; i < p->count; i++) {
            json_t *obj = json_object ();
            json_object_set_new (obj, "line", json_integer ((json_int_t) p->lines[i]));
            json_object_set_new (obj, "id", s_json_bytes ((const uint8_t *) p->id, strlen (p->id)));
            json_object_set_new (obj, "shop_id",
                                 s_json_bytes ((const uint8_t *) p->shop_id, strlen (p->shop_id)));
            json_object_set_new (obj, "status", json_string ("unacked"));
            s_print (obj);
        }
    //  Every counted line is answered, refused locally, or unacked.
    size_t answered = push.accepted + push.duplicate + push.rejected;
    size_t unacked = push.items > answered ? push.items - answered : 0;
    if (unacked && !kefu_gateway_welcomed (push.gateway)) {
        const char *why = kefu_gateway_reject_reason (push.gateway);
        fprintf (stderr, "kefu-push: intake never welcomed this gateway at %s%s%s\n",
                 push.config.endpoint, why ? ": " : " (is intake running?)", why ? why : "");
    }
    fprintf (stderr,
             "kefu-push: %zu items: %zu accepted, %zu duplicate, %zu rejected, %zu unacked\n",
             push.items, push.accepted, push.duplicate, push.rejected, unacked);
    rc = unacked ? 3 : push.rejected ? 1 : 0;

done:
    zhashx_destroy (&push.pending);
    kefu_gateway_destroy (&push.gateway);
    free (serves);
    free (serves_storage);
    kf_config_free (s_entries, &push.config);
    return rc;
}
