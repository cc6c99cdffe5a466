//! Result files, each written to a temporary file in the output directory and renamed into
//! place only after every file has been written, so a failed run leaves earlier results intact.
//!
//! A result set changes as one: the commit holds an exclusive lock on `DIR/.mfg-lock` (so two
//! solves into one directory are serialised), removes `summary.json` first, renames the new
//! files into place, removes result files the new set does not have (another format, another
//! dimension, pictures of an earlier run) and stale temporaries of dead processes, and renames
//! `summary.json` last. Before renaming, the commit writes a journal of its renames
//! (`.mfg-commit`); a commit cut short by a `kill -9` is completed ("rolled forward") by the
//! next reader or writer, so the directory holds the earlier set or the new one, whole.
//! `summary.json` lists every file of the set with its size and FNV-1a hash; readers
//! ([`read_2d`], [`read_1d`] through [`ResultSet`]) hold a shared lock and check what they
//! read against that list, so they never use files of two runs.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use ndarray::{Array1, Array2};
use ndarray_npy::{read_npy, WriteNpyExt};

use crate::error::CliError;

/// The names of every file a result set can hold (the arrays in both formats, the config, the
/// summary and the pictures).
const RESULT_FILES: [&str; 16] = [
    "u.npy",
    "m.npy",
    "x.npy",
    "y.npy",
    "z.npy",
    "t.npy",
    "u.csv",
    "m.csv",
    "x.csv",
    "y.csv",
    "z.csv",
    "t.csv",
    "config.toml",
    "density.png",
    "value.png",
    "convergence.png",
];

/// The lock file of a result directory.
const LOCK_FILE: &str = ".mfg-lock";

/// Files staged in temporary names, renamed into place by [`Staged::commit`].
#[derive(Debug)]
pub struct Staged {
    dir: PathBuf,
    files: Vec<(PathBuf, PathBuf)>,
    /// Per staged file: its name, size and FNV-1a hash (the manifest).
    manifest: Vec<(String, u64, u64)>,
    /// Set by a signal handler: give up before the next file or the commit.
    cancel: Option<Arc<AtomicBool>>,
}

/// FNV-1a, 64 bits: a cheap checksum to tell files of two runs apart.
#[derive(Debug, Clone, Copy)]
struct Fnv(u64);

impl Fnv {
    fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }

    fn update(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

/// A writer that counts and hashes what passes through.
struct Hashing<W> {
    inner: W,
    hash: Fnv,
    bytes: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// The size and FNV-1a hash of a file.
fn file_digest(path: &Path) -> std::io::Result<(u64, u64)> {
    use std::io::Read;
    let mut f = std::io::BufReader::new(File::open(path)?);
    let (mut hash, mut bytes) = (Fnv::new(), 0u64);
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            return Ok((bytes, hash.0));
        }
        hash.update(&buf[..n]);
        bytes += n as u64;
    }
}

/// Lock `dir`'s lock file, exclusive (a writer) or shared (a reader), creating it if needed.
fn lock_dir(dir: &Path, exclusive: bool) -> std::io::Result<File> {
    let f = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(LOCK_FILE))?;
    if exclusive {
        f.lock()?;
    } else {
        f.lock_shared()?;
    }
    Ok(f)
}

