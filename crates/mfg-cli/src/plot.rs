//! Pictures of a result directory: `density.png` (m over x and t), `value.png` (u) and
//! `convergence.png` (residuals per iteration, log scale). Drawn with plotters on a bitmap with
//! an embedded DejaVu Sans font, so nothing outside the binary is needed.

use std::path::{Path, PathBuf};
use std::sync::Once;

use ndarray::{Array1, Array2};
use plotters::prelude::*;
use plotters::style::colors::colormaps::ViridisRGB;
use plotters::style::{register_font, FontStyle};

use crate::error::CliError;
use crate::output;

static FONT: Once = Once::new();

fn font() {
    FONT.call_once(|| {
        // The bytes are a valid TrueType font shipped inside the binary.
        let _ = register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular());
    });
}

fn draw_err<E: std::fmt::Display>(path: &Path) -> impl FnOnce(E) -> CliError + '_ {
    move |e| CliError::Write {
        path: path.to_owned(),
        source: std::io::Error::other(e.to_string()),
    }
}

/// The arrays and history of a result directory.
#[derive(Debug)]
pub struct Results {
    /// u, (nt + 1, nx_pts).
    pub u: Array2<f64>,
    /// m, (nt + 1, nx_pts).
    pub m: Array2<f64>,
    /// Grid points.
    pub x: Array1<f64>,
    /// Grid points in y (2D and 3D results).
    pub y: Option<Array1<f64>>,
    /// Grid points in z (3D results).
    pub z: Option<Array1<f64>>,
    /// Time levels.
    pub t: Array1<f64>,
    /// (residual_u, residual_m) per iteration.
    pub history: Vec<(f64, f64)>,
    /// The termination reason.
    pub termination: String,
    /// A stationary result (`problem = "stationary"`): `u` and `m` hold one row, `t` is `[0]`,
    /// and `history` the Newton residuals (HJB, FP).
    pub stationary: bool,
    /// With exits or obstacles (`geometry.npy`): per point 0 open, 1 exit, 2 solid.
    pub geometry: Option<Vec<f64>>,
    /// With exits: the mass that has left by each time level (`summary.json`).
    pub mass_exited: Option<Vec<f64>>,
}

