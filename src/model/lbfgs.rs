//! Limited-memory BFGS: minimizes a smooth convex function (here the
//! L2-regularized loss of a linear model over the whole training set)
//! from its value and gradient, with a backtracking line search.
//!
//! Full-batch L-BFGS reaches the regularized optimum that stochastic
//! AdaGrad only wanders near; on noisy multi-label data (GoEmotions) that
//! difference was worth several points of F1 (EVALUATION.md).

/// What the minimizer needs from the objective: its value at `x`, with
/// its gradient written into `grad`.
pub trait Objective {
    /// f(x), and ∇f(x) into `grad` (same length as `x`).
    fn evaluate(&mut self, x: &[f32], grad: &mut [f32]) -> f64;
}

/// Stopping rules and memory.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Most iterations (one line search each).
    pub max_iterations: usize,
    /// Correction pairs kept (the "limited memory").
    pub memory: usize,
    /// Stop when the objective improves by less than this share of its value
    /// over one iteration.
    pub tolerance: f64,
}

fn dot(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| f64::from(*x) * f64::from(*y))
        .sum()
}

fn axpy(alpha: f64, x: &[f32], y: &mut [f32]) {
    let alpha = alpha as f32;
    for (y, x) in y.iter_mut().zip(x) {
        *y += alpha * x;
    }
}

/// Minimizes `objective` from `x` (updated in place); calls `progress` with
/// the iteration and the objective value after each iteration. Returns the
/// final value.
pub fn minimize(
    objective: &mut impl Objective,
    x: &mut [f32],
    settings: Settings,
    mut progress: impl FnMut(usize, f64),
) -> f64 {
    let n = x.len();
    let mut grad = vec![0.0f32; n];
    let mut value = objective.evaluate(x, &mut grad);
    // Correction pairs (s = x_{k+1} − x_k, y = g_{k+1} − g_k, 1 / y·s),
    // oldest first.
    let mut pairs: std::collections::VecDeque<(Vec<f32>, Vec<f32>, f64)> =
        std::collections::VecDeque::with_capacity(settings.memory);
    let mut direction = vec![0.0f32; n];
    let mut trial = vec![0.0f32; n];
    let mut trial_grad = vec![0.0f32; n];
    let mut alphas = vec![0.0f64; settings.memory];
    for iteration in 1..=settings.max_iterations {
        // Two-loop recursion: direction = −H·grad.
        direction.copy_from_slice(&grad);
        for (i, (s, y, rho)) in pairs.iter().enumerate().rev() {
            alphas[i] = rho * dot(s, &direction);
            axpy(-alphas[i], y, &mut direction);
        }
        let gamma = pairs
            .back()
            .map_or(1.0 / dot(&grad, &grad).sqrt().max(1e-12), |(s, y, _)| {
                dot(s, y) / dot(y, y).max(1e-30)
            }) as f32;
        direction.iter_mut().for_each(|d| *d *= gamma);
        for (i, (s, y, rho)) in pairs.iter().enumerate() {
            let beta = rho * dot(y, &direction);
            axpy(alphas[i] - beta, s, &mut direction);
        }
        direction.iter_mut().for_each(|d| *d = -*d);
        let mut slope = dot(&grad, &direction);
        if slope >= 0.0 {
            // Not a descent direction (numerical trouble): restart from the
            // gradient.
            pairs.clear();
            for (d, g) in direction.iter_mut().zip(&grad) {
                *d = -g;
            }
            slope = dot(&grad, &direction);
        }
        // Backtracking line search (Armijo).
        let mut step = 1.0f64;
        let mut accepted = None;
        for _ in 0..30 {
            for ((t, x), d) in trial.iter_mut().zip(x.iter()).zip(&direction) {
                *t = x + step as f32 * d;
            }
            let v = objective.evaluate(&trial, &mut trial_grad);
            if v <= value + 1e-4 * step * slope {
                accepted = Some(v);
                break;
            }
            step *= 0.5;
        }
        let Some(new_value) = accepted else {
            break; // no progress possible along this direction
        };
        let s: Vec<f32> = trial.iter().zip(x.iter()).map(|(t, x)| t - x).collect();
        let y: Vec<f32> = trial_grad.iter().zip(&grad).map(|(a, b)| a - b).collect();
        let ys = dot(&y, &s);
        if ys > 1e-12 {
            if pairs.len() == settings.memory {
                pairs.pop_front();
            }
            pairs.push_back((s, y, 1.0 / ys));
        }
        x.copy_from_slice(&trial);
        grad.copy_from_slice(&trial_grad);
        let improvement = value - new_value;
        value = new_value;
        progress(iteration, value);
        if improvement <= settings.tolerance * value.abs().max(1e-12) {
            break;
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    /// f(x) = Σ a_i (x_i − i)², ill-conditioned.
    struct Bowl;
    impl Objective for Bowl {
        fn evaluate(&mut self, x: &[f32], grad: &mut [f32]) -> f64 {
            let mut f = 0.0;
            for (i, (x, g)) in x.iter().zip(grad.iter_mut()).enumerate() {
                let a = 1.0 + 100.0 * i as f32;
                let d = x - i as f32;
                f += f64::from(a * d * d);
                *g = 2.0 * a * d;
            }
            f
        }
    }

    #[test]
    fn finds_the_minimum_of_an_ill_conditioned_bowl() {
        let mut x = vec![0.0f32; 5];
        let settings = Settings {
            max_iterations: 100,
            memory: 5,
            tolerance: 0.0,
        };
        let value = minimize(&mut Bowl, &mut x, settings, |_, _| {});
        assert!(value < 1e-6, "{value}");
        for (i, x) in x.iter().enumerate() {
            assert!((x - i as f32).abs() < 1e-3, "{x} vs {i}");
        }
    }
}
