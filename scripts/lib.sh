# Shared by scripts/run, scripts/run-prod and scripts/shell: environment and secrets,
# the start-up key check, and a supervisor that restarts a process that exits.

pids=()

secret_file() {  # secret_file PATH: a random token in PATH (created once, owner-only); prints it
  if [ ! -s "$1" ]; then
    (umask 077; .venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(32))' > "$1")
  fi
  cat "$1"
}

triage_env() {
  mkdir -p var
  # Rasa at INFO: DEBUG would log every patient message in clear.
  export LOG_LEVEL=INFO
  # Rasa's telemetry and its Sentry error reports would send data off the premises.
  export RASA_TELEMETRY_ENABLED=false
  # Secrets travel in the environment (readable by this user only), never on a command
  # line (/proc/<pid>/cmdline is readable by everyone). Rasa's HTTP API token lets the
  # worker resume conversations; the action token lets only Rasa run our actions.
  if [ -z "${RASA_AUTH_TOKEN:-}" ]; then RASA_AUTH_TOKEN=$(secret_file var/rasa-token); fi
  if [ -z "${TRIAGE_ACTION_TOKEN:-}" ]; then TRIAGE_ACTION_TOKEN=$(secret_file var/action-token); fi
  export RASA_AUTH_TOKEN TRIAGE_ACTION_TOKEN
  # The master key: a file or an environment variable, never the repo or a database.
  # A development keyring only on a first start (no sealed data yet): triage/startup.py.
  local dev=()
  if [ -z "${TRIAGE_MASTER_KEY_FILE:-}" ] && [ -z "${TRIAGE_MASTER_KEY:-}" ]; then
    export TRIAGE_MASTER_KEY_FILE="$PWD/var/keys/dev-master.json"
    dev=(--dev-keyring "$TRIAGE_MASTER_KEY_FILE")
  fi
  .venv/bin/python -m triage.startup "${dev[@]}" || exit 1
}

stop_all() {
  trap - INT TERM EXIT
  [ -n "${run_dir:-}" ] && touch "$run_dir/stopping"
  echo "==> Stopping"
  kill -TERM "${pids[@]}" 2>/dev/null || true
  [ -n "${watcher:-}" ] && kill "$watcher" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
  [ -n "${run_dir:-}" ] && rm -rf "$run_dir"
  echo "==> Stopped"
}

# Restarts within a minute after which a process is given up (and with it the run).
MAX_RESTARTS_PER_MINUTE=${TRIAGE_MAX_RESTARTS_PER_MINUTE:-5}

stop_child() {  # keep_running's current child, when it has one (dynamic scope: its local $child)
  if [ -n "$child" ]; then kill -TERM "$child" 2>/dev/null; wait "$child" 2>/dev/null; fi
  return 0
}

keep_running() {  # keep_running NAME command...: run it; when it exits, restart it
  # Until the whole stack is up ($run_dir/up), an exit is a start-up error: no restart.
  # After that: restarted after 1, 2, 4, 8 s; the (MAX+1)th exit within a minute gives up.
  local name=$1 child="" code how now t delay recent=() kept
  shift
  trap 'stop_child; exit 0' TERM INT
  while true; do
    "$@" &
    child=$!
    wait "$child" && code=0 || code=$?
    child=""
    # Ctrl-C reaches every process of the terminal: one that stopped on it is not restarted.
    sleep 0.5 & child=$!
    wait "$child" || true
    child=""
    if [ -e "$run_dir/stopping" ]; then exit 0; fi
    how="exit code $code"
    if (( code > 128 )); then how="killed by signal $((code - 128))"; fi
    if [ ! -e "$run_dir/up" ]; then
      echo "error: $name stopped during start-up ($how); see the log above" >&2
      exit 1
    fi
    now=$SECONDS kept=()
    for t in "${recent[@]}"; do
      if (( now - t < 60 )); then kept+=("$t"); fi
    done
    recent=("${kept[@]}" "$now")
    if (( ${#recent[@]} > MAX_RESTARTS_PER_MINUTE )); then
      echo "error: $name stopped ${#recent[@]} times within a minute ($how); stopping everything" >&2
      exit 1
    fi
    delay=$(( 1 << (${#recent[@]} - 1) ))
    echo "==> $name stopped ($how); restarting it in ${delay} s" >&2
    sleep "$delay" & child=$!
    wait "$child" || true  # a wait, not a plain sleep: SIGTERM is handled at once
    child=""
  done
}

start() {  # start NAME command...: under keep_running
  [ -n "${run_dir:-}" ] || run_dir=$(mktemp -d "${TMPDIR:-/tmp}/triage-run.XXXXXX")
  echo "==> Starting $1"
  keep_running "$@" &
  pids+=($!)
}

wait_up() {  # wait_up URL...: until every URL answers, or a process fails to start
  for _ in $(seq 1 360); do
    local ready=1
    for url in "$@"; do
      curl -fsS "$url" >/dev/null 2>&1 || { ready=0; break; }
    done
    if [ "$ready" = 1 ]; then touch "$run_dir/up"; return 0; fi
    for pid in "${pids[@]}"; do
      kill -0 "$pid" 2>/dev/null || exit 1  # keep_running said which and why
    done
    sleep 0.5
  done
  echo "error: not up after 3 minutes: $*" >&2
  exit 1
}

supervise() {
  # `make` does not pass SIGTERM on to its recipe: when the parent goes away, stop too.
  local parent=$PPID
  ( while kill -0 "$parent" 2>/dev/null; do sleep 1; done; kill -TERM $$ 2>/dev/null ) &
  watcher=$!
  # Each process restarts itself (keep_running); one that gives up ends the run.
  wait -n "${pids[@]}" || true
  exit 1
}
