"""Streams a recorded call (examples/calls/*.jsonl) to callassist with grpcio
and prints the assists as they arrive.

    pip install grpcio grpcio-tools
    python -m grpc_tools.protoc -Iproto --python_out=gen --grpc_python_out=gen \
        proto/callassist/v1/call_assist.proto
    python examples/clients/python/stream_call.py localhost:50051 \
        examples/calls/zh-lost-card-anxious.jsonl gen [TOKEN]
"""
import json
import sys
import time

addr, recording, stubs = sys.argv[1:4]
token = sys.argv[4] if len(sys.argv) > 4 else None
sys.path.insert(0, stubs)

import grpc  # noqa: E402
from callassist.v1 import call_assist_pb2 as pb  # noqa: E402
from callassist.v1 import call_assist_pb2_grpc as rpc  # noqa: E402

SPEAKERS = {"customer": pb.SPEAKER_CUSTOMER, "agent": pb.SPEAKER_AGENT}


def requests():
    """The recording as StreamCall messages; the call id made unique."""
    for line in open(recording, encoding="utf-8"):
        item = json.loads(line)
        if "start" in item:
            start = item["start"]
            yield pb.StreamCallRequest(start=pb.CallStart(
                call_id=f"{start['call_id']}-{int(time.time() * 1000)}",
                agent_id=start.get("agent_id", ""),
                language_code=start.get("language_code", "")))
        elif "segment" in item:
            s = dict(item["segment"])
            s["speaker"] = SPEAKERS[s["speaker"]]
            yield pb.StreamCallRequest(segment=pb.TranscriptSegment(**s))
            time.sleep(0.01)  # a real platform paces by the timestamps
        elif "end" in item:
            yield pb.StreamCallRequest(end=pb.CallEnd(reason=item["end"].get("reason", "")))


metadata = [("authorization", f"Bearer {token}")] if token else []
stub = rpc.CallAssistServiceStub(grpc.insecure_channel(addr))
for response in stub.StreamCall(requests(), metadata=metadata, timeout=60):
    event = response.event
    kind = event.WhichOneof("payload")
    if kind == "analysis" and event.analysis.is_final:
        a = event.analysis
        emotions = ", ".join(pb.Emotion.Name(e.emotion)[8:].lower() for e in a.emotions)
        print(f"analysis   {event.segment_id:<4} {a.intent.intent} {emotions}")
    elif kind == "suggestion":
        s = event.suggestion
        print(f"suggestion {event.segment_id:<4} [{pb.SuggestionKind.Name(s.kind)[16:].lower()}] {s.text}")
    elif kind == "alert":
        print(f"alert      {event.segment_id:<4} {event.alert.text}")
    elif kind == "retraction":
        print(f"retracted  {event.retraction.suggestion_id}")
    elif kind == "summary":
        print(f"summary    {event.summary.primary_intent}: {event.summary.text}")
