/*  kt_push — run the real kefu-push binary from a test. */
#include "kt_push.h"

#include <czmq.h>
#include <sys/wait.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

int
kt_push (const char *endpoint, const char *input, const char *flags, char **out_p)
{
    const char *bin = getenv ("KEFU_TEST_BIN_DIR");
    if (!bin)
        fail_msg ("KEFU_TEST_BIN_DIR is not set: run this test through ctest");
    char dir[] = "/tmp/kefu-push.XXXXXX";
    assert_non_null (mkdtemp (dir));
    char *in_path = zsys_sprintf ("%s/in", dir);
    char *out_path = zsys_sprintf ("%s/out", dir);
    FILE *f = fopen (in_path, "w");
    assert_non_null (f);
    fputs (input, f);
    fclose (f);
    char *cmd = zsys_sprintf ("KEFU_PUSH_ENDPOINT=%s KEFU_PUSH_TIMEOUT=20s "
                              "'%s/clients/push/kefu-push' %s < '%s' > '%s'",
                              endpoint, bin, flags, in_path, out_path);
    int status = system (cmd);
    assert_true (WIFEXITED (status));
    zchunk_t *chunk = zchunk_slurp (out_path, 0);
    *out_p = chunk ? zchunk_strdup (chunk) : strdup ("");
    zchunk_destroy (&chunk);
    remove (in_path);
    remove (out_path);
    rmdir (dir);
    zstr_free (&cmd);
    zstr_free (&out_path);
    zstr_free (&in_path);
    return WEXITSTATUS (status);
}
