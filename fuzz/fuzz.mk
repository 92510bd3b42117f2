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

.PHONY: fuzz fuzz-run fuzz-replay fuzz-check valgrind

$(B)/fuzz_%: fuzz/fuzz_%.c safetensors.h | $(B)
	$(FUZZ_CC) $(WARN) $(FUZZ_FLAGS) -I. $< -o $@

$(B)/replay_%: fuzz/fuzz_%.c fuzz/fuzz_main.c safetensors.h | $(B)
	$(CC) $(WARN) -O1 -g $(FUZZ_REPLAY_FLAGS) -I. $< fuzz/fuzz_main.c -o $@

fuzz: $(FUZZ_TARGETS:%=$(B)/fuzz_%)

fuzz-run: fuzz
	@set -e; for t in $(FUZZ_TARGETS); do \
	    dir=$(B)/fuzz-run/$$t; rm -rf $$dir; mkdir -p $$dir/corpus; \
	    cp fuzz/corpus/$$t/* $$dir/corpus/; \
	    if [ -d fuzz/regressions/$$t ]; then cp fuzz/regressions/$$t/* $$dir/corpus/ 2>/dev/null || true; fi; \
	    echo "== fuzz_$$t for $(FUZZ_SECONDS) s"; \
	    if ./$(B)/fuzz_$$t $(FUZZ_OPTIONS) -max_total_time=$(FUZZ_SECONDS) \
	        -artifact_prefix=$(B)/fuzz-run/$$t- $$dir/corpus > $$dir/log 2>&1; then \
	        grep -E '^(Done|stat::new_units_added|stat::peak_rss_mb)' $$dir/log || true; \
	    else \
	        tail -n 60 $$dir/log; echo "fuzz_$$t: FINDING, see $(B)/fuzz-run/$$t-* and $$dir/log"; exit 1; \
	    fi; \
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
