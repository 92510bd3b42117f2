// safetensors.hpp - a header-only C++11 RAII layer over safetensors.h.
//
//     #include "safetensors.hpp"
//
//     safetensors::file f("model.safetensors");          // throws safetensors::error
//     for (safetensors::tensor t : f)                      // ascending offset
//         std::cout << t.name() << " " << t.dtype_name() << "\n";
//     auto w = f.at("lm_head.weight").values<float>();     // zero-copy view of the mapping
//     float first = w[0];                                  // w.data(), w.size()
//
//     safetensors::model m("checkpoint/");                // sharded: folder or index
//     std::vector<float> x = m.at("embed.weight").to_f32();  // BF16, F8... widened exactly
//
// It wraps the C API and adds no state of its own. Link libsafetensors (make
// shared; CMake safetensors::shared; pkg-config safetensors), or define
// SAFETENSORS_IMPLEMENTATION in one C or C++ file of your program as usual.
//
// ERRORS are exceptions: every refusal of the library throws
// safetensors::error, a std::runtime_error whose what() is the library's
// message, and which carries the result code, the byte offset in the file
// and errno (for I/O failures). Asking for a name that is not there throws
// it too, with SAFETENSORS_ERR_NOT_FOUND (contains() asks without throwing).
//
// OWNERSHIP: file and model own their handle (a std::unique_ptr): movable,
// not copyable; the destructor, or assigning another over it, closes it. A tensor, and every view it gives (name, shape,
// bytes, values), borrows from the file or model it came from and is valid
// until that is closed or destroyed, exactly as in the C API.
//
// VIEWS: safetensors::span<T> is std::span<T> under C++20, and below that a
// pointer and a size with data(), size(), empty(), operator[], begin() and
// end(), enough for range-for and <algorithm>.
#ifndef SAFETENSORS_HPP
#define SAFETENSORS_HPP

#include "safetensors.h"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#if __cplusplus >= 202002L
#include <span>
#endif

