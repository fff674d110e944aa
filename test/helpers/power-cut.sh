# shellcheck shell=sh
# A simulated power cut, for tests: what a router's disk holds if the power goes right after a
# rename, with delayed allocation (ext4, UBIFS) at its worst: every create and rename has
# reached the disk, but a file's data only if it was synced since it was last written; any
# other file is left empty. Wrapped around the programs multilink calls: `sync` records what it
# made durable, `mv` takes an image of PC_DIR after each rename into it. Works under dash and
# BusyBox ash; needs stat -c, find, cp -a, grep.
# Parameters: PC_DIR (the tree a power cut hits: the state folder), PC_OUT (a folder of this
# test's: the durable list, images 1, 2, … with N.why naming the rename each follows). Images
# are taken while PC_OUT/on exists.

# pc_stat FILE: what identifies a file's content: inode, size, change of its data (ns).
pc_stat() {
  stat -c '%i %s %y' "$1" 2>/dev/null
}

# pc_synced ARGS...: after a sync with these arguments succeeded: a sync of everything, or of
# each file named (a folder's sync makes its entries durable: they are anyway in this model).
pc_synced() {
  pc_files=0
  for pc_a in "$@"; do
    case $pc_a in
      -*) continue ;;
    esac
    pc_files=1
    [ -f "$pc_a" ] && pc_stat "$pc_a" >> "$PC_OUT/durable"
  done
  [ "$pc_files" = 1 ] || pc_durable_all
  return 0
}

# pc_durable_all: every file of PC_DIR as it is now is on the disk (a sync of everything, or
# the start of a test: what was there before it counts as synced).
pc_durable_all() {
  find "$PC_DIR" -type f 2>/dev/null | while IFS= read -r pc_f; do pc_stat "$pc_f"; done >> "$PC_OUT/durable"
}

# pc_renamed ARGS...: after `mv ARGS` succeeded: when its target is in PC_DIR, the image of a
# power cut now.
pc_renamed() {
  [ -e "$PC_OUT/on" ] || return 0
  for pc_to in "$@"; do :; done
  case $pc_to in "$PC_DIR"/*) ;; *) return 0 ;; esac
  pc_n=$(($(cat "$PC_OUT/count" 2>/dev/null || echo 0) + 1))
  echo "$pc_n" > "$PC_OUT/count"
  pc_img=$PC_OUT/$pc_n
  cp -a "$PC_DIR" "$pc_img" 2>/dev/null
  echo "${pc_to#"$PC_DIR"/}" > "$pc_img.why"
  find "$PC_DIR" -type f 2>/dev/null | while IFS= read -r pc_f; do
    [ -f "$pc_img/${pc_f#"$PC_DIR"/}" ] || continue
    grep -qxF "$(pc_stat "$pc_f")" "$PC_OUT/durable" 2>/dev/null || : > "$pc_img/${pc_f#"$PC_DIR"/}"
  done
}
