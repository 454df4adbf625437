#!/bin/bash
# node.sh - the operator's commands of mixnode: init, keys, publish, check
# and stats, as the node's own user (tests/lib.sh).
#
# init: creates the configuration when missing, the spool with mode 0700,
# the keys; says what it created; a second run creates nothing. keys:
# lists, rotates across simulated months (MIXNODE_TEST_NOW), retires keys
# with their replay caches. publish: the descriptor lists the keys senders
# may use. check: silent on a good node, names each problem on a bad one
# and moves a damaged pool entry to corrupt/.
. "${top_srcdir:-.}/tests/lib.sh"

DAY=86400
NOW=1800000000			# 2027-01-15, a fixed start for the key windows
mn() { as_user env "MIXNODE_TEST_NOW=${AT:-$NOW}" "$T/bin/mixnode" -c "$CF" "$@"; }

# --- init ----------------------------------------------------------------------
as_user mkdir "$T/a" || hard "mkdir"
CF=$T/a/mixnode.conf
mn init >"$T/out" 2>&1
expect_eq "init without a configuration file: refuses the default spool" "$?" 78
grep -q "^created $CF" "$T/out" || not_ok "init did not create the configuration file"
[ -f "$CF" ] && ok "init wrote a commented default configuration" ||
	not_ok "no configuration file"
grep -q "^#spool_dir = /var/spool/mixnode$" "$CF" && ok "the default file shows the defaults" ||
	not_ok "the default file lacks the commented defaults"

printf 'name = a\naddress = a@mix-a.test\nspool_dir = %s\nreplay_capacity = 5000\n' \
    "$T/a/spool" | as_user sh -c "cat > '$CF'"
mn init >"$T/out" 2>&1
expect_eq "init" "$?" 0
for w in "created $T/a/spool" "created $T/a/spool/pool" "created the identity key" \
    "created the names secret" "created 1 mix key" "created 1 replay cache" \
    "node a is initialised"; do
	grep -q "^$w" "$T/out" && ok "init says: $w" || { not_ok "init did not say: $w"; cat "$T/out"; }
done
for d in "" /tmp /pool /out /failed /corrupt /keys /replay; do
	m=$(stat -c %a "$T/a/spool$d")
	expect_eq "mode of spool$d" "$m" 700
