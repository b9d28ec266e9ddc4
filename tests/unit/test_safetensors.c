/*
 * tests/unit/test_safetensors.c - the safetensors reader against hand-made
 * valid and corrupt files, the writer's exact bytes against a hand-built
 * expectation, and writer -> reader round trips for every dtype.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "base/file.h"
#include "text/tok_internal.h"

static char *tmp;

static int setup(void **state) {
    tmp = wdt_tmpdir("safetensors");
    return 0;
}

static int teardown(void **state) {
    free(tmp);
    return 0;
}

static char *tpath(const char *name) {
    static char buf[8][1024];
    static int k;
    char *p = buf[k++ % 8];
    snprintf(p, 1024, "%s/%s", tmp, name);
    return p;
}

/* Writes [u64 LE hlen][header][data] with hlen = strlen(header) unless
 * hlen_override is nonzero. */
static void make_file(const char *path, const char *header, uint64_t hlen_override,
                      const void *data, size_t data_len) {
    size_t hl = strlen(header);
    uint64_t hlen = hlen_override ? hlen_override : hl;
    unsigned char *buf = malloc(8 + hl + data_len + 1);
    for (int i = 0; i < 8; i++) buf[i] = (unsigned char)(hlen >> (8 * i));
    memcpy(buf + 8, header, hl);
    if (data_len) memcpy(buf + 8 + hl, data, data_len);
    wdt_write_file(path, buf, 8 + hl + data_len);
    free(buf);
}

/* ==== a valid hand-made file ============================================ */

static void test_read_valid(void **state) {
    const char *hdr = "{\"__metadata__\":{\"format\":\"pt\",\"note\":\"x\"},"
                      "\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
                      "\"b\":{\"dtype\":\"I8\",\"shape\":[3],\"data_offsets\":[16,19]},"
                      "\"s\":{\"dtype\":\"F64\",\"shape\":[],\"data_offsets\":[24,32]},"
                      "\"pad\":{\"dtype\":\"U8\",\"shape\":[5],\"data_offsets\":[19,24]},"
                      "\"e\":{\"dtype\":\"BF16\",\"shape\":[0,5],\"data_offsets\":[19,19]}}   ";
    unsigned char data[32] = {0};
    float w[4] = {1.5f, -2.0f, 0.25f, 3e10f};
    memcpy(data, w, 16);
    data[16] = 1, data[17] = (unsigned char)-7, data[18] = 127;
    double s = -0.125;
    memcpy(data + 24, &s, 8);
    make_file(tpath("ok.safetensors"), hdr, 0, data, sizeof data);

    wd_safetensors *st = NULL;
    assert_int_equal(wd_safetensors_open(tpath("ok.safetensors"), &st), WD_OK);
    assert_int_equal(wd_safetensors_n_tensors(st), 5);
    assert_int_equal(wd_safetensors_header_size(st), strlen(hdr));
    assert_int_equal(wd_safetensors_file_size(st), 8 + strlen(hdr) + 32);
    /* sorted by offset (then size): w, b, e (19, empty), pad (19..24), s */
    assert_string_equal(wd_safetensors_tensor(st, 0)->name, "w");
    assert_string_equal(wd_safetensors_tensor(st, 1)->name, "b");
    assert_string_equal(wd_safetensors_tensor(st, 2)->name, "e");
    assert_string_equal(wd_safetensors_tensor(st, 3)->name, "pad");
    assert_string_equal(wd_safetensors_tensor(st, 4)->name, "s");
    assert_null(wd_safetensors_tensor(st, 5));

    const wd_tensor_info *t = wd_safetensors_find(st, "w");
    assert_non_null(t);
    assert_int_equal(t->dtype, WD_DTYPE_F32);
    assert_int_equal(t->ndim, 2);
    assert_int_equal(t->shape[0], 2);
    assert_int_equal(t->shape[1], 2);
    assert_int_equal(t->n_elem, 4);
    assert_int_equal(t->nbytes, 16);
    assert_memory_equal(t->data, w, 16);
    float f[4];
    assert_int_equal(wd_tensor_read_f32(t, f, 4), WD_OK);
    assert_memory_equal(f, w, 16);
    assert_int_equal(wd_tensor_read_f32(t, f, 3), WD_ERR_RANGE);
    assert_non_null(strstr(wd_last_error(), "'w'"));

    t = wd_safetensors_find(st, "b");
    assert_int_equal(t->dtype, WD_DTYPE_I8);
    assert_int_equal(wd_tensor_read_f32(t, f, 3), WD_OK);
    assert_true(f[0] == 1.0f && f[1] == -7.0f && f[2] == 127.0f);
    /* zero copy: the pointer is 16 bytes past w's */
    assert_ptr_equal((const char *)t->data, (const char *)wd_safetensors_find(st, "w")->data + 16);

    t = wd_safetensors_find(st, "s");
    assert_int_equal(t->ndim, 0);
    assert_int_equal(t->n_elem, 1);
    assert_int_equal(wd_tensor_read_f32(t, f, 1), WD_OK);
    assert_true(f[0] == -0.125f);

    t = wd_safetensors_find(st, "e");
    assert_int_equal(t->n_elem, 0);
    assert_int_equal(t->nbytes, 0);
    assert_int_equal(wd_tensor_read_f32(t, NULL, 0), WD_OK);
    assert_null(wd_safetensors_find(st, "nope"));
    assert_null(wd_safetensors_find(st, ""));

    assert_int_equal(wd_safetensors_n_metadata(st), 2);
    assert_string_equal(wd_safetensors_metadata_get(st, "format"), "pt");
    assert_string_equal(wd_safetensors_metadata_get(st, "note"), "x");
    assert_null(wd_safetensors_metadata_get(st, "other"));
    const char *k, *v;
    assert_int_equal(wd_safetensors_metadata(st, 1, &k, &v), WD_OK);
    assert_string_equal(k, "note");
    assert_int_equal(wd_safetensors_metadata(st, 2, &k, &v), WD_ERR_RANGE);
    assert_null(k);
    wd_safetensors_free(st);
    wd_safetensors_free(NULL);
}

