#!/usr/bin/env python3
"""Start a Reelay pipeline from Python, watch its progress, print its result as JSON.

    python start_pipeline.py text2videoPipeline story.json --key my-story

Needs only the official Temporal SDK (requirements.txt), no Reelay code: inputs and results are plain
JSON, described by Reelay's schemas/<workflow type>.input.json and .result.json. With payload encryption
on (REELAY_PAYLOAD_KEY on the workers), pass --codec-endpoint: payloads are then encrypted and decrypted
by `reelay codec-server`, which holds the key; this script never sees it.

Exit status: 0 when the run completed (result on stdout), 1 when it failed, was cancelled, terminated or
timed out (the reason on stderr), 2 for bad usage.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from google.protobuf import json_format
from temporalio.api.common.v1 import Payload
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle, WorkflowQueryFailedError
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.converter import DataConverter, PayloadCodec
from temporalio.exceptions import FailureError, WorkflowAlreadyStartedError
from temporalio.service import RPCError

PROGRESS_INTERVAL_SECONDS = 1.0
# A query no worker answers (none running, or the run closing at that moment) would otherwise wait on the
# server for long, and the example waits for the query in flight before it exits.
QUERY_TIMEOUT = timedelta(seconds=5)


class CodecServerPayloadCodec(PayloadCodec):
    """Temporal's remote codec protocol: POST <endpoint>/encode or /decode with {"payloads": [...]}
    (Payloads in proto3 JSON: metadata values and data in base64), as the Temporal UI and CLI use it."""

    def __init__(self, endpoint: str, namespace: str, authorization: str | None = None) -> None:
        self._endpoint = endpoint.rstrip("/")
        self._headers = {"Content-Type": "application/json", "X-Namespace": namespace}
        if authorization:
            self._headers["Authorization"] = authorization

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return await asyncio.to_thread(self._post, "encode", payloads)

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return await asyncio.to_thread(self._post, "decode", payloads)

    def _post(self, operation: str, payloads: Sequence[Payload]) -> list[Payload]:
        if not payloads:
            return []
        body = json.dumps({"payloads": [json_format.MessageToDict(p) for p in payloads]}).encode()
        request = urllib.request.Request(f"{self._endpoint}/{operation}", data=body, headers=self._headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                answer = json.load(response)
        except urllib.error.HTTPError as err:
            # The codec server answers {"error": "..."}: wrong key, bad token, namespace not served.
            detail = err.read().decode(errors="replace")
            try:
                detail = json.loads(detail).get("error", detail)
            except ValueError:
                pass
            raise RuntimeError(f"codec server {operation}: HTTP {err.code}: {detail}") from None
        except urllib.error.URLError as err:
            raise RuntimeError(f"codec server {operation}: {err.reason}") from None
        return [json_format.ParseDict(p, Payload()) for p in answer.get("payloads") or []]


def workflow_id_for(workflow_type: str, key: str) -> str:
    """Reelay's own starters name a run `<idPrefix>-<key>`; every pipeline's prefix is its workflow type
    without "Pipeline" (text2videoPipeline -> text2video-<key>), so the CLI and the TypeScript client
    find the same run for the same key."""
    if not workflow_type.endswith("Pipeline"):
        raise SystemExit(f"{workflow_type!r} is not a Reelay workflow type (lipdubPipeline, text2videoPipeline, ...); use --workflow-id")
    return f"{workflow_type.removesuffix('Pipeline')}-{key}"


def failure_chain(err: BaseException) -> str:
    """`message (type) <- cause (type) <- ...`: a workflow failure wraps the activity's, which wraps the provider's."""
    parts: list[str] = []
    current: BaseException | None = err.__cause__ if isinstance(err, WorkflowFailureError) else err
    while current is not None:
        kind = getattr(current, "type", None)
        message = current.message if isinstance(current, FailureError) else str(current)
        parts.append(f"{message} ({kind})" if kind else message)
        current = current.__cause__
    return " <- ".join(parts)


class ProgressReporter:
    """Prints the `progress` query's stage and percent to stderr whenever they change."""

    def __init__(self, handle: WorkflowHandle[Any, Any], task_queue: str) -> None:
        self._handle = handle
        self._task_queue = task_queue
        self._last: tuple[Any, Any] | None = None

    async def once(self) -> None:
        try:
            progress = await self._handle.query("progress", rpc_timeout=QUERY_TIMEOUT)
        except (RPCError, WorkflowQueryFailedError) as err:
            # No worker answered yet, or the query timed out: the run goes on; ask again later.
            print(f"progress: not answered ({err}; is a worker polling task queue {self._task_queue}?)", file=sys.stderr, flush=True)
            return
        now = (progress.get("stage"), progress.get("percent"))
        if now != self._last:
            self._last = now
            log = progress.get("log") or []
            tail = f"  {log[-1]['message']}" if log else ""
            print(f"progress: stage={now[0]} percent={now[1]}{tail}", file=sys.stderr, flush=True)

    async def until(self, stop: asyncio.Event, interval: float) -> None:
        """Ask every `interval` seconds until `stop` is set; stopped between queries, never during one."""
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), interval)
            except asyncio.TimeoutError:
                await self.once()


