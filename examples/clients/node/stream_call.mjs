// Streams a recorded call (examples/calls/*.jsonl) to callassist with
// @grpc/grpc-js (the proto loaded at run time) and prints the assists.
//
//   npm install            (in examples/clients/node)
//   node stream_call.mjs localhost:50051 ../../calls/zh-lost-card-anxious.jsonl [TOKEN]
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import grpc from "@grpc/grpc-js";
import protoLoader from "@grpc/proto-loader";

const [addr, recording, token] = process.argv.slice(2);
const protoRoot = fileURLToPath(new URL("../../../proto", import.meta.url));
const definition = protoLoader.loadSync("callassist/v1/call_assist.proto", {
  includeDirs: [protoRoot], keepCase: true, enums: String, longs: Number, defaults: true, oneofs: true,
});
const { callassist } = grpc.loadPackageDefinition(definition);
const client = new callassist.v1.CallAssistService(addr, grpc.credentials.createInsecure());

const metadata = new grpc.Metadata();
if (token) metadata.set("authorization", `Bearer ${token}`);
const call = client.StreamCall(metadata);

call.on("data", ({ event }) => {
  const seg = event.segment_id.padEnd(4);
  switch (event.payload) {
    case "analysis":
      if (event.analysis.is_final) {
        const emotions = event.analysis.emotions.map((e) => e.emotion.replace("EMOTION_", "").toLowerCase());
        console.log(`analysis   ${seg} ${event.analysis.intent.intent} ${emotions.join(", ")}`);
      }
      break;
    case "suggestion": {
      const kind = event.suggestion.kind.replace("SUGGESTION_KIND_", "").toLowerCase();
      console.log(`suggestion ${seg} [${kind}] ${event.suggestion.text}`);
      break;
    }
    case "alert":
      console.log(`alert      ${seg} ${event.alert.text}`);
      break;
    case "retraction":
      console.log(`retracted  ${event.retraction.suggestion_id}`);
      break;
    case "summary":
      console.log(`summary    ${event.summary.primary_intent}: ${event.summary.text}`);
      break;
  }
});
call.on("error", (e) => {
  console.error(`callassist: ${e.details || e.message}`);
  process.exitCode = 1;
});

const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
for (const line of readFileSync(recording, "utf8").split("\n").filter(Boolean)) {
  const item = JSON.parse(line);
  if (item.start) {
    call.write({ start: { ...item.start, call_id: `${item.start.call_id}-${Date.now()}` } });
  } else if (item.segment) {
    const speaker = item.segment.speaker === "agent" ? "SPEAKER_AGENT" : "SPEAKER_CUSTOMER";
    call.write({ segment: { ...item.segment, speaker } });
    await pause(10); // a real platform paces by the timestamps
  } else if (item.end) {
    call.write({ end: item.end });
  }
}
call.end();
