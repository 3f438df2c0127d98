# shell functions for the drivers (sourced, never run)
LOGDIR=${LOGDIR:-$LFS/logs}

log() {
    printf '[%s] %s\n' "$(date +%T)" "$*"
}

run_step() {
    local script=$1 name
    name=$(basename "$script" .sh)
    log "start $name"
    mkdir -p "$LOGDIR"
    bash "$script" > "$LOGDIR/$name.log" 2>&1
    log "done $name"
}
