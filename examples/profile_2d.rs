//! Per-iteration cost of the 2D FDM solvers on `crowd-2d`: Newton and linear iterations and
//! milliseconds of every HJB and FP call inside the coupling iteration.
//!
//! Run with `cargo run --release --example profile_2d [-- --ilu0|--adi|--jacobi|--multigrid] [--set key=value ...]`.

use std::time::Instant;

use mfg_rs::core::PreconditionerKind;
use mfg_rs::core::{
    FixedPointIterator, FpSolver, FpStats, HjbSolver, HjbStats, Problem, SolveError,
};
use mfg_rs::fp::FdmFp;
use mfg_rs::hjb::FdmHjb;
use ndarray::{ArrayView2, ArrayViewMut2};

struct Timed<S>(S);

impl<S: HjbSolver> HjbSolver for Timed<S> {
    fn name(&self) -> &'static str {
        self.0.name()
    }
    fn set_accuracy(&mut self, relative: f64) {
        self.0.set_accuracy(relative);
    }
    fn solve_into(
        &mut self,
        p: &Problem,
        m: ArrayView2<'_, f64>,
        u: ArrayViewMut2<'_, f64>,
    ) -> Result<HjbStats, SolveError> {
        let t = Instant::now();
        let s = self.0.solve_into(p, m, u)?;
        println!(
            "  hjb {:7.1} ms  newton {:4}  linear {:5}",
            1e3 * t.elapsed().as_secs_f64(),
            s.newton_iterations,
            s.linear_iterations
        );
        Ok(s)
    }
}

impl<S: FpSolver> FpSolver for Timed<S> {
    fn name(&self) -> &'static str {
        self.0.name()
    }
    fn set_accuracy(&mut self, relative: f64) {
        self.0.set_accuracy(relative);
    }
    fn solve_into(
        &mut self,
        p: &Problem,
        u: ArrayView2<'_, f64>,
        m: ArrayViewMut2<'_, f64>,
    ) -> Result<FpStats, SolveError> {
        let t = Instant::now();
        let s = self.0.solve_into(p, u, m)?;
        println!(
            "  fp  {:7.1} ms  linear {:5}",
            1e3 * t.elapsed().as_secs_f64(),
            s.linear_iterations
        );
        Ok(s)
    }
}

fn main() {
    let mut sets = vec!["preset=crowd-2d".to_string()];
    let mut pc = None; // the solvers' default for the walls
    for a in std::env::args().skip(1).filter(|a| a != "--set") {
        match a.as_str() {
            "--ilu0" => pc = Some(PreconditionerKind::Ilu0),
            "--adi" => pc = Some(PreconditionerKind::Adi),
            "--jacobi" => pc = Some(PreconditionerKind::Jacobi),
            "--multigrid" => pc = Some(PreconditionerKind::Multigrid),
            _ => sets.push(a),
        }
    }
    let config = mfg_cli::config::resolve(None, &sets).expect("config");
    let p = config.problem().expect("problem");
    let settings = config.settings().expect("settings");
    // On a pool's thread, as the CLI solves: the kernels' forks then stay inside the pool.
    let pool = rayon::ThreadPoolBuilder::new()
        .build()
        .expect("a thread pool");
    let sol = pool.install(|| {
        FixedPointIterator::new(settings)
            .unwrap()
            .solve(
                &p,
                &mut Timed(match pc {
                    Some(pc) => FdmHjb::default().with_preconditioner(pc),
                    None => FdmHjb::default(),
                }),
                &mut Timed(match pc {
                    Some(pc) => FdmFp::new().with_preconditioner(pc),
                    None => FdmFp::new(),
                }),
            )
            .expect("solve")
    });
    println!(
        "{} iterations ({}), total {:.2} s (hjb {:.2}, fp {:.2})",
        sol.iterations(),
        sol.termination.name(),
        sol.timings.total,
        sol.timings.hjb,
        sol.timings.fp
    );
}