/* ==== conversions to float against hand-decoded bit patterns ============ */

static void test_convert(void **state) {
    /* F16: 1, -2, 65504 (max), 2^-24 (smallest subnormal), 2^-14 (smallest
     * normal), 0x0200 = 2^-15 (subnormal), inf, -0, 0x3555 = 0.333251953125 */
    uint16_t h[9] = {0x3c00, 0xc000, 0x7bff, 0x0001, 0x0400, 0x0200, 0x7c00, 0x8000, 0x3555};
    float want_h[9] = {1.0f, -2.0f, 65504.0f, 5.9604644775390625e-8f, 6.103515625e-5f,
                       3.0517578125e-5f, INFINITY, -0.0f, 0.333251953125f};
    /* BF16: 1, -3.140625 (0xc049), 0x7e96 = 1.171875 * 2^126, nan */
    uint16_t b[4] = {0x3f80, 0xc049, 0x7e96, 0x7fc0};
    double d[2] = {0.1, -1e300};
    int64_t shape_h[1] = {9}, shape_b[1] = {4}, shape_d[1] = {2};

    wd_safetensors_writer *w;
    assert_int_equal(wd_safetensors_writer_new(&w), WD_OK);
    assert_int_equal(wd_safetensors_writer_add(w, "h", WD_DTYPE_F16, shape_h, 1, h), WD_OK);
    assert_int_equal(wd_safetensors_writer_add(w, "b", WD_DTYPE_BF16, shape_b, 1, b), WD_OK);
    assert_int_equal(wd_safetensors_writer_add(w, "d", WD_DTYPE_F64, shape_d, 1, d), WD_OK);
    assert_int_equal(wd_safetensors_writer_write(w, tpath("conv.safetensors")), WD_OK);
    wd_safetensors_writer_free(w);

    wd_safetensors *st;
    assert_int_equal(wd_safetensors_open(tpath("conv.safetensors"), &st), WD_OK);
    float f[9];
    assert_int_equal(wd_tensor_read_f32(wd_safetensors_find(st, "h"), f, 9), WD_OK);
    for (int i = 0; i < 9; i++) {
        assert_memory_equal(&f[i], &want_h[i], 4); /* bit-exact, -0 included */
    }
    assert_int_equal(wd_tensor_read_f32(wd_safetensors_find(st, "b"), f, 4), WD_OK);
    assert_true(f[0] == 1.0f);
    assert_true(f[1] == -3.140625f);
    assert_true(f[2] == 0x1.2cp+126f); /* 1.171875 * 2^126 */
    assert_true(isnan(f[3]));
    assert_int_equal(wd_tensor_read_f32(wd_safetensors_find(st, "d"), f, 2), WD_OK);
    assert_true(f[0] == 0.1f);
    assert_true(isinf(f[1]) && f[1] < 0);
    wd_safetensors_free(st);

    /* F16 at an odd address (legal in other writers' files): 1.0, -2.0 */
    char hdr[160];
    int hl = snprintf(hdr, sizeof hdr, "%-112s",
                      "{\"u\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
                      "\"h\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[1,5]}}");
    assert_int_equal(hl, 112);
    _Alignas(16) unsigned char buf[8 + 112 + 5] = {112};
    memcpy(buf + 8, hdr, 112);
    const unsigned char d16[5] = {7, 0x00, 0x3c, 0x00, 0xc0};
    memcpy(buf + 8 + 112, d16, 5);
    assert_int_equal(wd_safetensors_open_memory(buf, sizeof buf, "odd", &st), WD_OK);
    const wd_tensor_info *t = wd_safetensors_find(st, "h");
    assert_int_equal((uintptr_t)t->data & 1, 1);
    assert_int_equal(wd_tensor_read_f32(t, f, 2), WD_OK);
    assert_true(f[0] == 1.0f && f[1] == -2.0f);
    wd_safetensors_free(st);
}

