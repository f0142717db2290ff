// A small gRPC-Web client (binary protobuf over fetch) for the few messages
// the console uses. No build step, no dependencies: the console is served
// as these files by `callassist serve` at /console.

// --- protobuf wire format ---------------------------------------------------

function writeVarint(out, value) {
  let v = BigInt(value);
  while (v > 0x7fn) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
}

function encode(fields) {
  // fields: [[number, kind, value]] with kind "string" | "varint" | "bool".
  const out = [];
  for (const [number, kind, value] of fields) {
    if (kind === "string") {
      if (!value) continue;
      const bytes = new TextEncoder().encode(value);
      writeVarint(out, (number << 3) | 2);
      writeVarint(out, bytes.length);
      out.push(...bytes);
    } else if (value) {
      writeVarint(out, number << 3);
      writeVarint(out, kind === "bool" ? 1 : value);
    }
  }
  return new Uint8Array(out);
}

class Reader {
  constructor(bytes) {
    this.bytes = bytes;
    this.pos = 0;
  }
  varint() {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const b = this.bytes[this.pos++];
      result |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return result;
      shift += 7n;
    }
  }
}

// Schemas: field number -> [name, type, repeated?]. Types: "string", "uint",
// "bool", "float", "enum", or a schema object for a sub-message.
const S = {};
S.ScoredIntent = { 1: ["intent", "string"], 2: ["score", "float"] };
S.IntentPrediction = { 1: ["intent", "string"], 2: ["confidence", "float"], 3: ["alternatives", S.ScoredIntent, true] };
S.EmotionCue = { 1: ["emotion", "enum"], 2: ["intensity", "float"], 3: ["evidence", "string"] };
S.Entity = { 1: ["type", "string"], 2: ["text", "string"], 3: ["value", "string"] };
S.Analysis = {
  1: ["speaker", "enum"], 2: ["languageCode", "string"], 3: ["intent", S.IntentPrediction],
  4: ["emotions", S.EmotionCue, true], 5: ["entities", S.Entity, true], 6: ["isFinal", "bool"],
  7: ["intentCarriedOver", "bool"], 8: ["text", "string"],
};
S.Suggestion = {
  1: ["suggestionId", "string"], 2: ["kind", "enum"], 3: ["text", "string"], 4: ["rationale", "string"],
  5: ["confidence", "float"], 6: ["priority", "uint"], 7: ["ruleId", "string"],
};
S.Alert = { 1: ["kind", "enum"], 2: ["text", "string"], 3: ["rationale", "string"], 4: ["ruleId", "string"] };
S.Retraction = { 1: ["suggestionId", "string"], 2: ["reason", "string"] };
S.EmotionPoint = { 1: ["segmentId", "string"], 2: ["startMs", "uint"], 3: ["emotion", "enum"], 4: ["intensity", "float"] };
S.SpeechStats = { 1: ["turns", "uint"], 2: ["talkMs", "uint"], 3: ["interruptions", "uint"], 4: ["speakingRate", "float"], 5: ["negativePhrasings", "uint"] };
S.ChecklistItemResult = { 1: ["itemId", "string"], 2: ["label", "string"], 3: ["done", "bool"] };
S.CallSummary = {
  1: ["callId", "string"], 2: ["primaryIntent", "string"], 3: ["intents", "string", true],
  4: ["agentId", "string"], 5: ["languageCode", "string"], 6: ["endReason", "string"], 7: ["ended", "bool"],
  8: ["durationMs", "uint"], 9: ["emotionTimeline", S.EmotionPoint, true], 10: ["suggestionsShown", "uint"],
  11: ["suggestionsAccepted", "uint"], 12: ["suggestionsDismissed", "uint"], 13: ["alertsRaised", "uint"],
  14: ["followUps", "string", true], 15: ["agentStats", S.SpeechStats], 16: ["customerStats", S.SpeechStats],
  17: ["text", "string"], 18: ["peakEmotion", S.EmotionPoint], 19: ["checklist", S.ChecklistItemResult, true],
  20: ["agentTalkRatio", "float"],
};
S.AssistEvent = {
  1: ["callId", "string"], 2: ["eventId", "uint"], 3: ["segmentId", "string"], 4: ["processingUs", "uint"],
  10: ["analysis", S.Analysis], 11: ["suggestion", S.Suggestion], 12: ["alert", S.Alert],
  13: ["retraction", S.Retraction], 14: ["summary", S.CallSummary],
};
S.WatchCallResponse = { 1: ["event", S.AssistEvent], 2: ["droppedEvents", "uint"] };
S.CallInfo = {
  1: ["callId", "string"], 2: ["agentId", "string"], 3: ["languageCode", "string"],
  4: ["streaming", "bool"], 5: ["ended", "bool"], 6: ["events", "uint"],
};
S.ListCallsResponse = { 1: ["calls", S.CallInfo, true] };
S.SubmitFeedbackResponse = { 1: ["firstFeedback", "bool"] };

