#!/usr/bin/env bash
# kernel-vm.sh: run one command on another Debian kernel under qemu, against this machine's own files.
# (The project's copy of the team's shared/tools/kernel-vm.sh; scripts/kernel-matrix.sh drives it.)
#
#   kernel-vm.sh KERNEL-PACKAGE [COMMAND...]
#     KERNEL-PACKAGE  a Debian kernel image package name (linux-image-6.1.0-53-amd64-unsigned, ...)
#                     or the path of such a .deb
#     COMMAND         run by bash inside the guest, in the current directory (default: uname -a)
#
# The guest sees the host's /usr, /etc, /opt, /root, /home, /var, /srv and the current directory read-only
# over 9p, each with a tmpfs overlay on top (so builds, test results and ~/.dotnet writes land in guest
# memory and vanish), its own /proc, /sys, /dev (devtmpfs), /run, an empty ext4 /tmp (a sparse disk image,
# KVM_TMP_SIZE, default 8G), loopback networking only, and the package's fuse, cuse and overlay modules.
# The command's output is printed here and kept in $KVM_OUT/output.log; what it writes under $OUT
# (inside the guest) lands in $KVM_OUT/out here; the script exits with the command's exit status
# (124 on timeout, 125 if the guest never reported one).
#
# Environment: KVM_TIMEOUT (seconds, default 1200), KVM_MEM (default 4G), KVM_SMP (default 1),
#              KVM_WORK (cache of unpacked kernels, default /var/tmp/kernel-vm), KVM_OUT (default: a new temp dir),
#              KVM_MODULES (extra module names to load, space-separated), KVM_SHARE (extra top-level host
#              directories to show), KVM_SUITE (where to look for a package this machine's suites lack,
#              default bookworm-backports), KVM_CPU (qemu -cpu, default max under TCG).
# Needs (Debian 12): apt-get install --no-install-recommends qemu-system-x86 busybox-static cpio
# binutils xz-utils e2fsprogs. Run as root: the guest sees only what the
# caller can read, and the tests mount as root inside it. Uses KVM when the CPU offers it, else TCG.
set -euo pipefail

pkg=${1:?usage: kernel-vm.sh KERNEL-PACKAGE [COMMAND...]}
shift
cmd=${*:-uname -a}
work=${KVM_WORK:-/var/tmp/kernel-vm}
timeout_s=${KVM_TIMEOUT:-1200}
mem=${KVM_MEM:-4G}
smp=${KVM_SMP:-1}
out=${KVM_OUT:-$(mktemp -d /tmp/kernel-vm-out.XXXXXX)}
mkdir -p "$work" "$out/out"
rm -f "$out/rc" "$out/output.log"

for tool in qemu-system-x86_64 busybox cpio dpkg-deb strings xz mkfs.ext4; do
  command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install --no-install-recommends qemu-system-x86 busybox-static cpio binutils xz-utils e2fsprogs" >&2; exit 2; }
done

# 1. The kernel package, unpacked once (never installed: nothing goes to /boot or /lib/modules here).
if [[ -f $pkg ]]; then deb=$(readlink -f "$pkg"); name=$(dpkg-deb -f "$deb" Package)
else
  name=$pkg
  deb=$(ls "$work"/debs/"${name}"_*.deb 2>/dev/null | head -1 || true)
  if [[ -z $deb ]]; then
    mkdir -p "$work/debs"
    if ! (cd "$work/debs" && apt-get download "$name" >&2); then
      # Not in this machine's suites (a bookworm-backports 6.12 kernel, say): fetch it through a private
      # package list for that suite, from the machine's own Debian mirror; /etc/apt stays untouched.
      a=$work/apt; mkdir -p "$a/lists/partial" "$a/cache/archives/partial"
      mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
      [[ -n $mirror ]] || mirror=$(awk '$1=="deb"{print $2; exit}' /etc/apt/sources.list)
      echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror ${KVM_SUITE:-bookworm-backports} main" > "$a/sources.list"
      o=(-o Dir::Etc::SourceList="$a/sources.list" -o Dir::Etc::SourceParts=/nonexistent -o Dir::State::Lists="$a/lists" -o Dir::Cache="$a/cache")
      apt-get "${o[@]}" update >&2 && (cd "$work/debs" && apt-get "${o[@]}" download "$name" >&2)
    fi
    deb=$(ls "$work"/debs/"${name}"_*.deb | head -1)
  fi
