/* W3 posting lists encoded in C: the bytes `indexer.blocks.ListEncoder._blocks_py` makes.
 *
 * Why: writing a segment was the largest stage of indexing (about half of a pool worker's
 * CPU per article), most of it Python run once per posting list: a 3,000-article VNTC
 * segment has about 415,000 lists, most of one or two postings. Here a list is unpacked
 * into C arrays once and its blocks are written straight into one buffer: the pickles
 * (block data at protocol 3, block info at 2) opcode by opcode as CPython's pickler writes
 * them, the term info as struct packs it. Only zlib (if the codec compresses) and, from
 * Python 3.12, sum() are called back. The output is byte-identical to the Python path
 * (tests/indexer/test_blockenc.py), which stays as the reference and as the fallback for
 * any input this module does not take (returned None).
 *
 * blocks(ids, weights, values, lbytes, fixed, limit, comp, protocol) -> (head, blob) | None
 * encode_field(terms, prefix, offset, lbytes, fixed, limit, comp, protocol) -> (rows, blob) | None
 *
 *   ids     list of int docnums, ascending, 0 <= id < 2**31
 *   weights list of float (exact floats only)
 *   values  list of bytes (None = b""), or one bytes object of fixed-size values
 *   terms   a TermPool field: term bytes -> docnum, (term, freq, weight, value), docnum, ...
 *   prefix, offset: the field's key prefix; where the blob starts in the postings file
 *   lbytes  the field's length byte per docnum (list of int), or None
 *   fixed   the format's fixed value size; -1 for a variable size (Whoosh's None)
 *   limit, comp: the codec's block limit and zlib level; protocol: of the blocks' data
 *           (3 only: with another, None)
 *   head    the packed W3 term info before its extent; blob: the list's bytes
 * None means "not handled here": the caller encodes the list in Python.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <float.h>
#include <string.h>
#include <stdint.h>

#include "_pickleops.h"

typedef struct {
    PyObject *compress;  /* zlib.compress */
    PyObject *sum;       /* builtins.sum (Python >= 3.12 adds floats with compensation) */
} module_state;

static module_state *
get_state(PyObject *module)
{
    return (module_state *)PyModule_GetState(module);
}

#define BLOCK_PROTOCOL 3 /* indexer.blocks.BLOCK_PROTOCOL: the only one written here */
#define TERMINFO_SIZE 23 /* W3TermInfo's "!BfIBBfII" */

static const char MAGIC[4] = {'W', '3', 'B', 'l'}; /* WHOOSH3_HEADER_MAGIC, checked at import */

/* One list, unpacked into C arrays (reused from list to list: `cap` entries). */
typedef struct {
    Py_ssize_t n, cap;
    long *ids;
    double *weights;
    PyObject **values;    /* variable-size values: each a bytes object (borrowed) or NULL */
    const char *fixedbuf; /* fixed-size values, joined */
    Py_ssize_t fixedlen;
    buf_t fixedown;       /* ...copied here when they come one by one */
} plist_t;

static void
put_be32(char *p, uint32_t v)
{
    p[0] = (char)(v >> 24);
    p[1] = (char)(v >> 16);
    p[2] = (char)(v >> 8);
    p[3] = (char)v;
}

/* sum() of the weights rounded to float32 (the block's stored weights, a Python list in
 * ListEncoder._block), added as this interpreter's sum() adds floats: a plain loop before
 * 3.12, the builtin (compensated) from 3.12 on. 0, or -1 with an exception set. */
static int
float32_sum(module_state *st, const double *w, Py_ssize_t n, double *out)
{
#if PY_VERSION_HEX < 0x030C0000
    (void)st;
    double total = 0.0;
    for (Py_ssize_t i = 0; i < n; i++)
        total += (double)(float)w[i];
    *out = total;
    return 0;
#else
    PyObject *list = PyList_New(n);
    if (list == NULL)
        return -1;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *f = PyFloat_FromDouble((double)(float)w[i]);
        if (f == NULL) {
            Py_DECREF(list);
            return -1;
        }
        PyList_SET_ITEM(list, i, f);
    }
    PyObject *total = PyObject_CallOneArg(st->sum, list);
    Py_DECREF(list);
    if (total == NULL)
        return -1;
    *out = PyFloat_AsDouble(total);
    Py_DECREF(total);
    return PyErr_Occurred() ? -1 : 0;
#endif
}