/* ==== corrupt files ===================================================== */

typedef struct {
    const char *file;
    const char *header;    /* NULL: raw bytes below */
    uint64_t    hlen;      /* override the length field (0 = strlen) */
    size_t      data_len;  /* bytes of data after the header */
    const char *raw;       /* raw file content when header is NULL */
    size_t      raw_len;
    wd_status   want;
    const char *msg;       /* must appear in the message */
} bad_case;

static const bad_case bad_cases[] = {
    {"short.safetensors", NULL, 0, 0, "\x05\x00\x00", 3, WD_ERR_FORMAT, "too short for the 8-byte header length"},
    {"empty.safetensors", NULL, 0, 0, "", 0, WD_ERR_FORMAT, "file is 0 bytes"},
    {"hlen_past_end.safetensors", "{}", 1000, 0, NULL, 0, WD_ERR_FORMAT,
     "header length 1000 runs past the end of the file"},
    {"hlen_huge.safetensors", "{}", 1ull << 63, 0, NULL, 0, WD_ERR_FORMAT,
     "header length 9223372036854775808 exceeds the limit of 100000000 bytes"},
    {"hlen_over_limit.safetensors", "{}", 100000001, 0, NULL, 0, WD_ERR_FORMAT,
     "exceeds the limit"},
    {"truncated.safetensors",
     "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 0, 10, NULL, 0,
     WD_ERR_FORMAT, "tensor 'a': data_offsets [0, 16] run past the end of the data area (10 bytes"},
    {"offset_past_end.safetensors",
     "{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[100,104]}}", 0, 8, NULL, 0,
     WD_ERR_FORMAT, "tensor 'a': data_offsets [100, 104] run past the end"},
    {"overlap.safetensors",
     "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
     "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 0, 16, NULL, 0,
     WD_ERR_FORMAT, "tensors 'a' [0, 8] and 'b' [4, 12] overlap"},
    {"mismatch.safetensors",
     "{\"x.weight\":{\"dtype\":\"F32\",\"shape\":[4,8],\"data_offsets\":[0,96]}}", 0, 128, NULL, 0,
     WD_ERR_FORMAT,
     "tensor 'x.weight': data_offsets [0, 96] span 96 bytes but shape [4, 8] of F32 needs 128"},
    {"bad_json.safetensors", "{\"a\": {\"dtype\": \"F32\",, }", 0, 0, NULL, 0, WD_ERR_FORMAT,
     "header: invalid JSON at line 1, column"},
    {"bad_json_lines.safetensors", "{\n\"a\":\n nope}", 0, 0, NULL, 0, WD_ERR_FORMAT,
     "invalid JSON at line 3"},
    {"not_object.safetensors", "[1, 2, 3]", 0, 0, NULL, 0, WD_ERR_FORMAT,
     "header is an array, expected a JSON object"},
    {"trailing.safetensors", "{}   xyz", 0, 0, NULL, 0, WD_ERR_FORMAT,
     "header: text after the JSON value at line 1, column 6"},
    {"neg_shape.safetensors",
     "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,-3],\"data_offsets\":[0,0]}}", 0, 0, NULL, 0,
     WD_ERR_FORMAT, "tensor 'a': shape[1] is -3, expected a non-negative integer"},
    {"frac_shape.safetensors",
     "{\"a\":{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,0]}}", 0, 0, NULL, 0,
     WD_ERR_FORMAT, "tensor 'a': shape[0] is 2.5, expected a non-negative integer"},
    {"str_shape.safetensors",
     "{\"a\":{\"dtype\":\"F32\",\"shape\":[\"2\"],\"data_offsets\":[0,0]}}", 0, 0, NULL, 0,
     WD_ERR_FORMAT, "tensor 'a': shape[0] is a string"},
    {"shape_not_array.safetensors",
     "{\"a\":{\"dtype\":\"F32\",\"shape\":4,\"data_offsets\":[0,16]}}", 0, 16, NULL, 0,
     WD_ERR_FORMAT, "tensor 'a': field 'shape' is a number, expected an array"},
    {"unknown_dtype.safetensors",
     "{\"a\":{\"dtype\":\"F8_E4M3\",\"shape\":[2],\"data_offsets\":[0,2]}}", 0, 2, NULL, 0,
     WD_ERR_UNSUPPORTED, "tensor 'a': unknown dtype 'F8_E4M3'"},
    {"no_dtype.safetensors", "{\"a\":{\"shape\":[2],\"data_offsets\":[0,2]}}", 0, 2, NULL, 0,
     WD_ERR_FORMAT, "tensor 'a': field 'dtype' missing"},
    {"no_offsets.safetensors", "{\"a\":{\"dtype\":\"U8\",\"shape\":[2]}}", 0, 2, NULL, 0,
     WD_ERR_FORMAT, "tensor 'a': field 'data_offsets' missing"},
    {"bad_offsets.safetensors",
     "{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0]}}", 0, 2, NULL, 0,
     WD_ERR_FORMAT, "field 'data_offsets' must be [BEGIN, END]"},
    {"reversed_offsets.safetensors",
     "{\"a\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[4,2]}}", 0, 8, NULL, 0,
     WD_ERR_FORMAT, "data_offsets [4, 2] end before they begin"},
    {"dup.safetensors",
     "{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]},"
     "\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[2,4]}}", 0, 4, NULL, 0,
     WD_ERR_FORMAT, "header: duplicate key 'a' at line 1, column 54"},
    /* the same name spelled with an escape is the same name */
    {"dup_escaped.safetensors",
     "{\"ab\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]},"
     "\"a\\u0062\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[2,4]}}", 0, 4, NULL, 0,
     WD_ERR_FORMAT, "header: duplicate key 'ab'"},
    /* a name with U+0000 would be cut by the C string: "a" for both */
    {"nul_name.safetensors",
     "{\"a\\u0000x\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]}}", 0, 2,
     NULL, 0, WD_ERR_FORMAT, "key 'a\\x00x' holds U+0000"},
    {"gap.safetensors",
     "{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]},"
     "\"b\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[4,6]}}", 0, 6, NULL, 0,
     WD_ERR_FORMAT, "a gap of 2 bytes in the data between tensor 'a' (ends at 2) and tensor 'b'"},
    {"gap_start.safetensors",
     "{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[3,5]}}", 0, 5, NULL, 0,
     WD_ERR_FORMAT, "a gap of 3 bytes at the start of the data"},
    {"trailing_data.safetensors",
     "{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]}}", 0, 10, NULL, 0,
     WD_ERR_FORMAT, "8 bytes after the end of the last tensor's data"},
    {"empty_with_data.safetensors", "{}", 0, 4, NULL, 0, WD_ERR_FORMAT,
     "4 bytes after the end of the last tensor's data"},
    {"overflow.safetensors",
     "{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,16],\"data_offsets\":[0,0]}}",
     0, 0, NULL, 0, WD_ERR_FORMAT, "tensor 'a': shape [4294967296, 4294967296, 16] of F32 is too large"},
    {"entry_not_object.safetensors", "{\"a\":[1,2]}", 0, 0, NULL, 0, WD_ERR_FORMAT,
     "tensor 'a': entry is an array, expected an object"},
    {"meta_not_string.safetensors", "{\"__metadata__\":{\"k\":1}}", 0, 0, NULL, 0, WD_ERR_FORMAT,
     "__metadata__ entry 'k' is a number"},
    {"meta_not_object.safetensors", "{\"__metadata__\":\"x\"}", 0, 0, NULL, 0, WD_ERR_FORMAT,
     "__metadata__ is a string"},
};

