//! End-to-end tests of the `mfg-cli` binary: the file contract and the exit codes of DESIGN.md §5.

use std::path::Path;
use std::process::{Command, Output};

use ndarray::{Array1, Array2};
use ndarray_npy::read_npy;

fn mfg(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mfg-cli"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("run mfg-cli")
}

/// Run with a deadline: a hang fails the test instead of stalling the suite.
fn mfg_within(args: &[&str], cwd: &Path, seconds: u64) -> std::process::ExitStatus {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mfg-cli"))
        .args(args)
        .current_dir(cwd)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("run mfg-cli");
    let start = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        if start.elapsed().as_secs() >= seconds {
            let _ = child.kill();
            panic!("mfg-cli {args:?} still running after {seconds} s");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// `mfg-cli solve --out OUT [FLAGS] --set S...` in `cwd`.
fn solve_in(cwd: &Path, out: &str, flags: &[&str], sets: &[&str]) -> Output {
    let mut args = vec!["solve", "--out", out];
    args.extend_from_slice(flags);
    for set in sets {
        args.extend(["--set", set]);
    }
    mfg(&args, cwd)
}

/// Exit 2, the message names `key`, and `out` was not created.
fn assert_refused(o: &Output, key: &str, out: &Path) {
    assert_eq!(o.status.code(), Some(2), "{}", stderr(o));
    assert!(
        stderr(o).contains(key),
        "message does not name {key}: {}",
        stderr(o)
    );
    assert!(!out.exists(), "{} was written", out.display());
}

/// Drop `files` from a result's summary.json: the result then reads as one written before
/// the manifest existed (for tests that edit result files by hand).
fn forget_manifest(dir: &Path) {
    let mut s = summary(dir);
    s.as_object_mut().unwrap().remove("files");
    std::fs::write(dir.join("summary.json"), s.to_string()).unwrap();
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn summary(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap()
}

#[test]
fn solve_without_arguments_writes_the_default_preset() {
    let tmp = tempfile::tempdir().unwrap();
    let o = mfg(&["solve"], tmp.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = tmp.path().join("mfg-out");
    let u: Array2<f64> = read_npy(out.join("u.npy")).unwrap();
    let m: Array2<f64> = read_npy(out.join("m.npy")).unwrap();
    let x: Array1<f64> = read_npy(out.join("x.npy")).unwrap();
    let t: Array1<f64> = read_npy(out.join("t.npy")).unwrap();
    assert_eq!(u.shape(), &[51, 101]);
    assert_eq!(m.shape(), &[51, 101]);
    assert_eq!((x.len(), t.len()), (101, 51));
    assert_eq!((x[0], x[100], t[50]), (0.0, 1.0, 1.0));
    let s = summary(&out);
    assert_eq!(s["converged"], true);
    assert_eq!(s["termination"], "converged");
    assert_eq!(s["preset"], "crowd");
    let iterations = s["iterations"].as_u64().unwrap() as usize;
    assert_eq!(s["history"].as_array().unwrap().len(), iterations);
    for key in ["residual_u", "residual_m", "mass", "iteration", "step"] {
        assert!(s["history"][0].get(key).is_some(), "history lacks {key}");
    }
    assert!((s["mass_initial"].as_f64().unwrap() - 1.0).abs() < 1e-12);
    assert!((s["mass_final"].as_f64().unwrap() - 1.0).abs() < 1e-12);
    for key in ["total", "hjb", "fp"] {
        assert!(s["timings_s"][key].as_f64().unwrap() >= 0.0);
    }
    assert_eq!(s["solver"]["hjb"]["method"], "fdm");
    assert!(s["version"].is_string());
    // The written m is the FP solution: unit trapezoid mass on every level, non-negative.
    let dx = x[1] - x[0];
    for row in m.rows() {
        let mass = dx * (row.sum() - 0.5 * (row[0] + row[100]));
        assert!((mass - 1.0).abs() < 1e-12);
        assert!(row.iter().all(|&v| v >= 0.0));
    }
    let config = std::fs::read_to_string(out.join("config.toml")).unwrap();
    assert!(config.contains("preset = \"crowd\""), "{config}");
    // No temporary file is left behind.
    for e in std::fs::read_dir(&out).unwrap() {
        let name = e.unwrap().file_name().into_string().unwrap();
        assert!(!name.ends_with(".tmp"), "left over {name}");
    }
}

#[test]
fn set_overrides_and_config_files_are_applied() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("p.toml"),
        "preset = \"lq-gaussian\"\n[grid]\nnx = 80\nnt = 20\n",
    )
    .unwrap();
    let o = mfg(
        &[
            "solve",
            "p.toml",
            "--out",
            "r",
            "--set",
            "grid.nt=10",
            "--quiet",
        ],
        tmp.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(o.stderr.is_empty(), "--quiet printed: {}", stderr(&o));
    let u: Array2<f64> = read_npy(tmp.path().join("r/u.npy")).unwrap();
    assert_eq!(u.shape(), &[11, 81]);
    let resolved: toml::Table = std::fs::read_to_string(tmp.path().join("r/config.toml"))
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(resolved["grid"]["nt"].as_integer(), Some(10));
    assert_eq!(resolved["grid"]["nx"].as_integer(), Some(80));
    assert_eq!(resolved["model"]["coupling"].as_str(), Some("none"));
}

#[test]
fn invalid_configs_exit_2_name_the_key_and_write_nothing() {
    let cases: &[(&[&str], &str)] = &[
        (&["--set", "grid.nx=0"], "grid.nx"),
        (&["--set", "model.sigma=-1"], "model.sigma"),
        (&["--set", "model.potential=foo(x)"], "model.potential"),
        (&["--set", "model.potential=nan"], "model.potential"),
        (&["--set", "model.potential=sqrt(x-2)"], "model.potential"),
        (&["--set", "iteration.damping=0"], "iteration.damping"),
        (&["--set", "grid.nxx=10"], "grid.nxx"),
        (&["--set", "iteration.damping=0"], "iteration.damping"),
        (&["--set", "iteration.damping=1.5"], "iteration.damping"),
        (
            &["--set", "model.initial_density=x-0.5"],
            "model.initial_density",
        ),
        (
            &["--set", "model.initial_density=0"],
            "model.initial_density",
        ),
        (&["--set", "hjb.method=weno7"], "hjb.method"),
        (
            &["--set", "hjb.method=weno5", "--set", "hjb.cfl=2"],
            "hjb.cfl",
        ),
        (
            &["--set", "hjb.method=weno-z", "--set", "grid.nx=5"],
            "grid.nx",
        ),
        (
            &[
                "--set",
                "preset=torus-2d",
                "--set",
                "hjb.method=weno5",
                "--set",
                "grid.ny=6",
            ],
            "grid.ny",
        ),
        (&["--set", "fp.method=particles"], "fp.method"),
        (
            &["--set", "fp.method=particle", "--set", "fp.particles=0"],
            "fp.particles",
        ),
        (&["--set", "grid.y=[0, 1]"], "grid.ny"),
        (&["--set", "iteration.tolerance=2"], "iteration.tolerance"),
        (&["--set", "iteration.threads=5000"], "iteration.threads"),
        (&["--set", "grid.x=[1, 0]"], "grid.x"),
        (&["--set", "grid.x=[-1e308, 1e308]"], "grid.x"),
        (
            &["--set", "preset=crowd-2d", "--set", "grid.ny=10000000"],
            "grid.ny",
        ),
        (
            &["--set", "model.initial_density=1e-320*(1+x)"],
            "model.initial_density",
        ),
        (
            &["--set", "preset=crowd-2d", "--set", "grid.z=[0, 1]"],
            "grid.nz",
        ),
        (&["--set", "grid.z=[0, 1]", "--set", "grid.nz=4"], "grid.y"),
        (
            &["--set", "preset=crowd-3d", "--set", "grid.nz=0"],
            "grid.nz",
        ),
        (
            &[
                "--set",
                "preset=crowd-3d",
                "--set",
                "hjb.method=weno5",
                "--set",
                "grid.nz=5",
            ],
            "grid.nz",
        ),
        (&["--set", "preset=unknown"], "preset"),
        (&["--set", "nokeyvalue"], "--set"),
        (&["--set", "model.hamiltonian=cubic"], "model.hamiltonian"),
        (
            &[
                "--set",
                "model.hamiltonian=congestion",
                "--set",
                "model.congestion_exponent=3",
            ],
            "model.congestion_exponent",
        ),
        (
            &[
                "--set",
                "model.hamiltonian=congestion",
                "--set",
                "hjb.method=weno5",
            ],
            "hjb.method",
        ),
        (
            &[
                "--set",
                "model.hamiltonian=congestion",
                "--set",
                "fp.method=particle",
            ],
            "fp.method",
        ),
        (
            &[
                "--set",
                "model.hamiltonian=congestion",
                "--set",
                "problem=stationary",
            ],
            "problem",
        ),
        (&["--set", "model.running_cost=q*m"], "model.running_cost"),
        (
            &["--set", "model.running_cost=ln(m-1)"],
            "model.running_cost",
        ),
        (
            &[
                "--set",
                "problem=stationary",
                "--set",
                "model.running_cost=t*m",
            ],
            "model.running_cost",
        ),
        (
            &[
                "--set",
                "model.coupling=nonlocal",
                "--set",
                "model.coupling_width=0",
            ],
            "model.coupling_width",
        ),
        (
            &[
                "--set",
                "model.coupling=nonlocal",
                "--set",
                "problem=stationary",
            ],
            "model.coupling",
        ),
        (
            &[
                "--set",
                "model.hamiltonian=power",
                "--set",
                "model.hamiltonian_exponent=1",
            ],
            "model.hamiltonian_exponent",
        ),
        (
            &[
                "--set",
                "model.hamiltonian=power",
                "--set",
                "model.control_cost=0",
            ],
            "model.control_cost",
        ),
        (
            &[
                "--set",
                "model.hamiltonian=bounded",
                "--set",
                "model.control_bound=-1",
            ],
            "model.control_bound",
        ),
    ];
    for (args, key) in cases {
        let tmp = tempfile::tempdir().unwrap();
        let mut all = vec!["solve", "--out", "r"];
        all.extend_from_slice(args);
        let o = mfg(&all, tmp.path());
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains(key),
            "{args:?}: message does not name {key}: {err}"
        );
        assert!(!tmp.path().join("r").exists(), "{args:?}: output written");
    }
}

#[test]
fn messages_speak_config_words_not_rust_types() {
    let tmp = tempfile::tempdir().unwrap();
    for set in [
        "grid.nx=-3",
        "grid.nx=1.5",
        "fp.seed=-1",
        "model.sigma=abc",
        "fp.bandwidth=[1]",
        "grid.x=[1, 2, 3]",
        "iteration.warm_start=3",
        "grid.boundary=3",
    ] {
        let o = mfg(&["check", "--set", set], tmp.path());
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{set}: {err}");
        for rust in [
            "usize",
            "u64",
            "f64",
            "untagged",
            "unit variant",
            "path string",
        ] {
            assert!(!err.contains(rust), "{set}: '{rust}' in {err}");
        }
    }
}

#[test]
fn keys_the_chosen_methods_ignore_are_warned_about() {
    let tmp = tempfile::tempdir().unwrap();
    let o = solve_in(tmp.path(), "r", &[], &["hjb.cfl=0.3", "fp.bandwidth=0.05"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("warning: hjb.cfl"), "{err}");
    assert!(err.contains("warning: fp.bandwidth"), "{err}");
    let warnings = summary(&tmp.path().join("r"))["warnings"].clone();
    assert_eq!(warnings.as_array().unwrap().len(), 2, "{warnings}");
    // The same keys with the methods that read them: no warning.
    let o = solve_in(
        tmp.path(),
        "w",
        &["--quiet"],
        &["hjb.method=weno5", "hjb.cfl=0.3"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!stderr(&o).contains("warning"), "{}", stderr(&o));
    assert_eq!(
        summary(&tmp.path().join("w"))["warnings"],
        serde_json::json!([])
    );
}

#[test]
fn plot_survives_non_finite_extreme_and_empty_data() {
    let tmp = tempfile::tempdir().unwrap();
    let solve = |dir: &str| {
        let o = mfg(
            &[
                "solve",
                "--quiet",
                "--out",
                dir,
                "--set",
                "grid.nx=20",
                "--set",
                "grid.nt=10",
            ],
            tmp.path(),
        );
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        // Each result is edited by hand below, so its manifest (sizes and hashes) goes.
        let dir = tmp.path().join(dir);
        forget_manifest(&dir);
        dir
    };
    // NaN, ±∞ and ±1e308 in m; residuals 1e308 and 1e-320 (a panic and a hang before).
    let dir = solve("fields");
    let mut m: Array2<f64> = read_npy(dir.join("m.npy")).unwrap();
    m[[3, 4]] = f64::NAN;
    m[[5, 5]] = 1e308;
    m[[6, 6]] = -1e308;
    m[[2, 2]] = f64::INFINITY;
    ndarray_npy::write_npy(dir.join("m.npy"), &m).unwrap();
    let mut s = summary(&dir);
    assert!(s.get("files").is_none());
    s["history"][0]["residual_u"] = serde_json::json!(1e308);
    s["history"][1]["residual_m"] = serde_json::json!(1e-320);
    std::fs::write(dir.join("summary.json"), s.to_string()).unwrap();
    assert_eq!(
        mfg_within(&["plot", "fields"], tmp.path(), 60).code(),
        Some(0)
    );
    assert!(is_png(&dir.join("convergence.png")) && is_png(&dir.join("density.png")));
    // NaN in x, and no time levels at all: refused with exit 2.
    let dir = solve("coords");
    let mut x: Array1<f64> = read_npy(dir.join("x.npy")).unwrap();
    x[3] = f64::NAN;
    ndarray_npy::write_npy(dir.join("x.npy"), &x).unwrap();
    assert_eq!(
        mfg_within(&["plot", "coords"], tmp.path(), 60).code(),
        Some(2)
    );
    let dir = solve("empty");
    ndarray_npy::write_npy(dir.join("t.npy"), &Array1::<f64>::zeros(0)).unwrap();
    ndarray_npy::write_npy(dir.join("u.npy"), &Array2::<f64>::zeros((0, 21))).unwrap();
    ndarray_npy::write_npy(dir.join("m.npy"), &Array2::<f64>::zeros((0, 21))).unwrap();
    assert_eq!(
        mfg_within(&["plot", "empty"], tmp.path(), 60).code(),
        Some(2)
    );
}

#[test]
fn the_time_limit_is_honoured_inside_an_iteration() {
    let tmp = tempfile::tempdir().unwrap();
    // WENO at nx = 400: an iteration takes ~0.3 s (33 to converge); the limit ends the run
    // within one, with the last complete iteration written.
    let start = std::time::Instant::now();
    let o = solve_in(
        tmp.path(),
        "r",
        &["--quiet"],
        &[
            "hjb.method=weno5",
            "grid.nx=400",
            "iteration.time_limit_s=2",
        ],
    );
    assert!(start.elapsed().as_secs_f64() < 5.0, "{:?}", start.elapsed());
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let s = summary(&tmp.path().join("r"));
    assert_eq!(s["termination"], "time-limit");
    assert!(s["iterations"].as_u64().unwrap() >= 1);
    let m: Array2<f64> = read_npy(tmp.path().join("r/m.npy")).unwrap();
    let dx = 1.0 / 400.0;
    for row in m.rows() {
        let mass = dx * (row.sum() - 0.5 * (row[0] + row[400]));
        assert!(
            (mass - 1.0).abs() < 1e-12,
            "a complete iterate: mass {mass}"
        );
    }
}

#[test]
fn a_time_limit_shorter_than_the_first_iteration_is_refused_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    // The first iteration takes ~0.3 s: there is nothing to write after 0.02 s.
    let start = std::time::Instant::now();
    let o = solve_in(
        tmp.path(),
        "r",
        &["--quiet"],
        &[
            "hjb.method=weno5",
            "grid.nx=400",
            "iteration.time_limit_s=0.02",
        ],
    );
    assert!(start.elapsed().as_secs_f64() < 2.0, "{:?}", start.elapsed());
    assert_refused(&o, "iteration.time_limit_s", &tmp.path().join("r"));
}

/// SIGINT and SIGTERM during a solve: exit 130 within a moment, the message says so, the
/// earlier result is byte-identical and no temporary is left.
#[cfg(unix)]
#[test]
fn a_signal_stops_the_solve_and_keeps_the_earlier_result() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("r");
    let o = solve_in(tmp.path(), "r", &["--quiet"], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let snapshot = |dir: &Path| {
        let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap())
            .map(|e| {
                let bytes = std::fs::read(e.path()).unwrap_or_default();
                (e.file_name().to_string_lossy().into_owned(), bytes)
            })
            .collect();
        files.sort();
        files
    };
    let before = snapshot(&dir);
    for signal in ["INT", "TERM"] {
        // WENO at nx = 3000 runs for minutes.
        let child = Command::new(env!("CARGO_BIN_EXE_mfg-cli"))
            .args(["solve", "--out", "r", "--set", "hjb.method=weno5"])
            .args(["--set", "grid.nx=3000"])
            .current_dir(tmp.path())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(700));
        let sent = std::time::Instant::now();
        let kill = Command::new("kill")
            .args([format!("-{signal}"), child.id().to_string()])
            .status()
            .unwrap();
        assert!(kill.success());
        let o = child.wait_with_output().unwrap();
        assert!(
            sent.elapsed().as_secs_f64() < 3.0,
            "SIG{signal}: stopped after {:?}",
            sent.elapsed()
        );
        assert_eq!(o.status.code(), Some(130), "SIG{signal}: {}", stderr(&o));
        assert!(stderr(&o).contains("interrupted"), "{}", stderr(&o));
        assert_eq!(
            snapshot(&dir),
            before,
            "SIG{signal} changed the earlier result"
        );
    }
}

#[test]
fn a_result_set_changes_as_one() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("r");
    let solve = |nx: usize, extra: &[&str]| {
        let nx = format!("grid.nx={nx}");
        let mut args = vec!["solve", "--quiet", "--out", "r", "--set", &nx];
        args.extend_from_slice(extra);
        let o = mfg(&args, tmp.path());
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    };
    // npy with pictures, then csv: the npy arrays and the old pictures go.
    solve(20, &["--plot"]);
    assert!(dir.join("density.png").exists());
    // A dead process's temporary is cleaned by the next commit.
    std::fs::write(dir.join(".u.npy.4000000.tmp"), b"junk").unwrap();
    solve(21, &["--format", "csv"]);
    for gone in [
        "u.npy",
        "m.npy",
        "x.npy",
        "t.npy",
        "density.png",
        ".u.npy.4000000.tmp",
    ] {
        assert!(
            !dir.join(gone).exists(),
            "{gone} left beside the csv result"
        );
    }
    let files = summary(&dir)["files"].clone();
    assert!(
        files.get("m.csv").is_some() && files.get("m.npy").is_none(),
        "{files}"
    );
    assert_eq!(mfg(&["plot", "r"], tmp.path()).status.code(), Some(0));
    // Concurrent solves into one directory (nx = 40 and 41): serialised commits, so the set is
    // always one run's; the readers check it against summary.json.
    for _ in 0..10 {
        let spawn = |nx: usize| {
            Command::new(env!("CARGO_BIN_EXE_mfg-cli"))
                .args([
                    "solve",
                    "--quiet",
                    "--out",
                    "r",
                    "--set",
                    &format!("grid.nx={nx}"),
                ])
                .current_dir(tmp.path())
                .spawn()
                .unwrap()
        };
        let (mut a, mut b) = (spawn(40), spawn(41));
        assert!(a.wait().unwrap().success() && b.wait().unwrap().success());
        let m: Array2<f64> = read_npy(dir.join("m.npy")).unwrap();
        let x: Array1<f64> = read_npy(dir.join("x.npy")).unwrap();
        assert_eq!(m.ncols(), x.len(), "m and x of two runs");
        assert_eq!(summary(&dir)["grid"]["nx_pts"], x.len());
        let o = mfg(&["plot", "r"], tmp.path());
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    }
    // A set mixed behind our back (as a kill in the middle of a commit leaves it): readers
    // refuse it instead of using it.
    std::fs::copy(tmp.path().join("r/m.npy"), tmp.path().join("m40.npy")).unwrap();
    solve(30, &[]);
    std::fs::copy(tmp.path().join("m40.npy"), dir.join("m.npy")).unwrap();
    let o = mfg(&["plot", "r"], tmp.path());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("two runs"), "{}", stderr(&o));
    let o = solve_in(
        tmp.path(),
        "w",
        &[],
        &["grid.nx=30", "iteration.warm_start=r"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

#[test]
fn the_memory_estimate_matches_the_peak_and_bounds_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    // Three sizes in 1D and in 2D, eight iterations each: Anderson's history (depth 5 in the
    // 2D preset) is full by then, and memory does not grow after it.
    let cases: [&[&str]; 6] = [
        &["grid.nx=2000", "grid.nt=50"],
        &["grid.nx=10000", "grid.nt=50"],
        &["grid.nx=40000", "grid.nt=20"],
        &["preset=crowd-2d", "grid.nx=30", "grid.ny=30"],
        &["preset=crowd-2d", "grid.nx=60", "grid.ny=60"],
        &["preset=crowd-2d", "grid.nx=99", "grid.ny=99"],
    ];
    for sets in cases {
        let mut args = vec![
            "solve",
            "--quiet",
            "--out",
            "r",
            "--set",
            "iteration.max_iterations=8",
        ];
        for s in sets {
            args.extend(["--set", s]);
        }
        let o = mfg(&args, tmp.path());
        assert!(
            matches!(o.status.code(), Some(0 | 3)),
            "{sets:?}: {}",
            stderr(&o)
        );
        let memory = summary(&tmp.path().join("r"))["memory"].clone();
        let estimate = memory["estimate_bytes"].as_f64().unwrap();
        let Some(peak) = memory["peak_rss_bytes"].as_f64() else {
            continue; // no /proc on this system
        };
        let ratio = estimate / peak;
        eprintln!("{sets:?}: estimate {estimate:.3e} B, peak {peak:.3e} B, ratio {ratio:.2}");
        assert!((0.7..=1.3).contains(&ratio), "{sets:?}: {ratio}");
    }
    // Over the limit: exit 2 naming --max-memory, nothing written.
    let o = mfg(
        &[
            "solve",
            "--out",
            "big",
            "--max-memory",
            "20M",
            "--set",
            "grid.nx=20000",
        ],
        tmp.path(),
    );
    assert_refused(&o, "--max-memory", &tmp.path().join("big"));
    assert!(stderr(&o).contains("GB"));
}

#[test]
fn a_warm_start_from_another_dimension_is_refused() {
    // 41 × 41 = 1681 points in 2D, and a 1D periodic grid of 1681 points: the same count.
    let tmp = tempfile::tempdir().unwrap();
    let o = solve_in(
        tmp.path(),
        "two",
        &["--quiet"],
        &[
            "preset=torus-2d",
            "grid.nx=41",
            "grid.ny=41",
            "grid.nt=10",
            "iteration.max_iterations=2",
        ],
    );
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let o = solve_in(
        tmp.path(),
        "one",
        &[],
        &[
            "grid.nx=1681",
            "grid.nt=10",
            "grid.boundary=periodic",
            "iteration.warm_start=two",
        ],
    );
    assert_refused(&o, "iteration.warm_start", &tmp.path().join("one"));
    assert!(stderr(&o).contains("[41, 41]"));
}

#[test]
fn particles_that_cannot_resolve_the_drift_refuse_instead_of_a_wrong_answer() {
    // g = 1000 (x − 0.9)²: the drift's rate near T is ~2000. At nt = 10 and 50 the particles
    // once converged to a mean of 0.32 where the answer is 0.90 (exit 0); now: exit 2 naming
    // grid.nt, at the first unresolved step, nothing written.
    let tmp = tempfile::tempdir().unwrap();
    for nt in [10, 50] {
        let start = std::time::Instant::now();
        let o = mfg(
            &[
                "solve",
                "--out",
                "r",
                "--set",
                "fp.method=particle",
                "--set",
                "model.terminal_cost=1000*(x-0.9)^2",
                "--set",
                &format!("grid.nt={nt}"),
            ],
            tmp.path(),
        );
        assert_refused(&o, "grid.nt", &tmp.path().join("r"));
        assert!(
            start.elapsed().as_secs_f64() < 10.0,
            "{:?}",
            start.elapsed()
        );
    }
}

#[test]
fn a_config_that_is_not_toml_exits_2() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("bad.toml"), "this is = = not toml").unwrap();
    let o = mfg(&["solve", "bad.toml", "--out", "r"], tmp.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("not valid TOML"), "{}", stderr(&o));
    assert!(!tmp.path().join("r").exists());
}

