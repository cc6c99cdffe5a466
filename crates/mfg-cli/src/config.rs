//! The config file (DESIGN.md §5): typed sections with documented defaults, layered as
//! built-in defaults < preset < file < `--set`, then validated into a [`Problem`].

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Deserializer, Serialize};

use crate::cost::ExprCost;
use crate::expr::Expr;
use fp_solver::{FdmFp, ParticleFp};
use hjb_solver::{FdmHjb, NewtonSettings, WenoHjb};
use mfg_core::{
    Boundary, Bounded, Congestion, Continuation, Coupling, FixedPointIterator, FpSolver, Grid,
    HjbSolver, IterationMethod, IterationSettings, MfgError, Nonlocal, PointKind, Power, Problem,
    ProblemError, TimeGrid,
};

use crate::error::CliError;
use crate::presets;

/// The largest `(nx + 1)(nt + 1)` accepted: 5·10^7 values, 400 MB per field (a solve keeps
/// several fields).
pub const MAX_FIELD_ELEMENTS: u128 = 50_000_000;

/// The most particles accepted (16 bytes each, twice).
pub const MAX_PARTICLES: usize = 200_000_000;

/// The whole config; every key is optional.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// A built-in problem to start from.
    pub preset: String,
    /// `time-dependent` (on [0, T]) or `stationary` (the ergodic problem).
    pub problem: ProblemKind,
    /// `[grid]`.
    pub grid: GridConfig,
    /// `[model]`.
    pub model: ModelConfig,
    /// `[geometry]`: obstacles and exits.
    pub geometry: GeometryConfig,
    /// `[hjb]`.
    pub hjb: HjbConfig,
    /// `[fp]`.
    pub fp: FpConfig,
    /// `[iteration]`.
    pub iteration: IterationConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            preset: presets::DEFAULT_PRESET.to_owned(),
            problem: ProblemKind::TimeDependent,
            grid: GridConfig::default(),
            model: ModelConfig::default(),
            geometry: GeometryConfig::default(),
            hjb: HjbConfig::default(),
            fp: FpConfig::default(),
            iteration: IterationConfig::default(),
        }
    }
}

/// `problem`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProblemKind {
    /// HJB backward and FP forward on [0, T].
    TimeDependent,
    /// The stationary (ergodic) system: u, m and the ergodic constant λ.
    Stationary,
}

/// `[grid]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GridConfig {
    /// Bounds of x.
    pub x: [f64; 2],
    /// Intervals in x.
    pub nx: usize,
    /// Bounds of y (2D).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub y: Option<[f64; 2]>,
    /// Intervals in y (2D).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ny: Option<usize>,
    /// Bounds of z (3D, with y).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub z: Option<[f64; 2]>,
    /// Intervals in z (3D, with y).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nz: Option<usize>,
    /// Horizon T.
    pub t_final: f64,
    /// Time intervals.
    pub nt: usize,
    /// Walls (every face not set below).
    pub boundary: BoundaryKind,
    /// The face x = x[0] (default: `boundary`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x_min: Option<FaceKind>,
    /// The face x = x[1].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x_max: Option<FaceKind>,
    /// The face y = y[0] (2D, 3D).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub y_min: Option<FaceKind>,
    /// The face y = y[1].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub y_max: Option<FaceKind>,
    /// The face z = z[0] (3D).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub z_min: Option<FaceKind>,
    /// The face z = z[1].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub z_max: Option<FaceKind>,
}

/// `grid.x_min`, …: what one face of the box is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaceKind {
    /// A reflecting wall.
    NoFlux,
    /// Periodic (with the opposite face).
    Periodic,
    /// A wall with exits where `geometry.exit` says (all of it by default): u = the exit cost,
    /// the crowd leaves.
    Exit,
    /// u given (`geometry.dirichlet`) on the whole face, the density absorbed.
    Dirichlet,
}

/// The names of the face keys, axis by axis: `[lower, upper]`.
pub const FACE_KEYS: [[&str; 2]; 3] = [
    ["grid.x_min", "grid.x_max"],
    ["grid.y_min", "grid.y_max"],
    ["grid.z_min", "grid.z_max"],
];

/// `[geometry]`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GeometryConfig {
    /// Obstacles: the points where this expression of x (y, z) is > 0 are inside.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub obstacle: Option<ExprText>,
    /// Where on the `exit` faces the exits are: an expression (> 0 on an exit) or intervals
    /// of the face's coordinate (2D: y on the x faces, x on the y faces). Default: all of them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit: Option<ExitSpec>,
    /// u at the exits (an expression; default 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_cost: Option<ExprText>,
    /// u on the `dirichlet` faces (an expression; default 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dirichlet: Option<ExprText>,
}

/// `geometry.exit`: an expression, or intervals along the face.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ExitSpec {
    /// Intervals `[a, b]` of the face's coordinate.
    Intervals(Vec<[f64; 2]>),
    /// An expression: an exit where it is > 0.
    Expr(ExprText),
}

impl<'de> Deserialize<'de> for ExitSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = toml::Value::deserialize(d)?;
        match v {
            toml::Value::Array(items) => items
                .into_iter()
                .map(|item| {
                    let pair: Option<[f64; 2]> = match &item {
                        toml::Value::Array(a) if a.len() == 2 => {
                            let num = |x: &toml::Value| {
                                x.as_float().or_else(|| x.as_integer().map(|i| i as f64))
                            };
                            num(&a[0]).zip(num(&a[1])).map(|(a, b)| [a, b])
                        }
                        _ => None,
                    };
                    pair.filter(|[a, b]| a.is_finite() && b.is_finite() && a < b)
                        .ok_or_else(|| {
                            serde::de::Error::custom(format!(
                                "{item} is not an interval: give [[lo, hi], ...] with lo < hi, or an expression"
                            ))
                        })
                })
                .collect::<Result<Vec<_>, _>>()
                .map(ExitSpec::Intervals),
            other => ExprText::deserialize(other)
                .map(ExitSpec::Expr)
                .map_err(serde::de::Error::custom),
        }
    }
}

impl Default for GridConfig {
    fn default() -> Self {
        Self {
            x: [0.0, 1.0],
            nx: 100,
            y: None,
            ny: None,
            z: None,
            nz: None,
            t_final: 1.0,
            nt: 50,
            boundary: BoundaryKind::NoFlux,
            x_min: None,
            x_max: None,
            y_min: None,
            y_max: None,
            z_min: None,
            z_max: None,
        }
    }
}

/// `grid.boundary`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BoundaryKind {
    /// Reflecting walls.
    NoFlux,
    /// Periodic.
    Periodic,
}

/// `[model]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelConfig {
    /// σ (ν = σ²/2).
    pub sigma: f64,
    /// The family of H.
    pub hamiltonian: ModelHamiltonian,
    /// λ in H = |p|²/(2λ) (`quadratic`, `bounded`: the cost λ|a|²/2 of a control a) or
    /// |p|^β/(βλ) (`power`).
    pub control_cost: f64,
    /// β > 1 in H = |p|^β/(βλ), for `power`.
    pub hamiltonian_exponent: f64,
    /// a_max > 0, the bound |a| ≤ a_max on the controls, for `bounded`.
    pub control_bound: f64,
    /// c₀ > 0 in |p|²/(2λ (c₀ + m)^α), for `congestion`.
    pub congestion_offset: f64,
    /// α ∈ [0, 2] in |p|²/(2λ (c₀ + m)^α), for `congestion`.
    pub congestion_exponent: f64,
    /// V(x).
    pub potential: ExprText,
    /// The kind of F(m).
    pub coupling: CouplingKind,
    /// c.
    pub coupling_strength: f64,
    /// p, for `power`.
    pub coupling_power: f64,
    /// The width w of the Gaussian kernel, for `nonlocal`.
    pub coupling_width: f64,
    /// g(x).
    pub terminal_cost: ExprText,
    /// m0(x) before normalisation.
    pub initial_density: ExprText,
    /// The whole running cost f(t, x, m) as an expression (replaces `potential` and
    /// `coupling`; its m-derivative is taken symbolically).
    pub running_cost: Option<ExprText>,
}

