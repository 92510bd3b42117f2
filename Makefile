# safetensors.h build and test matrix.
#   make            the inspector and the examples, in build/
#   make demo       the inspector on the bundled tiny GPT-2
#   make test       every cmocka suite (gcc), the C++ and option builds, the
#                   examples; ends with one line, "N passed, M failed"
#   make test-examples  the README's programs run on the bundled models, and
#                   the README's C blocks checked against examples/ (in make test)
#   make size-arm   code size on a Cortex-M4: the reader alone and the full library
#   make check      the same suites under AddressSanitizer + UBSan (clang)
#   make bench      benchmarks; each prints a table with its baseline
#   make fuzz-run   libFuzzer targets for FUZZ_SECONDS each (fuzz/fuzz.mk)
#   make valgrind   the suites under valgrind memcheck (fuzz/fuzz.mk)
#   make test-m32 / test-s390x / test-windows   other hosts (tests/platforms.mk)
#   make test-aarch64  the conversion suite on AArch64 under qemu-user, NEON
#                   paths and portable loops (exactness only, not speed)
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
SUITES   := unit conformance stream models sharded writer convert alloc index numbers memory engine
TESTBINS := $(SUITES:%=$(B)/test_%)
# The programs the README shows, examples/readme_*.c (tests/readme_check.sh).
README_EXAMPLES := $(patsubst examples/readme_%.c,%,$(wildcard examples/readme_*.c))

.PHONY: all demo deps test test-checks check bench clean install test-options test-cpp test-arm size-arm test-large \
        test-large-small rewrite-check test-convert test-examples fuzz-replay-tally $(SUITES:%=run-%) \
        test-convert-tool test-load-parallel test-aarch64
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

# Option builds. The subsets: every combination of NO_WRITER (w), NO_MODEL
# (m) and NO_CONVERT (c), alone, with STATIC (x) and with NO_STDIO (s, which
# removes the model already, so m is left out there). A name spells its
# switches, _ for one left out: $(B)/subset_w_c_ is NO_WRITER + NO_CONVERT.
# At -O1, for time: the suites build the code itself at $(OPT).
SUBSET_w := -DSAFETENSORS_NO_WRITER
SUBSET_m := -DSAFETENSORS_NO_MODEL
SUBSET_c := -DSAFETENSORS_NO_CONVERT
SUBSET_x := -DSAFETENSORS_STATIC
SUBSET_s := -DSAFETENSORS_NO_STDIO
SUBSETS  := $(foreach w,_ w,$(foreach m,_ m,$(foreach c,_ c,$(w)$(m)$(c)_ $(w)$(m)$(c)x))) \
            $(foreach w,_ w,$(foreach c,_ c,$(w)_$(c)s))
$(B)/subset_%: tests/test_options.c tests/test_check.h safetensors.h | $(B)
	$(CC) $(WARN) -O1 -I. $(foreach l,w m c x s,$(if $(findstring $(l),$*),$(SUBSET_$(l)))) $< -o $@

# Then no mmap, SAFETENSORS_MALLOC/REALLOC/FREE as counting macros, and the
# reader-only subset as C++.
$(B)/test_options_%: tests/test_options.c tests/test_check.h safetensors.h | $(B)
	$(CC) $(WARN) $(CFLAGS) -I. $(OPTDEF_$*) $< -o $@
OPTDEF_nommap   := -DSAFETENSORS_NO_MMAP
OPTDEF_macros   := -DTEST_ALLOC_MACROS
$(B)/test_options_cxx_wmc: tests/test_options.c tests/test_check.h safetensors.h | $(B)
	$(CXX) $(CXXWARN) -O1 -x c++ -I. $(SUBSET_w) $(SUBSET_m) $(SUBSET_c) $< -o $@

# malloc, realloc and free as function-like macros (stb_leakcheck.h, MSVC's
# _CRTDBG_MAP_ALLOC) around the API and the implementation.
$(B)/test_leakcheck_macros: tests/test_leakcheck_macros.c tests/test_check.h safetensors.h | $(B)
	$(CC) $(WARN) $(CFLAGS) -I. $< -o $@

OPTBINS := $(SUBSETS:%=$(B)/subset_%) $(addprefix $(B)/test_options_,nommap macros cxx_wmc) $(B)/test_leakcheck_macros

