#!/bin/sh
# multilink lab: starts an OpenWrt-like router's sshd in a mount namespace of its own. Run as
# `unshare -m --propagation private sh openwrt-sshd.sh TREE SSHD_CONFIG` inside the router's
# network namespace: every login then sees BusyBox as /usr/bin (and /bin), only iptables, nft, ip,
# conntrack and sshd in /usr/sbin (a stock OpenWrt router: only nft and sshd) (and /sbin), the router's own /etc (TREE/etc, persistent
# like OpenWrt's flash) and RAM at /var and /run. The host sees none of these mounts.
set -eu
tree=$1
config=$2
# The real programs onto their placeholders in the tree while /usr is still the host's (a
# stock OpenWrt router's tree has only sshd's and nft's: its ip is BusyBox's, in /usr/bin).
for f in xtables-nft-multi xtables-legacy-multi conntrack sshd nft; do
  if [ -f "$tree/sbin/$f" ] && [ ! -L "$tree/sbin/$f" ]; then mount --bind "/usr/sbin/$f" "$tree/sbin/$f"; fi
done
if [ -f "$tree/sbin/ip" ]; then mount --bind "$(command -v ip)" "$tree/sbin/ip"; fi
mount --bind "$(command -v busybox)" "$tree/bin/busybox"
mount --bind "$tree/etc" /etc
mount -t tmpfs -o mode=0755 tmpfs /var
mkdir -p /var/run /var/lock /var/log /var/tmp
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -m 0755 /run/sshd
mount --rbind "$tree/sbin" /usr/sbin
# Last: from here on every command is BusyBox's.
mount --rbind "$tree/bin" /usr/bin
exec /usr/sbin/sshd -D -e -f "$config"