impl Default for ModelConfig {
    fn default() -> Self {
        Self {
            sigma: 0.3,
            hamiltonian: ModelHamiltonian::Quadratic,
            control_cost: 1.0,
            hamiltonian_exponent: 2.0,
            control_bound: 1.0,
            congestion_offset: 1.0,
            congestion_exponent: 1.0,
            potential: ExprText("0".into()),
            coupling: CouplingKind::Linear,
            coupling_strength: 1.0,
            coupling_power: 2.0,
            coupling_width: 0.1,
            terminal_cost: ExprText("(x-0.5)^2".into()),
            initial_density: ExprText("exp(-50*(x-0.5)^2)".into()),
            running_cost: None,
        }
    }
}

/// `model.hamiltonian`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelHamiltonian {
    /// H = |p|²/(2λ).
    Quadratic,
    /// H = |p|^β/(βλ).
    Power,
    /// Controls bounded by |a| ≤ a_max: |p|²/(2λ) up to |p| = λ a_max, then linear.
    Bounded,
    /// Congestion: |p|²/(2λ (c₀ + m)^α).
    Congestion,
}

/// `model.coupling`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CouplingKind {
    /// F = 0.
    None,
    /// F = c m.
    Linear,
    /// F = c ln m.
    Log,
    /// F = c m^p.
    Power,
    /// F[m] = c K * m, K the Gaussian of width w (by FFT).
    Nonlocal,
}

/// The text of an expression; a bare number is accepted too (`potential = 0`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct ExprText(pub String);

impl<'de> Deserialize<'de> for ExprText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            S(String),
            I(i64),
            F(f64),
        }
        match Raw::deserialize(d).map_err(|_| {
            serde::de::Error::custom(
                "expected an expression in x (a string such as \"(x-0.5)^2\") or a number",
            )
        })? {
            Raw::S(s) => Ok(Self(s)),
            Raw::I(i) => Ok(Self(i.to_string())),
            Raw::F(f) if f.is_finite() => Ok(Self(format!("{f:?}"))),
            Raw::F(f) => Err(serde::de::Error::custom(format!(
                "{f} is not a finite number: give a finite value or an expression"
            ))),
        }
    }
}

impl fmt::Display for ExprText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `[hjb]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HjbConfig {
    /// The scheme.
    pub method: HjbMethod,
    /// CFL number of the WENO methods' TVD-RK3 sub-steps, in (0, 1].
    pub cfl: f64,
    /// Numerical Hamiltonian of the WENO methods.
    pub hamiltonian: HamiltonianKind,
}

impl Default for HjbConfig {
    fn default() -> Self {
        Self {
            method: HjbMethod::Fdm,
            cfl: 0.5,
            hamiltonian: HamiltonianKind::Godunov,
        }
    }
}

/// `hjb.hamiltonian`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HamiltonianKind {
    /// Godunov.
    Godunov,
    /// Global Lax–Friedrichs.
    LaxFriedrichs,
}

/// `hjb.method`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HjbMethod {
    /// Implicit upwind finite differences with Newton.
    Fdm,
    /// HJ-WENO5 (Jiang–Shu weights) with TVD-RK3.
    Weno5,
    /// HJ-WENO5 with WENO-Z weights.
    WenoZ,
    /// HJ-WENO5 with WENO-M weights.
    WenoM,
}

/// `[fp]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FpConfig {
    /// The scheme.
    pub method: FpMethod,
    /// Number of particles (particle method).
    pub particles: usize,
    /// Random seed (particle method).
    pub seed: u64,
    /// KDE bandwidth: `silverman`, `scott` or a number (particle method).
    pub bandwidth: Bandwidth,
}

impl Default for FpConfig {
    fn default() -> Self {
        Self {
            method: FpMethod::Fdm,
            particles: 50_000,
            seed: 0,
            bandwidth: Bandwidth::Rule("silverman".into()),
        }
    }
}

/// `fp.method`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FpMethod {
    /// Implicit finite differences (adjoint of the HJB operator).
    Fdm,
    /// Particles with kernel density estimation.
    Particle,
}

/// `fp.bandwidth`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Bandwidth {
    /// A fixed bandwidth.
    Value(f64),
    /// A rule of thumb by name.
    Rule(String),
}

/// `iteration.method`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CouplingMethod {
    /// Damped Picard (`anderson_depth` is not read).
    Picard,
    /// Anderson-accelerated Picard (depth `anderson_depth`, 5 when that is 0).
    Anderson,
    /// Newton's method on the coupled system (FDM schemes only).
    Newton,
}

/// `iteration.continuation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ContinuationMode {
    /// Solve the target directly.
    Off,
    /// Directly, then along the homotopy if that fails.
    Auto,
    /// Always along the homotopy.
    Always,
}

/// The most threads `iteration.threads` may ask for.
pub const MAX_THREADS: usize = 1024;

/// The Anderson depth of `iteration.method = "anderson"` when `anderson_depth` is 0.
pub const DEFAULT_ANDERSON_DEPTH: usize = 5;

/// `[iteration]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IterationConfig {
    /// `picard`, `anderson` or `newton`; unset: Anderson when `anderson_depth` > 0, else
    /// damped Picard.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<CouplingMethod>,
    /// When to solve along a homotopy in σ and the coupling strength: `auto` (when the direct
    /// solve fails), `always`, `off`.
    pub continuation: ContinuationMode,
    /// Maximal Picard iterations.
    pub max_iterations: usize,
    /// Relative residual tolerance.
    pub tolerance: f64,
    /// θ in (0, 1].
    pub damping: f64,
    /// Anderson depth, 0 = plain damped Picard.
    pub anderson_depth: usize,
    /// Wall-clock limit in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_limit_s: Option<f64>,
    /// Inner solves are asked for this factor times the current residual (0 = exact).
    pub inner_accuracy: f64,
    /// Start from the density of an earlier solve on the same grid: the output directory
    /// holding its `m.npy` (or `m.csv`), relative to the working directory. Default: none
    /// (`m0` on every level).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warm_start: Option<std::path::PathBuf>,
    /// Threads of the solves' parallel kernels (0 = one per core). The results are the same
    /// for any number.
    pub threads: usize,
    /// Nested iteration: start from the solution on the grid with half the intervals (and
    /// so on down), interpolated: `auto` (where measured faster), `on`, `off`.
    pub coarse_start: CoarseStartMode,
}

/// `iteration.coarse_start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CoarseStartMode {
    /// Where it was measured to pay: three-dimensional grids of at least
    /// [`COARSE_START_MIN_POINTS`] points.
    Auto,
    /// Always (when the grid can be coarsened).
    On,
    /// Never.
    Off,
}

/// `iteration.coarse_start = "auto"` starts from a coarse solve on 3D grids from this many
/// points per level (measured, docs/PERFORMANCE.md).
pub const COARSE_START_MIN_POINTS: usize = 100_000;

impl Default for IterationConfig {
    fn default() -> Self {
        let s = IterationSettings::default();
        Self {
            method: None,
            continuation: ContinuationMode::Auto,
            max_iterations: s.max_iterations,
            tolerance: s.tolerance,
            damping: s.damping,
            anderson_depth: s.anderson_depth,
            time_limit_s: s.time_limit_s,
            inner_accuracy: s.inner_accuracy,
            warm_start: None,
            threads: 0,
            coarse_start: CoarseStartMode::Auto,
        }
    }
}

impl IterationConfig {
    /// The method this section selects: `method`, else Anderson when `anderson_depth` > 0,
    /// else `unset` (the measured default for the grid and schemes, [`Config::default_method`]).
    pub fn coupling_method(&self, unset: CouplingMethod) -> CouplingMethod {
        match self.method {
            Some(m) => m,
            None if self.anderson_depth > 0 => CouplingMethod::Anderson,
            None => unset,
        }
    }

    /// The Anderson depth the solve uses: 0 unless the method is Anderson's.
    pub fn effective_anderson_depth(&self, unset: CouplingMethod) -> usize {
        match self.coupling_method(unset) {
            CouplingMethod::Anderson if self.anderson_depth == 0 => DEFAULT_ANDERSON_DEPTH,
            CouplingMethod::Anderson => self.anderson_depth,
            CouplingMethod::Picard | CouplingMethod::Newton => 0,
        }
    }

