#!/bin/sh
# tally.sh - the counts behind the closing line of `make test`.
#
#   sh tests/tally.sh run DIR NAME CMD...
#       Runs one check, CMD, with its output (stdout and stderr) kept in
#       DIR/NAME.log and printed when CMD ends, so that checks that make runs
#       side by side do not mix their lines. Writes "PASSED FAILED" to
#       DIR/NAME.count, read from the output: cmocka's summary lines (the
#       shim in tests/cmocka_shim prints the same), else the last
#       "N passed, M failed" line, else one check that passed or failed by
#       CMD's exit status. A nonzero exit status is at least one failure
#       whatever the output says: a crash after the summary, or a check
#       that prints nothing, still fails. Exits with CMD's status.
#
#   sh tests/tally.sh sum DIR MAKE_STATUS NAME...
#       Adds up the counts of every NAME and every other DIR/*.count, and
#       prints "N passed, M failed" alone on the last line; exits 1 when
#       M > 0. A NAME without a count (its program did not build, say) is one
#       failure, and so is a nonzero MAKE_STATUS when nothing else failed.
set -u

count_output() {
    # $1: the log. Prints "PASSED FAILED", or nothing when the log has no counts.
    awk '
        /^\[==========\] [0-9]+ test\(s\) run\./ { cmocka = 1 }
        /^\[  PASSED  \] [0-9]+ test\(s\)\./ { passed = $4 }
        /^\[  FAILED  \] [0-9]+ test\(s\), listed below:/ { failed = $4 }
        /(^|[^0-9])[0-9]+ passed, [0-9]+ failed$/ { plain = $(NF - 3) " " $(NF - 1) }
        END {
            if (cmocka) print passed + 0, failed + 0
            else if (plain != "") print plain
        }' "$1"
}

case ${1:-} in
run)
    [ $# -ge 4 ] || { echo "usage: $0 run DIR NAME CMD..." >&2; exit 2; }
    dir=$2 name=$3
    shift 3
    mkdir -p "$dir"
    log=$dir/$name.log
    "$@" > "$log" 2>&1
    status=$?
    echo "== $name"
    cat "$log"
    counts=$(count_output "$log")
    if [ -z "$counts" ]; then
        if [ "$status" -eq 0 ]; then counts="1 0"; else counts="0 1"; fi
    fi
    passed=${counts% *} failed=${counts#* }
    if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
        echo "$name: exit status $status"
        failed=1
    fi
    echo "$passed $failed" > "$dir/$name.count"
    exit "$status"
    ;;
sum)
    [ $# -ge 3 ] || { echo "usage: $0 sum DIR MAKE_STATUS NAME..." >&2; exit 2; }
    dir=$2 make_status=$3
    shift 3
    passed=0 failed=0 failing=
    # the names make expects, then any other check that left a count
    for f in "$dir"/*.count; do
        [ -e "$f" ] || continue
        name=${f##*/}
        name=${name%.count}
        case " $* " in
        *" $name "*) ;;
        *) set -- "$@" "$name" ;;
        esac
    done
    for name in "$@"; do
        if [ -f "$dir/$name.count" ]; then
            read -r p f < "$dir/$name.count"
        else
            echo "$name: did not run"
            p=0 f=1
        fi
        passed=$((passed + p))
        failed=$((failed + f))
        [ "$f" -eq 0 ] || failing="$failing $name"
    done
    if [ "$make_status" -ne 0 ] && [ "$failed" -eq 0 ]; then
        echo "make stopped with status $make_status"
        failed=1
    fi
    [ -z "$failing" ] || echo "failed:$failing (output in $dir/NAME.log)"
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    ;;
*)
    echo "usage: $0 run DIR NAME CMD... | sum DIR MAKE_STATUS NAME..." >&2
    exit 2
    ;;
esac
