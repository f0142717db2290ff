//! Opens N StreamCalls against a running server, sends one customer and one
//! agent turn on each, reads the assists, and keeps every stream open until
//! Ctrl-C, so that the server's memory with N idle live calls can be read
//! (e.g. `grep VmRSS /proc/$(pidof callassist)/status`).
//!
//! `cargo run --release --example open_calls -- http://127.0.0.1:50051 10000`

use callassist::pb::{
    self, call_assist_service_client::CallAssistServiceClient, stream_call_request::Event,
};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Channel;

/// Streams per HTTP/2 connection (servers commonly allow 100–200).
const STREAMS_PER_CONNECTION: usize = 100;

fn segment(id: &str, speaker: pb::Speaker, text: &str) -> pb::StreamCallRequest {
    pb::StreamCallRequest {
        event: Some(Event::Segment(pb::TranscriptSegment {
            segment_id: id.into(),
            speaker: speaker as i32,
            text: text.into(),
            is_final: true,
            start_ms: 0,
            end_ms: 1000,
            asr_confidence: 0.9,
        })),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let addr = args
        .next()
        .unwrap_or_else(|| "http://127.0.0.1:50051".into());
    let n: usize = args
        .next()
        .map_or(1000, |s| s.parse().expect("a number of calls"));
    let stamp = std::process::id();
    let mut held = Vec::with_capacity(n);
    let mut channel: Option<Channel> = None;
    for i in 0..n {
        if i % STREAMS_PER_CONNECTION == 0 {
            channel = Some(Channel::from_shared(addr.clone())?.connect().await?);
        }
        let mut client = CallAssistServiceClient::new(channel.clone().unwrap());
        let (tx, rx) = mpsc::channel(4);
        tx.send(pb::StreamCallRequest {
            event: Some(Event::Start(pb::CallStart {
                call_id: format!("open-{stamp}-{i}"),
                agent_id: "agent-1".into(),
                language_code: "zh-CN".into(),
                metadata: Default::default(),
            })),
        })
        .await?;
        tx.send(segment("c1", pb::Speaker::Customer, "我想查一下卡里的余额"))
            .await?;
        tx.send(segment("a1", pb::Speaker::Agent, "好的，请您稍等"))
            .await?;
        let mut inbound = client
            .stream_call(ReceiverStream::new(rx))
            .await?
            .into_inner();
        let mut analyses = 0;
        while analyses < 2 {
            let event = inbound.message().await?.ok_or("stream closed")?.event;
            if let Some(pb::assist_event::Payload::Analysis(_)) = event.and_then(|e| e.payload) {
                analyses += 1;
            }
        }
        held.push((tx, inbound));
    }
    println!("{n} calls open and idle; Ctrl-C to end");
    tokio::signal::ctrl_c().await?;
    Ok(())
}
