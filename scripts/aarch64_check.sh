#!/usr/bin/env bash
# The CPU half of a Jetson: the runtime-only install on aarch64 (under qemu user emulation),
# encoding an export made on x86; its vectors must equal x86's within 1e-5 cosine.
#
#   scripts/aarch64_check.sh [EXPORT]      # make test-aarch64; default: a tiny stand-in export
#
# Needs root and Debian's apt (qemu-user-static, an arm64 python3.11 extracted into a sysroot)
# and a package index for the aarch64 wheels of numpy, onnxruntime and tokenizers. No
# binfmt_misc registration is needed: qemu-aarch64-static is called as the interpreter.
# Everything lands in build/aarch64/ (reused by later runs).
set -euo pipefail
cd "$(dirname "$0")/.."
START=$SECONDS
say() { printf '[aarch64 %4ds] %s\n' $((SECONDS - START)) "$*"; }
WORK=build/aarch64
SYSROOT=$WORK/sysroot
SITE=$WORK/site
PY=.venv/bin/python
mkdir -p "$WORK"
export PIP_DISABLE_PIP_VERSION_CHECK=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1

# 1. qemu user emulation (Debian's static build, called directly: no binfmt_misc needed).
if ! command -v qemu-aarch64-static >/dev/null; then
    say "installing qemu-user-static"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-user-static >/dev/null
fi

# 2. An arm64 Python: Debian's python3.11 and the libraries it links, extracted into a sysroot.
ARM_DEBS="python3.11 python3.11-minimal libpython3.11-minimal libpython3.11-stdlib libc6
libgcc-s1 libstdc++6 zlib1g libexpat1 libssl3 libffi8 libbz2-1.0 liblzma5 libsqlite3-0 libuuid1
libncursesw6 libtinfo6 libreadline8 libcrypt1 libnsl2 libtirpc3 libdb5.3 libgdbm6"
if [ ! -x "$SYSROOT/usr/bin/python3.11" ]; then
    say "fetching Debian's arm64 python3.11 into $SYSROOT"
    dpkg --print-foreign-architectures | grep -qx arm64 || dpkg --add-architecture arm64
    apt-get update -qq
    rm -rf "$WORK/debs" "$SYSROOT" && mkdir -p "$WORK/debs" "$SYSROOT"
    (cd "$WORK/debs" && apt-get download -qq $(for d in $ARM_DEBS; do echo "$d:arm64"; done) 2>&1 \
        | { grep -v "unsandboxed" || true; })
    for deb in "$WORK"/debs/*.deb; do dpkg -x "$deb" "$SYSROOT"; done
fi
ARM_PY=(qemu-aarch64-static -L "$SYSROOT" "$SYSROOT/usr/bin/python3.11")
say "$("${ARM_PY[@]}" -c 'import platform, sys; print(platform.machine(), "Python", sys.version.split()[0])')"

# 3. The runtime alone (the base install: numpy, onnxruntime, tokenizers), aarch64 wheels.
#    onnxruntime's aarch64 wheels from 1.28 on crash while loading their extension under
#    Debian 12's qemu-user 7.2 (SIGSEGV in the import, before any ese code runs; 1.20-1.27
#    load), so the emulated check pins the newest one that loads; a real Jetson takes the
#    version pyproject allows.
ORT_AARCH64=${ORT_AARCH64:-1.27.0}
if [ ! -f "$SITE/.installed" ] || [ pyproject.toml -nt "$SITE/.installed" ] \
    || ! grep -qx "$ORT_AARCH64" "$SITE/.installed"; then
    say "installing the runtime-only package with aarch64 wheels into $SITE"
    rm -rf "$SITE" "$WORK/dist"
    $PY -m pip wheel -q --no-deps --no-build-isolation -w "$WORK/dist" . >/dev/null 2>&1
    $PY -m pip install -q --target "$SITE" --only-binary=:all: --python-version 3.11 \
        --implementation cp --platform manylinux_2_28_aarch64 --platform manylinux_2_17_aarch64 \
        --platform manylinux2014_aarch64 "$WORK"/dist/*.whl "onnxruntime==$ORT_AARCH64" 2>&1 \
        | { grep -v -e "^WARNING: Location" -e "dependency resolver" -e "which is incompatible" || true; }
    echo "$ORT_AARCH64" > "$SITE/.installed"
fi
for heavy in torch transformers optimum openvino; do
    [ ! -e "$SITE/$heavy" ] || { echo "aarch64: $heavy was installed with the runtime" >&2; exit 1; }
done

# 4. An export made on x86 (default: a tiny random model with MiniLM's layout, depths 2 and 6).
EXPORT=${1:-}
if [ -z "$EXPORT" ]; then
    EXPORT=$WORK/export
    if [ ! -f "$EXPORT/manifest.json" ]; then
        say "exporting a tiny stand-in on x86"
        $PY -m ese.studies.stand_in_model "$WORK/stand-in" --size tiny >/dev/null
        .venv/bin/ese-export "$WORK/stand-in" --depths 2,6 --projection none --out "$EXPORT" \
            --force --quiet >/dev/null 2>&1
    fi
fi

[ -f "$EXPORT/manifest.json" ] || {
    echo "aarch64: $EXPORT is not an export (no manifest.json): make one with ese-export" >&2
    exit 2
}

# 5. The same texts on both machines, then the comparison.
say "encoding on x86_64"
$PY scripts/aarch64_vectors.py encode "$EXPORT" "$WORK/x86_64.npz"
say "encoding on aarch64 (qemu)"
PYTHONPATH=$SITE PYTHONNOUSERSITE=1 "${ARM_PY[@]}" -s scripts/aarch64_vectors.py encode \
    "$EXPORT" "$WORK/aarch64.npz"
$PY scripts/aarch64_vectors.py compare "$WORK/x86_64.npz" "$WORK/aarch64.npz"
say "done"
