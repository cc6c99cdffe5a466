//! `mfg-cli`: solve Mean Field Games from the command line.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use mfg_cli::presets::PRESETS;
use mfg_cli::run::{self, SolveOptions};

#[derive(Debug, Parser)]
#[command(
    name = "mfg-cli",
    version,
    about = "Solve Mean Field Games (HJB + Fokker-Planck)"
)]
struct Cli {
    /// More log output (-v info, -vv debug); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Solve a problem and write u.npy, m.npy, x.npy, t.npy, summary.json, config.toml.
    Solve {
        /// A TOML config file; without it the default preset is solved.
        config: Option<PathBuf>,
        /// Output directory.
        #[arg(long, default_value = "mfg-out")]
        out: PathBuf,
        /// Override one key, e.g. --set grid.nx=200 or --set preset=lq-gaussian.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        sets: Vec<String>,
        /// Print nothing but errors.
        #[arg(short, long)]
        quiet: bool,
    },
    /// List the built-in problems.
    Presets,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let level = match cli.verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();

    match cli.command {
        Command::Presets => {
            for p in PRESETS {
                println!("{:<18} {}", p.name, p.description);
            }
            ExitCode::SUCCESS
        }
        Command::Solve {
            config,
            out,
            sets,
            quiet,
        } => {
            let opts = SolveOptions { config, out, sets };
            let live = !quiet && std::io::stderr().is_terminal();
            let mut observer = |r: &mfg_core::IterationRecord| {
                if live {
                    eprint!(
                        "\riteration {:4}  residual_u {:.2e}  residual_m {:.2e}   ",
                        r.iteration, r.residual_u, r.residual_m
                    );
                }
            };
            let result = run::solve(&opts, &mut observer);
            if live {
                eprintln!();
            }
            match result {
                Ok(outcome) => {
                    let sol = &outcome.solution;
                    if !quiet {
                        eprintln!("{sol}");
                        eprintln!(
                            "wrote {} files to {}",
                            outcome.files.len(),
                            opts.out.display()
                        );
                    }
                    if sol.converged() {
                        ExitCode::SUCCESS
                    } else {
                        eprintln!(
                            "warning: not converged ({}); results written and flagged in summary.json",
                            sol.termination.name()
                        );
                        ExitCode::from(3)
                    }
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(e.exit_code() as u8)
                }
            }
        }
    }
}
