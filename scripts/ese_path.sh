# Sourced by the GPU scripts: the ese.* packages through PYTHONPATH, for a machine where the
# project is not installed (an offline GPU box). Every package the scripts import is mapped,
# studies included.
ESE_PACKAGES="format console runtime exporter benchmarks training serving engines studies"
ese_path() {  # ese_path REPO: map REPO's packages onto the ese namespace and export PYTHONPATH
    local repo=$1 shim=$1/build/gpu-shim pkg
    mkdir -p "$shim/ese"
    for pkg in $ESE_PACKAGES; do ln -sfn "$repo/$pkg" "$shim/ese/$pkg"; done
    export PYTHONPATH=$shim${PYTHONPATH:+:$PYTHONPATH}
}