#[test]
fn an_unwritable_output_directory_exits_2() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("file"), "x").unwrap();
    let o = mfg(&["solve", "--out", "file/sub"], tmp.path());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--out"), "{}", stderr(&o));
}

#[test]
fn not_converging_exits_3_with_files_flagged() {
    let tmp = tempfile::tempdir().unwrap();
    let o = mfg(
        &["solve", "--out", "r", "--set", "iteration.max_iterations=3"],
        tmp.path(),
    );
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let s = summary(&tmp.path().join("r"));
    assert_eq!(s["converged"], false);
    assert_eq!(s["termination"], "max-iterations");
    assert_eq!(s["iterations"], 3);
}

#[test]
fn a_numerical_failure_exits_1_and_keeps_previous_results() {
    let tmp = tempfile::tempdir().unwrap();
    let ok = mfg(&["solve", "--out", "r", "--set", "grid.nx=20"], tmp.path());
    assert_eq!(ok.status.code(), Some(0));
    let before = std::fs::read(tmp.path().join("r/u.npy")).unwrap();
    // H = p²/(2λ) overflows for a vanishing control cost.
    let o = mfg(
        &["solve", "--out", "r", "--set", "model.control_cost=1e-308"],
        tmp.path(),
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("iteration"), "{}", stderr(&o));
    assert_eq!(std::fs::read(tmp.path().join("r/u.npy")).unwrap(), before);
    // A bad config does not touch them either.
    let o = mfg(&["solve", "--out", "r", "--set", "grid.nx=0"], tmp.path());
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(std::fs::read(tmp.path().join("r/u.npy")).unwrap(), before);
    // A failed run into a new directory leaves no directory behind.
    let o = mfg(
        &[
            "solve",
            "--out",
            "new/deep",
            "--set",
            "model.control_cost=1e-308",
        ],
        tmp.path(),
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        !tmp.path().join("new").exists(),
        "an empty output directory was left"
    );
}

