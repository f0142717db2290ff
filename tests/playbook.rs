//! The playbook as a bank uses it: served from a file, edited and reloaded
//! while calls are live, and a broken edit rejected without harm.

mod common;

use callassist::{pb, Config};
use common::*;
use std::{path::PathBuf, time::Duration};

const DEFAULT: &str = include_str!("../playbooks/default.toml");

/// The anxiety lines of the default playbook, as written in it.
const ANXIETY_LINES: &str = r#"zh = [
  "您别着急，我们一起来看怎么处理。",
  "请放心，我会一步一步帮您处理好。",
  "我理解您很担心，先别慌，我这就帮您确认情况。",
]"#;

fn playbook_file(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("playbooks");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, DEFAULT).unwrap();
    path
}

fn config_with(path: &std::path::Path) -> Config {
    Config {
        playbook: Some(path.to_path_buf()),
        playbook_poll_interval: Duration::from_millis(20),
        ..test_config()
    }
}

/// Sends one anxious customer turn and returns the empathy line suggested.
async fn empathy_for(call: &mut CallStream, id: &str, start_ms: u32) -> Option<String> {
    call.send(customer(id, "我好担心啊，怎么办", start_ms))
        .await;
    call.send(agent(&format!("{id}-ok"), "好的", start_ms + 1500))
        .await;
    let events = call.until(is_analysis_of(&format!("{id}-ok"))).await;
    suggestions(&events)
        .into_iter()
        .find(|s| s.kind() == pb::SuggestionKind::Empathy)
        .map(|s| s.text.clone())
}

/// Rewrites the file and waits until the server has had time to notice
/// (the file's time stamp may not move within one file-system tick).
async fn rewrite(path: &std::path::Path, text: &str) {
    tokio::time::sleep(Duration::from_millis(30)).await;
    std::fs::write(path, text).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
}

#[tokio::test]
async fn an_edited_playbook_applies_from_the_next_turn_of_a_live_call() {
    let path = playbook_file("live-edit.toml");
    let server = start_server_with(config_with(&path)).await;
    let mut client = server.client().await;
    let mut call = open(&mut client, start_in("reload-1", "zh-CN"))
        .await
        .unwrap();
    let first = empathy_for(&mut call, "c1", 1000).await;
    assert_eq!(first.as_deref(), Some("您别着急，我们一起来看怎么处理。"));

    // The bank rewrites the anxiety lines and lets them repeat every turn.
    let edited = DEFAULT.replacen(
        &format!("cooldown_turns = 2\n{ANXIETY_LINES}"),
        "cooldown_turns = 0\nzh = [\"请您放宽心，我们马上处理。\", \"有我在，我们慢慢来。\"]",
        1,
    );
    assert_ne!(edited, DEFAULT, "the edit applies to the default playbook");
    rewrite(&path, &edited).await;
    let second = empathy_for(&mut call, "c2", 5000).await;
    assert_eq!(second.as_deref(), Some("请您放宽心，我们马上处理。"));

    // A broken edit is rejected: the edited playbook stays in force.
    rewrite(&path, &edited.replace("[limits]", "[limits\n")).await;
    let third = empathy_for(&mut call, "c3", 9000).await;
    assert_eq!(
        third.as_deref(),
        Some("有我在，我们慢慢来。"),
        "the edited playbook (its next variant) is still in force"
    );
    call.send(end("hangup")).await;
    let summary = call.rest().await;
    assert!(summary.last().is_some_and(is_summary));
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn serve_refuses_a_broken_playbook_and_names_the_line() {
    let path = playbook_file("broken.toml");
    let broken = DEFAULT.replace("zh = [\"{probe}\"]", "zh = [\"{probes}\"]");
    std::fs::write(&path, &broken).unwrap();
    let line = broken.lines().position(|l| l.contains("{probes}")).unwrap() + 1;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let error = callassist::server::serve(listener, config_with(&path), std::future::pending())
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains(&format!("broken.toml:{line}: unknown slot {{probes}}")),
        "{message}"
    );
}
