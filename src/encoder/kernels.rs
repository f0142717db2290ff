//! The numeric kernels of the forward pass: a matrix product against
//! weights laid out in panels, LayerNorm, GELU and attention.
//!
//! The product is written so the compiler vectorizes it: each weight panel
//! holds [`LANES`] output rows interleaved (`[k][LANES]`), so one input value
//! times one contiguous weight vector updates `LANES` outputs at once, for
//! [`TOKENS`] tokens (packed side by side) that share each weight load.
//! `multiversion` compiles it for AVX-512, AVX2+FMA and the baseline and
//! picks one at run time (its generated dispatch is the only `unsafe`
//! involved, inside that crate).

/// Output rows per weight panel.
pub const LANES: usize = 16;
/// Tokens that share one pass over a weight panel: a tile is `TOKENS` tokens
/// times `2 * LANES` outputs, 8 AVX-512 (16 AVX2) accumulator registers.
const TOKENS: usize = 4;

/// A linear layer `y = x · Wᵀ + b` with `W` stored as panels.
#[derive(Debug)]
pub struct Linear {
    /// Input size.
    pub inputs: usize,
    /// Output size (a multiple of `2 * LANES`).
    pub outputs: usize,
    /// `outputs / LANES` panels of `[inputs][LANES]`.
    panels: Vec<f32>,
    /// Bias per output.
    bias: Vec<f32>,
}

impl Linear {
    /// Builds the layer from row-major weights `[outputs][inputs]`.
    pub fn new(weights: &[f32], bias: Vec<f32>, inputs: usize, outputs: usize) -> Self {
        assert!(outputs.is_multiple_of(2 * LANES) && weights.len() == inputs * outputs);
        let mut panels = vec![0.0; weights.len()];
        for (row, w) in weights.chunks_exact(inputs).enumerate() {
            let (panel, lane) = (row / LANES, row % LANES);
            for (k, &v) in w.iter().enumerate() {
                panels[(panel * inputs + k) * LANES + lane] = v;
            }
        }
        Linear {
            inputs,
            outputs,
            panels,
            bias,
        }
    }

    /// `y[t] = x[t] · Wᵀ + b` for every token row of `x`.
    pub fn forward(&self, x: &[f32], y: &mut [f32]) {
        matmul(self.inputs, self.outputs, x, &self.panels, y);
        for row in y.chunks_exact_mut(self.outputs) {
            for (v, b) in row.iter_mut().zip(&self.bias) {
                *v += b;
            }
        }
    }
}

/// `y[m][n] = x[m][k] · W` with `W` in panels of [`LANES`] rows.
///
/// `x` is first packed into tiles of [`TOKENS`] tokens laid out `[k][TOKENS]`
/// (zero padded), so the inner loop reads the tile's inputs and the two
/// panels as fixed-size arrays: no bounds checks, no gathers, and each
/// weight load feeds `TOKENS` FMAs. The packing costs `m * k` copies against
/// `m * k * n` multiply-adds.
#[multiversion::multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512vl+avx2+fma",
    "x86_64+avx2+fma",
    "aarch64+neon"
))]
fn matmul(k: usize, n: usize, x: &[f32], panels: &[f32], y: &mut [f32]) {
    let m = x.len() / k;
    let mut packed = vec![[0f32; TOKENS]; m.div_ceil(TOKENS) * k];
    for (row, values) in x.chunks_exact(k).enumerate() {
        let tile = &mut packed[row / TOKENS * k..][..k];
        for (slot, &v) in tile.iter_mut().zip(values) {
            slot[row % TOKENS] = v;
        }
    }
    let panel_len = k * LANES;
    for (p, pair) in panels.chunks_exact(2 * panel_len).enumerate() {
        let (w0, w1) = pair.split_at(panel_len);
        let (w0, w1) = (w0.as_chunks::<LANES>().0, w1.as_chunks::<LANES>().0);
        let col = p * 2 * LANES;
        for (tile, xs) in packed.chunks_exact(k).enumerate() {
            let first = tile * TOKENS;
            let out = &mut y[first * n..];
            match m - first {
                1 => tile_product::<1>(xs, w0, w1, out, n, col),
                2 => tile_product::<2>(xs, w0, w1, out, n, col),
                3 => tile_product::<3>(xs, w0, w1, out, n, col),
                _ => tile_product::<TOKENS>(xs, w0, w1, out, n, col),
            }
        }
    }
}

/// One tile of `T ≤ TOKENS` tokens times two weight panels: `2 * LANES`
/// outputs per token, written to `out` rows of width `n` from column `col`.
#[inline(always)]
fn tile_product<const T: usize>(
    xs: &[[f32; TOKENS]],
    w0: &[[f32; LANES]],
    w1: &[[f32; LANES]],
    out: &mut [f32],
    n: usize,
    col: usize,
) {
    let mut acc = [[[0f32; LANES]; 2]; T];
    for ((a, b), x) in w0.iter().zip(w1).zip(xs) {
        for t in 0..T {
            let v = x[t];
            for l in 0..LANES {
                acc[t][0][l] = a[l].mul_add(v, acc[t][0][l]);
                acc[t][1][l] = b[l].mul_add(v, acc[t][1][l]);
            }
        }
    }
    for (t, acc) in acc.iter().enumerate() {
        let row = &mut out[t * n + col..][..2 * LANES];
        row[..LANES].copy_from_slice(&acc[0]);
        row[LANES..].copy_from_slice(&acc[1]);
    }
}

