/*  kefuctl_orders — the shop's order desk: `kefuctl orders import|list|show|
    tasks|settings`.

    import reads a platform's order export (CSV with a header row, GBK or
    UTF-8) one row at a time and pushes each order through intake with
    libkefu-gateway, like any platform connector: authentication, shop
    scope, validation, de-duplication and ack-after-commit are intake's.
    Item ids come from the row's content, so importing the same file again
    is answered DUPLICATE and changes nothing. Memory holds one row and the
    gateway's window, whatever the file's size. The other commands read
    kefu-ordersync's tables through its store module. */
#include "kefuctl.h"

#include "kefu_gateway.h"
#include "kf_tz.h"
#include "kf_valid.h"
#include "ordersync_store.h"

#include <ctype.h>
#include <stddef.h>
#include <errno.h>
#include <iconv.h>
#include <inttypes.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_COLS_MAX 128

//  The fields an order row is read from, and the Taobao/Tmall 订单报表
//  export's column for each (the default mapping; --map field=列名,...).
enum {
    F_ORDER_ID,
    F_BUYER,
    F_AMOUNT,
    F_STATE,
    F_SHIPPING,
    F_CREATED,
    F_PAID,
    F_TRACKING,
    F_ITEMS,
    F_ADDRESS,
    F_PHONE,
    F_NOTE,
    F_COUNT
};
static const struct {
    const char *field;  //  --map name
    const char *column; //  Taobao's header
    bool required;      //  the import stops if the header lacks it
} s_fields[F_COUNT] = {
    {"order_id", "订单编号", true},  {"buyer", "买家会员名", true},
    {"amount", "总金额", true},      {"state", "订单状态", true},
    {"shipping", "运送方式", false}, {"created", "订单创建时间", true},
    {"paid", "订单付款时间", false}, {"tracking", "物流单号", false},
    {"items", "宝贝标题", false},    {"address", "收货地址", false},
    {"phone", "联系手机", false},    {"note", "订单备注", false},
};

//  订单状态 values.
static const struct {
    const char *text;
    int state;
} s_states[] = {
    {"等待买家付款", KEFU__V1__ORDER_STATE__ORDER_CREATED},
    {"买家已付款，等待卖家发货", KEFU__V1__ORDER_STATE__ORDER_PAID},
    {"卖家已发货，等待买家确认", KEFU__V1__ORDER_STATE__ORDER_SHIPPED},
    {"交易成功", KEFU__V1__ORDER_STATE__ORDER_DELIVERED},
    {"交易关闭", KEFU__V1__ORDER_STATE__ORDER_CLOSED},
    {"退款中", KEFU__V1__ORDER_STATE__ORDER_REFUNDING},
};

//  ---------------------------------------------------------------------
//  CSV, one record at a time

typedef struct {
    FILE *in;        //  the file
    char *line;      //  getline buffer
    size_t line_cap; //  its size
    char *rec;       //  the record's bytes (a quoted field may span lines)
    size_t rec_len, rec_cap;
    long line_no;             //  physical line the record starts on
    long next_line;           //  physical line to read next
    char *fields[S_COLS_MAX]; //  into rec, unquoted
    int count;                //  fields in the record
} s_csv_t;

//  Read the next record; 1 if there is one, 0 at the end.
static int
s_csv_next (s_csv_t *c)
{
    c->rec_len = 0;
    c->line_no = c->next_line;
    bool quoted = false;
    ssize_t n;
    do {
        if ((n = getline (&c->line, &c->line_cap, c->in)) <= 0)
            break;
        c->next_line++;
        if (c->rec_len + (size_t) n + 1 > c->rec_cap) {
            c->rec_cap = (c->rec_len + (size_t) n + 1) * 2;
            c->rec = realloc (c->rec, c->rec_cap);
        }
        memcpy (c->rec + c->rec_len, c->line, (size_t) n);
        c->rec_len += (size_t) n;
        for (ssize_t i = 0; i < n; i++)
            if (c->line[i] == '"')
                quoted = !quoted;
    } while (quoted);
    if (c->rec_len == 0)
        return 0;
    //  Strip the line end, then split and unquote in place.
    while (c->rec_len && (c->rec[c->rec_len - 1] == '\n' || c->rec[c->rec_len - 1] == '\r'))
        c->rec_len--;
    c->rec[c->rec_len] = '\0';
    c->count = 0;
    char *r = c->rec, *w = c->rec;
    while (c->count < S_COLS_MAX) {
        c->fields[c->count++] = w;
        if (*r == '"') {
            r++;
            while (*r) {
                if (*r == '"' && r[1] == '"') {
                    *w++ = '"';
                    r += 2;
                } else if (*r == '"') {
                    r++;
                    break;
                } else
                    *w++ = *r++;
            }
        }
        while (*r && *r != ',')
            *w++ = *r++;
        bool more = *r == ',';
        *w++ = '\0';
        if (!more)
            break;
        r++;
    }
    return 1;
}

//  ---------------------------------------------------------------------
//  Values

//  A field as UTF-8: converted from GBK (GB18030) or checked. Returns a
//  string in buf, or NULL if the bytes are not of the encoding.
static const char *
s_utf8 (iconv_t cd, const char *in, char *buf, size_t size)
{
    size_t len = strlen (in);
    if (cd == (iconv_t) -1) {
        size_t bad;
        if (len >= size || kf_valid_utf8 ((const uint8_t *) in, len, &bad))
            return NULL;
        memcpy (buf, in, len + 1);
        return buf;
    }
    iconv (cd, NULL, NULL, NULL, NULL);
    char *src = (char *) in, *dst = buf;
    size_t left = len, room = size - 1;
    if (iconv (cd, &src, &left, &dst, &room) == (size_t) -1)
        return NULL;
    *dst = '\0';
    return buf;
}

