# multilink's adaptive balancing, on the router (POSIX awk: BusyBox, mawk, gawk).
# Three jobs, chosen with -v mode=:
#
# mode=weights: learn. Input lines
#     param step S          the largest factor one update may move a weight by (e.g. 1.5)
#     param alpha A         how fast a capacity estimate follows a new measurement (0..1)
#     param idle B          bytes/s below which a link is idle this period
#     link K weight W cap C healthy 0|1 rate BYTES_PER_S conns N
# Each busy link's capacity is estimated from the period: a link whose connections overlap
# (N >= 1 on average) is full, so its rate is its capacity; one that is busy less than that
# carries what its connections ask, and a lone connection gets the whole link, so its rate
# per connection is its capacity (N is sampled: it counts with a floor of a quarter). The
# estimate C follows these by A (EWMA), except a fall seen with fewer than two connections
# at once (a link part idle, not a slower one), which moves it by A/4; idle and down links
# keep theirs. In a proportional allocation every link's active connections get the same
# throughput each, which is weights in proportion to capacity: each weight moves towards
# its link's share of the estimated capacity, by at most a factor S per update; links not
# measured yet keep their weight. Output: `weight K W cap C` per link, weights scaled to sum 1 over all links.
#
# mode=conns: count the connections that can carry a link's bulk traffic, from conntrack's
# table (/proc/net/nf_conntrack or `conntrack -L` lines) and -v step=S -v room=R (link k is
# marked k × S; R, the mask's top value, is the pickup pin): TCP while established (a finished download
# waiting in TIME_WAIT carries nothing) and UDP once assured (a stream such as QUIC, not a
# lone DNS query); not ICMP (the monitor's own probes stay 30 s in the table). Output:
# `K COUNT` per link with any.
#
# mode=chain: the balancing chain for the links in force. Input lines
#     chain NAME            guard MATCH...          scale N
#     link K tier T min MIN max MAX      link K weight W healthy 0|1
#     setmark K TARGET...
# Links in force: healthy with weight > 0, of the lowest such tier (none healthy: those of the
# lowest tier anyway, rather than black-holing traffic, as the precompiled chains do). Their
# shares are bounded by min and max (fractions), then turned into whole weights summing to
# about N and a random cascade: link i is taken with
# probability w_i / (w_i + ... + w_n), printed as iptables-save prints it (lround(p * 2^31)
# / 2^31 with %.11f), the last link without a statistic match.

mode == "conns" {
  # /proc/net/nf_conntrack's lines start `ipv4 2 tcp 6 …`, conntrack -L's `tcp 6 …`.
  proto = ($1 == "ipv4" || $1 == "ipv6") ? $3 : $1
  if (proto == "tcp") { if (!/ ESTABLISHED /) next }
  else if (proto != "udp" || !/\[ASSURED\]/) next
  for (i = 1; i <= NF; i++) if ($i ~ /^mark=/) {
    k = int(substr($i, 6) / step) % (room + 1)
    if (k > 0 && k < room) conns[k]++
  }
  next
}
$1 == "param" { param[$2] = $3 + 0; next }
$1 == "chain" { chain = $2; next }
$1 == "scale" { scale = $2 + 0; next }
$1 == "guard" { sub(/^guard /, ""); guard = $0; next }
$1 == "setmark" { k = $2; sub(/^setmark [^ ]+ /, ""); target[k] = $0; next }
$1 == "link" {
  k = $2
  # A link may come in several lines (fixed fields, then the measured ones).
  if (!(k in seen)) { seen[k] = 1; n++; order[n] = k }
  for (i = 3; i < NF; i += 2) field[k, $i] = $(i + 1)
  next
}

function clamp(x, lo, hi) { return x < lo ? lo : (x > hi ? hi : x) }

