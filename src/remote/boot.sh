#!/bin/sh
# multilink: restore the last confirmed generation (written by multilink; do not edit).
# It is the one current names. When current is empty or names no whole generation (a power cut
# soon after a change can leave files empty: what was written but not yet on the disk), the
# newest confirmed generation that is whole is restored instead, current is made to name it,
# and the log says so. Its state.sh also writes the ownership record (owned.json, owned.list)
# again, which the same power cut may have left empty.
# Parameter: ML_STATE.
S=$ML_STATE

# ml_whole_gen DIR: the generation in DIR has its state.sh to the last line (every state.sh
# ends with that line) and its desired state.
ml_whole_gen() {
  [ -s "$1/desired.json" ] && [ "$(tail -n 1 "$1/state.sh" 2>/dev/null)" = 'ml_reset && ml_tried_all' ]
}
ml_say() {
  echo "multilink: $1" >&2
  logger -t multilink "$1" 2>/dev/null
  return 0
}

ml_gen=
{ read -r ml_gen < "$S/current"; } 2>/dev/null
case $ml_gen in *[!0-9]*) ml_gen= ;; esac
if [ -z "$ml_gen" ] || ! ml_whole_gen "$S/generations/$ml_gen"; then
  ml_pick=
  for ml_g in "$S"/generations/*; do
    ml_n=${ml_g##*/}
    case $ml_n in ''|*[!0-9]*) continue ;; esac
    if [ ! -e "$ml_g/confirmed" ] || ! ml_whole_gen "$ml_g"; then continue; fi
    if [ -z "$ml_pick" ] || [ "$ml_n" -gt "$ml_pick" ]; then ml_pick=$ml_n; fi
  done
  # Never confirmed here: nothing to restore.
  [ -n "$ml_pick" ] || { [ -z "$ml_gen" ] || ml_say "generation $ml_gen (current) is not whole, and no other confirmed generation is: nothing restored"; exit 0; }
  if [ -n "$ml_gen" ]; then
    ml_say "generation $ml_gen (current) is not whole (a power cut?): restoring generation $ml_pick, the newest confirmed one that is"
  elif [ -e "$S/current" ]; then
    ml_say "$S/current names no generation (a power cut?): restoring generation $ml_pick, the newest confirmed one that is whole"
  else
    ml_say "$S/current is missing: restoring generation $ml_pick, the newest confirmed one that is whole"
  fi
  { echo "$ml_pick" > "$S/current.tmp" && { sync -- "$S/current.tmp" 2>/dev/null || sync; } && mv -f "$S/current.tmp" "$S/current"; } 2>/dev/null
  ml_gen=$ml_pick
fi
exec sh "$S/generations/$ml_gen/state.sh"
