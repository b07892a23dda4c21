#!/bin/busybox sh
# PID 1 of the linsock VM (packed into the initramfs by lab/vm/image.ts). It loads the drivers, mounts
# the host's root read-only over 9p, names the virtio-serial ports, configures each NIC by its MAC, and
# runs the guest agent on the host's own node inside that root. The host passes its settings as kernel
# parameters, which reach init as environment variables:
#   linsock_net="MAC@ADDR/PREFIX,..."  linsock_node=/usr/bin/node  linsock_agent=/path/agent.cjs
/bin/busybox --install -s /bin
export PATH=/bin
say() { echo "linsock-vm: $*"; }
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in $(cat /modules.order); do
  insmod "/lib/modules/$m.ko" 2>/dev/null || say "module $m did not load"
done
mkdir -p /host
if ! mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose hostroot /host; then
  say "FAILED: cannot mount the host root over 9p"; poweroff -f
fi
mount -t proc proc /host/proc
mount -t sysfs sys /host/sys
mount -t devtmpfs dev /host/dev
# The host's /tmp stays visible (a checkout, and so the agent, may live there); the VM writes in /run.
mount -t tmpfs run /host/run
mkdir -p /host/run/tmp
# No udev here: name the virtio-serial ports (vportNpM) as udev would.
mkdir -p /host/dev/virtio-ports
for p in /sys/class/virtio-ports/*; do
  [ -e "$p/name" ] && ln -sf "/dev/${p##*/}" "/host/dev/virtio-ports/$(cat "$p/name")"
done
ip link set lo up
for spec in $(echo "$linsock_net" | tr , ' '); do
  mac=${spec%@*}; addr=${spec#*@}; found=
  for i in /sys/class/net/*; do
    if [ "$(cat "$i/address")" = "$mac" ]; then
      found=${i##*/}
      echo 1 > "/proc/sys/net/ipv6/conf/$found/disable_ipv6" 2>/dev/null
      ip addr add "$addr" dev "$found" && ip link set "$found" up
    fi
  done
  [ -n "$found" ] || say "no NIC with MAC $mac"
done
say "init ready"
chroot /host env TMPDIR=/run/tmp "$linsock_node" "$linsock_agent"
say "agent exited with status $?"
poweroff -f