/* The length byte of docnum d: lbytes[d], or 0 past its end or without lengths; -1 on error. */
static long
length_byte(PyObject *lbytes, long d)
{
    if (lbytes == Py_None || d >= PyList_GET_SIZE(lbytes))
        return 0;
    PyObject *b = PyList_GET_ITEM(lbytes, d);
    if (!PyLong_CheckExact(b)) {
        PyErr_SetString(PyExc_TypeError, "length bytes must be ints");
        return -1;
    }
    return PyLong_AsLong(b);
}

/* The pickle opcodes written here are those `pickle.dumps` (the C pickler of CPython)
 * writes at protocols 2 and 3 for tuples of ints, floats, None and bytes: ints as BININT1,
 * BININT2 or BININT (all of them fit in 32 bits), floats as BINFLOAT, bytes as
 * SHORT_BINBYTES or BINBYTES (protocol 3), tuples as EMPTY_TUPLE, TUPLE1-3 or MARK ...
 * TUPLE; every tuple and bytes object is memoized (BINPUT, LONG_BINPUT) and a bytes object
 * met again (the same object) is fetched from the memo (BINGET, LONG_BINGET), as the
 * pickler's memo is keyed by identity. */
typedef struct {
    buf_t out;
    Py_ssize_t memo;        /* entries so far */
    PyObject **seen;        /* bytes objects memoized, in memo order with their index */
    Py_ssize_t *seen_index;
    Py_ssize_t nseen, capseen;
} pickler_t;

static int
p_int(pickler_t *pk, long v)
{
    return pickle_int(&pk->out, v);
}

static int
p_float(pickler_t *pk, double x)
{
    char op[9];
    op[0] = 'G';
    if (PyFloat_Pack8(x, op + 1, 0) < 0)
        return -1;
    return buf_put(&pk->out, op, 9);
}

static int
p_memo_put(pickler_t *pk)
{
    return pickle_memo(&pk->out, 'q', 'r', pk->memo++);
}

/* A tuple's end: TUPLE1-3 after its items, or TUPLE after MARK and its items; memoized. */
static int
p_tuple_end(pickler_t *pk, Py_ssize_t n)
{
    static const char ops[4] = {')', '\x85', '\x86', '\x87'};
    char op = n <= 3 ? ops[n] : 't';
    if (buf_put(&pk->out, &op, 1) < 0)
        return -1;
    return n == 0 ? 0 : p_memo_put(pk); /* EMPTY_TUPLE is not memoized */
}

static int
p_tuple_start(pickler_t *pk, Py_ssize_t n)
{
    return n > 3 ? buf_put(&pk->out, "(", 1) : 0;
}

static int
p_bytes(pickler_t *pk, PyObject *obj, const char *data, Py_ssize_t n)
{
    char op[5];
    if (obj != NULL) {
        for (Py_ssize_t i = 0; i < pk->nseen; i++) {
            if (pk->seen[i] == obj)
                return pickle_memo(&pk->out, 'h', 'j', pk->seen_index[i]);
        }
        if (pk->nseen == pk->capseen) {
            Py_ssize_t cap = pk->capseen ? 2 * pk->capseen : 64;
            PyObject **s = PyMem_Realloc(pk->seen, sizeof(PyObject *) * (size_t)cap);
            if (s == NULL)
                return PyErr_NoMemory(), -1;
            pk->seen = s;
            Py_ssize_t *si = PyMem_Realloc(pk->seen_index, sizeof(Py_ssize_t) * (size_t)cap);
            if (si == NULL)
                return PyErr_NoMemory(), -1;
            pk->seen_index = si;
            pk->capseen = cap;
        }
        pk->seen[pk->nseen] = obj;
        pk->seen_index[pk->nseen++] = pk->memo;
    }
    if (n > (Py_ssize_t)UINT32_MAX) {
        PyErr_SetString(PyExc_OverflowError, "value too large for a posting block");
        return -1;
    }
    if (n <= 0xff) {
        op[0] = 'C';
        op[1] = (char)n;
        if (buf_put(&pk->out, op, 2) < 0)
            return -1;
    } else {
        op[0] = 'B';
        put_le32(op + 1, (uint32_t)n);
        if (buf_put(&pk->out, op, 5) < 0)
            return -1;
    }
    if (buf_put(&pk->out, data, n) < 0)
        return -1;
    return p_memo_put(pk);
}

static void
p_reset(pickler_t *pk, int protocol)
{
    pk->out.len = 0;
    pk->memo = 0;
    pk->nseen = 0;
    char head[2] = {'\x80', (char)protocol};
    buf_put(&pk->out, head, 2); /* cannot fail: the buffer is reserved */
}