function decode(bytes, schema) {
  const r = new Reader(bytes);
  const out = {};
  for (const [, [name, type, repeated]] of Object.entries(schema)) {
    if (repeated) out[name] = [];
  }
  while (r.pos < bytes.length) {
    const key = Number(r.varint());
    const number = key >> 3;
    const wire = key & 7;
    let raw;
    if (wire === 0) raw = r.varint();
    else if (wire === 1) { raw = bytes.subarray(r.pos, r.pos + 8); r.pos += 8; }
    else if (wire === 2) { const n = Number(r.varint()); raw = bytes.subarray(r.pos, r.pos + n); r.pos += n; }
    else if (wire === 5) { raw = bytes.subarray(r.pos, r.pos + 4); r.pos += 4; }
    else throw new Error(`unsupported wire type ${wire}`);
    const field = schema[number];
    if (!field) continue;
    const [name, type, repeated] = field;
    let value;
    if (type === "string") value = new TextDecoder().decode(raw);
    else if (type === "uint" || type === "enum") value = Number(raw);
    else if (type === "bool") value = raw !== 0n;
    else if (type === "float") value = new DataView(raw.buffer, raw.byteOffset, 4).getFloat32(0, true);
    else value = decode(raw, type);
    if (repeated) out[name].push(value);
    else out[name] = value;
  }
  return out;
}

// --- gRPC-Web framing over fetch -------------------------------------------

const SERVICE = "callassist.v1.CallAssistService";

function frame(message) {
  const out = new Uint8Array(5 + message.length);
  new DataView(out.buffer).setUint32(1, message.length);
  out.set(message, 5);
  return out;
}

function parseTrailers(bytes) {
  const text = new TextDecoder().decode(bytes);
  const trailers = {};
  for (const line of text.split("\r\n")) {
    const i = line.indexOf(":");
    if (i > 0) trailers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return trailers;
}

export class GrpcError extends Error {
  constructor(code, message) {
    super(`${message} (gRPC status ${code})`);
    this.code = code;
  }
}

export class Client {
  constructor(baseUrl, token) {
    this.baseUrl = baseUrl.replace(/\/$/, "");
    this.token = token;
  }

  // Calls `method`, yielding each response message decoded with `schema`.
  async *call(method, request, schema, signal) {
    const headers = { "content-type": "application/grpc-web+proto", "x-grpc-web": "1" };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    const response = await fetch(`${this.baseUrl}/${SERVICE}/${method}`, {
      method: "POST", headers, body: frame(request), signal,
    });
    const headerStatus = response.headers.get("grpc-status");
    if (headerStatus && headerStatus !== "0") {
      throw new GrpcError(Number(headerStatus), decodeURIComponent(response.headers.get("grpc-message") || ""));
    }
    const reader = response.body.getReader();
    let buffer = new Uint8Array(0);
    for (;;) {
      const { value, done } = await reader.read();
      if (value) {
        const joined = new Uint8Array(buffer.length + value.length);
        joined.set(buffer);
        joined.set(value, buffer.length);
        buffer = joined;
      }
      while (buffer.length >= 5) {
        const flags = buffer[0];
        const length = new DataView(buffer.buffer, buffer.byteOffset + 1, 4).getUint32(0);
        if (buffer.length < 5 + length) break;
        const body = buffer.subarray(5, 5 + length);
        buffer = buffer.subarray(5 + length);
        if (flags & 0x80) {
          const trailers = parseTrailers(body);
          const status = Number(trailers["grpc-status"] || "0");
          if (status !== 0) throw new GrpcError(status, decodeURIComponent(trailers["grpc-message"] || ""));
          return;
        }
        yield decode(body, schema);
      }
      if (done) return;
    }
  }

  async unary(method, request, schema) {
    for await (const message of this.call(method, request, schema)) return message;
    throw new GrpcError(2, "no response message");
  }

  listCalls(includeEnded) {
    return this.unary("ListCalls", encode([[1, "bool", includeEnded]]), S.ListCallsResponse);
  }

  watchCall(callId, afterEventId, signal) {
    return this.call("WatchCall", encode([[1, "string", callId], [2, "varint", afterEventId]]), S.WatchCallResponse, signal);
  }

  submitFeedback(callId, suggestionId, action) {
    const request = encode([[1, "string", callId], [2, "string", suggestionId], [3, "varint", action]]);
    return this.unary("SubmitFeedback", request, S.SubmitFeedbackResponse);
  }
}

export const FeedbackAction = { ACCEPTED: 1, DISMISSED: 2, NOT_HELPFUL: 3 };
