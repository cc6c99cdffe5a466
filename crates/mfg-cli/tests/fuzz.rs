//! Property tests of the config and expression parsers and of the result readers (`.npy` and
//! CSV as `warm_start` and `plot` read them): at least 100 000 generated inputs each,
//! no panic, and every rejection a typed error (a `CliError::Config`, exit code 2, naming a key;
//! an `ExprError` with a position).

use mfg_cli::config::{resolve_text, Config};
use mfg_cli::expr::Expr;
use mfg_cli::CliError;

/// xorshift64*: deterministic, no dependency.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
}

const EXPR_TOKENS: &[&str] = &[
    "x", "y", "pi", "e", "1", "0", "2.5", "1e-3", "1e309", ".5", "7.", "+", "-", "*", "/", "^",
    "(", ")", ",", " ", "sin(", "cos(", "exp(", "ln(", "sqrt(", "abs(", "tanh(", "tan(", "min(",
    "max(", "foo(", "$", "é", "∞", "nan", "inf", "xx", "2x", "--", "^^", "e1", "1e", "()",
];

fn random_expr(g: &mut Gen) -> String {
    let len = 1 + g.below(24);
    (0..len).map(|_| g.pick(EXPR_TOKENS)).collect()
}

#[test]
fn expressions_never_panic_and_rejections_are_typed() {
    let mut g = Gen(0x9E37_79B9_7F4A_7C15);
    let (mut accepted, mut rejected) = (0, 0);
    for _ in 0..150_000 {
        let text = random_expr(&mut g);
        match Expr::parse(&text, &["x", "y"]) {
            Ok(e) => {
                accepted += 1;
                // Evaluation never panics (non-finite values are the caller's check).
                let _ = e.eval(&[0.3, -1.7]);
                let _ = e.eval(&[0.0, 0.0]);
            }
            Err(err) => {
                rejected += 1;
                assert!(!err.to_string().is_empty());
            }
        }
    }
    eprintln!("expressions: {accepted} accepted, {rejected} rejected");
    assert!(
        accepted > 1_000 && rejected > 1_000,
        "the generator explores both sides"
    );
}

const KEYS: &[&str] = &[
    "preset",
    "grid.x",
    "grid.nx",
    "grid.y",
    "grid.ny",
    "grid.t_final",
    "grid.nt",
    "grid.boundary",
    "model.sigma",
    "model.control_cost",
    "model.potential",
    "model.coupling",
    "model.coupling_strength",
    "model.coupling_power",
    "model.terminal_cost",
    "model.initial_density",
    "hjb.method",
    "hjb.cfl",
    "hjb.hamiltonian",
    "fp.method",
    "fp.particles",
    "fp.seed",
    "fp.bandwidth",
    "iteration.max_iterations",
    "iteration.tolerance",
    "iteration.damping",
    "iteration.anderson_depth",
    "iteration.time_limit_s",
    "grid.nxx",
    "model",
    "bogus",
    "iteration.damping.deep",
];

const VALUES: &[&str] = &[
    "0",
    "1",
    "2",
    "-1",
    "3",
    "64",
    "1000000000000",
    "-9223372036854775808",
    "0.5",
    "-0.5",
    "1e-8",
    "1e308",
    "nan",
    "inf",
    "-inf",
    "-0.0",
    "true",
    "\"\"",
    "\"x\"",
    "\"(x-0.5)^2\"",
    "\"exp(-50*(x-0.5)^2)\"",
    "\"foo(x)\"",
    "\"x-0.5\"",
    "\"sqrt(x-2)\"",
    "\"no-flux\"",
    "\"periodic\"",
    "\"fdm\"",
    "\"weno5\"",
    "\"weno-z\"",
    "\"particle\"",
    "\"linear\"",
    "\"log\"",
    "\"power\"",
    "\"none\"",
    "\"silverman\"",
    "\"scott\"",
    "\"crowd\"",
    "\"lq-gaussian\"",
    "\"mfg-pde-tutorial\"",
    "\"nope\"",
    "[0.0, 1.0]",
    "[1.0, 0.0]",
    "[0, 1, 2]",
    "[]",
    "{ a = 1 }",
    "\"godunov\"",
    "\"lax-friedrichs\"",
    "[\"a\"]",
    "0.01",
];

fn random_config(g: &mut Gen) -> (String, Vec<String>) {
    let mut text = String::new();
    let mut sections: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
    for _ in 0..g.below(8) {
        let key = g.pick(KEYS);
        let value = g.pick(VALUES);
        match key.split_once('.') {
            Some((section, rest)) => sections
                .entry(section)
                .or_default()
                .push(format!("{rest} = {value}")),
            None => text.push_str(&format!("{key} = {value}\n")),
        }
    }
    for (section, lines) in sections {
        text.push_str(&format!("[{section}]\n"));
        for l in lines {
            text.push_str(&l);
            text.push('\n');
        }
    }
    if g.below(20) == 0 {
        // Sometimes not TOML at all.
        let at = g.below(text.len() + 1);
        text.insert_str(at, g.pick(&["= =", "[[", "\"", "\u{0}", "]"]));
    }
    let sets = (0..g.below(3))
        .map(|_| match g.below(10) {
            0 => g.pick(&["noequals", "=1", "a..b=1", ".=2"]).to_owned(),
            _ => format!("{}={}", g.pick(KEYS), g.pick(VALUES).trim_matches('"')),
        })
        .collect();
    (text, sets)
}