namespace safetensors {

#if __cplusplus >= 202002L
template <class T> using span = std::span<T>;
#else
template <class T> class span {
public:
    span() noexcept : data_(nullptr), size_(0) {}
    span(T *data, std::size_t size) noexcept : data_(data), size_(size) {}
    T *data() const noexcept { return data_; }
    std::size_t size() const noexcept { return size_; }
    bool empty() const noexcept { return size_ == 0; }
    T &operator[](std::size_t i) const noexcept { return data_[i]; }
    T *begin() const noexcept { return data_; }
    T *end() const noexcept { return data_ + size_; }

private:
    T *data_;
    std::size_t size_;
};
#endif

class error : public std::runtime_error {
public:
    explicit error(const safetensors_error &e)
        : std::runtime_error(e.message), code_(e.code), offset_(e.offset), sys_errno_(e.sys_errno) {}
    error(safetensors_result code, const std::string &message)
        : std::runtime_error(message), code_(code), offset_(0), sys_errno_(0) {}
    safetensors_result code() const noexcept { return code_; }
    // "SAFETENSORS_ERR_OFFSETS" and the like.
    const char *result_name() const noexcept { return safetensors_result_name(code_); }
    // Where in the file the fault was seen (see the header's ERRORS).
    std::uint64_t offset() const noexcept { return offset_; }
    int sys_errno() const noexcept { return sys_errno_; }

private:
    safetensors_result code_;
    std::uint64_t offset_;
    int sys_errno_;
};

namespace detail {

inline void check(safetensors_result r, const safetensors_error &e) {
    if (r != SAFETENSORS_OK) throw error(e);
}

inline error not_found(const std::string &name) {
    return error(SAFETENSORS_ERR_NOT_FOUND, "no tensor named \"" + name + "\"");
}

inline bool little_endian() noexcept {
    const std::uint16_t one = 1;
    unsigned char first;
    std::memcpy(&first, &one, 1);
    return first == 1;
}

struct file_closer {
    void operator()(safetensors_file *f) const noexcept { safetensors_close(f); }
};
#if !defined(SAFETENSORS_NO_STDIO) && !defined(SAFETENSORS_NO_MODEL)
struct model_closer {
    void operator()(safetensors_model *m) const noexcept { safetensors_model_close(m); }
};
#endif

// The dtype whose elements are a T, for the types that have one.
template <class T> struct dtype_of;
template <> struct dtype_of<std::int8_t> { static const safetensors_dtype value = SAFETENSORS_I8; };
template <> struct dtype_of<std::uint8_t> { static const safetensors_dtype value = SAFETENSORS_U8; };
template <> struct dtype_of<std::int16_t> { static const safetensors_dtype value = SAFETENSORS_I16; };
template <> struct dtype_of<std::uint16_t> { static const safetensors_dtype value = SAFETENSORS_U16; };
template <> struct dtype_of<std::int32_t> { static const safetensors_dtype value = SAFETENSORS_I32; };
template <> struct dtype_of<std::uint32_t> { static const safetensors_dtype value = SAFETENSORS_U32; };
template <> struct dtype_of<std::int64_t> { static const safetensors_dtype value = SAFETENSORS_I64; };
template <> struct dtype_of<std::uint64_t> { static const safetensors_dtype value = SAFETENSORS_U64; };
template <> struct dtype_of<float> { static const safetensors_dtype value = SAFETENSORS_F32; };
template <> struct dtype_of<double> { static const safetensors_dtype value = SAFETENSORS_F64; };

// Range-for over anything with size() and operator[](size_t).
template <class Owner, class Value> class index_iterator {
public:
    typedef std::input_iterator_tag iterator_category;
    typedef Value value_type;
    typedef std::ptrdiff_t difference_type;
    typedef const Value *pointer;
    typedef Value reference;

    index_iterator(const Owner *owner, std::size_t i) noexcept : owner_(owner), i_(i) {}
    Value operator*() const { return (*owner_)[i_]; }
    index_iterator &operator++() noexcept {
        ++i_;
        return *this;
    }
    index_iterator operator++(int) noexcept {
        index_iterator before = *this;
        ++i_;
        return before;
    }
    bool operator==(const index_iterator &o) const noexcept { return owner_ == o.owner_ && i_ == o.i_; }
    bool operator!=(const index_iterator &o) const noexcept { return !(*this == o); }

private:
    const Owner *owner_;
    std::size_t i_;
};

} // namespace detail

// One tensor of a file or model: a borrowed view (see OWNERSHIP).
class tensor {
public:
    explicit tensor(const safetensors_tensor *t) noexcept : t_(t) {}

    // Decoded UTF-8; may contain NUL.
    std::string name() const { return std::string(t_->name, t_->name_len); }
    safetensors_dtype dtype() const noexcept { return t_->dtype; }
    const char *dtype_name() const noexcept { return safetensors_dtype_name(t_->dtype); }
    span<const std::uint64_t> shape() const noexcept { return span<const std::uint64_t>(t_->shape, t_->ndim); }
    std::uint64_t element_count() const noexcept { return safetensors_tensor_element_count(t_); }
    std::uint64_t byte_size() const noexcept { return safetensors_tensor_byte_size(t_); }
    // The bytes as stored (little-endian); empty for a header-only parse.
    span<const unsigned char> bytes() const noexcept {
        return span<const unsigned char>(static_cast<const unsigned char *>(t_->data),
                                         t_->data ? static_cast<std::size_t>(byte_size()) : 0);
    }