done
for f in "$T"/a/spool/keys/*; do
	expect_eq "mode of keys/$(basename "$f")" "$(stat -c %a "$f")" 600
done
before=$(cd "$T/a/spool" && find . | sort | md5sum)
mn init >"$T/out" 2>&1
expect_eq "init again" "$?" 0
grep -q "^created" "$T/out" && not_ok "init again created: $(grep '^created' "$T/out")" ||
	ok "init again creates nothing"
after=$(cd "$T/a/spool" && find . | sort | md5sum)
expect_eq "init again changes no file name" "$after" "$before"

# --- publish and check on a good node ------------------------------------------
mn publish >"$T/desc" 2>"$T/err"
expect_eq "publish" "$?" 0
cmp -s "$T/desc" "$T/a/spool/descriptor" && ok "publish prints what it wrote" ||
	not_ok "publish output differs from spool/descriptor"
grep -q "^mixmail-descriptor 1$" "$T/desc" && ok "descriptor header" || not_ok "descriptor header"
expect_eq "descriptor lists one key" "$(grep -c '^mix-key ' "$T/desc")" 1
grep -q "^capabilities middleman" "$T/desc" && ok "a node with exit = no is a middleman" ||
	not_ok "capabilities: $(grep '^capabilities' "$T/desc")"
grep -q "^mixing binomial$" "$T/desc" && ok "the default mixing strategy is published" ||
	not_ok "mixing line: $(grep '^mixing' "$T/desc")"
mn check >"$T/out" 2>&1
expect_eq "check on a good node" "$?" 0
grep -q "^no problems found$" "$T/out" && ok "check says so" || { not_ok "check output"; cat "$T/out"; }

# --- keys across simulated time ------------------------------------------------
mn keys >"$T/out" 2>&1
expect_eq "keys" "$?" 0
expect_eq "one mix key, active" "$(grep -c '^mix .* active ' "$T/out")" 1
K1=$(awk '/^mix /{print $2; exit}' "$T/out")
[ -f "$T/a/spool/replay/$K1.rpl" ] && ok "the key's replay cache exists" ||
	not_ok "no replay cache for $K1"

AT=$((NOW + 24 * DAY)) mn keys >"$T/out" 2>&1	# 6 days before expiry: successor
expect_eq "keys at day 24" "$?" 0
grep -q "^created 1 mix key" "$T/out" && ok "day 24: a successor is made" ||
	{ not_ok "day 24: no successor"; cat "$T/out"; }
expect_eq "day 24: one published key" "$(grep -c '^mix .* published ' "$T/out")" 1
AT=$((NOW + 24 * DAY)) mn publish >"$T/desc" 2>&1
expect_eq "day 24: the descriptor lists both keys" "$(grep -c '^mix-key ' "$T/desc")" 2
AT=$((NOW + 24 * DAY)) mn check >"$T/out" 2>&1
expect_eq "check at day 24" "$?" 0

# A packet for the first key, made now, still opens during its grace...
AT=$NOW mn publish >"$T/desc0" 2>/dev/null
mkpacket -n "$NOW" "$T/desc0" >"$T/p1.eml" 2>"$T/err" || { not_ok "mkpacket"; cat "$T/err"; }
mkpacket -n "$NOW" "$T/desc0" >"$T/p2.eml" 2>"$T/err" || { not_ok "mkpacket"; cat "$T/err"; }
as_user env MIXNODE_TEST_NOW=$((NOW + 33 * DAY)) "$T/bin/mixnode" -c "$CF" receive <"$T/p1.eml" 2>/dev/null
expect_eq "day 33 (grace): a packet for the old key is committed" "$?" 0
expect_eq "day 33: in the pool" "$(ls "$T/a/spool/pool" | wc -l)" 1
# ...and is dropped once the grace has ended, key retired or not.
AT=$((NOW + 38 * DAY)) mn keys >"$T/out" 2>&1
expect_eq "keys at day 38" "$?" 0
grep -q "^retired 1 mix key" "$T/out" && ok "day 38: the first key is retired" ||
	{ not_ok "day 38: no retirement"; cat "$T/out"; }
[ -e "$T/a/spool/replay/$K1.rpl" ] && not_ok "the retired key's replay cache is still there" ||
	ok "the retired key's replay cache is deleted"
ls "$T/a/spool/keys" | grep -q "$K1" && not_ok "the retired key's file is still there" ||
	ok "the retired key's file is deleted"
as_user env MIXNODE_TEST_NOW=$((NOW + 38 * DAY)) "$T/bin/mixnode" -c "$CF" receive <"$T/p2.eml" 2>/dev/null
expect_eq "day 38: a packet for the retired key: exit 0 (dropped)" "$?" 0
expect_eq "day 38: dropped as drop_key" \
    "$(AT=$((NOW + 38 * DAY)) mn stats | awk '$1 == "drop_key" {print $2}')" 1

# Long downtime: at day 400 no key is valid; keys makes a fresh one.
AT=$((NOW + 400 * DAY)) mn check >"$T/out" 2>&1
expect_eq "check after a year without rotation finds problems" "$?" 1
grep -q "no mix key is valid now" "$T/out" && ok "check names the missing key" ||
	{ not_ok "check output"; cat "$T/out"; }
AT=$((NOW + 400 * DAY)) mn keys >"$T/out" 2>&1
expect_eq "keys after a year" "$?" 0
expect_eq "after a year: one active key" "$(grep -c '^mix .* active ' "$T/out")" 1
AT=$((NOW + 400 * DAY)) mn publish >/dev/null 2>&1
AT=$((NOW + 400 * DAY)) mn check >"$T/out" 2>&1
expect_eq "check after the rotation" "$?" 0

# --- check finds problems ------------------------------------------------------
AT=$((NOW + 400 * DAY))
as_user chmod 0755 "$T/a/spool/pool"
mn check >"$T/out" 2>&1
expect_eq "check with pool/ at mode 0755" "$?" 1
grep -q "pool: mode 755, must be 0700" "$T/out" && ok "check names the mode" ||
	{ not_ok "check output"; cat "$T/out"; }
as_user chmod 0700 "$T/a/spool/pool"
# A damaged pool entry is moved to corrupt/, not deleted
e=$(ls "$T/a/spool/pool" | head -1)
as_user sh -c "printf 'X' | dd of='$T/a/spool/pool/$e' bs=1 seek=100 conv=notrunc 2>/dev/null"
mn check >"$T/out" 2>&1
expect_eq "check with a damaged entry" "$?" 1
grep -q "1 damaged pool entry moved to corrupt/" "$T/out" && ok "check reports the entry" ||
	{ not_ok "check output"; cat "$T/out"; }
expect_eq "the entry is in corrupt/" "$(ls "$T/a/spool/corrupt" | wc -l)" 1
expect_eq "and not in pool/" "$(ls "$T/a/spool/pool" | wc -l)" 0
mn check >"$T/out" 2>&1
expect_eq "check afterwards" "$?" 0
mv "$T/bin/mixnode-mime" "$T/bin/mixnode-mime.away"
mn check >"$T/out" 2>&1
expect_eq "check without the MIME helper" "$?" 1
grep -q "mixnode-mime: No such file" "$T/out" && ok "check names the MIME helper" ||
	{ not_ok "check output"; cat "$T/out"; }
mv "$T/bin/mixnode-mime.away" "$T/bin/mixnode-mime"
as_user chmod 0644 "$T"/a/spool/keys/identity.key
mn check >"$T/out" 2>&1
expect_eq "check with a key file open to others" "$?" 1
grep -q "identity.key" "$T/out" && ok "check names the key file" ||
	{ not_ok "check output"; cat "$T/out"; }
as_user chmod 0600 "$T"/a/spool/keys/identity.key

# --- refusals ------------------------------------------------------------------
mn init extra >"$T/out" 2>&1
expect_eq "init with an argument: usage" "$?" 64
printf 'name = a\nspool_dir = %s\n' "$T/a/open" | as_user sh -c "cat > '$T/a/open.conf'"
as_user mkdir -m 0755 "$T/a/open"
as_user "$T/bin/mixnode" -c "$T/a/open.conf" init >"$T/out" 2>&1
expect_eq "init on a spool open to others" "$?" 78
grep -q "mode 755, must be 0700" "$T/out" && ok "init names the mode" ||
	{ not_ok "init output"; cat "$T/out"; }
printf 'name = a\nbogus = 1\n' | as_user sh -c "cat > '$T/a/bad.conf'"
as_user "$T/bin/mixnode" -c "$T/a/bad.conf" check >"$T/out" 2>&1
expect_eq "check with an unknown setting" "$?" 78
grep -q "bad.conf:2: " "$T/out" && ok "the error names file and line" ||
	{ not_ok "error text"; cat "$T/out"; }
printf 'key_lifetime = 1d\nkey_publish_ahead = 30d\n' | as_user sh -c "cat > '$T/a/keys.conf'"
as_user "$T/bin/mixnode" -c "$T/a/keys.conf" keys >"$T/out" 2>&1
expect_eq "keys with a policy needing more than 16 keys" "$?" 78
grep -q "setting key_lifetime: too short" "$T/out" && ok "the error names key_lifetime" ||
	{ not_ok "error text"; cat "$T/out"; }
mn stats >"$T/out" 2>&1
expect_eq "stats" "$?" 0
expect_eq "stats prints every counter" "$(wc -l <"$T/out")" 39
# The reports (doc/stats-format.md) at day 38, where one drop_key was counted
AT=$((NOW + 38 * DAY)) mn stats --report >"$T/report" 2>&1
expect_eq "stats --report" "$?" 0
H=$(date -u -d "@$((NOW + 38 * DAY))" '+%Y-%m-%d %H'):00
grep -q "^report time:  $H UTC$" "$T/report" && ok "the report is dated to the hour" ||
	{ not_ok "stats --report: no report time line for $H"; head -5 "$T/report"; }
expect_eq "the report has 24 hour rows" "$(grep -Ec '^  [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:00 ' "$T/report")" 24
expect_eq "the report has 80 day rows" "$(grep -Ec '^  [0-9]{4}-[0-9]{2}-[0-9]{2}  ' "$T/report")" 80
expect_eq "the current hour shows the drop" \
    "$(grep -E "^  $H " "$T/report" | awk '{ print $6 }')" 1
AT=$((NOW + 38 * DAY)) mn stats --json >"$T/json" 2>&1
expect_eq "stats --json" "$?" 0
grep -q '"drop_key": 1[,}]' "$T/json" && ok "the JSON totals show the drop" ||
	{ not_ok "stats --json: drop_key"; head -5 "$T/json"; }
grep -q "\"generated\": \"$(date -u -d "@$((NOW + 38 * DAY))" '+%Y-%m-%dT%H'):00:00Z\"" "$T/json" &&
	ok "the JSON is dated to the hour" || not_ok "stats --json: generated"
mn stats --bogus >/dev/null 2>&1
expect_eq "stats with an unknown option" "$?" 64
mn stats --json x >/dev/null 2>&1
expect_eq "stats with two arguments" "$?" 64
# --- nodes: the other nodes this node knows -------------------------------------
RT=$(date +%s)	# the other nodes' keys run on the real clock
if node_make nb && node_make nc; then
	AT=$RT mn nodes import "$(node_desc nb)" "$(node_desc nc)" >"$T/out" 2>&1
	expect_eq "nodes import of two descriptors" "$?" 0
	expect_eq "both are new" "$(grep -c ': node n[bc] new$' "$T/out")" 2
	AT=$RT mn nodes import "$(node_desc nb)" >"$T/out" 2>&1
	expect_eq "nodes import again" "$?" 0
	grep -q "node nb unchanged" "$T/out" && ok "the same descriptor again changes nothing" ||
		{ not_ok "import again"; cat "$T/out"; }
	sed 's/^name nb$/name nx/' "$(node_desc nb)" | as_user sh -c "cat > '$T/forged.desc'"
	AT=$RT mn nodes import "$T/forged.desc" >"$T/out" 2>&1
	expect_eq "nodes import of an altered descriptor" "$?" 1
	AT=$RT mn nodes import /nonexistent/x.desc >"$T/out" 2>&1
	expect_eq "nodes import of a missing file" "$?" 1
	AT=$((RT + 400 * DAY)) mn nodes import "$(node_desc nc)" >"$T/out" 2>&1
	expect_eq "nodes import when every key has expired" "$?" 1
	AT=$RT mn nodes list >"$T/out" 2>&1
	expect_eq "nodes list" "$?" 0
	expect_eq "nodes list: two nodes" "$(head -1 "$T/out")" "2 nodes known"
	grep -q "^nb  *$(node_addr nb) middleman binomial " "$T/out" && ok "nodes list shows nb" ||
		{ not_ok "nodes list"; cat "$T/out"; }
	expect_eq "the node directory's mode" "$(stat -c %a "$T/a/spool/nodes")" 700
	AT=$RT mn nodes forget nc >"$T/out" 2>&1
	expect_eq "nodes forget" "$?" 0
	AT=$RT mn nodes forget nc >"$T/out" 2>&1
	expect_eq "nodes forget of an unknown node" "$?" 1
	AT=$RT mn nodes >"$T/out" 2>&1
	expect_eq "nodes after forget" "$(head -1 "$T/out")" "1 node known"
	mn nodes frob >/dev/null 2>&1
	expect_eq "nodes with an unknown subcommand" "$?" 64
	mn nodes import >/dev/null 2>&1
	expect_eq "nodes import without a file" "$?" 64
fi
finish