static void write_bad(const bad_case *c, const char *path) {
    if (!c->header) {
        wdt_write_file(path, c->raw, c->raw_len);
        return;
    }
    unsigned char *data = calloc(1, c->data_len + 1);
    make_file(path, c->header, c->hlen, data, c->data_len);
    free(data);
}

static void test_corrupt(void **state) {
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const bad_case *c = &bad_cases[i];
        const char *path = tpath(c->file);
        write_bad(c, path);
        wd_safetensors *st = (wd_safetensors *)1;
        wd_status rc = wd_safetensors_open(path, &st);
        if (rc != c->want || !strstr(wd_last_error(), c->msg) || !strstr(wd_last_error(), c->file))
            fail_msg("%s: got %s '%s', want %s containing '%s'", c->file, wd_status_str(rc),
                     wd_last_error(), wd_status_str(c->want), c->msg);
        assert_null(st);
        /* the CLI: exit 3 and the same message on stderr */
        char args[1200], *out, *err;
        snprintf(args, sizeof args, "inspect '%s'", path);
        int code = wdt_cli(args, NULL, &out, &err);
        if (code != 3 || !strstr(err, c->msg))
            fail_msg("warden inspect %s: exit %d, stderr '%s'", c->file, code, err);
        free(out);
        free(err);
    }
    /* header length 0: the length field is all zeros */
    unsigned char z[16] = {0};
    wdt_write_file(tpath("zero_len.safetensors"), z, sizeof z);
    wd_safetensors *st;
    assert_int_equal(wd_safetensors_open(tpath("zero_len.safetensors"), &st), WD_ERR_FORMAT);
    assert_non_null(strstr(wd_last_error(), "header length is 0"));
    /* a NUL inside the header */
    {
        char raw[12] = {4, 0, 0, 0, 0, 0, 0, 0, '{', '}', 0, ' '};
        wdt_write_file(tpath("nul.safetensors"), raw, sizeof raw);
    }
    assert_int_equal(wd_safetensors_open(tpath("nul.safetensors"), &st), WD_ERR_FORMAT);
    assert_non_null(strstr(wd_last_error(), "NUL"));
    /* a missing file */
    assert_int_equal(wd_safetensors_open(tpath("absent.safetensors"), &st), WD_ERR_NOT_FOUND);
    assert_non_null(strstr(wd_last_error(), "absent.safetensors"));
    /* a folder */
    assert_int_equal(wd_safetensors_open(tmp, &st), WD_ERR_IO);
}

