//! Access control and personal data, against the real server: tenants by
//! bearer token, TLS and mutual TLS, masking of personal numbers.

mod common;

use callassist::{
    auth::{hash_token, Tokens},
    config::Tls,
    pb::{self, assist_event::Payload, call_assist_service_client::CallAssistServiceClient},
};
use common::*;
use std::time::Duration;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{
    metadata::MetadataValue,
    transport::{Certificate, Channel, ClientTlsConfig, Identity},
    Code, Request,
};

fn with_token<T>(message: T, token: &str) -> Request<T> {
    let mut request = Request::new(message);
    let value: MetadataValue<_> = format!("Bearer {token}").parse().unwrap();
    request.metadata_mut().insert("authorization", value);
    request
}

/// Opens a StreamCall with `token` (no token when empty).
async fn open_as(
    client: &mut CallAssistServiceClient<Channel>,
    token: &str,
    first: pb::StreamCallRequest,
) -> Result<CallStream, tonic::Status> {
    let (tx, rx) = tokio::sync::mpsc::channel(64);
    tx.send(first).await.unwrap();
    let stream = ReceiverStream::new(rx);
    let request = if token.is_empty() {
        Request::new(stream)
    } else {
        with_token(stream, token)
    };
    let rx = client.stream_call(request).await?.into_inner();
    Ok(CallStream { tx, rx })
}

fn two_tenants() -> callassist::Config {
    callassist::Config {
        tokens: Tokens::parse(&format!(
            "bank-a={},bank-b={}",
            hash_token("token-a"),
            hash_token("token-b")
        ))
        .unwrap(),
        ..test_config()
    }
}