function learn(   i, k, nc, est, total, known, knownW, f) {
  known = 0; knownW = 0
  for (i = 1; i <= n; i++) {
    k = order[i]
    cap[k] = field[k, "cap"] + 0
    if (field[k, "healthy"] == 1 && field[k, "rate"] >= param["idle"]) {
      nc = field[k, "conns"] + 0
      if (nc < 0.25) nc = 0.25
      est = field[k, "rate"] / (nc < 1 ? nc : 1)
      # A measurement is a lower bound of what the link can carry unless its connections
      # queue: short downloads in slow start leave a fast link part idle even with one or two
      # open. So a rise is believed by alpha, and so is a fall seen with two connections or
      # more at once (a link that slowed, its connections piling up: trusted less at once);
      # a fall seen with fewer moves the estimate by alpha / 4 only.
      f = est >= cap[k] || nc >= 2 ? param["alpha"] : param["alpha"] / 4
      cap[k] = cap[k] > 0 ? cap[k] + f * (est - cap[k]) : est
    }
    if (cap[k] > 0) { known += cap[k]; knownW += field[k, "weight"] }
  }
  total = 0
  for (i = 1; i <= n; i++) {
    k = order[i]
    w[k] = field[k, "weight"] + 0
    if (cap[k] > 0 && known > 0 && w[k] > 0) {
      f = (cap[k] / known * knownW) / w[k]
      w[k] = w[k] * clamp(f, 1 / param["step"], param["step"])
    } else if (cap[k] > 0 && known > 0) {
      w[k] = cap[k] / known * knownW / param["step"]
    }
    total += w[k]
  }
  for (i = 1; i <= n; i++) {
    k = order[i]
    printf "weight %s %.6f cap %.0f\n", k, (total > 0 ? w[k] / total : 1 / n), cap[k]
  }
}

function lowestTier(healthyOnly,   i, k, best) {
  best = ""
  for (i = 1; i <= n; i++) {
    k = order[i]
    if ((!healthyOnly || field[k, "healthy"] == 1) && field[k, "weight"] > 0 && (best == "" || field[k, "tier"] + 0 < best + 0)) best = field[k, "tier"]
  }
  return best
}

function inForce(   i, k, best, all) {
  best = lowestTier(1)
  all = best == ""
  if (all) best = lowestTier(0)
  m = 0
  for (i = 1; i <= n; i++) {
    k = order[i]
    if ((all || field[k, "healthy"] == 1) && field[k, "weight"] > 0 && field[k, "tier"] == best) { m++; use[m] = k }
  }
}

# Shares within [min, max], summing to 1: clamp, then spread the rest over the links not
# clamped, in proportion, until nothing moves (at most m rounds).
function bound(   i, k, round, fixed, free, rest, moved) {
  free = 0
  for (i = 1; i <= m; i++) { k = use[i]; share[k] = field[k, "weight"]; free += share[k] }
  for (i = 1; i <= m; i++) { k = use[i]; share[k] = free > 0 ? share[k] / free : 1 / m; pinned[k] = 0 }
  for (round = 0; round <= m; round++) {
    moved = 0
    for (i = 1; i <= m; i++) {
      k = use[i]
      if (pinned[k]) continue
      if (share[k] < field[k, "min"] + 0) { share[k] = field[k, "min"] + 0; pinned[k] = 1; moved = 1 }
      else if (field[k, "max"] != "" && share[k] > field[k, "max"] + 0) { share[k] = field[k, "max"] + 0; pinned[k] = 1; moved = 1 }
    }
    if (!moved) break
    fixed = 0; free = 0
    for (i = 1; i <= m; i++) { k = use[i]; if (pinned[k]) fixed += share[k]; else free += share[k] }
    rest = 1 - fixed
    for (i = 1; i <= m; i++) { k = use[i]; if (!pinned[k]) share[k] = free > 0 ? share[k] * rest / free : rest }
  }
}

function cascade(   i, k, total, remaining, v) {
  total = 0
  for (i = 1; i <= m; i++) {
    k = use[i]
    whole[k] = int(share[k] * scale + 0.5)
    if (whole[k] < 1 && share[k] > 0) whole[k] = 1
    total += whole[k]
  }
  print "*mangle"
  print ":" chain " - [0:0]"
  remaining = total
  for (i = 1; i <= m; i++) {
    k = use[i]
    if (whole[k] <= 0) continue
    if (i == m || whole[k] == remaining) { print "-A " chain " " guard " " target[k]; break }
    v = int(2147483648 * whole[k] / remaining + 0.5)
    printf "-A %s %s -m statistic --mode random --probability %.11f %s\n", chain, guard, v / 2147483648, target[k]
    remaining -= whole[k]
  }
  print "COMMIT"
}

END {
  if (mode == "weights") learn()
  else if (mode == "chain") { inForce(); bound(); cascade() }
  else if (mode == "conns") for (k in conns) print k, conns[k]
}