/* The same corrupt bytes through open_memory (what the fuzz target uses). */
static void test_corrupt_memory(void **state) {
    const char *h = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,12]}}";
    unsigned char buf[256] = {0};
    size_t hl = strlen(h);
    buf[0] = (unsigned char)hl;
    memcpy(buf + 8, h, hl);
    wd_safetensors *st;
    assert_int_equal(wd_safetensors_open_memory(buf, 8 + hl + 12, "mem", &st), WD_ERR_FORMAT);
    assert_non_null(strstr(wd_last_error(), "mem: tensor 'a': data_offsets [0, 12] span 12 bytes but shape [2] of F32 needs 8"));
    assert_null(st);
    /* every prefix of a valid file fails cleanly or succeeds */
    h = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
    hl = strlen(h);
    memset(buf, 0, sizeof buf);
    buf[0] = (unsigned char)hl;
    memcpy(buf + 8, h, hl);
    for (size_t n = 0; n < 8 + hl + 8; n++) {
        assert_int_equal(wd_safetensors_open_memory(buf, n, "mem", &st), WD_ERR_FORMAT);
        assert_null(st);
    }
    assert_int_equal(wd_safetensors_open_memory(buf, 8 + hl + 8, "mem", &st), WD_OK);
    wd_safetensors_free(st);
}