# Every check of make test runs through TALLY, which keeps its output in
# $(B)/results/NAME.log and its counts in NAME.count for the closing line.
TALLY = sh tests/tally.sh run $(B)/results
TEST_CHECKS = $(SUITES) $(COLLIDE:$(B)/test_%=%) $(TALLIED) cpp $(patsubst test_%,%,$(notdir $(OPTBINS))) portable large-small rewrite-check \
              $(CONVERT_BINS:$(B)/test_%=%) fuzz-replay $(README_EXAMPLES:%=example-%) example-f32_to_bf16 \
              readme-check

test-cpp: $(B)/test_cpp
	@$(TALLY) cpp ./$(B)/test_cpp

test-options: $(OPTBINS)
	@st=0; for t in $(OPTBINS); do n=$${t##*/}; $(TALLY) $${n#test_} ./$$t || st=1; done; exit $$st

# ---- code size on a microcontroller ----------------------------------------
# tests/size_arm.c for a Cortex-M4 with newlib-nano and stubbed syscalls:
# the reader alone, and everything but the file system. The native object
# compiles every section under -fshort-enums, arm-none-eabi's default.
ARM_CC     ?= arm-none-eabi-gcc
ARM_SIZE   ?= arm-none-eabi-size
ARM        := -mcpu=cortex-m4 -mthumb -Os -ffunction-sections -fdata-sections -Wl,--gc-sections \
              --specs=nano.specs --specs=nosys.specs
ARM_reader := $(SUBSET_s) $(SUBSET_w) $(SUBSET_m) $(SUBSET_c)
ARM_full   := $(SUBSET_s)
$(B)/arm/%.elf: tests/size_arm.c safetensors.h
	@mkdir -p $(@D)
	$(ARM_CC) $(ARM) $(WARN) -fshort-enums -I. $(ARM_$*) $< -o $@

$(B)/short_enums.o: tests/size_arm.c safetensors.h | $(B)
	$(CC) $(WARN) $(OPT) -fshort-enums -I. -c $< -o $@

size-arm: $(B)/arm/reader.elf $(B)/arm/full.elf
	@printf '%-7s %11s\n' build 'text bytes'; for b in reader full; do \
	    printf '%-7s %11s\n' $$b $$($(ARM_SIZE) -B $(B)/arm/$$b.elf | awk 'NR == 2 {print $$1}'); done

test-arm: $(B)/short_enums.o
	@if command -v $(ARM_CC) > /dev/null; then $(MAKE) --no-print-directory size-arm; \
	else echo "test-arm: skipped the Cortex-M4 builds: no $(ARM_CC) (gcc-arm-none-eabi, libnewlib-arm-none-eabi)"; fi

# One target per suite, so that make -k runs every one whatever fails.
$(SUITES:%=run-%) $(COLLIDE:$(B)/test_%=run-%): run-%: $(B)/test_%
	@$(TALLY) $* ./$<

# fuzz-replay (fuzz/fuzz.mk) builds its replay programs itself.
fuzz-replay-tally:
	@$(TALLY) fuzz-replay $(MAKE) --no-print-directory fuzz-replay

# Checks with their own targets elsewhere, run through TALLY as one each.
# (named here: packaging/packaging.mk, which defines the last three, is included at the end)
TALLIED := test-arm test-inspect test-shared test-hpp test-python test-convert-tool test-load-parallel
$(TALLIED:%=tally-%): tally-%:
	@$(TALLY) $* $(MAKE) --no-print-directory $*
# Three of them link the shared library: it is built here first, once, or
# under make -j their sub-makes each rebuild it while another links to it.
tally-test-shared tally-test-hpp tally-test-python: shared

test-checks: $(SUITES:%=run-%) $(COLLIDE:$(B)/test_%=run-%) $(EXAMPLES) test-cpp test-options test-portable \
             test-large-small rewrite-check test-convert fuzz-replay-tally test-examples $(TALLIED:%=tally-%)

# -k: a failed check does not stop the others. The last line is the sum.
test:
	@rm -rf $(B)/results
	@$(MAKE) --no-print-directory -k test-checks; sh tests/tally.sh sum $(B)/results $$? $(TEST_CHECKS)

check: $(SUITES:%=$(B)/san_test_%)
	@set -e; for t in $^; do echo "== $$t"; ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ./$$t; done
	@$(MAKE) --no-print-directory fuzz-check

# ---- the writer ---------------------------------------------------------
$(B)/safetensors-convert: examples/convert.c examples/inspect/glob.c safetensors.h | $(B)
	$(CC) $(WARN) $(CFLAGS) -I. $< -o $@

# The README's programs, built as a reader would build them; -O0 keeps the
# build quick. tests/examples.sh runs each on the bundled models and checks
# what it prints.
$(B)/readme_%: examples/readme_%.c safetensors.h | $(B)
	$(CC) $(WARN) -O0 -I. $< -o $@

test-examples: $(README_EXAMPLES:%=$(B)/readme_%) $(B)/safetensors-convert
	@st=0; $(TALLY) readme-check sh tests/readme_check.sh README.md || st=1; \
	for e in $(README_EXAMPLES) f32_to_bf16; do \
	    $(TALLY) example-$$e sh tests/examples.sh $(B) $$e || st=1; \
	done; exit $$st

# Not under the sanitizers: their shadow memory cannot live under RLIMIT_AS.
$(B)/test_large: tests/test_large.c safetensors.h | $(B)
	$(CC) $(WARN) $(CFLAGS) -I. $< -o $@

test-large-small: $(B)/test_large
	@$(TALLY) large-small ./$(B)/test_large 64M $(B)/test_large.safetensors

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
	@$(TALLY) rewrite-check sh -c 'p=0; f=0; for x; do \
	    if ./$(B)/safetensors-convert "$$x" $(B)/rewrite-check.out > /dev/null && cmp "$$x" $(B)/rewrite-check.out; \
	    then p=$$((p + 1)); else f=$$((f + 1)); fi; \
	done; rm -f $(B)/rewrite-check.out; \
	echo "rewrite-check: reference-written files byte-identical: $$p passed, $$f failed"; [ $$f -eq 0 ]' \
	    sh $(REWRITE_FILES)

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
CONVERT_BINS := $(B)/test_convert_native $(B)/test_convert_nosimd $(B)/test_convert_bytes
test-convert: $(CONVERT_BINS)
	@st=0; for t in $^; do $(TALLY) $${t#$(B)/test_} ./$$t || st=1; done; exit $$st

# The same suite for AArch64 under qemu-user (gcc-aarch64-linux-gnu,
# qemu-user), against tests/cmocka_shim: the NEON paths, including under
# the FPCR modes that must turn them off, and SIMD compiled out.
AARCH64_CC   ?= aarch64-linux-gnu-gcc
QEMU_AARCH64 ?= qemu-aarch64
AARCH64_neon   :=
AARCH64_nosimd := -DSAFETENSORS_NO_SIMD
$(B)/aarch64/test_convert_%: tests/test_convert.c safetensors.h tests/cmocka_shim/cmocka.h
	@mkdir -p $(@D)
	$(AARCH64_CC) -static $(WARN) $(CFLAGS) $(AARCH64_$*) -I. -Itests/cmocka_shim $< -o $@ -pthread
test-aarch64: $(B)/aarch64/test_convert_neon $(B)/aarch64/test_convert_nosimd
	@set -e; for t in $^; do echo "== $$t"; $(QEMU_AARCH64) ./$$t; done

# ---- benchmarks --------------------------------------------------------
$(B)/bench_%: bench/bench_%.c bench/bench_util.h safetensors.h | $(B)
	$(CC) -std=c99 -O2 -DNDEBUG -I. $< -o $@

$(B)/bench_convert_native: bench/bench_convert.c safetensors.h | $(B)
	$(CC) -std=c99 -O2 -DNDEBUG -march=native -I. $< -o $@

$(B)/bench_read: bench/bench_read.c bench/bench_util.h examples/load_parallel.c safetensors.h | $(B)
	$(CC) -std=c99 -O2 -DNDEBUG -I. $< -o $@ -pthread

# bench_flood links a second copy of the library with every name hashed alike.
$(B)/bench_flood: bench/bench_flood.c bench/bench_util.h safetensors.h | $(B)
	$(CC) -std=c99 -O2 -DNDEBUG -I. '-DSAFETENSORS_TEST_FORCE_HASH(h)=0u' -c $< -o $(B)/bench_flood_forced.o
	$(CC) -std=c99 -O2 -DNDEBUG -I. $< $(B)/bench_flood_forced.o -o $@

bench: $(B)/bench_parse $(B)/bench_model $(B)/bench_convert $(B)/bench_convert_native $(B)/bench_flood $(B)/bench_worst \
       $(B)/bench_read
	./$(B)/bench_read
	./$(B)/bench_parse
	./$(B)/bench_flood
	./$(B)/bench_worst
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