    /// The core settings.
    pub fn settings(&self, unset: CouplingMethod) -> IterationSettings {
        IterationSettings {
            method: match self.coupling_method(unset) {
                CouplingMethod::Newton => IterationMethod::Newton,
                _ => IterationMethod::FixedPoint,
            },
            continuation: match self.continuation {
                ContinuationMode::Off => Continuation::Off,
                ContinuationMode::Auto => Continuation::Auto,
                ContinuationMode::Always => Continuation::Always,
            },
            max_iterations: self.max_iterations,
            tolerance: self.tolerance,
            damping: self.damping,
            anderson_depth: self.effective_anderson_depth(unset),
            time_limit_s: self.time_limit_s,
            inner_accuracy: self.inner_accuracy,
            ..Default::default()
        }
    }
}

fn invalid(key: impl Into<String>, message: impl Into<String>) -> CliError {
    CliError::Config {
        key: key.into(),
        message: message.into(),
    }
}

/// Parse one `--set KEY=VALUE` into a (dotted key, value) pair. The value is read as a TOML
/// value when it parses as exactly one, else it is taken as a bare string.
pub fn parse_set(arg: &str) -> Result<(Vec<String>, toml::Value), CliError> {
    let Some((key, value)) = arg.split_once('=') else {
        return Err(invalid(
            "--set",
            format!("'{arg}' is not KEY=VALUE (for example --set grid.nx=200)"),
        ));
    };
    let path: Vec<String> = key.trim().split('.').map(|s| s.trim().to_owned()).collect();
    if path.iter().any(|s| s.is_empty()) {
        return Err(invalid(
            "--set",
            format!("'{key}' is not a key (for example grid.nx or model.sigma)"),
        ));
    }
    let value = value.trim();
    let parsed = toml::from_str::<toml::Table>(&format!("v = {value}"))
        .ok()
        .filter(|t| t.len() == 1)
        .and_then(|mut t| t.remove("v"));
    Ok((
        path,
        parsed.unwrap_or_else(|| toml::Value::String(value.to_owned())),
    ))
}

fn insert(table: &mut toml::Table, path: &[String], value: toml::Value) -> Result<(), CliError> {
    let (last, parents) = path.split_last().expect("non-empty path");
    let mut t = table;
    for (depth, seg) in parents.iter().enumerate() {
        let entry = t
            .entry(seg.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        t = entry.as_table_mut().ok_or_else(|| {
            invalid(
                path[..=depth].join("."),
                "is a value, not a section: set a key inside a section such as grid.nx",
            )
        })?;
    }
    t.insert(last.clone(), value);
    Ok(())
}

/// Overlay `top` onto `base`, merging sections key by key.
fn merge(base: &mut toml::Table, top: toml::Table) {
    for (k, v) in top {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(t)) => merge(b, t),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

/// The largest config file read (a config is a few hundred bytes; this bounds what a wrong
/// path such as a device or a data file can make us read).
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// Read a config file: a regular file of at most [`MAX_CONFIG_BYTES`], UTF-8.
fn read_config_file(path: &Path) -> Result<String, CliError> {
    use std::io::Read;
    let bad = |what: String| invalid("CONFIG", format!("{}: {what}", path.display()));
    let meta = std::fs::metadata(path)
        .map_err(|e| bad(format!("cannot read it ({e}); check the path")))?;
    if !meta.is_file() {
        return Err(bad("not a regular file: give a TOML config file".into()));
    }
    if meta.len() > MAX_CONFIG_BYTES {
        return Err(bad(format!(
            "{} bytes, over the limit of {MAX_CONFIG_BYTES}: is this the config file?",
            meta.len()
        )));
    }
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_CONFIG_BYTES + 1).read_to_string(&mut text))
        .map_err(|e| bad(format!("cannot read it as UTF-8 text ({e})")))?;
    Ok(text)
}

/// A deserialiser message in the words of a config file rather than of Rust types.
fn in_words(message: &str) -> String {
    const WORDS: [(&str, &str); 8] = [
        ("expected usize", "expected a whole number >= 0"),
        ("expected u64", "expected a whole number >= 0"),
        ("expected f64", "expected a number"),
        (
            "expected path string",
            "expected a directory name in quotes",
        ),
        ("expected string only", "expected a name in quotes"),
        (
            "data did not match any variant of untagged enum Bandwidth",
            "expected \"silverman\", \"scott\" or a number > 0",
        ),
        (
            "expected fewer elements in array",
            "expected 2 numbers, [lower, upper]",
        ),
        ("invalid type: unit variant", "invalid value"),
    ];
    let mut out = message.to_owned();
    for (rust, plain) in WORDS {
        out = out.replace(rust, plain);
    }
    out
}

/// At most `max` characters of `text`, with an ellipsis and the full length when cut (long
/// inputs in messages).
pub(crate) fn truncated(text: &str, max: usize) -> String {
    let count = text.chars().count();
    if count <= max {
        text.to_owned()
    } else {
        let head: String = text.chars().take(max).collect();
        format!("{head}… ({count} characters)")
    }
}

/// Resolve the config: defaults < preset < the file's keys < `--set` overrides.
pub fn resolve(file: Option<&Path>, sets: &[String]) -> Result<Config, CliError> {
    match file {
        None => resolve_text(None, sets),
        Some(path) => {
            let text = read_config_file(path)?;
            resolve_text(Some((&path.display().to_string(), &text)), sets)
        }
    }
}

/// As [`resolve`], with the config file given as `(name, text)`.
pub fn resolve_text(file: Option<(&str, &str)>, sets: &[String]) -> Result<Config, CliError> {
    let file_table = match file {
        None => toml::Table::new(),
        Some((name, text)) => text
            .parse::<toml::Table>()
            .map_err(|e| invalid("CONFIG", format!("{name} is not valid TOML: {e}")))?,
    };
    let mut set_table = toml::Table::new();
    for s in sets {
        let (path, value) = parse_set(s)?;
        insert(&mut set_table, &path, value)?;
    }
    let preset_name = match set_table.get("preset").or_else(|| file_table.get("preset")) {
        None => presets::DEFAULT_PRESET.to_owned(),
        Some(toml::Value::String(s)) => s.clone(),
        Some(other) => {
            return Err(invalid(
                "preset",
                format!(
                    "expected a preset name, got {other}; one of {}",
                    presets::names()
                ),
            ))
        }
    };
    let preset = presets::find(&preset_name).ok_or_else(|| {
        invalid(
            "preset",
            format!(
                "unknown preset '{preset_name}': use one of {} (see `mfg-cli presets`)",
                presets::names()
            ),
        )
    })?;
    let mut table: toml::Table = preset
        .toml
        .parse()
        .expect("built-in presets are valid TOML");
    merge(&mut table, file_table);
    merge(&mut table, set_table);
    table.insert("preset".into(), toml::Value::String(preset_name));
    let config: Config =
        serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| {
            let key = e.path().to_string();
            let inner = e.into_inner().to_string();
            // The deserialiser appends "in `section`": the key already says where.
            let inner = in_words(inner.lines().next().unwrap_or_default());
            let hint = if inner.starts_with("unknown field") {
                "; remove it or fix its spelling"
            } else {
                ""
            };
            invalid(key, format!("{}{hint}", inner.trim_end()))
        })?;
    config.check_built()?;
    Ok(config)
}