impl Results {
    /// Read `u`, `m`, `x`, `t` (`.npy`, or `.csv` when written with `--format csv`) and
    /// `summary.json` from `dir`.
    pub fn load(dir: &Path) -> Result<Self, CliError> {
        let bad = |what: String| CliError::Config {
            key: "DIR".into(),
            message: format!(
                "{}: {what}; give a directory written by `mfg-cli solve`",
                dir.display()
            ),
        };
        // Held while reading: no commit replaces the set meanwhile, and every file is checked
        // against summary.json's list.
        let set = output::ResultSet::open(dir).map_err(bad)?;
        let summary: serde_json::Value = std::fs::read_to_string(dir.join("summary.json"))
            .map_err(|e| bad(format!("cannot read summary.json ({e})")))
            .and_then(|s| {
                serde_json::from_str(&s).map_err(|e| bad(format!("summary.json: {e}")))
            })?;
        let dim = summary["grid"]["dim"].as_u64().unwrap_or(1) as usize;
        let stationary = summary["problem"] == "stationary";
        let (key_u, key_m) = if stationary {
            ("residual_hjb", "residual_fp")
        } else {
            ("residual_u", "residual_m")
        };
        let history = summary["history"]
            .as_array()
            .map(|h| {
                h.iter()
                    .map(|r| {
                        (
                            r[key_u].as_f64().unwrap_or(f64::NAN),
                            r[key_m].as_f64().unwrap_or(f64::NAN),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let termination = summary["termination"].as_str().unwrap_or("?").to_owned();
        let flat = |a: Array2<f64>| {
            let len = a.len();
            a.into_shape_with_order((1, len)).expect("contiguous")
        };
        let (mut u, mut m) = (
            set.read_2d("u").map_err(bad)?,
            set.read_2d("m").map_err(bad)?,
        );
        if stationary {
            (u, m) = (flat(u), flat(m));
        }
        let x = set.read_1d("x").map_err(bad)?;
        let t = if stationary {
            Array1::zeros(1)
        } else {
            set.read_1d("t").map_err(bad)?
        };
        let y = if dim >= 2 {
            Some(set.read_1d("y").map_err(bad)?)
        } else {
            None
        };
        let z = if dim == 3 {
            Some(set.read_1d("z").map_err(bad)?)
        } else {
            None
        };
        let points =
            x.len() * y.as_ref().map_or(1, |y| y.len()) * z.as_ref().map_or(1, |z| z.len());
        if u.shape() != [t.len(), points] || m.shape() != u.shape() {
            return Err(bad("array shapes do not match x, y and t".into()));
        }
        // Coordinates: at least two points, finite, increasing (the axes of every picture).
        for (name, axis) in [
            ("x", Some(&x)),
            ("y", y.as_ref()),
            ("z", z.as_ref()),
            ("t", (!stationary).then_some(&t)),
        ] {
            let Some(axis) = axis else { continue };
            let ok = axis.len() >= 2
                && axis.iter().all(|v| v.is_finite() && v.abs() <= PLOT_LIMIT)
                && axis.windows(2).into_iter().all(|w| w[1] > w[0]);
            if !ok {
                return Err(bad(format!(
                    "{name} must hold at least two finite, increasing coordinates"
                )));
            }
        }
        let geometry = if summary["geometry"].is_null() {
            None
        } else {
            let g = set.read_2d("geometry").map_err(bad)?;
            if g.len() != points {
                return Err(bad("geometry does not match x, y and z".into()));
            }
            Some(g.iter().copied().collect())
        };
        let mass_exited = summary["mass_exited"].as_array().map(|a| {
            a.iter()
                .map(|v| v.as_f64().unwrap_or(f64::NAN))
                .collect::<Vec<_>>()
        });
        if mass_exited.as_ref().is_some_and(|e| e.len() != t.len()) {
            return Err(bad("mass_exited does not match t".into()));
        }
        Ok(Self {
            u,
            m,
            x,
            y,
            z,
            t,
            history,
            termination,
            stationary,
            geometry,
            mass_exited,
        })
    }
}

/// Write the pictures into `dir` (`density.png`, `value.png`, `convergence.png`, and with
/// exits `exited.png`); with `animate` also `density.gif` (the density over time). Returns
/// their paths.
pub fn plot_dir(dir: &Path, animate: bool) -> Result<Vec<PathBuf>, CliError> {
    font();
    let r = Results::load(dir)?;
    let (titles, labels) = if r.stationary {
        (
            ["stationary density m(x)", "stationary value function u(x)"],
            ["residual_hjb", "residual_fp"],
        )
    } else {
        (
            ["density m(t, x)", "value function u(t, x)"],
            ["residual_u", "residual_m"],
        )
    };
    let mut done = Vec::new();
    for ((name, field, symbol), title) in [("density.png", &r.m, "m"), ("value.png", &r.u, "u")]
        .into_iter()
        .zip(titles)
    {
        let path = dir.join(name);
        if r.stationary {
            draw_stationary(&path, &r, field, title, symbol)?;
        } else {
            draw_time_dependent(&path, &r, field, title, symbol)?;
        }
        done.push(path);
    }
    let path = dir.join("convergence.png");
    atomically(&path, |tmp| {
        convergence(tmp, &r.history, &r.termination, labels)
    })?;
    done.push(path);
    if let Some(exited) = &r.mass_exited {
        let path = dir.join("exited.png");
        atomically(&path, |tmp| exited_curve(tmp, &r.t, exited))?;
        done.push(path);
    }
    if animate && !r.stationary {
        let path = dir.join("density.gif");
        atomically(&path, |tmp| animation(tmp, &r))?;
        done.push(path);
    }
    Ok(done)
}

/// The mass that has left over time, with the times by which 50, 90 and 99 % have left.
fn exited_curve(path: &Path, t: &Array1<f64>, exited: &[f64]) -> Result<(), CliError> {
    let err = draw_err(path);
    let root = BitMapBackend::new(path, (960, 640)).into_drawing_area();
    root.fill(&WHITE).map_err(draw_err(path))?;
    let n = t.len();
    let mut chart = ChartBuilder::on(&root)
        .caption("mass that has left through the exits", ("sans-serif", 26))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(80)
        .build_cartesian_2d(t[0]..t[n - 1], 0.0..1.05)
        .map_err(draw_err(path))?;
    chart
        .configure_mesh()
        .x_desc("t")
        .y_desc("exited")
        .label_style(("sans-serif", 16))
        .axis_desc_style(("sans-serif", 20))
        .draw()
        .map_err(draw_err(path))?;
    let points: Vec<(f64, f64)> = t
        .iter()
        .zip(exited)
        .filter(|(_, v)| v.is_finite())
        .map(|(&a, &v)| (a, v.clamp(0.0, 1.05)))
        .collect();
    chart
        .draw_series(LineSeries::new(points, BLUE.stroke_width(3)))
        .map_err(draw_err(path))?;
    for share in [0.5, 0.9, 0.99] {
        chart
            .draw_series(LineSeries::new(
                [(t[0], share), (t[n - 1], share)],
                BLACK.mix(0.3).stroke_width(1),
            ))
            .map_err(draw_err(path))?;
        if let Some(k) = exited.iter().position(|&e| e >= share) {
            // The label left of the point in the right third of the picture.
            let right = t[k] > t[0] + 0.66 * (t[n - 1] - t[0]);
            let at = if right {
                t[k] - 0.3 * (t[n - 1] - t[0])
            } else {
                t[k] + 0.01 * (t[n - 1] - t[0])
            };
            chart
                .draw_series([
                    Circle::new((t[k], exited[k].min(1.05)), 6, RED.filled()).into_dyn(),
                    Text::new(
                        format!("{:.0} % by t = {:.3}", 100.0 * share, t[k]),
                        (at, share - 0.03),
                        ("sans-serif", 16),
                    )
                    .into_dyn(),
                ])
                .map_err(draw_err(path))?;
        }
    }
    root.present().map_err(err)
}

/// `density.gif`: one frame per time level (at most [`MAX_FRAMES`], evenly spaced), one colour
/// scale; 1D the profile m(x), 2D the map over (x, y), 3D the mid-plane; obstacles and exits
/// drawn.
fn animation(path: &Path, r: &Results) -> Result<(), CliError> {
    let levels = r.t.len();
    let step = levels.div_ceil(MAX_FRAMES).max(1);
    let frames: Vec<usize> = (0..levels).step_by(step).collect();
    let delay = (4000 / frames.len().max(1)).clamp(40, 250) as u32;
    let (field, kinds) = plane_of(r, &r.m);
    let (lo, hi) = value_range(&field);
    let (w, h) = if r.y.is_some() {
        (760, 700)
    } else {
        (900, 600)
    };
    let root = BitMapBackend::gif(path, (w, h), delay)
        .map_err(draw_err(path))?
        .into_drawing_area();
    for &k in &frames {
        root.fill(&WHITE).map_err(draw_err(path))?;
        let caption = format!("density m at t = {:.3}", r.t[k]);
        match &r.y {
            Some(y) => {
                let (main, bar) = root.split_horizontally(w - 110);
                map_panel(
                    &main,
                    field.row(k),
                    &r.x,
                    y,
                    kinds.as_deref(),
                    (lo, hi),
                    &caption,
                    22,
                )
                .map_err(draw_err(path))?;
                colour_bar(&bar, lo, hi, "m").map_err(draw_err(path))?;
            }
            None => profile_frame(
                &root,
                &r.x,
                field.row(k),
                kinds.as_deref(),
                (lo, hi),
                (&caption, "m"),
            )
            .map_err(draw_err(path))?,
        }
        root.present().map_err(draw_err(path))?;
    }
    Ok(())
}

/// Most frames of `density.gif`.
const MAX_FRAMES: usize = 101;

/// The field on the plane drawn (1D, 2D: itself; 3D: the mid-plane z = z[nz/2]) and the point
/// kinds there.
fn plane_of(r: &Results, field: &Array2<f64>) -> (Array2<f64>, Option<Vec<f64>>) {
    let (Some(y), Some(z)) = (&r.y, &r.z) else {
        return (field.clone(), r.geometry.clone());
    };
    let (nx, ny, nz) = (r.x.len(), y.len(), z.len());
    let plane = field
        .view()
        .into_shape_with_order((field.nrows(), nx, ny, nz))
        .expect("shape checked on load")
        .slice(ndarray::s![.., .., .., nz / 2])
        .to_owned()
        .into_shape_with_order((field.nrows(), nx * ny))
        .expect("contiguous");
    let kinds = r.geometry.as_ref().map(|g| {
        (0..nx * ny)
            .map(|ij| g[ij * nz + nz / 2])
            .collect::<Vec<_>>()
    });
    (plane, kinds)
}

/// The colour of an obstacle's cells.
const SOLID: RGBColor = RGBColor(70, 70, 70);
/// The colour of the exits.
const DOOR: RGBColor = RGBColor(230, 30, 30);

/// One map over (x, y) of a level (values in x-major order), obstacles grey and exits red.
#[allow(clippy::too_many_arguments)]
fn map_panel(
    area: &Area<'_>,
    level: ndarray::ArrayView1<'_, f64>,
    x: &Array1<f64>,
    y: &Array1<f64>,
    kinds: Option<&[f64]>,
    (lo, hi): (f64, f64),
    caption: &str,
    font_size: u32,
) -> Result<(), Box<dyn std::error::Error + 'static>> {
    let (nx, ny) = (x.len(), y.len());
    let dx = (x[nx - 1] - x[0]) / (nx - 1).max(1) as f64;
    let dy = (y[ny - 1] - y[0]) / (ny - 1).max(1) as f64;
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", font_size))
        .margin(8)
        .x_label_area_size(36)
        .y_label_area_size(44)
        .build_cartesian_2d(x[0]..x[nx - 1], y[0]..y[ny - 1])
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc("x")
        .y_desc("y")
        .label_style(("sans-serif", 13))
        .axis_desc_style(("sans-serif", 16))
        .draw()
        .map_err(|e| e.to_string())?;
    let cell = |i: usize, j: usize| {
        let (xa, xb) = (
            (x[i] - 0.5 * dx).max(x[0]),
            (x[i] + 0.5 * dx).min(x[nx - 1]),
        );
        let (ya, yb) = (
            (y[j] - 0.5 * dy).max(y[0]),
            (y[j] + 0.5 * dy).min(y[ny - 1]),
        );
        [(xa, ya), (xb, yb)]
    };
    let kind = |i: usize, j: usize| kinds.map_or(0.0, |k| k[i * ny + j]);
    chart
        .draw_series(
            (0..nx)
                .flat_map(|i| (0..ny).map(move |j| (i, j)))
                .map(|(i, j)| {
                    let c = if kind(i, j) == 2.0 {
                        SOLID
                    } else {
                        colour(level[i * ny + j], lo, hi)
                    };
                    Rectangle::new(cell(i, j), c.filled())
                }),
        )
        .map_err(|e| e.to_string())?;
    if kinds.is_some() {
        // The exits, drawn over their cells and a little beyond, so that a door on a wall
        // shows as a red stroke.
        chart
            .draw_series(
                (0..nx)
                    .flat_map(|i| (0..ny).map(move |j| (i, j)))
                    .filter(|&(i, j)| kind(i, j) == 1.0)
                    .map(|(i, j)| {
                        let [(xa, ya), (xb, yb)] = cell(i, j);
                        let (cx, cy) = (0.5 * (xa + xb), 0.5 * (ya + yb));
                        let (hx, hy) = (0.75 * dx, 0.75 * dy);
                        Rectangle::new([(cx - hx, cy - hy), (cx + hx, cy + hy)], DOOR.filled())
                    }),
            )
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// A 1D profile (a frame of the animation, or a stationary solution), exits red, obstacles
/// grey.
fn profile_frame(
    area: &Area<'_>,
    x: &Array1<f64>,
    level: ndarray::ArrayView1<'_, f64>,
    kinds: Option<&[f64]>,
    (lo, hi): (f64, f64),
    (caption, symbol): (&str, &str),
) -> Result<(), Box<dyn std::error::Error + 'static>> {
    let n = x.len();
    let pad = 0.05 * (hi - lo);
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 26))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(80)
        .build_cartesian_2d(x[0]..x[n - 1], (lo - pad)..(hi + pad))
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_desc("x")
        .y_desc(symbol)
        .label_style(("sans-serif", 16))
        .axis_desc_style(("sans-serif", 20))
        .draw()
        .map_err(|e| e.to_string())?;
    if let Some(k) = kinds {
        let dx = (x[n - 1] - x[0]) / (n - 1).max(1) as f64;
        chart
            .draw_series((0..n).filter(|&i| k[i] != 0.0).map(|i| {
                let c = if k[i] == 1.0 { DOOR } else { SOLID };
                Rectangle::new(
                    [(x[i] - 0.5 * dx, lo - pad), (x[i] + 0.5 * dx, hi + pad)],
                    c.filled(),
                )
            }))
            .map_err(|e| e.to_string())?;
    }
    let points: Vec<(f64, f64)> = x
        .iter()
        .zip(level.iter())
        .filter(|(_, v)| v.is_finite())
        .map(|(&a, &v)| (a, v.clamp(lo, hi)))
        .collect();
    chart
        .draw_series(LineSeries::new(points, BLUE.stroke_width(2)))
        .map_err(|e| e.to_string())?;
    Ok(())
}

/// A field over time: 1D a heat map over (x, t); 2D snapshots at four times; 3D the same
/// snapshots of the mid-plane z = z[nz/2].
fn draw_time_dependent(
    path: &Path,
    r: &Results,
    field: &Array2<f64>,
    title: &str,
    symbol: &str,
) -> Result<(), CliError> {
    match (&r.y, &r.z) {
        (None, _) => atomically(path, |tmp| {
            heatmap(tmp, field, (&r.x, &r.t), title, symbol, "t")?;
            Ok(())
        }),
        (Some(y), z) => {
            let (plane, kinds) = plane_of(r, field);
            let title = match z {
                None => title.replace("(t, x)", "(t, x, y)"),
                Some(z) => {
                    title.replace("(t, x)", &format!("(t, x, y, z = {:.3})", z[z.len() / 2]))
                }
            };
            atomically(path, |tmp| {
                snapshots(
                    tmp,
                    &plane,
                    (&r.x, y, &r.t),
                    kinds.as_deref(),
                    &title,
                    symbol,
                )
            })
        }
    }
}

/// A stationary field: 1D its profile over x; 2D a map over (x, y); 3D the map of the
/// mid-plane z = z[nz/2].
fn draw_stationary(
    path: &Path,
    r: &Results,
    field: &Array2<f64>,
    title: &str,
    symbol: &str,
) -> Result<(), CliError> {
    let values = field.row(0);
    let Some(y) = &r.y else {
        return atomically(path, |tmp| profile(tmp, &r.x, values, title, symbol));
    };
    let (nx, ny) = (r.x.len(), y.len());
    let nz = r.z.as_ref().map_or(1, |z| z.len());
    let cube = values
        .into_shape_with_order((nx, ny, nz))
        .expect("shape checked on load");
    // Rows over y, columns over x (the heat map's layout).
    let plane = cube.slice(ndarray::s![.., .., nz / 2]).t().to_owned();
    let title = match &r.z {
        None => title.replace("(x)", "(x, y)"),
        Some(z) => title.replace("(x)", &format!("(x, y, z = {:.3})", z[nz / 2])),
    };
    atomically(path, |tmp| {
        heatmap(tmp, &plane, (&r.x, y), &title, symbol, "y")
    })
}

/// A 1D profile `f(x)`.
fn profile(
    path: &Path,
    x: &Array1<f64>,
    f: ndarray::ArrayView1<'_, f64>,
    title: &str,
    symbol: &str,
) -> Result<(), CliError> {
    let root = BitMapBackend::new(path, (960, 640)).into_drawing_area();
    root.fill(&WHITE).map_err(draw_err(path))?;
    let range = value_range(&f.to_owned().insert_axis(ndarray::Axis(0)));
    profile_frame(&root, x, f, None, range, (title, symbol)).map_err(draw_err(path))?;
    root.present().map_err(draw_err(path))
}

/// Draw into a temporary `.png` beside `path`, then rename it into place.
fn atomically(
    path: &Path,
    draw: impl FnOnce(&Path) -> Result<(), CliError>,
) -> Result<(), CliError> {
    let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or("plot");
    let ext = path.extension().and_then(|s| s.to_str()).unwrap_or("png");
    let tmp = path.with_file_name(format!(".{name}.{}.tmp.{ext}", std::process::id()));
    if let Err(e) = draw(&tmp) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, path).map_err(|source| CliError::Write {
        path: path.to_owned(),
        source,
    })
}

/// `f[[k, i]]` over `(x[i], t[k])` (the second axis is time, or y for a stationary map,
/// labelled `t_desc`).
fn heatmap(
    path: &Path,
    f: &Array2<f64>,
    (x, t): (&Array1<f64>, &Array1<f64>),
    title: &str,
    symbol: &str,
    t_desc: &str,
) -> Result<(), CliError> {
    let err = draw_err(path);
    let root = BitMapBackend::new(path, (960, 640)).into_drawing_area();
    root.fill(&WHITE).map_err(draw_err(path))?;
    let (main, bar) = root.split_horizontally(840);
    let (nt1, nx) = (t.len(), x.len());
    let (x0, x1) = (x[0], x[nx - 1]);
    let (t0, t1) = (t[0], t[nt1 - 1]);
    let dx = if nx > 1 {
        (x1 - x0) / (nx - 1) as f64
    } else {
        1.0
    };
    let dt = if nt1 > 1 {
        (t1 - t0) / (nt1 - 1) as f64
    } else {
        1.0
    };
    let (lo, hi) = value_range(f);
    let mut chart = ChartBuilder::on(&main)
        .caption(title, ("sans-serif", 26))
        .margin(12)
        .x_label_area_size(48)
        .y_label_area_size(60)
        .build_cartesian_2d(x0..x1, t0..t1)
        .map_err(draw_err(path))?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc("x")
        .y_desc(t_desc)
        .label_style(("sans-serif", 16))
        .axis_desc_style(("sans-serif", 20))
        .draw()
        .map_err(draw_err(path))?;
    let cells = (0..nt1).flat_map(|k| (0..nx).map(move |i| (k, i)));
    chart
        .draw_series(cells.map(|(k, i)| {
            let (xa, xb) = ((x[i] - 0.5 * dx).max(x0), (x[i] + 0.5 * dx).min(x1));
            let (ta, tb) = ((t[k] - 0.5 * dt).max(t0), (t[k] + 0.5 * dt).min(t1));
            let c = colour(f[[k, i]], lo, hi);
            Rectangle::new([(xa, ta), (xb, tb)], c.filled())
        }))
        .map_err(draw_err(path))?;
    colour_bar(&bar, lo, hi, symbol).map_err(draw_err(path))?;
    root.present().map_err(err)
}

/// 2D (and the mid-plane of 3D): four snapshots (t = 0, T/3, 2T/3, T) of `f` over (x, y), one
/// colour scale; obstacles grey, exits red.
fn snapshots(
    path: &Path,
    f: &Array2<f64>,
    (x, y, t): (&Array1<f64>, &Array1<f64>, &Array1<f64>),
    kinds: Option<&[f64]>,
    title: &str,
    symbol: &str,
) -> Result<(), CliError> {
    let err = draw_err(path);
    let root = BitMapBackend::new(path, (1000, 900)).into_drawing_area();
    root.fill(&WHITE).map_err(draw_err(path))?;
    let root = root
        .titled(title, ("sans-serif", 26))
        .map_err(draw_err(path))?;
    let (panels, bar) = root.split_horizontally(880);
    let nt1 = t.len();
    let (lo, hi) = value_range(f);
    let levels = [0, (nt1 - 1) / 3, 2 * (nt1 - 1) / 3, nt1 - 1];
    for (area, &k) in panels.split_evenly((2, 2)).iter().zip(&levels) {
        let caption = format!("t = {:.3}", t[k]);
        map_panel(area, f.row(k), x, y, kinds, (lo, hi), &caption, 18).map_err(draw_err(path))?;
    }
    colour_bar(&bar, lo, hi, symbol).map_err(draw_err(path))?;
    root.present().map_err(err)
}

/// The colour scale of `f`: its finite range, widened to unit width when `f` is constant.
fn value_range(f: &Array2<f64>) -> (f64, f64) {
    // Finite values only, kept within ±1e300 so that hi − lo stays finite.
    let (lo, hi) = f
        .iter()
        .filter(|v| v.is_finite())
        .map(|v| v.clamp(-PLOT_LIMIT, PLOT_LIMIT))
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
    if !lo.is_finite() {
        (0.0, 1.0) // nothing finite to show
    } else if lo < hi {
        (lo, hi)
    } else {
        (lo - 0.5, lo + 0.5)
    }
}

/// The range of residuals drawn on the convergence picture's logarithmic axis.
const RESIDUAL_RANGE: (f64, f64) = (1e-30, 1e30);

/// The largest magnitude drawn: values beyond (and ±∞) are drawn at it.
const PLOT_LIMIT: f64 = 1e300;

/// The colour of `v` on the scale `[lo, hi]`: clamped into it, NaN drawn as `lo`.
fn colour(v: f64, lo: f64, hi: f64) -> RGBColor {
    let v = if v.is_nan() { lo } else { v.clamp(lo, hi) };
    ViridisRGB::get_color_normalized(v, lo, hi)
}

type Area<'a> = DrawingArea<BitMapBackend<'a>, plotters::coord::Shift>;

/// A vertical colour bar for values in `[lo, hi]`, captioned `symbol`.
fn colour_bar(
    area: &Area<'_>,
    lo: f64,
    hi: f64,
    symbol: &str,
) -> Result<(), Box<dyn std::error::Error + 'static>> {
    let mut cb = ChartBuilder::on(area)
        .caption(symbol, ("sans-serif", 22))
        .margin_top(14)
        .margin_bottom(60)
        .margin_right(12)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..1.0, lo..hi)
        .map_err(|e| e.to_string())?;
    cb.configure_mesh()
        .disable_mesh()
        .disable_x_axis()
        .label_style(("sans-serif", 14))
        .draw()
        .map_err(|e| e.to_string())?;
    let steps = 200;
    cb.draw_series((0..steps).map(|s| {
        let a = lo + (hi - lo) * s as f64 / steps as f64;
        let b = lo + (hi - lo) * (s + 1) as f64 / steps as f64;
        Rectangle::new([(0.0, a), (1.0, b)], colour(0.5 * (a + b), lo, hi).filled())
    }))
    .map_err(|e| e.to_string())?;
    Ok(())
}