#[tokio::test]
async fn without_a_valid_token_nothing_but_health_gets_in() {
    let server = start_server_with(two_tenants()).await;
    let channel = server.channel().await;
    let mut client = CallAssistServiceClient::new(channel.clone());

    for token in ["", "token-c"] {
        let status = open_as(&mut client, token, start("c-1"))
            .await
            .err()
            .expect("refused");
        assert_status(&status, Code::Unauthenticated, "bearer token");
        let summary = pb::GetCallSummaryRequest {
            call_id: "c-1".into(),
        };
        let status = if token.is_empty() {
            client.get_call_summary(summary).await.unwrap_err()
        } else {
            client
                .get_call_summary(with_token(summary, token))
                .await
                .unwrap_err()
        };
        assert_eq!(status.code(), Code::Unauthenticated);
    }
    let analyze = pb::AnalyzeUtteranceRequest {
        text: "hello".into(),
        ..Default::default()
    };
    let status = client.analyze_utterance(analyze).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    let watch = pb::WatchCallRequest {
        call_id: "c-1".into(),
        after_event_id: 0,
    };
    assert_eq!(
        client.watch_call(watch).await.unwrap_err().code(),
        Code::Unauthenticated
    );

    let tokenless = callassist::client::Target {
        addr: server.url(),
        ..Default::default()
    };
    let serving = callassist::client::health(&tokenless, "callassist.v1.CallAssistService")
        .await
        .expect("health needs no token");
    assert!(serving);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_tenant_cannot_see_anything_of_another_tenants_call() {
    let server = start_server_with(two_tenants()).await;
    let mut client = server.client().await;

    // Tenant A runs a call with suggestions.
    let mut call = open_as(&mut client, "token-a", start("shared-id"))
        .await
        .unwrap();
    call.send(customer("s1", "我的卡丢了，我好担心", 0)).await;
    let events = call.until(is_analysis_of("s1")).await;
    assert!(!events.is_empty());
    let mut more = Vec::new();
    // Let the suggestions of s1 arrive.
    while let Ok(Ok(Some(event))) =
        tokio::time::timeout(Duration::from_millis(300), call.next()).await
    {
        more.push(event);
    }
    let suggestion_id = suggestions(&more)
        .first()
        .map(|s| s.suggestion_id.clone())
        .expect("tenant A got a suggestion");

    // Tenant B: the call does not exist for it.
    let summary = pb::GetCallSummaryRequest {
        call_id: "shared-id".into(),
    };
    let status = client
        .get_call_summary(with_token(summary.clone(), "token-b"))
        .await
        .unwrap_err();
    assert_status(&status, Code::NotFound, "shared-id");
    let feedback = pb::SubmitFeedbackRequest {
        call_id: "shared-id".into(),
        suggestion_id: suggestion_id.clone(),
        action: pb::FeedbackAction::Accepted as i32,
    };
    let status = client
        .submit_feedback(with_token(feedback.clone(), "token-b"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    // B's watcher waits for B's own call of that id and sees none of A's.
    let watch = pb::WatchCallRequest {
        call_id: "shared-id".into(),
        after_event_id: 0,
    };
    let mut watcher = client
        .watch_call(with_token(watch, "token-b"))
        .await
        .unwrap()
        .into_inner();
    call.send(customer("s2", "你们到底什么时候能处理好", 3000))
        .await;
    call.until(is_analysis_of("s2")).await;
    assert!(
        tokio::time::timeout(Duration::from_millis(500), watcher.message())
            .await
            .is_err(),
        "tenant B's watcher must not receive tenant A's events"
    );
    // B may use the same call id for a call of its own.
    let mut own = open_as(&mut client, "token-b", start("shared-id"))
        .await
        .expect("the id is free for tenant B");
    own.send(end("hangup")).await;
    let rest = own.rest().await;
    assert_eq!(summary_of(rest.last().unwrap()).suggestions_shown, 0);

    // A still sees its own call and can give feedback.
    let response = client
        .submit_feedback(with_token(feedback, "token-a"))
        .await
        .unwrap()
        .into_inner();
    assert!(response.first_feedback);
    let mine = client
        .get_call_summary(with_token(summary, "token-a"))
        .await
        .unwrap()
        .into_inner()
        .summary
        .unwrap();
    assert_eq!(mine.suggestions_accepted, 1);
    server.shutdown().await.unwrap();
}

/// A CA, a server certificate for `localhost` and a client certificate, as
/// PEM files in `dir`: (ca, server cert, server key, client cert, client key).
fn certificates(dir: &std::path::Path) -> [std::path::PathBuf; 5] {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let leaf = |name: &str| {
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(vec![name.to_string()])
            .unwrap()
            .signed_by(&key, &ca)
            .unwrap();
        (cert.pem(), key.serialize_pem())
    };
    let (server_cert, server_key) = leaf("localhost");
    let (client_cert, client_key) = leaf("console-1");
    let files = [
        ("ca.pem", ca.pem()),
        ("server.pem", server_cert),
        ("server.key", server_key),
        ("client.pem", client_cert),
        ("client.key", client_key),
    ];
    files.map(|(name, pem)| {
        let path = dir.join(name);
        std::fs::write(&path, pem).unwrap();
        path
    })
}

async fn tls_channel(
    addr: std::net::SocketAddr,
    ca: &std::path::Path,
    identity: Option<(&std::path::Path, &std::path::Path)>,
) -> Result<Channel, tonic::transport::Error> {
    let mut tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(std::fs::read(ca).unwrap()))
        .domain_name("localhost");
    if let Some((cert, key)) = identity {
        tls = tls.identity(Identity::from_pem(
            std::fs::read(cert).unwrap(),
            std::fs::read(key).unwrap(),
        ));
    }
    Channel::from_shared(format!("https://localhost:{}", addr.port()))
        .unwrap()
        .tls_config(tls)?
        .connect()
        .await
}

async fn analyze(channel: Channel) -> Result<pb::AnalyzeUtteranceResponse, tonic::Status> {
    CallAssistServiceClient::new(channel)
        .analyze_utterance(pb::AnalyzeUtteranceRequest {
            text: "I lost my card".into(),
            ..Default::default()
        })
        .await
        .map(|r| r.into_inner())
}

#[tokio::test]
async fn tls_and_mutual_tls_admit_only_trusted_clients() {
    let dir = tempfile::tempdir().unwrap();
    let [ca, cert, key, client_cert, client_key] = certificates(dir.path());

    // TLS: a client that trusts the CA gets in; plain text does not.
    let server = start_server_with(callassist::Config {
        tls: Some(Tls {
            cert: cert.clone(),
            key: key.clone(),
            client_ca: None,
        }),
        ..test_config()
    })
    .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let channel = tls_channel(server.addr, &ca, None).await.unwrap();
    let response = analyze(channel).await.unwrap();
    assert_eq!(
        response.analysis.unwrap().intent.unwrap().intent,
        "card_lost_stolen"
    );
    let plain = Channel::from_shared(server.url()).unwrap().connect().await;
    let refused = match plain {
        Err(_) => true,
        Ok(channel) => analyze(channel).await.is_err(),
    };
    assert!(refused, "a plain-text client must not be served");
    server.shutdown().await.unwrap();

    // Mutual TLS: a client certificate signed by the CA is required.
    let server = start_server_with(callassist::Config {
        tls: Some(Tls {
            cert,
            key,
            client_ca: Some(ca.clone()),
        }),
        ..test_config()
    })
    .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let channel = tls_channel(server.addr, &ca, Some((&client_cert, &client_key)))
        .await
        .unwrap();
    assert!(analyze(channel).await.is_ok());
    let anonymous = tls_channel(server.addr, &ca, None).await;
    let refused = match anonymous {
        Err(_) => true,
        Ok(channel) => analyze(channel).await.is_err(),
    };
    assert!(refused, "a client without a certificate must not be served");
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn replay_reaches_a_server_with_tls_and_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let [ca, cert, key, _, _] = certificates(dir.path());
    let server = start_server_with(callassist::Config {
        tls: Some(Tls {
            cert,
            key,
            client_ca: None,
        }),
        ..two_tenants()
    })
    .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/calls/zh-lost-card-anxious.jsonl");
    let replay = |token: Option<&str>| {
        let options = callassist::replay::Options {
            target: callassist::client::Target {
                addr: format!("https://localhost:{}", server.addr.port()),
                token: token.map(str::to_string),
                ca: Some(ca.clone()),
            },
            speed: 0.0,
            call_id: None,
            color: false,
            verbose: false,
        };
        let lines = callassist::replay::load(&file).unwrap();
        async move { callassist::replay::replay(lines, &options, &mut Vec::new()).await }
    };
    let report = replay(Some("token-a")).await.unwrap();
    assert!(report.summary.unwrap().ended);
    let refused = replay(None).await.unwrap_err();
    assert!(refused.to_string().contains("bearer token"), "{refused}");
    server.shutdown().await.unwrap();
}

/// Card numbers, a resident ID and a phone number, written and spoken:
/// (the last four digits, the part that must be hidden as it was said, the
/// utterance).
const PERSONAL: &[(&str, &str, &str)] = &[
    (
        "7894",
        "6222 0212 3456",
        "我的卡号是6222 0212 3456 7894，卡丢了",
    ),
    ("002X", "11010519491231", "身份证号11010519491231002X"),
    (
        "8000",
        "幺三八零零幺三",
        "我的电话是幺三八零零幺三八零零零，请回电",
    ),
    (
        "1111",
        "4111-1111-1111",
        "my card number is 4111-1111-1111-1111 and it was stolen",
    ),
];

fn texts_of(event: &pb::AssistEvent) -> Vec<String> {
    match &event.payload {
        Some(Payload::Analysis(a)) => a
            .entities
            .iter()
            .flat_map(|e| [e.text.clone(), e.value.clone()])
            .chain(a.emotions.iter().map(|c| c.evidence.clone()))
            .collect(),
        Some(Payload::Suggestion(s)) => vec![s.text.clone(), s.rationale.clone()],
        Some(Payload::Alert(a)) => vec![a.text.clone(), a.rationale.clone()],
        Some(Payload::Summary(s)) => {
            let mut t = vec![s.text.clone(), s.end_reason.clone()];
            t.extend(s.follow_ups.iter().cloned());
            t
        }
        _ => Vec::new(),
    }
}

#[tokio::test]
async fn personal_numbers_leave_the_service_masked_unless_consoles_are_trusted() {
    for raw in [false, true] {
        let server = start_server_with(callassist::Config {
            console_raw_personal_data: raw,
            ..test_config()
        })
        .await;
        let mut client = server.client().await;
        let mut call = open(&mut client, start("pii-call")).await.unwrap();
        for (n, (_, _, text)) in PERSONAL.iter().enumerate() {
            call.send(customer(&format!("s{n}"), text, n as u32 * 2000))
                .await;
        }
        call.send(end("hangup")).await;
        let events = call.rest().await;
        let entities: Vec<pb::Entity> = events
            .iter()
            .filter_map(|e| match &e.payload {
                Some(Payload::Analysis(a)) => Some(a.entities.clone()),
                _ => None,
            })
            .flatten()
            .collect();
        for (last4, hidden, _) in PERSONAL {
            assert!(
                entities.iter().any(|e| e.value == *last4),
                "the policy and consoles still get the last four digits {last4}: {entities:?}"
            );
            let leaked = events.iter().flat_map(texts_of).any(|t| t.contains(hidden));
            assert_eq!(leaked, raw, "{hidden} is shown only to raw consoles");
        }
        let summary = summary_of(events.last().unwrap());
        assert!(!summary.text.contains("6222"));
        server.shutdown().await.unwrap();
    }
}