//  Spreadsheet guards: ="1930..." and a leading ' keep long numbers as text.
static char *
s_clean (char *v)
{
    size_t len = strlen (v);
    if (len >= 3 && v[0] == '=' && v[1] == '"' && v[len - 1] == '"') {
        v[len - 1] = '\0';
        v += 2;
    }
    if (*v == '\'')
        v++;
    while (*v == ' ')
        v++;
    len = strlen (v);
    while (len && v[len - 1] == ' ')
        v[--len] = '\0';
    return v;
}

//  "598.00" yuan -> 59800 fen; -1 if not an amount.
static int64_t
s_amount (const char *v)
{
    int64_t yuan = 0, fen = 0;
    const char *p = v;
    if (!isdigit ((unsigned char) *p))
        return -1;
    while (isdigit ((unsigned char) *p) && yuan < 100000000000LL)
        yuan = yuan * 10 + (*p++ - '0');
    if (*p == '.') {
        p++;
        for (int i = 0; i < 2; i++)
            fen = fen * 10 + (isdigit ((unsigned char) *p) ? *p++ - '0' : 0);
        while (isdigit ((unsigned char) *p))
            p++;
    }
    if (strcmp (p, "元") == 0)
        p += strlen ("元");
    return *p ? -1 : yuan * 100 + fen;
}

//  "2026-11-23 10:38:00" shop-local -> UTC ms; 0 for empty, -1 if malformed.
static int64_t
s_time (const kf_tz_t *tz, const char *v)
{
    if (!*v)
        return 0;
    int y, mo, d, h, mi, s = 0;
    char tail;
    int n = sscanf (v, "%d-%d-%d %d:%d:%d%c", &y, &mo, &d, &h, &mi, &s, &tail);
    if (n != 5 && n != 6)
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 ||
        s > 59)
        return -1;
    return kf_tz_to_utc (tz, y, mo, d, h * 60 + mi) + s * 1000LL;
}

static uint64_t
s_fnv (const char *s, uint64_t h)
{
    for (; *s; s++)
        h = (h ^ (uint8_t) *s) * 1099511628211ULL;
    return h;
}

//  ---------------------------------------------------------------------
//  import

typedef struct {
    const char *shop;   //  the shop
    kefu_gateway_t *gw; //  the connection to intake
    zhashx_t *lines;    //  in-flight item id -> line number (as a string)
    long read, accepted, duplicates, rejected, broken;
    int64_t now_ms; //  for sent_at
} s_import_t;

static void
s_on_ack (const Kefu__V1__Ack *ack, void *arg)
{
    s_import_t *im = arg;
    char id[160];
    snprintf (id, sizeof id, "%.*s", (int) ack->gateway_msg_id.len,
              (const char *) ack->gateway_msg_id.data);
    const char *line = zhashx_lookup (im->lines, id);
    if (ack->status == KEFU__V1__ACK_STATUS__ACK_ACCEPTED)
        im->accepted++;
    else if (ack->status == KEFU__V1__ACK_STATUS__ACK_DUPLICATE)
        im->duplicates++;
    else {
        im->rejected++;
        printf ("line %s: rejected %s: %s\n", line ? line : "?", kf_error_code_name (ack->code),
                ack->reason);
    }
    zhashx_delete (im->lines, id);
}

static int
s_push (s_import_t *im, const Kefu__V1__InboundItem *item, long line_no)
{
    char id[160], line[24];
    snprintf (id, sizeof id, "%.*s", (int) item->gateway_msg_id.len,
              (const char *) item->gateway_msg_id.data);
    snprintf (line, sizeof line, "%ld", line_no);
    zhashx_update (im->lines, id, strdup (line));
    while (kefu_gateway_send (im->gw, item) != 0) {
        if (errno != EAGAIN)
            return -1;
        kefu_gateway_poll (im->gw, 100);
    }
    kefu_gateway_poll (im->gw, 0);
    return 0;
}

static void
s_bin (ProtobufCBinaryData *b, const char *s)
{
    b->data = (uint8_t *) s;
    b->len = s ? strlen (s) : 0;
}