/* ==== the writer ======================================================== */

/* Exact bytes: metadata first, F32 before I8 (wider first), offsets
 * packed, header padded with spaces to 144 so the data starts at 152. */
static void test_writer_exact_bytes(void **state) {
    static const char want_header[] =
        "{\"__metadata__\":{\"format\":\"pt\"},"
        "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
        "\"b\":{\"dtype\":\"I8\",\"shape\":[3],\"data_offsets\":[8,11]}}      "; /* 138 + 6 */
    assert_int_equal(sizeof want_header - 1, 144);
    unsigned char want[8 + 144 + 11];
    memset(want, 0, sizeof want);
    want[0] = 144; /* 0x90, the other 7 length bytes are 0 */
    memcpy(want + 8, want_header, 144);
    const unsigned char a_bytes[8] = {0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0}; /* 1.0f, -2.0f */
    memcpy(want + 152, a_bytes, 8);
    want[160] = 0x05, want[161] = 0xff, want[162] = 0x80; /* 5, -1, -128 */

    float a[2] = {1.0f, -2.0f};
    int8_t b[3] = {5, -1, -128};
    int64_t sa[1] = {2}, sb[1] = {3};
    wd_safetensors_writer *w;
    assert_int_equal(wd_safetensors_writer_new(&w), WD_OK);
    assert_int_equal(wd_safetensors_writer_add(w, "b", WD_DTYPE_I8, sb, 1, b), WD_OK);
    assert_int_equal(wd_safetensors_writer_add(w, "a", WD_DTYPE_F32, sa, 1, a), WD_OK);
    assert_int_equal(wd_safetensors_writer_add_metadata(w, "format", "tf"), WD_OK);
    assert_int_equal(wd_safetensors_writer_add_metadata(w, "format", "pt"), WD_OK); /* replaces */
    assert_int_equal(wd_safetensors_writer_write(w, tpath("exact.safetensors")), WD_OK);
    wd_safetensors_writer_free(w);

    char *got;
    size_t n;
    assert_int_equal(wd__file_read(tpath("exact.safetensors"), 0, &got, &n), WD_OK);
    assert_int_equal(n, sizeof want);
    assert_memory_equal(got, want, sizeof want);
    free(got);
}

