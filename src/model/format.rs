//! The model file: `CALLASSIST-MODEL 1\n`, one JSON header line, then the
//! rows in little-endian binary: per row its bucket (u32), IDF (f32), scale
//! (f32) and one i8 weight per label (weight = scale × i8 / 127).
//!
//! 8-bit weights keep the embedded model small (one byte per label per seen
//! feature) at no measurable cost in accuracy (see EVALUATION.md).

use super::{
    features::{Featurizer, Fnv},
    linear::{LinearModel, Output, Packed, Parts},
};
use crate::Error;

const MAGIC: &str = "CALLASSIST-MODEL 1\n";

#[derive(serde::Serialize, serde::Deserialize)]
struct Header {
    labels: Vec<String>,
    bits: u8,
    rows: usize,
    bias: Vec<f32>,
    temperature: f32,
    oos_threshold: f32,
    /// Free-form provenance (data, hyper-parameters).
    #[serde(default)]
    about: String,
    /// Fingerprint of the training data files ([`fingerprint`]).
    #[serde(default)]
    data_fingerprint: String,
    /// Per-label decision thresholds (multi-label models).
    #[serde(default)]
    thresholds: Vec<f32>,
    /// Softmax (intents) or one sigmoid per label (emotion cues).
    #[serde(default)]
    output: Output,
}

/// A fingerprint (FNV-1a 64, hex) of the bytes of data files, recorded in a
/// model so a check can tell when the data changed but the model was not
/// retrained.
pub fn fingerprint<'a>(files: impl IntoIterator<Item = &'a [u8]>) -> String {
    let h = files
        .into_iter()
        .fold(Fnv::default(), |h, file| h.write(file).write(&[0xff]));
    format!("{:016x}", h.finish())
}

/// The data fingerprint recorded in a model file, if any.
pub fn data_fingerprint(bytes: &[u8]) -> Option<String> {
    let rest = bytes.strip_prefix(MAGIC.as_bytes())?;
    let newline = rest.iter().position(|&b| b == b'\n')?;
    let header: Header = serde_json::from_slice(&rest[..newline]).ok()?;
    (!header.data_fingerprint.is_empty()).then_some(header.data_fingerprint)
}

/// Serializes a model.
pub fn encode(model: &LinearModel, about: &str, data_fingerprint: &str) -> Vec<u8> {
    let header = Header {
        labels: model.labels.clone(),
        bits: model.featurizer.bits,
        rows: model.rows(),
        bias: model.bias.clone(),
        temperature: model.temperature,
        oos_threshold: model.oos_threshold,
        about: about.to_string(),
        data_fingerprint: data_fingerprint.to_string(),
        thresholds: model.label_thresholds.clone(),
        output: model.output,
    };
    let mut out = MAGIC.as_bytes().to_vec();
    out.extend(serde_json::to_vec(&header).expect("header serializes"));
    out.push(b'\n');
    for (row, bucket) in model.buckets.iter().enumerate() {
        out.extend(bucket.to_le_bytes());
        out.extend(model.packed.record(row));
    }
    out
}

/// Reads a model written by [`encode`].
pub fn decode(bytes: &[u8]) -> Result<LinearModel, Error> {
    let bad = |why: &str| Error::Io(format!("not a callassist model: {why}"));
    let rest = bytes
        .strip_prefix(MAGIC.as_bytes())
        .ok_or_else(|| bad("wrong magic"))?;
    let newline = rest
        .iter()
        .position(|&b| b == b'\n')
        .ok_or_else(|| bad("no header"))?;
    let header: Header =
        serde_json::from_slice(&rest[..newline]).map_err(|e| bad(&e.to_string()))?;
    let body = &rest[newline + 1..];
    let c = header.labels.len();
    let row_len = 12 + c;
    if c == 0
        || header.bias.len() != c
        || !(8..=26).contains(&header.bits)
        || body.len() != header.rows * row_len
    {
        return Err(bad("inconsistent sizes"));
    }
    let mut buckets = Vec::with_capacity(header.rows);
    let mut records = Vec::with_capacity(header.rows * (row_len - 4));
    for row in body.chunks_exact(row_len) {
        let word = |i: usize| [row[i], row[i + 1], row[i + 2], row[i + 3]];
        let bucket = u32::from_le_bytes(word(0));
        if bucket >= 1 << header.bits {
            return Err(bad("bucket out of range"));
        }
        buckets.push(bucket);
        records.extend_from_slice(&row[4..]);
    }
    // Served models keep only the packed rows: IDFs and f32 weights are for
    // training.
    Ok(LinearModel::from_parts(Parts {
        packed: Packed::from_records(records, c),
        labels: header.labels,
        featurizer: Featurizer { bits: header.bits },
        buckets,
        idf: Vec::new(),
        weights: Vec::new(),
        bias: header.bias,
        temperature: header.temperature,
        oos_threshold: header.oos_threshold,
        label_thresholds: header.thresholds,
        output: header.output,
    }))
}
