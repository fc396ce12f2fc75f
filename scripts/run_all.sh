#!/usr/bin/env bash
# Starts the action server (5055), Rasa (5005), the operator console (8080) and the web widget's
# demo page (8000); Ctrl-C stops them all.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
RASA_PORT=${RASA_PORT:-5005}
ACTIONS_PORT=${ACTIONS_PORT:-5055}
CONSOLE_PORT=${CONSOLE_PORT:-8080}
export ND_WEB_PORT=${ND_WEB_PORT:-8000}
export ND_ACTION_ENDPOINT=${ND_ACTION_ENDPOINT:-http://localhost:${ACTIONS_PORT}/webhook}
ENDPOINTS=endpoints.yml
if [ "${ND_SCALED:-0}" = 1 ]; then
  # make run-scaled: two Rasa workers sharing conversations through Redis (endpoints.scaled.yml).
  export SANIC_WORKERS=${SANIC_WORKERS:-2} ND_REDIS_HOST=${ND_REDIS_HOST:-127.0.0.1} ND_REDIS_PORT=${ND_REDIS_PORT:-6379}
  export ND_REDIS_DB=${ND_REDIS_DB:-5} ND_REDIS_LOCK_DB=${ND_REDIS_LOCK_DB:-6}
  "$VENV/bin/python" -c "import redis,os; redis.StrictRedis(host=os.environ['ND_REDIS_HOST'], port=int(os.environ['ND_REDIS_PORT'])).ping()" \
    || { echo "Redis is not reachable at ${ND_REDIS_HOST}:${ND_REDIS_PORT}: start it, or use make run."; exit 1; }
  ENDPOINTS=endpoints.scaled.yml
fi
mkdir -p logs
# The action server's token, shared by Rasa (endpoints.yml) and the action server.
if [ -z "${ND_ACTION_TOKEN:-}" ]; then
  TOKEN_FILE="${ND_STATE_DIR:-var}/keys/action.token"
  if [ ! -s "$TOKEN_FILE" ]; then
    (umask 077 && mkdir -p "$(dirname "$TOKEN_FILE")" \
      && "$VENV/bin/python" -c "import secrets; print(secrets.token_urlsafe(32))" > "$TOKEN_FILE")
  fi
  ND_ACTION_TOKEN=$(tr -d '[:space:]' < "$TOKEN_FILE")
fi
export ND_ACTION_TOKEN ND_ACTION_PORT="$ACTIONS_PORT"
# The live takeover's token, shared by the console and Rasa (connectors/live.py), generated the same way.
if [ -z "${ND_LIVE_TOKEN:-}" ]; then
  LIVE_FILE="${ND_STATE_DIR:-var}/keys/live.token"
  if [ ! -s "$LIVE_FILE" ]; then
    (umask 077 && mkdir -p "$(dirname "$LIVE_FILE")" \
      && "$VENV/bin/python" -c "import secrets; print(secrets.token_urlsafe(32))" > "$LIVE_FILE")
  fi
  ND_LIVE_TOKEN=$(tr -d '[:space:]' < "$LIVE_FILE")
fi
export ND_LIVE_TOKEN ND_LIVE_RASA_URL=${ND_LIVE_RASA_URL:-http://127.0.0.1:${RASA_PORT}}
pids=()
stop() {
  trap - INT TERM EXIT
  echo; echo "Stopping..."
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "Stopped."
}
trap stop INT TERM EXIT

"$VENV/bin/python" -m connectors.action_server > logs/actions.log 2>&1 &
pids+=($!)
"$VENV/bin/rasa" run --model models --port "$RASA_PORT" --credentials credentials.yml \
  --endpoints "$ENDPOINTS" > logs/rasa.log 2>&1 &
pids+=($!)
# On a fresh install: a demo supervisor for the console, its password printed once (never with ND_DEMO=0).
"$VENV/bin/python" -m bot demo-admin
"$VENV/bin/python" -m bot console --port "$CONSOLE_PORT" > logs/console.log 2>&1 &
pids+=($!)
# The widget and its demo page (its socket goes to Rasa on RASA_PORT).
ND_SOCKET_URL=${ND_SOCKET_URL:-http://localhost:${RASA_PORT}} "$VENV/bin/python" -m connectors.web > logs/web.log 2>&1 &
pids+=($!)
# Retention that runs: purge, outbox replay every minute, daily check of late cases.
"$VENV/bin/python" -m bot scheduler > logs/scheduler.log 2>&1 &
pids+=($!)

echo "Starting (the model takes about 20 s to load)..."
for _ in $(seq 1 180); do
  for pid in "${pids[@]}"; do
    kill -0 "$pid" 2>/dev/null || { echo "A service stopped: see logs/"; exit 1; }
  done
  if curl -fs "http://localhost:${RASA_PORT}/" >/dev/null && curl -fs "http://localhost:${ACTIONS_PORT}/health" >/dev/null \
     && curl -fs "http://localhost:${CONSOLE_PORT}/login" >/dev/null && curl -fs "http://localhost:${ND_WEB_PORT}/" >/dev/null; then
    cat <<MSG

Nouveau départ is running.
  Talk to it (REST):  curl -s -X POST http://localhost:${RASA_PORT}/webhooks/rest/webhook \\
                        -H 'Content-Type: application/json' -d '{"sender": "essai", "message": "bonjour"}'
  socket.io channel:  http://localhost:${RASA_PORT}/socket.io  (events user_uttered / bot_uttered)
  Action server:      http://localhost:${ACTIONS_PORT}/health
  Operator console:   http://localhost:${CONSOLE_PORT}/  (accounts: python -m bot operator add LOGIN)
  Web widget (demo):  http://localhost:${ND_WEB_PORT}/  (an association's page with the chat widget)
  Case database:      var/cases.sqlite3 (encrypted personal fields; keys in var/keys/)
  Logs:               logs/rasa.log, logs/actions.log, logs/console.log (no message text)
Ctrl-C stops everything.
MSG
    wait -n "${pids[@]}" || true
    echo "A service stopped: see logs/."
    exit 1
  fi
  sleep 1
done
echo "Rasa did not start within 180 s: see logs/rasa.log"; exit 1
