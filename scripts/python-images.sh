#!/usr/bin/env bash
# Makes local container images that stand in for the official `python` images, from the pyenv
# CPythons of this machine, because no registry can be reached here (and tests never pull).
#
#   scripts/python-images.sh [--force] [VERSION...]      (versions default to 3.9 3.10 3.11 3.12)
#
# For each version 3.X it tags one image as docker.io/library/python:3.X,
# python:3.X-slim and python:3.X-slim-bookworm. Versions whose image exists are skipped;
# --force rebuilds them. Needs podman, ldd, ldconfig and tar; runs as root.
#
# What an image holds (a Debian-bookworm-like merged-/usr root file system):
# - the CPython install under /usr/local (bin and lib; no include/, no test suites, idlelib,
#   tkinter, turtledemo, or the static-library config folder), with python/python3/pip/pip3
#   links in /usr/local/bin, and in site-packages only what the official image ships: pip
#   (and setuptools, wheel where the pyenv install has them), never the host's other packages;
# - the shared libraries `ldd` lists for every binary copied, the runtime libraries every
#   Debian image has (libc6's, libgcc-s1, libstdc++6, zlib1g), and an ld.so.cache that
#   includes /usr/local/lib (the pyenv interpreter's RUNPATH names the host's pyenv folder);
# - /bin/sh (dash), bash, and the basics that Dockerfile RUN lines commonly use: coreutils,
#   grep, sed, find, tar, gzip, env, id, mount/umount/unshare/nsenter (util-linux, which the
#   real image has), useradd/groupadd/usermod (with /etc/passwd, group,
#   shadow, login.defs, /etc/default/useradd, /etc/skel), so `RUN useradd -m appuser` works;
# - apt-get with Debian's sources and keyring, so `RUN apt-get update` behaves as in the real
#   image (here it fails to resolve deb.debian.org: the network is off or unreachable).
# Deliberately absent, as in the official slim images: curl, wget, gcc, git.
#
# Timings are printed per version.
set -euo pipefail

force=0
versions=()
for a in "$@"; do
    case "$a" in
        --force) force=1 ;;
        -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
        3.*) versions+=("$a") ;;
        *) echo "unknown argument: $a" >&2; exit 2 ;;
    esac