fi
kroot=$work/$name
if [[ ! -d $kroot/boot ]]; then
  # A meta package (linux-image-amd64) has no kernel: follow its dependency once.
  if ! dpkg-deb -c "$deb" | grep '/boot/vmlinuz-' >/dev/null; then
    dep=$(dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed 's/[ (].*//;s/^ *//' | grep '^linux-image-' | head -1)
    echo "$name is a meta package; using $dep" >&2
    exec env KVM_WORK="$work" KVM_OUT="$out" "$0" "$dep" "$cmd"
  fi
  rm -rf "$kroot.tmp" && mkdir -p "$kroot.tmp" && dpkg-deb -x "$deb" "$kroot.tmp" && mv "$kroot.tmp" "$kroot"
fi
vmlinuz=$(ls "$kroot"/boot/vmlinuz-* | head -1)
kver=${vmlinuz##*/vmlinuz-}
moddir=$kroot/lib/modules/$kver
config=$kroot/boot/config-$kver

# 2. A tiny initramfs: static busybox, the modules needed to reach the root over 9p (and fuse/cuse/overlay),
#    in dependency order, read from each module's own .modinfo (no depmod needed).
want="virtio_pci 9pnet_virtio 9p overlay virtio_blk crc32c_generic ext4 fuse cuse ${KVM_MODULES:-}"
for opt in VIRTIO_PCI NET_9P_VIRTIO 9P_FS OVERLAY_FS; do
  grep -qE "^CONFIG_${opt}=[ym]" "$config" || { echo "$kver lacks CONFIG_$opt (the cloud flavour has no 9p: use the generic one)" >&2; exit 2; }
done
ird=$(mktemp -d /tmp/kernel-vm-initrd.XXXXXX)
trap 'rm -rf "$ird"' EXIT
mkdir -p "$ird"/{bin,mods,proc,sys,dev,lower,upper,newroot}
cp /bin/busybox "$ird/bin/busybox"
declare -A seen=()
order=()
add_module() {
  local m=$1 path deps d
  [[ -n ${seen[$m]:-} ]] && return 0
  seen[$m]=1
  if grep -qE "/($m|${m//_/-})\.ko$" "$moddir/modules.builtin" 2>/dev/null; then return 0; fi  # built in
  path=$(find "$moddir/kernel" \( -name "$m.ko*" -o -name "${m//_/-}.ko*" \) -regex '.*\.ko\(\.xz\|\.zst\|\.gz\)?' | head -1)
  [[ -z $path ]] && { echo "note: no module $m in $kver (not built?)" >&2; return 0; }
  case $path in
    *.xz) xz -dc "$path" > "$ird/mods/$m.ko" ;;
    *.zst) zstd -qdc "$path" > "$ird/mods/$m.ko" ;;
    *.gz) gzip -dc "$path" > "$ird/mods/$m.ko" ;;
    *) cp "$path" "$ird/mods/$m.ko" ;;
  esac
  deps=$(strings -a "$ird/mods/$m.ko" | sed -n 's/^depends=//p' | head -1 | tr ',' ' ')
  for d in $deps; do add_module "${d//-/_}"; done
  order+=("$m")
}
for m in $want; do add_module "$m"; done
printf '%s\n' "${order[@]}" > "$ird/modules"
share="bin sbin lib lib32 lib64 libx32 usr etc opt root home var srv ${KVM_SHARE:-}"
printf '%s\n' $share | awk '!seen[$0]++' > "$ird/share"
printf '%s\n' "$PWD" > "$ird/cwd"

cat > "$ird/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
for m in $(cat /modules); do insmod /mods/$m.ko 2>/dev/null || echo "init: insmod $m failed"; done
o=trans=virtio,version=9p2000.L,msize=262144
mount -t 9p -o $o,ro,cache=loose hostroot /lower || { echo "init: no 9p root"; poweroff -f; }
mount -t tmpfs -o mode=755 upper /upper
r=/newroot
mount -t tmpfs -o mode=755 root $r
# The guest's / is a tmpfs; each shared top-level directory is an overlay (host files read-only below,
# guest writes in memory above); bin, lib, ... symlinks are copied; proc, sys, dev, run, tmp are its own.
for n in $(cat /share); do
  e=/lower/$n
  if [ -L $e ]; then cp -a $e $r/$n
  elif [ -d $e ]; then
    mkdir -p $r/$n /upper/$n/u /upper/$n/w
    mount -t overlay overlay -o lowerdir=$e,upperdir=/upper/$n/u,workdir=/upper/$n/w $r/$n || echo "init: no overlay for /$n"
  fi
