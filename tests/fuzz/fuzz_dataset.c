/*
 * tests/fuzz/fuzz_dataset.c - the dataset reader's CSV, TSV, JSONL, JSON and
 * text parsers on arbitrary bytes, and the access to a record's other fields
 * (wd_dataset_field, _field_at, the header). The first byte picks the
 * format and the field settings; the rest is the file. Any input must give items or a clean
 * error, never a crash, a leak or a read out of bounds.
 */
#include <stddef.h>
#include <stdint.h>

#include "warden/dataset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    static const char *const names[] = {"f.csv", "f.tsv", "f.jsonl", "f.json", "f.txt", "f"};
    uint8_t sel = data[0];
    wd_dataset_params p = wd_dataset_params_default();
    const char *name = names[sel % 6];
    if (sel & 0x08) {
        p.text_field = (sel % 6) < 2 ? "text" : "a.b";
        p.label_field = (sel % 6) < 2 ? "label" : "x.0";
    }
    if (sel & 0x10) p.category_field = "c";
    if (sel & 0x20) p.records_path = "r";
    if (sel & 0x40) p.max_record_bytes = 64;
    if (sel & 0x80) p.fixed_label = WD_LABEL_HARMFUL;
    wd_dataset *ds;
    if (wd_dataset_open_mem(data + 1, size - 1, name, &p, &ds)) return 0;
    for (size_t i = 0; i < wd_dataset_n_columns(ds) && i < 8; i++) (void)wd_dataset_column(ds, i);
    const wd_dataset_item *it;
    size_t n = 0;
    while (!wd_dataset_next(ds, &it) && it && n < 100000) {
        volatile size_t len = it->text_len;
        /* the other fields of the record: by name, by path, by position */
        const char *f = wd_dataset_field(ds, (sel % 6) < 2 ? "label" : "a.b.0");
        if (f) len += f[0] != 0;
        size_t nf = wd_dataset_n_fields(ds);
        for (size_t i = 0; i <= nf && i < 8; i++)
            if ((f = wd_dataset_field_at(ds, i))) len += f[0] != 0;
        (void)len;
        n++;
    }
    wd_dataset_free(ds);
    return 0;
}
