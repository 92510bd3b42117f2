# fuzz/fuzz.mk - fuzzing, crash replay and valgrind targets for safetensors.h.
# Included from the Makefile (`include fuzz/fuzz.mk`); uses its B, CC, WARN
# and SAN, and its $(B)/test_% rule for the cmocka suites.
#
#   make fuzz                       libFuzzer binaries (clang) in $(B)/
#   make fuzz-run FUZZ_SECONDS=N    each target for N seconds (default 60);
#                                   fails on any finding
#   make fuzz-replay                every saved input through gcc-built targets
#                                   (fuzz_main.c instead of libFuzzer), with
#                                   ASan+UBSan unless FUZZ_REPLAY_FLAGS=
#   make fuzz-check                 the same inputs through the clang libFuzzer
#                                   builds (-runs=0): clang's UBSan also sees
#                                   out-of-bounds pointer arithmetic, which
#                                   gcc's does not
#   make fuzz-afl FUZZ_SECONDS=N    the same targets built with AFL++
#                                   (afl-clang-fast), each fuzzed for N
#                                   seconds by afl-fuzz; fails on a crash
#   make fuzz-ossbuild              fuzz/build.sh as OSS-Fuzz runs it (local
#                                   libFuzzer settings, into $(B)/oss-out),
#                                   then every target it built over its
#                                   zipped seeds and with its dictionary
#   make valgrind                   the cmocka suites under valgrind
#
# Layout: fuzz/corpus/<target>/ holds the seeds (conformance files; the
# stream and alloc seeds carry their control prefix; model's are index
# files), fuzz/regressions/<target>/ holds inputs worth keeping (crash-*:
# bugs found, now fixed; cov-*: inputs the fuzzer found that reach edges the
# seeds do not). fuzz-run works on a copy under $(B)/fuzz-run/, so the repository
# corpus is never written to; new findings go to $(B)/fuzz-run/<target>-*.

FUZZ_CC       ?= clang
FUZZ_SECONDS  ?= 60
FUZZ_TARGETS  := open stream alloc model
FUZZ_FLAGS    := -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_OPTIONS  ?= -dict=fuzz/safetensors.dict -max_len=65536 -rss_limit_mb=2048 -timeout=30 -print_final_stats=1
# The replay build: gcc (CC) with the sanitizers by default; FUZZ_REPLAY_FLAGS=
# gives a plain build (e.g. to run it under valgrind).
FUZZ_REPLAY_FLAGS ?= $(SAN)
# Every leak is an error: definitely, indirectly and possibly lost blocks.
# Still-reachable blocks are not counted: the suites that fork (a FIFO
# writer, a closed-pipe reader) have children that _exit() holding a copy of
# their parent's heap, which valgrind would otherwise report as the child's.
# The parents are checked for everything. VALGRIND_LEAK_KINDS=all is stricter.
VALGRIND_LEAK_KINDS ?= definite,indirect,possible
VALGRIND      ?= valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=$(VALGRIND_LEAK_KINDS) -q
# the Makefile's SUITES, plus test_alloc if SUITES does not list it yet
VALGRIND_SUITES := $(foreach s,$(SUITES) $(filter-out $(SUITES),alloc),$(if $(wildcard tests/test_$(s).c),$(s)))

# AFL++ drives the libFuzzer entry point itself: with afl-clang-fast,
# -fsanitize=fuzzer links AFL's libAFLDriver instead of libFuzzer, so the
# harness is one file for both engines. AFL_QUIET silences its banner.
AFL_CC        ?= afl-clang-fast
AFL_FUZZ      ?= afl-fuzz
# Exec timeout in ms: AFL's own default (a few times the seeds' speed) calls
# any slow moment of a shared machine a hang; libFuzzer's runs allow 30 s.
AFL_TIMEOUT   ?= 10000
# No UI on a log; no CPU pinning or frequency check on a machine shared with
# other jobs; the core_pattern check is for hosts that pipe cores elsewhere.
AFL_ENV       := AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_NO_AFFINITY=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1

