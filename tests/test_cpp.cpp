// test_cpp.cpp - the implementation compiled as C++, linked with a C caller.
//
// This translation unit defines SAFETENSORS_IMPLEMENTATION, so the whole
// library is compiled by the C++ compiler; tests/test_cpp_caller.c (plain C)
// includes only the API and calls into it. main() runs the C caller's check
// and uses the API from C++ directly: in-memory files built in a
// std::vector, the streaming parser, and a model opened by path. Prints
// "1 passed, 0 failed" and exits 0 when everything holds. Run from the
// repository root.
#define SAFETENSORS_IMPLEMENTATION
#include "safetensors.h"

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

extern "C" int safetensors_cpp_caller_check(void);

namespace {

int g_failures = 0;

void check(bool ok, const char *what, int line) {
    if (!ok) {
        std::fprintf(stderr, "test_cpp.cpp:%d: %s\n", line, what);
        g_failures++;
    }
}
#define CHECK(x) check((x), #x, __LINE__)

std::vector<unsigned char> build(const std::string &header, size_t data_len) {
    std::vector<unsigned char> b(8 + header.size() + data_len);
    uint64_t n = header.size();
    for (int i = 0; i < 8; i++) b[static_cast<size_t>(i)] = static_cast<unsigned char>(n >> (8 * i));
    std::memcpy(&b[8], header.data(), header.size());
    for (size_t i = 0; i < data_len; i++) b[8 + header.size() + i] = static_cast<unsigned char>(i * 7 + 3);
    return b;
}

// RAII, as a C++ user would write it.
struct File {
    safetensors_file *f = nullptr;
    ~File() { safetensors_close(f); }
};

void test_memory() {
    const std::string h = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
                          "\"s\":{\"dtype\":\"U8\",\"shape\":[],\"data_offsets\":[16,17]}}";
    std::vector<unsigned char> b = build(h, 17);
    File file;
    safetensors_error err;
    CHECK(safetensors_open_memory(b.data(), b.size(), nullptr, &file.f, &err) == SAFETENSORS_OK);
    if (!file.f) return;
    CHECK(safetensors_tensor_count(file.f) == 2);
    const safetensors_tensor *w = safetensors_find(file.f, "w", 1);
    CHECK(w != nullptr);
    if (!w) return;
    CHECK(w->dtype == SAFETENSORS_F32);
    CHECK(safetensors_tensor_element_count(w) == 4);
    CHECK(static_cast<const unsigned char *>(w->data) == b.data() + 8 + h.size());
    const safetensors_tensor *s = safetensors_tensor_at(file.f, 1);
    CHECK(s != nullptr && std::string(s->name, s->name_len) == "s" && s->ndim == 0);
    CHECK(safetensors_header_size(file.f) == h.size());

    // a refusal: an unknown dtype, at its opening quote
    const std::string bad = "{\"w\":{\"dtype\":\"F33\",\"shape\":[1],\"data_offsets\":[0,4]}}";
    std::vector<unsigned char> bb = build(bad, 4);
    safetensors_file *f = reinterpret_cast<safetensors_file *>(&err);
    CHECK(safetensors_open_memory(bb.data(), bb.size(), nullptr, &f, &err) == SAFETENSORS_ERR_DTYPE);
    CHECK(f == nullptr);
    CHECK(err.offset == 8 + bad.find("\"F33\""));
    CHECK(std::strstr(err.message, "\"w\"") != nullptr);
    CHECK(std::string(safetensors_result_name(SAFETENSORS_ERR_DTYPE)) == "SAFETENSORS_ERR_DTYPE");
}

void test_parser() {
    const std::string h = "{\"__metadata__\":{\"k\":\"v\"},\"t\":{\"dtype\":\"I16\",\"shape\":[3],\"data_offsets\":[0,6]}}";
    std::vector<unsigned char> b = build(h, 6);
    safetensors_parser *p = nullptr;
    safetensors_error err;
    CHECK(safetensors_parser_create(nullptr, &p, &err) == SAFETENSORS_OK);
    size_t total = 0;
    int done = 0;
    for (size_t i = 0; i < b.size() && !done; i += 5) {
        size_t used = 0;
        size_t n = b.size() - i < 5 ? b.size() - i : 5;
        CHECK(safetensors_parser_feed(p, &b[i], n, &used, &done, &err) == SAFETENSORS_OK);
        total += used;
    }
    CHECK(done == 1);
    CHECK(total == 8 + h.size());
    File file;
    CHECK(safetensors_parser_finish(p, b.size() - total, &file.f, &err) == SAFETENSORS_OK);
    safetensors_parser_destroy(p);
    CHECK(safetensors_metadata_count(file.f) == 1);
    const safetensors_tensor *t = safetensors_find(file.f, "t", 1);
    CHECK(t != nullptr && t->dtype == SAFETENSORS_I16 && t->data == nullptr);
}

void test_custom_allocator() {
    struct Counter {
        long live = 0;
        static void *alloc(void *ctx, size_t size) {
            static_cast<Counter *>(ctx)->live++;
            return ::operator new(size);
        }
        static void release(void *ctx, void *ptr, size_t) {
            static_cast<Counter *>(ctx)->live--;
            ::operator delete(ptr);
        }
    } counter;
    safetensors_options o;
    std::memset(&o, 0, sizeof o);
    o.allocator.allocate = &Counter::alloc;
    o.allocator.deallocate = &Counter::release;
    o.allocator.ctx = &counter;
    const std::string h = "{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]}}";
    std::vector<unsigned char> b = build(h, 4);
    safetensors_file *f = nullptr;
    safetensors_error err;
    CHECK(safetensors_open_memory(b.data(), b.size(), &o, &f, &err) == SAFETENSORS_OK);
    CHECK(counter.live > 0);
    safetensors_close(f);
    CHECK(counter.live == 0);
}

void test_path() {
    File file;
    safetensors_error err;
    CHECK(safetensors_open("tests/models/tiny-gpt2/model.safetensors", nullptr, &file.f, &err) == SAFETENSORS_OK);
    CHECK(safetensors_tensor_count(file.f) == 28);
    const char name[] = "transformer.wte.weight";
    const safetensors_tensor *t = safetensors_find(file.f, name, sizeof name - 1);
    CHECK(t != nullptr && t->dtype == SAFETENSORS_F32 && t->data != nullptr);
}

}  // namespace

int main() {
    int caller = safetensors_cpp_caller_check();
    if (caller != 0) {
        std::fprintf(stderr, "safetensors_cpp_caller_check: %d failure(s)\n", caller);
        g_failures++;
    }
    test_memory();
    test_parser();
    test_custom_allocator();
    test_path();
    if (g_failures) {
        std::printf("0 passed, 1 failed\n");
        return 1;
    }
    std::printf("1 passed, 0 failed\n");
    return 0;
}