/// `x[t] = LayerNorm(x[t] + y[t])` for each row of width `w.len()`
/// (`y` absent: LayerNorm of `x`).
pub fn add_layernorm(x: &mut [f32], y: Option<&[f32]>, w: &[f32], b: &[f32], eps: f32) {
    let h = w.len();
    for (t, row) in x.chunks_exact_mut(h).enumerate() {
        if let Some(y) = y {
            for (r, v) in row.iter_mut().zip(&y[t * h..(t + 1) * h]) {
                *r += v;
            }
        }
        let mean = row.iter().sum::<f32>() / h as f32;
        let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / h as f32;
        let inv = 1.0 / (var + eps).sqrt();
        for ((r, w), b) in row.iter_mut().zip(w).zip(b) {
            *r = (*r - mean) * inv * w + b;
        }
    }
}

/// The erf GELU, in place, with erf by Abramowitz and Stegun 7.1.28
/// (absolute error below 3e-7, no `exp`, so the loop vectorizes).
pub fn gelu(x: &mut [f32]) {
    for v in x {
        let z = (*v * std::f32::consts::FRAC_1_SQRT_2).abs();
        let p = 1.0
            + z * (0.070_523_08
                + z * (0.042_282_01
                    + z * (0.009_270_527
                        + z * (0.000_152_014_3 + z * (0.000_276_567_2 + z * 0.000_043_063_8)))));
        let p2 = p * p;
        let p4 = p2 * p2;
        let p8 = p4 * p4;
        let erf = (1.0 - 1.0 / (p8 * p8)).copysign(*v);
        *v = 0.5 * *v * (1.0 + erf);
    }
}

/// Scaled dot-product attention of one sequence: `q`, `k`, `v` and `out`
/// are `[tokens][heads * head_dim]`; every token attends to every token.
pub fn attention(q: &[f32], k: &[f32], v: &[f32], width: usize, heads: usize, out: &mut [f32]) {
    let tokens = q.len() / width;
    let hd = width / heads;
    let scale = 1.0 / (hd as f32).sqrt();
    let mut prob = vec![0f32; tokens];
    for t in 0..tokens {
        for head in 0..heads {
            let qh = &q[t * width + head * hd..][..hd];
            let mut max = f32::NEG_INFINITY;
            for (s, p) in prob.iter_mut().enumerate() {
                let kh = &k[s * width + head * hd..][..hd];
                let d = qh.iter().zip(kh).map(|(a, b)| a * b).sum::<f32>() * scale;
                *p = d;
                max = max.max(d);
            }
            let mut sum = 0.0;
            for p in prob.iter_mut() {
                *p = (*p - max).exp();
                sum += *p;
            }
            let inv = 1.0 / sum;
            let ctx = &mut out[t * width + head * hd..][..hd];
            ctx.fill(0.0);
            for (s, p) in prob.iter().enumerate() {
                let vh = &v[s * width + head * hd..][..hd];
                let p = p * inv;
                for (c, v) in ctx.iter_mut().zip(vh) {
                    *c += p * v;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gelu_matches_the_erf_definition() {
        for i in -600..600 {
            let x = i as f32 / 100.0;
            let mut y = [x];
            gelu(&mut y);
            let want = 0.5 * x * (1.0 + libm::erff(x * std::f32::consts::FRAC_1_SQRT_2));
            assert!((y[0] - want).abs() < 2e-6, "{x}: {} vs {want}", y[0]);
        }
    }

    #[test]
    fn the_panel_product_equals_the_plain_one() {
        let (k, n) = (40, 64);
        let w: Vec<f32> = (0..n * k)
            .map(|i| ((i * 7919) % 23) as f32 / 23.0 - 0.5)
            .collect();
        let bias: Vec<f32> = (0..n).map(|i| i as f32 * 0.01).collect();
        let layer = Linear::new(&w, bias.clone(), k, n);
        // Every remainder of the token tile: 1, 2, 3 tokens, full tiles, both.
        for m in 1..=9 {
            let x: Vec<f32> = (0..m * k)
                .map(|i| ((i * 104_729) % 17) as f32 / 17.0)
                .collect();
            let mut y = vec![0.0; m * n];
            layer.forward(&x, &mut y);
            for t in 0..m {
                for r in 0..n {
                    let want: f32 =
                        bias[r] + (0..k).map(|i| x[t * k + i] * w[r * k + i]).sum::<f32>();
                    assert!((y[t * n + r] - want).abs() < 1e-4, "m {m} t {t} r {r}");
                }
            }
        }
    }
}
