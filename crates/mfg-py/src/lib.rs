//! # mfg-py
//!
//! The extension module `mfg_rs._core` of the Python package `mfg_rs` (built by maturin from
//! `crates/mfg-py/pyproject.toml`; the public API is `python/mfg_rs/__init__.py`). It solves
//! the Mean Field Game
//!
//! ```text
//! HJB (backward):  −∂t u − ν Δu + H(x, ∇u) = f(x, m),   u(T) = g
//! FP  (forward):    ∂t m − ν Δm − div(m ∂pH(x, ∇u)) = 0,  m(0) = m0
//! ```
//!
//! (or its stationary version) for a config resolved exactly as `mfg-cli solve` resolves it:
//! defaults < preset < config < overrides (`mfg_cli::config`), so every key of the command line
//! works from Python. The solve runs on a worker thread with the GIL released; the calling
//! thread wakes every 50 ms to let Python handle signals, and a `KeyboardInterrupt` sets the
//! solve's cancel flag (it stops at its next time level).
//!
//! Outcomes cross into Python as plain dicts (`{"ok": …}` or `{"error": kind, "key", "message"}`)
//! that `mfg_rs/__init__.py` turns into a `Solution` or its exception classes.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use numpy::{IntoPyArray, PyArrayMethods};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

use mfg_cli::config::{self, Config};
use mfg_cli::output::Format;
use mfg_cli::run::{self, Computed, Limits, Solved};
use mfg_cli::CliError;

/// A Python value (from a config dict or an override) as a TOML value.
fn to_toml(value: &Bound<'_, PyAny>, key: &str) -> Result<toml::Value, String> {
    if value.is_instance_of::<PyBool>() {
        return Ok(toml::Value::Boolean(
            value.extract::<bool>().map_err(|e| e.to_string())?,
        ));
    }
    if value.is_instance_of::<PyInt>() {
        return Ok(toml::Value::Integer(value.extract().map_err(|_| {
            format!("{key}: the integer does not fit in 64 bits")
        })?));
    }
    if value.is_instance_of::<PyFloat>() {
        return Ok(toml::Value::Float(
            value.extract::<f64>().map_err(|e| e.to_string())?,
        ));
    }
    if let Ok(s) = value.cast::<PyString>() {
        return Ok(toml::Value::String(s.to_string()));
    }
    if let Ok(d) = value.cast::<PyDict>() {
        let mut table = toml::Table::new();
        for (k, v) in d.iter() {
            let name: String = k
                .extract()
                .map_err(|_| format!("{key}: table keys must be strings"))?;
            let child = format!("{key}.{name}");
            table.insert(name, to_toml(&v, child.trim_start_matches('.'))?);
        }
        return Ok(toml::Value::Table(table));
    }
    if value.is_instance_of::<PyList>() || value.is_instance_of::<PyTuple>() {
        let items: Vec<Bound<'_, PyAny>> = value
            .try_iter()
            .map_err(|e| e.to_string())?
            .collect::<Result<_, _>>()
            .map_err(|e| e.to_string())?;
        return items
            .iter()
            .map(|v| to_toml(v, key))
            .collect::<Result<Vec<_>, _>>()
            .map(toml::Value::Array);
    }
    // NumPy scalars and anything else that behaves as a float.
    if let Ok(x) = value.extract::<f64>() {
        return Ok(toml::Value::Float(x));
    }
    Err(format!(
        "{key}: cannot use a value of type {} (give a number, a string, a bool, a list or a dict)",
        value
            .get_type()
            .name()
            .map(|n| n.to_string())
            .unwrap_or_default()
    ))
}

/// An error as the dict `__init__.py` raises from.
fn error_dict<'py>(py: Python<'py>, e: &CliError) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    let (kind, key) = match e {
        CliError::Config { key, .. } => ("config", Some(key.as_str())),
        CliError::Solve(_) => ("solve", None),
        CliError::Write { .. } => ("write", None),
        CliError::Interrupted { .. } => ("interrupted", None),
        _ => ("solve", None),
    };
    d.set_item("error", kind)?;
    d.set_item("key", key)?;
    d.set_item("message", e.to_string())?;
    Ok(d)
}

