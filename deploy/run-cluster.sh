#!/usr/bin/env bash
# Run N collab processes (gunicorn, gevent, one worker each) on consecutive ports,
# sharing PostgreSQL (notes) and Redis (broadcasts and presence).
#
#   COLLAB_DATABASE=postgresql://collab@127.0.0.1/collab \
#   COLLAB_MESSAGE_QUEUE=redis://127.0.0.1:6379/0 \
#   deploy/run-cluster.sh 3 5001
#
# Then put deploy/nginx.conf in front. Ctrl+C stops them all.
set -euo pipefail
n=${1:-3}
base=${2:-5001}
: "${COLLAB_DATABASE:?set COLLAB_DATABASE=postgresql://...}"
: "${COLLAB_MESSAGE_QUEUE:?set COLLAB_MESSAGE_QUEUE=redis://...}"
export COLLAB_TRUST_PROXY=${COLLAB_TRUST_PROXY:-true}   # behind nginx: client IPs from X-Forwarded-For
cd "$(dirname "$0")/.."
pids=()
trap 'kill -TERM "${pids[@]}" 2>/dev/null; wait' INT TERM EXIT
for ((i = 0; i < n; i++)); do
  port=$((base + i))
  gunicorn -k geventwebsocket.gunicorn.workers.GeventWebSocketWorker -w 1 --bind "127.0.0.1:$port" --graceful-timeout 20 wsgi:app &
  pids+=($!)
done
wait
