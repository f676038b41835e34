# Sourced by studies/gpu_profile.sh: each step of the GPU run is run, timed and recorded in
# $STEPS (NAME<TAB>EXIT<TAB>SECONDS<TAB>NOTE, read by ese.studies.gpu_compare), and the run goes
# on whatever its exit was; $FAILED counts the steps that failed. The caller defines say().
FAILED=0

record() {  # record NAME EXIT SECONDS NOTE
    printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >> "$STEPS"
}

step() {  # step NAME CMD...: run it, record its exit, go on whatever it was
    local name=$1; shift
    local t0=$SECONDS rc note=""
    say "$name"
    set +e
    "$@"
    rc=$?
    set -e
    if [ "$rc" != 0 ]; then
        FAILED=$((FAILED + 1)); note="failed: see the log"
        say "$name: FAILED (exit $rc); going on with the next step"
    fi
    record "$name" "$rc" $((SECONDS - t0)) "$note"
}

capped() {  # capped NAME CMD...: a profile under $PROFILE_SECONDS; what it measured is kept
    local name=$1; shift
    local t0=$SECONDS rc note=""
    say "$name (cap ${PROFILE_SECONDS}s)"
    set +e
    timeout -s INT "$PROFILE_SECONDS" "$@"
    rc=$?
    set -e
    case $rc in
        0) ;;
        124|130) note="stopped at the ${PROFILE_SECONDS}s cap; the shapes measured are kept"; rc=0 ;;
        *) FAILED=$((FAILED + 1)); note="failed: see the log"
           say "$name: FAILED (exit $rc); going on with the next step" ;;
    esac
    record "$name" "$rc" $((SECONDS - t0)) "$note"
}