/// The arrays, summary and files of a solve as a dict.
fn result_dict<'py>(
    py: Python<'py>,
    computed: Computed,
    files: Vec<PathBuf>,
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    let grid = computed.problem.grid();
    let shape = grid.shape();
    let names = ["x", "y", "z"];
    for (axis, name) in names.iter().enumerate().take(grid.dim()) {
        d.set_item(*name, grid.axis(axis).coords().into_pyarray(py))?;
    }
    let field = |values: Vec<f64>, levels: Option<usize>| {
        let mut s = Vec::with_capacity(shape.len() + 1);
        s.extend(levels);
        s.extend(&shape);
        ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&s), values).expect("shape matches")
    };
    match computed.solution {
        Solved::TimeDependent(sol) => {
            let levels = sol.u.nrows();
            d.set_item("t", computed.problem.time().times().into_pyarray(py))?;
            let (u, _) = sol.u.into_raw_vec_and_offset();
            let (m, _) = sol.m.into_raw_vec_and_offset();
            d.set_item("u", field(u, Some(levels)).into_pyarray(py))?;
            d.set_item("m", field(m, Some(levels)).into_pyarray(py))?;
            d.set_item("stationary", false)?;
        }
        Solved::Stationary(sol) => {
            d.set_item("u", field(sol.u, None).into_pyarray(py))?;
            d.set_item("m", field(sol.m, None).into_pyarray(py))?;
            d.set_item("stationary", true)?;
        }
    }
    if grid.has_geometry() {
        let (codes, _) = mfg_cli::run::kind_codes(grid).into_raw_vec_and_offset();
        d.set_item("geometry", field(codes, None).into_pyarray(py))?;
    }
    d.set_item("summary_json", computed.summary.to_string())?;
    let files: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    d.set_item("files", files)?;
    Ok(d)
}

/// Resolve a config given from Python (see [`solve`]) as the command line does: the outer
/// error is Python's (a bad call), the inner one the config's.
fn resolve_py(
    config: Option<Bound<'_, PyAny>>,
    path: Option<PathBuf>,
    sets: Vec<String>,
    overrides: Option<Bound<'_, PyDict>>,
) -> PyResult<Result<Config, CliError>> {
    let bad = |key: &str, message: String| {
        Ok(Err(CliError::Config {
            key: key.into(),
            message,
        }))
    };
    let mut all_sets = sets;
    if let Some(o) = overrides {
        for (k, v) in o.iter() {
            let key: String = match k.extract() {
                Ok(key) => key,
                Err(_) => {
                    return bad(
                        "overrides",
                        "keys must be strings such as \"grid.nx\"".into(),
                    )
                }
            };
            let value = match to_toml(&v, &key) {
                Ok(value) => value,
                Err(message) => return bad(&key, message),
            };
            all_sets.push(format!("{key}={value}"));
        }
    }
    let text = match &config {
        None => None,
        Some(c) if c.is_instance_of::<PyString>() => Some(c.extract::<String>()?),
        Some(c) => match c.cast::<PyDict>() {
            Ok(d) => match to_toml(d.as_any(), "") {
                // A document (sections as tables), not an inline table.
                Ok(toml::Value::Table(t)) => Some(toml::to_string(&t).map_err(|e| {
                    pyo3::exceptions::PyValueError::new_err(format!("config: {e}"))
                })?),
                Ok(_) => unreachable!("a dict converts to a table"),
                Err(message) => return bad("config", message),
            },
            Err(_) => {
                return bad(
                    "config",
                    "give a dict of config sections, TOML text or a path".into(),
                )
            }
        },
    };
    Ok(match (&path, &text) {
        (Some(p), _) => config::resolve(Some(p), &all_sets),
        (None, Some(t)) => config::resolve_text(Some(("config", t)), &all_sets),
        (None, None) => config::resolve_text(None, &all_sets),
    })
}