static void
p_free(pickler_t *pk)
{
    PyMem_Free(pk->out.p);
    PyMem_Free(pk->seen);
    PyMem_Free(pk->seen_index);
}

/* One block, as ListEncoder._block makes it: its bytes (size, pickled info, pickled data)
 * appended to `blob`, the sum of its float32 weights, its smallest non-zero and largest
 * length byte and its largest weight (as given; 0 if none is positive). `pk` is scratch
 * space. Returns 0, or -1 with an exception set. The data is pickled at protocol 3 (the
 * callers take no other), the info at 2, as W3PostingsWriter does. */
static int
encode_block(module_state *st, const plist_t *pl, Py_ssize_t start, Py_ssize_t stop, int last,
             long fixed, long comp, PyObject *lbytes, pickler_t *pk, buf_t *blob,
             double *bsum, long *bmin, long *bmax, double *bmaxweight)
{
    Py_ssize_t n = stop - start;
    const long *ids = pl->ids + start;
    const double *w = pl->weights + start;
    PyObject *data = NULL, *z = NULL;
    int rc = -1;

    if (buf_reserve(&pk->out, 64) < 0)
        return -1;
    p_reset(pk, 3);
    /* deltas: each block's docnums delta-encoded from 0 */
    if (p_tuple_start(pk, n) < 0)
        return -1;
    long prev = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (p_int(pk, ids[i] - prev) < 0)
            return -1;
        prev = ids[i];
    }
    if (p_tuple_end(pk, n) < 0)
        return -1;

    /* weights: stored as float32 (array("f")): None if all 1.0, one float if all equal;
     * their maximum as given */
    double first = (double)(float)w[0], maxw = w[0];
    int same = 1;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (w[i] > maxw)
            maxw = w[i];
        if ((double)(float)w[i] != first)
            same = 0;
    }
    if (!same) {
        if (p_tuple_start(pk, n) < 0)
            return -1;
        for (Py_ssize_t i = 0; i < n; i++)
            if (p_float(pk, (double)(float)w[i]) < 0)
                return -1;
        if (p_tuple_end(pk, n) < 0)
            return -1;
    } else if (first == 1.0) {
        if (buf_put(&pk->out, "N", 1) < 0)
            return -1;
    } else if (p_float(pk, first) < 0) {
        return -1;
    }

    /* values: the non-empty ones (tuple(filter(None, values))), or None, or the fixed-size
     * values joined */
    if (fixed < 0) {
        Py_ssize_t k = 0;
        for (Py_ssize_t i = 0; i < n; i++)
            k += pl->values[start + i] != NULL;
        if (p_tuple_start(pk, k) < 0)
            return -1;
        for (Py_ssize_t i = 0; i < n; i++) {
            PyObject *v = pl->values[start + i];
            if (v != NULL && p_bytes(pk, v, PyBytes_AS_STRING(v), PyBytes_GET_SIZE(v)) < 0)
                return -1;
        }
        if (p_tuple_end(pk, k) < 0)
            return -1;
    } else if (fixed == 0) {
        if (buf_put(&pk->out, "N", 1) < 0)
            return -1;
    } else if (p_bytes(pk, NULL, pl->fixedbuf + start * fixed, n * fixed) < 0) {
        return -1;
    }
    if (p_tuple_end(pk, 3) < 0 || buf_put(&pk->out, ".", 1) < 0)
        return -1;

    const char *dp = pk->out.p;
    Py_ssize_t dlen = pk->out.len;
    if (comp) {
        data = PyBytes_FromStringAndSize(pk->out.p, pk->out.len);
        if (data == NULL)
            goto done;
        z = PyObject_CallFunction(st->compress, "Ol", data, comp);
        if (z == NULL)
            goto done;
        if (!PyBytes_Check(z)) {
            PyErr_SetString(PyExc_TypeError, "zlib.compress gave no bytes");
            goto done;
        }
        dp = PyBytes_AS_STRING(z);
        dlen = PyBytes_GET_SIZE(z);
    }

    long minbyte = 0, maxbyte = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        long b = length_byte(lbytes, ids[i]);
        if (b < 0)
            goto done;
        if (b > maxbyte)
            maxbyte = b;
        if (b && (!minbyte || b < minbyte))
            minbyte = b;
    }

    /* the block: its size (negative for the list's last), info, data */
    Py_ssize_t sizepos = blob->len;
    if (buf_reserve(blob, 4 + 64 + dlen) < 0)
        goto done;
    blob->len += 4;
    Py_ssize_t infostart = blob->len;
    {
        /* the info, (count, last docnum, max weight, compression, min and max length
         * byte), pickled at protocol 2 in a pickler of its own: data and info are two
         * pickle.dumps calls in Python, so the info's memo starts at 0 */
        pickler_t info = {0};
        info.out = *blob; /* write straight into the blob */
        info.memo = 0;
        if (buf_put(&info.out, "\x80\x02(", 3) < 0 || p_int(&info, (long)n) < 0 ||
            p_int(&info, ids[n - 1]) < 0 ||
            (maxw > 0 ? p_float(&info, maxw) : p_int(&info, 0)) < 0 || p_int(&info, comp) < 0 ||
            p_int(&info, minbyte) < 0 || p_int(&info, maxbyte) < 0 ||
            buf_put(&info.out, "t", 1) < 0 || p_memo_put(&info) < 0 ||
            buf_put(&info.out, ".", 1) < 0) {
            *blob = info.out;
            goto done;
        }
        *blob = info.out;
    }
    if (buf_put(blob, dp, dlen) < 0)
        goto done;
    Py_ssize_t size = blob->len - infostart;
    if (size > INT32_MAX) {
        PyErr_SetString(PyExc_OverflowError, "posting block too large");
        goto done;
    }
    put_be32(blob->p + sizepos, (uint32_t)(int32_t)(last ? -size : size));

    if (float32_sum(st, w, n, bsum) < 0)
        goto done;
    *bmin = minbyte;
    *bmax = maxbyte;
    *bmaxweight = maxw > 0 ? maxw : 0.0;
    rc = 0;