async def run(args: argparse.Namespace) -> int:
    with open(args.input_file, encoding="utf-8") as f:
        workflow_input = json.load(f)
    workflow_id = args.workflow_id or workflow_id_for(args.workflow_type, args.key)

    data_converter = DataConverter.default
    if args.codec_endpoint:
        codec = CodecServerPayloadCodec(args.codec_endpoint, args.namespace, args.codec_auth)
        data_converter = dataclasses.replace(data_converter, payload_codec=codec)
    client = await Client.connect(args.address, namespace=args.namespace, data_converter=data_converter)

    try:
        # The same key twice returns the same run: a run still open is reused (USE_EXISTING); a closed one
        # is reused unless it failed (ALLOW_DUPLICATE_FAILED_ONLY: a failed key may run again). Temporal
        # does not compare inputs: another input under a used key gets the existing run back too.
        handle = await client.start_workflow(
            args.workflow_type,
            workflow_input,
            id=workflow_id,
            task_queue=args.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
            # What the Temporal UI and `reelay dashboard` show for the run (else "No summary available").
            # Keep secrets out: with a codec it is encrypted like any payload, without one it is plaintext.
            static_summary=args.summary or f"{args.workflow_type.removesuffix('Pipeline')}: {workflow_id.split('-', 1)[-1]} (Python)",
        )
        print(f"workflow {workflow_id} run {handle.result_run_id}", file=sys.stderr, flush=True)
    except WorkflowAlreadyStartedError as err:
        # A run with this id completed (or was cancelled, terminated, timed out): it is the answer.
        handle = client.get_workflow_handle(workflow_id, run_id=err.run_id)
        print(f"workflow {workflow_id} run {err.run_id} (already closed)", file=sys.stderr, flush=True)

    reporter = ProgressReporter(handle, args.task_queue)
    await reporter.once()  # answered even if the run is already over: the worker replays it
    stop = asyncio.Event()
    progress = asyncio.create_task(reporter.until(stop, args.progress_interval))
    try:
        result = await handle.result()
    except WorkflowFailureError as err:
        print(f"workflow {workflow_id} failed: {failure_chain(err)}", file=sys.stderr, flush=True)
        return 1
    finally:
        stop.set()
        await progress
    print(json.dumps(result, indent=2))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("workflow_type", help="e.g. text2videoPipeline (see schemas/)")
    parser.add_argument("input_file", help="the input as a JSON file (schemas/<workflow type>.input.json)")
    ident = parser.add_mutually_exclusive_group(required=True)
    ident.add_argument("--key", help="workflow id <prefix>-<key>, as Reelay's own starters name runs")
    ident.add_argument("--workflow-id", help="the workflow id, as given")
    parser.add_argument("--task-queue", default=os.environ.get("REELAY_TASK_QUEUE", "reelay"))
    parser.add_argument("--address", default=os.environ.get("TEMPORAL_ADDRESS", "localhost:7233"))
    parser.add_argument("--namespace", default=os.environ.get("TEMPORAL_NAMESPACE", "default"))
    parser.add_argument("--codec-endpoint", default=os.environ.get("REELAY_CODEC_ENDPOINT"), help="reelay codec-server URL, when payloads are encrypted")
    parser.add_argument("--codec-auth", default=os.environ.get("REELAY_CODEC_AUTH"), help='Authorization header for it, e.g. "Bearer <token>"')
    parser.add_argument("--summary", help="one line the Temporal UI and the dashboard show for the run (default: pipeline and key)")
    parser.add_argument("--progress-interval", type=float, default=PROGRESS_INTERVAL_SECONDS, help="seconds between progress queries")
    args = parser.parse_args()
    try:
        return asyncio.run(run(args))
    except (RPCError, RuntimeError, OSError) as err:
        # No server at --address, the codec server refusing, an unreadable input file.
        print(f"error: {err}", file=sys.stderr, flush=True)
        return 1


if __name__ == "__main__":
    exit_code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # The SDK's Rust core may still run a thread while the interpreter shuts down, which can abort or hang
    # a short-lived process after its work is done (temporalio/sdk-python#300): skip the shutdown.
    os._exit(exit_code)