impl Config {
    /// Reject what the config language allows but this build cannot do yet.
    fn check_built(&self) -> Result<(), CliError> {
        match (self.grid.y, self.grid.ny) {
            (None, None) => {}
            (Some(_), None) => {
                return Err(invalid(
                    "grid.ny",
                    "grid.y is set but grid.ny is not: give both for a 2D grid, or neither",
                ))
            }
            (None, Some(_)) => {
                return Err(invalid(
                    "grid.y",
                    "grid.ny is set but grid.y is not: give both for a 2D grid, or neither",
                ))
            }
            (Some(_), Some(_)) => {}
        }
        match (self.grid.z, self.grid.nz) {
            (None, None) => {}
            (Some(_), None) => {
                return Err(invalid(
                    "grid.nz",
                    "grid.z is set but grid.nz is not: give both for a 3D grid, or neither",
                ))
            }
            (None, Some(_)) => {
                return Err(invalid(
                    "grid.z",
                    "grid.nz is set but grid.z is not: give both for a 3D grid, or neither",
                ))
            }
            (Some(_), Some(_)) if self.grid.ny.is_none() => {
                return Err(invalid(
                    "grid.y",
                    "grid.z and grid.nz need a second axis: set grid.y and grid.ny for a 3D grid",
                ))
            }
            (Some(_), Some(_)) => {}
        }
        self.check_faces()?;
        if self.has_geometry() {
            if self.hjb.method != HjbMethod::Fdm {
                return Err(invalid(
                    "hjb.method",
                    format!(
                        "exits and obstacles (grid.x_min, ..., geometry.obstacle) are solved by the implicit scheme: set hjb.method = \"fdm\" (here \"{}\"; the WENO stencils would reach across walls and doors)",
                        serde_name(&self.hjb.method)
                    ),
                ));
            }
            if self.problem == ProblemKind::Stationary {
                return Err(invalid(
                    "problem",
                    "problem = \"stationary\" with exits or obstacles: an exit drains the mass a stationary density keeps; solve problem = \"time-dependent\"",
                ));
            }
        }
        if self.hjb.method != HjbMethod::Fdm {
            let faces = self.faces();
            for (d, (key, n)) in [
                ("grid.nx", Some(self.grid.nx)),
                ("grid.ny", self.grid.ny),
                ("grid.nz", self.grid.nz),
            ]
            .into_iter()
            .enumerate()
            .take(faces.len())
            {
                // Points per axis: intervals + 1 with walls, intervals when periodic.
                let min = hjb_solver::MIN_POINTS - usize::from(faces[d][0] != FaceKind::Periodic);
                if n.is_some_and(|n| n < min) {
                    return Err(invalid(
                        key,
                        format!(
                            "hjb.method = \"{}\" needs {key} >= {min} (its stencils span 7 points): refine the grid or use \"fdm\"",
                            serde_name(&self.hjb.method)
                        ),
                    ));
                }
            }
        }
        if self.model.hamiltonian == ModelHamiltonian::Congestion {
            let why = "model.hamiltonian = \"congestion\" (H depends on m) is solved by the implicit FDM schemes";
            self.require_fdm(why, "")?;
            if self.problem == ProblemKind::Stationary {
                return Err(invalid(
                    "problem",
                    format!("problem = \"stationary\" with model.hamiltonian = \"congestion\": {why}; solve a long time-dependent horizon instead"),
                ));
            }
        }
        if self.problem == ProblemKind::Stationary {
            self.require_fdm(
                "problem = \"stationary\" is solved by Newton on the finite-difference scheme",
                "",
            )?;
            if self.model.coupling == CouplingKind::Nonlocal {
                return Err(invalid(
                    "model.coupling",
                    "model.coupling = \"nonlocal\" with problem = \"stationary\": the stationary Newton solver factorises a sparse Jacobian, and a convolution is dense; solve a long time-dependent horizon instead (problem = \"time-dependent\")".to_string(),
                ));
            }
        }
        if self.coupling_method() == CouplingMethod::Newton {
            // The library decides which solvers the method can use; the CLI names the key.
            let (hjb, fp) = (self.hjb_solver()?, self.fp_solver()?);
            FixedPointIterator::supports(IterationMethod::Newton, &*hjb, &*fp)
                .map_err(|e| self.refusal(&e, hjb.name()))?;
        }
        if self.fp.method == FpMethod::Particle {
            // The CLI's own parsing and limits (the bandwidth rule's name, the particle count
            // the machine can hold); the library validates the values when it builds the solver.
            self.particle_settings()?;
        }
        Ok(())
    }

    /// The grid's dimension (1 to 3).
    pub fn dim(&self) -> usize {
        1 + usize::from(self.grid.ny.is_some()) + usize::from(self.grid.nz.is_some())
    }

    /// What every face of the box is, axis by axis `[lower, upper]`: the face's key, else
    /// `grid.boundary`.
    pub fn faces(&self) -> Vec<[FaceKind; 2]> {
        let g = &self.grid;
        let all = match g.boundary {
            BoundaryKind::NoFlux => FaceKind::NoFlux,
            BoundaryKind::Periodic => FaceKind::Periodic,
        };
        [[g.x_min, g.x_max], [g.y_min, g.y_max], [g.z_min, g.z_max]][..self.dim()]
            .iter()
            .map(|pair| pair.map(|f| f.unwrap_or(all)))
            .collect()
    }

    /// Whether the problem has exits, Dirichlet faces or obstacles.
    pub fn has_geometry(&self) -> bool {
        self.geometry.obstacle.is_some()
            || self
                .faces()
                .iter()
                .flatten()
                .any(|f| matches!(f, FaceKind::Exit | FaceKind::Dirichlet))
    }

    /// Faces of axes the grid does not have, and periodic faces that are not the whole box.
    fn check_faces(&self) -> Result<(), CliError> {
        let g = &self.grid;
        let set = [[g.x_min, g.x_max], [g.y_min, g.y_max], [g.z_min, g.z_max]];
        for (d, pair) in set.iter().enumerate().skip(self.dim()) {
            for (key, face) in FACE_KEYS[d].iter().zip(pair) {
                if face.is_some() {
                    return Err(invalid(
                        *key,
                        format!(
                            "{key} is set but the grid has {} axes: remove it, or add the axis",
                            self.dim()
                        ),
                    ));
                }
            }
        }
        let faces = self.faces();
        for (d, pair) in faces.iter().enumerate() {
            if (pair[0] == FaceKind::Periodic) != (pair[1] == FaceKind::Periodic) {
                // Name a face key that was set (else grid.boundary made the faces).
                let side = usize::from(pair[1] == FaceKind::Periodic);
                let key = if set[d][side].is_some() {
                    FACE_KEYS[d][side]
                } else if set[d][1 - side].is_some() {
                    FACE_KEYS[d][1 - side]
                } else {
                    "grid.boundary"
                };
                return Err(invalid(
                    key,
                    format!(
                        "periodic faces come in pairs: set both {} and {} to \"periodic\" (a channel), or neither",
                        FACE_KEYS[d][0], FACE_KEYS[d][1]
                    ),
                ));
            }
        }
        if self.dim() == 1 && faces[0][0] == FaceKind::Periodic && self.geometry.obstacle.is_some()
        {
            return Err(invalid(
                "geometry.obstacle",
                "obstacles on a periodic line are not supported: give it no-flux walls (grid.boundary = \"no-flux\")",
            ));
        }
        Ok(())
    }