done:
    Py_XDECREF(data);
    Py_XDECREF(z);
    return rc;
}

/* W3TermInfo's "!BfIBBfII" (inlined, weight, df, minlength byte, maxlength byte, max
 * weight, first and last docnum) into p, packed as struct.pack would (PyFloat_Pack4 for the
 * floats, which raises OverflowError as struct does). 0, or -1 with an exception. */
static int
pack_terminfo(char *p, double weight, Py_ssize_t df, long minbyte, long maxbyte,
              double maxweight, long minid, long maxid)
{
    if (df > (Py_ssize_t)UINT32_MAX || minbyte > 255 || maxbyte > 255) {
        PyErr_SetString(PyExc_OverflowError, "term info out of range");
        return -1;
    }
    p[0] = 0;
    if (PyFloat_Pack4(weight, p + 1, 0) < 0)
        return -1;
    put_be32(p + 5, (uint32_t)df);
    p[9] = (char)minbyte;
    p[10] = (char)maxbyte;
    if (PyFloat_Pack4(maxweight, p + 11, 0) < 0)
        return -1;
    put_be32(p + 15, (uint32_t)minid);
    put_be32(p + 19, (uint32_t)maxid);
    return 0;
}

/* Appends a whole list (MAGIC, then its blocks) to `out`, as ListEncoder._blocks_py makes
 * it, and packs its term info (before the extent) into `head`. 0, or -1 with an exception. */
static int
encode_into(module_state *st, const plist_t *pl, long fixed, Py_ssize_t limit, long comp,
            PyObject *lbytes, pickler_t *pk, buf_t *out, char head[TERMINFO_SIZE])
{
    Py_ssize_t n = pl->n;
    double total = 0.0, maxweight = 0.0;
    long minbyte = 0, maxbyte = 0;

    if (buf_put(out, MAGIC, 4) < 0)
        return -1;
    for (Py_ssize_t start = 0; start < n; start += limit) {
        Py_ssize_t stop = start + limit < n ? start + limit : n;
        double bsum, bmaxw;
        long bmin, bmax;
        if (encode_block(st, pl, start, stop, stop == n, fixed, comp, lbytes, pk, out, &bsum,
                         &bmin, &bmax, &bmaxw) < 0)
            return -1;
        /* (one block: its own figures; several: added up as _blocks_py does) */
        total += bsum;
        if (bmin && (!minbyte || bmin < minbyte))
            minbyte = bmin;
        if (bmax > maxbyte)
            maxbyte = bmax;
        if (bmaxw > maxweight)
            maxweight = bmaxw;
    }
    return pack_terminfo(head, total, n, minbyte, maxbyte, maxweight, pl->ids[0], pl->ids[n - 1]);
}

/* A docnum as C: an exact int in [0, 2**31), else -1 (not handled here, no exception). */
static long
as_docnum(PyObject *o)
{
    if (!PyLong_CheckExact(o))
        return -1;
    int overflow = 0;
    long d = PyLong_AsLongAndOverflow(o, &overflow);
    if (overflow || d < 0 || d > INT32_MAX)
        return -1;
    return d;
}