//  One row: its order, and its flag note ("content _ agent") as a red flag.
static int
s_import_row (s_import_t *im, const kf_tz_t *tz, const char *const *v, long line_no,
              const char *const *names)
{
    int64_t amount = s_amount (v[F_AMOUNT]);
    int64_t created = s_time (tz, v[F_CREATED]);
    int64_t paid = v[F_PAID] ? s_time (tz, v[F_PAID]) : 0;
    int state = 0;
    for (size_t i = 0; i < sizeof s_states / sizeof s_states[0]; i++)
        if (strcmp (v[F_STATE], s_states[i].text) == 0)
            state = s_states[i].state;
    const char *bad = amount < 0     ? "is not an amount in yuan (598.00)"
                      : created <= 0 ? "is not a time (YYYY-MM-DD HH:MM:SS)"
                      : paid < 0     ? "is not a time (YYYY-MM-DD HH:MM:SS)"
                      : !state       ? "is not a known order state"
                                     : NULL;
    if (bad) {
        int f = amount < 0 ? F_AMOUNT : created <= 0 ? F_CREATED : paid < 0 ? F_PAID : F_STATE;
        printf ("line %ld, column %s: \"%s\" %s\n", line_no, names[f], v[f], bad);
        im->broken++;
        return 0;
    }
    Kefu__V1__InboundItem item = KEFU__V1__INBOUND_ITEM__INIT;
    Kefu__V1__OrderUpdate u = KEFU__V1__ORDER_UPDATE__INIT;
    item.shop_id.data = (uint8_t *) im->shop;
    item.shop_id.len = strlen (im->shop);
    item.sent_at_ms = im->now_ms;
    item.channel = KEFU__V1__CHANNEL__CHANNEL_PLATFORM_CHAT;
    item.kind_case = KEFU__V1__INBOUND_ITEM__KIND_ORDER_UPDATE;
    item.order_update = &u;
    s_bin (&u.order_id, v[F_ORDER_ID]);
    s_bin (&u.customer_id, v[F_BUYER]);
    u.state = state;
    u.payment = v[F_SHIPPING] && strcmp (v[F_SHIPPING], "货到付款") == 0
                    ? KEFU__V1__PAYMENT_METHOD__PAYMENT_CASH_ON_DELIVERY
                    : KEFU__V1__PAYMENT_METHOD__PAYMENT_ONLINE;
    u.amount_cents = amount;
    s_bin (&u.currency, "CNY");
    u.created_at_ms = created;
    u.paid_at_ms = paid;
    //  The export has no modification time: the latest it knows.
    u.modified_at_ms = paid > created ? paid : created;
    s_bin (&u.tracking_no, v[F_TRACKING]);
    s_bin (&u.items, v[F_ITEMS]);
    s_bin (&u.receiver_address, v[F_ADDRESS]);
    s_bin (&u.receiver_phone, v[F_PHONE]);
    //  The id is the row's content: the same row again is a duplicate.
    uint64_t h = 14695981039346656037ULL;
    for (int f = 0; f < F_COUNT; f++)
        h = s_fnv (v[f] ? v[f] : "", s_fnv ("\x1f", h));
    char id[160];
    snprintf (id, sizeof id, "csv:%.100s:%016" PRIx64, v[F_ORDER_ID], h);
    s_bin (&item.gateway_msg_id, id);
    if (s_push (im, &item, line_no))
        return -1;
    const char *note = v[F_NOTE];
    const char *sep = note ? strstr (note, " _ ") : NULL;
    if (sep && sep[3]) {
        char content[600];
        snprintf (content, sizeof content, "%.*s", (int) (sep - note), note);
        Kefu__V1__OrderFlag flag = KEFU__V1__ORDER_FLAG__INIT;
        item.kind_case = KEFU__V1__INBOUND_ITEM__KIND_ORDER_FLAG;
        item.order_flag = &flag;
        s_bin (&flag.order_id, v[F_ORDER_ID]);
        s_bin (&flag.customer_id, v[F_BUYER]);
        s_bin (&flag.note, content);
        s_bin (&flag.agent_id, sep + 3);
        flag.colour = KEFU__V1__ORDER_FLAG_COLOUR__ORDER_FLAG_RED;
        flag.meaning = KEFU__V1__ORDER_FLAG_MEANING__ORDER_FLAG_ADDRESS_CONFIRMED;
        snprintf (id, sizeof id, "csv-flag:%.100s:%016" PRIx64, v[F_ORDER_ID], s_fnv (note, h));
        s_bin (&item.gateway_msg_id, id);
        if (s_push (im, &item, line_no))
            return -1;
    }
    return 0;
}

//  Connect with order-sync's statements, check the shop, read its settings
//  (its time zone among them). On 0, *store_p is the caller's to destroy.
typedef struct {
    ordersync_settings_t s; //  the shop's
    bool found;             //  the shop exists
} s_settings_t;

static void
s_on_settings (void *arg, const ordersync_settings_t *s)
{
    s_settings_t *out = arg;
    out->s = *s;
    out->found = true;
}

static int
s_open (kefuctl_t *ctl, const char *cmd, const char *shop, kf_store_t **store_p,
        ordersync_settings_t *settings)
{
    int rc = kefuctl_shop_open (ctl, cmd, shop, store_p);
    if (rc)
        return rc;
    ordersync_store_register (*store_p);
    kf_error_t err;
    kf_error_clear (&err);
    s_settings_t cur = {.found = false};
    if (ordersync_store_load_settings (*store_p, shop, s_on_settings, &cur, &err) || !cur.found) {
        fprintf (stderr, "%s: %s\n", cmd, cur.found ? err.reason : "shop not found");
        kf_store_destroy (store_p);
        return KEFUCTL_FAILED;
    }
    *settings = cur.s;
    return KEFUCTL_OK;
}

