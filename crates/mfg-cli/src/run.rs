//! `mfg-cli solve`: resolve the config, solve, write the files.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use ndarray::Array1;
use serde_json::json;

use mfg_core::{
    Description, IterationRecord, MfgError, MfgSolution, Problem, Setting, StationarySolution,
};

use crate::config::{self, Config, ProblemKind};
use crate::error::CliError;
use crate::output::{self, Staged};

/// What `solve` needs.
#[derive(Debug, Clone)]
pub struct SolveOptions {
    /// The config file, if any.
    pub config: Option<PathBuf>,
    /// The output directory.
    pub out: PathBuf,
    /// `--set KEY=VALUE` overrides, in order.
    pub sets: Vec<String>,
    /// Array file format.
    pub format: output::Format,
    /// Refuse a run whose estimated peak memory is larger (bytes); `None`: half the machine's
    /// memory ([`default_memory_limit`]).
    pub max_memory: Option<u64>,
    /// Stop the solve, and write nothing, once this flag is set (the CLI's SIGINT/SIGTERM
    /// handler sets it); `None`: run to the end.
    pub cancel: Option<Arc<AtomicBool>>,
}

/// Half of the machine's memory (`MemTotal` in `/proc/meminfo`), or 8 GiB where unknown.
pub fn default_memory_limit() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| {
            let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
            let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(kib * 1024 / 2)
        })
        .unwrap_or(8 << 30)
}

/// The peak resident memory of this process so far (`VmHWM`), where the system reports it.
pub fn peak_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = text.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Refuse a config whose estimated peak memory exceeds `limit` (exit 2, with the estimate).
pub fn check_memory(config: &Config, limit: Option<u64>) -> Result<u64, CliError> {
    let estimate = config.memory_estimate();
    let limit = limit.unwrap_or_else(default_memory_limit);
    if estimate > limit {
        let gb = |b: u64| b as f64 / 1e9;
        return Err(CliError::Config {
            key: "--max-memory".into(),
            message: format!(
                "the run needs about {:.2} GB (grid × time levels × method, Anderson history included), over the limit of {:.2} GB: reduce grid.nx/ny/nz, grid.nt or iteration.anderson_depth, or raise --max-memory",
                gb(estimate),
                gb(limit)
            ),
        });
    }
    Ok(estimate)
}

/// What a run solved.
#[derive(Debug)]
pub enum Solved {
    /// A time-dependent solution.
    TimeDependent(MfgSolution),
    /// A stationary solution.
    Stationary(StationarySolution),
}

impl Solved {
    /// Whether the solve converged.
    pub fn converged(&self) -> bool {
        match self {
            Solved::TimeDependent(s) => s.converged(),
            Solved::Stationary(s) => s.converged(),
        }
    }

    /// Iterations (coupling iterations, or stationary Newton steps).
    pub fn iterations(&self) -> usize {
        match self {
            Solved::TimeDependent(s) => s.iterations(),
            Solved::Stationary(s) => s.history.len(),
        }
    }

    /// The termination reason's name.
    pub fn termination(&self) -> &'static str {
        match self {
            Solved::TimeDependent(s) => s.termination.name(),
            Solved::Stationary(s) => s.termination.name(),
        }
    }
}

impl std::fmt::Display for Solved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Solved::TimeDependent(s) => s.fmt(f),
            Solved::Stationary(s) => s.fmt(f),
        }
    }
}

/// The result of a successful run (converged or not).
#[derive(Debug)]
pub struct Outcome {
    /// The fully resolved config.
    pub config: Config,
    /// The solution.
    pub solution: Solved,
    /// The files written.
    pub files: Vec<PathBuf>,
}

/// Resolve, solve and write. `observer` sees every Picard iteration.
pub fn solve(
    opts: &SolveOptions,
    observer: &mut (dyn FnMut(&IterationRecord) + Send),
) -> Result<Outcome, CliError> {
    solve_with(opts, &mut |_| {}, observer)
}

