/* A document's term streams as Whoosh postings, in C: what `indexer.schema`'s
 * encode_syllables_and_folded and encode_terms(..., False) make in Python.
 *
 * Why: after segmentation, encoding the postings was the largest stage of a pool worker's
 * analysis (about 1 ms of CPU per VNTC article): for each of a document's ~1,000 terms a
 * dict lookup, a positions list, a pickled list of position deltas and a tuple, in
 * Python. Here the positions are grouped by a counting sort over C arrays and the pickles
 * are written opcode by opcode as CPython's pickler writes them (protocol 2: EMPTY_LIST,
 * BINPUT, then APPEND for one item or MARK ... APPENDS per 1,000), so the values are the
 * same bytes. The values Python takes from its caches (`_one_position`, `_count_value`,
 * lru_caches) are taken from the same caches, called back, so that equal values are the
 * same objects as in Python: a block's pickle refers to a value met again by the memo,
 * and the segment's bytes depend on it. tests/indexer/test_encode.py compares both paths.
 *
 * syllables_and_folded(syllables, folded, one_position, one_max, out, out_f) -> bool
 * counts(terms, count_value, out) -> bool
 *
 * Postings are appended to out / out_f (lists) as (term UTF-8 bytes, n, float(n), value).
 * False, with nothing appended, for input outside what this takes (not lists of str, or
 * streams of different lengths): the caller runs the Python code.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#include "_pickleops.h"

/* formats.Positions().encode(positions): pack_uint(count) + pickle.dumps(deltas, 2), or
 * the cached one_position(p) for a single position below one_max. New reference. */
static PyObject *
positions_value(const long *pos, Py_ssize_t n, PyObject *one_position, long one_max, buf_t *b)
{
    if (n == 1 && pos[0] < one_max)
        return PyObject_CallFunction(one_position, "l", pos[0]);
    if (n > (Py_ssize_t)UINT32_MAX) {
        PyErr_SetString(PyExc_OverflowError, "too many positions");
        return NULL;
    }
    uint32_t u = (uint32_t)n;
    unsigned char head[9] = {(unsigned char)(u >> 24), (unsigned char)(u >> 16),
                             (unsigned char)(u >> 8), (unsigned char)u,
                             0x80, 2, ']', 'q', 0};
    b->len = 0;
    if (buf_put(b, head, 9) < 0)
        return NULL;
    long prev = 0;
    if (n == 1) {
        if (pickle_int(b, pos[0]) < 0 || buf_put(b, "a", 1) < 0)
            return NULL;
    } else {
        for (Py_ssize_t start = 0; start < n; start += 1000) {
            Py_ssize_t stop = start + 1000 < n ? start + 1000 : n;
            if (buf_put(b, "(", 1) < 0)
                return NULL;
            for (Py_ssize_t i = start; i < stop; i++) {
                if (pickle_int(b, pos[i] - prev) < 0)
                    return NULL;
                prev = pos[i];
            }
            if (buf_put(b, "e", 1) < 0)
                return NULL;
        }
    }
    if (buf_put(b, ".", 1) < 0)
        return NULL;
    return PyBytes_FromStringAndSize(b->p, b->len);
}

/* (term.encode("utf-8"), n, float(n), value), appended to out; steals nothing. */
static int
append_posting(PyObject *out, PyObject *term, Py_ssize_t n, PyObject *value)
{
    PyObject *tb = PyUnicode_AsUTF8String(term);
    if (tb == NULL)
        return -1;
    PyObject *t = Py_BuildValue("(NndO)", tb, n, (double)n, value);
    if (t == NULL)
        return -1;
    int rc = PyList_Append(out, t);
    Py_DECREF(t);
    return rc;
}

static int
cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

static int
all_str(PyObject *list)
{
    Py_ssize_t n = PyList_GET_SIZE(list);
    for (Py_ssize_t i = 0; i < n; i++)
        if (!PyUnicode_CheckExact(PyList_GET_ITEM(list, i)))
            return 0;
    return 1;
}

/* The index `dict` holds for `key`, or else `next`, then recorded for it; -1 on error. */
static Py_ssize_t
index_of(PyObject *dict, PyObject *key, Py_ssize_t next)
{
    PyObject *got = PyDict_GetItemWithError(dict, key);
    if (got != NULL)
        return PyLong_AsSsize_t(got);
    if (PyErr_Occurred())
        return -1;
    PyObject *num = PyLong_FromSsize_t(next);
    if (num == NULL)
        return -1;
    int rc = PyDict_SetItem(dict, key, num);
    Py_DECREF(num);
    return rc < 0 ? -1 : next;
}

/* Each item's group: the index of its first occurrence's term among the distinct terms
 * (first-occurrence order), through a dict term -> group. *ngroups set; -1 on error. */