/* A weight as C: an exact finite float within float32's range, else 0 (not handled). */
static int
as_weight(PyObject *o, double *out)
{
    if (!PyFloat_CheckExact(o))
        return 0;
    double w = PyFloat_AS_DOUBLE(o);
    if (!isfinite(w) || fabs(w) > FLT_MAX)
        return 0;
    *out = w;
    return 1;
}

/* One value into the list: variable-size values by reference (NULL if empty or None),
 * fixed-size ones copied into the list's own buffer (None as b""). 1, 0 if not bytes
 * (not handled), -1 on error. */
static int
add_value(plist_t *pl, Py_ssize_t i, PyObject *v, long fixed)
{
    if (fixed == 0)
        return 1;
    if (v != Py_None && !PyBytes_CheckExact(v))
        return 0;
    if (fixed < 0) {
        pl->values[i] = v != Py_None && PyBytes_GET_SIZE(v) ? v : NULL;
        return 1;
    }
    if (v == Py_None)
        return 1;
    return buf_put(&pl->fixedown, PyBytes_AS_STRING(v), PyBytes_GET_SIZE(v)) < 0 ? -1 : 1;
}

static int
plist_reserve(plist_t *pl, Py_ssize_t n)
{
    pl->n = n;
    pl->fixedown.len = 0;
    pl->fixedbuf = NULL;
    if (n <= pl->cap)
        return 0;
    Py_ssize_t cap = pl->cap ? pl->cap : 64;
    while (cap < n)
        cap *= 2;
    long *ids = PyMem_Realloc(pl->ids, sizeof(long) * (size_t)cap);
    if (ids == NULL)
        return PyErr_NoMemory(), -1;
    pl->ids = ids;
    double *w = PyMem_Realloc(pl->weights, sizeof(double) * (size_t)cap);
    if (w == NULL)
        return PyErr_NoMemory(), -1;
    pl->weights = w;
    PyObject **v = PyMem_Realloc(pl->values, sizeof(PyObject *) * (size_t)cap);
    if (v == NULL)
        return PyErr_NoMemory(), -1;
    pl->values = v;
    pl->cap = cap;
    return 0;
}

static void
plist_free(plist_t *pl)
{
    PyMem_Free(pl->ids);
    PyMem_Free(pl->weights);
    PyMem_Free(pl->values);
    PyMem_Free(pl->fixedown.p);
}

/* Docnums must ascend strictly: Whoosh's delta encoding and every reader assume it. */
static int
ascending(const plist_t *pl)
{
    for (Py_ssize_t i = 1; i < pl->n; i++)
        if (pl->ids[i] <= pl->ids[i - 1])
            return 0;
    return 1;
}

/* Once a list is unpacked: its fixed-size values' buffer; 1 if that holds n values of the
 * fixed size, else 0 (not taken: the Python path pickles whatever bytes it is given). */
static int
plist_finish(plist_t *pl, long fixed)
{
    if (fixed <= 0)
        return 1;
    if (pl->fixedbuf == NULL) {
        pl->fixedbuf = pl->fixedown.p ? pl->fixedown.p : "";
        pl->fixedlen = pl->fixedown.len;
    }
    return pl->fixedlen == pl->n * fixed;
}

/* Unpacks (ids, weights, values) lists: 1, 0 if not handled here, -1 on error. */
static int
unpack_lists(plist_t *pl, PyObject *ids, PyObject *weights, PyObject *values, long fixed)
{
    Py_ssize_t n = PyList_GET_SIZE(ids);
    if (n == 0 || PyList_GET_SIZE(weights) != n)
        return 0;
    if (plist_reserve(pl, n) < 0)
        return -1;
    for (Py_ssize_t i = 0; i < n; i++) {
        pl->ids[i] = as_docnum(PyList_GET_ITEM(ids, i));
        if (pl->ids[i] < 0 || !as_weight(PyList_GET_ITEM(weights, i), &pl->weights[i]))
            return 0;
    }
    if (fixed > 0 && PyBytes_CheckExact(values)) {
        pl->fixedbuf = PyBytes_AS_STRING(values);
        pl->fixedlen = PyBytes_GET_SIZE(values);
    } else if (fixed != 0) {
        if (!PyList_CheckExact(values) || PyList_GET_SIZE(values) != n)
            return 0;
        for (Py_ssize_t i = 0; i < n; i++) {
            int got = add_value(pl, i, PyList_GET_ITEM(values, i), fixed);
            if (got <= 0)
                return got;
        }
    }
    return ascending(pl) && plist_finish(pl, fixed);
}