static int
s_import (kefuctl_t *ctl, int argc, char **argv)
{
    const char *cmd = "kefuctl orders import";
    if (argc < 4)
        return kefuctl_bad_arg (cmd, argc, argv, argc - 1);
    const char *shop = argv[2], *path = argv[3];
    const char *encoding = NULL, *map = NULL, *gateway_id = "orders-import", *tzname = NULL;
    for (int i = 4; i < argc; i++) {
        const char *v;
        if ((v = kefuctl_opt (argc, argv, &i, "--encoding")))
            encoding = v;
        else if ((v = kefuctl_opt (argc, argv, &i, "--map")))
            map = v;
        else if ((v = kefuctl_opt (argc, argv, &i, "--gateway-id")))
            gateway_id = v;
        else if ((v = kefuctl_opt (argc, argv, &i, "--timezone")))
            tzname = v;
        else
            return kefuctl_bad_arg (cmd, argc, argv, i);
    }
    if (kefuctl_check_shop (cmd, shop))
        return KEFUCTL_USAGE;
    if (encoding && strcasecmp (encoding, "gbk") != 0 && strcasecmp (encoding, "utf-8") != 0 &&
        strcasecmp (encoding, "utf8") != 0) {
        fprintf (stderr, "%s: --encoding %s: use gbk or utf-8\n", cmd, encoding);
        return KEFUCTL_USAGE;
    }
    //  The mapping: Taobao's, with --map's changes.
    const char *columns[F_COUNT];
    for (int f = 0; f < F_COUNT; f++)
        columns[f] = s_fields[f].column;
    char *map_copy = map ? strdup (map) : NULL;
    int rc = KEFUCTL_OK;
    for (char *save = NULL, *pair = map_copy ? strtok_r (map_copy, ",", &save) : NULL; pair;
         pair = strtok_r (NULL, ",", &save)) {
        char *eq = strchr (pair, '=');
        int f = -1;
        if (eq) {
            *eq = '\0';
            for (int k = 0; k < F_COUNT; k++)
                if (strcmp (pair, s_fields[k].field) == 0)
                    f = k;
        }
        if (f < 0) {
            fprintf (stderr,
                     "%s: --map %s: use field=column with a field of order_id, buyer, "
                     "amount, state, shipping, created, paid, tracking, items, address, "
                     "phone, note\n",
                     cmd, pair);
            free (map_copy);
            return KEFUCTL_USAGE;
        }
        columns[f] = eq + 1;
    }
    //  The shop's time zone reads the export's local times.
    kf_store_t *store = NULL;
    ordersync_settings_t settings;
    if ((rc = s_open (ctl, cmd, shop, &store, &settings))) {
        free (map_copy);
        return rc;
    }
    kf_store_destroy (&store);
    kf_tz_t *tz = kf_tz_new (tzname ? tzname : settings.timezone);
    FILE *in = fopen (path, "rb");
    if (!tz || !in) {
        fprintf (stderr, "%s: %s\n", cmd, !tz ? "unknown --timezone" : strerror (errno));
        if (in)
            fclose (in);
        kf_tz_destroy (&tz);
        free (map_copy);
        return !tz ? KEFUCTL_USAGE : KEFUCTL_FAILED;
    }
    s_csv_t csv = {.in = in, .next_line = 1};
    iconv_t cd = (iconv_t) -1;
    int index[F_COUNT];
    char names[F_COUNT][128];
    const char *name_p[F_COUNT];
    int header_cols = 0;
    if (!s_csv_next (&csv)) {
        fprintf (stderr, "%s: %s is empty\n", cmd, path);
        rc = KEFUCTL_FAILED;
        goto done;
    }
    //  The encoding: asked, or a byte-order mark / valid UTF-8 header, else GBK.
    bool bom = csv.count && memcmp (csv.fields[0], "\xEF\xBB\xBF", 3) == 0;
    if (bom)
        csv.fields[0] += 3;
    size_t bad_at;
    bool utf8 =
        encoding ? strncasecmp (encoding, "utf", 3) == 0
                 : bom || kf_valid_utf8 ((const uint8_t *) csv.rec, strlen (csv.rec), &bad_at) == 0;
    if (!utf8)
        cd = iconv_open ("UTF-8", "GB18030");
    header_cols = csv.count;
    for (int f = 0; f < F_COUNT; f++) {
        index[f] = -1;
        snprintf (names[f], sizeof names[f], "%s", columns[f]);
        name_p[f] = names[f];
    }
    for (int c = 0; c < csv.count; c++) {
        char buf[512];
        const char *h = s_utf8 (cd, csv.fields[c], buf, sizeof buf);
        if (!h) {
            fprintf (stderr, "%s: line 1, column %d: the header is not %s (try --encoding %s)\n",
                     cmd, c + 1, utf8 ? "UTF-8" : "GBK", utf8 ? "gbk" : "utf-8");
            rc = KEFUCTL_FAILED;
            goto done;
        }
        char clean[512];
        snprintf (clean, sizeof clean, "%s", h);
        const char *name = s_clean (clean);
        for (int f = 0; f < F_COUNT; f++)
            if (index[f] < 0 && strcmp (name, columns[f]) == 0)
                index[f] = c;
    }
    for (int f = 0; f < F_COUNT; f++)
        if (index[f] < 0 && s_fields[f].required) {
            fprintf (stderr, "%s: the header has no column %s (%s); name it with --map %s=COLUMN\n",
                     cmd, columns[f], s_fields[f].field, s_fields[f].field);
            rc = KEFUCTL_FAILED;
            goto done;
        }
    kefu_gateway_options_t opt = kefu_gateway_options_default ();
    opt.endpoint = ctl->config->gateway_endpoint;
    opt.gateway_id = gateway_id;
    opt.software = "kefuctl orders import";
    if (*ctl->config->intake_server_key) {
        opt.server_public_key = ctl->config->intake_server_key;
        opt.secret_key_file = ctl->config->key_file;
    }
    s_import_t im = {.shop = shop, .now_ms = ctl->now_ms};
    im.lines = zhashx_new ();
    zhashx_set_destructor (im.lines, (zhashx_destructor_fn *) zstr_free);
    im.gw = kefu_gateway_new (&opt);
    if (!im.gw) {
        zhashx_destroy (&im.lines);
        rc = KEFUCTL_USAGE;
        goto done;
    }
    kefu_gateway_on_ack (im.gw, s_on_ack, &im);
    while (s_csv_next (&csv)) {
        if (csv.count == 1 && !*csv.fields[0])
            continue; //  a blank line
        im.read++;
        if (csv.count != header_cols) {
            printf ("line %ld: %d columns, the header has %d\n", csv.line_no, csv.count,
                    header_cols);
            im.broken++;
        }
        char conv[F_COUNT][1024];
        const char *v[F_COUNT];
        bool ok = true;
        for (int f = 0; f < F_COUNT && ok; f++) {
            v[f] = NULL;
            if (index[f] < 0)
                continue;
            if (index[f] >= csv.count) {
                if (s_fields[f].required) {
                    if (csv.count == header_cols)
                        printf ("line %ld, column %s: missing\n", csv.line_no, columns[f]);
                    ok = false;
                }
                continue;
            }
            const char *u = s_utf8 (cd, csv.fields[index[f]], conv[f], sizeof conv[f]);
            if (!u) {
                printf ("line %ld, column %s: not %s text\n", csv.line_no, columns[f],
                        utf8 ? "UTF-8" : "GBK");
                ok = false;
                break;
            }
            v[f] = s_clean (conv[f]);
        }
        if (!ok || csv.count != header_cols) {
            if (csv.count == header_cols)
                im.broken++;
            continue;
        }
        if (s_import_row (&im, tz, v, csv.line_no, name_p)) {
            rc = KEFUCTL_FAILED;
            break;
        }
    }
    size_t left = kefu_gateway_flush (im.gw, 30000);
    printf ("%s %s: read %ld rows, accepted %ld, duplicate %ld, rejected %ld, broken %ld%s\n", shop,
            path, im.read, im.accepted, im.duplicates, im.rejected, im.broken,
            left ? " (some items got no answer from intake)" : "");
    if (left)
        rc = 3;
    else if (rc == KEFUCTL_OK && (im.rejected || im.broken))
        rc = KEFUCTL_FAILED;
    kefu_gateway_destroy (&im.gw);
    zhashx_destroy (&im.lines);
done:
    if (cd != (iconv_t) -1)
        iconv_close (cd);
    fclose (in);
    free (csv.line);
    free (csv.rec);
    kf_tz_destroy (&tz);
    free (map_copy);
    return rc;
}

