"""Interoperability check: drives callassist from Python grpcio with stubs
generated from proto/ by grpcio-tools, the way an integrator would.

Usage: client.py ADDR STUBS_DIR  (exit status 0 and "interop OK" on success)
"""
import sys

addr, stubs = sys.argv[1], sys.argv[2]
sys.path.insert(0, stubs)

import grpc  # noqa: E402
from grpc_health.v1 import health_pb2, health_pb2_grpc  # noqa: E402
from callassist.v1 import call_assist_pb2 as pb  # noqa: E402
from callassist.v1 import call_assist_pb2_grpc as rpc  # noqa: E402


def check(condition, message):
    if not condition:
        print("FAILED:", message)
        sys.exit(1)


channel = grpc.insecure_channel(addr)
grpc.channel_ready_future(channel).result(timeout=10)
stub = rpc.CallAssistServiceStub(channel)

# Health, as a Kubernetes probe or grpc_health_probe would ask.
health = health_pb2_grpc.HealthStub(channel)
for service in ("", "callassist.v1.CallAssistService"):
    status = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5).status
    check(status == health_pb2.HealthCheckResponse.SERVING, f"health of {service!r} is {status}")


def seg(segment_id, speaker, text, is_final, start_ms, end_ms):
    return pb.StreamCallRequest(segment=pb.TranscriptSegment(
        segment_id=segment_id, speaker=speaker, text=text, is_final=is_final,
        start_ms=start_ms, end_ms=end_ms, asr_confidence=0.9))


C, A = pb.SPEAKER_CUSTOMER, pb.SPEAKER_AGENT
requests = [
    pb.StreamCallRequest(start=pb.CallStart(call_id="py-interop-1", agent_id="a-1", language_code="zh-CN",
                                            metadata={"queue": "retail"})),
    seg("a1", A, "您好，很高兴为您服务", True, 0, 1500),
    seg("c1", C, "我的卡", False, 1800, 2400),
    seg("c1", C, "我的卡丢了，我好担心", True, 1800, 3600),
    seg("a2", A, "您别着急，我马上帮您挂失", True, 4000, 6000),
    pb.StreamCallRequest(end=pb.CallEnd(reason="hangup")),
]
events = [r.event for r in stub.StreamCall(iter(requests), timeout=10)]
check(events, "no events")
check([e.event_id for e in events] == list(range(1, len(events) + 1)), "event ids are 1..n")
kinds = [e.WhichOneof("payload") for e in events]
check(kinds[-1] == "summary", f"last event is {kinds[-1]}")
summary = events[-1].summary
check(summary.ended and summary.end_reason == "hangup", "summary ended with hangup")
check(summary.primary_intent == "card_lost_stolen", f"primary intent {summary.primary_intent}")
finals = [e for e in events if e.WhichOneof("payload") == "analysis" and e.analysis.is_final]
check(sorted(e.segment_id for e in finals) == ["a1", "a2", "c1"], "one final analysis per final segment")
c1 = [e for e in events if e.segment_id == "c1"]
final_at = next(i for i, e in enumerate(c1) if e.WhichOneof("payload") == "analysis" and e.analysis.is_final)
check(any(e.WhichOneof("payload") == "suggestion" and e.suggestion.kind == pb.SUGGESTION_KIND_EMPATHY
          for e in c1[final_at:]), "empathy for the anxious customer")

# A console joining late replays what the agent's screen shows and the stream
# ends: every event except those a segment's final superseded (its interim
# analyses, and suggestions its revisions withdrew; their retractions stay).
watched = [r.event for r in stub.WatchCall(pb.WatchCallRequest(call_id="py-interop-1", after_event_id=0), timeout=10)]
withdrawn = {(e.segment_id, e.retraction.suggestion_id) for e in events if e.WhichOneof("payload") == "retraction"}
settled = [e.event_id for e in events
           if not (e.WhichOneof("payload") == "analysis" and not e.analysis.is_final)
           and not (e.WhichOneof("payload") == "suggestion" and (e.segment_id, e.suggestion.suggestion_id) in withdrawn)]
check(len(settled) < len(events), "the interim analysis of c1 is not replayed")
check([e.event_id for e in watched] == settled, "watch replays every event that still shows")

# Unary calls.
got = stub.GetCallSummary(pb.GetCallSummaryRequest(call_id="py-interop-1"), timeout=5).summary
check(got == summary, "GetCallSummary returns the kept summary")
analysis = stub.AnalyzeUtterance(pb.AnalyzeUtteranceRequest(text="what's my balance"), timeout=5).analysis
check(analysis.intent.intent == "check_balance", f"AnalyzeUtterance intent {analysis.intent.intent}")

# Errors carry the standard codes.
try:
    list(stub.StreamCall(iter([seg("x", C, "hi", True, 0, 1)]), timeout=5))
    check(False, "a segment before start must fail")
except grpc.RpcError as e:
    check(e.code() == grpc.StatusCode.INVALID_ARGUMENT and "start" in e.details(), f"{e.code()} {e.details()}")
try:
    stub.GetCallSummary(pb.GetCallSummaryRequest(call_id="no-such-call"), timeout=5)
    check(False, "unknown call must fail")
except grpc.RpcError as e:
    check(e.code() == grpc.StatusCode.NOT_FOUND, f"{e.code()}")

print("interop OK:", len(events), "events")