done
[ ${#versions[@]} -gt 0 ] || versions=(3.9 3.10 3.11 3.12)

pyenv_root="${PYENV_ROOT:-$HOME/.pyenv}"
command -v podman >/dev/null || { echo "podman is not installed" >&2; exit 1; }

# Basics copied from the host (absolute paths; missing ones are skipped).
tools=(
    /usr/bin/dash /usr/bin/bash /usr/bin/env /usr/bin/ls /usr/bin/cat /usr/bin/cp /usr/bin/mv
    /usr/bin/rm /usr/bin/mkdir /usr/bin/rmdir /usr/bin/ln /usr/bin/chmod /usr/bin/chown
    /usr/bin/chgrp /usr/bin/touch /usr/bin/echo /usr/bin/true /usr/bin/false /usr/bin/test
    /usr/bin/[ /usr/bin/printf /usr/bin/head /usr/bin/tail /usr/bin/tr /usr/bin/id
    /usr/bin/whoami /usr/bin/uname /usr/bin/sleep /usr/bin/sort /usr/bin/uniq /usr/bin/wc
    /usr/bin/cut /usr/bin/dirname /usr/bin/basename /usr/bin/readlink /usr/bin/realpath
    /usr/bin/date /usr/bin/pwd /usr/bin/du /usr/bin/df /usr/bin/stat /usr/bin/tee
    /usr/bin/mktemp /usr/bin/install /usr/bin/nproc /usr/bin/expr /usr/bin/seq /usr/bin/xargs
    /usr/bin/find /usr/bin/grep /usr/bin/sed /usr/bin/tar /usr/bin/gzip /usr/bin/which
    /usr/bin/getent /usr/bin/su /usr/bin/apt-get /usr/bin/apt /usr/bin/apt-cache
    /usr/bin/apt-config /usr/bin/dpkg /usr/bin/hostname /usr/bin/mount /usr/bin/umount
    /usr/bin/unshare /usr/bin/nsenter
    /usr/sbin/useradd /usr/sbin/groupadd /usr/sbin/usermod /usr/sbin/userdel /usr/sbin/ldconfig
    /usr/lib/apt/methods/http /usr/lib/apt/methods/https /usr/lib/apt/methods/file
    /usr/lib/apt/methods/store /usr/lib/apt/methods/gpgv /usr/bin/gpgv
)

# Copies a host file into the root file system $1, resolving links, /lib and /bin mapped
# under /usr as in a merged-/usr system.
put() {
    local root="$1" src="$2" dst
    dst="$src"
    case "$dst" in
        /lib/*|/bin/*|/sbin/*|/lib64/*) dst="/usr$dst" ;;
    esac
    mkdir -p "$root$(dirname "$dst")"
    cp -L "$src" "$root$dst"
}

# The shared libraries the given ELF files need, one path a line.
libs_of() {
    ldd "$@" 2>/dev/null | awk '/=> \// { print $3 } /^[[:space:]]*\/[^ ]+ \(/ { print $1 }' \
        | sort -u
}

image_for() {
    local v="$1" root="$2" prefix="$3"
    local lib="$prefix/lib/python$v"

    # Merged /usr, as in Debian bookworm.
    mkdir -p "$root"/usr/{bin,sbin,lib,lib64,local/bin,local/lib} "$root"/{etc,tmp,root,home,var/tmp,proc,sys,dev,run}
    ln -s usr/bin "$root/bin"; ln -s usr/sbin "$root/sbin"; ln -s usr/lib "$root/lib"
    ln -s usr/lib64 "$root/lib64"
    chmod 1777 "$root/tmp" "$root/var/tmp"; chmod 700 "$root/root"

    # The interpreter: bin/ and lib/ (without what the official image lacks or never needs).
    cp -a "$prefix/bin" "$root/usr/local/"
    rm -f "$root/usr/local/bin/"{idle*,2to3*,*-config,*-gdb.py}
    mkdir -p "$root/usr/local/lib/python$v"
    cp -a "$prefix/lib/"libpython* "$root/usr/local/lib/"
    (cd "$lib" && tar -c --exclude=./test --exclude=./idlelib --exclude=./tkinter \
        --exclude=./turtledemo --exclude=./lib2to3/tests --exclude='./config-*' \
        --exclude=./site-packages .) | tar -C "$root/usr/local/lib/python$v" -x
    mkdir -p "$root/usr/local/lib/python$v/site-packages"
    local sp="$lib/site-packages"
    for p in "$sp"/README.txt "$sp"/pip "$sp"/pip-*.dist-info "$sp"/setuptools "$sp"/setuptools-*.dist-info \
        "$sp"/wheel "$sp"/wheel-*.dist-info "$sp"/pkg_resources "$sp"/_distutils_hack \
        "$sp"/distutils-precedence.pth; do
        [ -e "$p" ] && cp -a "$p" "$root/usr/local/lib/python$v/site-packages/"
    done
    # Scripts written by pip carry the host prefix in their #! line: point them at the image's.
    for f in "$root"/usr/local/bin/*; do
        [ -f "$f" ] && [ ! -L "$f" ] && head -c 2 "$f" | grep -q '#!' \
            && sed -i "1s|^#!$prefix/bin/|#!/usr/local/bin/|" "$f"
    done
    (cd "$root/usr/local/bin" && ln -sf "python$v" python && ln -sf "python$v" python3 \
        && ln -sf "pip$v" pip && ln -sf "pip$v" pip3)

    # Tools, and the libraries of everything.
    local present=()
    for t in "${tools[@]}"; do
        [ -e "$t" ] && { put "$root" "$t"; present+=("$t"); }
    done
    ln -sf dash "$root/usr/bin/sh"
    local elves=("$prefix/bin/python$v" "${present[@]}")
    elves+=("$lib"/lib-dynload/*.so)
    for l in $(libs_of "${elves[@]}"); do
        case "$l" in "$prefix"/*) continue ;; esac
        put "$root" "$l"
    done
    # The runtime libraries every Debian image has (the C library's whole set, librt and
    # libutil among them, libgcc_s, libstdc++, zlib): compiled wheels load them (uvloop and
    # others need librt.so.1, which no binary copied above links).
    for pkg in libc6 libgcc-s1 libstdc++6 zlib1g; do
        dpkg -L "$pkg" 2>/dev/null | grep -E '/lib[^/]*\.so(\.[0-9.]+)?$' | grep -v -- '-gdb\.py$' \
            | while read -r l; do [ -f "$l" ] && put "$root" "$l"; done
    done
    # The C.UTF-8 locale (Debian's libc-bin ships it): LANG/LC_ALL=C.UTF-8 then work in bash.
    if [ -d /usr/lib/locale/C.utf8 ]; then
        mkdir -p "$root/usr/lib/locale"
        cp -a /usr/lib/locale/C.utf8 "$root/usr/lib/locale/"
    fi
    # Name-service modules (getent, useradd, apt's _apt user look-ups).
    for l in /lib/x86_64-linux-gnu/libnss_files.so.2 /lib/x86_64-linux-gnu/libnss_dns.so.2; do
        [ -e "$l" ] && put "$root" "$l"
    done
    mkdir -p "$root/usr/lib64"
    [ -e "$root/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" ] \
        && ln -sf ../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$root/usr/lib64/ld-linux-x86-64.so.2"

    # /etc: users, login defaults, name service, library paths, apt.
    cat > "$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
bin:x:2:2:bin:/bin:/usr/sbin/nologin
sys:x:3:3:sys:/dev:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
_apt:x:42:65534::/nonexistent:/usr/sbin/nologin
EOF
    cat > "$root/etc/group" <<'EOF'
root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
adm:x:4:
tty:x:5:
staff:x:50:
users:x:100:
nogroup:x:65534:
EOF
    awk -F: '{ print $1 ":*:19800:0:99999:7:::" }' "$root/etc/passwd" > "$root/etc/shadow"
    awk -F: '{ print $1 ":*::" }' "$root/etc/group" > "$root/etc/gshadow"
    chmod 640 "$root/etc/shadow" "$root/etc/gshadow"
    for f in /etc/login.defs /etc/default/useradd; do [ -e "$f" ] && put "$root" "$f"; done
    mkdir -p "$root/etc/skel"
    printf 'passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n' > "$root/etc/nsswitch.conf"
    printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' > "$root/etc/hosts"
    printf 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\nID=debian\n' \
        > "$root/etc/os-release"
    printf '12.5\n' > "$root/etc/debian_version"
    mkdir -p "$root/etc/apt/sources.list.d" "$root/etc/apt/apt.conf.d" "$root/etc/apt/preferences.d" \
        "$root/etc/apt/trusted.gpg.d" "$root/var/lib/apt/lists/partial" "$root/var/cache/apt/archives/partial" \
        "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates" "$root/var/log/apt" "$root/usr/share/keyrings"
    mkdir -p "$root/usr/share/dpkg"
    cp /usr/share/dpkg/*table "$root/usr/share/dpkg/" 2>/dev/null || true
    : > "$root/var/lib/dpkg/status"
    : > "$root/var/lib/dpkg/available"
    [ -e /usr/share/keyrings/debian-archive-keyring.gpg ] \
        && cp /usr/share/keyrings/debian-archive-keyring.gpg "$root/usr/share/keyrings/"
    cat > "$root/etc/apt/sources.list.d/debian.sources" <<'EOF'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    printf 'include /etc/ld.so.conf.d/*.conf\n' > "$root/etc/ld.so.conf"
    mkdir -p "$root/etc/ld.so.conf.d"
    printf '/usr/local/lib\n/usr/local/lib/x86_64-linux-gnu\n/lib/x86_64-linux-gnu\n/usr/lib/x86_64-linux-gnu\n' \
        > "$root/etc/ld.so.conf.d/libc.conf"
    ldconfig -r "$root"
}

for v in "${versions[@]}"; do
    start=$(date +%s.%N)
    slim="docker.io/library/python:$v-slim"
    if [ "$force" = 0 ] && podman image exists "$slim"; then
        echo "python:$v: image exists, skipped (--force rebuilds it)"
        continue
    fi
    prefix=$(ls -d "$pyenv_root/versions/$v".* 2>/dev/null | grep -E "/$v\.[0-9]+$" | sort -V | tail -n 1 || true)
    if [ -z "$prefix" ] || [ ! -x "$prefix/bin/python$v" ]; then
        echo "python:$v: no pyenv CPython $v under $pyenv_root/versions, skipped" >&2
        continue
    fi
    full=${prefix##*/}
    old=$(podman image inspect --format '{{.Id}}' "$slim" 2>/dev/null || true)
    work=$(mktemp -d "${TMPDIR:-/tmp}/python-image-$v.XXXXXX")
    trap 'rm -rf "$work"' EXIT
    image_for "$v" "$work/rootfs" "$prefix"
    size=$(du -sm "$work/rootfs" | cut -f1)
    id=$(tar -C "$work/rootfs" --numeric-owner -c . | podman import \
        --change 'ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV LANG=C.UTF-8' \
        --change "ENV PYTHON_VERSION=$full" \
        --change 'CMD ["python3"]' \
        --message "docmatrix stand-in for python:$v-slim, from $prefix" \
        - "$slim" 2>&1 | tail -n 1)
    podman tag "$slim" "docker.io/library/python:$v" "docker.io/library/python:$v-slim-bookworm"
    rm -rf "$work"
    trap - EXIT
    # With --force, the image replaced is left untagged: remove it (unless something uses it).
    if [ -n "$old" ] && [ "$old" != "$(podman image inspect --format '{{.Id}}' "$slim")" ]; then
        podman rmi "$old" >/dev/null 2>&1 || true
    fi
    end=$(date +%s.%N)
    printf 'python:%s: built from %s (%s MB) in %.1f s, image %.12s\n' "$v" "$full" "$size" \
        "$(echo "$end - $start" | bc)" "${id#sha256:}"
done