/// As [`solve`], and `on_start` sees the resolved config before the solve starts.
pub fn solve_with(
    opts: &SolveOptions,
    on_start: &mut dyn FnMut(&Config),
    observer: &mut (dyn FnMut(&IterationRecord) + Send),
) -> Result<Outcome, CliError> {
    let config = config::resolve(opts.config.as_deref(), &opts.sets)?;
    let limits = Limits {
        max_memory: opts.max_memory,
        cancel: opts.cancel.clone(),
        out: Some(&opts.out),
    };
    let computed = compute(&config, &limits, on_start, observer)?;
    let files = write(
        &opts.out,
        opts.format,
        &config,
        &computed,
        opts.cancel.as_ref(),
    )?;
    Ok(Outcome {
        config,
        solution: computed.solution,
        files,
    })
}

/// What bounds a [`compute`].
#[derive(Debug, Clone, Default)]
pub struct Limits<'a> {
    /// Refuse a run whose estimated peak memory is larger (bytes); `None`: half the
    /// machine's memory.
    pub max_memory: Option<u64>,
    /// Stop, returning [`CliError::Interrupted`], once this flag is set.
    pub cancel: Option<Arc<AtomicBool>>,
    /// The directory the results will be written to: checked writable before the solve.
    pub out: Option<&'a Path>,
}

/// A solved config, nothing written yet.
#[derive(Debug)]
pub struct Computed {
    /// The problem solved.
    pub problem: Problem,
    /// Its solution.
    pub solution: Solved,
    /// `summary.json`'s content, but for `files` (added when written).
    pub summary: serde_json::Value,
}

/// Solve a resolved config: the memory check, the solvers, the warm start, the solve (time
/// dependent or stationary) and its summary. The library core of `mfg-cli solve` and of the
/// Python package.
pub fn compute(
    config: &Config,
    limits: &Limits<'_>,
    on_start: &mut dyn FnMut(&Config),
    observer: &mut (dyn FnMut(&IterationRecord) + Send),
) -> Result<Computed, CliError> {
    let start = Instant::now();
    // The size guard (naming the grid key) first, then the memory estimate, both before the
    // space–time fields are allocated.
    let problem = config.problem()?;
    let memory_estimate = check_memory(config, limits.max_memory)?;
    let interrupted = || CliError::Interrupted {
        dir: limits.out.map(Path::to_owned).unwrap_or_default(),
    };
    if config.problem == ProblemKind::Stationary {
        let solver = config.stationary_solver()?;
        on_start(config);
        if let Some(out) = limits.out {
            output::check_writable(out)?;
        }
        let setup_s = start.elapsed().as_secs_f64();
        tracing::info!(%problem, "solving the stationary problem");
        let sol = solver.solve(&problem).map_err(CliError::Solve)?;
        if limits
            .cancel
            .as_ref()
            .is_some_and(|flag| flag.load(Ordering::Relaxed))
        {
            return Err(interrupted());
        }
        let summary = stationary_summary(config, &problem, &sol, (setup_s, memory_estimate));
        return Ok(Computed {
            problem,
            solution: Solved::Stationary(sol),
            summary,
        });
    }
    let iterator = config.iterator()?;
    let mut hjb = config.hjb_solver()?;
    let mut fp = config.fp_solver()?;
    let warm_start = match &config.iteration.warm_start {
        None => None,
        Some(dir) => {
            let bad = |e: String| {
                CliError::Config {
                key: "iteration.warm_start".into(),
                message: format!(
                    "cannot use the density of an earlier solve ({e}): name the output directory of a solve on the same grid"
                ),
            }
            };
            // The same number of points could come from another dimension (41 × 41 = 1681):
            // the earlier grid's shape must be this one's.
            if let Some(shape) = output::result_shape(dir) {
                if shape != problem.grid().shape() {
                    return Err(bad(format!(
                        "it was solved on a grid of shape {shape:?}, this one is {:?}",
                        problem.grid().shape()
                    )));
                }
            }
            Some(output::read_2d(dir, "m").map_err(bad)?)
        }
    };
    on_start(config);
    if let Some(out) = limits.out {
        output::check_writable(out)?;
    }
    let hjb_name = hjb.name();
    let hjb_summary = describe(hjb.describe(problem.grid()));
    let fp_summary = describe(fp.describe(problem.grid()));
    let setup_s = start.elapsed().as_secs_f64();
    tracing::info!(%problem, "solving");
    let solve = || {
        let mut run = iterator
            .run(&problem, hjb.as_mut(), fp.as_mut())
            .observer(observer);
        if let Some(m) = &warm_start {
            run = run.initial_guess(m.view());
        }
        if let Some(flag) = &limits.cancel {
            run = run.cancel_on(flag.clone());
        }
        run.solve()
    };
    let solution = with_threads(config.iteration.threads, solve).map_err(|e| match e {
        MfgError::Interrupted { .. } => interrupted(),
        e @ MfgError::Incompatible { .. } => config.refusal(&e, hjb_name),
        MfgError::TimeLimit { limit_s, time_level } => CliError::Config {
            key: "iteration.time_limit_s".into(),
            message: format!(
                "{limit_s} s is too short for one coupling iteration (it passed at time level {time_level} of the first, before a result existed): raise it, or use fewer grid points"
            ),
        },
        MfgError::InitialGuess { problem } => CliError::Config {
            key: "iteration.warm_start".into(),
            message: format!(
                "the density in {} {problem}: name the output directory of a solve on the same grid (grid.nx, grid.ny, grid.nt)",
                config
                    .iteration
                    .warm_start
                    .as_deref()
                    .unwrap_or(Path::new("?"))
                    .display()
            ),
        },
        MfgError::Iteration {
            source: mfg_core::SolveError::UnresolvedDrift { rate_dt, .. },
            ..
        } => CliError::Config {
            key: "grid.nt".into(),
            message: format!(
                "the particles' drift changes too fast for the time step (drift rate × dt = {rate_dt:.3e}, more than {} sub-steps of one step would need): raise grid.nt or use fp.method = \"fdm\"",
                fp_solver::MAX_SUBSTEPS
            ),
        },
        other => other.into(),
    })?;
    let summary = time_dependent_summary(
        config,
        &problem,
        &solution,
        [hjb_summary, fp_summary],
        (setup_s, memory_estimate),
    );
    Ok(Computed {
        problem,
        solution: Solved::TimeDependent(solution),
        summary,
    })
}