    /// The kind of every point and, at exits and Dirichlet faces, the value of u there.
    fn point_kinds(&self, grid: &Grid) -> Result<(Vec<PointKind>, Vec<f64>), CliError> {
        let vars = &["x", "y", "z"][..grid.dim()];
        let parse = |key: &'static str, text: Option<&ExprText>| {
            text.map(|t| {
                Expr::parse(&t.0, vars)
                    .map_err(|e| invalid(key, format!("'{}': {e}", truncated(&t.0, 80))))
            })
            .transpose()
        };
        let obstacle = parse("geometry.obstacle", self.geometry.obstacle.as_ref())?;
        let exit_cost = parse("geometry.exit_cost", self.geometry.exit_cost.as_ref())?;
        let dirichlet = parse("geometry.dirichlet", self.geometry.dirichlet.as_ref())?;
        let exit_expr = match &self.geometry.exit {
            Some(ExitSpec::Expr(t)) => parse("geometry.exit", Some(t))?,
            _ => None,
        };
        if let Some(ExitSpec::Intervals(_)) = &self.geometry.exit {
            if grid.dim() != 2 {
                return Err(invalid(
                    "geometry.exit",
                    format!(
                        "intervals along a face need a 2D grid (here {}D): give geometry.exit as an expression, an exit where it is > 0",
                        grid.dim()
                    ),
                ));
            }
        }
        let faces = self.faces();
        let value = |e: &Option<Expr>, x: &[f64]| e.as_ref().map_or(0.0, |e| e.eval(x));
        let mut kinds = vec![PointKind::Open; grid.len()];
        let mut values = vec![0.0; grid.len()];
        let mut on_exit_faces = 0usize;
        for (i, x) in grid.coordinates().enumerate() {
            if obstacle.as_ref().is_some_and(|e| e.eval(x) > 0.0) {
                kinds[i] = PointKind::Solid;
                continue;
            }
            for (d, pair) in faces.iter().enumerate() {
                let k = grid.axis_index(i, d);
                let side = if k == 0 {
                    0
                } else if k + 1 == grid.axis(d).len() {
                    1
                } else {
                    continue;
                };
                match pair[side] {
                    FaceKind::Dirichlet => {
                        kinds[i] = PointKind::Exit;
                        values[i] = value(&dirichlet, x);
                    }
                    FaceKind::Exit => {
                        on_exit_faces += 1;
                        let open = match &self.geometry.exit {
                            None => true,
                            Some(ExitSpec::Expr(_)) => value(&exit_expr, x) > 0.0,
                            Some(ExitSpec::Intervals(iv)) => {
                                // The face's coordinate: the other axis.
                                let c = x[1 - d];
                                iv.iter().any(|[a, b]| c >= *a && c <= *b)
                            }
                        };
                        if open && kinds[i] != PointKind::Exit {
                            kinds[i] = PointKind::Exit;
                            values[i] = value(&exit_cost, x);
                        }
                    }
                    FaceKind::NoFlux | FaceKind::Periodic => {}
                }
            }
        }
        if on_exit_faces > 0 && !kinds.contains(&PointKind::Exit) {
            return Err(invalid(
                "geometry.exit",
                "selects no open grid point of the exit faces (none, or only points inside geometry.obstacle): widen the intervals or the expression's positive part, or move the obstacle off the doors",
            ));
        }
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            return Err(invalid(
                if faces.iter().flatten().any(|f| *f == FaceKind::Dirichlet) {
                    "geometry.dirichlet"
                } else {
                    "geometry.exit_cost"
                },
                format!(
                    "is not finite at x = {:?}: check the expression there",
                    grid.point(i)
                ),
            ));
        }
        Ok((kinds, values))
    }

    /// The library's refusal of a coupling method with a solver ([`MfgError::Incompatible`]),
    /// named by the key of the solver it refused (`hjb_name`: the HJB solver's name).
    pub fn refusal(&self, error: &MfgError, hjb_name: &str) -> CliError {
        match error {
            MfgError::Incompatible { method, solver, why } => invalid(
                if *solver == hjb_name { "hjb.method" } else { "fp.method" },
                format!(
                    "iteration.method = \"{method}\" with hjb.method = \"{}\" and fp.method = \"{}\": {why}: use hjb.method = \"fdm\" and fp.method = \"fdm\", or iteration.method = \"anderson\"",
                    serde_name(&self.hjb.method),
                    serde_name(&self.fp.method)
                ),
            ),
            other => CliError::Solve(other.clone()),
        }
    }

    /// Refuse (exit 2, naming `hjb.method` or `fp.method`) anything but the finite-difference
    /// HJB and FP schemes, for a capability that differentiates them: `why` says which.
    fn require_fdm(&self, why: &str, fix: &str) -> Result<(), CliError> {
        let key = if self.hjb.method != HjbMethod::Fdm {
            "hjb.method"
        } else if self.fp.method != FpMethod::Fdm {
            "fp.method"
        } else {
            return Ok(());
        };
        Err(invalid(
            key,
            format!(
                "{why} and needs hjb.method = \"fdm\" and fp.method = \"fdm\" (here \"{}\" and \"{}\"){fix}",
                serde_name(&self.hjb.method),
                serde_name(&self.fp.method)
            ),
        ))
    }

    /// Build the validated problem.
    pub fn problem(&self) -> Result<Problem, CliError> {
        let elements = (self.grid.nx as u128 + 1)
            * (self.grid.ny.unwrap_or(0) as u128 + 1)
            * (self.grid.nz.unwrap_or(0) as u128 + 1)
            * (self.grid.nt as u128 + 1);
        if elements > MAX_FIELD_ELEMENTS {
            // Name the largest of the sizes: the one to reduce first.
            let g = &self.grid;
            let (key, value) = [
                ("grid.nx", Some(g.nx)),
                ("grid.ny", g.ny),
                ("grid.nz", g.nz),
                ("grid.nt", Some(g.nt)),
            ]
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .max_by_key(|&(_, v)| v)
            .expect("nx is always there");
            return Err(invalid(
                key,
                format!(
                    "{key} = {value} gives {elements} values per field with the other sizes (over {MAX_FIELD_ELEMENTS}, several GB of memory): reduce {key}"
                ),
            ));
        }
        // Each axis's walls from its faces (periodic in pairs, checked on resolve).
        let walls: Vec<Boundary> = self
            .faces()
            .iter()
            .map(|pair| match pair[0] {
                FaceKind::Periodic => Boundary::Periodic,
                _ => Boundary::NoFlux,
            })
            .collect();
        let g = &self.grid;
        let mut axes = vec![(g.x, g.nx, walls[0])];
        if let (Some(y), Some(ny)) = (g.y, g.ny) {
            axes.push((y, ny, walls[1]));
            if let (Some(z), Some(nz)) = (g.z, g.nz) {
                axes.push((z, nz, walls[2]));
            }
        }
        let grid = Grid::tensor(&axes).map_err(from_problem(Section::Problem))?;
        let (grid, exit_values) = if self.has_geometry() {
            let (kinds, values) = self.point_kinds(&grid)?;
            let grid = grid.with_geometry(kinds).map_err(|e| {
                invalid(
                    if self.geometry.obstacle.is_some() {
                        "geometry.obstacle"
                    } else {
                        "geometry.exit"
                    },
                    e.to_string(),
                )
            })?;
            (grid, Some(values))
        } else {
            (grid, None)
        };
        let time = TimeGrid::new(self.grid.t_final, self.grid.nt)
            .map_err(from_problem(Section::Problem))?;
        let vars = &["x", "y", "z"][..grid.dim()];
        let parse = |key: &'static str, text: &ExprText| {
            Expr::parse(&text.0, vars)
                .map_err(|e| invalid(key, format!("'{}': {e}", truncated(&text.0, 80))))
        };
        let potential = parse("model.potential", &self.model.potential)?;
        let terminal = parse("model.terminal_cost", &self.model.terminal_cost)?;
        let initial = parse("model.initial_density", &self.model.initial_density)?;
        let m = &self.model;
        let running_cost = match &m.running_cost {
            Some(text) => {
                let cost = ExprCost::parse(&text.0, grid.dim()).map_err(|e| {
                    invalid(
                        "model.running_cost",
                        format!("'{}': {e}", truncated(&text.0, 80)),
                    )
                })?;
                check_running_cost(&cost, &grid, time.t_final(), self.problem)?;
                Some(cost)
            }
            None => None,
        };
        let model_error = from_problem(Section::Problem);
        let nonlocal = match m.coupling {
            CouplingKind::Nonlocal => Some(
                Nonlocal::gaussian(m.coupling_strength, m.coupling_width).map_err(&model_error)?,
            ),
            _ => None,
        };
        let coupling = match m.coupling {
            CouplingKind::None | CouplingKind::Nonlocal => Coupling::None,
            CouplingKind::Linear => Coupling::Linear {
                strength: m.coupling_strength,
            },
            CouplingKind::Log => Coupling::Log {
                strength: m.coupling_strength,
            },
            CouplingKind::Power => Coupling::Power {
                strength: m.coupling_strength,
                exponent: m.coupling_power,
            },
        };
        let builder = Problem::builder(grid, time).sigma(m.sigma);
        let builder = match m.hamiltonian {
            ModelHamiltonian::Quadratic => builder.control_cost(m.control_cost),
            ModelHamiltonian::Power => builder.hamiltonian(
                Power::try_new(m.hamiltonian_exponent, m.control_cost).map_err(&model_error)?,
            ),
            ModelHamiltonian::Bounded => builder.hamiltonian(
                Bounded::try_new(m.control_cost, m.control_bound).map_err(&model_error)?,
            ),
            ModelHamiltonian::Congestion => builder.hamiltonian(
                Congestion::new(m.control_cost, m.congestion_offset, m.congestion_exponent)
                    .map_err(&model_error)?,
            ),
        };
        let builder = match (running_cost, nonlocal) {
            (Some(f), _) => builder.coupling(f),
            (None, Some(n)) => builder.coupling(n).potential_fn(|x| potential.eval(x)),
            (None, None) => builder
                .coupling(coupling)
                .potential_fn(|x| potential.eval(x)),
        };
        let builder = builder.terminal_cost_fn(|x| terminal.eval(x));
        // At exits and Dirichlet faces the terminal cost is u's given value (held at every time).
        let builder = match exit_values {
            Some(values) => {
                let mut g = builder.terminal_values().to_vec();
                for (i, v) in values.into_iter().enumerate() {
                    if builder.grid().kind(i) == PointKind::Exit {
                        g[i] = v;
                    }
                }
                builder.terminal_cost(g)
            }
            None => builder,
        };
        builder
            .initial_density_fn(|x| initial.eval(x))
            .build()
            .map_err(from_problem(Section::Problem))
    }

    /// The WENO settings (for the `weno*` methods).
    pub fn weno_settings(&self) -> Result<hjb_solver::WenoSettings, CliError> {
        let weights = match self.hjb.method {
            HjbMethod::Fdm | HjbMethod::Weno5 => hjb_solver::Weights::Js,
            HjbMethod::WenoZ => hjb_solver::Weights::Z,
            HjbMethod::WenoM => hjb_solver::Weights::M,
        };
        let s = hjb_solver::WenoSettings {
            weights,
            hamiltonian: match self.hjb.hamiltonian {
                HamiltonianKind::Godunov => hjb_solver::NumericalHamiltonian::Godunov,
                HamiltonianKind::LaxFriedrichs => hjb_solver::NumericalHamiltonian::LaxFriedrichs,
            },
            cfl: self.hjb.cfl,
            ..Default::default()
        };
        Ok(s)
    }

    /// The HJB solver of `hjb.method`, its settings validated by its constructor.
    pub fn hjb_solver(&self) -> Result<Box<dyn HjbSolver>, CliError> {
        Ok(match self.hjb.method {
            HjbMethod::Fdm => Box::new(FdmHjb::new(NewtonSettings::default())),
            _ => Box::new(WenoHjb::new(self.weno_settings()?).map_err(from_problem(Section::Hjb))?),
        })
    }

    /// The FP solver of `fp.method`, its settings validated by its constructor.
    pub fn fp_solver(&self) -> Result<Box<dyn FpSolver>, CliError> {
        Ok(match self.fp.method {
            FpMethod::Fdm => Box::new(FdmFp::new()),
            FpMethod::Particle => Box::new(
                ParticleFp::new(self.particle_settings()?).map_err(from_problem(Section::Fp))?,
            ),
        })
    }

    /// The coupling iteration, its settings validated by its constructor.
    pub fn iterator(&self) -> Result<FixedPointIterator, CliError> {
        if self.iteration.threads > MAX_THREADS {
            return Err(invalid(
                "iteration.threads",
                format!(
                    "{} threads is more than {MAX_THREADS}: use 0 (one per core) or the number of cores to use",
                    self.iteration.threads
                ),
            ));
        }
        let settings = IterationSettings {
            coarse_start: self.coarse_start(),
            ..self.iteration.settings(self.default_method())
        };
        FixedPointIterator::new(settings).map_err(from_problem(Section::Iteration))
    }

    /// Whether the solve starts from a coarse solve (`iteration.coarse_start`; `auto`: 3D
    /// grids of at least [`COARSE_START_MIN_POINTS`] points per level).
    pub fn coarse_start(&self) -> bool {
        match self.iteration.coarse_start {
            CoarseStartMode::On => true,
            CoarseStartMode::Off => false,
            CoarseStartMode::Auto => {
                let g = &self.grid;
                let points = (g.nx + 1) * (g.ny.unwrap_or(0) + 1) * (g.nz.unwrap_or(0) + 1);
                g.nz.is_some() && points >= COARSE_START_MIN_POINTS
            }
        }
    }

    /// The particle settings (for `fp.method = "particle"`).
    pub fn particle_settings(&self) -> Result<fp_solver::ParticleSettings, CliError> {
        let bandwidth = match &self.fp.bandwidth {
            Bandwidth::Value(h) => fp_solver::Bandwidth::Fixed(*h),
            Bandwidth::Rule(r) if r == "silverman" => fp_solver::Bandwidth::Silverman,
            Bandwidth::Rule(r) if r == "scott" => fp_solver::Bandwidth::Scott,
            Bandwidth::Rule(r) => {
                return Err(invalid(
                    "fp.bandwidth",
                    format!("unknown rule '{r}': use \"silverman\", \"scott\" or a number > 0"),
                ))
            }
        };
        if self.fp.particles > MAX_PARTICLES {
            return Err(invalid(
                "fp.particles",
                format!(
                    "{} particles is over the limit of {MAX_PARTICLES}: use fewer",
                    self.fp.particles
                ),
            ));
        }
        let s = fp_solver::ParticleSettings {
            particles: self.fp.particles,
            seed: self.fp.seed,
            bandwidth,
            // A biased density is never written: stop at the first unresolved step.
            refuse_unresolved: true,
        };
        Ok(s)
    }

    /// The coupling method when `iteration.method` and `anderson_depth` are unset, chosen by
    /// time to tolerance (`cargo bench --bench solve -- coupling-method`, docs/PERFORMANCE.md):
    /// Newton for the finite-difference schemes in 1D (crowd 3.9 ms against Anderson's 5.1,
    /// the tutorial 6.2 against 6.7, lq-gaussian 4.2 against 7.0); Anderson in 2D and 3D
    /// (crowd-2d to 1e-6: 1.77 s against Newton's 3.46 s, whose per-level Krylov solves
    /// dominate); damped Picard for WENO and particles (Newton cannot differentiate them).
    pub fn default_method(&self) -> CouplingMethod {
        let fdm = self.hjb.method == HjbMethod::Fdm && self.fp.method == FpMethod::Fdm;
        match (fdm, self.grid.ny.is_some()) {
            (true, false) => CouplingMethod::Newton,
            (true, true) => CouplingMethod::Anderson,
            (false, _) => CouplingMethod::Picard,
        }
    }

    /// The coupling method of this config ([`IterationConfig::coupling_method`] with the
    /// measured default).
    pub fn coupling_method(&self) -> CouplingMethod {
        self.iteration.coupling_method(self.default_method())
    }

    /// The Anderson depth the solve uses.
    pub fn effective_anderson_depth(&self) -> usize {
        self.iteration
            .effective_anderson_depth(self.default_method())
    }

    /// The stationary solver (`problem = "stationary"`): Newton to `iteration.tolerance`,
    /// at most `iteration.max_iterations` steps, the continuation unless
    /// `iteration.continuation = "off"`.
    pub fn stationary_solver(&self) -> Result<mfg_core::StationarySolver, CliError> {
        mfg_core::StationarySolver::new(mfg_core::StationarySettings {
            tolerance: self.iteration.tolerance,
            max_iterations: self.iteration.max_iterations,
            continuation: self.iteration.continuation != ContinuationMode::Off,
        })
        .map_err(from_problem(Section::Iteration))
    }

    /// Everything `solve` would check before solving: the problem, the iteration settings and
    /// the method settings (each validated once, by the library constructor that takes it).
    pub fn validate_all(&self) -> Result<(), CliError> {
        if self.problem == ProblemKind::Stationary {
            self.problem()?;
            self.stationary_solver()?;
            return Ok(());
        }
        self.problem()?;
        self.iterator()?;
        self.hjb_solver()?;
        self.fp_solver()?;
        Ok(())
    }

    /// The validated iteration settings.
    pub fn settings(&self) -> Result<IterationSettings, CliError> {
        Ok(self.iterator()?.settings().clone())
    }

    /// The estimated peak memory of a solve of this config, in bytes: the space–time fields
    /// (the iterate, u, its previous value, Φ, the solvers' warm starts, a warm-start density,
    /// Anderson's history), the per-point work of the solvers (sparse matrices and
    /// preconditioners in 2D/3D, WENO stages) and the particles, plus the process itself.
    /// Within 30 % of the measured peak on 1D and 2D runs (tests/cli.rs).
    pub fn memory_estimate(&self) -> u64 {
        let g = &self.grid;
        let periodic = g.boundary == BoundaryKind::Periodic;
        let points = |n: usize| (n + usize::from(!periodic)) as u64;
        let dims: Vec<u64> = [Some(g.nx), g.ny, g.nz]
            .into_iter()
            .flatten()
            .map(points)
            .collect();
        let dim = dims.len() as u64;
        let n: u64 = dims.iter().product();
        const PROCESS: u64 = 6 << 20;
        if self.problem == ProblemKind::Stationary {
            // The sparse LU's factors dominate; their fill, measured on stationary-torus:
            // 1D 1.7–1.9 KB per point; 2D 12–21 KB (32² to 128²); 3D growing with the
            // side n as 0.5 n^1.8 KB (44, 78, 154 KB at 12³, 16³, 24³).
            let per_point: f64 = match dim {
                1 => 2.0e3,
                2 => 20.0e3,
                _ => 0.5e3 * (n as f64).cbrt().powf(1.8),
            };
            return PROCESS + (per_point * n as f64) as u64;
        }
        let field = 8 * (g.nt as u64 + 1) * n;
        let depth = self.effective_anderson_depth() as u64;
        // The iterate, u, u's previous value, Φ; Φ of the last complete iteration with a time
        // limit; HJB's warm start; FP's warm start (written only by the iterative 2D/3D solves).
        let mut fields = 4 + u64::from(self.iteration.time_limit_s.is_some()) + 1;
        if dim >= 2 {
            fields += 1;
        }
        if depth > 0 {
            // The residuals and damped iterates of the last depth + 1 iterates and the weights
            // are 2 depth + 3 fields; the peak measured with depth 5 on crowd-2d (tests/cli.rs)
            // is about three fields more (the allocator's pages of the passes' blocks).
            fields += 2 * depth + 6;
        }
        if self.iteration.warm_start.is_some() {
            fields += 1;
        }
        if self.coupling_method() == CouplingMethod::Newton {
            // Newton: u and μ copies, δu, the right-hand side, the correction, the line
            // search's base and its Φ, the rates of every level (2 per axis), and GMRES's
            // basis (its first 20 vectors: the counts measured on the presets stay below).
            fields += 7 + 2 * dim + 20;
        }
        // Per grid point: the sparse operator (CSR, its transpose scratch and permutation,
        // the padded copy, neighbour slots, line factors) and BiCGSTAB with its preconditioner,
        // once for HJB and once for FP, in 2D/3D; a tridiagonal and a few vectors in 1D.
        let per_point: u64 = if dim >= 2 { 2 * (360 + 120) } else { 200 };
        let weno: u64 = if self.hjb.method == HjbMethod::Fdm {
            0
        } else {
            8 * (2 * dim + 8)
        };
        let particles: u64 = if self.fp.method == FpMethod::Particle {
            let np = self.fp.particles as u64;
            8 * (2 * dim * np + np.div_ceil(8192) * n)
        } else {
            0
        };
        PROCESS + fields * field + (per_point + weno) * n + particles
    }

    /// Keys set to a non-default value that the chosen methods do not read, each with a word
    /// on who reads it (warnings for stderr and `summary.json`).
    pub fn ignored_keys(&self) -> Vec<String> {
        let (hjb, fp) = (HjbConfig::default(), FpConfig::default());
        let mut out = Vec::new();
        if self.hjb.method == HjbMethod::Fdm {
            if self.hjb.cfl != hjb.cfl {
                out.push("hjb.cfl");
            }
            if self.hjb.hamiltonian != hjb.hamiltonian {
                out.push("hjb.hamiltonian");
            }
        }
        let hjb_note = "is read only by the weno methods (hjb.method = \"fdm\")";
        let mut notes: Vec<String> = out.drain(..).map(|k| format!("{k} {hjb_note}")).collect();
        if self.fp.method == FpMethod::Fdm {
            for (key, set) in [
                ("fp.particles", self.fp.particles != fp.particles),
                ("fp.seed", self.fp.seed != fp.seed),
                ("fp.bandwidth", self.fp.bandwidth != fp.bandwidth),
            ] {
                if set {
                    notes.push(format!(
                        "{key} is read only by fp.method = \"particle\" (fp.method = \"fdm\")"
                    ));
                }
            }
        }
        let model = ModelConfig::default();
        for (key, set, family) in [
            (
                "model.hamiltonian_exponent",
                self.model.hamiltonian_exponent != model.hamiltonian_exponent,
                ModelHamiltonian::Power,
            ),
            (
                "model.control_bound",
                self.model.control_bound != model.control_bound,
                ModelHamiltonian::Bounded,
            ),
            (
                "model.congestion_offset",
                self.model.congestion_offset != model.congestion_offset,
                ModelHamiltonian::Congestion,
            ),
            (
                "model.congestion_exponent",
                self.model.congestion_exponent != model.congestion_exponent,
                ModelHamiltonian::Congestion,
            ),
        ] {
            if set && self.model.hamiltonian != family {
                notes.push(format!(
                    "{key} is read only by model.hamiltonian = \"{}\" (model.hamiltonian = \"{}\")",
                    serde_name(&family),
                    serde_name(&self.model.hamiltonian)
                ));
            }
        }
        if self.model.running_cost.is_some() {
            for (key, set) in [
                ("model.potential", self.model.potential != model.potential),
                ("model.coupling", self.model.coupling != model.coupling),
                (
                    "model.coupling_strength",
                    self.model.coupling_strength != model.coupling_strength,
                ),
                (
                    "model.coupling_power",
                    self.model.coupling_power != model.coupling_power,
                ),
                (
                    "model.coupling_width",
                    self.model.coupling_width != model.coupling_width,
                ),
            ] {
                if set {
                    notes.push(format!(
                        "{key} is not read when model.running_cost is set (it is the whole running cost f(t, x, m))"
                    ));
                }
            }
        } else if self.model.coupling_width != model.coupling_width
            && self.model.coupling != CouplingKind::Nonlocal
        {
            notes.push(format!(
                "model.coupling_width is read only by model.coupling = \"nonlocal\" (model.coupling = \"{}\")",
                serde_name(&self.model.coupling)
            ));
        }
        let it = &self.iteration;
        if self.problem == ProblemKind::Stationary {
            let (grid, model, iteration) = (
                GridConfig::default(),
                ModelConfig::default(),
                IterationConfig::default(),
            );
            for (key, set) in [
                ("grid.nt", self.grid.nt != grid.nt),
                ("grid.t_final", self.grid.t_final != grid.t_final),
                (
                    "model.terminal_cost",
                    self.model.terminal_cost != model.terminal_cost,
                ),
                (
                    "model.initial_density",
                    self.model.initial_density != model.initial_density,
                ),
                ("iteration.method", it.method.is_some()),
                ("iteration.damping", it.damping != iteration.damping),
                (
                    "iteration.anderson_depth",
                    it.anderson_depth != iteration.anderson_depth,
                ),
                ("iteration.time_limit_s", it.time_limit_s.is_some()),
                ("iteration.warm_start", it.warm_start.is_some()),
            ] {
                if set {
                    notes.push(format!(
                        "{key} is not read by problem = \"stationary\" (Newton on u, m and lambda)"
                    ));
                }
            }
            return notes;
        }
        if it.anderson_depth > 0 && self.coupling_method() != CouplingMethod::Anderson {
            notes.push(format!(
                "iteration.anderson_depth is read only by iteration.method = \"anderson\" (iteration.method = \"{}\")",
                serde_name(&self.coupling_method())
            ));
        }
        notes
    }

    /// The resolved config as TOML text.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("the config serialises")
    }
}