/// Resolve a config (as [`solve`] does) without solving: `{"config_toml", "shape", "nt",
/// "stationary", "warnings"}` or an error dict.
#[pyfunction]
#[pyo3(signature = (config=None, path=None, sets=Vec::new(), overrides=None))]
fn resolve<'py>(
    py: Python<'py>,
    config: Option<Bound<'py, PyAny>>,
    path: Option<PathBuf>,
    sets: Vec<String>,
    overrides: Option<Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyDict>> {
    let resolved = match resolve_py(config, path, sets, overrides)? {
        Ok(c) => c,
        Err(e) => return error_dict(py, &e),
    };
    let problem = match resolved.problem() {
        Ok(p) => p,
        Err(e) => return error_dict(py, &e),
    };
    let d = PyDict::new(py);
    d.set_item("config_toml", resolved.to_toml())?;
    d.set_item("shape", problem.grid().shape())?;
    d.set_item("nt", problem.time().nt())?;
    d.set_item(
        "stationary",
        resolved.problem == mfg_cli::config::ProblemKind::Stationary,
    )?;
    d.set_item("warnings", resolved.ignored_keys())?;
    Ok(d)
}

/// The problem of a resolved config's TOML (from [`resolve`]).
fn problem_of(config_toml: &str) -> PyResult<(Config, mfg_core::Problem)> {
    let value_error = |e: CliError| pyo3::exceptions::PyValueError::new_err(e.to_string());
    let config = config::resolve_text(Some(("problem", config_toml)), &[]).map_err(value_error)?;
    let problem = config.problem().map_err(value_error)?;
    Ok((config, problem))
}

/// A space–time field from Python as `(nt + 1, points)`, checked against the problem.
fn field_of(
    problem: &mfg_core::Problem,
    a: numpy::PyReadonlyArrayDyn<'_, f64>,
    name: &str,
) -> PyResult<ndarray::Array2<f64>> {
    let levels = problem.time().levels();
    let n = problem.grid().len();
    let mut shape = vec![levels];
    shape.extend(problem.grid().shape());
    let view = a.as_array();
    if view.len() != levels * n || (view.ndim() != 2 && view.shape() != shape.as_slice()) {
        return Err(pyo3::exceptions::PyValueError::new_err(format!(
            "{name} has shape {:?}: give (nt + 1, points) = ({levels}, {n}) or {shape:?}",
            view.shape()
        )));
    }
    if view.iter().any(|v| !v.is_finite()) {
        return Err(pyo3::exceptions::PyValueError::new_err(format!(
            "{name} holds a non-finite value"
        )));
    }
    Ok(
        ndarray::Array2::from_shape_vec((levels, n), view.iter().copied().collect())
            .expect("length checked"),
    )
}

/// `(nt + 1, points)` back to the problem's `(nt + 1, *grid shape)`.
fn field_to_py<'py>(
    py: Python<'py>,
    problem: &mfg_core::Problem,
    a: ndarray::Array2<f64>,
) -> Bound<'py, numpy::PyArrayDyn<f64>> {
    let mut shape = vec![a.nrows()];
    shape.extend(problem.grid().shape());
    let (values, _) = a.into_raw_vec_and_offset();
    ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&shape), values)
        .expect("shape matches")
        .into_pyarray(py)
}

/// One HJB solve of the config's HJB method for the density `m` on all levels: `u`.
#[pyfunction]
fn hjb_solve<'py>(
    py: Python<'py>,
    config_toml: &str,
    m: numpy::PyReadonlyArrayDyn<'py, f64>,
) -> PyResult<Bound<'py, numpy::PyArrayDyn<f64>>> {
    let (config, problem) = problem_of(config_toml)?;
    let m = field_of(&problem, m, "m")?;
    let mut hjb = config
        .hjb_solver()
        .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))?;
    let mut u = ndarray::Array2::zeros(m.raw_dim());
    py.detach(|| hjb.solve_into(&problem, m.view(), u.view_mut()))
        .map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(e.to_string()))?;
    Ok(field_to_py(py, &problem, u))
}