fn convergence(
    path: &Path,
    history: &[(f64, f64)],
    termination: &str,
    labels: [&'static str; 2],
) -> Result<(), CliError> {
    let err = draw_err(path);
    let root = BitMapBackend::new(path, (960, 640)).into_drawing_area();
    root.fill(&WHITE).map_err(draw_err(path))?;
    // Positive finite residuals, drawn within [1e-30, 1e30]: residuals of 1e-320 or 1e308
    // made plotters' logarithmic axis endless; beyond those bounds nothing is worth reading.
    let positive = |v: f64| v.is_finite() && v > 0.0;
    let history: Vec<(f64, f64)> = history
        .iter()
        .map(|&(a, b)| {
            let within = |v: f64| {
                if positive(v) {
                    v.clamp(RESIDUAL_RANGE.0, RESIDUAL_RANGE.1)
                } else {
                    v
                }
            };
            (within(a), within(b))
        })
        .collect();
    let vals: Vec<f64> = history
        .iter()
        .flat_map(|&(a, b)| [a, b])
        .filter(|&v| positive(v))
        .collect();
    let lo = vals.iter().cloned().fold(f64::INFINITY, f64::min).min(1e-1);
    let hi = vals
        .iter()
        .cloned()
        .fold(f64::NEG_INFINITY, f64::max)
        .max(1.0);
    let n = history.len().max(2) as f64;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!(
                "convergence ({termination} after {} iterations)",
                history.len()
            ),
            ("sans-serif", 26),
        )
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(80)
        .build_cartesian_2d(1.0..n, (lo * 0.5..hi * 2.0).log_scale())
        .map_err(draw_err(path))?;
    chart
        .configure_mesh()
        .x_desc("iteration")
        .y_desc("relative residual")
        .y_label_formatter(&|v| format!("{v:.0e}"))
        .x_label_formatter(&|v| format!("{v:.0}"))
        .label_style(("sans-serif", 16))
        .axis_desc_style(("sans-serif", 20))
        .draw()
        .map_err(draw_err(path))?;
    for (label, color, pick) in [(labels[0], BLUE, 0usize), (labels[1], RED, 1usize)] {
        let pts: Vec<(f64, f64)> = history
            .iter()
            .enumerate()
            .map(|(i, r)| ((i + 1) as f64, if pick == 0 { r.0 } else { r.1 }))
            .filter(|&(_, v)| positive(v))
            .collect();
        chart
            .draw_series(LineSeries::new(pts, color.stroke_width(2)))
            .map_err(draw_err(path))?
            .label(label)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 24, y)], color.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .label_font(("sans-serif", 18))
        .draw()
        .map_err(draw_err(path))?;
    root.present().map_err(err)
}
