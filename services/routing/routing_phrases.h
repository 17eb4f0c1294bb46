/*  routing_phrases — the shop's quick replies (快捷短语): what a phrase may
    hold, and filling its placeholders in.

    A phrase belongs to one key: the greeting, or an intent (other,
    presales, ... negative_review). Its text may hold the placeholders
    {agent_name}, {shop_name}, {customer_name} and {order_id}; any other
    {lower_case_word} is refused, so a typo never reaches a customer.
    Other braces ("{", "{}", "{ 1 }") are text. Pure: no SQL, no sockets;
    routing_model picks the phrases, routing_store keeps them, kefuctl
    phrases checks them with routing_phrase_check before storing. */
#ifndef ROUTING_PHRASES_H
#define ROUTING_PHRASES_H

#include <stddef.h>
#include <stdint.h>

#define ROUTING_PHRASE_MAX        500  //  bytes of a phrase's text (the table's CHECK too)
#define ROUTING_PHRASES_PER_KEY   50   //  phrases per intent (or greeting) and shop
#define ROUTING_PHRASE_HOLES_MAX  4    //  placeholders in one phrase
#define ROUTING_PHRASE_VALUE_MAX  256  //  bytes of a placeholder's value used
#define ROUTING_PHRASE_FILLED_MAX 1536 //  >= MAX + HOLES_MAX * VALUE_MAX, plus NUL
#define ROUTING_SUGGESTIONS_MAX   8    //  phrases in one command
#define ROUTING_PHRASE_KEYS       10   //  greeting (0) and Intent 1..9
#define ROUTING_PHRASE_GREETING   0    //  the key of greetings (Intent 0 is "unspecified")

//  A phrase of the library. key: ROUTING_PHRASE_GREETING or an Intent value.
typedef struct {
    int64_t id; //  phrase_id
    int key;    //  0..ROUTING_PHRASE_KEYS-1
    char *text; //  the template (owned by whoever holds the array)
} routing_phrase_t;

//  What placeholders are filled with; NULL or "" = not known.
typedef struct {
    const char *agent_name;    //  the agent's display name
    const char *shop_name;     //  the shop's name
    const char *customer_name; //  the customer's name on the channel (their id there)
    const char *order_id;      //  the order the conversation mentioned last
} routing_phrase_values_t;

//  "greeting", "other", "presales", ... "negative_review" (borrowed), NULL
//  if key is out of range.
const char *routing_phrase_key_name (int key);
//  The key of such a name, -1 if unknown.
int routing_phrase_key (const char *name);

//  Check a phrase's text[0..len): valid UTF-8, no control characters but
//  line breaks, not empty or blank, at most ROUTING_PHRASE_MAX bytes, only
//  known placeholders and at most ROUTING_PHRASE_HOLES_MAX of them. 0, or
//  -1 with a one-line reason in why naming what is wrong.
int routing_phrase_check (const char *text, size_t len, char *why, size_t why_size);

//  Fill text's placeholders from values into out. 0, or -1 when a
//  placeholder has no value (the phrase does not fit this conversation) or
//  out is too small.
int routing_phrase_fill (const char *text, const routing_phrase_values_t *values, char *out,
                         size_t size);

#endif