    // The elements as T, without a copy. T is the dtype's own type (float
    // for F32, std::int32_t for I32, ...), or an unsigned integer of the
    // dtype's width for its raw codes (std::uint16_t for BF16 or F16,
    // std::uint8_t for F8 and BOOL). Throws SAFETENSORS_ERR_DTYPE for any
    // other T; SAFETENSORS_ERR_ARGUMENT when the data cannot be viewed as T
    // here (header-only, misaligned, or a big-endian host: use bytes()).
    template <class T> span<const T> values() const {
        const bool raw = T(-1) > T(0) && safetensors_dtype_bits(t_->dtype) == 8 * sizeof(T);
        if (t_->dtype != detail::dtype_of<T>::value && !raw)
            throw error(SAFETENSORS_ERR_DTYPE, "tensor \"" + name() + "\" is " + dtype_name() +
                                                   ", which cannot be viewed as this element type");
        if (sizeof(T) > 1 && !detail::little_endian())
            throw error(SAFETENSORS_ERR_ARGUMENT, "tensor data is little-endian; this host is not");
        if (!t_->data || reinterpret_cast<std::uintptr_t>(t_->data) % alignof(T) != 0)
            throw error(SAFETENSORS_ERR_ARGUMENT, "tensor \"" + name() + "\" has no data, or misaligned data");
        return span<const T>(static_cast<const T *>(t_->data), static_cast<std::size_t>(element_count()));
    }

    // Every element widened to float, exactly (safetensors_tensor_to_f32):
    // the float dtypes, BF16, F16, F8, F6 and F4 included.
    std::vector<float> to_f32() const {
        std::vector<float> out(static_cast<std::size_t>(element_count()));
        safetensors_result r = safetensors_tensor_to_f32(t_, out.data(), out.size());
        if (r != SAFETENSORS_OK)
            throw error(r, std::string("tensor \"") + name() + "\": cannot widen " + dtype_name() + " to float");
        return out;
    }

    const safetensors_tensor *get() const noexcept { return t_; }

private:
    const safetensors_tensor *t_;
};

typedef std::pair<std::string, std::string> metadata_entry;

// An open, validated file.
class file {
public:
    typedef detail::index_iterator<file, tensor> iterator;

    // Empty: every accessor but get() and operator bool needs an open file.
    file() noexcept {}
#ifndef SAFETENSORS_NO_STDIO
    // Opens, validates and maps `path` (UTF-8).
    explicit file(const std::string &path, const safetensors_options *opt = nullptr) {
        safetensors_file *f = nullptr;
        safetensors_error e;
        detail::check(safetensors_open(path.c_str(), opt, &f, &e), e);
        f_.reset(f);
    }
#endif
    // A whole file in memory that you keep alive and unchanged while this lives.
    static file from_memory(const void *bytes, std::size_t len, const safetensors_options *opt = nullptr) {
        file out;
        safetensors_file *f = nullptr;
        safetensors_error e;
        detail::check(safetensors_open_memory(bytes, len, opt, &f, &e), e);
        out.f_.reset(f);
        return out;
    }

    std::size_t size() const noexcept { return safetensors_tensor_count(f_.get()); }
    // The i-th tensor in ascending offset; i < size().
    tensor operator[](std::size_t i) const noexcept { return tensor(safetensors_tensor_at(f_.get(), i)); }
    iterator begin() const noexcept { return iterator(this, 0); }
    iterator end() const noexcept { return iterator(this, size()); }
    bool contains(const std::string &name) const noexcept { return find(name) != nullptr; }
    tensor at(const std::string &name) const {
        const safetensors_tensor *t = find(name);
        if (!t) throw detail::not_found(name);
        return tensor(t);
    }

    // __metadata__, in file order.
    std::vector<metadata_entry> metadata() const {
        std::vector<metadata_entry> out;
        for (std::size_t i = 0; i < safetensors_metadata_count(f_.get()); i++) {
            safetensors_metadata_entry m;
            safetensors_metadata_at(f_.get(), i, &m);
            out.push_back(metadata_entry(std::string(m.key, m.key_len), std::string(m.value, m.value_len)));
        }
        return out;
    }