/// One FP solve of the config's FP method for the value `u` on all levels: `m` (row 0 is m0).
#[pyfunction]
fn fp_solve<'py>(
    py: Python<'py>,
    config_toml: &str,
    u: numpy::PyReadonlyArrayDyn<'py, f64>,
) -> PyResult<Bound<'py, numpy::PyArrayDyn<f64>>> {
    let (config, problem) = problem_of(config_toml)?;
    let u = field_of(&problem, u, "u")?;
    let mut fp = config
        .fp_solver()
        .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))?;
    let mut m = ndarray::Array2::zeros(u.raw_dim());
    py.detach(|| fp.solve_into(&problem, u.view(), m.view_mut()))
        .map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(e.to_string()))?;
    Ok(field_to_py(py, &problem, m))
}

fn weights_of(kind: &str) -> PyResult<weno_kernels::Weights> {
    match kind {
        "js" => Ok(weno_kernels::Weights::Js),
        "z" => Ok(weno_kernels::Weights::Z),
        "m" => Ok(weno_kernels::Weights::M),
        other => Err(pyo3::exceptions::PyValueError::new_err(format!(
            "weights '{other}': use \"js\", \"z\" or \"m\""
        ))),
    }
}

/// Apply a per-stencil kernel to an array `(..., width)` (or one stencil): `(..., 3)`. The
/// input is read in place when C-contiguous and the output written straight into the new
/// NumPy array (no intermediate copies: the kernels are a few flops a stencil).
fn per_stencil<'py>(
    py: Python<'py>,
    stencils: numpy::PyReadonlyArrayDyn<'py, f64>,
    width: usize,
    f: impl Fn(&[f64]) -> [f64; 3],
) -> PyResult<Bound<'py, numpy::PyArrayDyn<f64>>> {
    let a = stencils.as_array();
    let last = a.shape().last().copied().unwrap_or(0);
    if last != width {
        return Err(pyo3::exceptions::PyValueError::new_err(format!(
            "the last axis must hold the {width} values of a stencil, got shape {:?}",
            a.shape()
        )));
    }
    let owned;
    let input: &[f64] = match a.as_slice() {
        Some(s) => s,
        None => {
            owned = a.iter().copied().collect::<Vec<f64>>();
            &owned
        }
    };
    let mut shape = a.shape().to_vec();
    *shape.last_mut().expect("at least one axis") = 3;
    let out = numpy::PyArrayDyn::<f64>::zeros(py, numpy::ndarray::IxDyn(&shape), false);
    {
        let mut w = out.readwrite();
        let o = w.as_slice_mut().expect("a new array is contiguous");
        for (s, o3) in input.chunks_exact(width).zip(o.chunks_exact_mut(3)) {
            o3.copy_from_slice(&f(s));
        }
    }
    Ok(out)
}

/// WENO5 smoothness indicators `β0, β1, β2` of stencils `(..., 5)` (Jiang–Shu).
#[pyfunction]
fn weno_smoothness<'py>(
    py: Python<'py>,
    stencils: numpy::PyReadonlyArrayDyn<'py, f64>,
) -> PyResult<Bound<'py, numpy::PyArrayDyn<f64>>> {
    per_stencil(py, stencils, 5, |s| {
        weno_kernels::reconstruct::smoothness(s[0], s[1], s[2], s[3], s[4])
    })
}

/// Nonlinear weights `ω0, ω1, ω2` from smoothness indicators `(..., 3)`.
#[pyfunction]
#[pyo3(signature = (betas, kind="js"))]
fn weno_weights<'py>(
    py: Python<'py>,
    betas: numpy::PyReadonlyArrayDyn<'py, f64>,
    kind: &str,
) -> PyResult<Bound<'py, numpy::PyArrayDyn<f64>>> {
    let w = weights_of(kind)?;
    per_stencil(py, betas, 3, move |b| {
        weno_kernels::reconstruct::nonlinear_weights(w, [b[0], b[1], b[2]])
    })
}

/// WENO5 reconstruction over a slice: `out[j]` at the interface between `v[j + 2]` and
/// `v[j + 3]` (left-biased), length `len(v) − 4`.
#[pyfunction]
#[pyo3(signature = (v, kind="js"))]
fn weno_reconstruct<'py>(
    py: Python<'py>,
    v: numpy::PyReadonlyArray1<'py, f64>,
    kind: &str,
) -> PyResult<Bound<'py, numpy::PyArray1<f64>>> {
    let w = weights_of(kind)?;
    let v = v.as_array().to_vec();
    if v.len() < 5 {
        return Err(pyo3::exceptions::PyValueError::new_err(
            "reconstruction needs at least 5 values",
        ));
    }
    let out = py.detach(|| {
        let mut out = vec![0.0; v.len() - 4];
        weno_kernels::reconstruct(w, &v, &mut out);
        out
    });
    Ok(out.into_pyarray(py))
}

