//! The `train` and `eval` commands, as library functions writing to any
//! output (the binary passes stdout/stderr; tests pass buffers).

use super::{
    dataset::{self, Example},
    eval::Evaluation,
    format, IntentModel, LinearModel, TrainConfig,
};
use crate::Error;
use std::{io::Write, path::PathBuf, time::Instant};

/// Share of in-scope accuracy the default operating point may give up for
/// out-of-scope recall.
pub const MAX_ACCURACY_LOSS: f64 = 0.01;

/// Arguments of `callassist train`.
#[derive(Debug, Clone)]
pub struct TrainArgs {
    /// Training files.
    pub data: Vec<PathBuf>,
    /// Validation files (calibration and threshold).
    pub val: Vec<PathBuf>,
    /// Hold out this share of `data` (by hash) as validation instead.
    pub holdout: Option<f64>,
    /// Where to write the model.
    pub out: PathBuf,
    /// Hyper-parameters.
    pub config: TrainConfig,
}

pub(crate) fn load_all(paths: &[PathBuf]) -> Result<Vec<Example>, Error> {
    let mut all = Vec::new();
    for p in paths {
        all.extend(dataset::load(p)?);
    }
    Ok(all)
}

pub(crate) fn pairs(examples: &[Example]) -> Vec<(String, String)> {
    examples
        .iter()
        .map(|e| (e.text.clone(), e.label.clone()))
        .collect()
}

/// Trains, calibrates and writes a model; returns it.
pub fn train(
    args: &TrainArgs,
    out: &mut impl Write,
    progress: &mut impl Write,
) -> Result<IntentModel, Error> {
    let mut train = load_all(&args.data)?;
    let mut val = load_all(&args.val)?;
    if let Some(fraction) = args.holdout {
        let (held, kept): (Vec<_>, Vec<_>) = train
            .into_iter()
            .partition(|e| dataset::in_holdout(e, fraction));
        train = kept;
        val.extend(held);
    }
    if train.is_empty() {
        return Err(Error::Io("no training examples".into()));
    }
    let mut labels: Vec<String> = train.iter().map(|e| e.label.clone()).collect();
    labels.sort();
    labels.dedup();
    let index = |l: &str| labels.binary_search_by(|x| x.as_str().cmp(l)).ok();
    let examples: Vec<(String, usize)> = train
        .iter()
        .map(|e| {
            (
                e.text.clone(),
                index(&e.label).expect("label of a training example"),
            )
        })
        .collect();
    let started = Instant::now();
    let epochs = args.config.epochs;
    let mut linear = LinearModel::train(&examples, labels.clone(), args.config, |epoch, loss| {
        let done = epoch * 30 / epochs.max(1);
        let _ = write!(
            progress,
            "\r  training [{}{}] epoch {epoch}/{epochs}, loss {loss:.4}",
            "#".repeat(done),
            " ".repeat(30 - done)
        );
        let _ = progress.flush();
    });
    let _ = writeln!(progress);
    let validation: Vec<(String, usize)> = val
        .iter()
        .filter_map(|e| index(&e.label).map(|y| (e.text.clone(), y)))
        .collect();
    linear.calibrate(&validation);
    let mut model = IntentModel { linear };
    if !val.is_empty() && model.knows_out_of_scope() {
        let vpairs = pairs(&val);
        let evaluation = Evaluation::new(&model, &vpairs);
        model.linear.oos_threshold = evaluation.choose_threshold(MAX_ACCURACY_LOSS);
    }
    let about = format!(
        "trained on {} examples ({} labels) from {:?}; validation {} examples; {:?}",
        train.len(),
        labels.len(),
        args.data,
        val.len(),
        args.config
    );
    let files: Vec<Vec<u8>> = args
        .data
        .iter()
        .map(std::fs::read)
        .collect::<Result<_, _>>()?;
    let fingerprint = format::fingerprint(files.iter().map(Vec::as_slice));
    let bytes = format::encode(&model.linear, &about, &fingerprint);
    std::fs::write(&args.out, &bytes)
        .map_err(|e| Error::Io(format!("{}: {e}", args.out.display())))?;
    // Report on the quantized model as it will be served.
    let model = IntentModel::decode(&bytes)?;
    let _ = writeln!(
        out,
        "model: {} labels, {} feature rows, {:.1} MB, trained in {:.1} s, temperature {:.2}, out-of-scope threshold {:.3} → {}",
        model.linear.classes(),
        model.linear.rows(),
        bytes.len() as f64 / 1e6,
        started.elapsed().as_secs_f64(),
        model.linear.temperature,
        model.linear.oos_threshold,
        args.out.display()
    );
    if !val.is_empty() {
        let vpairs = pairs(&val);
        print_report(
            &Evaluation::new(&model, &vpairs),
            model.linear.oos_threshold,
            10,
            out,
        );
    }
    Ok(model)
}