//  ---------------------------------------------------------------------
//  settings

//  --hours HH:MM-HH:MM: the shop's hours (past midnight when the end is
//  before the start; the same time twice: all day).
static int
s_parse_hours (const char *cmd, const char *v, ordersync_settings_t *s)
{
    char from[8] = "", to[8] = "";
    const char *dash = strchr (v, '-');
    if (!dash || dash - v >= (ptrdiff_t) sizeof from || strlen (dash + 1) >= sizeof to) {
        fprintf (stderr, "%s: --hours %s: use HH:MM-HH:MM, e.g. 08:30-23:00\n", cmd, v);
        return KEFUCTL_USAGE;
    }
    memcpy (from, v, (size_t) (dash - v));
    snprintf (to, sizeof to, "%s", dash + 1);
    int rc = kefuctl_parse_clock (cmd, "--hours", from, false, &s->open_minute);
    return rc ? rc : kefuctl_parse_clock (cmd, "--hours", to, false, &s->close_minute);
}

static int
s_settings (kefuctl_t *ctl, int argc, char **argv)
{
    const char *cmd = "kefuctl orders settings";
    if (argc < 3)
        return kefuctl_bad_arg (cmd, argc, argv, argc - 1);
    const char *shop = argv[2];
    if (kefuctl_check_shop (cmd, shop))
        return KEFUCTL_USAGE;
    kf_store_t *store = NULL;
    ordersync_settings_t cur;
    int rc = s_open (ctl, cmd, shop, &store, &cur);
    if (rc)
        return rc;
    kf_error_t err;
    kf_error_clear (&err);
    ordersync_settings_t *s = &cur;
    bool json = false, changed = false;
    for (int i = 3; i < argc && rc == 0; i++) {
        const char *v;
        int64_t ms;
        if (strcmp (argv[i], "--json") == 0)
            json = true;
        else if ((v = kefuctl_opt (argc, argv, &i, "--remind-at")))
            rc = kefuctl_parse_clock (cmd, "--remind-at", v, false, &s->remind_minute),
            changed = true;
        else if ((v = kefuctl_opt (argc, argv, &i, "--cutoff")))
            rc = kefuctl_parse_clock (cmd, "--cutoff", v, false, &s->cutoff_minute), changed = true;
        else if ((v = kefuctl_opt (argc, argv, &i, "--hours")))
            rc = s_parse_hours (cmd, v, s), changed = true;
        else if ((v = kefuctl_opt (argc, argv, &i, "--cod-notice"))) {
            rc = kefuctl_parse_duration (cmd, "--cod-notice", v, 60000, 7 * 86400000LL, &ms);
            s->cod_notice_ms = ms, changed = true;
        } else if ((v = kefuctl_opt (argc, argv, &i, "--stall-after"))) {
            rc = kefuctl_parse_duration (cmd, "--stall-after", v, 3600000, 30 * 86400000LL, &ms);
            s->stall_ms = ms, changed = true;
        } else if ((v = kefuctl_opt (argc, argv, &i, "--window"))) {
            rc = kefuctl_parse_duration (cmd, "--window", v, 60000, 7 * 86400000LL, &ms);
            s->window_ms = ms, changed = true;
        } else if ((v = kefuctl_opt (argc, argv, &i, "--cod-group"))) {
            rc = kefuctl_check_name (cmd, "group", v);
            snprintf (s->cod_group, sizeof s->cod_group, "%s", v);
            changed = true;
        } else if ((v = kefuctl_opt (argc, argv, &i, "--remind-text"))) {
            rc = kefuctl_check_text (cmd, "--remind-text", v, ORDERSYNC_TEXT_MAX, true);
            snprintf (s->remind_text, sizeof s->remind_text, "%s", v);
            changed = true;
        } else
            rc = kefuctl_bad_arg (cmd, argc, argv, i);
    }
    if (rc == 0 && changed && ordersync_store_save_settings (store, s, &err)) {
        fprintf (stderr, "%s: %s\n", cmd, err.reason);
        rc = KEFUCTL_FAILED;
    }
    kf_store_destroy (&store);
    if (rc)
        return rc;
    char remind[8], cutoff[8], cod[32], stall[32], window[32], open[8], close[8], hours[20];
    kefuctl_fmt_clock (remind, sizeof remind, s->remind_minute);
    kefuctl_fmt_clock (cutoff, sizeof cutoff, s->cutoff_minute);
    kefuctl_fmt_clock (open, sizeof open, s->open_minute);
    kefuctl_fmt_clock (close, sizeof close, s->close_minute);
    snprintf (hours, sizeof hours, "%s-%s", open, close);
    kefuctl_fmt_duration (cod, sizeof cod, s->cod_notice_ms);
    kefuctl_fmt_duration (stall, sizeof stall, s->stall_ms);
    kefuctl_fmt_duration (window, sizeof window, s->window_ms);
    if (json) {
        json_t *o = json_pack ("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "shop_id",
                               shop, "timezone", s->timezone, "remind_at", remind, "cutoff", cutoff,
                               "hours", hours, "cod_notice", cod, "stall_after", stall, "window",
                               window, "cod_group", s->cod_group, "remind_text", s->remind_text);
        char *text = json_dumps (o, JSON_COMPACT);
        printf ("%s\n", text);
        free (text);
        json_decref (o);
        return KEFUCTL_OK;
    }
    const char *head[] = {"setting", "value"};
    kefuctl_table_t *t = kefuctl_table_new (2, head);
    const char *rows[][2] = {
        {"timezone", s->timezone}, {"remind-at", remind},       {"cutoff", cutoff},
        {"hours", hours},          {"cod-notice", cod},         {"stall-after", stall},
        {"window", window},        {"cod-group", s->cod_group}, {"remind-text", s->remind_text}};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        kefuctl_table_add (t, rows[i]);
    kefuctl_table_print (t, stdout);
    kefuctl_table_destroy (&t);
    return KEFUCTL_OK;
}

