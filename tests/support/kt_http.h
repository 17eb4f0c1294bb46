/*  kt_http — a plain HTTP/1.1 client for tests: one request per
    connection, bytes sent as given (no normalising of paths), the whole
    answer read until the server closes. */
#ifndef KT_HTTP_H
#define KT_HTTP_H

#include <stddef.h>

typedef struct {
    int status;    //  HTTP status, 0 when no answer
    char *headers; //  the response's header block (caller frees via kt_http_free)
    char *body;    //  its body, NUL-terminated
    size_t size;   //  body bytes
} kt_http_t;

//  Send raw (a whole request) to 127.0.0.1:port and read the answer
//  (fails the test if nothing comes within 10 s).
void kt_http_raw (int port, const char *raw, size_t len, kt_http_t *out);
//  GET path with "Authorization: Bearer token" (token NULL: none).
void kt_http_get (int port, const char *path, const char *token, kt_http_t *out);
void kt_http_free (kt_http_t *self);

#endif
