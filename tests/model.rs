//! Training, evaluating and serving a bank's own intent model.

mod common;

use callassist::{
    model::{commands, TrainConfig},
    pb,
};
use common::*;
use std::path::PathBuf;

fn write(dir: &std::path::Path, name: &str, lines: &[(&str, &str)]) -> PathBuf {
    let path = dir.join(name);
    let text: String = lines
        .iter()
        .map(|(t, i)| serde_json::json!({"text": t, "intent": i, "lang": "en"}).to_string() + "\n")
        .collect();
    std::fs::write(&path, text).unwrap();
    path
}

#[tokio::test]
async fn a_trained_model_is_evaluated_and_served() {
    let dir = std::env::temp_dir().join(format!("callassist-model-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let train = write(
        &dir,
        "train.jsonl",
        &[
            ("i want a mortgage for my house", "mortgage"),
            ("how much can i borrow for a home", "mortgage"),
            ("home loan rates please", "mortgage"),
            ("房贷怎么申请", "mortgage"),
            ("my pension payment is late", "pension"),
            ("when does my pension arrive", "pension"),
            ("养老金什么时候到账", "pension"),
            ("pension deposit question", "pension"),
            ("what's the weather", "out_of_scope"),
            ("tell me a joke", "out_of_scope"),
        ],
    );
    let val = write(
        &dir,
        "val.jsonl",
        &[
            ("i need a home loan", "mortgage"),
            ("where is my pension", "pension"),
            ("play some music", "out_of_scope"),
        ],
    );
    let out = dir.join("bank.model");
    let config = TrainConfig {
        bits: 16,
        epochs: 30,
        ..TrainConfig::default()
    };
    let args = commands::TrainArgs {
        data: vec![train],
        val: vec![val.clone()],
        holdout: None,
        out: out.clone(),
        config,
    };
    let mut report = Vec::new();
    let model = commands::train(&args, &mut report, &mut std::io::sink()).unwrap();
    let report = String::from_utf8(report).unwrap();
    assert!(report.contains("model: 3 labels"), "{report}");
    assert!(report.contains("most confused"), "{report}");

    let mut printed = Vec::new();
    let eval = commands::EvalArgs {
        data: vec![val],
        holdout: None,
        threshold: None,
        rows: 10,
    };
    commands::eval(&model, &eval, &mut printed).unwrap();
    let printed = String::from_utf8(printed).unwrap();
    assert!(
        printed.contains("accuracy") && printed.contains("macro-F1"),
        "{printed}"
    );

    // `serve --model` answers with the bank's own intents.
    let mut config = test_config();
    config.model = Some(out);
    let server = start_server_with(config).await;
    let mut client = server.client().await;
    let r = client
        .analyze_utterance(pb::AnalyzeUtteranceRequest {
            text: "i want a mortgage for my new house".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.analysis.unwrap().intent.unwrap().intent, "mortgage");
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn a_bad_model_file_stops_start_up_naming_the_key() {
    let path = std::env::temp_dir().join(format!("callassist-bad-{}.model", std::process::id()));
    std::fs::write(&path, b"not a model").unwrap();
    let mut config = test_config();
    config.model = Some(path.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let err = callassist::server::serve(listener, config, std::future::pending())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("model"), "{err}");
    std::fs::remove_file(&path).ok();
}