/// One-sided HJ-WENO5 derivatives `(φx⁻, φx⁺)` of `φ` on a uniform grid of step `h`, ghosts
/// `periodic` (n distinct points of a period) or `reflect` (∂n φ = 0 at the end points).
#[pyfunction]
#[pyo3(signature = (phi, h, kind="js", ghosts="periodic"))]
#[allow(clippy::type_complexity)]
fn weno_hj_derivatives<'py>(
    py: Python<'py>,
    phi: numpy::PyReadonlyArray1<'py, f64>,
    h: f64,
    kind: &str,
    ghosts: &str,
) -> PyResult<(
    Bound<'py, numpy::PyArray1<f64>>,
    Bound<'py, numpy::PyArray1<f64>>,
)> {
    let w = weights_of(kind)?;
    let g = match ghosts {
        "periodic" => weno_kernels::Ghosts::Periodic,
        "reflect" => weno_kernels::Ghosts::Reflect,
        other => {
            return Err(pyo3::exceptions::PyValueError::new_err(format!(
                "ghosts '{other}': use \"periodic\" or \"reflect\""
            )))
        }
    };
    let phi = phi.as_array().to_vec();
    if phi.len() < 4 || !(h.is_finite() && h > 0.0) {
        return Err(pyo3::exceptions::PyValueError::new_err(
            "give at least 4 values and a step h > 0",
        ));
    }
    let (minus, plus) = py.detach(|| {
        let mut d = weno_kernels::HjWeno::new(phi.len(), w, g);
        let (mut minus, mut plus) = (vec![0.0; phi.len()], vec![0.0; phi.len()]);
        d.derivatives(&phi, h, &mut minus, &mut plus);
        (minus, plus)
    });
    Ok((minus.into_pyarray(py), plus.into_pyarray(py)))
}

