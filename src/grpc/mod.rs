//! The gRPC adapter. Each handler validates the request, converts it to
//! domain types ([`convert`]), calls the session layer and the pipeline, and
//! maps errors to statuses ([`status`]). No analysis or policy lives here.

pub mod auth;
pub mod convert;
pub mod echo;
mod remote;
pub mod status;

use crate::{
    cluster::{Cluster, Listing, Record, StoredSummary},
    instruments,
    pb::{
        self, call_assist_service_server::CallAssistService, stream_call_request::Event as Inbound,
    },
    pipeline::{pii, CallContext, Pipeline, Speaker, Tier, Timing, Utterance},
    semantic::SemanticTier,
    session::{Attachment, Call, CallId, CallKey, Event, Payload, Registry, Subscription},
    Error,
};
use prost::Message as _;
use std::{
    sync::Arc,
    time::{Duration, Instant},
};
use tokio::sync::{broadcast::error::RecvError, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status, Streaming};
use tracing::{debug, info, info_span, Instrument};

/// Responses a StreamCall client may leave unread before the call's
/// processing waits for it. The stream's own client is the only one slowed
/// down: watchers and other calls are unaffected.
pub const STREAM_RESPONSE_BUFFER: usize = 64;

/// Responses a watcher may leave unread in its outbound queue. Beyond this
/// the watcher's task waits, its broadcast receiver falls behind, and it
/// loses the oldest events (counted in `dropped_events`).
pub const WATCH_RESPONSE_BUFFER: usize = 16;

/// Longest accepted `end.reason`.
pub const MAX_END_REASON_BYTES: usize = 128;

/// How long a draining replica waits for a call's hand-over record (its
/// checkpoint and released lease) to reach Redis before it ends the call
/// itself instead.
pub const HAND_OVER_WAIT: Duration = Duration::from_secs(2);

/// The `CallAssistService` implementation.
#[derive(Debug, Clone)]
pub struct CallAssist {
    /// Every call.
    registry: Arc<Registry>,
    /// The analysis pipeline shared by all calls.
    pipeline: Arc<Pipeline>,
    /// Cancelled when the server begins to drain: open streams end their
    /// calls and send the summary.
    shutdown: CancellationToken,
    /// Longest accepted segment or utterance text, in bytes.
    max_text_bytes: usize,
    /// The encoder, once loaded: customer finals are embedded here and
    /// decided by the semantic tier.
    semantic: Arc<SemanticTier>,
    /// Cluster mode: calls are owned through Redis leases, recorded there
    /// and watched from there. `None`: one replica, everything in memory.
    cluster: Option<Arc<Cluster>>,
    /// Cancelled (before `shutdown`) when a draining replica hands its calls
    /// over to the others instead of ending them.
    hand_over: CancellationToken,
}

impl CallAssist {
    /// The service over the given registry and pipeline.
    pub fn new(
        registry: Arc<Registry>,
        pipeline: Arc<Pipeline>,
        shutdown: CancellationToken,
        max_text_bytes: usize,
        semantic: Arc<SemanticTier>,
    ) -> Self {
        CallAssist {
            registry,
            pipeline,
            shutdown,
            max_text_bytes,
            semantic,
            cluster: None,
            hand_over: CancellationToken::new(),
        }
    }

    /// The service in cluster mode: `hand_over` is cancelled when a
    /// draining replica passes its calls to the others.
    pub fn with_cluster(mut self, cluster: Arc<Cluster>, hand_over: CancellationToken) -> Self {
        self.cluster = Some(cluster);
        self.hand_over = hand_over;
        self
    }

    /// Attaches a StreamCall; in cluster mode after claiming the call in
    /// Redis (taking it over from its checkpoint if it lived elsewhere).
    async fn attach(&self, start: crate::session::CallStart) -> Result<Attachment, Error> {
        let Some(cluster) = &self.cluster else {
            return self.registry.attach(start);
        };
        let key = CallKey {
            tenant: start.tenant.clone(),
            id: start.call_id.clone(),
        };
        if let Ok(call) = self.registry.get(&key.tenant, &key.id) {
            if call.info().is_some_and(|i| i.streaming || i.ended) {
                // Streaming (or ended) here: the registry says which.
                return self.registry.attach(start);
            }
        }
        let checkpoint = cluster.claim(&start).await?;
        match self.registry.attach_from(start, checkpoint) {
            Ok(attachment) => {
                self.replicate(&attachment.call, Vec::new(), true, false);
                Ok(attachment)
            }
            Err(error) => {
                // Not taken here after all (full, draining): let it go.
                let mut record = Record::new(key, None);
                record.release = true;
                cluster.record(record);
                Err(error)
            }
        }
    }

