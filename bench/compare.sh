#!/usr/bin/env bash
# Turn latency of one checkout, for before/after comparisons (README « Measured figures »):
# starts its action server and Rasa on side ports (the rate limits raised: the bench sends
# from one address), runs bench/bench.py with 1 and then 5 conversations, stops them.
#   bench/compare.sh [CHECKOUT] [PORT_BASE]      (CHECKOUT must hold models/nouveau-depart.tar.gz)
set -euo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
DIR=$(cd "${1:-$HERE}" && pwd)
BASE=${2:-5100}
RASA_PORT=$((BASE + 5)) ACTIONS_PORT=$((BASE + 55))
PY="$HERE/.venv/bin/python" RASA="$HERE/.venv/bin/rasa"
STATE=$(mktemp -d)
export ND_STATE_DIR="$STATE" ND_ACTION_ENDPOINT="http://127.0.0.1:${ACTIONS_PORT}/webhook" ND_ACTION_PORT="$ACTIONS_PORT"
export ND_ACTION_TOKEN=$("$PY" -c "import secrets; print(secrets.token_hex(24))")
export ND_LIVE_TOKEN=$("$PY" -c "import secrets; print(secrets.token_hex(24))")
export ND_RATE_PER_CONVERSATION=100000 ND_RATE_PER_ADDRESS=100000 RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=2
cd "$DIR"
pids=()
stop() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$STATE"; }
trap stop EXIT
if [ -f connectors/action_server.py ]; then
  "$PY" -m connectors.action_server --port "$ACTIONS_PORT" > "$STATE/actions.log" 2>&1 &
else  # before the action server had its own launcher
  "$PY" -m rasa_sdk --actions actions --port "$ACTIONS_PORT" > "$STATE/actions.log" 2>&1 &
fi
pids+=($!)
"$RASA" run --model models/nouveau-depart.tar.gz --port "$RASA_PORT" --credentials credentials.yml \
  --endpoints endpoints.yml > "$STATE/rasa.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 240); do
  curl -fs "http://127.0.0.1:${RASA_PORT}/" >/dev/null && curl -fs "http://127.0.0.1:${ACTIONS_PORT}/health" >/dev/null && break
  sleep 1
done
echo "checkout: $DIR ($(git -C "$DIR" rev-parse --short HEAD))"
"$PY" "$HERE/bench/bench.py" --url "http://127.0.0.1:${RASA_PORT}" --conversations 1 --think 0 --rounds 8
"$PY" "$HERE/bench/bench.py" --url "http://127.0.0.1:${RASA_PORT}" --conversations 5 --think 1.0 --stagger 1.0 --rounds 3