static int
group_terms(PyObject *terms, Py_ssize_t *gid, Py_ssize_t *ngroups, PyObject **firsts)
{
    Py_ssize_t n = PyList_GET_SIZE(terms), g = 0;
    PyObject *index = PyDict_New();
    if (index == NULL)
        return -1;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *term = PyList_GET_ITEM(terms, i);
        Py_ssize_t got = index_of(index, term, g);
        if (got < 0) {
            Py_DECREF(index);
            return -1;
        }
        if (got == g)
            firsts[g++] = term; /* borrowed from the list */
        gid[i] = got;
    }
    Py_DECREF(index);
    *ngroups = g;
    return 0;
}

static PyObject *
syllables_and_folded(PyObject *module, PyObject *args)
{
    PyObject *syl, *fold, *one_position, *out, *out_f;
    long one_max;
    if (!PyArg_ParseTuple(args, "O!O!OlO!O!:syllables_and_folded", &PyList_Type, &syl,
                          &PyList_Type, &fold, &one_position, &one_max, &PyList_Type, &out,
                          &PyList_Type, &out_f))
        return NULL;
    Py_ssize_t n = PyList_GET_SIZE(syl);
    if (PyList_GET_SIZE(fold) != n || !all_str(syl) || !all_str(fold) || n > INT32_MAX)
        Py_RETURN_FALSE;

    PyObject *result = NULL, *fgroups = NULL, *values = NULL;
    size_t m = (size_t)(n ? n : 1);
    Py_ssize_t *gid = PyMem_Malloc(sizeof(Py_ssize_t) * m);
    Py_ssize_t *start = PyMem_Malloc(sizeof(Py_ssize_t) * (m + 1));
    long *pos = PyMem_Malloc(sizeof(long) * m);
    long *merged = PyMem_Malloc(sizeof(long) * m);
    PyObject **firsts = PyMem_Malloc(sizeof(PyObject *) * m);
    PyObject **foldof = PyMem_Malloc(sizeof(PyObject *) * m);
    Py_ssize_t *fid = PyMem_Malloc(sizeof(Py_ssize_t) * m);      /* syllable group -> folded group */
    Py_ssize_t *fcount = PyMem_Malloc(sizeof(Py_ssize_t) * m);   /* folded group -> syllable groups */
    Py_ssize_t *ffirst = PyMem_Malloc(sizeof(Py_ssize_t) * m);   /* ... and its first one */
    PyObject **fterm = PyMem_Malloc(sizeof(PyObject *) * m);
    Py_ssize_t *nextg = PyMem_Malloc(sizeof(Py_ssize_t) * m);   /* next syllable group, same form */
    buf_t b = {0};
    Py_ssize_t ng = 0, nf = 0;
    Py_ssize_t out0 = PyList_GET_SIZE(out), outf0 = PyList_GET_SIZE(out_f);
    if (!gid || !start || !pos || !merged || !firsts || !foldof || !fid || !fcount || !ffirst ||
        !fterm || !nextg) {
        PyErr_NoMemory();
        goto done;
    }
    if (group_terms(syl, gid, &ng, firsts) < 0)
        goto done;
    /* positions grouped by a counting sort (each group's in increasing order); a term's
     * folded form is that of its last occurrence, as dict(zip(syllables, folded)) keeps */
    for (Py_ssize_t g = 0; g <= ng; g++)
        start[g] = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        start[gid[i] + 1]++;
        foldof[gid[i]] = PyList_GET_ITEM(fold, i);
    }
    for (Py_ssize_t g = 0; g < ng; g++)
        start[g + 1] += start[g];
    {
        Py_ssize_t *fill = fcount; /* scratch: next free slot per group */
        for (Py_ssize_t g = 0; g < ng; g++)
            fill[g] = start[g];
        for (Py_ssize_t i = 0; i < n; i++)
            pos[fill[gid[i]]++] = (long)i;
    }
    /* the syllable postings, and which folded group each joins (first-seen order) */
    values = PyList_New(ng);
    fgroups = PyDict_New();
    if (values == NULL || fgroups == NULL)
        goto done;
    for (Py_ssize_t g = 0; g < ng; g++) {
        Py_ssize_t cnt = start[g + 1] - start[g];
        PyObject *value = positions_value(pos + start[g], cnt, one_position, one_max, &b);
        if (value == NULL)
            goto done;
        PyList_SET_ITEM(values, g, value);
        if (append_posting(out, firsts[g], cnt, value) < 0)
            goto done;
        Py_ssize_t k = index_of(fgroups, foldof[g], nf);
        if (k < 0)
            goto done;
        if (k == nf) {
            fterm[nf] = foldof[g];
            ffirst[nf++] = g;
        }
        fid[g] = k;
    }
    /* the folded postings: a form met by one syllable term has its positions and value; the
     * positions of several are merged and sorted */
    for (Py_ssize_t k = 0; k < nf; k++)
        fcount[k] = 0;
    for (Py_ssize_t g = ng - 1; g >= 0; g--) { /* each folded group's syllable groups, linked */
        Py_ssize_t k = fid[g];
        nextg[g] = fcount[k] ? ffirst[k] : -1;
        ffirst[k] = g;
        fcount[k]++;
    }
    for (Py_ssize_t k = 0; k < nf; k++) {
        Py_ssize_t g0 = ffirst[k];
        if (fcount[k] == 1) {
            if (append_posting(out_f, fterm[k], start[g0 + 1] - start[g0],
                               PyList_GET_ITEM(values, g0)) < 0)
                goto done;
            continue;
        }
        /* its syllable groups' positions (disjoint), sorted */
        Py_ssize_t cnt = 0;
        for (Py_ssize_t g = g0; g >= 0; g = nextg[g]) {
            memcpy(merged + cnt, pos + start[g], sizeof(long) * (size_t)(start[g + 1] - start[g]));
            cnt += start[g + 1] - start[g];
        }
        qsort(merged, (size_t)cnt, sizeof(long), cmp_long);
        PyObject *value = positions_value(merged, cnt, one_position, one_max, &b);
        if (value == NULL)
            goto done;
        int rc = append_posting(out_f, fterm[k], cnt, value);
        Py_DECREF(value);
        if (rc < 0)
            goto done;
    }
    result = Py_NewRef(Py_True);