/// Resolve a config as the command line does and solve it (see the module docs).
///
/// `config`: a dict of config sections, TOML text, or None; `path`: a config file (instead of
/// `config`); `sets`: `KEY=VALUE` overrides (`--set`); `overrides`: a dict `{"grid.nx": 200}`
/// (after `sets`); `out`: also write the command line's files there; `format`: `npy` or `csv`;
/// `progress`: called after every coupling iteration as `progress(iteration, residual_u,
/// residual_m)`.
#[pyfunction]
#[pyo3(signature = (config=None, path=None, sets=Vec::new(), overrides=None, out=None, format="npy", progress=None, max_memory=None))]
#[allow(clippy::too_many_arguments)]
fn solve<'py>(
    py: Python<'py>,
    config: Option<Bound<'py, PyAny>>,
    path: Option<PathBuf>,
    sets: Vec<String>,
    overrides: Option<Bound<'py, PyDict>>,
    out: Option<PathBuf>,
    format: &str,
    progress: Option<Py<PyAny>>,
    max_memory: Option<u64>,
) -> PyResult<Bound<'py, PyDict>> {
    let format = match format {
        "npy" => Format::Npy,
        "csv" => Format::Csv,
        other => {
            return error_dict(
                py,
                &CliError::Config {
                    key: "format".into(),
                    message: format!("'{other}': use \"npy\" or \"csv\""),
                },
            )
        }
    };
    let resolved = match resolve_py(config, path, sets, overrides)? {
        Ok(c) => c,
        Err(e) => return error_dict(py, &e),
    };
    let warnings = resolved.ignored_keys();
    let cancel = Arc::new(AtomicBool::new(false));
    // An exception raised by `progress`: it stops the solve and is re-raised.
    let callback_error: std::sync::Mutex<Option<PyErr>> = std::sync::Mutex::new(None);
    let (tx, rx) = mpsc::channel();
    // Waited on with the GIL released, hence shared with the detached closure.
    let rx = std::sync::Mutex::new(rx);
    let outcome = std::thread::scope(
        |scope| -> PyResult<Result<(Computed, Vec<PathBuf>), CliError>> {
            let worker_cancel = cancel.clone();
            let (config, out) = (&resolved, out.as_deref());
            let callback_error = &callback_error;
            scope.spawn(move || {
                let mut observer = |r: &mfg_core::IterationRecord| {
                    if let Some(callback) = &progress {
                        Python::attach(|py| {
                            if let Err(e) =
                                callback.call1(py, (r.iteration, r.residual_u, r.residual_m))
                            {
                                // A failing callback stops the solve; its exception is re-raised.
                                worker_cancel.store(true, Ordering::Relaxed);
                                let mut slot = callback_error.lock().expect("not poisoned");
                                slot.get_or_insert(e);
                            }
                        });
                    }
                };
                let limits = Limits {
                    max_memory,
                    cancel: Some(worker_cancel.clone()),
                    out,
                };
                let result =
                    run::compute(config, &limits, &mut |_| {}, &mut observer).and_then(|c| {
                        let files = match out {
                            Some(dir) => run::write(dir, format, config, &c, Some(&worker_cancel))?,
                            None => Vec::new(),
                        };
                        Ok((c, files))
                    });
                let _ = tx.send(result);
            });
            loop {
                let received = py.detach(|| {
                    rx.lock()
                        .expect("only this thread locks it")
                        .recv_timeout(Duration::from_millis(50))
                });
                match received {
                    Ok(result) => return Ok(result),
                    Err(mpsc::RecvTimeoutError::Timeout) => {
                        if let Err(interrupt) = py.check_signals() {
                            cancel.store(true, Ordering::Relaxed);
                            // The worker stops at its next time level; wait for it, then re-raise.
                            let _ = py.detach(|| rx.lock().expect("only this thread").recv());
                            return Err(interrupt);
                        }
                    }
                    Err(mpsc::RecvTimeoutError::Disconnected) => {
                        return Err(pyo3::exceptions::PyRuntimeError::new_err(
                            "the solve's worker thread ended without a result",
                        ))
                    }
                }
            }
        },
    )?;
    if let Some(e) = callback_error.into_inner().expect("not poisoned") {
        return Err(e);
    }
    let d = match outcome {
        Ok((computed, files)) => result_dict(py, computed, files)?,
        Err(e) => error_dict(py, &e)?,
    };
    d.set_item("warnings", warnings)?;
    d.set_item("config_toml", resolved.to_toml())?;
    Ok(d)
}

/// Draw the command line's pictures of a result directory (`mfg-cli plot DIR [--animate]`):
/// `{"files": [paths]}` or an error dict.
#[pyfunction]
fn plot<'py>(py: Python<'py>, dir: PathBuf, animate: bool) -> PyResult<Bound<'py, PyDict>> {
    match py.detach(|| mfg_cli::plot::plot_dir(&dir, animate)) {
        Ok(files) => {
            let d = PyDict::new(py);
            let files: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
            d.set_item("files", files)?;
            Ok(d)
        }
        Err(e) => error_dict(py, &e),
    }
}

/// The built-in presets as `(name, description)` pairs.
#[pyfunction]
fn presets() -> Vec<(String, String)> {
    mfg_cli::presets::PRESETS
        .iter()
        .map(|p| (p.name.to_owned(), p.description.to_owned()))
        .collect()
}

/// The extension module.
#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(solve, m)?)?;
    m.add_function(wrap_pyfunction!(presets, m)?)?;
    m.add_function(wrap_pyfunction!(plot, m)?)?;
    m.add_function(wrap_pyfunction!(resolve, m)?)?;
    m.add_function(wrap_pyfunction!(hjb_solve, m)?)?;
    m.add_function(wrap_pyfunction!(fp_solve, m)?)?;
    m.add_function(wrap_pyfunction!(weno_smoothness, m)?)?;
    m.add_function(wrap_pyfunction!(weno_weights, m)?)?;
    m.add_function(wrap_pyfunction!(weno_reconstruct, m)?)?;
    m.add_function(wrap_pyfunction!(weno_hj_derivatives, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