static void test_writer_errors(void **state) {
    wd_safetensors_writer *w;
    assert_int_equal(wd_safetensors_writer_new(&w), WD_OK);
    float x[4] = {0};
    int64_t s1[1] = {4}, neg[2] = {2, -2};
    assert_int_equal(wd_safetensors_writer_add(w, "x", WD_DTYPE_F32, s1, 1, x), WD_OK);
    assert_int_equal(wd_safetensors_writer_add(w, "x", WD_DTYPE_F32, s1, 1, x), WD_ERR_INVALID_ARG);
    assert_non_null(strstr(wd_safetensors_writer_last_error(w), "'x' added twice"));
    assert_int_equal(wd_safetensors_writer_add(w, "", WD_DTYPE_F32, s1, 1, x), WD_ERR_INVALID_ARG);
    assert_int_equal(wd_safetensors_writer_add(w, "__metadata__", WD_DTYPE_F32, s1, 1, x), WD_ERR_INVALID_ARG);
    assert_int_equal(wd_safetensors_writer_add(w, "n", WD_DTYPE_F32, neg, 2, x), WD_ERR_INVALID_ARG);
    assert_int_equal(wd_safetensors_writer_add(w, "d", (wd_dtype)99, s1, 1, x), WD_ERR_INVALID_ARG);
    assert_int_equal(wd_safetensors_writer_add(w, "null", WD_DTYPE_F32, s1, 1, NULL), WD_ERR_INVALID_ARG);
    /* a folder that does not exist: the write fails and names the path */
    assert_int_equal(wd_safetensors_writer_write(w, tpath("no/such/dir/x.safetensors")), WD_ERR_IO);
    assert_non_null(strstr(wd_safetensors_writer_last_error(w), "no/such/dir"));
    wd_safetensors_writer_free(w);
    wd_safetensors_writer_free(NULL);
}

/* Round trip: every dtype, odd sizes, scalars, empty tensors, awkward names. */
static void test_writer_round_trip(void **state) {
    uint64_t seed = 42;
    wd_safetensors_writer *w;
    assert_int_equal(wd_safetensors_writer_new(&w), WD_OK);
    unsigned char *bufs[WD_DTYPE_COUNT * 3];
    size_t sizes[WD_DTYPE_COUNT * 3];
    char names[WD_DTYPE_COUNT * 3][64];
    int64_t shapes[3][3] = {{3, 5, 7}, {0, 0, 0}, {13, 0, 0}};
    int ndims[3] = {3, 0, 1};
    int k = 0;
    for (int d = 0; d < WD_DTYPE_COUNT; d++) {
        for (int v = 0; v < 3; v++, k++) {
            size_t n = v == 0 ? 105 : v == 1 ? 1 : 13;
            sizes[k] = n * wd_dtype_size((wd_dtype)d);
            bufs[k] = malloc(sizes[k]);
            for (size_t i = 0; i < sizes[k]; i++) bufs[k][i] = (unsigned char)wdt_rand(&seed);
            snprintf(names[k], sizeof names[k], "t.%s.%d \"q\"\\ü", wd_dtype_name((wd_dtype)d), v);
            assert_int_equal(wd_safetensors_writer_add(w, names[k], (wd_dtype)d, shapes[v], ndims[v], bufs[k]),
                             WD_OK);
        }
    }
    int64_t empty_shape[2] = {4, 0};
    assert_int_equal(wd_safetensors_writer_add(w, "empty", WD_DTYPE_F16, empty_shape, 2, NULL), WD_OK);
    assert_int_equal(wd_safetensors_writer_add_metadata(w, "note", "line\nbreak \"quoted\" \x01"), WD_OK);
    assert_int_equal(wd_safetensors_writer_write(w, tpath("rt.safetensors")), WD_OK);
    wd_safetensors_writer_free(w);

    wd_safetensors *st;
    assert_int_equal(wd_safetensors_open(tpath("rt.safetensors"), &st), WD_OK);
    assert_int_equal(wd_safetensors_n_tensors(st), k + 1);
    assert_int_equal((8 + wd_safetensors_header_size(st)) % 8, 0);
    assert_string_equal(wd_safetensors_metadata_get(st, "note"), "line\nbreak \"quoted\" \x01");
    for (int i = 0; i < k; i++) {
        const wd_tensor_info *t = wd_safetensors_find(st, names[i]);
        assert_non_null(t);
        int d = i / 3, v = i % 3;
        assert_int_equal(t->dtype, d);
        assert_int_equal(t->ndim, ndims[v]);
        for (int j = 0; j < ndims[v]; j++) assert_int_equal(t->shape[j], shapes[v][j]);
        assert_int_equal(t->nbytes, sizes[i]);
        assert_memory_equal(t->data, bufs[i], sizes[i]); /* bit-identical */
        /* written files keep every tensor aligned to its element size */
        assert_int_equal((uintptr_t)t->data % wd_dtype_size(t->dtype), 0);
        free(bufs[i]);
    }
    const wd_tensor_info *e = wd_safetensors_find(st, "empty");
    assert_int_equal(e->n_elem, 0);
    assert_int_equal(e->ndim, 2);
    /* packed with no gaps: each tensor starts where the previous one ends */
    uint64_t end = 0;
    for (size_t i = 0; i < wd_safetensors_n_tensors(st); i++) {
        const wd_tensor_info *t = wd_safetensors_tensor(st, i);
        assert_int_equal(t->offset, end);
        end += t->nbytes;
    }
    assert_int_equal(8 + wd_safetensors_header_size(st) + end, wd_safetensors_file_size(st));
    wd_safetensors_free(st);

    /* An independent reader (Python standard library: struct + json) applies
     * the reference implementation's rules to the same file. */
    if (!WD_PYTHON3[0]) {
        print_message("note: python3 not found, independent format check skipped\n");
        return;
    }
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' '%s/tests/tools/check_hf_layout.py' --file '%s'", WD_PYTHON3,
             WD_SOURCE_DIR, tpath("rt.safetensors"));
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "'%s' '%s/tests/tools/check_hf_layout.py' --file '%s'", WD_PYTHON3,
             WD_SOURCE_DIR, tpath("exact.safetensors"));
    assert_int_equal(system(cmd), 0);
}