/// Remove temporaries `.NAME.PID.tmp` of processes that are gone (a killed run's leftovers).
/// Where process ids cannot be checked (no `/proc`) only those older than a day go.
fn remove_stale_temporaries(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let procfs = Path::new("/proc/self").exists();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(stem) = name.strip_suffix(".tmp").filter(|_| name.starts_with('.')) else {
            continue;
        };
        let Some(pid) = stem.rsplit('.').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        let stale = if procfs {
            pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists()
        } else {
            entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age.as_secs() > 86_400)
        };
        if stale {
            let _ = fs::remove_file(entry.path());
        }
    }
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
            manifest: Vec::new(),
            cancel: None,
        })
    }

    /// Give up, removing what was staged, once `flag` is set: checked before each file and
    /// before the commit ([`CliError::Interrupted`]). A commit that has started completes.
    pub fn cancel_on(&mut self, flag: Option<Arc<AtomicBool>>) {
        self.cancel = flag;
    }

    fn check_cancel(&self) -> Result<(), CliError> {
        match &self.cancel {
            Some(flag) if flag.load(Ordering::Relaxed) => Err(CliError::Interrupted {
                dir: self.dir.clone(),
            }),
            _ => Ok(()),
        }
    }

    fn write_with(
        &mut self,
        name: &str,
        f: impl FnOnce(&mut Hashing<BufWriter<File>>) -> std::io::Result<()>,
    ) -> Result<(), CliError> {
        self.check_cancel()?;
        let tmp = self.dir.join(format!(".{name}.{}.tmp", std::process::id()));
        let result = (|| {
            let mut w = Hashing {
                inner: BufWriter::new(File::create(&tmp)?),
                hash: Fnv::new(),
                bytes: 0,
            };
            f(&mut w)?;
            let (hash, bytes) = (w.hash.0, w.bytes);
            w.inner
                .into_inner()
                .map_err(|e| e.into_error())?
                .sync_all()?;
            Ok((bytes, hash))
        })();
        match result {
            Err(source) => {
                let _ = fs::remove_file(&tmp);
                Err(CliError::Write { path: tmp, source })
            }
            Ok((bytes, hash)) => {
                self.files.push((tmp, self.dir.join(name)));
                self.manifest.push((name.to_owned(), bytes, hash));
                Ok(())
            }
        }
    }

    /// The staged files so far, for `summary.json`: `{name: {"bytes": n, "fnv1a64": "hex"}}`.
    pub fn manifest(&self) -> serde_json::Value {
        let mut files = serde_json::Map::new();
        for (name, bytes, hash) in &self.manifest {
            files.insert(
                name.clone(),
                serde_json::json!({ "bytes": bytes, "fnv1a64": format!("{hash:016x}") }),
            );
        }
        serde_json::Value::Object(files)
    }

    /// Stage the array `a` (a `(levels, n_space)` field, or a field on the grid alone) as
    /// `.npy` with the given shape (the product of `shape` must be `a.len()`; the data are
    /// C-ordered as they are).
    pub fn npy_shaped<D: ndarray::Dimension>(
        &mut self,
        name: &str,
        a: &ndarray::Array<f64, D>,
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

    /// Replace the result set in the directory by the staged files, as one (see the module
    /// docs): under the directory's exclusive lock, a journal of the renames is written first,
    /// so that a commit cut short (a `kill -9`) is completed by the next reader or writer.
    pub fn commit(mut self) -> Result<Vec<PathBuf>, CliError> {
        self.check_cancel()?;
        let _lock = lock_dir(&self.dir, true).map_err(|source| CliError::Write {
            path: self.dir.clone(),
            source,
        })?;
        // An earlier commit cut short is completed first; then dead runs' temporaries go.
        roll_forward(&self.dir).map_err(|source| CliError::Write {
            path: self.dir.join(JOURNAL),
            source,
        })?;
        remove_stale_temporaries(&self.dir);
        let files = std::mem::take(&mut self.files);
        let journal: String = files
            .iter()
            .map(|(tmp, dest)| format!("{}\t{}\n", file_name(tmp), file_name(dest)))
            .collect();
        // Written whole under a temporary name, then renamed: a journal is complete or absent.
        let journal_path = self.dir.join(JOURNAL);
        let journal_tmp = self
            .dir
            .join(format!("{JOURNAL}.{}.tmp", std::process::id()));
        let written = (|| {
            let mut f = File::create(&journal_tmp)?;
            f.write_all(journal.as_bytes())?;
            f.sync_all()?;
            fs::rename(&journal_tmp, &journal_path)
        })();
        if let Err(source) = written {
            self.files = files; // Drop removes the temporaries
            let _ = fs::remove_file(&journal_tmp);
            return Err(CliError::Write {
                path: journal_path,
                source,
            });
        }
        // From here the journal owns the temporaries: any failure is rolled forward later.
        roll_forward(&self.dir).map_err(|source| CliError::Write {
            path: self.dir.clone(),
            source,
        })?;
        Ok(files.into_iter().map(|(_, dest)| dest).collect())
    }
}

/// The journal of a commit: one `temporary<TAB>destination` line per file, summary.json last.
const JOURNAL: &str = ".mfg-commit";

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Complete the commit described by `dir`'s journal, if any: remove summary.json while the new
/// one is still a temporary, rename every temporary that still exists into place (a rename
/// already done left none), remove result files the new set lacks, rename summary.json last,
/// and remove the journal. Idempotent: a roll-forward cut short is completed by the next one.
/// Call with the directory's exclusive lock held.
fn roll_forward(dir: &Path) -> std::io::Result<()> {
    let journal = dir.join(JOURNAL);
    let text = match fs::read_to_string(&journal) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    let pairs: Vec<(PathBuf, PathBuf)> = text
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(t, d)| (dir.join(t), dir.join(d)))
        .collect();
    let summary = dir.join("summary.json");
    let new_summary = pairs.iter().find(|(_, d)| d == &summary);
    if new_summary.is_some_and(|(t, _)| t.exists()) && summary.exists() {
        fs::remove_file(&summary)?;
    }
    for (tmp, dest) in pairs.iter().filter(|(_, d)| d != &summary) {
        if tmp.exists() {
            fs::rename(tmp, dest)?;
        }
    }
    for name in RESULT_FILES {
        let path = dir.join(name);
        if !pairs.iter().any(|(_, d)| d == &path) && path.exists() {
            fs::remove_file(&path)?;
        }
    }
    if let Some((tmp, dest)) = new_summary {
        if tmp.exists() {
            fs::rename(tmp, dest)?;
        }
    }
    fs::remove_file(&journal)
}

