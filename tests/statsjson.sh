#!/bin/bash
# statsjson.sh - `mixnode stats --json` (and the stats.json `mixnode
# publish --out` writes) conform to the schema of doc/stats-format.md,
# section 4, read with a real JSON parser (jq), for a node with traffic.
#
# The list of counters is taken from the document itself (section 4.1), so
# the document, the JSON and `mixnode stats` must name the same counters
# in the same order. Checked: the top-level keys and their order and
# types; version 1; generated is the start of the hour; 24 hour rows and
# 80 day rows, each starting with `start`, each start an RFC 3339 UTC time
# at the start of its hour (day), consecutive, row 0 the current one; every
# counter a non-negative integer; the totals equal `mixnode stats`; the
# rows add up to the traffic the test made; the file publish writes is
# the same document.
. "${top_srcdir:-.}/tests/lib.sh"

command -v jq >/dev/null 2>&1 || skip "jq is missing (scripts/quickstart test installs it)"

DOC=$S/doc/stats-format.md
DAY=86400
NOW=$(( $(date +%s) + 120 ))	# after the keys init makes, usually inside an hour
md() { echo "$T/$1/md"; }
mn() { as_user env "MIXNODE_TEST_NOW=${AT:-$NOW}" "$T/bin/mixnode" -c "$(node_conf "$1")" "${@:2}"; }

# The counters of section 4.1: the backquoted names between its heading
# and the paragraph after the list
sed -n '/^### 4\.1 Counters/,/^The last eight/p' "$DOC" | grep -o '`[a-z_]*`' | tr -d '`' \
    >"$T/doc.counters"
n=$(wc -l <"$T/doc.counters")
[ "$n" -gt 30 ] || hard "could not read the counters from $DOC (got $n)"
grep -q "all $n counters" "$DOC" && ok "doc/stats-format.md lists the $n counters it says it has" ||
	not_ok "doc/stats-format.md: the list has $n counters, the text says otherwise"
COUNTERS=$(jq -R . "$T/doc.counters" | jq -s -c .)

as_user mkdir -p "$(md a)/new" "$(md a)/cur" "$(md a)/tmp" "$T/www" || hard "mkdir"
node_make a "exit = yes" "mixing = threshold" "mix_threshold = 1" "dummy_per_round = 0" \
    "dummy_per_inbound_permille = 0" "relay = maildir:$(md a)" || finish
DA=$(node_desc a)

# Traffic in the current hour: three messages delivered, one replayed,
# one mail without a packet
printf '\001\001To: dest@sink.test\nSubject: s\n\nbody\n' >"$T/body"
chmod 0644 "$T/body"
for i in 1 2 3; do
	mkpacket -n "$NOW" -B "$T/body" "$DA" >"$T/p$i" 2>"$T/p$i.err" || { not_ok "mkpacket"; cat "$T/p$i.err"; }
	receive a "$T/p$i" "MIXNODE_TEST_NOW=$NOW"
	expect_eq "packet $i committed" "$RC" 0
done
receive a "$T/p1" "MIXNODE_TEST_NOW=$NOW"
printf 'To: a@mix-a.test\nSubject: hello\n\nno packet here\n' >"$T/junk"
receive a "$T/junk" "MIXNODE_TEST_NOW=$NOW"
mn a flush >"$T/flush.out" 2>&1
expect_eq "flush" "$?" 0
expect_eq "three mails delivered" "$(ls "$(md a)/new" | wc -l)" 3

