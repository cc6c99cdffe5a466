//! Result files, each written to a temporary file in the output directory and renamed into
//! place only after every file has been written, so a failed run leaves earlier results intact.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use ndarray::{Array1, Array2};
use ndarray_npy::{read_npy, WriteNpyExt};

use crate::error::CliError;

/// Files staged in temporary names, renamed into place by [`Staged::commit`].
#[derive(Debug)]
pub struct Staged {
    dir: PathBuf,
    files: Vec<(PathBuf, PathBuf)>,
}

impl Staged {
    /// Start staging into `dir`, creating it if needed.
    pub fn new(dir: &Path) -> Result<Self, CliError> {
        fs::create_dir_all(dir).map_err(|source| CliError::Write {
            path: dir.to_owned(),
            source,
        })?;
        Ok(Self {
            dir: dir.to_owned(),
            files: Vec::new(),
        })
    }

    fn write_with(
        &mut self,
        name: &str,
        f: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
    ) -> Result<(), CliError> {
        let tmp = self.dir.join(format!(".{name}.{}.tmp", std::process::id()));
        let result = (|| {
            let mut w = BufWriter::new(File::create(&tmp)?);
            f(&mut w)?;
            w.into_inner().map_err(|e| e.into_error())?.sync_all()
        })();
        if let Err(source) = result {
            let _ = fs::remove_file(&tmp);
            return Err(CliError::Write { path: tmp, source });
        }
        self.files.push((tmp, self.dir.join(name)));
        Ok(())
    }

    /// Stage the `(levels, n_space)` array `a` as `.npy` with the given shape (the product of
    /// `shape` must be `a.len()`; the data are C-ordered as they are).
    pub fn npy_shaped(
        &mut self,
        name: &str,
        a: &Array2<f64>,
        shape: &[usize],
    ) -> Result<(), CliError> {
        let view = a
            .view()
            .into_shape_with_order(ndarray::IxDyn(shape))
            .expect("shape matches the data");
        self.write_with(name, |w| view.write_npy(w).map_err(std::io::Error::other))
    }

    /// Stage a 1D array as `.npy`.
    pub fn npy1(&mut self, name: &str, a: &Array1<f64>) -> Result<(), CliError> {
        self.write_with(name, |w| a.write_npy(w).map_err(std::io::Error::other))
    }

    /// Stage a 2D array as CSV: one line per row (time level), full precision.
    pub fn csv2(&mut self, name: &str, a: &Array2<f64>) -> Result<(), CliError> {
        self.write_with(name, |w| {
            for row in a.rows() {
                let line: Vec<String> = row.iter().map(|v| format!("{v:e}")).collect();
                writeln!(w, "{}", line.join(","))?;
            }
            Ok(())
        })
    }

    /// Stage a 1D array as CSV: one value per line.
    pub fn csv1(&mut self, name: &str, a: &Array1<f64>) -> Result<(), CliError> {
        self.write_with(name, |w| {
            for v in a {
                writeln!(w, "{v:e}")?;
            }
            Ok(())
        })
    }

    /// Stage a text file.
    pub fn text(&mut self, name: &str, text: &str) -> Result<(), CliError> {
        self.write_with(name, |w| w.write_all(text.as_bytes()))
    }

    /// Rename every staged file into place.
    pub fn commit(mut self) -> Result<Vec<PathBuf>, CliError> {
        let files = std::mem::take(&mut self.files);
        let mut done = Vec::with_capacity(files.len());
        for (tmp, dest) in &files {
            fs::rename(tmp, dest).map_err(|source| CliError::Write {
                path: dest.clone(),
                source,
            })?;
            done.push(dest.clone());
        }
        Ok(done)
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        // Staged but never committed (an error came first): remove the temporary files.
        for (tmp, _) in &self.files {
            let _ = fs::remove_file(tmp);
        }
    }
}

/// Check, before any solve, that files can be created in `dir`. A directory that did not exist
/// is created for the check and removed again: it appears only when results are written.
pub fn check_writable(dir: &Path) -> Result<(), CliError> {
    let bad = |e: std::io::Error| CliError::Config {
        key: "--out".into(),
        message: format!(
            "cannot write to {}: {e}; choose a writable directory with --out DIR",
            dir.display()
        ),
    };
    // The outermost missing ancestor, to remove after the check.
    let mut created = None;
    let mut probe_dir = dir;
    while !probe_dir.exists() {
        created = Some(probe_dir.to_owned());
        match probe_dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => probe_dir = p,
            _ => break,
        }
    }
    fs::create_dir_all(dir).map_err(bad)?;
    let probe = dir.join(format!(".mfg-write-check.{}.tmp", std::process::id()));
    let result = File::create(&probe).and_then(|_| fs::remove_file(&probe));
    if let Some(top) = created {
        let _ = fs::remove_dir_all(top);
    }
    result.map_err(bad)
}