static void test_dtype_names(void **state) {
    for (int d = 0; d < WD_DTYPE_COUNT; d++) {
        wd_dtype back;
        assert_int_equal(wd_dtype_from_name(wd_dtype_name((wd_dtype)d), &back), WD_OK);
        assert_int_equal(back, d);
    }
    wd_dtype x;
    assert_int_equal(wd_dtype_from_name("f32", &x), WD_ERR_UNSUPPORTED);
    assert_int_equal(wd_dtype_size(WD_DTYPE_BF16), 2);
    assert_int_equal(wd_dtype_size(WD_DTYPE_I64), 8);
    assert_int_equal(wd_dtype_size(WD_DTYPE_BOOL), 1);
    assert_int_equal(wd_dtype_size((wd_dtype)77), 0);
    assert_string_equal(wd_dtype_name((wd_dtype)77), "?");
}

/* `inspect --json` prints valid JSON even when the header's
 * strings hold invalid UTF-8 (each bad byte becomes U+FFFD). */
static void test_inspect_json_utf8(void **state) {
    const char *hdr = "{\"__metadata__\":{\"note\":\"bad \xff\xfe here\"},"
                      "\"w\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]}}";
    unsigned char data[2] = {1, 2};
    make_file(tpath("utf8.safetensors"), hdr, 0, data, sizeof data);
    char args[1200], *out, *err;
    snprintf(args, sizeof args, "inspect --json '%s'", tpath("utf8.safetensors"));
    assert_int_equal(wdt_cli(args, NULL, &out, &err), 0);
    assert_int_equal(wd__utf8_valid_prefix(out, strlen(out)), strlen(out));
    assert_non_null(strstr(out, "\"bad \xEF\xBF\xBD\xEF\xBF\xBD here\""));
    free(out);
    free(err);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_valid),
        cmocka_unit_test(test_inspect_json_utf8),
        cmocka_unit_test(test_convert),
        cmocka_unit_test(test_corrupt),
        cmocka_unit_test(test_corrupt_memory),
        cmocka_unit_test(test_writer_exact_bytes),
        cmocka_unit_test(test_writer_errors),
        cmocka_unit_test(test_writer_round_trip),
        cmocka_unit_test(test_dtype_names),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
