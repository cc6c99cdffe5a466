//! Property tests of the config and expression parsers: at least 100 000 generated inputs each,
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