/* Unpacks a TermPool list (docnum, (term, freq, weight, value), ...): 1, 0, -1 as above. */
static int
unpack_pooled(plist_t *pl, PyObject *pooled, long fixed)
{
    if (!PyList_CheckExact(pooled))
        return 0;
    Py_ssize_t size = PyList_GET_SIZE(pooled);
    if (size == 0 || size % 2)
        return 0;
    Py_ssize_t n = size / 2;
    if (plist_reserve(pl, n) < 0)
        return -1;
    for (Py_ssize_t i = 0; i < n; i++) {
        /* the postings' objects lie all over the heap (made document by document): ask for
         * them a few postings ahead, one level of pointers at a time */
        if (i + 4 < n) {
            __builtin_prefetch(PyList_GET_ITEM(pooled, 2 * i + 8));
            __builtin_prefetch(PyList_GET_ITEM(pooled, 2 * i + 9));
        }
        if (i + 2 < n) {
            PyObject *ahead = PyList_GET_ITEM(pooled, 2 * i + 5);
            if (PyTuple_CheckExact(ahead) && PyTuple_GET_SIZE(ahead) == 4) {
                __builtin_prefetch(PyTuple_GET_ITEM(ahead, 2));
                __builtin_prefetch(PyTuple_GET_ITEM(ahead, 3));
            }
        }
        PyObject *posting = PyList_GET_ITEM(pooled, 2 * i + 1);
        pl->ids[i] = as_docnum(PyList_GET_ITEM(pooled, 2 * i));
        if (pl->ids[i] < 0 || !PyTuple_CheckExact(posting) || PyTuple_GET_SIZE(posting) != 4 ||
            !as_weight(PyTuple_GET_ITEM(posting, 2), &pl->weights[i]))
            return 0;
        int got = add_value(pl, i, PyTuple_GET_ITEM(posting, 3), fixed);
        if (got <= 0)
            return got;
    }
    return ascending(pl) && plist_finish(pl, fixed);
}

static int
check_args(long fixed, Py_ssize_t limit, long comp, PyObject *lbytes)
{
    if (limit < 1) {
        PyErr_SetString(PyExc_ValueError, "blocklimit must be positive");
        return -1;
    }
    if (fixed < -1 || comp < 0 || comp > 9) {
        PyErr_SetString(PyExc_ValueError, "bad fixed size or compression level");
        return -1;
    }
    if (lbytes != Py_None && !PyList_CheckExact(lbytes)) {
        PyErr_SetString(PyExc_TypeError, "lbytes must be a list or None");
        return -1;
    }
    return 0;
}

/* What blocks() returns for a list that unpack_lists gave `got` for (1: taken, encode it;
 * 0: not taken, None; -1: an error is set): (head, blob). Frees pl. */
static PyObject *
list_result(module_state *st, int got, plist_t *pl, long fixed, Py_ssize_t limit, long comp,
            PyObject *lbytes)
{
    buf_t out = {0};
    pickler_t pk = {0};
    char head[TERMINFO_SIZE];
    PyObject *result = NULL;
    if (got == 0) {
        result = Py_NewRef(Py_None);
    } else if (got > 0 && encode_into(st, pl, fixed, limit, comp, lbytes, &pk, &out, head) == 0) {
        result = Py_BuildValue("(y#y#)", head, (Py_ssize_t)TERMINFO_SIZE, out.p, out.len);
    }
    PyMem_Free(out.p);
    p_free(&pk);
    plist_free(pl);
    return result;
}

static PyObject *
blocks(PyObject *module, PyObject *args)
{
    PyObject *ids, *weights, *values, *lbytes;
    long fixed, comp;
    int protocol;
    Py_ssize_t limit;
    plist_t pl = {0};
    if (!PyArg_ParseTuple(args, "O!O!OOlnli:blocks", &PyList_Type, &ids, &PyList_Type, &weights,
                          &values, &lbytes, &fixed, &limit, &comp, &protocol))
        return NULL;
    if (check_args(fixed, limit, comp, lbytes) < 0)
        return NULL;
    int got = protocol == BLOCK_PROTOCOL ? unpack_lists(&pl, ids, weights, values, fixed) : 0;
    return list_result(get_state(module), got, &pl, fixed, limit, comp, lbytes);
}

typedef struct {
    uint64_t head;         /* the key's first 8 bytes, big-endian, zero-padded: most
                            * comparisons end here, without reading the key object */
    PyObject *key, *value; /* borrowed from the terms dict */
} entry_t;

