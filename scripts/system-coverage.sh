#!/usr/bin/env bash
# The emu engine's system-architecture coverage table (docs/system-coverage.md),
# rendered from tests/guests/sys/coverage.tsv so it is generated, not hand-kept.
#
#   scripts/system-coverage.sh            print the markdown
#   scripts/system-coverage.sh --check    check the table's rows and test
#                                         references, and that the markdown
#                                         file is up to date; PASS:/FAIL: lines
#   scripts/system-coverage.sh --uncredited   list the check names ("prefix:
#                                         ...") of the ring-0 guests that no
#                                         row credits, to help update the rows
#
# coverage.tsv: one feature a line, five tab-separated fields
#   area  feature  state  tests  note
# state is tested, untested (implemented, no test), partial, missing or n/a;
# anything but tested needs a note saying why. tests is a ";"-separated list
# of references NAME: TEXT, NAME a test source (tests/guests/sys/NAME.c,
# tests/unit/NAME.c, tests/cpu/NAME.h, tests/cli/NAME.sh, tests/linux/NAME.sh)
# and TEXT a fixed string that must occur in it: a stable part of a check's
# name, so a renamed or removed check makes --check fail.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
tsv=$root/tests/guests/sys/coverage.tsv
doc=$root/docs/system-coverage.md

