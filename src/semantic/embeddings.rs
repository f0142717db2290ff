//! A cache of embeddings for training: texts are embedded once per model
//! file and kept in `embeddings-<model digest>.bin` (records of a 16-byte
//! text digest and the vector), so retraining a head takes seconds.

use crate::encoder::Encoder;
use sha2::{Digest, Sha256};
use std::{collections::HashMap, io::Write, path::Path};

type Key = [u8; 16];

fn key(text: &str) -> Key {
    let digest = Sha256::digest(text.as_bytes());
    let mut k = [0; 16];
    k.copy_from_slice(&digest[..16]);
    k
}

/// The embeddings of `texts`, in order: from the cache file where present,
/// the rest computed on `threads` threads (batches of 16) and appended.
pub fn embed_all(
    encoder: &Encoder,
    texts: &[&str],
    cache_file: &Path,
    threads: usize,
    progress: &mut dyn FnMut(usize, usize),
) -> std::io::Result<Vec<Vec<f32>>> {
    let dim = encoder.dim();
    let record = 16 + dim * 4;
    let mut known: HashMap<Key, Vec<f32>> = HashMap::new();
    if let Ok(bytes) = std::fs::read(cache_file) {
        for r in bytes.chunks_exact(record) {
            let k: Key = r[..16].try_into().expect("16 bytes");
            let v = r[16..]
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            known.insert(k, v);
        }
    }
    let mut missing: Vec<&str> = texts
        .iter()
        .copied()
        .filter(|t| !known.contains_key(&key(t)))
        .collect();
    missing.sort_unstable();
    missing.dedup();
    let total = missing.len();
    let chunks: Vec<&[&str]> = missing.chunks(16).collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            let sender = sender.clone();
            let (chunks, next) = (&chunks, &next);
            s.spawn(move || loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(chunk) = chunks.get(i) else { break };
                let vectors = encoder.embed(chunk);
                if sender.send((*chunk, vectors)).is_err() {
                    break;
                }
            });
        }
        drop(sender);
        let mut done = 0;
        for (chunk, vectors) in receiver {
            for (t, v) in chunk.iter().zip(vectors) {
                known.insert(key(t), v);
            }
            done += chunk.len();
            progress(done, total);
        }
    });
    if total > 0 {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(cache_file)?;
        let mut out = Vec::with_capacity(total * record);
        for t in &missing {
            out.extend_from_slice(&key(t));
            for v in &known[&key(t)] {
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
        file.write_all(&out)?;
    }
    Ok(texts.iter().map(|t| known[&key(t)].clone()).collect())
}
