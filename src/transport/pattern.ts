// OpenSSH host patterns, shared by ssh_config `Host` lines and known_hosts host fields:
// `*` and `?` wildcards, `!` negation, case-insensitive.

/** Glob match of one pattern (no negation) against a whole string, case-insensitive. */
export function matchPattern(pattern: string, value: string): boolean {
  const p = pattern.toLowerCase();
  const s = value.toLowerCase();
  // Iterative wildcard matching with backtracking to the last `*`: linear enough for host names.
  let pi = 0;
  let si = 0;
  let starP = -1;
  let starS = 0;
  while (si < s.length) {
    if (pi < p.length && (p[pi] === '?' || p[pi] === s[si])) {
      pi++;
      si++;
    } else if (pi < p.length && p[pi] === '*') {
      starP = pi++;
      starS = si;
    } else if (starP >= 0) {
      pi = starP + 1;
      si = ++starS;
    } else {
      return false;
    }
  }
  while (pi < p.length && p[pi] === '*') pi++;
  return pi === p.length;
}

/**
 * A list matches when some positive pattern matches and no negated one does
 * (a negated match vetoes the whole list, as in OpenSSH's match_pattern_list).
 */
export function matchPatternList(patterns: readonly string[], value: string): boolean {
  let matched = false;
  for (const raw of patterns) {
    if (raw.startsWith('!')) {
      if (matchPattern(raw.slice(1), value)) return false;
    } else if (matchPattern(raw, value)) {
      matched = true;
    }
  }
  return matched;
}
