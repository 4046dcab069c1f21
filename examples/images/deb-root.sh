# Shared by the image scripts: a root file system made from Debian packages of any
# architecture, without installing them. Sourced, not run.
#
#   deb_root ARCH ROOT PACKAGE...
#
# resolves PACKAGE... and every library package they depend on (recursively; only
# packages named lib* are followed, so adduser, lsb-base and the like stay out),
# downloads them with `apt-get download` into $DEB_CACHE (default
# $XDG_CACHE_HOME/berth/debs/ARCH), unpacks them with `dpkg-deb -x` into ROOT and
# checks that every shared library an ELF file in ROOT needs is in ROOT. A second run
# with the same request needs no network: the resolved list is cached with the .debs.

deb_cache_dir() {
    echo "${DEB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/berth/debs/$1}"
}

# Prints PACKAGE and its lib* dependencies, one "name" a line, each once.
deb_resolve() {
    local arch=$1; shift
    local -A seen=()
    local queue=("$@") p dep
    while [ ${#queue[@]} -gt 0 ]; do
        p=${queue[0]}; queue=("${queue[@]:1}")
        [ -n "${seen[$p]:-}" ] && continue
        seen[$p]=1
        echo "$p"
        # First alternative of each (Pre)Depends; virtual names (<...>) are skipped.
        while read -r dep; do
            dep=${dep%%:*}
            case $dep in lib*) [ -z "${seen[$dep]:-}" ] && queue+=("$dep") ;; esac
        done < <(apt-cache depends --no-recommends --no-suggests --no-conflicts --no-breaks \
                     --no-replaces --no-enhances "$p:$arch" 2>/dev/null |
                 sed -n 's/^  \(Pre\)\{0,1\}Depends: \([^<].*\)$/\2/p')
    done
}

# Downloads (or reuses) the .debs for the request; prints their paths.
deb_fetch() {
    local arch=$1; shift
    local cache key list p
    cache=$(deb_cache_dir "$arch")
    mkdir -p "$cache"
    key=$(echo "$*" | tr ' ' '+')
    list=$cache/$key.list
    if [ -s "$list" ] && while read -r f; do [ -f "$cache/$f" ] || exit 1; done < "$list"; then
        sed "s|^|$cache/|" "$list"
        return 0
    fi
    local pkgs=()
    mapfile -t pkgs < <(deb_resolve "$arch" "$@")
    [ ${#pkgs[@]} -gt 0 ] || { echo "deb-root: apt knows none of: $*" >&2; return 1; }
    local want=() f
    for p in "${pkgs[@]}"; do want+=("$p:$arch"); done
    # apt-get download names files NAME_VERSION_ARCH.deb (':' in versions as %3a).
    (cd "$cache" && apt-get download -qq "${want[@]}" 2>&1 |
        grep -v '^W: Download is performed unsandboxed' >&2 || true)
    : > "$list.tmp"
    for p in "${pkgs[@]}"; do
        f=$(cd "$cache" && { ls -t "${p}"_*_"$arch".deb "${p}"_*_all.deb 2>/dev/null || true; } | head -n1)
        [ -n "$f" ] || { echo "deb-root: apt-get download $p:$arch failed (network? apt-get update?)" >&2; rm -f "$list.tmp"; return 1; }
        echo "$f" >> "$list.tmp"
    done
    mv "$list.tmp" "$list"
    sed "s|^|$cache/|" "$list"
}

# Fails naming every NEEDED shared library no directory of ROOT provides.
deb_check_libs() {
    local root=$1 f lib missing=0
    local dirs=(lib usr/lib lib64 usr/lib64)
    while read -r d; do dirs+=("${d#"$root"/}"); done < <(find "$root"/lib "$root"/usr/lib -maxdepth 1 -type d -name '*-linux-gnu*' 2>/dev/null)
    while read -r f; do
        for lib in $(readelf -d "$f" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
            local found=
            for d in "${dirs[@]}"; do [ -e "$root/$d/$lib" ] && { found=1; break; }; done
            [ -n "$found" ] || { echo "deb-root: ${f#"$root"} needs $lib, which no package provides" >&2; missing=1; }
        done
    done < <(find "$root" -type f \( -perm -u+x -o -name '*.so*' \) -size +1k 2>/dev/null |
             while read -r f; do head -c4 "$f" | grep -q 'ELF' && echo "$f"; done)
    return $missing
}

deb_root() {
    local arch=$1 root=$2; shift 2
    local debs=() d
    mapfile -t debs < <(deb_fetch "$arch" "$@")
    [ ${#debs[@]} -gt 0 ] || { echo "deb-root: no packages for: $* ($arch)" >&2; return 1; }
    mkdir -p "$root"
    for d in "${debs[@]}"; do dpkg-deb -x "$d" "$root"; done
    # Debian 12 is merged-/usr: /lib, /bin, /sbin are links into /usr.
    for d in bin sbin lib lib64; do
        if [ -d "$root/$d" ] && [ ! -L "$root/$d" ] && [ -d "$root/usr/$d" ]; then
            cp -a "$root/$d/." "$root/usr/$d/" && rm -rf "${root:?}/$d"
        fi
        [ -e "$root/$d" ] || [ ! -d "$root/usr/$d" ] || ln -s "usr/$d" "$root/$d"
    done
    # iconv's charset modules (dlopen'ed, with their own RPATH) are not needed here.
    rm -rf "$root"/usr/lib/*-linux-gnu*/gconv
    deb_check_libs "$root"
}
