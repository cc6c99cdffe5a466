//! The iteration's deadline and cancel flag, with toy solvers.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use ndarray::{Array2, ArrayView2};

use crate::error::{MfgError, SolveError};
use crate::grid::{Boundary, Grid};
use crate::model::problem::Problem;
use crate::solver::{FpSolver, HjbSolver, Stop};
use crate::{FixedPointIterator, IterationSettings, TerminationReason};

/// A toy HJB solver (u = m) that runs out of time on its `fail_at`-th call, and a toy FP
/// solver Φ(m) = (m + m0)/2 (a contraction to m0).
struct Toy {
    calls: usize,
    fail_at: usize,
}

/// A toy HJB solver (u = m) that sets `flag` on its `cancel_at`-th call and then checks
/// the [`Stop`] the iteration handed it, as a real solver's time loop does.
struct Cancelling {
    calls: usize,
    cancel_at: usize,
    flag: Arc<AtomicBool>,
    stop: Stop,
}

impl HjbSolver for Cancelling {
    fn name(&self) -> &'static str {
        "cancelling"
    }
    fn set_stop(&mut self, stop: Stop) {
        self.stop = stop;
    }
    fn solve_into(
        &mut self,
        _: &Problem,
        m: ArrayView2<f64>,
        mut u: ndarray::ArrayViewMut2<f64>,
    ) -> Result<crate::HjbStats, SolveError> {
        self.calls += 1;
        if self.calls == self.cancel_at {
            self.flag.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        self.stop.check(2)?;
        u.assign(&m);
        Ok(Default::default())
    }
}

impl HjbSolver for Toy {
    fn name(&self) -> &'static str {
        "toy"
    }
    fn solve_into(
        &mut self,
        _: &Problem,
        m: ArrayView2<f64>,
        mut u: ndarray::ArrayViewMut2<f64>,
    ) -> Result<crate::HjbStats, SolveError> {
        self.calls += 1;
        u.assign(&m);
        if self.calls == self.fail_at {
            u.fill(f64::NAN); // half-done work that must not reach the result
            return Err(SolveError::TimeLimit { time_level: 3 });
        }
        Ok(Default::default())
    }
}

struct Halve;

impl FpSolver for Halve {
    fn name(&self) -> &'static str {
        "halve"
    }
    fn solve_into(
        &mut self,
        p: &Problem,
        u: ArrayView2<f64>,
        mut m: ndarray::ArrayViewMut2<f64>,
    ) -> Result<crate::FpStats, SolveError> {
        for (mut row, urow) in m.rows_mut().into_iter().zip(u.rows()) {
            for ((v, a), b) in row.iter_mut().zip(urow).zip(p.initial_density()) {
                *v = 0.5 * (a + b);
            }
        }
        Ok(Default::default())
    }
}

fn toy_problem() -> Problem {
    let grid = Grid::line(0.0, 1.0, 8, Boundary::Periodic).unwrap();
    Problem::builder(grid, crate::TimeGrid::new(1.0, 4).unwrap())
        .initial_density_fn(|x| 1.0 + 0.5 * (6.0 * x[0]).sin())
        .build()
        .unwrap()
}

#[test]
fn a_deadline_inside_an_iteration_returns_the_last_complete_one() {
    let p = toy_problem();
    // Start away from the fixed point m0, so the iteration takes many steps.
    let start = Array2::from_shape_fn((p.time().levels(), p.grid().len()), |(_, i)| {
        3.0 * p.initial_density()[i]
    });
    let it = FixedPointIterator::new(IterationSettings {
        tolerance: 1e-14,
        ..Default::default()
    })
    .unwrap();
    // The reference: stop after two iterations.
    let two = FixedPointIterator::new(IterationSettings {
        max_iterations: 2,
        tolerance: 1e-14,
        ..Default::default()
    })
    .unwrap()
    .run(
        &p,
        &mut Toy {
            calls: 0,
            fail_at: 0,
        },
        &mut Halve,
    )
    .initial_guess(start.view())
    .solve()
    .unwrap();
    // The third HJB solve runs out of time: the result is the second iteration's.
    let sol = it
        .run(
            &p,
            &mut Toy {
                calls: 0,
                fail_at: 3,
            },
            &mut Halve,
        )
        .initial_guess(start.view())
        .time_limit(1e6)
        .solve()
        .unwrap();
    assert_eq!(sol.termination, TerminationReason::TimeLimit);
    assert_eq!(sol.iterations(), 2);
    assert_eq!(sol.u, two.u);
    assert_eq!(sol.m, two.m);
}

#[test]
fn a_deadline_in_the_first_iteration_is_an_error_not_a_result() {
    let p = toy_problem();
    let it = FixedPointIterator::new(IterationSettings::default()).unwrap();
    let mut hjb = Toy {
        calls: 0,
        fail_at: 1,
    };
    let err = it
        .run(&p, &mut hjb, &mut Halve)
        .time_limit(1e6)
        .solve()
        .unwrap_err();
    assert_eq!(
        err,
        MfgError::TimeLimit {
            limit_s: 1e6,
            time_level: 3
        }
    );
    assert!(err.to_string().contains("time_limit_s"), "{err}");
}

#[test]
fn a_cancel_flag_reaches_the_solvers_and_stops_the_solve() {
    let p = toy_problem();
    let start = Array2::from_shape_fn((p.time().levels(), p.grid().len()), |(_, i)| {
        3.0 * p.initial_density()[i]
    });
    let it = FixedPointIterator::new(IterationSettings {
        tolerance: 1e-14,
        ..Default::default()
    })
    .unwrap();
    for cancel_at in [1, 3] {
        let flag = Arc::new(AtomicBool::new(false));
        let mut hjb = Cancelling {
            calls: 0,
            cancel_at,
            flag: flag.clone(),
            stop: Stop::never(),
        };
        let err = it
            .run(&p, &mut hjb, &mut Halve)
            .initial_guess(start.view())
            .cancel_on(flag)
            .solve()
            .unwrap_err();
        assert_eq!(
            err,
            MfgError::Interrupted {
                iteration: cancel_at
            }
        );
        // The solver's stop is cleared after the solve.
        assert!(!hjb.stop.cancelled());
    }
    // A flag set before the start stops before any solve.
    let flag = Arc::new(AtomicBool::new(true));
    let mut hjb = Cancelling {
        calls: 0,
        cancel_at: 0,
        flag: flag.clone(),
        stop: Stop::never(),
    };
    let err = it
        .run(&p, &mut hjb, &mut Halve)
        .cancel_on(flag)
        .solve()
        .unwrap_err();
    assert_eq!(err, MfgError::Interrupted { iteration: 1 });
    assert_eq!(hjb.calls, 0);
}
