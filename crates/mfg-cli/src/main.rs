//! `mfg-cli`: solve Mean Field Games from the command line.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tracing_subscriber::EnvFilter;

use mfg_cli::output::Format;
use mfg_cli::presets::PRESETS;
use mfg_cli::run::{self, SolveOptions};
use mfg_cli::{config, plot, CliError};

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
    /// Solve a problem and write u, m, x, t (.npy or .csv), summary.json, config.toml.
    Solve {
        /// A TOML config file; without it the default preset is solved.
        config: Option<PathBuf>,
        /// Output directory.
        #[arg(long, default_value = "mfg-out")]
        out: PathBuf,
        /// Override one key, e.g. --set grid.nx=200 or --set preset=lq-gaussian.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        sets: Vec<String>,
        /// Also write density.png, value.png and convergence.png (and exited.png with exits).
        #[arg(long)]
        plot: bool,
        /// Also write density.gif, the density over time (implies --plot).
        #[arg(long)]
        animate: bool,
        /// Array file format.
        #[arg(long, value_enum, default_value_t = Format::Npy)]
        format: Format,
        /// Print nothing but errors (no progress bar, no summary).
        #[arg(short, long)]
        quiet: bool,
        /// Refuse runs whose estimated peak memory is larger, in bytes or with a unit (500M,
        /// 4G); default half the machine's memory.
        #[arg(long, value_parser = parse_bytes)]
        max_memory: Option<u64>,
    },
    /// Draw density.png, value.png and convergence.png (and exited.png with exits) for an
    /// existing result directory.
    Plot {
        /// A directory written by `mfg-cli solve`.
        dir: PathBuf,
        /// Also write density.gif, the density over time.
        #[arg(long)]
        animate: bool,
    },
    /// Validate a config (with --set overrides) and print it fully resolved; exit 0 or 2.
    Check {
        /// A TOML config file; without it the default preset is checked.
        config: Option<PathBuf>,
        /// Override one key.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        sets: Vec<String>,
    },
    /// List the built-in problems.
    Presets,
}

fn fail(e: &CliError) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::from(e.exit_code() as u8)
}

/// A flag that SIGINT (Ctrl-C) and SIGTERM set: the solve stops at its next time level, writes
/// nothing and the process exits 130, earlier results intact. A second signal exits at once
/// (a commit cut short is completed by the next run from its journal).
fn interrupt_flag() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let handler_flag = flag.clone();
    let installed = ctrlc::set_handler(move || {
        if handler_flag.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        eprintln!("\nstopping at the next time level (a second Ctrl-C or SIGTERM quits at once)");
    });
    if let Err(e) = installed {
        tracing::warn!("cannot handle SIGINT/SIGTERM ({e}): a signal ends the process at once");
    }
    flag
}

fn progress(quiet: bool, max: u64) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(max), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{spinner} Picard {pos:>4}/{len} {msg} [{elapsed_precise}]")
            .expect("valid template"),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
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
        Command::Check { config, sets } => {
            let checked =
                config::resolve(config.as_deref(), &sets).and_then(|c| c.validate_all().map(|_| c));
            match checked {
                Ok(c) => {
                    print!("{}", c.to_toml());
                    eprintln!("config is valid");
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e),
            }
        }
        Command::Plot { dir, animate } => match plot::plot_dir(&dir, animate) {
            Ok(files) => {
                for f in files {
                    eprintln!("wrote {}", f.display());
                }
                ExitCode::SUCCESS
            }
            Err(e) => fail(&e),
        },
        Command::Solve {
            config,
            out,
            sets,
            plot: want_plot,
            animate,
            format,
            quiet,
            max_memory,
        } => {
            let opts = SolveOptions {
                config,
                out,
                sets,
                format,
                max_memory,
                cancel: Some(interrupt_flag()),
            };
            // The bar's length is set once the config (and max_iterations) is known.
            let bar = progress(quiet, 0);
            let mut observer = |r: &mfg_core::IterationRecord| {
                bar.set_position(r.iteration as u64);
                bar.set_message(format!(
                    "residual_u {:.2e}  residual_m {:.2e}",
                    r.residual_u, r.residual_m
                ));
            };
            let result = run::solve_with(
                &opts,
                &mut |config| {
                    for w in config.ignored_keys() {
                        bar.suspend(|| eprintln!("warning: {w}"));
                    }
                    bar.set_length(config.iteration.max_iterations as u64)
                },
                &mut observer,
            );
            bar.finish_and_clear();
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
                    if want_plot || animate {
                        match plot::plot_dir(&opts.out, animate) {
                            Ok(files) if !quiet => {
                                eprintln!(
                                    "wrote {} pictures to {}",
                                    files.len(),
                                    opts.out.display()
                                )
                            }
                            Ok(_) => {}
                            // The results are written and whole; only the pictures failed.
                            Err(e) => {
                                eprintln!(
                                    "error: the results were written to {}, but the pictures failed: {e}",
                                    opts.out.display()
                                );
                                return ExitCode::from(4);
                            }
                        }
                    }
                    if sol.converged() {
                        ExitCode::SUCCESS
                    } else {
                        eprintln!(
                            "warning: not converged ({}); results written and flagged in summary.json",
                            sol.termination()
                        );
                        ExitCode::from(3)
                    }
                }
                Err(e) => fail(&e),
            }
        }
    }
}

/// `--max-memory`: a number of bytes, optionally with a unit K, M, G or T (powers of 1000).
fn parse_bytes(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let (number, scale) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let scale = match c.to_ascii_uppercase() {
                'K' => 1e3,
                'M' => 1e6,
                'G' => 1e9,
                'T' => 1e12,
                _ => {
                    return Err(format!(
                        "'{text}': use a number of bytes or a unit K, M, G, T"
                    ))
                }
            };
            (&t[..i], scale)
        }
        _ => (t, 1.0),
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("'{text}' is not a size such as 500M or 4G"))?;
    if !(value.is_finite() && value > 0.0) {
        return Err(format!("'{text}': the limit must be > 0"));
    }
    Ok((value * scale) as u64)
}
