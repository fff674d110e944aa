# multilink's adaptive balancing, on the router (POSIX awk: BusyBox, mawk, gawk).
# Two jobs, chosen with -v mode=:
#
# mode=weights: learn. Input lines
#     param step S          the largest factor one update may move a weight by (e.g. 1.5)
#     param alpha A         how strongly a per-connection rate pulls (0..1, e.g. 0.5)
#     param idle B          bytes/s below which a link is idle this period
#     link K weight W healthy 0|1 rate BYTES_PER_S conns N
# In a proportional allocation every link's active connections get the same throughput each,
# so a link whose connections get more than the average deserves more of the new ones: its
# weight is multiplied by (r_k / r)^A, bounded to [1/S, S], where r_k is its bytes/s per
# connection and r the same over all active links. Idle and down links keep their estimate.
# Output: `weight K W` per link, weights scaled to sum 1 over all links.
#
# mode=chain: the balancing chain for the links in force. Input lines
#     chain NAME            guard MATCH...          scale N
#     link K weight W healthy 0|1 tier T min MIN max MAX
#     setmark K TARGET...
# Links in force: healthy with weight > 0, of the lowest such tier (none healthy: every link,
# rather than black-holing traffic). Their shares are bounded by min and max (fractions), then
# turned into whole weights summing to about N and a random cascade: link i is taken with
# probability w_i / (w_i + ... + w_n), printed as iptables-save prints it (lround(p * 2^31)
# / 2^31 with %.11f), the last link without a statistic match.

$1 == "param" { param[$2] = $3 + 0; next }
$1 == "chain" { chain = $2; next }
$1 == "scale" { scale = $2 + 0; next }
$1 == "guard" { sub(/^guard /, ""); guard = $0; next }
$1 == "setmark" { k = $2; sub(/^setmark [^ ]+ /, ""); target[k] = $0; next }
$1 == "link" {
  k = $2
  n++; order[n] = k
  for (i = 3; i < NF; i += 2) field[k, $i] = $(i + 1)
  next
}

function clamp(x, lo, hi) { return x < lo ? lo : (x > hi ? hi : x) }

function learn(   i, k, bytes, conns, mean, f, total) {
  bytes = 0; conns = 0
  for (i = 1; i <= n; i++) {
    k = order[i]
    active[k] = field[k, "healthy"] == 1 && field[k, "conns"] > 0 && field[k, "rate"] >= param["idle"]
    if (active[k]) { bytes += field[k, "rate"]; conns += field[k, "conns"] }
  }
  mean = conns > 0 ? bytes / conns : 0
  total = 0
  for (i = 1; i <= n; i++) {
    k = order[i]
    w[k] = field[k, "weight"] + 0
    if (active[k] && mean > 0) {
      f = (field[k, "rate"] / field[k, "conns"] / mean) ^ param["alpha"]
      w[k] = w[k] * clamp(f, 1 / param["step"], param["step"])
    }
    total += w[k]
  }
  for (i = 1; i <= n; i++) {
    k = order[i]
    printf "weight %s %.6f\n", k, total > 0 ? w[k] / total : 1 / n
  }
}

function inForce(   i, k, best, any) {
  best = ""
  for (i = 1; i <= n; i++) {
    k = order[i]
    if (field[k, "healthy"] == 1 && field[k, "weight"] > 0 && (best == "" || field[k, "tier"] + 0 < best + 0)) best = field[k, "tier"]
  }
  m = 0
  for (i = 1; i <= n; i++) {
    k = order[i]
    any = best == "" ? field[k, "weight"] > 0 : (field[k, "healthy"] == 1 && field[k, "weight"] > 0 && field[k, "tier"] == best)
    if (any) { m++; use[m] = k }
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
}