    /// Cluster mode: queues for Redis what a segment (or the end) of `call`
    /// emitted (`events`, encoded as watchers receive them), its checkpoint
    /// if `checkpoint`, and a lease release if `release`. The stream never
    /// waits for Redis (see [`Cluster::record`]).
    fn replicate(
        &self,
        call: &Call,
        events: Vec<(Arc<Event>, Vec<u8>)>,
        checkpoint: bool,
        release: bool,
    ) {
        if let Some(cluster) = &self.cluster {
            if let Some(record) = record_of(call, events, checkpoint, release) {
                cluster.record(record);
            }
        }
    }

    /// The stream `attachment` is gone without `end`: one replica keeps the
    /// call waiting for its client; in cluster mode it is checkpointed,
    /// released and dropped from memory, for any replica to take over.
    fn let_go(&self, attachment: &Attachment) {
        let Some(cluster) = &self.cluster else {
            self.registry.detach(attachment);
            return;
        };
        let record = record_of(&attachment.call, Vec::new(), true, true);
        if self.registry.forget(attachment) {
            if let Some(record) = record {
                cluster.record(record);
            }
        }
    }

    /// Drain in cluster mode with other replicas up: hands the call over
    /// (checkpoint and lease release written to Redis) and tells the client
    /// to reconnect. `false` if Redis did not take it in time: the caller
    /// then ends the call as a single replica does.
    async fn hand_over(
        &self,
        attachment: &Attachment,
        tx: &mpsc::Sender<Result<pb::StreamCallResponse, Status>>,
    ) -> bool {
        let (Some(cluster), true) = (&self.cluster, self.hand_over.is_cancelled()) else {
            return false;
        };
        let Some(record) = record_of(&attachment.call, Vec::new(), true, true) else {
            return false;
        };
        if !cluster.record_and_wait(record, HAND_OVER_WAIT).await {
            tracing::warn!("Redis did not take the hand-over in time: ending the call here");
            return false;
        }
        self.registry.forget(attachment);
        info!("server draining: call handed over to another replica");
        let _ = tx
            .send(Err(Error::Unavailable(HAND_OVER_MESSAGE.into()).into()))
            .await;
        true
    }

    /// The embedding of a customer's final turn when the semantic tier can
    /// take it (loaded, the model has a head, capacity within the budget);
    /// counts which tier decides. Interims and agent turns stay on the
    /// fast tier.
    async fn embedding(&self, speaker: Speaker, is_final: bool, text: &str) -> Option<Vec<f32>> {
        if speaker != Speaker::Customer || !is_final {
            return None;
        }
        let embedding = if self.pipeline.has_semantic_head() {
            self.semantic.embed(text).await
        } else {
            None
        };
        instruments::tier_decision(if embedding.is_some() {
            Tier::Semantic
        } else {
            Tier::Fast
        });
        embedding
    }
}

type StreamOf<T> = ReceiverStream<Result<T, Status>>;

/// Where a watcher's task sends its responses.
type WatchResponses = mpsc::Sender<Result<pb::WatchCallResponse, Status>>;

#[tonic::async_trait]
impl CallAssistService for CallAssist {
    type StreamCallStream = StreamOf<pb::StreamCallResponse>;
    type WatchCallStream = StreamOf<pb::WatchCallResponse>;

