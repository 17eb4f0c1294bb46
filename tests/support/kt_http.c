/*  kt_http — a plain HTTP client for tests (raw sockets). */
#include "kt_http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

void
kt_http_raw (int port, const char *raw, size_t len, kt_http_t *out)
{
    memset (out, 0, sizeof *out);
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    assert_true (fd >= 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons ((uint16_t) port)};
    addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    assert_int_equal (connect (fd, (struct sockaddr *) &addr, sizeof addr), 0);
    //  The server may answer and close before it has read everything.
    size_t sent = 0;
    while (sent < len) {
        ssize_t n = send (fd, raw + sent, len - sent, MSG_NOSIGNAL);
        if (n <= 0)
            break;
        sent += (size_t) n;
    }
    shutdown (fd, SHUT_WR);
    char *text = NULL;
    size_t size = 0;
    FILE *acc = open_memstream (&text, &size);
    char buf[8192];
    struct pollfd p = {fd, POLLIN, 0};
    while (poll (&p, 1, 10000) == 1) {
        ssize_t n = recv (fd, buf, sizeof buf, 0);
        if (n <= 0)
            break;
        fwrite (buf, 1, (size_t) n, acc);
    }
    fclose (acc);
    close (fd);
    if (size == 0) {
        free (text);
        fail_msg ("no answer on port %d", port);
    }
    sscanf (text, "HTTP/1.%*d %d", &out->status);
    char *end = strstr (text, "\r\n\r\n");
    if (end) {
        *end = 0;
        out->body = strdup (end + 4);
        out->size = size - (size_t) (end + 4 - text);
    } else
        out->body = strdup ("");
    out->headers = text;
}

void
kt_http_get (int port, const char *path, const char *token, kt_http_t *out)
{
    char *req = NULL;
    int n = asprintf (&req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s%s%s\r\n",
                      path, token ? "Authorization: Bearer " : "", token ? token : "",
                      token ? "\r\n" : "");
    assert_true (n > 0);
    kt_http_raw (port, req, (size_t) n, out);
    free (req);
}

void
kt_http_free (kt_http_t *self)
{
    free (self->headers);
    free (self->body);
    self->headers = self->body = NULL;
}
