#!/usr/bin/env bash
# Start a Reelay pipeline with the `temporal` CLI, watch its progress, print its result as JSON.
#
#   examples/shell/start.sh text2videoPipeline story.json my-story
#
# The workflow id is <type without "Pipeline">-<key> (text2video-my-story), as Reelay's own starters name
# runs. The same key and input again return the same run: an open one is reused (UseExisting), a closed
# one too unless it failed (AllowDuplicateFailedOnly: a failed key may run again). Temporal does not
# compare inputs: another input under a used key gets the existing run back too.
#
# Environment: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE (read by the CLI itself); REELAY_TASK_QUEUE (default
# reelay); REELAY_SUMMARY, the one line the Temporal UI and `reelay dashboard` show for the run (default:
# pipeline and key; plaintext unless a codec endpoint is set, so keep secrets out); REELAY_CODEC_ENDPOINT (and REELAY_CODEC_AUTH, e.g. "Bearer <token>") when the workers encrypt
# payloads: `reelay codec-server` encrypts the input and decrypts the rest; TEMPORAL_CLI (default: temporal
# on PATH). Needs jq. Exit status: 0 completed (result on stdout), 1 failed, cancelled, terminated or
# timed out (the reason on stderr), 2 bad usage.
set -euo pipefail

if [[ $# -ne 3 ]]; then
  echo "usage: $0 WORKFLOW_TYPE INPUT.json KEY   (e.g. text2videoPipeline story.json my-story)" >&2
  exit 2
fi
workflow_type=$1 input_file=$2 key=$3
if [[ $workflow_type != *Pipeline ]]; then
  echo "$workflow_type is not a Reelay workflow type (lipdubPipeline, text2videoPipeline, …)" >&2
  exit 2
fi
workflow_id="${workflow_type%Pipeline}-$key"
task_queue=${REELAY_TASK_QUEUE:-reelay}
temporal=${TEMPORAL_CLI:-temporal}
command -v jq >/dev/null || { echo "$0 needs jq" >&2; exit 2; }
command -v "$temporal" >/dev/null || { echo "$0 needs the temporal CLI (on PATH, or TEMPORAL_CLI)" >&2; exit 2; }

codec=()
if [[ -n ${REELAY_CODEC_ENDPOINT:-} ]]; then
  codec=(--codec-endpoint "$REELAY_CODEC_ENDPOINT")
  if [[ -n ${REELAY_CODEC_AUTH:-} ]]; then codec+=(--codec-auth "$REELAY_CODEC_AUTH"); fi
fi
tcli() { "$temporal" "$@" ${codec[@]+"${codec[@]}"} --output json; }

summary=${REELAY_SUMMARY:-"${workflow_type%Pipeline}: $key (temporal CLI)"}
started=$(tcli workflow start --type "$workflow_type" --task-queue "$task_queue" --workflow-id "$workflow_id" \
  --input-file "$input_file" --id-conflict-policy UseExisting --id-reuse-policy AllowDuplicateFailedOnly \
  --static-summary "$summary")
echo "workflow $workflow_id run $(jq -r .runId <<<"$started")" >&2

# One line to stderr whenever stage or percent change. A query no worker answers gives up after 5 s.
last_progress=""
progress_once() {
  local answer line
  if answer=$(tcli workflow query --workflow-id "$workflow_id" --name progress --command-timeout 5s 2>/dev/null); then
    line=$(jq -r '.queryResult[0] | "stage=\(.stage) percent=\(.percent)"' <<<"$answer")
    if [[ $line != "$last_progress" ]]; then
      echo "progress: $line  $(jq -r '.queryResult[0].log[-1].message // ""' <<<"$answer")" >&2
      last_progress=$line
    fi
  else
    echo "progress: not answered (is a worker polling task queue $task_queue?)" >&2
  fi
}
progress_once # answered even if the run is already over: the worker replays it
(while sleep 1; do progress_once; done) &
watcher=$!
errors=$(mktemp)
trap 'kill "$watcher" 2>/dev/null || true; rm -f "$errors"' EXIT

# Waits for the run to close; exits 1 unless it completed, with the outcome as JSON either way.
outcome=$(tcli workflow result --workflow-id "$workflow_id" 2>"$errors") || true
if [[ -z $outcome ]]; then
  echo "workflow $workflow_id: no result: $(cat "$errors")" >&2
  exit 1
fi
status=$(jq -r .status <<<"$outcome")
if [[ $status == COMPLETED ]]; then
  jq .result <<<"$outcome"
  exit 0
fi
# A failure wraps its causes: workflow → activity → the provider's ApplicationFailure (with its type).
# With encryption on, each message is "Encoded failure" and the real one is in encodedAttributes, which
# the codec endpoint decrypted.
reason=$(jq -r '[.closeEvent | .. | .failure? // empty][0] // empty
  | [recurse(.cause // empty) | (.encodedAttributes.message // .message) + (if .applicationFailureInfo.type then " (\(.applicationFailureInfo.type))" else "" end)]
  | join(" <- ")' <<<"$outcome")
echo "workflow $workflow_id $(tr '[:upper:]' '[:lower:]' <<<"$status")${reason:+: $reason}" >&2
exit 1
