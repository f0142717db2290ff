//! The no-op comparison server (`callassist serve --echo`): the same
//! contract, no analysis. It answers every final segment with one trivial
//! `Analysis` and `end` with an empty summary, so a load test can measure the
//! bare cost of gRPC streaming on the same machine in the same run and tell
//! how much of the service's cost is its own work (BENCHMARKS.md).

use super::{StreamOf, STREAM_RESPONSE_BUFFER};
use crate::pb::{
    self, assist_event::Payload, call_assist_service_server::CallAssistService,
    stream_call_request::Event as Inbound,
};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

/// The echo service.
#[derive(Debug, Clone, Copy, Default)]
pub struct Echo;

/// One event of a call, numbered.
fn event(
    call_id: &str,
    event_id: u64,
    segment_id: &str,
    payload: Payload,
) -> pb::StreamCallResponse {
    pb::StreamCallResponse {
        event: Some(pb::AssistEvent {
            call_id: call_id.to_string(),
            event_id,
            segment_id: segment_id.to_string(),
            processing_us: 0,
            payload: Some(payload),
        }),
    }
}

/// Echoes one call: an Analysis per final segment, a summary at `end`.
async fn echo_call(
    mut inbound: Streaming<pb::StreamCallRequest>,
    tx: mpsc::Sender<Result<pb::StreamCallResponse, Status>>,
) {
    let mut call_id = String::new();
    let mut next_id = 0;
    while let Ok(Some(request)) = inbound.message().await {
        let response = match request.event {
            Some(Inbound::Start(start)) => {
                call_id = start.call_id;
                continue;
            }
            Some(Inbound::Segment(segment)) if segment.is_final => {
                let analysis = pb::Analysis {
                    speaker: segment.speaker,
                    is_final: true,
                    ..Default::default()
                };
                next_id += 1;
                event(
                    &call_id,
                    next_id,
                    &segment.segment_id,
                    Payload::Analysis(analysis),
                )
            }
            Some(Inbound::Segment(_)) | None => continue,
            Some(Inbound::End(end)) => {
                let summary = pb::CallSummary {
                    call_id: call_id.clone(),
                    end_reason: end.reason,
                    ended: true,
                    ..Default::default()
                };
                next_id += 1;
                let _ = tx
                    .send(Ok(event(&call_id, next_id, "", Payload::Summary(summary))))
                    .await;
                return;
            }
        };
        if tx.send(Ok(response)).await.is_err() {
            return;
        }
    }
}

#[tonic::async_trait]
impl CallAssistService for Echo {
    type StreamCallStream = StreamOf<pb::StreamCallResponse>;
    type WatchCallStream = StreamOf<pb::WatchCallResponse>;

    async fn stream_call(
        &self,
        request: Request<Streaming<pb::StreamCallRequest>>,
    ) -> Result<Response<Self::StreamCallStream>, Status> {
        let (tx, rx) = mpsc::channel(STREAM_RESPONSE_BUFFER);
        tokio::spawn(echo_call(request.into_inner(), tx));
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    async fn watch_call(
        &self,
        _: Request<pb::WatchCallRequest>,
    ) -> Result<Response<Self::WatchCallStream>, Status> {
        Err(Status::unimplemented(
            "the echo server keeps no calls to watch",
        ))
    }

    async fn analyze_utterance(
        &self,
        _: Request<pb::AnalyzeUtteranceRequest>,
    ) -> Result<Response<pb::AnalyzeUtteranceResponse>, Status> {
        Ok(Response::new(pb::AnalyzeUtteranceResponse::default()))
    }

    async fn submit_feedback(
        &self,
        _: Request<pb::SubmitFeedbackRequest>,
    ) -> Result<Response<pb::SubmitFeedbackResponse>, Status> {
        Ok(Response::new(pb::SubmitFeedbackResponse {
            first_feedback: true,
        }))
    }

    async fn get_call_summary(
        &self,
        _: Request<pb::GetCallSummaryRequest>,
    ) -> Result<Response<pb::GetCallSummaryResponse>, Status> {
        Err(Status::not_found("the echo server keeps no calls"))
    }

    async fn list_calls(
        &self,
        _: Request<pb::ListCallsRequest>,
    ) -> Result<Response<pb::ListCallsResponse>, Status> {
        Ok(Response::new(pb::ListCallsResponse::default()))
    }
}