    std::uint64_t header_size() const noexcept { return safetensors_header_size(f_.get()); }
    std::uint64_t data_start() const noexcept { return safetensors_data_start(f_.get()); }
    std::uint64_t data_size() const noexcept { return safetensors_data_size(f_.get()); }
    safetensors_file *get() const noexcept { return f_.get(); }
    explicit operator bool() const noexcept { return f_ != nullptr; }

private:
    const safetensors_tensor *find(const std::string &name) const noexcept {
        return safetensors_find(f_.get(), name.data(), name.size());
    }
    std::unique_ptr<safetensors_file, detail::file_closer> f_;
};

#if !defined(SAFETENSORS_NO_STDIO) && !defined(SAFETENSORS_NO_MODEL)
// A sharded checkpoint (a folder, an index .json, or one .safetensors file)
// as one set of tensors.
class model {
public:
    typedef detail::index_iterator<model, tensor> iterator;

    model() noexcept {}
    explicit model(const std::string &path, const safetensors_options *opt = nullptr) {
        safetensors_model *m = nullptr;
        safetensors_error e;
        detail::check(safetensors_model_open(path.c_str(), opt, &m, &e), e);
        m_.reset(m);
    }

    std::size_t size() const noexcept { return safetensors_model_tensor_count(m_.get()); }
    // The i-th tensor, by shard then name; i < size(). Throws only in lazy
    // mode, when opening its shard fails.
    tensor operator[](std::size_t i) const {
        const safetensors_tensor *t = nullptr;
        safetensors_error e;
        detail::check(safetensors_model_tensor_at(m_.get(), i, &t, nullptr, &e), e);
        return tensor(t);
    }
    iterator begin() const noexcept { return iterator(this, 0); }
    iterator end() const noexcept { return iterator(this, size()); }
    bool contains(const std::string &name) const { return lookup(name, nullptr) != nullptr; }
    tensor at(const std::string &name) const { return tensor(require(name, nullptr)); }
    // The index of the shard that holds `name`.
    std::size_t shard_of(const std::string &name) const {
        std::size_t shard = 0;
        require(name, &shard);
        return shard;
    }

    std::size_t shard_count() const noexcept { return safetensors_model_shard_count(m_.get()); }
    std::string shard_name(std::size_t i) const {
        std::size_t len = 0;
        const char *s = safetensors_model_shard_name(m_.get(), i, &len);
        return s ? std::string(s, len) : std::string();
    }

    // The index's metadata, in its order: a string value decoded, any other
    // value as its JSON text (total_size gives its digits).
    std::vector<metadata_entry> metadata() const {
        std::vector<metadata_entry> out;
        for (std::size_t i = 0; i < safetensors_model_metadata_count(m_.get()); i++) {
            safetensors_metadata_entry m;
            safetensors_model_metadata_at(m_.get(), i, &m);
            std::size_t len = 0;
            const char *json = m.value ? m.value : safetensors_model_metadata_json(m_.get(), i, &len);
            out.push_back(metadata_entry(std::string(m.key, m.key_len),
                                         std::string(json, m.value ? m.value_len : len)));
        }
        return out;
    }

    safetensors_model *get() const noexcept { return m_.get(); }
    explicit operator bool() const noexcept { return m_ != nullptr; }

private:
    // NULL when absent; other failures (a lazy shard that fails to open) throw.
    const safetensors_tensor *lookup(const std::string &name, std::size_t *shard) const {
        const safetensors_tensor *t = nullptr;
        safetensors_error e;
        safetensors_result r = safetensors_model_find(m_.get(), name.data(), name.size(), &t, shard, &e);
        if (r == SAFETENSORS_ERR_NOT_FOUND) return nullptr;
        detail::check(r, e);
        return t;
    }
    const safetensors_tensor *require(const std::string &name, std::size_t *shard) const {
        const safetensors_tensor *t = lookup(name, shard);
        if (!t) throw detail::not_found(name);
        return t;
    }
    std::unique_ptr<safetensors_model, detail::model_closer> m_;
};
#endif

} // namespace safetensors

#endif // SAFETENSORS_HPP