# fuzz-ossbuild: fuzz/build.sh with the variables OSS-Fuzz sets, here for a
# local libFuzzer + ASan build.
OSS_OUT       := $(B)/oss-out
OSS_FLAGS     := -O1 -fno-omit-frame-pointer -gline-tables-only -fsanitize=address,fuzzer-no-link

.PHONY: fuzz fuzz-run fuzz-replay fuzz-check fuzz-afl fuzz-ossbuild valgrind

# Shell, inside a loop over $$t: a fresh folder $(1) with target $$t's seeds
# and regressions, for an engine to grow without touching the repository.
fuzz_seeds_into = mkdir -p $(1); cp fuzz/corpus/$$t/* $(1)/; \
    if [ -d fuzz/regressions/$$t ]; then cp fuzz/regressions/$$t/* $(1)/ 2>/dev/null || true; fi

$(B)/fuzz_%: fuzz/fuzz_%.c safetensors.h | $(B)
	$(FUZZ_CC) $(WARN) $(FUZZ_FLAGS) -I. $< -o $@

$(B)/afl_%: fuzz/fuzz_%.c safetensors.h | $(B)
	AFL_QUIET=1 $(AFL_CC) $(WARN) $(FUZZ_FLAGS) -I. $< -o $@

$(B)/replay_%: fuzz/fuzz_%.c fuzz/fuzz_main.c safetensors.h | $(B)
	$(CC) $(WARN) -O1 -g $(FUZZ_REPLAY_FLAGS) -I. $< fuzz/fuzz_main.c -o $@

fuzz: $(FUZZ_TARGETS:%=$(B)/fuzz_%)

fuzz-run: fuzz
	@set -e; for t in $(FUZZ_TARGETS); do \
	    dir=$(B)/fuzz-run/$$t; rm -rf $$dir; $(call fuzz_seeds_into,$$dir/corpus); \
	    echo "== fuzz_$$t for $(FUZZ_SECONDS) s"; \
	    if ./$(B)/fuzz_$$t $(FUZZ_OPTIONS) -max_total_time=$(FUZZ_SECONDS) \
	        -artifact_prefix=$(B)/fuzz-run/$$t- $$dir/corpus > $$dir/log 2>&1; then \
	        grep -E '^(Done|stat::new_units_added|stat::peak_rss_mb)' $$dir/log || true; \
	    else \
	        tail -n 60 $$dir/log; echo "fuzz_$$t: FINDING, see $(B)/fuzz-run/$$t-* and $$dir/log"; exit 1; \
	    fi; \
	done

# Seeds and regressions go to a copy under $(B)/fuzz-afl/<target>/in, AFL's
# queue and findings to .../out/default/. Hangs are counted, not failed on.
fuzz-afl: $(FUZZ_TARGETS:%=$(B)/afl_%)
	@set -e; for t in $(FUZZ_TARGETS); do \
	    dir=$(B)/fuzz-afl/$$t; rm -rf $$dir; $(call fuzz_seeds_into,$$dir/in); \
	    echo "== afl_$$t for $(FUZZ_SECONDS) s"; \
	    if ! $(AFL_ENV) $(AFL_FUZZ) -V $(FUZZ_SECONDS) -t $(AFL_TIMEOUT) -x fuzz/safetensors.dict \
	        -i $$dir/in -o $$dir/out -- ./$(B)/afl_$$t > $$dir/log 2>&1; then \
	        tail -n 30 $$dir/log; echo "afl_$$t: afl-fuzz failed, see $$dir/log"; exit 1; \
	    fi; \
	    awk -F' *: *' '/^(run_time|execs_done|execs_per_sec|corpus_count|edges_found|bitmap_cvg|saved_crashes|saved_hangs) / \
	        { printf "%s=%s ", $$1, $$2 } END { print "" }' $$dir/out/default/fuzzer_stats; \
	    if ls $$dir/out/default/crashes/id:* > /dev/null 2>&1; then \
	        echo "afl_$$t: CRASH, see $$dir/out/default/crashes/"; exit 1; \
	    fi; \
	done

# The local run stands in for OSS-Fuzz's: the seeds come out of the zip and
# the dictionary is the one copied to $(OSS_OUT), so a broken archive,
# a dictionary libFuzzer cannot parse or a target that no longer builds from
# build.sh fails here rather than on OSS-Fuzz.
fuzz-ossbuild:
	@rm -rf $(OSS_OUT) $(B)/oss-work && mkdir -p $(OSS_OUT) $(B)/oss-work
	CC=clang CXX=clang++ CFLAGS="$(OSS_FLAGS)" CXXFLAGS="$(OSS_FLAGS)" LIB_FUZZING_ENGINE=-fsanitize=fuzzer \
	    OUT="$(abspath $(OSS_OUT))" SRC="$(CURDIR)" WORK="$(abspath $(B))/oss-work" bash fuzz/build.sh
	@set -e; for t in $(FUZZ_TARGETS); do \
	    seeds=$(B)/oss-work/seeds_$$t; rm -rf $$seeds; mkdir -p $$seeds; \
	    unzip -q $(OSS_OUT)/fuzz_$${t}_seed_corpus.zip -d $$seeds; \
	    ./$(OSS_OUT)/fuzz_$$t -runs=0 -dict=$(OSS_OUT)/fuzz_$$t.dict $$seeds > $(B)/oss-work/$$t.log 2>&1 \
	        || { tail -n 40 $(B)/oss-work/$$t.log; echo "oss fuzz_$$t: FAILED"; exit 1; }; \
	    echo "oss fuzz_$$t: $$(ls $$seeds | wc -l) seeds, $$(grep -E '^#[0-9]+[[:space:]]+DONE' $(B)/oss-work/$$t.log | tail -n 1)"; \
	done

fuzz-replay: $(FUZZ_TARGETS:%=$(B)/replay_%)
	@pass=0; fail=0; for t in $(FUZZ_TARGETS); do \
	    line=$$(./$(B)/replay_$$t fuzz/regressions/$$t fuzz/corpus/$$t | tail -n 1); \
	    echo "replay_$$t: $$line"; \
	    case "$$line" in \
	    "replay: "*" passed, "*" failed") set -- $$line; pass=$$((pass + $$2)); fail=$$((fail + $$4));; \
	    *) fail=$$((fail + 1));; \
	    esac; \
	done; echo "replay: $$pass passed, $$fail failed"; test $$fail -eq 0

fuzz-check: fuzz
	@set -e; for t in $(FUZZ_TARGETS); do \
	    echo "== fuzz_$$t over fuzz/regressions/$$t fuzz/corpus/$$t"; \
	    ./$(B)/fuzz_$$t -runs=0 -rss_limit_mb=2048 -artifact_prefix=$(B)/fuzz-check-$$t- fuzz/regressions/$$t fuzz/corpus/$$t > $(B)/fuzz_$$t.check.log 2>&1 \
	        || { tail -n 40 $(B)/fuzz_$$t.check.log; echo "fuzz_$$t: FAILED"; exit 1; }; \
	    grep -E '^#[0-9]+[[:space:]]+DONE' $(B)/fuzz_$$t.check.log | tail -n 1; \
	done

valgrind: $(VALGRIND_SUITES:%=$(B)/test_%)
	@failed=""; for t in $^; do \
	    echo "== valgrind $$t"; start=$$(date +%s); \
	    if $(VALGRIND) ./$$t; then \
	        echo "== $$t: clean under valgrind ($$(( $$(date +%s) - start )) s)"; \
	    else \
	        echo "== $$t: FAILED under valgrind ($$(( $$(date +%s) - start )) s)"; failed="$$failed $$t"; \
	    fi; \
	done; \
	if [ -n "$$failed" ]; then echo "valgrind: failed:$$failed"; exit 1; fi; \
	echo "valgrind: $(words $^) suites clean"