fn serde_name<T: Serialize>(v: &T) -> String {
    match toml::Value::try_from(v) {
        Ok(toml::Value::String(s)) => s,
        _ => String::from("?"),
    }
}

/// A running cost that is not finite at some grid point for `t ∈ {0, T}` and `m ∈ {0.5, 1,
/// 2}`, or its m-derivative, is refused (naming the key); so is one that depends on `t` in a
/// stationary problem.
fn check_running_cost(
    cost: &ExprCost,
    grid: &Grid,
    t_final: f64,
    problem: ProblemKind,
) -> Result<(), CliError> {
    use mfg_core::RunningCost;
    if problem == ProblemKind::Stationary && cost.depends_on_time() {
        return Err(invalid(
            "model.running_cost",
            "depends on t, but problem = \"stationary\" has no time: remove t".to_string(),
        ));
    }
    for t in [0.0, t_final] {
        for m in [0.5, 1.0, 2.0] {
            for i in 0..grid.len() {
                let x = grid.point(i);
                let (f, df) = (cost.value(t, x, m), cost.dm(t, x, m));
                if !(f.is_finite() && df.is_finite()) {
                    let which = if f.is_finite() {
                        "its m-derivative"
                    } else {
                        "it"
                    };
                    return Err(invalid(
                        "model.running_cost",
                        format!(
                            "{which} is not finite at t = {t}, x = {x:?}, m = {m} (f = {f}, df/dm = {df}): keep it finite on the grid for densities near 1"
                        ),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Map a core validation error to a config error naming the key.
/// Where the parameters of a library call live in the config file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Section {
    /// The grid and the model (`[grid]`, `[model]`).
    Problem,
    /// `[iteration]`.
    Iteration,
    /// `[hjb]`.
    Hjb,
    /// `[fp]`.
    Fp,
}

/// The config key of a parameter the libraries name in a [`ProblemError`]: the libraries speak
/// of parameters (`sigma`, axis 1's `intervals`), the command line of keys (`model.sigma`,
/// `grid.ny`).
pub(crate) fn config_key(section: Section, e: &ProblemError) -> String {
    const AXES: [&str; 3] = ["x", "y", "z"];
    match e {
        ProblemError::InvalidBounds { axis, .. } => format!("grid.{}", AXES[(*axis).min(2)]),
        ProblemError::InvalidAxis {
            axis, parameter, ..
        } => {
            let name = AXES[(*axis).min(2)];
            if *parameter == "intervals" {
                format!("grid.n{name}")
            } else {
                format!("grid.{name}")
            }
        }
        ProblemError::InvalidParameter { field, .. }
        | ProblemError::NonFiniteData { field, .. }
        | ProblemError::Length { field, .. } => match (section, *field) {
            (Section::Problem, "t_final" | "nt") => format!("grid.{field}"),
            (Section::Problem, "coupling strength") => "model.coupling_strength".into(),
            (Section::Problem, "coupling exponent") => "model.coupling_power".into(),
            (Section::Problem, other) => format!("model.{other}"),
            (Section::Iteration, other) => format!("iteration.{other}"),
            (Section::Hjb, other) => format!("hjb.{other}"),
            (Section::Fp, other) => format!("fp.{other}"),
        },
        ProblemError::NegativeDensity { .. } | ProblemError::ZeroMass => {
            "model.initial_density".into()
        }
        _ => "config".into(),
    }
}

/// A library error as a config error naming the key.
pub(crate) fn from_problem(section: Section) -> impl Fn(ProblemError) -> CliError {
    move |e| invalid(config_key(section, &e), e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_values_are_toml_when_they_parse_else_strings() {
        let (p, v) = parse_set("grid.nx=200").unwrap();
        assert_eq!(p, ["grid", "nx"]);
        assert_eq!(v, toml::Value::Integer(200));
        let (_, v) = parse_set("hjb.method=weno5").unwrap();
        assert_eq!(v, toml::Value::String("weno5".into()));
        let (_, v) = parse_set("model.potential=x^2 + 1").unwrap();
        assert_eq!(v, toml::Value::String("x^2 + 1".into()));
        let (_, v) = parse_set("grid.x=[0, 2]").unwrap();
        assert!(v.is_array());
        // A value that would smuggle in a second key stays a string.
        let (_, v) = parse_set("model.sigma=1\nnx = 3").unwrap();
        assert!(v.is_str());
        assert!(parse_set("nokey").is_err());
        assert!(parse_set("grid..nx=1").is_err());
    }

    #[test]
    fn precedence_is_defaults_preset_file_set() {
        let c = resolve(None, &[]).unwrap();
        assert_eq!(c.preset, "crowd");
        assert_eq!(c.model.coupling_strength, 0.3); // from the preset
        assert_eq!(c.iteration.damping, 0.5); // from the defaults
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("c.toml");
        std::fs::write(&f, "preset = \"lq-gaussian\"\n[grid]\nnx = 64\nnt = 7\n").unwrap();
        let c = resolve(Some(&f), &["grid.nt=9".into()]).unwrap();
        assert_eq!(c.preset, "lq-gaussian");
        assert_eq!((c.grid.nx, c.grid.nt), (64, 9));
        assert_eq!(c.grid.x, [-4.0, 4.0]);
        let c = resolve(Some(&f), &["preset=mfg-pde-tutorial".into()]).unwrap();
        assert_eq!(c.model.coupling_strength, -0.5);
        assert_eq!(c.grid.nx, 64);
    }

    #[test]
    fn errors_name_the_key() {
        // Resolve, then validate the way `solve` and `check` do (the solver settings are
        // validated by the library constructors).
        let key = |sets: &[&str]| match resolve(
            None,
            &sets.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        )
        .and_then(|c| c.validate_all().map(|_| c))
        {
            Err(CliError::Config { key, .. }) => key,
            other => panic!("expected a config error, got {other:?}"),
        };
        assert_eq!(key(&["grid.nxx=3"]), "grid.nxx");
        assert_eq!(key(&["bogus=3"]), "bogus");
        assert_eq!(key(&["grid.nx=-3"]), "grid.nx");
        assert_eq!(key(&["grid.boundary=open"]), "grid.boundary");
        assert_eq!(key(&["hjb.method=weno6"]), "hjb.method");
        assert_eq!(
            key(&["fp.method=particle", "fp.particles=0"]),
            "fp.particles"
        );
        assert_eq!(
            key(&["fp.method=particle", "fp.bandwidth=wide"]),
            "fp.bandwidth"
        );
        assert_eq!(
            key(&["fp.method=particle", "fp.bandwidth=-0.1"]),
            "fp.bandwidth"
        );
        assert_eq!(key(&["hjb.method=weno5", "hjb.cfl=1.5"]), "hjb.cfl");
        assert_eq!(key(&["hjb.method=weno5", "grid.nx=4"]), "grid.nx");
        assert_eq!(key(&["grid.y=[0,1]"]), "grid.ny");
        assert_eq!(
            key(&["grid.y=[0,1]", "grid.ny=5", "hjb.method=weno5"]),
            "grid.ny"
        );
        assert_eq!(key(&["preset=nope"]), "preset");
        assert_eq!(key(&["grid=3", "grid.nx=4"]), "grid");
        let problem_key = |sets: &[&str]| {
            let c = resolve(
                None,
                &sets.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            )
            .unwrap();
            match c.problem() {
                Err(CliError::Config { key, .. }) => key,
                other => panic!("expected a config error, got {other:?}"),
            }
        };
        assert_eq!(problem_key(&["grid.nx=0"]), "grid.nx");
        assert_eq!(problem_key(&["model.sigma=-1"]), "model.sigma");
        assert_eq!(problem_key(&["model.potential=foo(x)"]), "model.potential");
        assert_eq!(
            problem_key(&["model.initial_density=x-0.5"]),
            "model.initial_density"
        );
        assert_eq!(
            problem_key(&["model.terminal_cost=ln(x)"]),
            "model.terminal_cost"
        );
        let c = resolve(None, &["iteration.damping=0".into()]).unwrap();
        assert!(
            matches!(c.settings(), Err(CliError::Config { key, .. }) if key == "iteration.damping")
        );
    }

    #[test]
    fn the_resolved_config_round_trips() {
        let c = resolve(None, &["preset=lq-gaussian".into()]).unwrap();
        let back: Config = toml::from_str(&c.to_toml()).unwrap();
        assert_eq!(back, c);
    }
}