/// Run `f` on a pool of `threads` rayon threads; with `threads = 0` on the calling thread
/// (the library moves a large solve onto the global pool, one thread per core, itself). The
/// solvers' results do not depend on the number of threads (fixed blocks, reductions in a
/// fixed order): only the time does.
fn with_threads<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> R {
    if threads == 0 {
        return f();
    }
    match rayon::ThreadPoolBuilder::new().num_threads(threads).build() {
        Ok(pool) => pool.install(f),
        // No pool (the system refused threads): the global one gives the same result.
        Err(e) => {
            tracing::warn!("cannot build a pool of {threads} threads ({e}); using the global pool");
            f()
        }
    }
}

/// Write a computed result into `dir` as one set (see [`crate::output`]): the arrays, the
/// axes, `config.toml` and `summary.json` with the set's manifest.
pub fn write(
    dir: &Path,
    format: output::Format,
    config: &Config,
    computed: &Computed,
    cancel: Option<&Arc<AtomicBool>>,
) -> Result<Vec<PathBuf>, CliError> {
    // Interrupted before anything is written: the directory is not even created.
    if cancel.is_some_and(|flag| flag.load(Ordering::Relaxed)) {
        return Err(CliError::Interrupted { dir: dir.into() });
    }
    let grid = computed.problem.grid();
    let mut staged = Staged::new(dir)?;
    staged.cancel_on(cancel.cloned());
    match &computed.solution {
        Solved::TimeDependent(sol) => {
            match format {
                output::Format::Npy => {
                    // Shape (nt + 1, nx_pts[, ny_pts[, nz_pts]]): the flat index is C order.
                    let mut shape = vec![sol.u.nrows()];
                    shape.extend(grid.shape());
                    staged.npy_shaped("u.npy", &sol.u, &shape)?;
                    staged.npy_shaped("m.npy", &sol.m, &shape)?;
                }
                output::Format::Csv => {
                    // One line per time level; in 2D and 3D the values of a level in C order
                    // (the last axis fastest).
                    staged.csv2("u.csv", &sol.u)?;
                    staged.csv2("m.csv", &sol.m)?;
                }
            }
            stage_axes(&mut staged, format, grid, Some(computed.problem.time()))?;
            if grid.has_geometry() {
                let codes = kind_codes(grid);
                match format {
                    output::Format::Npy => {
                        staged.npy_shaped("geometry.npy", &codes, &grid.shape())?
                    }
                    output::Format::Csv => staged.csv1("geometry.csv", &codes)?,
                }
            }
        }
        Solved::Stationary(sol) => {
            let u = Array1::from(sol.u.clone());
            let m = Array1::from(sol.m.clone());
            match format {
                output::Format::Npy => {
                    staged.npy_shaped("u.npy", &u, &grid.shape())?;
                    staged.npy_shaped("m.npy", &m, &grid.shape())?;
                }
                output::Format::Csv => {
                    staged.csv2("u.csv", &u.insert_axis(ndarray::Axis(0)))?;
                    staged.csv2("m.csv", &m.insert_axis(ndarray::Axis(0)))?;
                }
            }
            stage_axes(&mut staged, format, grid, None)?;
        }
    }
    staged.text("config.toml", &config.to_toml())?;
    // The files of the set with their sizes and hashes: readers check them against it.
    let mut summary = computed.summary.clone();
    summary["files"] = staged.manifest();
    staged.text(
        "summary.json",
        &serde_json::to_string_pretty(&summary).expect("summary serialises"),
    )?;
    staged.commit()
}

