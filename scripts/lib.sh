# Shared by scripts/run and scripts/run-prod: environment, starting processes
# together, waiting for them, stopping them together.

pids=()

triage_env() {
  mkdir -p var
  # Rasa at INFO: DEBUG would log every patient message in clear.
  export LOG_LEVEL=INFO
  # Rasa's telemetry and its Sentry error reports would send data off the premises.
  export RASA_TELEMETRY_ENABLED=false
  # The master key: a file or an environment variable, never the repo or a database.
  if [ -z "${TRIAGE_MASTER_KEY_FILE:-}" ] && [ -z "${TRIAGE_MASTER_KEY:-}" ]; then
    export TRIAGE_MASTER_KEY_FILE="$PWD/var/keys/dev-master.json"
    if [ ! -f "$TRIAGE_MASTER_KEY_FILE" ]; then
      .venv/bin/triage keys init --file "$TRIAGE_MASTER_KEY_FILE" >/dev/null
      echo "WARNING: created a local DEVELOPMENT master key at $TRIAGE_MASTER_KEY_FILE." >&2
      echo "         In production set TRIAGE_MASTER_KEY_FILE (or TRIAGE_MASTER_KEY) from your secret store." >&2
    fi
  fi
  # The HTTP API (token-protected) lets the worker resume conversations after a handoff.
  if [ -z "${RASA_AUTH_TOKEN:-}" ]; then
    if [ ! -s var/rasa-token ]; then
      (umask 077; .venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(32))' > var/rasa-token)
    fi
    RASA_AUTH_TOKEN=$(cat var/rasa-token)
  fi
  export RASA_AUTH_TOKEN
}

stop_all() {
  trap - INT TERM EXIT
  echo "==> Stopping"
  kill -TERM "${pids[@]}" 2>/dev/null || true
  [ -n "${watcher:-}" ] && kill "$watcher" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
  echo "==> Stopped"
}

start() {  # start "what" command...
  echo "==> Starting $1"
  shift
  "$@" &
  pids+=($!)
}

wait_up() {  # wait_up URL...: until every URL answers, or a process dies
  for _ in $(seq 1 360); do
    local ready=1
    for url in "$@"; do
      curl -fsS "$url" >/dev/null 2>&1 || { ready=0; break; }
    done
    [ "$ready" = 1 ] && return 0
    for pid in "${pids[@]}"; do
      kill -0 "$pid" 2>/dev/null || { echo "error: a process exited during start-up; see the log above" >&2; exit 1; }
    done
    sleep 0.5
  done
  echo "error: not up after 3 minutes: $*" >&2
  exit 1
}

keep_running() {  # keep_running command...: restart it when it crashes, as an orchestrator would
  # For replicas behind nginx: one crashing must not take the others down.
  # Gives up (and so stops everything) after 5 crashes within a minute of each start.
  local child quick=0 started
  trap 'kill -TERM "$child" 2>/dev/null; wait "$child" 2>/dev/null; exit 0' TERM INT
  while true; do
    started=$SECONDS
    "$@" &
    child=$!
    wait "$child" && exit 0
    if (( SECONDS - started < 60 )); then quick=$((quick + 1)); else quick=0; fi
    if (( quick >= 5 )); then
      echo "error: $1 keeps crashing; giving up" >&2
      exit 1
    fi
    echo "warning: a replica exited; restarting it" >&2
    sleep 1
  done
}

supervise() {
  # `make` does not pass SIGTERM on to its recipe: when the parent goes away, stop too.
  local parent=$PPID
  ( while kill -0 "$parent" 2>/dev/null; do sleep 1; done; kill -TERM $$ 2>/dev/null ) &
  watcher=$!
  # If any process dies, stop the others: they only make sense together.
  wait -n "${pids[@]}" || true
  echo "error: a process exited; stopping the others" >&2
  exit 1
}
