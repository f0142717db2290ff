//! Text on the ground floor: normalization of what was said (half-width,
//! Simplified, lower-case, fillers removed, spoken numbers read as digits)
//! with a map back to the original words, and language detection. Every
//! layer above reads text through [`normalize::Normalized`].

pub mod normalize;
pub mod numbers;
