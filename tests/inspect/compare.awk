# compare.awk - checks `safetensors-inspect --json --stats --values 4` output
# against tests/inspect/reference.tsv (made by reference.py, independently of
# the inspector).
#
#   awk -f tests/inspect/compare.awk tests/inspect/reference.tsv OUTPUT.jsonl
#
# Counts, min, max and the values are compared exactly as text (both sides
# write floats in the fewest digits that read back the same); mean and std
# to 1e-9 of the data's scale (|mean| + std), as the inspector sums in
# double precision and the reference exactly. Prints each mismatch and a last line
# "compare: N tensors, M mismatches"; exits 1 on any mismatch, or when a
# tensor is on one side only.

function fail(msg) { print "compare: " msg; bad++ }

# The JSON string whose opening quote is at s[at]: decoded (\" \\ \/ \n \t;
# other escapes kept as written), and its end in `str_end`.
function json_str(s, at,    out, c, i) {
    out = ""
    for (i = at + 1; i <= length(s); i++) {
        c = substr(s, i, 1)
        if (c == "\"") { str_end = i; return out }
        if (c == "\\") {
            c = substr(s, ++i, 1)
            if (c == "n") c = "\n"
            else if (c == "t") c = "\t"
            else if (c != "\"" && c != "\\" && c != "/") c = "\\" c
        }
        out = out c
    }
    str_end = length(s)
    return out
}

# The value of "key": in a flat object or member list s: up to the next , or } (strings unquoted).
function member(s, key,    at, v) {
    at = index(s, "\"" key "\":")
    if (!at) return ""
    v = substr(s, at + length(key) + 3)
    sub(/[,}].*$/, "", v)
    gsub(/"/, "", v)
    return v
}

function abs(x) { return x < 0 ? -x : x }

function near(a, b, scale) { return a != "-" && b != "-" && abs(a - b) <= 1e-9 * scale }

BEGIN { split("min max mean std nan inf zero", label, " ") }

FNR == NR {
    split($0, f, "\t")
    key = f[1] SUBSEP f[2]
    ref[key] = $0
    nref++
    next
}

{
    file = json_str($0, index($0, "\"file\":\"") + 7)
    rest = $0
    while ((at = index(rest, "{\"name\":\"")) > 0) {
        name = json_str(rest, at + 8)
        rest = substr(rest, str_end + 1)
        fields = rest
        nxt = index(fields, "{\"name\":\"")
        if (nxt) fields = substr(fields, 1, nxt - 1)
        key = file SUBSEP name
        seen++
        if (!(key in ref)) { fail(file ": " name ": not in the reference"); continue }
        split(ref[key], r, "\t")
        delete ref[key]
        dtype = member(fields, "dtype")
        if (dtype != r[3]) fail(file ": " name ": dtype " dtype ", reference " r[3])

        # the stats: min max mean std nan inf zero, "-" for null
        if (index(fields, "\"stats\":null")) {
            for (k = 1; k <= 7; k++) got[k] = "-"
        } else {
            got[1] = member(fields, "min"); got[2] = member(fields, "max")
            got[3] = member(fields, "mean"); got[4] = member(fields, "std")
            got[5] = member(fields, "nan"); got[6] = member(fields, "inf"); got[7] = member(fields, "zero")
            for (k = 1; k <= 4; k++) if (got[k] == "null") got[k] = "-"
        }
        for (k = 5; k <= 7; k++)
            if (got[k] != r[k + 3]) fail(file ": " name ": " label[k] " " got[k] ", reference " r[k + 3])
        for (k = 1; k <= 2; k++)
            if (got[k] != r[k + 3]) fail(file ": " name ": " label[k] " " got[k] ", reference " r[k + 3])
        scale = r[6] == "-" ? 0 : abs(r[6]) + r[7]
        if (!(got[3] == "-" && r[6] == "-") && !near(got[3], r[6], scale))
            fail(file ": " name ": mean " got[3] ", reference " r[6])
        if (!(got[4] == "-" && r[7] == "-") && !near(got[4], r[7], scale))
            fail(file ": " name ": std " got[4] ", reference " r[7])

        # the values: [a,b,...] -> a,b,... ("-" for null or none)
        values = "-"
        if ((v = index(fields, "\"values\":[")) > 0) {
            values = substr(fields, v + 10)
            sub(/\].*$/, "", values)
            gsub(/"/, "", values)
            if (values == "") values = "-"
        }
        if (values != r[11]) fail(file ": " name ": values " values ", reference " r[11])
    }
}

END {
    for (key in ref) {
        split(key, k2, SUBSEP)
        fail(k2[1] ": " k2[2] ": in the reference, not in the output")
    }
    print "compare: " seen " tensors, " bad + 0 " mismatches"
    exit bad > 0
}
