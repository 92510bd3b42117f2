// test_hpp.cpp - bindings/cpp/safetensors.hpp, the C++ RAII layer, linked
// against libsafetensors. Built twice by make test-hpp, with -std=c++11
// (span is the header's pointer + size) and -std=c++20 (span is std::span).
// Expected values come from the files as Python's json and struct read them.
// Run from the repository root.
#include "safetensors.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <type_traits>
#include <vector>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
extern "C" {
#include <cmocka.h>
}

namespace {

const char GPT2[] = "tests/models/tiny-gpt2/model.safetensors";
const char LLAMA[] = "tests/models/tiny-llama-bf16-sharded";

static_assert(!std::is_copy_constructible<safetensors::file>::value, "file must not be copyable");
static_assert(!std::is_copy_assignable<safetensors::file>::value, "file must not be copyable");
static_assert(std::is_nothrow_move_constructible<safetensors::file>::value, "file must move");
static_assert(std::is_nothrow_move_assignable<safetensors::file>::value, "file must move");
static_assert(!std::is_copy_constructible<safetensors::model>::value, "model must not be copyable");
static_assert(std::is_nothrow_move_constructible<safetensors::model>::value, "model must move");
static_assert(std::is_base_of<std::runtime_error, safetensors::error>::value, "errors are runtime_errors");
#if __cplusplus >= 202002L
static_assert(std::is_same<safetensors::span<const float>, std::span<const float>>::value, "std::span in C++20");
#endif

std::uint32_t bits_of(float f) {
    std::uint32_t u;
    std::memcpy(&u, &f, sizeof u);
    return u;
}

std::vector<char> read_all(const char *path) {
    std::ifstream in(path, std::ios::binary);
    return std::vector<char>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Runs `fn` and returns the code of the safetensors::error it throws
// (SAFETENSORS_OK when it throws none).
template <class F> safetensors_result thrown(F fn) {
    try {
        fn();
    } catch (const safetensors::error &e) {
        assert_true(std::strlen(e.what()) > 0);
        return e.code();
    }
    return SAFETENSORS_OK;
}

void test_file_views(void **state) {
    (void)state;
    safetensors::file f(GPT2);
    assert_true(static_cast<bool>(f));
    assert_int_equal(f.size(), 28);
    safetensors::tensor w = f.at("transformer.wpe.weight");
    assert_string_equal(w.dtype_name(), "F32");
    assert_int_equal(w.shape().size(), 2);
    assert_int_equal(w.shape()[0], 64);
    assert_int_equal(w.shape()[1], 64);
    safetensors::span<const float> v = w.values<float>();
    assert_int_equal(v.size(), 4096);
    // [0][0], [0][1], [63][63] as struct.unpack reads them
    assert_int_equal(bits_of(v[0]), 0xbc695449u);
    assert_int_equal(bits_of(v[1]), 0xbac2d718u);
    assert_int_equal(bits_of(v[63 * 64 + 63]), 0xbd14481fu);
    assert_ptr_equal(v.data(), w.get()->data);
    assert_int_equal(w.bytes().size(), 16384);
    std::vector<float> wide = w.to_f32();
    assert_true(std::equal(wide.begin(), wide.end(), v.begin()));

    std::vector<safetensors::metadata_entry> meta = f.metadata();
    assert_int_equal(meta.size(), 1);
    assert_string_equal(meta[0].first.c_str(), "format");
    assert_string_equal(meta[0].second.c_str(), "pt");
    assert_int_equal(f.data_start(), 8 + f.header_size());
    assert_int_equal(f.data_size(), 547840);
}

void test_range_for_in_offset_order(void **state) {
    (void)state;
    safetensors::file f(GPT2);
    std::size_t i = 0;
    std::uint64_t end = 0;
    for (safetensors::tensor t : f) {
        assert_ptr_equal(t.get(), f[i].get());
        assert_int_equal(t.get()->begin, end);
        end = t.get()->end;
        i++;
    }
    assert_int_equal(i, f.size());
    assert_int_equal(end, f.data_size());
    std::vector<std::string> names;
    for (safetensors::tensor t : f) names.push_back(t.name());
    assert_string_equal(names.front().c_str(), "transformer.h.0.attn.c_attn.bias");
    assert_string_equal(names.back().c_str(), "transformer.wte.weight");
}

void test_moves_transfer_the_handle(void **state) {
    (void)state;
    safetensors::file a(GPT2);
    safetensors_file *handle = a.get();
    safetensors::file b(std::move(a));
    assert_null(a.get());
    assert_false(static_cast<bool>(a));
    assert_ptr_equal(b.get(), handle);
    safetensors::file c;
    c = std::move(b);
    assert_ptr_equal(c.get(), handle);
    assert_int_equal(c.size(), 28);
    c = safetensors::file(GPT2); // the old handle is closed by the temporary's destructor
    assert_int_equal(c.size(), 28);
    safetensors::model m(LLAMA);
    safetensors::model n(std::move(m));
    assert_null(m.get());
    assert_int_equal(n.size(), 30);
}

void test_errors_are_exceptions(void **state) {
    (void)state;
    safetensors::file f(GPT2);
    assert_int_equal(thrown([&] { f.at("nope"); }), SAFETENSORS_ERR_NOT_FOUND);
    assert_false(f.contains("nope"));
    assert_true(f.contains("transformer.wte.weight"));
    assert_int_equal(thrown([&] { f.at("transformer.wte.weight").values<double>(); }), SAFETENSORS_ERR_DTYPE);
    assert_int_equal(thrown([&] { f.at("transformer.wte.weight").values<std::int32_t>(); }), SAFETENSORS_ERR_DTYPE);
    assert_int_equal(thrown([] { safetensors::file g("tests/no/such.safetensors"); }), SAFETENSORS_ERR_IO);

    std::vector<char> bytes = read_all(GPT2);
    bytes.pop_back();
    try {
        safetensors::file::from_memory(bytes.data(), bytes.size());
        fail_msg("a truncated file was accepted");
    } catch (const safetensors::error &e) {
        assert_int_equal(e.code(), SAFETENSORS_ERR_COVERAGE);
        assert_string_equal(e.result_name(), "SAFETENSORS_ERR_COVERAGE");
        assert_int_equal(e.offset(), bytes.size());
    }
    bytes.push_back(0);
    safetensors::file whole = safetensors::file::from_memory(bytes.data(), bytes.size());
    assert_int_equal(whole.size(), 28);
}

void test_model(void **state) {
    (void)state;
    safetensors::model m(LLAMA);
    assert_int_equal(m.size(), 30);
    assert_int_equal(m.shard_count(), 4);
    assert_string_equal(m.shard_name(0).c_str(), "model-00001-of-00004.safetensors");
    std::size_t n = 0;
    for (safetensors::tensor t : m) {
        assert_string_equal(t.dtype_name(), "BF16");
        assert_true(m.contains(t.name()));
        n++;
    }
    assert_int_equal(n, 30);
    assert_false(m.contains("nope"));
    assert_int_equal(thrown([&] { m.at("nope"); }), SAFETENSORS_ERR_NOT_FOUND);

    safetensors::tensor head = m.at("lm_head.weight");
    assert_int_equal(m.shard_of("lm_head.weight"), 3);
    safetensors::span<const std::uint16_t> raw = head.values<std::uint16_t>(); // BF16 codes
    std::vector<float> wide = head.to_f32();
    assert_int_equal(raw.size(), wide.size());
    for (std::size_t i = 0; i < raw.size(); i++) assert_int_equal(bits_of(wide[i]), std::uint32_t(raw[i]) << 16);

    std::vector<safetensors::metadata_entry> meta = m.metadata();
    assert_int_equal(meta.size(), 2);
    assert_string_equal(meta[0].first.c_str(), "total_parameters");
    assert_string_equal(meta[1].first.c_str(), "total_size");
    assert_string_equal(meta[1].second.c_str(), "353152");
}

} // namespace

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_file_views),      cmocka_unit_test(test_range_for_in_offset_order),
        cmocka_unit_test(test_moves_transfer_the_handle), cmocka_unit_test(test_errors_are_exceptions),
        cmocka_unit_test(test_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