# One awk program: validate (mode=check: problems on stdout as FAIL: lines)
# or render (mode=render: the markdown).
run() {
    awk -F'\t' -v mode="$1" -v root="$root" -v tsv="tests/guests/sys/coverage.tsv" '
function fail(msg) { if (mode == "check") printf "FAIL: system coverage: %s\n", msg; bad++ }
function esc(s) { gsub(/\|/, "\\|", s); return s }
function trim(s) { sub(/^[ ]+/, "", s); sub(/[ ]+$/, "", s); return s }
# The file a reference names, or "" (none or ambiguous).
function source(name,    dirs, i, n, path, found, hits, line) {
    if (name in src_path)
        return src_path[name]
    split("tests/guests/sys/%.c tests/unit/%.c tests/cpu/%.h tests/cli/%.sh tests/linux/%.sh", dirs, " ")
    hits = 0
    for (i = 1; i in dirs; i++) {
        path = dirs[i]
        sub(/%/, name, path)
        if ((getline line < (root "/" path)) >= 0) {
            close(root "/" path)
            found = path
            hits++
        }
    }
    src_path[name] = hits == 1 ? found : ""
    return src_path[name]
}
function contents(path,    text, line) {
    if (path in src_text)
        return src_text[path]
    text = ""
    while ((getline line < (root "/" path)) > 0)
        text = text line "\n"
    close(root "/" path)
    src_text[path] = text
    return text
}
function check_ref(ref, where,    name, text, path, p) {
    p = index(ref, ": ")
    if (!p) { fail(where ": reference \"" ref "\" is not NAME: TEXT"); return }
    name = substr(ref, 1, p - 1)
    text = substr(ref, p + 2)
    if (name !~ /^[A-Za-z0-9_]+$/ || text == "") {
        fail(where ": reference \"" ref "\" is not NAME: TEXT")
        return
    }
    path = source(name)
    if (path == "") { fail(where ": no single test source named " name); return }
    if (!index(contents(path), text))
        fail(where ": " path " has no \"" text "\" (check renamed or removed?)")
    else if (name ~ /^sys_/)
        referenced[name] = 1
}
BEGIN {
    split("tested untested partial missing n/a", st, " ")
    for (i = 1; i in st; i++) states[st[i]] = i
    label["tested"] = "tested"; label["untested"] = "implemented, untested"
    label["partial"] = "partial"; label["missing"] = "not implemented"; label["n/a"] = "n/a"
}
/^#/ || /^[ \t]*$/ { next }
{
    where = tsv ":" NR
    if (NF != 5) { fail(where ": " NF " fields, expected 5 (area, feature, state, tests, note)"); next }
    area = $1; feat = $2; state = $3; refs = $4; note = $5
    if (!(state in states)) { fail(where ": state \"" state "\" is not one of tested untested partial missing n/a"); next }
    if (area == "" || feat == "") fail(where ": empty area or feature")
    if ((area SUBSEP feat) in seen) fail(where ": \"" area " / " feat "\" listed twice")
    seen[area, feat] = 1
    if (state == "tested" && refs == "") fail(where ": " feat ": tested, but no test named")
    if (state == "untested" && refs != "") fail(where ": " feat ": untested, but names a test")
    if (state != "tested" && note == "") fail(where ": " feat ": " state " needs a note saying why")
    n = split(refs, r, ";")
    shown = ""
    for (i = 1; i <= n; i++) {
        ref = trim(r[i])
        if (ref == "") continue
        check_ref(ref, where)
        shown = shown (shown == "" ? "" : "<br>") "`" esc(ref) "`"
    }
    if (!(area in area_rows)) { areas[++nareas] = area; area_rows[area] = "" }
    area_rows[area] = area_rows[area] "| " esc(feat) " | " label[state] " | " shown " | " esc(note) " |\n"
    count[area, state]++
    total[state]++
    rows++
}
END {
    if (mode == "check") {
        # Every ring-0 test guest is credited somewhere: a new guest needs rows.
        cmd = "cd \"" root "\" && ls tests/guests/sys/sys_*.c 2>/dev/null"
        while ((cmd | getline f) > 0) {
            sub(/^.*\//, "", f); sub(/\.c$/, "", f)
            if (!(f in referenced)) fail("tests/guests/sys/" f ".c is not named by any row of " tsv)
        }
        close(cmd)
        if (!rows) fail(tsv ": no rows")
        exit bad ? 1 : 0
    }
    print "# emu system-architecture coverage"
    print ""
    print "Generated from `" tsv "` by `scripts/system-coverage.sh`"
    print "(regenerate: `scripts/system-coverage.sh > docs/system-coverage.md`). The"
    print "suite fails (tests/cli/test_system_coverage.sh) when this file is stale or"
    print "a test named here no longer has the check it is credited with."
    print ""
    print "The ring-0 behaviour of the emu engine, row by row: **tested** names the"
    print "checks that exercise it (a ring-0 guest in tests/guests/sys, a unit test in"
    print "tests/unit, the form tables of the host-differential tester in tests/cpu, or a"
    print "script in tests/cli or tests/linux); **implemented, untested** and **partial**"
    print "say what is missing; **not implemented** says what a guest sees instead and"
    print "why. The Intel SDM is the reference (the CPU reports GenuineIntel);"
    print "\"issue 8 item N\" is the open conformance work."
    print ""
    printf "%d features: %d tested, %d implemented but untested, %d partial, %d not implemented, %d not applicable.\n", \
        rows, total["tested"], total["untested"], total["partial"], total["missing"], total["n/a"]
    print ""
    print "| area | tested | untested | partial | not implemented | n/a |"
    print "| --- | --- | --- | --- | --- | --- |"
    for (a = 1; a <= nareas; a++)
        printf "| %s | %d | %d | %d | %d | %d |\n", areas[a], count[areas[a], "tested"], \
            count[areas[a], "untested"], count[areas[a], "partial"], count[areas[a], "missing"], \
            count[areas[a], "n/a"]
    for (a = 1; a <= nareas; a++) {
        print ""
        print "## " areas[a]
        print ""
        print "| feature | state | tested by | note |"
        print "| --- | --- | --- | --- |"
        printf "%s", area_rows[areas[a]]
    }
}' "$tsv"
}

# Check-name literals ("word: ...") of tests/guests/sys/sys_*.c that contain
# no reference text of a row naming that guest.
uncredited() {
    (cd "$root" && awk -F'\t' '
FNR == NR {
    if ($0 ~ /^#/ || NF != 5) next
    n = split($4, r, ";")
    for (i = 1; i <= n; i++) {
        ref = r[i]; sub(/^[ ]+/, "", ref); sub(/[ ]+$/, "", ref)
        p = index(ref, ": ")
        if (p) refs[substr(ref, 1, p - 1)] = refs[substr(ref, 1, p - 1)] "\n" substr(ref, p + 2)
    }
    next
}
FNR == 1 { name = FILENAME; sub(/^.*\//, "", name); sub(/\.c$/, "", name) }
{
    line = $0
    while (match(line, /"[#a-zA-Z_0-9][^"\\]*: [^"\\]*"/)) {
        lit = substr(line, RSTART + 1, RLENGTH - 2)
        line = substr(line, RSTART + RLENGTH)
        credited = 0
        n = split(refs[name], t, "\n")
        for (i = 1; i <= n; i++)
            if (t[i] != "" && index(lit, t[i])) credited = 1
        if (!credited && !((name, lit) in shown)) {
            shown[name, lit] = 1
            print name ": " lit
        }
    }
}' tests/guests/sys/coverage.tsv tests/guests/sys/sys_*.c)
}

if [ "${1:-}" = "--uncredited" ]; then
    uncredited
    exit
fi
if [ "${1:-}" != "--check" ]; then
    run render
    exit
fi
out=$(run check); rc=$?
[ -n "$out" ] && printf '%s\n' "$out"
[ $rc = 0 ] && echo "PASS: system coverage: every row well formed and every test reference found"
if run render | cmp -s - "$doc"; then
    echo "PASS: system coverage: docs/system-coverage.md is up to date"
else
    echo "FAIL: system coverage: docs/system-coverage.md is stale (regenerate: scripts/system-coverage.sh > docs/system-coverage.md)"
    rc=1
fi
exit $rc
