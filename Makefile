# safetensors.h build and test matrix.
#   make            the inspector and the examples, in build/
#   make demo       the inspector on the bundled tiny GPT-2
#   make test       every cmocka suite (gcc), plus the C++ and option builds
#   make check      the same suites under AddressSanitizer + UBSan (clang)
#   make bench      benchmarks; each prints a table with its baseline
#   make fuzz-run   libFuzzer targets for FUZZ_SECONDS each (fuzz/fuzz.mk)
#   make valgrind   the suites under valgrind memcheck (fuzz/fuzz.mk)
#   make test-m32 / test-s390x / test-windows   other hosts (tests/platforms.mk)
CC      ?= cc
CXX     ?= c++
SAN_CC  ?= clang
OPT     ?= -O2
WARN    := -std=c99 -pedantic -Wall -Wextra -Werror -Wconversion -Wsign-conversion -Wshadow \
           -Wstrict-prototypes -Wmissing-prototypes -Wcast-qual -Wundef -Wvla
CXXWARN := -Wall -Wextra -Werror
CFLAGS  ?= $(OPT) -g
B       := build
CMOCKA  := -lcmocka
SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

EXAMPLES := $(B)/safetensors-inspect $(B)/safetensors-convert $(B)/load_parallel
SUITES   := unit conformance stream models sharded writer convert alloc index engine
TESTBINS := $(SUITES:%=$(B)/test_%)

.PHONY: all demo deps test check bench clean install test-options test-cpp test-large test-large-small rewrite-check test-convert \
        test-convert-tool test-load-parallel
all: $(EXAMPLES)

$(B):
	@mkdir -p $(B)

demo: $(B)/safetensors-inspect
	./$(B)/safetensors-inspect tests/models/tiny-gpt2/model.safetensors

# ---- tests -------------------------------------------------------------
# The suites need cmocka. On a fresh Debian machine, as root, make test
# installs it; elsewhere it says what is missing.
deps:
	@if ! printf '#include <stdarg.h>\n#include <stddef.h>\n#include <setjmp.h>\n#include <cmocka.h>\n' \
	        | $(CC) -E -x c - > /dev/null 2>&1; then \
	    if [ "$$(id -u)" = 0 ] && command -v apt-get > /dev/null; then \
	        echo "installing libcmocka-dev"; \
	        DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libcmocka-dev > /dev/null; \
	    else echo "make test needs cmocka: apt-get install libcmocka-dev (or your system's cmocka package)"; exit 1; fi; \
	fi

$(B)/test_%: tests/test_%.c tests/test_util.h safetensors.h | $(B) deps
	$(CC) $(WARN) $(CFLAGS) -I. $< -o $@ $(CMOCKA)

$(B)/san_test_%: tests/test_%.c tests/test_util.h safetensors.h | $(B) deps
	$(SAN_CC) $(WARN) -O1 -g $(SAN) -I. $< -o $@ $(CMOCKA)

# The index and unit suites again with every name hashed alike
# (SAFETENSORS_TEST_FORCE_HASH exists only for this): every collision path.
COLLIDE := $(B)/test_index_collide $(B)/test_unit_collide
$(B)/test_%_collide: tests/test_%.c tests/test_util.h safetensors.h | $(B) deps
	$(CC) $(WARN) $(CFLAGS) -I. '-DSAFETENSORS_TEST_FORCE_HASH(h)=0u' $< -o $@ $(CMOCKA)

# The sharded suite starts threads against one lazy model.
$(B)/test_sharded $(B)/san_test_sharded $(B)/m32/test_sharded: CMOCKA += -pthread
# The engine suite reads one handle from many threads.
$(B)/test_engine $(B)/san_test_engine $(B)/m32/test_engine: CMOCKA += -pthread

# C++: the implementation compiled as C++, linked with a C caller.
$(B)/test_cpp: tests/test_cpp.cpp tests/test_cpp_caller.c safetensors.h | $(B)
	$(CXX) $(CXXWARN) -O1 -I. -c tests/test_cpp.cpp -o $(B)/test_cpp.o
	$(CC) $(WARN) -O1 -I. -c tests/test_cpp_caller.c -o $(B)/test_cpp_caller.o
	$(CXX) $(B)/test_cpp.o $(B)/test_cpp_caller.o -o $@

# Option builds: static linkage, no mmap, no stdio, custom allocator macros.
$(B)/test_options_%: tests/test_options.c safetensors.h | $(B)
	$(CC) $(WARN) $(CFLAGS) -I. $(OPTDEF_$*) $< -o $@
OPTDEF_static   := -DSAFETENSORS_STATIC
OPTDEF_nommap   := -DSAFETENSORS_NO_MMAP
OPTDEF_nostdio  := -DSAFETENSORS_NO_STDIO
OPTDEF_macros   := -DTEST_ALLOC_MACROS
OPTBINS := $(addprefix $(B)/test_options_,static nommap nostdio macros)

test-cpp: $(B)/test_cpp
	./$(B)/test_cpp

test-options: $(OPTBINS)
	@for t in $(OPTBINS); do echo "== $$t"; ./$$t || exit 1; done

test: $(TESTBINS) $(COLLIDE) $(EXAMPLES) test-cpp test-options test-portable test-large-small rewrite-check test-convert fuzz-replay test-inspect test-convert-tool \
      test-load-parallel
	@set -e; for t in $(TESTBINS) $(COLLIDE); do echo "== $$t"; ./$$t; done

