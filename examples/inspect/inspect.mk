# inspect.mk - the inspector (examples/inspect.c and its parts in
# examples/inspect/) and its tests. Included from the Makefile, whose B, CC,
# WARN and CFLAGS it uses, after fuzz/fuzz.mk, whose VALGRIND it uses.
#
#   make build/safetensors-inspect   the inspector
#   make test-inspect                every option, on the bundled models, the
#                                    conformance corpus and tests/inspect/
#                                    fixtures (part of make test)
#   make valgrind-inspect            a few option combinations under valgrind
#                                    (part of make valgrind)

INSPECT_SRC := examples/inspect.c $(wildcard examples/inspect/*.c)

.PHONY: test-inspect valgrind-inspect

$(B)/safetensors-inspect: $(INSPECT_SRC) safetensors.h | $(B)
	$(CC) $(WARN) $(CFLAGS) -I. $< -o $@

# The cross and native builds in tests/platforms.mk compile examples/inspect.c
# alone; the parts it includes must rebuild them too.
$(B)/plat/safetensors-inspect $(B)/s390x/safetensors-inspect $(B)/win/safetensors-inspect.exe: $(INSPECT_SRC)

test-inspect: $(B)/safetensors-inspect $(B)/safetensors-convert
	sh tests/inspect/run.sh $(B)/safetensors-inspect $(B)/safetensors-convert $(B)/inspect-test

INSPECT_VG_RUNS := \
    "tests/models/tiny-gpt2/model.safetensors tests/models/tiny-llama-bf16-sharded" \
    "--json --stats --values 3 tests/models/tiny-gpt2/model.safetensors tests/models/tiny-llama-bf16-sharded" \
    "--tree --sort natural --filter *layers* tests/models/tiny-llama-bf16-sharded tests/conformance/files/torch_mixed.safetensors" \
    "--stats --values 9 tests/inspect/fixtures/special.safetensors tests/conformance/files/torch_dtype_f8e4m3.safetensors" \
    "--diff tests/models/tiny-gpt2/model.safetensors tests/models/tiny-llama-bf16-sharded" \
    "--check tests/conformance/files/edge_len_past_eof.safetensors tests/models/tiny-llama-bf16-sharded/config.json"
# Status 1 is the inspector's own (a refused file, a difference): valgrind's
# findings get 99.
valgrind-inspect: $(B)/safetensors-inspect
	@set -f; for args in $(INSPECT_VG_RUNS); do \
	    echo "== valgrind safetensors-inspect $$args"; \
	    $(VALGRIND) --error-exitcode=99 ./$(B)/safetensors-inspect $$args > /dev/null; \
	    rc=$$?; [ $$rc -le 1 ] || { echo "valgrind-inspect: exit status $$rc"; exit 1; }; \
	done
	@echo "== valgrind safetensors-inspect --json - < the tiny GPT-2"; \
	$(VALGRIND) ./$(B)/safetensors-inspect --json - < tests/models/tiny-gpt2/model.safetensors > /dev/null

valgrind: valgrind-inspect