impl Drop for Staged {
    fn drop(&mut self) {
        // Staged but never committed (an error came first): remove the temporary files.
        for (tmp, _) in &self.files {
            let _ = fs::remove_file(tmp);
        }
    }
}

/// Check, before any solve, that files can be created in `dir`, or, when it does not exist
/// yet, in its nearest existing ancestor (where it will be created): nothing is created here,
/// so a failed run leaves no directory, and concurrent runs cannot remove each other's.
pub fn check_writable(dir: &Path) -> Result<(), CliError> {
    let bad = |e: std::io::Error| CliError::Config {
        key: "--out".into(),
        message: format!(
            "cannot write to {}: {e}; choose a writable directory with --out DIR",
            dir.display()
        ),
    };
    let mut probe_dir = dir;
    while !probe_dir.exists() {
        match probe_dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => probe_dir = p,
            _ => {
                probe_dir = Path::new(".");
                break;
            }
        }
    }
    if !probe_dir.is_dir() {
        return Err(bad(std::io::Error::other(format!(
            "{} is not a directory",
            probe_dir.display()
        ))));
    }
    let probe = probe_dir.join(format!(".mfg-write-check.{}.tmp", std::process::id()));
    File::create(&probe).map_err(bad)?;
    fs::remove_file(&probe).map_err(bad)
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
    let (mut count, mut nonzero): (u128, u128) = (1, 1);
    for dim in shape.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let n: u128 = dim
            .parse()
            .map_err(|_| bad("the .npy shape is not a list of sizes"))?;
        count = count.saturating_mul(n);
        nonzero = nonzero.saturating_mul(n.max(1));
    }
    // Even an empty array's shape must be representable (ndarray checks the product of the
    // non-zero sizes against isize::MAX, and ndarray-npy unwraps that check).
    if nonzero > (isize::MAX as u128) / 8 {
        return Err(bad("the .npy shape is too large to represent"));
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

/// A result directory opened for reading: a shared lock on it (no commit runs meanwhile) and
/// the manifest of `summary.json`, against which every file read is checked.
#[derive(Debug)]
pub struct ResultSet {
    dir: PathBuf,
    manifest: Option<serde_json::Map<String, serde_json::Value>>,
    _lock: Option<File>,
}

impl ResultSet {
    /// Open `dir` for reading.
    pub fn open(dir: &Path) -> Result<Self, String> {
        if !dir.is_dir() {
            return Err(format!(
                "{} is not a directory (no summary.json there)",
                dir.display()
            ));
        }
        // A commit cut short is completed first (under the exclusive lock).
        if dir.join(JOURNAL).exists() {
            let _exclusive = lock_dir(dir, true).map_err(|e| format!("{}: {e}", dir.display()))?;
            roll_forward(dir).map_err(|e| {
                format!(
                    "{}: cannot complete an interrupted commit ({e})",
                    dir.display()
                )
            })?;
        }
        // Read-only directories (no lock file can be made) are read without a lock.
        let lock = lock_dir(dir, false).ok();
        let summary = dir.join("summary.json");
        let text = fs::read_to_string(&summary).map_err(|e| {
            format!(
                "cannot read {} ({e}): not a result directory, or a run was killed while it \
                 replaced the results (run it again)",
                summary.display()
            )
        })?;
        let json: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", summary.display()))?;
        Ok(Self {
            dir: dir.to_owned(),
            manifest: json.get("files").and_then(|f| f.as_object()).cloned(),
            _lock: lock,
        })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file `name` of the set: its path once its size and hash match the manifest.
    fn checked(&self, name: &str) -> Result<PathBuf, String> {
        let path = self.dir.join(name);
        let Some(manifest) = &self.manifest else {
            return Ok(path); // written before the manifest existed: nothing to check
        };
        let entry = manifest
            .get(name)
            .ok_or_else(|| format!("{name} is not part of the result in {}", self.dir.display()))?;
        let (bytes, hash) = file_digest(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let want = (
            entry["bytes"].as_u64(),
            entry["fnv1a64"].as_str().map(str::to_owned),
        );
        if want != (Some(bytes), Some(format!("{hash:016x}"))) {
            return Err(format!(
                "{} does not match summary.json: the directory holds files of two runs (a run \
                 was killed while it replaced them); run it again",
                path.display()
            ));
        }
        Ok(path)
    }

    /// The format of the arrays: the name `NAME.npy` or `NAME.csv` present in the set.
    fn pick(&self, name: &str) -> Result<PathBuf, String> {
        let npy = format!("{name}.npy");
        let csv = format!("{name}.csv");
        let in_set = |f: &str| match &self.manifest {
            Some(m) => m.contains_key(f),
            None => self.dir.join(f).exists(),
        };
        if in_set(&npy) {
            self.checked(&npy)
        } else if in_set(&csv) {
            self.checked(&csv)
        } else {
            Err(format!("no {npy} or {csv} in {}", self.dir.display()))
        }
    }

    /// `NAME` as a 2D array (see [`read_2d`]).
    pub fn read_2d(&self, name: &str) -> Result<Array2<f64>, String> {
        read_2d_file(&self.pick(name)?)
    }

    /// `NAME` as a 1D array (see [`read_1d`]).
    pub fn read_1d(&self, name: &str) -> Result<Array1<f64>, String> {
        read_1d_file(&self.pick(name)?)
    }
}

/// The points per axis of the grid a result in `dir` was solved on (from its summary.json),
/// when it says.
pub fn result_shape(dir: &Path) -> Option<Vec<usize>> {
    let text = fs::read_to_string(dir.join("summary.json")).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    let grid = json.get("grid")?;
    let dim = grid.get("dim")?.as_u64()? as usize;
    ["nx_pts", "ny_pts", "nz_pts"][..dim.min(3)]
        .iter()
        .map(|k| grid.get(*k).and_then(|v| v.as_u64()).map(|v| v as usize))
        .collect()
}

/// Read `NAME.npy` or `NAME.csv` from the result in `dir` as a 2D array: `(levels, points)`,
/// the space axes of an `.npy` flattened in C order.
pub fn read_2d(dir: &Path, name: &str) -> Result<Array2<f64>, String> {
    ResultSet::open(dir)?.read_2d(name)
}

/// Read `NAME.npy` or `NAME.csv` from the result in `dir` as a 1D array.
pub fn read_1d(dir: &Path, name: &str) -> Result<Array1<f64>, String> {
    ResultSet::open(dir)?.read_1d(name)
}

fn read_2d_file(path: &Path) -> Result<Array2<f64>, String> {
    if path.extension().is_some_and(|e| e == "npy") {
        check_npy_size(path)?;
        let a: ndarray::ArrayD<f64> =
            read_npy(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let levels = a.shape().first().copied().unwrap_or(0);
        let points = a.len().checked_div(levels).unwrap_or(0);
        return a
            .into_shape_with_order((levels, points))
            .map_err(|e| format!("{}: {e}", path.display()));
    }
    let text = fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let rows = parse_csv(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let cols = rows.first().map_or(0, Vec::len);
    if rows.iter().any(|r| r.len() != cols) {
        return Err(format!("{}: rows of different lengths", path.display()));
    }
    Array2::from_shape_vec((rows.len(), cols), rows.concat()).map_err(|e| e.to_string())
}

fn read_1d_file(path: &Path) -> Result<Array1<f64>, String> {
    if path.extension().is_some_and(|e| e == "npy") {
        check_npy_size(path)?;
        return read_npy(path).map_err(|e| format!("{}: {e}", path.display()));
    }
    let text = fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let rows = parse_csv(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(Array1::from(rows.concat()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage(dir: &Path, tag: &str) -> Staged {
        let mut st = Staged::new(dir).unwrap();
        st.text("u.csv", &format!("{tag}u\n")).unwrap();
        st.text("m.csv", &format!("{tag}m\n")).unwrap();
        st.text("config.toml", tag).unwrap();
        let summary = serde_json::json!({ "tag": tag, "files": st.manifest() });
        st.text("summary.json", &summary.to_string()).unwrap();
        st
    }

    #[test]
    fn a_commit_cut_short_is_completed_by_the_next_reader() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        stage(dir, "a").commit().unwrap();
        // Set b: its journal written and one rename done, then the process "dies" (no Drop).
        let mut b = stage(dir, "b");
        let files = std::mem::take(&mut b.files);
        let journal: String = files
            .iter()
            .map(|(t, d)| format!("{}\t{}\n", file_name(t), file_name(d)))
            .collect();
        fs::write(dir.join(JOURNAL), journal).unwrap();
        fs::remove_file(dir.join("summary.json")).unwrap();
        fs::rename(&files[0].0, &files[0].1).unwrap();
        std::mem::forget(b);
        // The next reader completes it: the whole of b, no journal, no temporaries.
        let set = ResultSet::open(dir).unwrap();
        assert_eq!(fs::read_to_string(dir.join("u.csv")).unwrap(), "bu\n");
        assert_eq!(fs::read_to_string(dir.join("m.csv")).unwrap(), "bm\n");
        assert!(fs::read_to_string(dir.join("summary.json"))
            .unwrap()
            .contains("\"b\""));
        assert!(set.checked("m.csv").is_ok());
        assert!(!dir.join(JOURNAL).exists());
        let left: Vec<_> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.ends_with(".tmp"))
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }
}