/// `summary.json` of a stationary solve (without `files`).
fn stationary_summary(
    config: &Config,
    problem: &Problem,
    sol: &StationarySolution,
    (setup_s, memory_estimate): (f64, u64),
) -> serde_json::Value {
    let grid = problem.grid();
    let history: Vec<_> = sol
        .history
        .iter()
        .map(|r| {
            json!({
                "iteration": r.iteration,
                "residual_hjb": r.residual_hjb,
                "residual_fp": r.residual_fp,
                "step": r.step,
            })
        })
        .collect();
    json!({
        "problem": "stationary",
        "converged": sol.converged(),
        "termination": sol.termination.name(),
        "iterations": sol.history.len(),
        "ergodic_constant": sol.lambda,
        "history": history,
        "mass": grid.integrate(&sol.m),
        "mass_quadrature": quadrature_name(grid),
        "continuation": sol.continuation.iter().map(|&(lambda, sigma, iterations, converged)| json!({
            "lambda": lambda,
            "sigma": sigma,
            "iterations": iterations,
            "outcome": if converged { "converged" } else { "max-iterations" },
        })).collect::<Vec<_>>(),
        "timings_s": {
            "total": sol.time_s,
            "setup": setup_s,
        },
        "solver": {
            "method": "Newton on (u, m, lambda): sparse LU (faer) of the upwind scheme's Jacobian, FP eliminated exactly, line search",
            "tolerance": config.iteration.tolerance,
            "max_iterations": config.iteration.max_iterations,
            "continuation": config.iteration.continuation,
        },
        "grid": grid_summary(grid, None),
        "model": model_summary(problem),
        "warnings": config.ignored_keys(),
        "memory": {
            "estimate_bytes": memory_estimate,
            "peak_rss_bytes": peak_memory(),
        },
        "preset": config.preset,
        "version": env!("CARGO_PKG_VERSION"),
    })
}

/// `summary.json`'s `model`: the Hamiltonian and the running cost with their parameters, as
/// the solvers saw them.
fn model_summary(problem: &Problem) -> serde_json::Value {
    let object = |name: &str, parameters: Vec<(&'static str, f64)>| {
        let mut o = serde_json::Map::new();
        o.insert("name".into(), name.into());
        for (k, v) in parameters {
            o.insert(k.into(), v.into());
        }
        serde_json::Value::Object(o)
    };
    let (h, f) = (problem.hamiltonian(), problem.coupling());
    json!({
        "sigma": problem.sigma(),
        "hamiltonian": object(h.name(), h.parameters()),
        "running_cost": object(f.name(), f.parameters()),
    })
}

fn quadrature_name(grid: &mfg_core::Grid) -> &'static str {
    if grid.is_mixed() {
        return "trapezoid along walled axes (dx/2 at the walls), uniform along periodic ones";
    }
    match grid.boundary() {
        mfg_core::Boundary::NoFlux => "trapezoid (weights dx/2 at the walls, dx inside)",
        mfg_core::Boundary::Periodic => "uniform (weight dx at every point)",
    }
}