/// The on-disk format of the arrays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// NumPy `.npy` (float64, C order).
    #[default]
    Npy,
    /// Comma-separated text, one row per time level.
    Csv,
}

fn parse_csv(text: &str) -> Result<Vec<Vec<f64>>, String> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            l.split(',')
                .map(|v| v.trim().parse::<f64>().map_err(|e| format!("'{v}': {e}")))
                .collect()
        })
        .collect()
}

/// Check that an `.npy` file of float64 holds as many bytes as its header's shape claims, before
/// anything is allocated: a header claiming (10¹¹, 101) on a small file is an error, not an
/// 80 TB allocation.
fn check_npy_size(path: &Path) -> Result<(), String> {
    use std::io::Read;
    let bad = |what: &str| format!("{}: {what}", path.display());
    let len = fs::metadata(path).map_err(|e| bad(&e.to_string()))?.len();
    let mut head = vec![0u8; 12];
    let mut f = fs::File::open(path).map_err(|e| bad(&e.to_string()))?;
    f.read_exact(&mut head)
        .map_err(|_| bad("too short for an .npy file"))?;
    if &head[..6] != b"\x93NUMPY" {
        return Err(bad("not an .npy file"));
    }
    let (header_len, prefix) = match head[6] {
        1 => (u16::from_le_bytes([head[8], head[9]]) as u64, 10),
        2 | 3 => (
            u32::from_le_bytes([head[8], head[9], head[10], head[11]]) as u64,
            12,
        ),
        v => return Err(bad(&format!("unknown .npy version {v}"))),
    };
    if header_len > 1 << 20 || prefix + header_len > len {
        return Err(bad("the .npy header is longer than the file"));
    }
    let mut header = vec![0u8; header_len as usize];
    let mut f = fs::File::open(path).map_err(|e| bad(&e.to_string()))?;
    let mut skip = vec![0u8; prefix as usize];
    f.read_exact(&mut skip).map_err(|e| bad(&e.to_string()))?;
    f.read_exact(&mut header).map_err(|e| bad(&e.to_string()))?;
    let header = String::from_utf8_lossy(&header);
    let shape = header
        .split("'shape':")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .map(|s| s.trim().trim_start_matches('('))
        .ok_or_else(|| bad("the .npy header has no shape"))?;
    let mut count: u128 = 1;
    for dim in shape.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let n: u128 = dim
            .parse()
            .map_err(|_| bad("the .npy shape is not a list of sizes"))?;
        count = count.saturating_mul(n);
    }
    let data = (len - prefix - header_len) as u128;
    if count.saturating_mul(8) != data {
        return Err(bad(&format!(
            "the header claims {count} values but the file holds {} bytes of data",
            data
        )));
    }
    Ok(())
}

/// Read `NAME.npy` or `NAME.csv` from `dir` as a 2D array.
pub fn read_2d(dir: &Path, name: &str) -> Result<Array2<f64>, String> {
    let npy = dir.join(format!("{name}.npy"));
    if npy.exists() {
        // (levels, nx_pts) or (levels, nx_pts, ny_pts): flatten the space axes (C order).
        check_npy_size(&npy)?;
        let a: ndarray::ArrayD<f64> =
            read_npy(&npy).map_err(|e| format!("{}: {e}", npy.display()))?;
        let levels = a.shape().first().copied().unwrap_or(0);
        let points = a.len().checked_div(levels).unwrap_or(0);
        return a
            .into_shape_with_order((levels, points))
            .map_err(|e| format!("{}: {e}", npy.display()));
    }
    let csv = dir.join(format!("{name}.csv"));
    let text =
        fs::read_to_string(&csv).map_err(|e| format!("no {name}.npy or {name}.csv ({e})"))?;
    let rows = parse_csv(&text).map_err(|e| format!("{}: {e}", csv.display()))?;
    let cols = rows.first().map_or(0, Vec::len);
    if rows.iter().any(|r| r.len() != cols) {
        return Err(format!("{}: rows of different lengths", csv.display()));
    }
    Array2::from_shape_vec((rows.len(), cols), rows.concat()).map_err(|e| e.to_string())
}

/// Read `NAME.npy` or `NAME.csv` from `dir` as a 1D array.
pub fn read_1d(dir: &Path, name: &str) -> Result<Array1<f64>, String> {
    let npy = dir.join(format!("{name}.npy"));
    if npy.exists() {
        check_npy_size(&npy)?;
        return read_npy(&npy).map_err(|e| format!("{}: {e}", npy.display()));
    }
    let csv = dir.join(format!("{name}.csv"));
    let text =
        fs::read_to_string(&csv).map_err(|e| format!("no {name}.npy or {name}.csv ({e})"))?;
    let rows = parse_csv(&text).map_err(|e| format!("{}: {e}", csv.display()))?;
    Ok(Array1::from(rows.concat()))
}