//  ---------------------------------------------------------------------
//  list

static const char *
s_state_name (int state)
{
    static const char *names[] = {"?",         "created",   "paid",     "shipped",
                                  "delivered", "refunding", "refunded", "closed"};
    return state >= 0 && state <= 7 ? names[state] : "?";
}

typedef struct {
    kefuctl_table_t *table; //  for people
    json_t *rows;           //  for tools (--json)
    const kf_tz_t *tz;      //  the shop's zone
    bool tasks;             //  kefuctl orders tasks: one row per task
    bool open;              //  ... open ones only
} s_list_t;

static void
s_local (const kf_tz_t *tz, int64_t ms, char *buf, size_t size)
{
    buf[0] = '\0';
    if (!ms)
        return;
    struct tm tm;
    kf_tz_local (tz, ms, &tm);
    strftime (buf, size, "%Y-%m-%d %H:%M", &tm);
}

//  One task of an order: COD or address confirmation.
static void
s_task_row (s_list_t *l, const ordersync_order_t *o, const char *task, int64_t opened, int64_t done,
            const char *owner, const char *note)
{
    if (!opened || (l->open && done))
        return;
    char at[32], done_at[32];
    s_local (l->tz, opened, at, sizeof at);
    s_local (l->tz, done, done_at, sizeof done_at);
    if (l->rows) {
        json_array_append_new (
            l->rows, json_pack ("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "order_id", o->order_id,
                                "buyer", o->channel_customer_id, "task", task, "owner", owner,
                                "opened", at, "done", done_at, "note", note));
        return;
    }
    const char *cells[] = {o->order_id, o->channel_customer_id, task, owner, at, done_at, note};
    kefuctl_table_add (l->table, cells);
}

static void
s_on_listed (void *arg, const char *shop_id, const ordersync_order_t *o)
{
    (void) shop_id;
    s_list_t *l = arg;
    if (l->tasks) {
        s_task_row (l, o, "cod_confirm", o->cod_opened_at, o->cod_confirmed_at, o->task_owner,
                    o->cod_escalated_at ? "supervisors told" : "");
        s_task_row (l, o, "address_confirm", o->address_opened_at, o->address_confirmed_at, "",
                    o->address_note);
        return;
    }
    char created[32], amount[32];
    s_local (l->tz, o->created_at, created, sizeof created);
    snprintf (amount, sizeof amount, "%" PRId64 ".%02" PRId64, o->amount_cents / 100,
              o->amount_cents % 100);
    const char *pay =
        o->payment == KEFU__V1__PAYMENT_METHOD__PAYMENT_CASH_ON_DELIVERY ? "cod" : "online";
    char flags[64];
    snprintf (flags, sizeof flags, "%s%s%s%s", o->reminded_at ? "blue " : "",
              o->address_confirmed_at ? "red " : "", o->late_at ? "late " : "",
              o->stalled_at ? "stalled" : "");
    if (l->rows) {
        json_array_append_new (
            l->rows,
            json_pack ("{s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:s}", "order_id", o->order_id,
                       "buyer", o->channel_customer_id, "state", s_state_name (o->state), "payment",
                       pay, "amount_cents", (json_int_t) o->amount_cents, "currency", o->currency,
                       "created", created, "credited_agent", o->credited_agent, "flags", flags));
        return;
    }
    const char *cells[] = {o->order_id,
                           o->channel_customer_id,
                           s_state_name (o->state),
                           pay,
                           amount,
                           created,
                           o->credited_agent,
                           flags};
    kefuctl_table_add (l->table, cells);
}

static int
s_list (kefuctl_t *ctl, int argc, char **argv)
{
    bool tasks = strcmp (argv[1], "tasks") == 0;
    const char *cmd = tasks ? "kefuctl orders tasks" : "kefuctl orders list";
    if (argc < 3)
        return kefuctl_bad_arg (cmd, argc, argv, argc - 1);
    const char *shop = argv[2];
    if (kefuctl_check_shop (cmd, shop))
        return KEFUCTL_USAGE;
    ordersync_filter_t filter = {.limit = 1000, .tasks = tasks};
    bool json = false;
    for (int i = 3; i < argc; i++) {
        const char *v;
        if (strcmp (argv[i], "--json") == 0)
            json = true;
        else if (tasks && strcmp (argv[i], "--open") == 0)
            filter.open = true;
        else if (!tasks && strcmp (argv[i], "--unpaid") == 0)
            filter.unpaid = true;
        else if (!tasks && strcmp (argv[i], "--late") == 0)
            filter.late = true;
        else if ((v = kefuctl_opt (argc, argv, &i, "--customer")))
            filter.customer = v;
        else if (!tasks && (v = kefuctl_opt (argc, argv, &i, "--state"))) {
            for (int st = 1; st <= 7; st++)
                if (strcmp (v, s_state_name (st)) == 0)
                    filter.state = st;
            if (!filter.state) {
                fprintf (stderr,
                         "%s: --state %s: use created, paid, shipped, delivered, "
                         "refunding, refunded or closed\n",
                         cmd, v);
                return KEFUCTL_USAGE;
            }
        } else
            return kefuctl_bad_arg (cmd, argc, argv, i);
    }
    kf_store_t *store = NULL;
    ordersync_settings_t cur;
    int rc = s_open (ctl, cmd, shop, &store, &cur);
    if (rc)
        return rc;
    kf_error_t err;
    kf_error_clear (&err);
    kf_tz_t *tz = kf_tz_new (cur.timezone);
    if (!tz)
        tz = kf_tz_new ("Asia/Shanghai");
    const char *head[] = {"order",  "buyer",   "state",    "payment",
                          "amount", "created", "credited", "flags"};
    const char *task_head[] = {"order", "buyer", "task", "owner", "opened", "done", "note"};
    s_list_t l = {.tz = tz, .tasks = tasks, .open = filter.open};
    if (json)
        l.rows = json_array ();
    else
        l.table = tasks ? kefuctl_table_new (7, task_head) : kefuctl_table_new (8, head);
    if (ordersync_store_list_orders (store, shop, &filter, s_on_listed, &l, &err)) {
        fprintf (stderr, "%s: %s\n", cmd, err.reason);
        rc = KEFUCTL_FAILED;
    } else if (json) {
        char *text = json_dumps (l.rows, JSON_COMPACT);
        printf ("%s\n", text);
        free (text);
    } else
        kefuctl_table_print (l.table, stdout);
    json_decref (l.rows);
    kefuctl_table_destroy (&l.table);
    kf_tz_destroy (&tz);
    kf_store_destroy (&store);
    return rc;
}