/// `summary.json`'s `grid` (with `nt` and `dt` for a time grid).
fn grid_summary(grid: &mfg_core::Grid, time: Option<&mfg_core::TimeGrid>) -> serde_json::Value {
    json!({
        "dim": grid.dim(),
        "nx_pts": grid.axis(0).len(),
        "dx": grid.axis(0).dx(),
        "ny_pts": (grid.dim() >= 2).then(|| grid.axis(1).len()),
        "dy": (grid.dim() >= 2).then(|| grid.axis(1).dx()),
        "nz_pts": (grid.dim() == 3).then(|| grid.axis(2).len()),
        "dz": (grid.dim() == 3).then(|| grid.axis(2).dx()),
        "nt": time.map(|t| t.nt()),
        "dt": time.map(|t| t.dt()),
        "boundary": if grid.is_mixed() { "mixed" } else { grid.boundary().name() },
        "walls": grid.axes().iter().map(|a| a.boundary().name()).collect::<Vec<_>>(),
    })
}

/// Stage `x` (`y`, `z`) and, for a time grid, `t`.
fn stage_axes(
    staged: &mut Staged,
    format: output::Format,
    grid: &mfg_core::Grid,
    time: Option<&mfg_core::TimeGrid>,
) -> Result<(), CliError> {
    let names = ["x", "y", "z"];
    let mut axes: Vec<(&str, Array1<f64>)> = (0..grid.dim())
        .map(|d| (names[d], Array1::from(grid.axis(d).coords())))
        .collect();
    if let Some(t) = time {
        axes.push(("t", Array1::from(t.times())));
    }
    for (name, a) in axes {
        match format {
            output::Format::Npy => staged.npy1(&format!("{name}.npy"), &a)?,
            output::Format::Csv => staged.csv1(&format!("{name}.csv"), &a)?,
        }
    }
    Ok(())
}

/// With exits: the first time level by which 50 %, 90 % and 99 % of the crowd has left (null
/// when it has not by T).
fn evacuation_summary(problem: &Problem, sol: &MfgSolution) -> serde_json::Value {
    if sol.mass_exited.is_empty() {
        return serde_json::Value::Null;
    }
    let first = |share: f64| {
        sol.mass_exited
            .iter()
            .position(|&e| e >= share)
            .map(|k| problem.time().t(k))
    };
    json!({
        "exited_at_t_final": sol.mass_exited.last(),
        "t_50": first(0.5),
        "t_90": first(0.9),
        "t_99": first(0.99),
    })
}

/// The faces, obstacles and exits (null without).
fn geometry_summary(config: &Config, grid: &mfg_core::Grid) -> serde_json::Value {
    if !grid.has_geometry() {
        return serde_json::Value::Null;
    }
    let mut faces = serde_json::Map::new();
    for (d, pair) in config.faces().iter().enumerate() {
        for (key, face) in config::FACE_KEYS[d].iter().zip(pair) {
            let name = key.trim_start_matches("grid.");
            faces.insert(name.into(), json!(face));
        }
    }
    let g = &config.geometry;
    json!({
        "faces": faces,
        "obstacle": g.obstacle.as_ref().map(|e| e.0.clone()),
        "exit": g.exit,
        "exit_cost": g.exit_cost.as_ref().map(|e| e.0.clone()),
        "dirichlet": g.dirichlet.as_ref().map(|e| e.0.clone()),
        "exit_points": grid.exit_points().len(),
        "solid_points": grid.solid_points().len(),
        "file": "geometry: 0 open, 1 exit (or Dirichlet), 2 inside an obstacle, per point",
    })
}

/// The kind of every point as a number (0 open, 1 exit, 2 solid) for `geometry.npy` (and
/// the Python package's `Solution.geometry`).
pub fn kind_codes(grid: &mfg_core::Grid) -> Array1<f64> {
    (0..grid.len())
        .map(|i| match grid.kind(i) {
            mfg_core::PointKind::Open => 0.0,
            mfg_core::PointKind::Exit => 1.0,
            mfg_core::PointKind::Solid => 2.0,
        })
        .collect()
}