    async fn stream_call(
        &self,
        request: Request<Streaming<pb::StreamCallRequest>>,
    ) -> Result<Response<Self::StreamCallStream>, Status> {
        let tenant = auth::tenant(&request)?;
        let metadata = request.metadata().clone();
        let mut inbound = request.into_inner();
        let first = inbound
            .message()
            .await
            .map_err(|e| status::inbound_failure(&e).map_or(e, Status::from))?
            .ok_or_else(|| Error::invalid("start", "the stream ended before its first message"))?;
        let start = match first.event {
            Some(Inbound::Start(start)) => convert::call_start(start, tenant)?,
            Some(_) => {
                return Err(Error::invalid(
                    "start",
                    "the first message of a stream must be `start`",
                )
                .into())
            }
            None => {
                return Err(Error::invalid("event", "must be set (start, segment or end)").into())
            }
        };
        let attachment = self.attach(start).await?;
        let span =
            info_span!("call", call_id = %attachment.call.id(), stream = attachment.generation);
        crate::telemetry::link_to_caller(&span, &metadata);
        span.in_scope(|| info!(resumed = attachment.resumed, "call stream attached"));
        let (tx, rx) = mpsc::channel(STREAM_RESPONSE_BUFFER);
        tokio::spawn(
            self.clone()
                .run_stream(attachment, inbound, tx)
                .instrument(span),
        );
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    async fn watch_call(
        &self,
        request: Request<pb::WatchCallRequest>,
    ) -> Result<Response<Self::WatchCallStream>, Status> {
        let tenant = auth::tenant(&request)?;
        let call_id = CallId::parse(&request.get_ref().call_id, "call_id")?;
        let span = info_span!("watch", call_id = %call_id);
        crate::telemetry::link_to_caller(&span, request.metadata());
        let request = request.into_inner();
        let (tx, rx) = mpsc::channel(WATCH_RESPONSE_BUFFER);
        match &self.cluster {
            Some(cluster) => {
                let key = CallKey {
                    tenant,
                    id: call_id,
                };
                let watch =
                    remote::Watch::open(cluster.clone(), key, request.after_event_id).await?;
                tokio::spawn(watch.run(tx, self.shutdown.clone()).instrument(span));
            }
            None => {
                let subscription = self
                    .registry
                    .watch(&tenant, call_id, request.after_event_id)?;
                tokio::spawn(run_watch(subscription, tx).instrument(span));
            }
        }
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    async fn analyze_utterance(
        &self,
        request: Request<pb::AnalyzeUtteranceRequest>,
    ) -> Result<Response<pb::AnalyzeUtteranceResponse>, Status> {
        auth::tenant(&request)?;
        let request = request.into_inner();
        if request.text.trim().is_empty() {
            return Err(Error::invalid("text", "must not be empty").into());
        }
        if request.text.len() > self.max_text_bytes {
            return Err(Error::invalid(
                "text",
                format!(
                    "is longer than {} bytes (max_segment_bytes)",
                    self.max_text_bytes
                ),
            )
            .into());
        }
        let speaker = match request.speaker {
            0 => Speaker::Customer,
            value => convert::speaker(value, "speaker")?,
        };
        let embedding = self.embedding(speaker, true, &request.text).await;
        let utterance = Utterance {
            embedding: embedding.as_deref(),
            text: &request.text,
            speaker,
            language: convert::language(&request.language_code, "language_code")?,
            is_final: true,
        };
        let processed =
            self.pipeline
                .process(&utterance, Timing::default(), &CallContext::default());
        let analysis = processed.analysis;
        let suggestions = processed
            .advice
            .suggestions()
            .enumerate()
            .map(|(i, s)| convert::suggestion(&format!("u-{}", i + 1), s))
            .collect();
        Ok(Response::new(pb::AnalyzeUtteranceResponse {
            analysis: Some(convert::analysis(&analysis)),
            suggestions,
        }))
    }

    async fn submit_feedback(
        &self,
        request: Request<pb::SubmitFeedbackRequest>,
    ) -> Result<Response<pb::SubmitFeedbackResponse>, Status> {
        let tenant = auth::tenant(&request)?;
        let request = request.into_inner();
        let call_id = CallId::parse(&request.call_id, "call_id")?;
        if request.suggestion_id.is_empty() {
            return Err(Error::invalid("suggestion_id", "must not be empty").into());
        }
        let action = convert::feedback_action(request.action)?;
        let id = &request.suggestion_id;
        let here = self.registry.feedback(&tenant, &call_id, id, action);
        let first_feedback = match (&self.cluster, here) {
            (None, here) => here?,
            (Some(cluster), Ok(first)) => {
                // The call is here: its ledger counts; Redis learns it for
                // a takeover and for the stored summary.
                let key = CallKey {
                    tenant,
                    id: call_id,
                };
                if let Err(error) = cluster.feedback(&key, id, action, true).await {
                    tracing::warn!(%error, "feedback kept here only: Redis did not take it");
                }
                first
            }
            (Some(cluster), Err(Error::NotFound(_))) => {
                let key = CallKey {
                    tenant,
                    id: call_id,
                };
                cluster
                    .feedback(&key, id, action, false)
                    .await?
                    .ok_or_else(|| {
                        Error::NotFound(format!("suggestion {id:?} not found in call {}", key.id))
                    })?
            }
            (Some(_), Err(error)) => return Err(error.into()),
        };
        instruments::feedback(action);
        Ok(Response::new(pb::SubmitFeedbackResponse { first_feedback }))
    }

    async fn get_call_summary(
        &self,
        request: Request<pb::GetCallSummaryRequest>,
    ) -> Result<Response<pb::GetCallSummaryResponse>, Status> {
        let tenant = auth::tenant(&request)?;
        let call_id = CallId::parse(&request.into_inner().call_id, "call_id")?;
        let summary = match (&self.cluster, self.registry.summary(&tenant, &call_id)) {
            (Some(cluster), Err(Error::NotFound(message))) => {
                let key = CallKey {
                    tenant,
                    id: call_id,
                };
                cluster
                    .summary(&key)
                    .await?
                    .ok_or(Error::NotFound(message))?
            }
            (_, summary) => summary?,
        };
        Ok(Response::new(pb::GetCallSummaryResponse {
            summary: Some(convert::summary(&summary)),
        }))
    }

    async fn list_calls(
        &self,
        request: Request<pb::ListCallsRequest>,
    ) -> Result<Response<pb::ListCallsResponse>, Status> {
        let tenant = auth::tenant(&request)?;
        let include_ended = request.into_inner().include_ended;
        let mut calls = self.registry.list(&tenant, include_ended, MAX_LISTED_CALLS);
        if let Some(cluster) = &self.cluster {
            // Redis lists every replica's calls; this replica's own state
            // is the freshest for its calls.
            let mut all: std::collections::BTreeMap<_, _> = cluster
                .list(&tenant, include_ended, MAX_LISTED_CALLS)
                .await?
                .into_iter()
                .map(|c| (c.call_id.clone(), c))
                .collect();
            all.extend(calls.into_iter().map(|c| (c.call_id.clone(), c)));
            calls = all.into_values().take(MAX_LISTED_CALLS).collect();
        }
        let calls = calls.iter().map(convert::call_info).collect();
        Ok(Response::new(pb::ListCallsResponse { calls }))
    }
}

/// What a client is told when its replica drains and hands its call over.
pub const HAND_OVER_MESSAGE: &str = "replica draining: the call was handed over; reconnect with the same `start` (on any replica) and resend the segment whose events had not all arrived";

/// Cluster mode: the [`Record`] of what `call` emitted (`events` with their
/// encoded form), `None` for a call that is not started.
fn record_of(
    call: &Call,
    events: Vec<(Arc<Event>, Vec<u8>)>,
    checkpoint: bool,
    release: bool,
) -> Option<Record> {
    let mut info = call.info()?;
    if release {
        info.streaming = false;
    }
    let mut record = Record::new(call.key().clone(), Some(Listing::of(&info)));
    for (event, bytes) in events {
        match &event.payload {
            Payload::Suggestion { id, .. } => record.shown.push(id.clone()),
            Payload::Summary(summary) => {
                record.summary = Some(StoredSummary {
                    event_id: event.event_id,
                    summary: (**summary).clone(),
                })
            }
            _ => {}
        }
        record.events.push((event.event_id, bytes));
    }
    if checkpoint {
        record.checkpoint = call.checkpoint().map(|c| c.encode());
    }
    record.release = release;
    Some(record)
}

/// Most calls one ListCalls returns.
pub const MAX_LISTED_CALLS: usize = 1000;

fn is_summary(event: &Event) -> bool {
    matches!(event.payload, Payload::Summary(_))
}

impl CallAssist {
    /// Serves one attached StreamCall until `end`, an error, the client
    /// leaving, or shutdown.
    async fn run_stream(
        self,
        attachment: Attachment,
        mut inbound: Streaming<pb::StreamCallRequest>,
        tx: mpsc::Sender<Result<pb::StreamCallResponse, Status>>,
    ) {
        let call = attachment.call.clone();
        let clustered = self.cluster.is_some();
        // Sends `events` to the client, in cluster mode also queueing them
        // (encoded once) for Redis; false if the client left.
        let send = |events: Vec<Arc<Event>>, checkpoint: bool| {
            let tx = tx.clone();
            let this = &self;
            let call = &call;
            async move {
                let mut replicated = Vec::new();
                let mut delivered = true;
                for event in events {
                    let message = convert::event(&event);
                    if clustered {
                        replicated.push((event.clone(), message.encode_to_vec()));
                    }
                    if delivered {
                        delivered = tx
                            .send(Ok(pb::StreamCallResponse {
                                event: Some(message),
                            }))
                            .await
                            .is_ok();
                    }
                }
                if !replicated.is_empty() || checkpoint {
                    this.replicate(call, replicated, checkpoint, false);
                }
                delivered
            }
        };
        loop {
            let message = tokio::select! {
                biased;
                _ = self.shutdown.cancelled() => {
                    if self.hand_over(&attachment, &tx).await {
                        return;
                    }
                    info!("server draining: ending call");
                    if let Some(summary) = self.registry.finish(&call, "server_shutdown") {
                        send(vec![summary], false).await;
                    }
                    return;
                }
                message = inbound.message() => message,
            };
            let received = Instant::now();
            let outcome: Result<bool, Error> = match message {
                Err(failure) => match status::inbound_failure(&failure) {
                    // The client's message could not be taken: tell it
                    // (below); the call stays resumable.
                    Some(error) => Err(error),
                    None => {
                        debug!(code = ?failure.code(), "client stream failed; call detached");
                        self.let_go(&attachment);
                        return;
                    }
                },
                Ok(None) => {
                    info!("client closed the stream without `end`; call detached");
                    self.let_go(&attachment);
                    return;
                }
                Ok(Some(request)) => match request.event {
                    Some(Inbound::Segment(segment)) => {
                        let span = tracing::debug_span!("segment", segment_id = %segment.segment_id, is_final = segment.is_final);
                        async {
                            let segment = convert::segment(segment, self.max_text_bytes)?;
                            let embedding = self
                                .embedding(segment.speaker, segment.is_final, &segment.text)
                                .await;
                            let events = call.process_segment(
                                &self.pipeline,
                                &segment,
                                embedding.as_deref(),
                                received,
                            )?;
                            instruments::segment(
                                segment.speaker,
                                segment.is_final,
                                received.elapsed(),
                            );
                            Ok(send(events, segment.is_final).await)
                        }
                        .instrument(span)
                        .await
                    }
                    Some(Inbound::End(end)) if end.reason.len() > MAX_END_REASON_BYTES => {
                        Err(Error::invalid(
                            "end.reason",
                            format!("is longer than {MAX_END_REASON_BYTES} bytes"),
                        ))
                    }
                    Some(Inbound::End(end)) => {
                        let reason = if end.reason.is_empty() {
                            "hangup"
                        } else {
                            end.reason.as_str()
                        };
                        if let Some(cluster) = &self.cluster {
                            // Feedback given through other replicas.
                            call.merge_feedback(&cluster.remote_feedback(call.key()).await);
                        }
                        if let Some(summary) = self.registry.finish(&call, reason) {
                            info!(reason = %pii::mask(reason), "call ended");
                            send(vec![summary], false).await;
                        }
                        return;
                    }
                    Some(Inbound::Start(_)) => Err(Error::invalid(
                        "start",
                        "only the first message of a stream may be `start`",
                    )),
                    None => Err(Error::invalid(
                        "event",
                        "must be set (start, segment or end)",
                    )),
                },
            };
            match outcome {
                Ok(true) => {}
                Ok(false) => {
                    debug!("client stopped reading; call detached");
                    self.let_go(&attachment);
                    return;
                }
                Err(error) => {
                    info!(code = ?status::code(&error), "rejected a message; stream closed, call kept for resumption");
                    let _ = tx.send(Err(error.into())).await;
                    self.let_go(&attachment);
                    return;
                }
            }
        }
    }
}

/// Serves one watcher: replay, then live events, until the summary.
async fn run_watch(subscription: Subscription, tx: WatchResponses) {
    let mut dropped = subscription.missed;
    let response = |event: &Event, dropped: &mut u64| pb::WatchCallResponse {
        event: Some(convert::event(event)),
        dropped_events: std::mem::take(dropped),
    };
    for event in &subscription.replay {
        if tx.send(Ok(response(event, &mut dropped))).await.is_err() || is_summary(event) {
            return;
        }
    }
    let Some(mut live) = subscription.live else {
        return;
    };
    loop {
        let received = tokio::select! {
            _ = tx.closed() => return,
            received = live.recv() => received,
        };
        match received {
            Ok(event) => {
                if tx.send(Ok(response(&event, &mut dropped))).await.is_err() || is_summary(&event)
                {
                    return;
                }
            }
            Err(RecvError::Lagged(n)) => {
                debug!(lost = n, "watcher fell behind and lost the oldest events");
                instruments::watcher_dropped(n);
                dropped += n;
            }
            Err(RecvError::Closed) => {
                let status = Status::unavailable("the call was closed before it started (server shutting down or call never started)");
                let _ = tx.send(Err(status)).await;
                return;
            }
        }
    }
}