//  ---------------------------------------------------------------------
//  show

typedef struct {
    ordersync_order_t o; //  the order
    bool found;          //  the shop has it
} s_found_t;

static void
s_on_found (void *arg, const char *shop_id, const ordersync_order_t *o)
{
    (void) shop_id;
    s_found_t *f = arg;
    f->o = *o;
    f->found = true;
}

typedef struct {
    json_t *rows;      //  history lines (JSON)
    const kf_tz_t *tz; //  the shop's zone
} s_history_t;

static void
s_on_history (void *arg, const ordersync_history_t *h)
{
    s_history_t *hs = arg;
    char at[32];
    s_local (hs->tz, h->at, at, sizeof at);
    json_array_append_new (
        hs->rows, json_pack ("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "at", at, "what", h->what,
                             "state", h->state ? s_state_name (h->state) : "", "previous",
                             h->previous ? s_state_name (h->previous) : "", "flag", h->flag, "task",
                             h->task, "note", h->note, "agent", h->agent));
}

//  The order as one JSON object: its fields, the credit and why, the
//  tasks (as `orders tasks` shows them) and the history, oldest first.
static json_t *
s_order_json (const ordersync_order_t *o, const kf_tz_t *tz, json_t *history)
{
    char created[32], paid[32], shipped[32], delivered[32], reply[32], window[32];
    s_local (tz, o->created_at, created, sizeof created);
    s_local (tz, o->paid_at, paid, sizeof paid);
    s_local (tz, o->shipped_at, shipped, sizeof shipped);
    s_local (tz, o->delivered_at, delivered, sizeof delivered);
    s_local (tz, o->credited_reply_at, reply, sizeof reply);
    window[0] = '\0';
    if (o->credit_window_ms)
        kefuctl_fmt_duration (window, sizeof window, o->credit_window_ms);
    char flags[64];
    snprintf (flags, sizeof flags, "%s%s%s%s", o->reminded_at ? "blue " : "",
              o->address_confirmed_at ? "red " : "", o->late_at ? "late " : "",
              o->stalled_at ? "stalled" : "");
    json_t *credit =
        *o->credited_agent
            ? json_pack ("{s:s, s:I, s:s, s:s, s:s}", "agent", o->credited_agent, "conversation",
                         (json_int_t) o->credited_conversation, "reply_at", reply, "rule",
                         "last_reply_within_window", "window", window)
            : json_pack ("{s:s, s:s}", "agent", "", "rule",
                         "nobody: no agent replied to the buyer within the window before the "
                         "order");
    s_list_t tasks = {.rows = json_array (), .tz = tz, .tasks = true};
    s_task_row (&tasks, o, "cod_confirm", o->cod_opened_at, o->cod_confirmed_at, o->task_owner,
                o->cod_escalated_at ? "supervisors told" : "");
    s_task_row (&tasks, o, "address_confirm", o->address_opened_at, o->address_confirmed_at, "",
                o->address_note);
    return json_pack (
        "{s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:o, s:o, "
        "s:o}",
        "order_id", o->order_id, "buyer", o->channel_customer_id, "state", s_state_name (o->state),
        "payment",
        o->payment == KEFU__V1__PAYMENT_METHOD__PAYMENT_CASH_ON_DELIVERY ? "cod" : "online",
        "amount_cents", (json_int_t) o->amount_cents, "currency", o->currency, "created", created,
        "paid", paid, "shipped", shipped, "delivered", delivered, "flags", flags, "refused",
        o->refused, "credit", credit, "tasks", tasks.rows, "history", history);
}