done:
    if (result == NULL) { /* leave the lists as they were */
        PyList_SetSlice(out, out0, PyList_GET_SIZE(out), NULL);
        PyList_SetSlice(out_f, outf0, PyList_GET_SIZE(out_f), NULL);
    }
    Py_XDECREF(values);
    Py_XDECREF(fgroups);
    PyMem_Free(gid);
    PyMem_Free(start);
    PyMem_Free(pos);
    PyMem_Free(merged);
    PyMem_Free(firsts);
    PyMem_Free(foldof);
    PyMem_Free(fid);
    PyMem_Free(fcount);
    PyMem_Free(ffirst);
    PyMem_Free(fterm);
    PyMem_Free(nextg);
    PyMem_Free(b.p);
    return result;
}

static PyObject *
counts(PyObject *module, PyObject *args)
{
    PyObject *terms, *count_value, *out;
    if (!PyArg_ParseTuple(args, "O!OO!:counts", &PyList_Type, &terms, &count_value,
                          &PyList_Type, &out))
        return NULL;
    if (!all_str(terms))
        Py_RETURN_FALSE;
    Py_ssize_t n = PyList_GET_SIZE(terms), ng = 0;
    Py_ssize_t out0 = PyList_GET_SIZE(out);
    size_t m = (size_t)(n ? n : 1);
    Py_ssize_t *gid = PyMem_Malloc(sizeof(Py_ssize_t) * m);
    Py_ssize_t *cnt = PyMem_Malloc(sizeof(Py_ssize_t) * m);
    PyObject **firsts = PyMem_Malloc(sizeof(PyObject *) * m);
    PyObject *result = NULL;
    if (!gid || !cnt || !firsts) {
        PyErr_NoMemory();
        goto done;
    }
    if (group_terms(terms, gid, &ng, firsts) < 0)
        goto done;
    for (Py_ssize_t g = 0; g < ng; g++)
        cnt[g] = 0;
    for (Py_ssize_t i = 0; i < n; i++)
        cnt[gid[i]]++;
    for (Py_ssize_t g = 0; g < ng; g++) {
        PyObject *value = PyObject_CallFunction(count_value, "n", cnt[g]);
        if (value == NULL)
            goto done;
        int rc = append_posting(out, firsts[g], cnt[g], value);
        Py_DECREF(value);
        if (rc < 0)
            goto done;
    }
    result = Py_NewRef(Py_True);
done:
    if (result == NULL)
        PyList_SetSlice(out, out0, PyList_GET_SIZE(out), NULL);
    PyMem_Free(gid);
    PyMem_Free(cnt);
    PyMem_Free(firsts);
    return result;
}

static PyMethodDef methods[] = {
    {"syllables_and_folded", syllables_and_folded, METH_VARARGS,
     "syllables_and_folded(syllables, folded, one_position, one_max, out, out_f) -> bool"},
    {"counts", counts, METH_VARARGS, "counts(terms, count_value, out) -> bool"},
    {NULL, NULL, 0, NULL},
};

static PyModuleDef_Slot slots[] = {
    {0, NULL},
};

static struct PyModuleDef moduledef = {
    PyModuleDef_HEAD_INIT,
    .m_name = "indexer._encode",
    .m_doc = "A document's term streams as Whoosh postings, in C (see indexer/schema.py).",
    .m_size = 0,
    .m_methods = methods,
    .m_slots = slots,
};

PyMODINIT_FUNC
PyInit__encode(void)
{
    return PyModuleDef_Init(&moduledef);
}
