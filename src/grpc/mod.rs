//! The gRPC adapter. Each handler validates the request, converts it to
//! domain types ([`convert`]), calls the session layer and the pipeline, and
//! maps errors to statuses ([`status`]). No analysis or policy lives here.

pub mod auth;
pub mod convert;
pub mod echo;
pub mod status;

use crate::{
    instruments,
    pb::{
        self, call_assist_service_server::CallAssistService, stream_call_request::Event as Inbound,
    },
    pipeline::{pii, CallContext, Pipeline, Speaker, Tier, Timing, Utterance},
    semantic::SemanticTier,
    session::{Attachment, CallId, Event, Payload, Registry, Subscription},
    Error,
};
use std::{sync::Arc, time::Instant};
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
        }
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
        let attachment = self.registry.attach(start)?;
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
        let subscription = self
            .registry
            .watch(&tenant, call_id.clone(), request.after_event_id)?;
        let (tx, rx) = mpsc::channel(WATCH_RESPONSE_BUFFER);
        tokio::spawn(run_watch(subscription, tx).instrument(span));
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
        let first_feedback =
            self.registry
                .feedback(&tenant, &call_id, &request.suggestion_id, action)?;
        instruments::feedback(action);
        Ok(Response::new(pb::SubmitFeedbackResponse { first_feedback }))
    }

    async fn get_call_summary(
        &self,
        request: Request<pb::GetCallSummaryRequest>,
    ) -> Result<Response<pb::GetCallSummaryResponse>, Status> {
        let tenant = auth::tenant(&request)?;
        let call_id = CallId::parse(&request.into_inner().call_id, "call_id")?;
        let summary = self.registry.summary(&tenant, &call_id)?;
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
        let calls = self
            .registry
            .list(&tenant, include_ended, MAX_LISTED_CALLS)
            .iter()
            .map(convert::call_info)
            .collect();
        Ok(Response::new(pb::ListCallsResponse { calls }))
    }
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
        let send = |event: Arc<Event>| {
            let tx = tx.clone();
            async move {
                tx.send(Ok(pb::StreamCallResponse {
                    event: Some(convert::event(&event)),
                }))
                .await
                .is_ok()
            }
        };
        loop {
            let message = tokio::select! {
                biased;
                _ = self.shutdown.cancelled() => {
                    info!("server draining: ending call");
                    if let Some(summary) = self.registry.finish(&call, "server_shutdown") {
                        send(summary).await;
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
                        self.registry.detach(&attachment);
                        return;
                    }
                },
                Ok(None) => {
                    info!("client closed the stream without `end`; call detached");
                    self.registry.detach(&attachment);
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
                            for event in events {
                                if !send(event).await {
                                    return Ok(false);
                                }
                            }
                            Ok(true)
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
                        if let Some(summary) = self.registry.finish(&call, reason) {
                            info!(reason = %pii::mask(reason), "call ended");
                            send(summary).await;
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
                    self.registry.detach(&attachment);
                    return;
                }
                Err(error) => {
                    info!(code = ?status::code(&error), "rejected a message; stream closed, call kept for resumption");
                    let _ = tx.send(Err(error.into())).await;
                    self.registry.detach(&attachment);
                    return;
                }
            }
        }
    }
}

/// Serves one watcher: replay, then live events, until the summary.
async fn run_watch(
    subscription: Subscription,
    tx: mpsc::Sender<Result<pb::WatchCallResponse, Status>>,
) {
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