//  The JSON object for people: fields one per line, then tables.
static void
s_print_order (json_t *j)
{
    const char *key;
    json_t *value;
    json_object_foreach (j, key, value)
    {
        if (json_is_string (value))
            printf ("%-10s %s\n", key, json_string_value (value));
        else if (json_is_integer (value))
            printf ("%-10s %" JSON_INTEGER_FORMAT "\n", key, json_integer_value (value));
    }
    json_t *credit = json_object_get (j, "credit");
    const char *agent = json_string_value (json_object_get (credit, "agent"));
    if (*agent)
        printf ("%-10s %s (conversation %" JSON_INTEGER_FORMAT
                ", replied %s; rule %s, window %s)\n",
                "credited", agent, json_integer_value (json_object_get (credit, "conversation")),
                json_string_value (json_object_get (credit, "reply_at")),
                json_string_value (json_object_get (credit, "rule")),
                json_string_value (json_object_get (credit, "window")));
    else
        printf ("%-10s nobody (%s)\n", "credited",
                json_string_value (json_object_get (credit, "rule")));
    const char *task_head[] = {"task", "owner", "opened", "done", "note"};
    const char *task_keys[] = {"task", "owner", "opened", "done", "note"};
    const char *hist_head[] = {"at", "what", "state", "previous", "flag", "task", "note", "agent"};
    struct {
        const char *title, *member;
        size_t columns;
        const char *const *head;
    } parts[] = {{"tasks", "tasks", 5, task_head}, {"history", "history", 8, hist_head}};
    for (size_t p = 0; p < 2; p++) {
        json_t *rows = json_object_get (j, parts[p].member);
        printf ("\n%s:\n", parts[p].title);
        if (json_array_size (rows) == 0) {
            printf ("  (none)\n");
            continue;
        }
        const char *const *keys = p == 0 ? task_keys : hist_head;
        kefuctl_table_t *t = kefuctl_table_new (parts[p].columns, parts[p].head);
        size_t i;
        json_t *row;
        json_array_foreach (rows, i, row)
        {
            const char *cells[8];
            for (size_t c = 0; c < parts[p].columns; c++)
                cells[c] = json_string_value (json_object_get (row, keys[c]));
            kefuctl_table_add (t, cells);
        }
        kefuctl_table_print (t, stdout);
        kefuctl_table_destroy (&t);
    }
}

static int
s_show (kefuctl_t *ctl, int argc, char **argv)
{
    const char *cmd = "kefuctl orders show";
    if (argc < 4)
        return kefuctl_bad_arg (cmd, argc, argv, argc - 1);
    const char *shop = argv[2], *order_id = argv[3];
    if (kefuctl_check_shop (cmd, shop) ||
        kefuctl_check_label (cmd, "the order id", order_id, ORDERSYNC_ID_MAX))
        return KEFUCTL_USAGE;
    bool json = false;
    for (int i = 4; i < argc; i++)
        if (strcmp (argv[i], "--json") == 0)
            json = true;
        else
            return kefuctl_bad_arg (cmd, argc, argv, i);
    kf_store_t *store = NULL;
    ordersync_settings_t cur;
    int rc = s_open (ctl, cmd, shop, &store, &cur);
    if (rc)
        return rc;
    kf_tz_t *tz = kf_tz_new (cur.timezone);
    if (!tz)
        tz = kf_tz_new ("Asia/Shanghai");
    kf_error_t err;
    kf_error_clear (&err);
    s_found_t found = {.found = false};
    s_history_t history = {.rows = json_array (), .tz = tz};
    if (ordersync_store_get_order (store, shop, order_id, s_on_found, &found, &err) ||
        (found.found &&
         ordersync_store_order_history (store, shop, order_id, s_on_history, &history, &err))) {
        fprintf (stderr, "%s: %s\n", cmd, err.reason);
        rc = KEFUCTL_FAILED;
    } else if (!found.found) {
        fprintf (stderr, "%s: shop %s has no order %s\n", cmd, shop, order_id);
        rc = KEFUCTL_NOT_FOUND;
    } else {
        json_t *j = s_order_json (&found.o, tz, history.rows);
        history.rows = NULL; //  stolen by j
        if (json) {
            char *text = json_dumps (j, JSON_COMPACT);
            printf ("%s\n", text);
            free (text);
        } else
            s_print_order (j);
        json_decref (j);
    }
    json_decref (history.rows);
    kf_tz_destroy (&tz);
    kf_store_destroy (&store);
    return rc;
}

int
kefuctl_orders (kefuctl_t *ctl, int argc, char **argv)
{
    const char *cmd = "kefuctl orders";
    if (argc < 2 || kefuctl_wants_help (argc, argv)) {
        fprintf (argc < 2 ? stderr : stdout,
                 "Usage: kefuctl orders import SHOP FILE [--encoding gbk|utf-8] "
                 "[--map field=COLUMN,...]\n"
                 "                     [--gateway-id ID] [--timezone TZ]\n"
                 "  push a platform's order export (CSV, Taobao/Tmall 订单报表 by default)\n"
                 "  through intake; prints what was read, accepted, duplicate, rejected\n"
                 "  (with line numbers) and broken; exit 1 if a row did not go in.\n"
                 "  Fields for --map: order_id buyer amount state shipping created paid\n"
                 "  tracking items address phone note.\n"
                 "kefuctl orders list SHOP [--state S] [--unpaid] [--late] [--customer BUYER] "
                 "[--json]\n"
                 "  the shop's orders, newest first (at most 1000)\n"
                 "kefuctl orders show SHOP ORDER [--json]\n"
                 "  one order: its states and flags in time order, its tasks, the agent\n"
                 "  credited and why\n"
                 "kefuctl orders tasks SHOP [--open] [--customer BUYER] [--json]\n"
                 "  COD and address confirmations: owner, opened, done, note\n"
                 "kefuctl orders settings SHOP [--remind-at HH:MM] [--cutoff HH:MM] "
                 "[--hours 08:30-23:00]\n"
                 "                       [--cod-notice 2h] [--stall-after 48h] [--window 24h] "
                 "[--cod-group G]\n"
                 "                       [--remind-text T] [--json]\n"
                 "  show or change the shop's order settings (order-sync re-reads them within\n"
                 "  KEFU_ORDERSYNC_AUTH_REFRESH)\n");
        return argc < 2 ? KEFUCTL_USAGE : KEFUCTL_OK;
    }
    if (strcmp (argv[1], "import") == 0)
        return s_import (ctl, argc, argv);
    if (strcmp (argv[1], "settings") == 0)
        return s_settings (ctl, argc, argv);
    if (strcmp (argv[1], "list") == 0 || strcmp (argv[1], "tasks") == 0)
        return s_list (ctl, argc, argv);
    if (strcmp (argv[1], "show") == 0)
        return s_show (ctl, argc, argv);
    fprintf (stderr, "%s: unknown subcommand \"%s\" (import, list, show, tasks, settings)\n", cmd,
             argv[1]);
    return KEFUCTL_USAGE;
}