static uint64_t
key_head(PyObject *key)
{
    unsigned char b[8] = {0};
    Py_ssize_t n = PyBytes_GET_SIZE(key);
    memcpy(b, PyBytes_AS_STRING(key), (size_t)(n < 8 ? n : 8));
    uint64_t h = 0;
    for (int i = 0; i < 8; i++)
        h = (h << 8) | b[i];
    return h;
}

/* Python's order of bytes: memcmp over the common length, then the shorter first. */
static int
entry_cmp(const void *a, const void *b)
{
    uint64_t ha = ((const entry_t *)a)->head, hb = ((const entry_t *)b)->head;
    if (ha != hb)
        return ha < hb ? -1 : 1;
    PyObject *x = ((const entry_t *)a)->key, *y = ((const entry_t *)b)->key;
    Py_ssize_t lx = PyBytes_GET_SIZE(x), ly = PyBytes_GET_SIZE(y);
    int c = memcmp(PyBytes_AS_STRING(x), PyBytes_AS_STRING(y), (size_t)(lx < ly ? lx : ly));
    if (c)
        return c;
    return (lx > ly) - (lx < ly);
}

/* Asks for the objects of the list `ahead` terms on, one level of pointers per step, so
 * that they are in the cache when the list is read (most lists hold one posting, whose
 * objects lie far apart in the heap). */
static void
prefetch_entries(const entry_t *ent, Py_ssize_t k, Py_ssize_t n)
{
    if (k + 4 < n)
        __builtin_prefetch(ent[k + 4].value);
    if (k + 3 < n && PyList_CheckExact(ent[k + 3].value))
        __builtin_prefetch(((PyListObject *)ent[k + 3].value)->ob_item);
    if (k + 2 < n) {
        PyObject *l = ent[k + 2].value;
        __builtin_prefetch(ent[k + 2].key);
        if (PyList_CheckExact(l) && PyList_GET_SIZE(l) >= 2) {
            __builtin_prefetch(PyList_GET_ITEM(l, 0));
            __builtin_prefetch(PyList_GET_ITEM(l, 1));
        }
    }
    if (k + 1 < n) {
        PyObject *l = ent[k + 1].value;
        if (PyList_CheckExact(l) && PyList_GET_SIZE(l) >= 2) {
            PyObject *t = PyList_GET_ITEM(l, 1);
            if (PyTuple_CheckExact(t) && PyTuple_GET_SIZE(t) == 4) {
                __builtin_prefetch(PyTuple_GET_ITEM(t, 2));
                __builtin_prefetch(PyTuple_GET_ITEM(t, 3));
            }
        }
    }
}

/* A whole field of a new segment (no merged segment: a bulk build's part), its TermPool
 * lists in term byte order: ([(prefix + term, term info with extent), ...], blob), where
 * blob is every list's bytes end to end and the extents count from `offset` (where blob
 * will start in the postings file). None if any list is outside what this module takes:
 * the caller then encodes the field in Python (nothing was written). */
