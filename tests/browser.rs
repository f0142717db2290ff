//! The agent console end to end in headless Chromium, as a new user would
//! use it: `callassist serve` (the binary), open the console, `callassist
//! replay` a recorded call, pick it from the list, watch the suggestions
//! arrive, mark one used, read the summary.
//!
//! Installs what it needs itself: Debian's `chromium` (apt, when
//! `/usr/bin/chromium` is missing; set `CHROMIUM` to use another binary)
//! and `playwright-core` from npm (into `target/tmp/browser`, once).

mod common;

use callassist::pb::{self, assist_event::Payload};
use common::*;
use std::{
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

/// Debian's Chromium, installed on first use.
fn chromium() -> PathBuf {
    if let Ok(path) = std::env::var("CHROMIUM") {
        return path.into();
    }
    apt_installed("/usr/bin/chromium", "chromium")
}

/// The test script with `playwright-core` installed beside it.
fn script(root: &Path) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser");
    std::fs::create_dir_all(&dir).unwrap();
    for file in ["package.json", "package-lock.json", "console.mjs"] {
        std::fs::copy(root.join("tests/browser").join(file), dir.join(file)).unwrap();
    }
    let lock = std::fs::read_to_string(dir.join("package-lock.json")).unwrap();
    let marker = dir.join("node_modules/.installed-lock");
    if std::fs::read_to_string(&marker).ok().as_deref() != Some(lock.as_str()) {
        run(Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&dir));
        std::fs::write(&marker, lock).unwrap();
    }
    dir.join("console.mjs")
}

#[derive(Debug, serde::Deserialize)]
struct Card {
    id: String,
    kind: i32,
    text: String,
    rationale: String,
    retracted: bool,
}

#[derive(Debug, serde::Deserialize)]
struct Seen {
    used: String,
    cards: Vec<Card>,
    transcript: Vec<String>,
    chips: Vec<String>,
    summary: String,
    heading: String,
    errors: Vec<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_watches_a_replayed_call_in_the_console() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf();
    let (chromium, script) = tokio::task::spawn_blocking({
        let root = root.clone();
        move || (chromium(), script(&root))
    })
    .await
    .unwrap();

    // `callassist serve`, as a user starts it (on free ports).
    let (addr, http_addr) = (free_addr(), free_addr());
    let mut server = tokio::process::Command::from(serve_command(addr, Some(http_addr)))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let url = format!("http://{addr}");
    let channel = channel_to(addr).await;
    let mut client = pb::call_assist_service_client::CallAssistServiceClient::new(channel);

    // What the console should show, as a gRPC watcher sees it.
    let call_id = "console-demo";
    let mut watcher = watch_call(&mut client, call_id, 0).await.unwrap();
    let expected = tokio::spawn(async move {
        let mut suggestions = Vec::new();
        while let Ok(Some(response)) = watcher.message().await {
            match response.event.and_then(|e| e.payload) {
                Some(Payload::Suggestion(s)) => suggestions.push(s),
                Some(Payload::Summary(_)) => break,
                _ => {}
            }
        }
        suggestions
    });

    // The browser opens the console; the call is replayed at twice real time.
    let screenshot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("console.png");
    let browser = tokio::process::Command::new("node")
        .arg(&script)
        .arg(format!("http://{http_addr}/console"))
        .arg(call_id)
        .arg(&screenshot)
        .env("CHROMIUM", &chromium)
        .output();
    // `callassist replay` of a recorded call, at twice real time.
    let file = root.join("examples/calls/zh-lost-card-anxious.jsonl");
    let replayed = async {
        // Give the page a moment to load before the call starts.
        tokio::time::sleep(Duration::from_millis(500)).await;
        tokio::process::Command::new(env!("CARGO_BIN_EXE_callassist"))
            .arg("replay")
            .arg(&file)
            .args(["--addr", &url, "--speed", "2", "--call-id", call_id])
            .output()
            .await
    };
    let (output, report) = tokio::join!(browser, replayed);
    let output = output.unwrap();
    assert!(
        output.status.success(),
        "the browser script failed\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let report = report.unwrap();
    assert!(report.status.success(), "replay failed: {report:?}");
    let seen: Seen = serde_json::from_slice(&output.stdout).expect("the script's JSON");
    let expected = expected.await.unwrap();

    assert!(seen.errors.is_empty(), "page errors: {:?}", seen.errors);
    // Every suggestion appears as a card, in the order it was made.
    let ids: Vec<&str> = seen.cards.iter().map(|c| c.id.as_str()).collect();
    let wanted: Vec<&str> = expected.iter().map(|s| s.suggestion_id.as_str()).collect();
    assert_eq!(ids, wanted, "cards in order");
    for (card, s) in seen.cards.iter().zip(&expected) {
        assert_eq!((card.kind, card.text.as_str()), (s.kind, s.text.as_str()));
        if !card.retracted {
            // (A retracted card shows why it was retracted instead.)
            assert_eq!(card.rationale, s.rationale, "the rationale on hover");
        }
    }
    assert!(seen.cards.iter().any(|c| !c.retracted));
    assert!(seen.transcript.len() >= 6, "{:?}", seen.transcript);
    assert!(seen.transcript.iter().any(|t| t.contains("卡")));
    assert!(seen.chips.iter().any(|c| c.starts_with("card_lost_stolen")));
    assert!(
        seen.chips.iter().any(|c| c.starts_with("焦虑")),
        "{:?}",
        seen.chips
    );
    assert!(!seen.summary.is_empty());
    assert_eq!(seen.heading, "Agent assist", "the UI switches to English");
    // Marking a card used reached the service.
    let summary = call_summary(&mut client, call_id).await.unwrap();
    assert_eq!(summary.suggestions_accepted, 1, "card {} used", seen.used);
    assert!(std::fs::metadata(&screenshot).unwrap().len() > 10_000);
    sigterm(server.id().unwrap());
    assert!(server.wait().await.unwrap().success());
}