# check_doc FILE WHEN DESC: FILE is a stats document generated at WHEN
check_doc() {
	local f=$1 when=$2 desc=$3 hour day
	hour=$(date -u -d "@$((when / 3600 * 3600))" +%Y-%m-%dT%H:%M:%SZ)
	day=$(date -u -d "@$((when / DAY * DAY))" +%Y-%m-%dT%H:%M:%SZ)
	if ! jq -e . "$f" >/dev/null 2>&1; then
		not_ok "$desc: not JSON"
		head -c 300 "$f"
		return
	fi
	ok "$desc: parses as JSON"
	expect_eq "$desc: top-level keys, in order" "$(jq -c 'keys_unsorted' "$f")" \
	    '["version","node","generated","mixing","exit","totals","hours","days"]'
	expect_eq "$desc: version, node, generated, mixing, exit" \
	    "$(jq -c '[.version, .node, .generated, .mixing, .exit]' "$f")" \
	    "[1,\"a\",\"$hour\",\"threshold\",true]"
	expect_eq "$desc: types" \
	    "$(jq -c '[(.version|type), (.node|type), (.generated|type), (.mixing|type), (.exit|type), (.totals|type), (.hours|type), (.days|type)]' "$f")" \
	    '["number","string","string","string","boolean","object","array","array"]'
	expect_eq "$desc: the totals are the counters of section 4.1, in order" \
	    "$(jq -c '.totals | keys_unsorted' "$f")" "$COUNTERS"
	expect_eq "$desc: 24 hour rows, 80 day rows" "$(jq -c '[(.hours|length), (.days|length)]' "$f")" "[24,80]"
	expect_eq "$desc: every row is start and the counters, in order" \
	    "$(jq -c --argjson c "$COUNTERS" '[(.hours + .days)[] | select(keys_unsorted != ["start"] + $c)] | length' "$f")" 0
	expect_eq "$desc: every counter a non-negative integer" \
	    "$(jq -c '[.totals, (.hours + .days)[] | to_entries[] | select(.key != "start") | .value |
	        select(type != "number" or . < 0 or . != floor)] | length' "$f")" 0
	expect_eq "$desc: hour rows start at the hour, consecutive, row 0 now" \
	    "$(jq -c '[.hours | to_entries[] | select((.value.start | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:00:00Z$") | not)
	        or (.value.start | fromdateiso8601) != ($h | fromdateiso8601) - 3600 * .key)] | length' \
	        --arg h "$hour" "$f" 2>&1)" 0
	expect_eq "$desc: day rows start at midnight, consecutive, row 0 today" \
	    "$(jq -c '[.days | to_entries[] | select((.value.start | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T00:00:00Z$") | not)
	        or (.value.start | fromdateiso8601) != ($d | fromdateiso8601) - 86400 * .key)] | length' \
	        --arg d "$day" "$f" 2>&1)" 0
	# the totals are what `mixnode stats` says
	AT=$when mn a stats 2>/dev/null | awk '{ print $1 "=" $2 }' | LC_ALL=C sort >"$T/plain"
	jq -r '.totals | to_entries[] | "\(.key)=\(.value)"' "$f" | LC_ALL=C sort >"$T/jtotals"
	if cmp -s "$T/plain" "$T/jtotals"; then
		ok "$desc: the totals equal mixnode stats"
	else
		not_ok "$desc: the totals differ from mixnode stats"
		diff "$T/plain" "$T/jtotals" | head -5
	fi
}

mn a stats --json >"$T/now.json" 2>"$T/err"
expect_eq "stats --json" "$?" 0
check_doc "$T/now.json" "$NOW" "stats --json, this hour"
expect_eq "this hour's row holds the traffic (in_deliver, out_deliver, drop_replay, drop_nopacket)" \
    "$(jq -c '.hours[0] | [.in_deliver, .out_deliver, .drop_replay, .drop_nopacket]' "$T/now.json")" "[3,3,1,1]"
expect_eq "the sums over the hour rows and the day rows are the totals" \
    "$(jq -c '[([.hours[].in_deliver] | add), ([.days[].in_deliver] | add), .totals.in_deliver]' "$T/now.json")" "[3,3,3]"

# Three days and two hours on: the traffic is in day row 3, no hour row
AT=$((NOW + 3 * DAY + 7200))
mn a stats --json >"$T/later.json" 2>"$T/err"
expect_eq "stats --json three days on" "$?" 0
check_doc "$T/later.json" "$AT" "stats --json, three days on"
d=$(( AT / DAY - NOW / DAY ))
expect_eq "the traffic is in day row $d only, in no hour row" \
    "$(jq -c --argjson d "$d" '[.days[$d].in_deliver, ([.hours[].in_deliver] | add), ([.days[].in_deliver] | add)]' "$T/later.json")" \
    "[3,0,3]"

# What publish --out writes is the same document
mn a publish --out "$T/www" >/dev/null 2>"$T/err"
expect_eq "publish --out" "$?" 0
if cmp -s "$T/www/stats.json" "$T/later.json"; then
	ok "publish --out writes the same stats.json"
else
	not_ok "publish --out: stats.json differs from stats --json"
fi
unset AT
finish