static PyObject *
encode_field(PyObject *module, PyObject *args)
{
    PyObject *terms, *prefix, *lbytes, *rows = NULL, *result = NULL;
    long long offset;
    long fixed, comp;
    int protocol;
    Py_ssize_t limit;
    plist_t pl = {0};
    buf_t out = {0};
    pickler_t pk = {0};
    entry_t *ent = NULL;
    if (!PyArg_ParseTuple(args, "O!SLOlnli:encode_field", &PyDict_Type, &terms, &prefix, &offset,
                          &lbytes, &fixed, &limit, &comp, &protocol))
        return NULL;
    if (check_args(fixed, limit, comp, lbytes) < 0)
        return NULL;
    if (protocol != BLOCK_PROTOCOL || offset < 0)
        Py_RETURN_NONE;
    module_state *st = get_state(module);
    Py_ssize_t nkeys = PyDict_GET_SIZE(terms), pos = 0, k = 0;
    ent = PyMem_Malloc(sizeof(entry_t) * (size_t)(nkeys ? nkeys : 1));
    if (ent == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    PyObject *key, *value;
    while (PyDict_Next(terms, &pos, &key, &value)) {
        if (!PyBytes_CheckExact(key))
            goto unhandled;
        ent[k].head = key_head(key);
        ent[k].key = key;
        ent[k++].value = value;
    }
    qsort(ent, (size_t)nkeys, sizeof(entry_t), entry_cmp);
    rows = PyList_New(nkeys);
    if (rows == NULL)
        goto done;
    const char *pre = PyBytes_AS_STRING(prefix);
    Py_ssize_t prelen = PyBytes_GET_SIZE(prefix);
    for (k = 0; k < nkeys; k++) {
        prefetch_entries(ent, k, nkeys);
        PyObject *term = ent[k].key;
        int got = unpack_pooled(&pl, ent[k].value, fixed);
        if (got < 0)
            goto done;
        if (got == 0)
            goto unhandled;
        Py_ssize_t start = out.len;
        char info[TERMINFO_SIZE + 12];
        if (encode_into(st, &pl, fixed, limit, comp, lbytes, &pk, &out, info) < 0)
            goto done;
        /* EXTENT, "!qi": the list's offset in the postings file and its length */
        uint64_t at = (uint64_t)(offset + start);
        Py_ssize_t length = out.len - start;
        if (length > INT32_MAX) {
            PyErr_SetString(PyExc_OverflowError, "posting list too large");
            goto done;
        }
        put_be32(info + TERMINFO_SIZE, (uint32_t)(at >> 32));
        put_be32(info + TERMINFO_SIZE + 4, (uint32_t)at);
        put_be32(info + TERMINFO_SIZE + 8, (uint32_t)length);
        PyObject *rowkey = PyBytes_FromStringAndSize(NULL, prelen + PyBytes_GET_SIZE(term));
        if (rowkey == NULL)
            goto done;
        memcpy(PyBytes_AS_STRING(rowkey), pre, (size_t)prelen);
        memcpy(PyBytes_AS_STRING(rowkey) + prelen, PyBytes_AS_STRING(term),
               (size_t)PyBytes_GET_SIZE(term));
        PyObject *row = Py_BuildValue("(Ny#)", rowkey, info, (Py_ssize_t)sizeof(info));
        if (row == NULL)
            goto done;
        PyList_SET_ITEM(rows, k, row);
    }
    result = Py_BuildValue("(Oy#)", rows, out.p ? out.p : "", out.len);
    goto done;
unhandled:
    result = Py_NewRef(Py_None);
done:
    PyMem_Free(ent);
    Py_XDECREF(rows);
    plist_free(&pl);
    PyMem_Free(out.p);
    p_free(&pk);
    return result;
}

static PyMethodDef methods[] = {
    {"blocks", blocks, METH_VARARGS,
     "blocks(ids, weights, values, lbytes, fixed, limit, comp, protocol) -> (head, blob) or None"},
    {"encode_field", encode_field, METH_VARARGS,
     "encode_field(terms, prefix, offset, lbytes, fixed, limit, comp, protocol) -> (rows, blob) or None"},
    {NULL, NULL, 0, NULL},
};

static int
exec_module(PyObject *module)
{
    module_state *st = get_state(module);
    PyObject *mod = PyImport_ImportModule("zlib");
    if (mod == NULL)
        return -1;
    st->compress = PyObject_GetAttrString(mod, "compress");
    Py_DECREF(mod);
    mod = PyImport_ImportModule("builtins");
    if (mod == NULL)
        return -1;
    st->sum = PyObject_GetAttrString(mod, "sum");
    Py_DECREF(mod);
    if (st->compress == NULL || st->sum == NULL)
        return -1;
    PyObject *magic = PyBytes_FromStringAndSize(MAGIC, 4);
    if (magic == NULL)
        return -1;
    int rc = PyModule_AddObjectRef(module, "MAGIC", magic);
    Py_DECREF(magic);
    return rc;
}

static int
traverse(PyObject *module, visitproc visit, void *arg)
{
    module_state *st = get_state(module);
    Py_VISIT(st->compress);
    Py_VISIT(st->sum);
    return 0;
}

static int
clear(PyObject *module)
{
    module_state *st = get_state(module);
    Py_CLEAR(st->compress);
    Py_CLEAR(st->sum);
    return 0;
}

static void
free_module(void *module)
{
    clear((PyObject *)module);
}

static PyModuleDef_Slot slots[] = {
    {Py_mod_exec, exec_module},
    {0, NULL},
};

static struct PyModuleDef moduledef = {
    PyModuleDef_HEAD_INIT,
    .m_name = "indexer._blockenc",
    .m_doc = "W3 posting lists encoded in C (see indexer/blocks.py).",
    .m_size = sizeof(module_state),
    .m_methods = methods,
    .m_slots = slots,
    .m_traverse = traverse,
    .m_clear = clear,
    .m_free = free_module,
};

PyMODINIT_FUNC
PyInit__blockenc(void)
{
    return PyModuleDef_Init(&moduledef);
}
