#!/bin/sh
# multilink tests: password-taking SSH servers inside a lab router's network namespace, in a
# mount namespace of their own whose /etc is an overlay in RAM over the host's: a user mlu,
# passwords for root and mlu, sudo, su and doas policies. The host's /etc is never written.
# Run as `unshare -m --propagation private sh login-servers.sh DIR ADDRESS` in the router's
# namespace; DIR holds the configs; each server's pid goes to DIR/NAME.pid.
set -eu
d=$1
addr=$2
mount -t tmpfs -o mode=0700 tmpfs "$d/ovl"
mkdir "$d/ovl/upper" "$d/ovl/work"
mount -t overlay overlay -o "lowerdir=/etc,upperdir=$d/ovl/upper,workdir=$d/ovl/work" /etc
useradd -M -d "$d/home/mlu" -s /bin/sh mlu
mkdir -p "$d/home/mlu" "$d/home/root/.ssh"
chown mlu: "$d/home/mlu"
# SHA-512 hashes: PAM, dropbear and BusyBox su read them (BusyBox knows no yescrypt).
chpasswd -c SHA512 < "$d/passwords"
rm -f "$d/passwords"
# root's home here: dropbear reads ~/.ssh/authorized_keys and has no option for another file.
sed -i "s#^root:\([^:]*\):0:0:\([^:]*\):[^:]*:#root:\1:0:0:\2:$d/home/root:#" /etc/passwd
cp "$d/authorized_keys" "$d/home/root/.ssh/authorized_keys"
chmod 0700 "$d/home/root/.ssh"
chmod 0600 "$d/home/root/.ssh/authorized_keys"
install -m 0440 "$d/sudoers" /etc/sudoers.d/multilink-test
install -m 0644 "$d/doas.conf" /etc/doas.conf
install -m 0644 "$d/pam-sshd" /etc/pam.d/sshd
# BusyBox su, OpenWrt's, when the test found a BusyBox that has it: setuid root, as it must be.
if [ -f "$d/busybox" ]; then
  mkdir -p /etc/multilink-busybox
  install -m 4755 "$d/busybox" /etc/multilink-busybox/su
fi
mkdir -p /run/sshd
/usr/sbin/sshd -D -e -f "$d/sshd_config" >>"$d/sshd.log" 2>&1 &
echo $! > "$d/sshd.pid"
dropbear -F -E -p "$addr:2022" -r "$d/dropbear_host_key" >>"$d/dropbear.log" 2>&1 &
echo $! > "$d/dropbear.pid"
: > "$d/ready"
wait
