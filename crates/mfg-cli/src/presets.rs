//! Built-in problems. Each is a partial config in TOML, layered over the defaults.

/// A built-in problem.
#[derive(Debug, Clone, Copy)]
pub struct Preset {
    /// Name used by `preset = "..."`.
    pub name: &'static str,
    /// One line for `mfg-cli presets`.
    pub description: &'static str,
    /// The keys it sets.
    pub toml: &'static str,
}

/// The preset used when none is named.
pub const DEFAULT_PRESET: &str = "crowd";

/// All built-in presets.
pub const PRESETS: &[Preset] = &[
    Preset {
        name: "crowd",
        description: "crowd aversion on [0, 1]: a crowd starting near x = 0.2 crosses a potential bump to reach the exit near x = 0.8, spreading to avoid congestion",
        toml: r#"
[grid]
x = [0.0, 1.0]
nx = 100
t_final = 1.0
nt = 50
boundary = "no-flux"
[model]
sigma = 0.3
control_cost = 1.0
potential = "0.5*exp(-50*(x-0.5)^2)"
coupling = "linear"
coupling_strength = 0.3
terminal_cost = "2*(x-0.8)^2"
initial_density = "exp(-100*(x-0.2)^2)"
"#,
    },
    Preset {
        name: "mfg-pde-tutorial",
        description: "MFG_PDE's tutorial problem in our conventions: attraction c = -0.5, sigma = 0.3, g = (x-0.5)^2, no-flux [0, 1]",
        toml: r#"
[grid]
x = [0.0, 1.0]
nx = 100
t_final = 1.0
nt = 50
boundary = "no-flux"
[model]
sigma = 0.3
control_cost = 1.0
potential = "0"
coupling = "linear"
coupling_strength = -0.5
terminal_cost = "(x-0.5)^2"
initial_density = "exp(-50*(x-0.5)^2)"
[iteration]
tolerance = 1e-8
"#,
    },
    Preset {
        name: "lq-gaussian",
        description: "linear-quadratic game with a closed-form solution: f = (x-0.7)^2, g = 0.25 (x-0.7)^2, m0 = N(-0.4, 0.05), nu = 0.3, on [-4, 4]",
        toml: r#"
[grid]
x = [-4.0, 4.0]
nx = 400
t_final = 1.0
nt = 100
boundary = "no-flux"
[model]
sigma = 0.7745966692414834
control_cost = 1.0
potential = "(x-0.7)^2"
coupling = "none"
terminal_cost = "0.25*(x-0.7)^2"
initial_density = "exp(-10*(x+0.4)^2)"
"#,
    },
    Preset {
        name: "exit-1d",
        description: "a corridor [0, 1] with a wall at x = 0 and an exit at x = 1: a crowd starting near x = 0.3 leaves, paying for time inside (1) and for crowding (m); exited mass and the 50/90/99 % times in summary.json",
        toml: r#"
[grid]
x = [0.0, 1.0]
nx = 100
t_final = 1.5
nt = 50
boundary = "no-flux"
x_max = "exit"
[geometry]
exit_cost = "0"
[model]
sigma = 0.2
control_cost = 1.0
potential = "1"
coupling = "linear"
coupling_strength = 1.0
terminal_cost = "2"
initial_density = "exp(-100*(x-0.3)^2)"
[iteration]
tolerance = 1e-8
"#,
    },
    Preset {
        name: "crowd-power",
        description: "the crowd of `crowd` paying a cubic effort |a|^3/3 for speed a (power Hamiltonian H = |p|^1.5/1.5, as aerodynamic drag: power grows with speed^3): slow moves are cheap, fast ones dear",
        toml: r#"
[grid]
x = [0.0, 1.0]
nx = 100
t_final = 1.0
nt = 50
boundary = "no-flux"
[model]
sigma = 0.3
hamiltonian = "power"
hamiltonian_exponent = 1.5
control_cost = 1.0
potential = "0.5*exp(-50*(x-0.5)^2)"
coupling = "linear"
coupling_strength = 0.3
terminal_cost = "2*(x-0.8)^2"
initial_density = "exp(-100*(x-0.2)^2)"
[iteration]
method = "anderson"
anderson_depth = 5
"#,
    },
    Preset {
        name: "crowd-speed-limit",
        description: "the crowd of `crowd` with a speed limit |a| <= 0.5 (bounded controls): nobody can cover the 0.6 to the exit in time, the front walks at the limit and the rest bunches behind",
        toml: r#"
[grid]
x = [0.0, 1.0]
nx = 100
t_final = 1.0
nt = 50
boundary = "no-flux"
[model]
sigma = 0.3
hamiltonian = "bounded"
control_bound = 0.5
control_cost = 1.0
potential = "0.5*exp(-50*(x-0.5)^2)"
coupling = "linear"
coupling_strength = 0.3
terminal_cost = "2*(x-0.8)^2"
initial_density = "exp(-100*(x-0.2)^2)"
"#,
    },
    Preset {
        name: "corridor-congestion",
        description: "a crowd crossing a corridor [0, 1] to an exit region near x = 0.9, where moving through a crowd costs more (congestion H = |p|^2/(2 (0.2 + m)^1)): dense regions slow down, the crowd stretches out",
        toml: r#"
[grid]
x = [0.0, 1.0]
nx = 100
t_final = 1.0
nt = 50
boundary = "no-flux"
[model]
sigma = 0.2
hamiltonian = "congestion"
control_cost = 1.0
congestion_offset = 0.2
congestion_exponent = 1.0
potential = "0"
coupling = "linear"
coupling_strength = 0.1
terminal_cost = "3*(x-0.9)^2"
initial_density = "exp(-100*(x-0.2)^2)"
[iteration]
tolerance = 1e-8
"#,
    },
    Preset {
        name: "crowd-2d",
        description: "a room [0, 1]^2 (100 x 100 points): a crowd starts in the corner near (0.15, 0.15) and heads for the target region near (0.8, 0.8), spreading to avoid congestion",
        toml: r#"
[grid]
x = [0.0, 1.0]
y = [0.0, 1.0]
nx = 99
ny = 99
t_final = 1.0
nt = 50
boundary = "no-flux"
[model]
sigma = 0.3
control_cost = 1.0
potential = "0"
coupling = "linear"
coupling_strength = 0.3
terminal_cost = "2*(1 - exp(-10*((x-0.8)^2 + (y-0.8)^2)))"
initial_density = "exp(-80*((x-0.15)^2 + (y-0.15)^2))"
[iteration]
tolerance = 1e-6
anderson_depth = 5
"#,
    },
    Preset {
        name: "evacuation-2d",
        description: "a room [0, 1]^2 (100 x 100 points) with two doors in its top wall and a pillar between the crowd and the doors: the crowd (around (0.5, 0.22)) splits around the pillar and leaves by both doors, paying for time inside and for crowding",
        toml: r#"
[grid]
x = [0.0, 1.0]
y = [0.0, 1.0]
nx = 99
ny = 99
t_final = 1.0
nt = 50
boundary = "no-flux"
y_max = "exit"
[geometry]
obstacle = "0.15^2 - (x-0.5)^2 - (y-0.6)^2"
exit = [[0.15, 0.3], [0.7, 0.85]]
exit_cost = "0"
[model]
sigma = 0.2
control_cost = 1.0
potential = "1"
coupling = "linear"
coupling_strength = 1.0
terminal_cost = "3"
initial_density = "exp(-25*((x-0.5)^2 + (y-0.22)^2))"
[iteration]
tolerance = 1e-6
anderson_depth = 5
"#,
    },
    Preset {
        name: "torus-2d",
        description: "periodic [0, 1]^2 (64 x 64): a crowd on a torus with a potential landscape cos(2 pi x) cos(2 pi y) and crowd aversion",
        toml: r#"
[grid]
x = [0.0, 1.0]
y = [0.0, 1.0]
nx = 64
ny = 64
t_final = 1.0
nt = 40
boundary = "periodic"
[model]
sigma = 0.3
control_cost = 1.0
potential = "0.5*cos(2*pi*x)*cos(2*pi*y)"
coupling = "linear"
coupling_strength = 0.3
terminal_cost = "0"
initial_density = "exp(-30*((x-0.3)^2 + (y-0.6)^2))"
[iteration]
tolerance = 1e-6
anderson_depth = 5
"#,
    },
    Preset {
        name: "torus-nonlocal",
        description: "the crowd of torus-2d with nonlocal aversion: each agent pays for the crowd within a Gaussian neighbourhood of width 0.1 (F[m] = c K * m by FFT), not only at its own point",
        toml: r#"
[grid]
x = [0.0, 1.0]
y = [0.0, 1.0]
nx = 64
ny = 64
t_final = 1.0
nt = 40
boundary = "periodic"
[model]
sigma = 0.3
control_cost = 1.0
potential = "0.5*cos(2*pi*x)*cos(2*pi*y)"
coupling = "nonlocal"
coupling_strength = 0.3
coupling_width = 0.1
terminal_cost = "0"
initial_density = "exp(-30*((x-0.3)^2 + (y-0.6)^2))"
[iteration]
tolerance = 1e-6
anderson_depth = 5
"#,
    },
    Preset {
        name: "crowd-3d",
        description: "a hall [0, 1]^3 (25 x 25 x 25 points): a crowd starts near the corner (0.2, 0.2, 0.2) and heads for the target region near (0.8, 0.8, 0.8), spreading to avoid congestion",
        toml: r#"
[grid]
x = [0.0, 1.0]
y = [0.0, 1.0]
z = [0.0, 1.0]
nx = 24
ny = 24
nz = 24
t_final = 1.0
nt = 30
boundary = "no-flux"
[model]
sigma = 0.3
control_cost = 1.0
potential = "0"
coupling = "linear"
coupling_strength = 0.3
terminal_cost = "2*(1 - exp(-10*((x-0.8)^2 + (y-0.8)^2 + (z-0.8)^2)))"
initial_density = "exp(-60*((x-0.2)^2 + (y-0.2)^2 + (z-0.2)^2))"
[iteration]
tolerance = 1e-6
anderson_depth = 5
"#,
    },
    Preset {
        name: "stationary-crowd",
        description: "stationary (ergodic) crowd aversion on [0, 1]: a quadratic well with a bump at its centre; the crowd settles on both sides; u, m and the ergodic constant",
        toml: r#"
problem = "stationary"
[grid]
x = [0.0, 1.0]
nx = 200
boundary = "no-flux"
[model]
sigma = 0.3
control_cost = 1.0
potential = "8*(x-0.5)^2 + exp(-100*(x-0.5)^2)"
coupling = "linear"
coupling_strength = 1.0
[iteration]
tolerance = 1e-10
"#,
    },
    Preset {
        name: "stationary-torus",
        description: "stationary game on the periodic unit square with log coupling and an exact solution: u = 0.5 (cos 2 pi x + cos 2 pi y), lambda = -2 ln I0(1) = -0.47182 (first order in the grid)",
        toml: r#"
problem = "stationary"
[grid]
x = [0.0, 1.0]
nx = 64
y = [0.0, 1.0]
ny = 64
boundary = "periodic"
[model]
sigma = 1.0
control_cost = 1.0
potential = "(pi^2 + 1)*(cos(2*pi*x) + cos(2*pi*y)) + 0.5*pi^2*(sin(2*pi*x)^2 + sin(2*pi*y)^2)"
coupling = "log"
coupling_strength = 1.0
[iteration]
tolerance = 1e-10
"#,
    },
];

/// Look a preset up by name.
pub fn find(name: &str) -> Option<&'static Preset> {
    PRESETS.iter().find(|p| p.name == name)
}

/// The names, comma-separated (for error messages).
pub fn names() -> String {
    PRESETS
        .iter()
        .map(|p| p.name)
        .collect::<Vec<_>>()
        .join(", ")
}