/// Arguments of `callassist eval`.
#[derive(Debug, Clone)]
pub struct EvalArgs {
    /// Evaluation files.
    pub data: Vec<PathBuf>,
    /// Evaluate only this held-out share of `data` (as `train --holdout`).
    pub holdout: Option<f64>,
    /// Override the model's out-of-scope threshold.
    pub threshold: Option<f32>,
    /// Rows of the per-label table (worst first).
    pub rows: usize,
}

/// Evaluates `model` and prints the report.
pub fn eval(model: &IntentModel, args: &EvalArgs, out: &mut impl Write) -> Result<(), Error> {
    let mut data = load_all(&args.data)?;
    if let Some(fraction) = args.holdout {
        data.retain(|e| dataset::in_holdout(e, fraction));
    }
    if data.is_empty() {
        return Err(Error::Io("no evaluation examples".into()));
    }
    let vpairs = pairs(&data);
    let evaluation = Evaluation::new(model, &vpairs);
    print_report(
        &evaluation,
        args.threshold.unwrap_or(model.linear.oos_threshold),
        args.rows,
        out,
    );
    Ok(())
}

fn pct(x: Option<f64>) -> String {
    x.map_or("—".into(), |x| format!("{:.2}%", x * 100.0))
}

/// Prints an evaluation's report (accuracy, calibration, out-of-scope,
/// worst labels, confusions).
pub fn print_report(
    evaluation: &Evaluation<'_>,
    threshold: f32,
    rows: usize,
    out: &mut impl Write,
) {
    let r = evaluation.report(threshold);
    let no_threshold = evaluation.report(0.0);
    let _ = writeln!(out, "examples            {}", r.examples);
    let _ = writeln!(
        out,
        "accuracy            {}   (threshold {:.3})",
        pct(Some(r.accuracy)),
        threshold
    );
    let _ = writeln!(out, "macro-F1            {:.4}", r.macro_f1);
    let _ = writeln!(
        out,
        "calibration error   {:.4}   (ECE of the top probability, 10 bins)",
        r.calibration_error
    );
    let _ = writeln!(
        out,
        "in-scope accuracy   {}   (no threshold: {})",
        pct(r.in_scope_accuracy),
        pct(no_threshold.in_scope_accuracy)
    );
    if r.oos_recall.is_some() {
        let _ = writeln!(
            out,
            "out-of-scope recall {}   (no threshold: {})",
            pct(r.oos_recall),
            pct(no_threshold.oos_recall)
        );
        if let Some((t, a, rec)) = evaluation.best_oos_recall(0.90) {
            let _ = writeln!(
                out,
                "out-of-scope recall {}   at in-scope accuracy {} ≥ 90% (threshold {t:.3})",
                pct(Some(rec)),
                pct(Some(a))
            );
        }
    }
    let _ = writeln!(
        out,
        "\n{:<40} {:>9} {:>9} {:>7} {:>8}",
        "label (worst first)", "precision", "recall", "F1", "support"
    );
    for l in r.labels.iter().take(rows) {
        let _ = writeln!(
            out,
            "{:<40} {:>9.3} {:>9.3} {:>7.3} {:>8}",
            l.label, l.precision, l.recall, l.f1, l.support
        );
    }
    let _ = writeln!(out, "\nmost confused (gold → predicted)");
    for (g, p, n) in r.confusions.iter().take(10) {
        let _ = writeln!(out, "  {n:>4}  {g} → {p}");
    }
}