/// Each Hamiltonian family from its preset, and its parameter warned about where another
/// family is chosen; the family and its parameters are in `summary.json`.
#[test]
fn the_hamiltonian_families_solve_from_their_presets_and_their_keys_are_checked() {
    let tmp = tempfile::tempdir().unwrap();
    for (preset, family, parameter) in [
        ("crowd-power", "power", "hamiltonian_exponent"),
        ("crowd-speed-limit", "bounded", "control_bound"),
    ] {
        let o = solve_in(
            tmp.path(),
            preset,
            &["--quiet"],
            &[&format!("preset={preset}")],
        );
        assert_eq!(o.status.code(), Some(0), "{preset}: {}", stderr(&o));
        let s = summary(&tmp.path().join(preset));
        let text = s.to_string();
        assert!(
            text.contains(family) && text.contains(parameter),
            "{preset}: {text}"
        );
        let m: Array2<f64> = read_npy(tmp.path().join(preset).join("m.npy")).unwrap();
        assert!(m.iter().all(|&v| v >= 0.0));
    }
    let o = solve_in(
        tmp.path(),
        "q",
        &[],
        &["model.hamiltonian_exponent=3", "model.control_bound=2"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains(
            "warning: model.hamiltonian_exponent is read only by model.hamiltonian = \"power\""
        ),
        "{err}"
    );
    assert!(
        err.contains(
            "warning: model.control_bound is read only by model.hamiltonian = \"bounded\""
        ),
        "{err}"
    );
}

/// Congestion from its preset (Newton, the 1D default, with the density factor's Jacobian
/// terms), and with α = 0 the quadratic Hamiltonian's files bit for bit.
#[test]
fn congestion_solves_from_its_preset_and_alpha_zero_is_the_quadratic() {
    let tmp = tempfile::tempdir().unwrap();
    let o = solve_in(
        tmp.path(),
        "c",
        &["--quiet"],
        &["preset=corridor-congestion"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let s = summary(&tmp.path().join("c"));
    assert_eq!(s["model"]["hamiltonian"]["name"], "congestion");
    assert!(
        s["solver"]["iteration"]["method"]
            .to_string()
            .contains("Newton"),
        "{s}"
    );
    let q = ["iteration.method=anderson"];
    let c0 = [
        "iteration.method=anderson",
        "model.hamiltonian=congestion",
        "model.congestion_exponent=0",
    ];
    for (out, sets) in [("q", &q[..]), ("c0", &c0[..])] {
        let o = solve_in(tmp.path(), out, &["--quiet"], sets);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    }
    for f in ["u.npy", "m.npy"] {
        let a = std::fs::read(tmp.path().join("q").join(f)).unwrap();
        let b = std::fs::read(tmp.path().join("c0").join(f)).unwrap();
        assert!(a == b, "{f} differs");
    }
}

/// Every HJB method and every FP method accepts every model family (congestion, which the
/// explicit schemes refuse with exit 2, aside): each pair solves a small
/// problem with the power and bounded Hamiltonians, the nonlocal coupling and a running-cost
/// expression (finite u, m ≥ 0, unit mass; converged, or exit 3 with the files flagged).
#[test]
fn every_method_accepts_every_model() {
    let tmp = tempfile::tempdir().unwrap();
    let models: [&[&str]; 4] = [
        &["model.hamiltonian=power", "model.hamiltonian_exponent=3"],
        &["model.hamiltonian=bounded", "model.control_bound=0.5"],
        &["model.coupling=nonlocal", "model.coupling_width=0.05"],
        &["model.running_cost=(x-0.8)^2*(1+t) + 0.3*m^2"],
    ];
    for model in models {
        for (hjb, fp) in [
            ("fdm", "fdm"),
            ("weno5", "fdm"),
            ("fdm", "particle"),
            ("weno5", "particle"),
        ] {
            let mut sets = vec![
                "grid.nx=40".to_string(),
                "grid.nt=20".into(),
                format!("hjb.method={hjb}"),
                format!("fp.method={fp}"),
                "iteration.max_iterations=60".into(),
                "iteration.tolerance=1e-6".into(),
            ];
            if fp == "particle" {
                sets.push("fp.particles=4000".into());
            }
            sets.extend(model.iter().map(|s| s.to_string()));
            let sets: Vec<&str> = sets.iter().map(String::as_str).collect();
            let o = solve_in(tmp.path(), "r", &["--quiet"], &sets);
            assert!(
                matches!(o.status.code(), Some(0) | Some(3)),
                "{model:?} {hjb}/{fp}: {}",
                stderr(&o)
            );
            let u: Array2<f64> = read_npy(tmp.path().join("r/u.npy")).unwrap();
            let m: Array2<f64> = read_npy(tmp.path().join("r/m.npy")).unwrap();
            assert!(u.iter().all(|v| v.is_finite()) && m.iter().all(|&v| v >= 0.0));
            let s = summary(&tmp.path().join("r"));
            let mass = s["mass_final"].as_f64().unwrap();
            assert!(
                (mass - 1.0).abs() < 1e-9,
                "{model:?} {hjb}/{fp}: mass {mass}"
            );
            eprintln!(
                "{model:?} {hjb}/{fp}: {} after {}",
                s["termination"], s["iterations"]
            );
        }
    }
}

/// `model.running_cost` written as the crowd preset's potential plus its linear coupling gives
/// the preset's files bit for bit (Newton's Jacobian takes the symbolic m-derivative); the
/// shortcut keys it replaces are warned about.
#[test]
fn a_running_cost_expression_reproduces_the_named_coupling_bit_for_bit() {
    let tmp = tempfile::tempdir().unwrap();
    let o = solve_in(tmp.path(), "named", &["--quiet"], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = solve_in(
        tmp.path(),
        "expr",
        &[],
        &["model.running_cost=0.5*exp(-50*(x-0.5)^2) + 0.3*m"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("warning: model.potential is not read when model.running_cost is set"),
        "{}",
        stderr(&o)
    );
    for f in ["u.npy", "m.npy"] {
        let a = std::fs::read(tmp.path().join("named").join(f)).unwrap();
        let b = std::fs::read(tmp.path().join("expr").join(f)).unwrap();
        assert!(a == b, "{f} differs");
    }
    let s = summary(&tmp.path().join("expr"));
    assert_eq!(s["model"]["running_cost"]["name"], "expression");
}

/// The nonlocal coupling from the command line: Newton (the 1D default) and Anderson reach the
/// same solution; 2D from its preset; its width warned about under another coupling.
#[test]
fn the_nonlocal_coupling_solves_by_newton_and_anderson_and_in_2d() {
    let tmp = tempfile::tempdir().unwrap();
    let sets = ["model.coupling=nonlocal", "model.coupling_width=0.05"];
    let o = solve_in(tmp.path(), "newton", &["--quiet"], &sets);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let s = summary(&tmp.path().join("newton"));
    assert!(s.to_string().contains("nonlocal"), "{s}");
    let mut with_anderson = sets.to_vec();
    with_anderson.push("iteration.method=anderson");
    let o = solve_in(tmp.path(), "anderson", &["--quiet"], &with_anderson);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let a: Array2<f64> = read_npy(tmp.path().join("newton/m.npy")).unwrap();
    let b: Array2<f64> = read_npy(tmp.path().join("anderson/m.npy")).unwrap();
    let diff = a
        .iter()
        .zip(&b)
        .fold(0.0_f64, |d, (x, y)| d.max((x - y).abs()));
    assert!(diff < 1e-6, "{diff}");
    let o = solve_in(
        tmp.path(),
        "torus",
        &["--quiet"],
        &[
            "preset=torus-nonlocal",
            "grid.nx=24",
            "grid.ny=24",
            "grid.nt=10",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = solve_in(tmp.path(), "w", &[], &["model.coupling_width=0.2"]);
    assert!(
        stderr(&o).contains(
            "warning: model.coupling_width is read only by model.coupling = \"nonlocal\""
        ),
        "{}",
        stderr(&o)
    );
}

#[test]
fn presets_are_listed_and_each_converges() {
    let tmp = tempfile::tempdir().unwrap();
    let o = mfg(&["presets"], tmp.path());
    assert_eq!(o.status.code(), Some(0));
    let text = String::from_utf8(o.stdout).unwrap();
    for name in ["crowd", "mfg-pde-tutorial", "lq-gaussian"] {
        assert!(text.contains(name), "{text}");
        let o = mfg(
            &[
                "solve",
                "--quiet",
                "--out",
                name,
                "--set",
                &format!("preset={name}"),
            ],
            tmp.path(),
        );
        assert_eq!(o.status.code(), Some(0), "{name}: {}", stderr(&o));
    }
}

#[test]
fn the_tutorial_preset_converges_to_1e_8_in_a_pinned_number_of_iterations() {
    let tmp = tempfile::tempdir().unwrap();
    let o = mfg(
        &[
            "solve",
            "--quiet",
            "--out",
            "r",
            "--set",
            "preset=mfg-pde-tutorial",
        ],
        tmp.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let s = summary(&tmp.path().join("r"));
    let last = s["history"].as_array().unwrap().last().unwrap().clone();
    assert!(last["residual_u"].as_f64().unwrap() < 1e-8);
    assert!(last["residual_m"].as_f64().unwrap() < 1e-8);
    // The 1D default is Newton: 10 evaluations (damped steps while the residual is above 0.15,
    // the game being attractive, then Newton); damped Picard takes 70.
    assert!(s["solver"]["iteration"]["method"]
        .as_str()
        .unwrap()
        .starts_with("Newton"));
    assert_eq!(s["iterations"], 10, "a change in behaviour: review it");
    let o = solve_in(
        tmp.path(),
        "p",
        &["--quiet"],
        &["preset=mfg-pde-tutorial", "iteration.method=\"picard\""],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        summary(&tmp.path().join("p"))["iterations"],
        70,
        "a change in behaviour: review it"
    );
}

#[test]
fn anderson_is_selected_by_depth_and_marked_in_the_history() {
    let tmp = tempfile::tempdir().unwrap();
    let o = solve_in(
        tmp.path(),
        "r",
        &["--quiet"],
        &["preset=mfg-pde-tutorial", "iteration.anderson_depth=5"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let s = summary(&tmp.path().join("r"));
    let steps: Vec<&str> = s["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["step"].as_str().unwrap())
        .collect();
    assert!(steps.contains(&"accelerated"), "{steps:?}");
    assert_eq!(*steps.last().unwrap(), "none");
    assert_eq!(s["solver"]["iteration"]["anderson_depth"], 5);
    assert!(s["iterations"].as_u64().unwrap() <= 23);
}

#[test]
fn stagnation_exits_3_and_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let o = mfg(
        &[
            "solve",
            "--out",
            "r",
            "--set",
            "iteration.damping=1",
            "--set",
            "iteration.method=\"picard\"",
            "--set",
            "iteration.continuation=\"off\"",
        ],
        tmp.path(),
    );
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains("stagnation"), "{}", stderr(&o));
    assert_eq!(summary(&tmp.path().join("r"))["termination"], "stagnation");
}

#[test]
fn a_failed_direct_solve_is_rescued_by_the_continuation_and_its_path_reported() {
    // crowd at sigma = 0.05: neither Anderson nor Newton converges from m0 (stagnation); the
    // homotopy from (sigma 0.5, no coupling) does, and summary.json shows its path.
    let tmp = tempfile::tempdir().unwrap();
    for method in ["anderson", "newton"] {
        let m = format!("iteration.method=\"{method}\"");
        let o = solve_in(tmp.path(), method, &["--quiet"], &["model.sigma=0.05", &m]);
        assert_eq!(o.status.code(), Some(0), "{method}: {}", stderr(&o));
        let s = summary(&tmp.path().join(method));
        assert_eq!(s["termination"], "converged");
        let path = s["continuation"].as_array().unwrap();
        assert!(path.len() >= 3, "{method}: {path:?}");
        assert_eq!(path[0]["lambda"], 1.0);
        assert_eq!(path[0]["outcome"], "stagnation");
        assert_eq!(path[1]["lambda"], 0.0);
        assert_eq!(path[1]["sigma"], 0.5);
        let last = path.last().unwrap();
        assert_eq!(last["lambda"], 1.0);
        assert_eq!(last["sigma"], 0.05);
        assert_eq!(last["outcome"], "converged");
    }
    // Off: the direct solve's stagnation is the answer.
    let o = solve_in(
        tmp.path(),
        "off",
        &["--quiet"],
        &["model.sigma=0.05", "iteration.continuation=\"off\""],
    );
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert_eq!(
        summary(&tmp.path().join("off"))["continuation"],
        serde_json::json!([])
    );
}

#[test]
fn weno_methods_solve_every_1d_preset() {
    let tmp = tempfile::tempdir().unwrap();
    for preset in ["crowd", "mfg-pde-tutorial", "lq-gaussian"] {
        for method in ["weno5", "weno-z", "weno-m"] {
            let o = mfg(
                &[
                    "solve",
                    "--quiet",
                    "--out",
                    "r",
                    "--set",
                    &format!("preset={preset}"),
                    "--set",
                    &format!("hjb.method={method}"),
                ],
                tmp.path(),
            );
            assert_eq!(
                o.status.code(),
                Some(0),
                "{preset} {method}: {}",
                stderr(&o)
            );
            let s = summary(&tmp.path().join("r"));
            assert_eq!(s["solver"]["hjb"]["method"], method);
            let u: Array2<f64> = read_npy(tmp.path().join("r/u.npy")).unwrap();
            assert!(u.iter().all(|v| v.is_finite()));
        }
    }
}

#[test]
fn particles_give_identical_files_for_one_and_two_threads() {
    let tmp = tempfile::tempdir().unwrap();
    // The default (1D) preset, and the periodic 2D preset on a coarser grid.
    let cases: [&[&str]; 2] = [
        &[],
        &["preset=torus-2d", "grid.nx=24", "grid.ny=24", "grid.nt=10"],
    ];
    for (case, extra) in cases.iter().enumerate() {
        let mut outputs = vec![];
        for threads in ["1", "2"] {
            let out = format!("r{case}-{threads}");
            let mut args = vec![
                "solve",
                "--quiet",
                "--out",
                &out,
                "--set",
                "fp.method=particle",
                "--set",
                "fp.particles=40000",
                "--set",
                "fp.seed=7",
                "--set",
                "iteration.max_iterations=5",
            ];
            for e in extra.iter() {
                args.extend(["--set", e]);
            }
            let o = Command::new(env!("CARGO_BIN_EXE_mfg-cli"))
                .args(&args)
                .env("RAYON_NUM_THREADS", threads)
                .current_dir(tmp.path())
                .output()
                .unwrap();
            assert!(matches!(o.status.code(), Some(0 | 3)), "{}", stderr(&o));
            outputs.push(std::fs::read(tmp.path().join(&out).join("m.npy")).unwrap());
        }
        assert_eq!(
            outputs[0], outputs[1],
            "case {case}: m.npy differs between 1 and 2 threads"
        );
        let s = summary(&tmp.path().join(format!("r{case}-1")));
        assert_eq!(s["solver"]["fp"]["method"], "particle");
        assert_eq!(s["solver"]["fp"]["seed"], 7);
        assert_eq!(s["grid"]["dim"], case + 1);
    }
}

fn is_png(path: &Path) -> bool {
    std::fs::read(path).is_ok_and(|b| b.len() > 10_000 && b.starts_with(b"\x89PNG\r\n\x1a\n"))
}

#[test]
fn solve_with_plot_and_the_plot_command_write_three_pictures() {
    let tmp = tempfile::tempdir().unwrap();
    let o = mfg(&["solve", "--quiet", "--out", "r", "--plot"], tmp.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for name in ["density.png", "value.png", "convergence.png"] {
        assert!(is_png(&tmp.path().join("r").join(name)), "{name}");
    }
    // `plot` on a CSV result redraws them from the files alone.
    let o = mfg(
        &[
            "solve",
            "--quiet",
            "--out",
            "c",
            "--format",
            "csv",
            "--set",
            "preset=lq-gaussian",
        ],
        tmp.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = mfg(&["plot", "c"], tmp.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(is_png(&tmp.path().join("c/density.png")));
    // Nothing temporary is left.
    for dir in ["r", "c"] {
        for e in std::fs::read_dir(tmp.path().join(dir)).unwrap() {
            let name = e.unwrap().file_name().into_string().unwrap();
            assert!(!name.contains(".tmp"), "left over {name}");
        }
    }
    // A directory without results is a clear error.
    let o = mfg(&["plot", "nowhere"], tmp.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("summary.json"), "{}", stderr(&o));
}

#[test]
fn csv_output_holds_the_same_numbers_as_npy() {
    let tmp = tempfile::tempdir().unwrap();
    for (dir, format) in [("n", "npy"), ("c", "csv")] {
        let o = mfg(
            &[
                "solve",
                "--quiet",
                "--out",
                dir,
                "--format",
                format,
                "--set",
                "grid.nx=30",
            ],
            tmp.path(),
        );
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    }
    let m: Array2<f64> = read_npy(tmp.path().join("n/m.npy")).unwrap();
    let text = std::fs::read_to_string(tmp.path().join("c/m.csv")).unwrap();
    let rows: Vec<Vec<f64>> = text
        .lines()
        .map(|l| l.split(',').map(|v| v.parse().unwrap()).collect())
        .collect();
    assert_eq!((rows.len(), rows[0].len()), (m.nrows(), m.ncols()));
    for (k, row) in rows.iter().enumerate() {
        for (i, v) in row.iter().enumerate() {
            assert_eq!(*v, m[[k, i]], "CSV must round-trip exactly");
        }
    }
    assert!(tmp.path().join("c/x.csv").exists() && tmp.path().join("c/t.csv").exists());
    assert!(!tmp.path().join("c/m.npy").exists());
}

#[test]
fn check_prints_the_resolved_config_or_exits_2() {
    let tmp = tempfile::tempdir().unwrap();
    let o = mfg(
        &[
            "check",
            "--set",
            "preset=lq-gaussian",
            "--set",
            "grid.nx=64",
        ],
        tmp.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let resolved: toml::Table = String::from_utf8(o.stdout).unwrap().parse().unwrap();
    assert_eq!(resolved["grid"]["nx"].as_integer(), Some(64));
    assert_eq!(resolved["preset"].as_str(), Some("lq-gaussian"));
    assert_eq!(resolved["iteration"]["damping"].as_float(), Some(0.5));
    // The resolved config solves to the same thing when fed back.
    std::fs::write(
        tmp.path().join("r.toml"),
        toml::to_string(&resolved).unwrap(),
    )
    .unwrap();
    let o = mfg(&["check", "r.toml"], tmp.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for bad in ["model.sigma=-1", "fp.method=particle", "hjb.cfl=3"] {
        let mut args = vec!["check", "--set", bad];
        if bad == "fp.method=particle" {
            args.extend(["--set", "fp.particles=0"]);
        }
        if bad == "hjb.cfl=3" {
            args.extend(["--set", "hjb.method=weno5"]);
        }
        let o = mfg(&args, tmp.path());
        assert_eq!(o.status.code(), Some(2), "{bad}: {}", stderr(&o));
    }
    assert!(
        !tmp.path().join("mfg-out").exists(),
        "check must not write results"
    );
}

#[test]
fn every_example_config_is_valid() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut count = 0;
    for e in std::fs::read_dir(&examples).unwrap() {
        let path = e.unwrap().path();
        if path.extension().is_some_and(|x| x == "toml") {
            let o = mfg(&["check", path.to_str().unwrap()], &examples);
            assert_eq!(
                o.status.code(),
                Some(0),
                "{}: {}",
                path.display(),
                stderr(&o)
            );
            count += 1;
        }
    }
    assert!(count >= 3, "at least three example configs");
}

#[test]
fn two_dimensional_solves_write_3d_arrays_y_and_snapshot_pictures() {
    let tmp = tempfile::tempdir().unwrap();
    let o = solve_in(
        tmp.path(),
        "r",
        &["--quiet", "--plot"],
        &["preset=torus-2d", "grid.nx=24", "grid.ny=20", "grid.nt=10"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let m: ndarray::Array3<f64> = read_npy(tmp.path().join("r/m.npy")).unwrap();
    let y: Array1<f64> = read_npy(tmp.path().join("r/y.npy")).unwrap();
    assert_eq!(m.shape(), &[11, 24, 20]);
    assert_eq!(y.len(), 20);
    let s = summary(&tmp.path().join("r"));
    assert_eq!(s["grid"]["dim"], 2);
    assert_eq!(s["grid"]["ny_pts"], 20);
    // The inner solvers' statistics in every history entry: Newton and BiCGSTAB iterations.
    for entry in s["history"].as_array().unwrap() {
        assert!(
            entry["hjb"]["newton_iterations"].as_u64().unwrap() > 0,
            "{entry}"
        );
        assert!(
            entry["hjb"]["linear_iterations"].as_u64().unwrap() > 0,
            "{entry}"
        );
        assert!(
            entry["fp"]["linear_iterations"].as_u64().unwrap() > 0,
            "{entry}"
        );
        assert!(entry["hjb"]["time_s"].as_f64().unwrap() > 0.0, "{entry}");
    }
    // Periodic: unit mass with weight dx dy on every level.
    let (dx, dy) = (1.0 / 24.0, 1.0 / 20.0);
    for k in 0..11 {
        let mass: f64 = m.index_axis(ndarray::Axis(0), k).sum() * dx * dy;
        assert!((mass - 1.0).abs() < 1e-12, "level {k}: {mass}");
    }
    for name in ["density.png", "value.png", "convergence.png"] {
        assert!(is_png(&tmp.path().join("r").join(name)), "{name}");
    }
}

#[test]
fn three_dimensional_solves_write_4d_arrays_z_and_mid_plane_pictures() {
    for (hjb, fp) in [("fdm", "fdm"), ("weno5", "fdm"), ("fdm", "particle")] {
        let method = format!("{hjb} + {fp}");
        let tmp = tempfile::tempdir().unwrap();
        let o = mfg(
            &[
                "solve",
                "--quiet",
                "--out",
                "r",
                "--plot",
                "--set",
                "preset=crowd-3d",
                "--set",
                &format!("hjb.method={hjb}"),
                "--set",
                &format!("fp.method={fp}"),
                "--set",
                "fp.particles=20000",
                "--set",
                "grid.nx=10",
                "--set",
                "grid.ny=9",
                "--set",
                "grid.nz=8",
                "--set",
                "grid.nt=8",
            ],
            tmp.path(),
        );
        assert_eq!(o.status.code(), Some(0), "{method}: {}", stderr(&o));
        let m: ndarray::Array4<f64> = read_npy(tmp.path().join("r/m.npy")).unwrap();
        let z: Array1<f64> = read_npy(tmp.path().join("r/z.npy")).unwrap();
        assert_eq!(m.shape(), &[9, 11, 10, 9]);
        assert_eq!(z.len(), 9);
        let s = summary(&tmp.path().join("r"));
        assert_eq!(s["grid"]["dim"], 3);
        assert_eq!(s["grid"]["nz_pts"], 9);
        // No-flux: unit mass with the trapezoid weights on every level.
        let trapezoid = |n: usize| -> Vec<f64> {
            let h = 1.0 / (n - 1) as f64;
            (0..n)
                .map(|i| if i == 0 || i + 1 == n { 0.5 * h } else { h })
                .collect()
        };
        let (wx, wy, wz) = (trapezoid(11), trapezoid(10), trapezoid(9));
        for k in 0..9 {
            let mut mass = 0.0;
            for ((i, j, l), v) in m.index_axis(ndarray::Axis(0), k).indexed_iter() {
                mass += v * wx[i] * wy[j] * wz[l];
            }
            assert!((mass - 1.0).abs() < 1e-12, "{method} level {k}: {mass}");
        }
        for name in ["density.png", "value.png", "convergence.png"] {
            assert!(is_png(&tmp.path().join("r").join(name)), "{name}");
        }
    }
}

#[test]
fn fine_legal_grids_converge_and_coupled_settings_never_panic() {
    // nx = 10000: the Newton residual's round-off exceeds 1e-11 (1 + |u|) there; it used to
    // exit 1 ("Newton did not converge").
    let tmp = tempfile::tempdir().unwrap();
    for preset in ["crowd", "mfg-pde-tutorial"] {
        let o = mfg(
            &[
                "solve",
                "--quiet",
                "--out",
                preset,
                "--set",
                &format!("preset={preset}"),
                "--set",
                "grid.nx=10000",
            ],
            tmp.path(),
        );
        assert_eq!(o.status.code(), Some(0), "{preset}: {}", stderr(&o));
        assert_eq!(summary(&tmp.path().join(preset))["converged"], true);
    }
    // inner_accuracy 0.5 with tolerance 0.01 used to panic (clamp with min > max).
    let o = solve_in(
        tmp.path(),
        "coarse",
        &["--quiet"],
        &["iteration.inner_accuracy=0.5", "iteration.tolerance=0.01"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn hostile_inputs_are_exit_2_not_a_hang_an_abort_or_a_huge_allocation() {
    let tmp = tempfile::tempdir().unwrap();
    // A device as the config file: read forever before; now refused (not a regular file).
    let o = mfg(&["solve", "/dev/zero", "--out", "r"], tmp.path());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("CONFIG"), "{}", stderr(&o));
    // An expression of 200 000 terms overflowed the stack (exit 134); the message is short.
    let long = format!(
        "[model]\npotential = \"{}\"\n",
        vec!["x"; 200_000].join("+")
    );
    std::fs::write(tmp.path().join("long.toml"), long).unwrap();
    let o = mfg(&["solve", "long.toml", "--out", "r"], tmp.path());
    assert!(
        stderr(&o).len() < 500,
        "a long message: {} bytes",
        stderr(&o).len()
    );
    assert_refused(&o, "model.potential", &tmp.path().join("r"));
    // An m.npy whose header claims 10^11 x 101 values: warm_start and plot refuse it.
    let o = mfg(&["solve", "--quiet", "--out", "ok"], tmp.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    forget_manifest(&tmp.path().join("ok"));
    let path = tmp.path().join("ok/m.npy");
    let mut header =
        "{'descr': '<f8', 'fortran_order': False, 'shape': (100000000000, 101), }".to_string();
    while !(10 + header.len() + 1).is_multiple_of(64) {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(&[0u8; 8 * 101]);
    std::fs::write(&path, &out).unwrap();
    let o = mfg(
        &["solve", "--out", "r2", "--set", "iteration.warm_start=ok"],
        tmp.path(),
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("iteration.warm_start"),
        "{}",
        stderr(&o)
    );
    let o = mfg(&["plot", "ok"], tmp.path());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

#[test]
fn warm_start_from_an_earlier_output_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let run = |out: &str, extra: &[&str]| {
        let mut args = vec!["solve", "--quiet", "--out", out];
        args.extend_from_slice(&["--set", "iteration.anderson_depth=5"]);
        for e in extra {
            args.extend_from_slice(&["--set", e]);
        }
        mfg(&args, tmp.path())
    };
    // Continuation in the coupling strength: 0.2 cold, then 0.3 from its density and cold.
    assert_eq!(
        run("c2", &["model.coupling_strength=0.2"]).status.code(),
        Some(0)
    );
    let o = run(
        "warm",
        &["model.coupling_strength=0.3", "iteration.warm_start=c2"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        run("cold", &["model.coupling_strength=0.3"]).status.code(),
        Some(0)
    );
    let (warm, cold) = (
        summary(&tmp.path().join("warm")),
        summary(&tmp.path().join("cold")),
    );
    assert_eq!(warm["solver"]["iteration"]["warm_start"], "c2");
    let its = |s: &serde_json::Value| s["iterations"].as_u64().unwrap();
    assert!(
        its(&warm) < its(&cold),
        "warm {} cold {}",
        its(&warm),
        its(&cold)
    );
    let mw: Array2<f64> = read_npy(tmp.path().join("warm/m.npy")).unwrap();
    let mc: Array2<f64> = read_npy(tmp.path().join("cold/m.npy")).unwrap();
    let diff = (&mw - &mc).mapv(|v| v * v).sum().sqrt() / mc.mapv(|v| v * v).sum().sqrt();
    assert!(diff < 1e-6, "warm and cold solutions differ by {diff}");
    let toml = std::fs::read_to_string(tmp.path().join("warm/config.toml")).unwrap();
    assert!(toml.contains("warm_start = \"c2\""), "{toml}");

    // Another grid, or no earlier solve: exit 2 naming the key, nothing written.
    for (out, bad) in [("g", "grid.nx=50"), ("h", "grid.nt=20")] {
        let o = run(out, &[bad, "iteration.warm_start=c2"]);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(
            stderr(&o).contains("iteration.warm_start"),
            "{}",
            stderr(&o)
        );
        assert!(stderr(&o).contains("shape"), "{}", stderr(&o));
        assert!(!tmp.path().join(out).join("m.npy").exists());
    }
    let o = run("n", &["iteration.warm_start=nowhere"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("iteration.warm_start"),
        "{}",
        stderr(&o)
    );
    assert!(!tmp.path().join("n").join("m.npy").exists());
}

#[test]
fn newton_is_chosen_by_key_and_refuses_schemes_it_cannot_differentiate() {
    let tmp = tempfile::tempdir().unwrap();
    let o = solve_in(
        tmp.path(),
        "r",
        &["--quiet"],
        &["iteration.method=\"newton\""],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let s = summary(&tmp.path().join("r"));
    assert!(
        s["solver"]["iteration"]["method"]
            .as_str()
            .unwrap()
            .starts_with("Newton"),
        "{}",
        s["solver"]["iteration"]
    );
    let history = s["history"].as_array().unwrap();
    assert!(history.iter().any(|h| h["step"] == "newton"));
    assert!(history
        .iter()
        .any(|h| h["krylov_iterations"].as_u64().unwrap() > 0));
    for (set, key) in [
        ("hjb.method=\"weno5\"", "hjb.method"),
        ("fp.method=\"particle\"", "fp.method"),
    ] {
        let out = tmp.path().join("bad");
        let o = solve_in(
            tmp.path(),
            "bad",
            &["--quiet"],
            &["iteration.method=\"newton\"", set],
        );
        assert_refused(&o, key, &out);
        assert!(stderr(&o).contains("iteration.method"), "{}", stderr(&o));
    }
    let o = solve_in(
        tmp.path(),
        "bad",
        &["--quiet"],
        &["iteration.method=\"secant\""],
    );
    assert_refused(&o, "iteration.method", &tmp.path().join("bad"));
}

#[test]
fn a_stationary_problem_writes_spatial_fields_and_the_ergodic_constant() {
    let tmp = tempfile::tempdir().unwrap();
    let o = solve_in(
        tmp.path(),
        "r",
        &["--quiet", "--plot"],
        &["preset=stationary-crowd"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let dir = tmp.path().join("r");
    let s = summary(&dir);
    assert_eq!(s["problem"], "stationary");
    assert_eq!(s["termination"], "converged");
    let lambda = s["ergodic_constant"].as_f64().unwrap();
    assert!(lambda.is_finite());
    assert!((s["mass"].as_f64().unwrap() - 1.0).abs() < 1e-12);
    let u: ndarray::Array1<f64> = read_npy(dir.join("u.npy")).unwrap();
    let m: ndarray::Array1<f64> = read_npy(dir.join("m.npy")).unwrap();
    let x: Array1<f64> = read_npy(dir.join("x.npy")).unwrap();
    assert_eq!((u.len(), m.len()), (x.len(), x.len()));
    assert!(m.iter().all(|&v| v >= 0.0));
    assert!(!dir.join("t.npy").exists());
    for png in ["density.png", "value.png", "convergence.png"] {
        assert!(dir.join(png).exists(), "{png}");
    }
    // The preset is symmetric about x = 1/2: so is its solution.
    let n = m.len();
    for i in 0..n {
        assert!((m[i] - m[n - 1 - i]).abs() < 1e-8, "asymmetric at {i}");
    }
    // 2D periodic with the exact solution: the fields have the grid's shape, and lambda is
    // -2 ln I0(1) up to the scheme's first-order error (0.31 at 32², 0.17 at 64²).
    let o = solve_in(
        tmp.path(),
        "t",
        &["--quiet"],
        &["preset=stationary-torus", "grid.nx=32", "grid.ny=32"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let s = summary(&tmp.path().join("t"));
    let exact = -2.0 * 1.266_065_877_752_008_f64.ln();
    let lambda = s["ergodic_constant"].as_f64().unwrap();
    assert!((lambda - exact).abs() < 0.35, "{lambda} vs {exact}");
    let m: ndarray::Array2<f64> = read_npy(tmp.path().join("t/m.npy")).unwrap();
    assert_eq!(m.shape(), &[32, 32]);
    // Methods it cannot use, and keys it does not read.
    let o = solve_in(
        tmp.path(),
        "bad",
        &["--quiet"],
        &["preset=stationary-crowd", "hjb.method=\"weno5\""],
    );
    assert_refused(&o, "hjb.method", &tmp.path().join("bad"));
    let o = solve_in(
        tmp.path(),
        "w",
        &["--quiet"],
        &["preset=stationary-crowd", "grid.nt=80"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("grid.nt is not read"), "{}", stderr(&o));
}

/// Exits and obstacles from the command line: the presets solve, `summary.json` holds the
/// exited mass per level and the evacuation times, the files balance (in the domain from
/// `m.npy` + exited = 1 on every level), `geometry.npy` marks the points, and every bad
/// geometry key exits 2 naming it.
#[test]
fn exits_and_obstacles_solve_from_their_presets_and_their_keys_are_checked() {
    let tmp = tempfile::tempdir().unwrap();
    for (preset, sets) in [
        ("exit-1d", &[][..]),
        (
            "exit-1d",
            &[
                "iteration.method=anderson",
                "fp.method=particle",
                "iteration.tolerance=1e-4",
                "fp.particles=20000",
            ][..],
        ),
        (
            "evacuation-2d",
            &["grid.nx=39", "grid.ny=39", "grid.nt=20"][..],
        ),
    ] {
        let mut all = vec![format!("preset={preset}")];
        all.extend(sets.iter().map(|s| s.to_string()));
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        let o = solve_in(tmp.path(), preset, &["--quiet"], &all);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{preset} {sets:?}: {}",
            stderr(&o)
        );
        let dir = tmp.path().join(preset);
        let s = summary(&dir);
        let exited: Vec<f64> = s["mass_exited"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        let m: ndarray::ArrayD<f64> = read_npy(dir.join("m.npy")).unwrap();
        let geometry: ndarray::ArrayD<f64> = read_npy(dir.join("geometry.npy")).unwrap();
        assert_eq!(geometry.shape(), &m.shape()[1..]);
        let levels = m.shape()[0];
        assert_eq!(exited.len(), levels);
        // The quadrature weights of the grid with its geometry, from the library.
        let config =
            mfg_cli::config::resolve(None, &all.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                .unwrap();
        let problem = config.problem().unwrap();
        let w = problem.grid().weights();
        let flat = m.into_shape_with_order((levels, w.len())).unwrap();
        for (k, row) in flat.rows().into_iter().enumerate() {
            let inside: f64 = row.iter().zip(w).map(|(a, b)| a * b).sum();
            assert!(
                (inside + exited[k] - 1.0).abs() < 1e-12,
                "{preset} level {k}"
            );
            assert!(row.iter().all(|v| *v >= 0.0));
        }
        assert!(exited[levels - 1] > 0.9, "{preset}: {exited:?}");
        let t50 = s["evacuation"]["t_50"].as_f64().unwrap();
        let t90 = s["evacuation"]["t_90"].as_f64().unwrap();
        assert!(t50 > 0.0 && t50 < t90, "{s}");
        let codes: Vec<f64> = geometry.iter().copied().collect();
        assert!(codes.contains(&1.0));
        assert_eq!(codes.contains(&2.0), preset == "evacuation-2d");
    }
    // Pictures: the obstacle and doors on the snapshots, the exited mass, the animation (a
    // GIF with one frame per level), from `solve --animate` and from `plot --animate`.
    let o = solve_in(
        tmp.path(),
        "pictures",
        &["--quiet", "--animate"],
        &[
            "preset=evacuation-2d",
            "grid.nx=29",
            "grid.ny=29",
            "grid.nt=10",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let pictures = tmp.path().join("pictures");
    for name in ["density.png", "value.png", "convergence.png", "exited.png"] {
        assert!(is_png(&pictures.join(name)), "{name}");
    }
    let gif = std::fs::read(pictures.join("density.gif")).unwrap();
    assert!(gif.starts_with(b"GIF89a"), "not a GIF");
    // One image descriptor (0x2C after a graphic control extension) per level, at least.
    let frames = gif.windows(2).filter(|w| w == &[0x00, 0x2C]).count();
    assert!(frames >= 11, "{frames} frames");
    let o = mfg(&["plot", "--animate", "exit-1d"], tmp.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(std::fs::read(tmp.path().join("exit-1d/density.gif"))
        .unwrap()
        .starts_with(b"GIF89a"));
    assert!(is_png(&tmp.path().join("exit-1d/exited.png")));
    let refused: &[(&[&str], &str)] = &[
        (&["preset=exit-1d", "grid.y_max=exit"], "grid.y_max"),
        (&["preset=exit-1d", "grid.x_min=periodic"], "grid.x_min"),
        (&["preset=torus-2d", "grid.x_max=exit"], "grid.x_max"),
        (
            &[
                "preset=crowd",
                "grid.boundary=periodic",
                "geometry.obstacle=x-0.5",
            ],
            "geometry.obstacle",
        ),
        (&["preset=crowd-2d", "grid.y_max=periodic"], "grid.y_max"),
        (&["preset=exit-1d", "hjb.method=weno5"], "hjb.method"),
        (&["preset=exit-1d", "problem=stationary"], "problem"),
        (
            &["preset=evacuation-2d", "geometry.exit=[[2.0, 3.0]]"],
            "geometry.exit",
        ),
        (
            &["preset=evacuation-2d", "geometry.exit=[[0.5]]"],
            "geometry.exit",
        ),
        (
            &["preset=exit-1d", "geometry.exit=[[0.1, 0.2]]"],
            "geometry.exit",
        ),
        (
            &["preset=exit-1d", "geometry.exit_cost=log(x-2)"],
            "geometry.exit_cost",
        ),
        (
            &["preset=evacuation-2d", "geometry.obstacle=1"],
            "geometry.obstacle",
        ),
        (
            &["preset=evacuation-2d", "geometry.obstacle=foo"],
            "geometry.obstacle",
        ),
        (&["preset=exit-1d", "grid.x_max=door"], "grid.x_max"),
    ];
    for (sets, key) in refused {
        let out = tmp.path().join("refused");
        let o = solve_in(tmp.path(), "refused", &["--quiet"], sets);
        assert_refused(&o, key, &out);
    }
    // A channel: periodic in x (the torus's faces), a wall at y = 0 and an exit at y = 1.
    let o = solve_in(
        tmp.path(),
        "channel",
        &["--quiet"],
        &[
            "preset=torus-2d",
            "grid.nx=30",
            "grid.ny=30",
            "grid.y_min=no-flux",
            "grid.y_max=exit",
            "model.potential=1",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let s = summary(&tmp.path().join("channel"));
    assert_eq!(
        s["grid"]["walls"],
        serde_json::json!(["periodic", "no-flux"])
    );
    assert_eq!(s["grid"]["boundary"], "mixed");
    assert_eq!(s["geometry"]["exit_points"], 30);
    let last = s["grid"]["nt"].as_u64().unwrap() as usize;
    assert!(s["mass_exited"][last].as_f64().unwrap() > 0.1, "{s}");
    // A Dirichlet face: u takes the given value there at every time.
    let o = solve_in(
        tmp.path(),
        "dirichlet",
        &["--quiet"],
        &[
            "preset=exit-1d",
            "grid.x_max=dirichlet",
            "geometry.dirichlet=0.5",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let u: Array2<f64> = read_npy(tmp.path().join("dirichlet/u.npy")).unwrap();
    assert!(u.column(u.ncols() - 1).iter().all(|v| *v == 0.5));
}

/// `iteration.coarse_start`: `on` solves the grid with half the intervals first (reported in
/// summary.json), `auto` does on large 3D grids only, a bad value exits 2 naming the key.
#[test]
fn the_coarse_start_is_a_key_and_is_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let sets = [
        "preset=crowd-2d",
        "grid.nx=128",
        "grid.ny=128",
        "grid.nt=10",
        "iteration.coarse_start=on",
    ];
    let o = solve_in(tmp.path(), "nested", &["--quiet"], &sets);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let s = summary(&tmp.path().join("nested"));
    assert_eq!(s["coarse_start"][0]["shape"], serde_json::json!([65, 65]));
    assert_eq!(s["coarse_start"][0]["outcome"], "converged");
    let o = solve_in(tmp.path(), "auto", &["--quiet"], &["preset=crowd-3d"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        summary(&tmp.path().join("auto"))["coarse_start"],
        serde_json::json!([])
    );
    let out = tmp.path().join("bad");
    let o = solve_in(
        tmp.path(),
        "bad",
        &["--quiet"],
        &["iteration.coarse_start=maybe"],
    );
    assert_refused(&o, "iteration.coarse_start", &out);
    let config = mfg_cli::config::resolve(
        None,
        &["preset=crowd-3d", "grid.nx=63", "grid.ny=63", "grid.nz=63"].map(String::from),
    )
    .unwrap();
    assert!(config.coarse_start(), "auto: on for 64^3");
}