/// Build everything a solve would build, on grids small enough to sample quickly.
fn check(c: &Config) -> Result<(), CliError> {
    if c.grid.nx <= 2_000 && c.grid.nt <= 2_000 && c.grid.ny.unwrap_or(0) <= 2_000 {
        c.validate_all()
    } else {
        Ok(())
    }
}

#[test]
fn configs_never_panic_and_rejections_name_a_key() {
    let mut g = Gen(0x2545_F491_4F6C_DD1D);
    let (mut accepted, mut rejected) = (0, 0);
    for _ in 0..100_000 {
        let (text, sets) = random_config(&mut g);
        match resolve_text(Some(("fuzz.toml", &text)), &sets).and_then(|c| check(&c)) {
            Ok(()) => accepted += 1,
            Err(CliError::Config { key, message }) => {
                rejected += 1;
                assert!(!key.is_empty() && !message.is_empty(), "{text}");
            }
            Err(other) => panic!("untyped rejection {other:?} for\n{text}\n{sets:?}"),
        }
    }
    eprintln!("configs: {accepted} accepted, {rejected} rejected");
    assert!(
        accepted > 1_000 && rejected > 10_000,
        "the generator explores both sides"
    );
}

#[test]
fn grids_too_large_to_allocate_are_rejected_before_allocating() {
    let c = resolve_text(None, &["grid.nx=100000000".into(), "grid.nt=100000".into()]).unwrap();
    match c.problem() {
        Err(CliError::Config { key, .. }) => assert_eq!(key, "grid.nx"),
        other => panic!("{other:?}"),
    }
    let c = resolve_text(
        None,
        &[
            "fp.method=particle".into(),
            "fp.particles=1000000000000".into(),
        ],
    );
    assert!(matches!(c, Err(CliError::Config { key, .. }) if key == "fp.particles"));
}

/// A random `.npy` file: mostly well-formed headers with wrong shapes, types, orders or data
/// lengths, sometimes garbage.
fn random_npy(g: &mut Gen) -> Vec<u8> {
    if g.below(10) == 0 {
        return (0..g.below(200)).map(|_| g.next() as u8).collect();
    }
    let dims = [
        "0",
        "1",
        "3",
        "21",
        "100000000000",
        "-1",
        "18446744073709551615",
        "2.5",
        "",
    ];
    let shape: Vec<&str> = (0..g.below(4)).map(|_| g.pick(&dims)).collect();
    let descr = g.pick(&["<f8", "<f8", "<f8", "<f4", "|u1", ">f8", "<c16"]);
    let order = g.pick(&["False", "False", "True"]);
    let mut header = format!(
        "{{'descr': '{descr}', 'fortran_order': {order}, 'shape': ({}{}), }}",
        shape.join(", "),
        if shape.len() == 1 { "," } else { "" }
    );
    if g.below(20) == 0 {
        header.truncate(g.below(header.len() + 1));
    }
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    let len = if g.below(20) == 0 {
        g.below(70_000)
    } else {
        header.len()
    };
    out.extend_from_slice(&(len as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    // Data: the right length for 3 × 21 values, or something else.
    let values = match g.below(4) {
        0 => 63,
        1 => 21,
        2 => g.below(200),
        _ => 0,
    };
    out.extend((0..values * 8).map(|_| g.next() as u8));
    out
}

/// A random CSV: numbers, non-numbers, ragged rows, empty lines.
fn random_csv(g: &mut Gen) -> String {
    let cells = [
        "1", "-2.5e-3", "nan", "inf", "1e309", "x", "", " ", "3,", "0x1",
    ];
    (0..g.below(6))
        .map(|_| {
            (0..g.below(5))
                .map(|_| g.pick(&cells))
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn result_readers_never_panic_on_npy_and_csv_inputs() {
    use mfg_cli::output::{read_1d, read_2d};
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // A summary without a manifest: the files are read as they are.
    std::fs::write(dir.join("summary.json"), r#"{"grid": {"dim": 1}}"#).unwrap();
    let (mut ok, mut refused) = (0, 0);
    let mut g = Gen(0x9E37_79B9_7F4A_7C15);
    for case in 0..100_000 {
        let csv = case % 4 == 3;
        for name in ["m", "x"] {
            let _ = std::fs::remove_file(dir.join(format!("{name}.npy")));
            let _ = std::fs::remove_file(dir.join(format!("{name}.csv")));
            if csv {
                std::fs::write(dir.join(format!("{name}.csv")), random_csv(&mut g)).unwrap();
            } else {
                std::fs::write(dir.join(format!("{name}.npy")), random_npy(&mut g)).unwrap();
            }
        }
        for result in [read_2d(dir, "m").map(|_| ()), read_1d(dir, "x").map(|_| ())] {
            match result {
                Ok(()) => ok += 1,
                Err(message) => {
                    refused += 1;
                    assert!(!message.is_empty());
                }
            }
        }
    }
    eprintln!("result files: {ok} read, {refused} refused");
    assert!(
        ok > 1_000 && refused > 10_000,
        "the generator explores both sides"
    );
}
