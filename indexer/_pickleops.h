/* What indexer/'s C extensions share: a growable byte buffer, and the pickle opcodes they
 * write for ints and memo references, as CPython's pickler writes them at protocols 2 and
 * 3 (BININT1 / BININT2 / BININT for ints that fit in 32 bits; BINPUT / LONG_BINPUT and
 * BINGET / LONG_BINGET for memo indexes below 256 and above). */
#ifndef VNSEARCH_PICKLEOPS_H
#define VNSEARCH_PICKLEOPS_H

#include <Python.h>
#include <stdint.h>
#include <string.h>

typedef struct {
    char *p;
    Py_ssize_t len, cap;
} buf_t;

static inline int
buf_reserve(buf_t *b, Py_ssize_t extra)
{
    if (b->len + extra <= b->cap)
        return 0;
    Py_ssize_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra)
        cap *= 2;
    char *p = PyMem_Realloc(b->p, (size_t)cap);
    if (p == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

static inline int
buf_put(buf_t *b, const void *src, Py_ssize_t n)
{
    if (buf_reserve(b, n) < 0)
        return -1;
    memcpy(b->p + b->len, src, (size_t)n);
    b->len += n;
    return 0;
}

static inline void
put_le32(char *p, uint32_t v)
{
    p[0] = (char)v;
    p[1] = (char)(v >> 8);
    p[2] = (char)(v >> 16);
    p[3] = (char)(v >> 24);
}

/* An int (|v| < 2**31) as the pickler writes it. */
static inline int
pickle_int(buf_t *b, long v)
{
    char op[5];
    if (v >= 0 && v <= 0xff) {
        op[0] = 'K';
        op[1] = (char)v;
        return buf_put(b, op, 2);
    }
    if (v >= 0 && v <= 0xffff) {
        op[0] = 'M';
        op[1] = (char)v;
        op[2] = (char)(v >> 8);
        return buf_put(b, op, 3);
    }
    op[0] = 'J';
    put_le32(op + 1, (uint32_t)(int32_t)v);
    return buf_put(b, op, 5);
}

/* A memo opcode with its index: `one_byte` (BINPUT 'q', BINGET 'h') below 256, else
 * `four_bytes` (LONG_BINPUT 'r', LONG_BINGET 'j'). */
static inline int
pickle_memo(buf_t *b, char one_byte, char four_bytes, Py_ssize_t idx)
{
    char op[5];
    if (idx < 256) {
        op[0] = one_byte;
        op[1] = (char)idx;
        return buf_put(b, op, 2);
    }
    op[0] = four_bytes;
    put_le32(op + 1, (uint32_t)idx);
    return buf_put(b, op, 5);
}

#endif