check: $(SUITES:%=$(B)/san_test_%)
	@set -e; for t in $^; do echo "== $$t"; ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ./$$t; done
	@$(MAKE) --no-print-directory fuzz-check

# ---- the writer ---------------------------------------------------------
$(B)/safetensors-convert: examples/convert.c examples/inspect/glob.c safetensors.h | $(B)
	$(CC) $(WARN) $(CFLAGS) -I. $< -o $@

# Not under the sanitizers: their shadow memory cannot live under RLIMIT_AS.
$(B)/test_large: tests/test_large.c safetensors.h | $(B)
	$(CC) $(WARN) $(CFLAGS) -I. $< -o $@

test-large-small: $(B)/test_large
	./$(B)/test_large 64M $(B)/test_large.safetensors

# Opt-in: writes (and then deletes) a 6 GiB file under a 256 MiB address-space limit.
test-large: $(B)/test_large
	./$(B)/test_large 6G $(B)/test_large.safetensors

# Every reference-written file, read and written back through the streaming
# writer by safetensors-convert with no option, must come out byte for byte
# the same.
REWRITE_FILES := $(filter-out tests/writer/w_empty_meta.safetensors,$(wildcard tests/writer/w_*.safetensors)) \
                 $(wildcard tests/conformance/files/torch_*.safetensors tests/conformance/files/numpy_*.safetensors \
                            tests/conformance/files/model_*.safetensors)
rewrite-check: $(B)/safetensors-convert
	@set -e; n=0; for f in $(REWRITE_FILES); do \
	    ./$(B)/safetensors-convert $$f $(B)/rewrite-check.out > /dev/null; \
	    cmp $$f $(B)/rewrite-check.out; n=$$((n + 1)); \
	done; rm -f $(B)/rewrite-check.out; echo "rewrite-check: $$n reference-written files byte-identical"

$(B)/load_parallel: examples/load_parallel.c safetensors.h | $(B)
	$(CC) $(WARN) $(CFLAGS) -I. $< -o $@ -pthread

# Every tensor of the bundled files into one arena by 4 threads through
# safetensors_read_tensor, checked against the mapped file.
test-load-parallel: $(B)/load_parallel
	@set -e; for f in tests/models/tiny-gpt2/model.safetensors tests/models/tiny-llama-bf16-sharded/model-0000*.safetensors; do \
	    ./$(B)/load_parallel -j 4 --verify $$f 2> /dev/null; done

# safetensors-convert on the bundled models: every float dtype, sharding and
# unsharding, the round trips that must be byte-identical, the refusals.
test-convert-tool: $(B)/safetensors-convert $(B)/safetensors-inspect
	sh tests/convert/run.sh $(B)/safetensors-convert $(B)/safetensors-inspect $(B)/convert-test

# ---- conversions: the SIMD paths, SIMD compiled out, and the byte path that
# big-endian hosts take, forced on this little-endian one
$(B)/test_convert_native: tests/test_convert.c safetensors.h | $(B) deps
	$(CC) $(WARN) $(CFLAGS) -march=native -I. $< -o $@ $(CMOCKA)
$(B)/test_convert_nosimd: tests/test_convert.c safetensors.h | $(B) deps
	$(CC) $(WARN) $(CFLAGS) -march=native -DSAFETENSORS_NO_SIMD -I. $< -o $@ $(CMOCKA)
$(B)/test_convert_bytes: tests/test_convert.c safetensors.h | $(B) deps
	$(CC) $(WARN) $(CFLAGS) -DSAFETENSORS__CV_LE=0 -I. $< -o $@ $(CMOCKA)
test-convert: $(B)/test_convert_native $(B)/test_convert_nosimd $(B)/test_convert_bytes
	@set -e; for t in $^; do echo "== $$t"; ./$$t; done

# ---- benchmarks --------------------------------------------------------
$(B)/bench_%: bench/bench_%.c bench/bench_util.h safetensors.h | $(B)
	$(CC) -std=c99 -O2 -DNDEBUG -I. $< -o $@

$(B)/bench_convert_native: bench/bench_convert.c safetensors.h | $(B)
	$(CC) -std=c99 -O2 -DNDEBUG -march=native -I. $< -o $@

$(B)/bench_read: bench/bench_read.c bench/bench_util.h examples/load_parallel.c safetensors.h | $(B)
	$(CC) -std=c99 -O2 -DNDEBUG -I. $< -o $@ -pthread

bench: $(B)/bench_parse $(B)/bench_model $(B)/bench_convert $(B)/bench_convert_native $(B)/bench_read
	./$(B)/bench_read
	./$(B)/bench_parse
	./$(B)/bench_model
	./$(B)/bench_convert
	./$(B)/bench_convert_native

PREFIX ?= /usr/local
install:
	install -d $(DESTDIR)$(PREFIX)/include
	install -m 644 safetensors.h $(DESTDIR)$(PREFIX)/include/
	install -d $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 644 examples/safetensors-inspect.1 $(DESTDIR)$(PREFIX)/share/man/man1/

clean:
	rm -rf $(B)

include tests/platforms.mk
include fuzz/fuzz.mk
include packaging/packaging.mk
include examples/inspect/inspect.mk