/// `summary.json` of a time-dependent solve (without `files`).
fn time_dependent_summary(
    config: &Config,
    problem: &Problem,
    sol: &MfgSolution,
    [hjb_summary, fp_summary]: [serde_json::Value; 2],
    (setup_s, memory_estimate): (f64, u64),
) -> serde_json::Value {
    let grid = problem.grid();
    let history: Vec<_> = sol
        .history
        .iter()
        .map(|r| {
            json!({
                "iteration": r.iteration,
                "residual_u": r.residual_u,
                "residual_m": r.residual_m,
                "mass": r.mass,
                "step": r.step.map_or("none", |k| k.name()),
                "krylov_iterations": r.krylov_iterations,
                "hjb": {
                    "newton_iterations": r.hjb.newton_iterations,
                    "max_newton_per_level": r.hjb.max_newton_per_level,
                    "linear_iterations": r.hjb.linear_iterations,
                    "time_s": r.hjb_s,
                },
                "fp": {
                    "substeps": r.fp.substeps,
                    "linear_iterations": r.fp.linear_iterations,
                    "max_mass_drift": r.fp.max_mass_drift,
                    "time_s": r.fp_s,
                },
            })
        })
        .collect();
    json!({
        "converged": sol.converged(),
        "termination": sol.termination.name(),
        "iterations": sol.iterations(),
        "history": history,
        "mass_initial": sol.mass_initial,
        "mass_final": sol.mass_final,
        "mass_exited": (!sol.mass_exited.is_empty()).then_some(&sol.mass_exited),
        "evacuation": evacuation_summary(problem, sol),
        "geometry": geometry_summary(config, grid),
        "mass_quadrature": quadrature_name(grid),
        "timings_s": {
            "total": sol.timings.total,
            "hjb": sol.timings.hjb,
            "fp": sol.timings.fp,
            "setup": setup_s,
        },
        "solver": {
            "hjb": hjb_summary,
            "fp": fp_summary,
            "iteration": {
                "method": match config.coupling_method() {
                    config::CouplingMethod::Anderson => "Anderson-accelerated Picard (safeguarded)",
                    config::CouplingMethod::Picard => "damped Picard",
                    config::CouplingMethod::Newton => "Newton on the coupled system (GMRES on the Schur complement, line search)",
                },
                "damping": config.iteration.damping,
                "tolerance": config.iteration.tolerance,
                "max_iterations": config.iteration.max_iterations,
                "anderson_depth": config.effective_anderson_depth(),
                "continuation": config.iteration.continuation,
                "inner_accuracy": config.iteration.inner_accuracy,
                "warm_start": config.iteration.warm_start,
            },
        },
        "grid": grid_summary(grid, Some(problem.time())),
        "model": model_summary(problem),
        "coarse_start": sol.coarse.iter().map(|c| json!({
            "shape": c.shape,
            "iterations": c.iterations,
            "outcome": c.outcome,
            "time_s": c.time_s,
        })).collect::<Vec<_>>(),
        "continuation": sol.continuation.iter().map(|c| json!({
            "lambda": c.lambda,
            "sigma": c.sigma,
            "iterations": c.iterations,
            "outcome": c.outcome,
            "time_s": c.time_s,
        })).collect::<Vec<_>>(),
        "warnings": config.ignored_keys(),
        "memory": {
            "estimate_bytes": memory_estimate,
            "peak_rss_bytes": peak_memory(),
        },
        "preset": config.preset,
        "version": env!("CARGO_PKG_VERSION"),
    })
}

/// A solver's self-description as the JSON object of `summary.json`'s `solver.hjb` / `solver.fp`.
fn describe(d: Description) -> serde_json::Value {
    let mut object = serde_json::Map::new();
    object.insert("method".into(), d.method.into());
    object.insert("scheme".into(), d.scheme.into());
    for (name, value) in d.settings {
        let v = match value {
            Setting::Integer(i) => i.into(),
            Setting::Real(x) => x.into(),
            Setting::Flag(b) => b.into(),
            Setting::Text(t) => t.into(),
            _ => serde_json::Value::Null,
        };
        object.insert(name.into(), v);
    }
    serde_json::Value::Object(object)
}
