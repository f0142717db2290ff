//! The numeric kernels of the forward pass: a matrix product against
//! weights laid out in panels, LayerNorm, GELU and attention.
//!
//! The product is written so the compiler vectorizes it: each weight panel
//! holds [`LANES`] output rows interleaved (`[k][LANES]`), so one input value
//! times one contiguous weight vector updates `LANES` outputs at once, for
//! [`TOKENS`] tokens that share each weight load. `multiversion` compiles it
//! for AVX-512, AVX2+FMA and the baseline and picks one at run time (its
//! generated dispatch is the only `unsafe` involved, inside that crate).

/// Output rows per weight panel.
pub const LANES: usize = 16;
/// Tokens that share one pass over a weight panel.
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
#[multiversion::multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512vl+avx2+fma",
    "x86_64+avx2+fma",
    "aarch64+neon"
))]
fn matmul(k: usize, n: usize, x: &[f32], panels: &[f32], y: &mut [f32]) {
    let panel_len = k * LANES;
    for (p, pair) in panels.chunks_exact(2 * panel_len).enumerate() {
        let (w0, w1) = pair.split_at(panel_len);
        let col = p * 2 * LANES;
        let mut rows = x.chunks_exact(k).zip(y.chunks_exact_mut(n));
        loop {
            let tile: Vec<_> = rows.by_ref().take(TOKENS).collect();
            match <[_; TOKENS]>::try_from(tile) {
                Ok(full) => tile_product(full, w0, w1, col),
                Err(rest) => {
                    for row in rest {
                        tile_product([row], w0, w1, col);
                    }
                    break;
                }
            }
        }
    }
}

/// One tile of `T` tokens times two weight panels: `2 * LANES` outputs each.
#[inline(always)]
fn tile_product<const T: usize>(
    rows: [(&[f32], &mut [f32]); T],
    w0: &[f32],
    w1: &[f32],
    col: usize,
) {
    let mut acc = [[[0f32; LANES]; 2]; T];
    let xs: [&[f32]; T] = std::array::from_fn(|t| rows[t].0);
    for (kk, (a, b)) in w0
        .chunks_exact(LANES)
        .zip(w1.chunks_exact(LANES))
        .enumerate()
    {
        for t in 0..T {
            let v = xs[t][kk];
            for l in 0..LANES {
                acc[t][0][l] = a[l].mul_add(v, acc[t][0][l]);
                acc[t][1][l] = b[l].mul_add(v, acc[t][1][l]);
            }
        }
    }
    for ((_, out), acc) in rows.into_iter().zip(&acc) {
        let out = &mut out[col..][..2 * LANES];
        out[..LANES].copy_from_slice(&acc[0]);
        out[LANES..].copy_from_slice(&acc[1]);
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
        let (k, n, m) = (40, 64, 7);
        let w: Vec<f32> = (0..n * k)
            .map(|i| ((i * 7919) % 23) as f32 / 23.0 - 0.5)
            .collect();
        let x: Vec<f32> = (0..m * k)
            .map(|i| ((i * 104_729) % 17) as f32 / 17.0)
            .collect();
        let bias: Vec<f32> = (0..n).map(|i| i as f32 * 0.01).collect();
        let layer = Linear::new(&w, bias.clone(), k, n);
        let mut y = vec![0.0; m * n];
        layer.forward(&x, &mut y);
        for t in 0..m {
            for r in 0..n {
                let want: f32 = bias[r] + (0..k).map(|i| x[t * k + i] * w[r * k + i]).sum::<f32>();
                assert!((y[t * n + r] - want).abs() < 1e-4, "t {t} r {r}");
            }
        }
    }
}
