// The agent console: pick a live call, follow its transcript with intent and
// emotion chips, see suggestions as cards and alerts on top, mark cards used
// or dismissed, read the summary at the end. Talks gRPC-Web to the service.

import { Client, FeedbackAction } from "/console/grpc-web.js";

const TEXT = {
  zh: {
    title: "坐席助手", token: "令牌", calls: "通话", callId: "通话编号", watch: "观看",
    transcript: "实时转写", suggestions: "建议", customer: "客户", agent: "坐席",
    used: "已采用", dismiss: "忽略", summary: "通话小结", noCalls: "暂无进行中的通话",
    connected: "已连接", watching: "正在观看", ended: "通话已结束", error: "错误",
    kinds: { 1: "共情", 2: "澄清提问", 3: "确认", 4: "下一步", 5: "换个说法", 6: "话术提醒", 7: "流程" },
    emotions: { 1: "不满", 2: "焦虑", 3: "困惑", 4: "紧急", 5: "难过", 6: "满意" },
    lang: "English", followUps: "待跟进", accepted: "采用建议",
  },
  en: {
    title: "Agent assist", token: "Token", calls: "Calls", callId: "Call id", watch: "Watch",
    transcript: "Live transcript", suggestions: "Suggestions", customer: "Customer", agent: "Agent",
    used: "Used", dismiss: "Dismiss", summary: "Call summary", noCalls: "No live calls",
    connected: "Connected", watching: "Watching", ended: "Call ended", error: "Error",
    kinds: { 1: "Empathy", 2: "Clarify", 3: "Confirm", 4: "Next step", 5: "Reframe", 6: "Coaching", 7: "Flow" },
    emotions: { 1: "frustration", 2: "anxiety", 3: "confusion", 4: "urgency", 5: "sadness", 6: "satisfaction" },
    lang: "中文", followUps: "Follow-ups", accepted: "suggestions used",
  },
};
const KIND_CLASS = { 1: "empathy", 2: "clarifying", 3: "confirmation", 4: "next-step", 5: "reframe", 6: "coaching", 7: "compliance" };

const params = new URLSearchParams(location.search);
let lang = params.get("lang") === "en" ? "en" : "zh";
let client;
let watching = null; // { callId, abort }
const $ = (id) => document.getElementById(id);
const t = (key) => TEXT[lang][key];

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const child of children) node.append(child);
  return node;
}

function applyLanguage() {
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const node of document.querySelectorAll("[data-i18n-placeholder]")) node.placeholder = t(node.dataset.i18nPlaceholder);
  $("lang").textContent = t("lang");
}

function status(text) {
  $("status").textContent = text;
}

async function connect() {
  const configured = params.get("grpc");
  let base = configured;
  if (!base) {
    const config = await (await fetch("/console/config.json")).json();
    base = `${location.protocol}//${location.hostname}:${config.grpcPort}`;
  }
  client = new Client(base, $("token").value || params.get("token") || "");
}

async function refreshCalls() {
  try {
    const { calls } = await client.listCalls(false);
    const list = $("calls");
    list.replaceChildren();
    if (calls.length === 0) list.append(el("li", { class: "empty" }, t("noCalls")));
    for (const call of calls) {
      const button = el("button", { type: "button", "data-call": call.callId, onclick: () => watch(call.callId) }, call.callId);
      if (watching && watching.callId === call.callId) button.classList.add("active");
      list.append(el("li", {}, button));
    }
    status(t("connected"));
  } catch (e) {
    status(`${t("error")}: ${e.message}`);
  }
}

function chips(analysis) {
  const out = [];
  if (analysis.intent && analysis.intent.intent && analysis.speaker === 1) {
    out.push(el("span", { class: "chip intent", "data-testid": "intent" }, analysis.intent.intent));
  }
  for (const cue of analysis.emotions) {
    out.push(el("span", { class: "chip emotion", "data-testid": "emotion" }, `${TEXT[lang].emotions[cue.emotion] || "?"} ${cue.intensity.toFixed(2)}`));
  }
  return out;
}

function showAnalysis(event) {
  const a = event.analysis;
  if (!a.isFinal) return;
  const who = a.speaker === 2 ? "agent" : "customer";
  $("transcript").append(el("li", { class: who, "data-segment": event.segmentId },
    el("span", { class: "who" }, t(who)), a.text, el("div", {}, ...chips(a))));
}

function showSuggestion(callId, s) {
  const card = el("div", { class: `card ${KIND_CLASS[s.kind] || ""}`, "data-testid": "card", "data-suggestion": s.suggestionId, "data-kind": String(s.kind), title: s.rationale },
    el("div", { class: "kind" }, TEXT[lang].kinds[s.kind] || ""),
    el("div", { class: "text" }, s.text));
  const feedback = (action, cls) => async () => {
    await client.submitFeedback(callId, s.suggestionId, action);
    card.classList.add(cls);
  };
  card.append(el("div", { class: "actions" },
    el("button", { type: "button", "data-testid": "use", onclick: feedback(FeedbackAction.ACCEPTED, "used") }, t("used")),
    el("button", { type: "button", "data-testid": "dismiss", onclick: feedback(FeedbackAction.DISMISSED, "dismissed") }, t("dismiss"))));
  $("cards").prepend(card);
}

function showSummary(s) {
  const box = $("summary");
  box.replaceChildren(
    el("h3", {}, t("summary")),
    el("p", { "data-testid": "summary-text" }, s.text),
    el("p", {}, `${s.primaryIntent} · ${s.suggestionsAccepted}/${s.suggestionsShown} ${t("accepted")}`));
  if (s.followUps.length) box.append(el("p", {}, `${t("followUps")}: ${s.followUps.join("; ")}`));
  box.hidden = false;
  status(t("ended"));
}

async function watch(callId) {
  if (watching) watching.abort.abort();
  const abort = new AbortController();
  watching = { callId, abort };
  $("call-title").textContent = callId;
  for (const id of ["transcript", "cards", "alerts"]) $(id).replaceChildren();
  $("summary").hidden = true;
  status(`${t("watching")} ${callId}`);
  try {
    for await (const response of client.watchCall(callId, 0, abort.signal)) {
      const event = response.event;
      if (!event) continue;
      if (event.analysis) showAnalysis(event);
      else if (event.suggestion) showSuggestion(callId, event.suggestion);
      else if (event.alert) $("alerts").prepend(el("div", { class: "alert", "data-testid": "alert", title: event.alert.rationale }, event.alert.text));
      else if (event.retraction) {
        const card = document.querySelector(`[data-suggestion="${event.retraction.suggestionId}"]`);
        if (card) { card.classList.add("retracted"); card.title = event.retraction.reason; }
      } else if (event.summary) showSummary(event.summary);
    }
  } catch (e) {
    if (!abort.signal.aborted) status(`${t("error")}: ${e.message}`);
  }
}

$("lang").addEventListener("click", () => { lang = lang === "zh" ? "en" : "zh"; applyLanguage(); refreshCalls(); });
$("token").addEventListener("change", async () => { await connect(); refreshCalls(); });
$("manual").addEventListener("submit", (e) => { e.preventDefault(); const id = $("call-id").value.trim(); if (id) watch(id); });

applyLanguage();
await connect();
await refreshCalls();
setInterval(refreshCalls, 2000);
if (params.get("call")) watch(params.get("call"));