done
mkdir -p $r/proc $r/sys $r/dev $r/run $r/tmp
# /tmp: a fresh ext4 disk (as /tmp on a Debian root file system: user xattrs, no ->flush), not tmpfs.
mount -t ext4 /dev/vda $r/tmp 2>/dev/null || mount -t tmpfs tmp $r/tmp
chmod 1777 $r/tmp
# The current directory, at its own path, writable the same way (host files below, guest writes above).
c=$(cat /cwd)
if [ ! -d $r$c ] || [ -z "$(ls -A $r$c 2>/dev/null)" ]; then
  mkdir -p $r$c /upper/cwd/u /upper/cwd/w
  mount -t overlay overlay -o lowerdir=/lower$c,upperdir=/upper/cwd/u,workdir=/upper/cwd/w $r$c || echo "init: no overlay for $c"
fi
mount -t proc proc $r/proc; mount -t sysfs sys $r/sys; mount -t devtmpfs dev $r/dev
mkdir -p $r/dev/pts $r/dev/shm; mount -t devpts devpts $r/dev/pts; mount -t tmpfs shm $r/dev/shm
mount -t tmpfs run $r/run
[ -c $r/dev/fuse ] && chmod 0666 $r/dev/fuse  # as udev does on a real system (unprivileged mounts via fusermount3)
ip link set lo up  # vstest and other tools talk over loopback TCP
[ -d $r/sys/fs/fuse/connections ] && mount -t fusectl fusectl $r/sys/fs/fuse/connections
mkdir -p $r/run/vmjob && mount -t 9p -o $o job $r/run/vmjob
echo "init: booted $(uname -r) in $(cut -d' ' -f1 /proc/uptime)s"
chroot $r /bin/bash /run/vmjob/guest.sh
sync; umount $r/run/vmjob
poweroff -f
EOF
chmod +x "$ird/init"
(cd "$ird" && find . | cpio -o -H newc --quiet) | gzip -1 > "$out/initrd.gz"
rm -f "$out/tmp.img" && truncate -s "${KVM_TMP_SIZE:-8G}" "$out/tmp.img" && mkfs.ext4 -q -F "$out/tmp.img"

# 3. The job: the command, its directory and environment, and where the exit status goes.
{
  echo '#!/bin/bash'
  printf 'export PATH=%q HOME=/root TERM=dumb OUT=/run/vmjob/out LANG=C.UTF-8\n' "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
  echo 'export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1 DOTNET_CLI_WORKLOAD_UPDATE_NOTIFY_DISABLE=1 MSBUILDDISABLENODEREUSE=1 VSTEST_CONNECTION_TIMEOUT=600'
  printf 'cd %q || exit 1\n' "$PWD"
  printf 'cmd=%q\n' "$cmd"
  echo 'bash -c "$cmd" 2>&1 | tee /run/vmjob/output.log; echo ${PIPESTATUS[0]} > /run/vmjob/rc; sync'
} > "$out/guest.sh"

# 4. Boot: TCG (no usable KVM here), serial console, host / read-only, the job directory read-write.
accel=tcg cpu=${KVM_CPU:-max}
[[ -w /dev/kvm ]] && grep -qwE 'vmx|svm' /proc/cpuinfo && accel=kvm cpu=${KVM_CPU:-host}
start=$(date +%s%N)
set +e
timeout --foreground -k 10 "$timeout_s" qemu-system-x86_64 \
  -accel "$accel" -cpu "$cpu" -smp "$smp" -m "$mem" -nographic -no-reboot -nic none \
  -kernel "$vmlinuz" -initrd "$out/initrd.gz" \
  -drive file="$out/tmp.img",if=virtio,format=raw,cache=unsafe \
  -append "console=ttyS0 panic=-1 loglevel=4 rdinit=/init" \
  -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=forbid \
  -virtfs local,path="$out",mount_tag=job,security_model=none,multidevs=forbid \
  < /dev/null
qrc=$?
set -e
rm -f "$out/tmp.img"
echo "kernel-vm: $kver ($accel) wall $(( ($(date +%s%N) - start) / 1000000 ))ms, output in $out" >&2
if [[ $qrc == 124 || $qrc == 137 ]]; then echo "kernel-vm: timed out after ${timeout_s}s" >&2; exit 124; fi
[[ -f $out/rc ]] || { echo "kernel-vm: the guest reported no exit status (qemu rc $qrc)" >&2; exit 125; }
exit "$(cat "$out/rc")"
