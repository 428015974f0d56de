//! Git repositories, read and written: `quire import markdown` reads one with `git log` and
//! `git cat-file --batch`, and `quire export git` writes its objects itself ([`history`], into one
//! pack: [`pack`]) and has git set the branch and check it out.
//!
//! Why the command line and not a library (gix) for reading: `git log -M` is the rename detection
//! every forge shows, and git is on every machine that cloned quire. Each job is one long-running
//! process fed through a pipe, never one process per revision. Why the objects are written here and
//! not by `git fast-import`: see [`pack`]. A machine without git gets an error that says to install
//! it ([`GitError::Missing`]).

pub mod history;
pub mod pack;

use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use thiserror::Error;

/// What went wrong running git.
#[derive(Debug, Error)]
pub enum GitError {
    /// No `git` program on `PATH`.
    #[error(
        "the git command was not found: quire reads and writes git repositories with the git \
         command line; install git (apt install git, dnf install git, brew install git) and make \
         sure it is on PATH"
    )]
    Missing,
    /// git could not be started, or its pipes failed.
    #[error("could not run git {what}: {source}")]
    Io {
        /// The git command.
        what: String,
        /// The error.
        source: io::Error,
    },
    /// git ran and failed.
    #[error("git {what} failed: {stderr}")]
    Failed {
        /// The git command.
        what: String,
        /// What git said.
        stderr: String,
    },
    /// git said something this module does not understand.
    #[error("git {what} answered something unexpected: {detail}")]
    Unexpected {
        /// The git command.
        what: String,
        /// What was wrong.
        detail: String,
    },
}

/// A `git` command in `dir`, with the environment that makes its output stable: no pager, no
/// prompts, no user or system configuration that changes formats (`core.quotepath`, colours).
fn command(dir: &Path, args: &[&str]) -> Command {
    let mut git = Command::new("git");
    git.arg("-C")
        .arg(dir)
        .args(["-c", "core.quotepath=false", "-c", "color.ui=never"])
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_PAGER", "cat")
        .env("LC_ALL", "C");
    git
}

fn what(args: &[&str]) -> String {
    args.first().copied().unwrap_or_default().to_owned()
}

fn spawn(mut git: Command, args: &[&str]) -> Result<Child, GitError> {
    git.spawn().map_err(|source| match source.kind() {
        io::ErrorKind::NotFound => GitError::Missing,
        _ => GitError::Io {
            what: what(args),
            source,
        },
    })
}

/// Starts `git ARGS` in `dir` with the pipes asked for (the others are not connected).
fn start(
    dir: &Path,
    args: &[&str],
    stdin: bool,
    stdout: bool,
    stderr: bool,
) -> Result<Child, GitError> {
    let pipe = |wanted: bool| {
        if wanted {
            Stdio::piped()
        } else {
            Stdio::null()
        }
    };
    let mut git = command(dir, args);
    git.stdin(pipe(stdin))
        .stdout(pipe(stdout))
        .stderr(pipe(stderr));
    spawn(git, args)
}

/// A pipe `start` was asked for.
fn pipe<T>(pipe: Option<T>, args: &[&str]) -> Result<T, GitError> {
    pipe.ok_or_else(|| unexpected(args, "a pipe is missing"))
}

/// Waits for a process started with a stderr pipe; an error with what it said if it failed.
fn wait(mut child: Child, what: &str) -> Result<(), GitError> {
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        let _ = pipe.read_to_string(&mut stderr);
    }
    let status = child.wait().map_err(|source| GitError::Io {
        what: what.to_owned(),
        source,
    })?;
    if !status.success() {
        return Err(GitError::Failed {
            what: what.to_owned(),
            stderr: stderr.trim().to_owned(),
        });
    }
    Ok(())
}

/// Runs `git ARGS` in `dir` to the end and returns its standard output.
pub fn output(dir: &Path, args: &[&str]) -> Result<Vec<u8>, GitError> {
    let child = start(dir, args, false, true, true)?;
    let done = child.wait_with_output().map_err(|source| GitError::Io {
        what: what(args),
        source,
    })?;
    if !done.status.success() {
        return Err(GitError::Failed {
            what: what(args),
            stderr: String::from_utf8_lossy(&done.stderr).trim().to_owned(),
        });
    }
    Ok(done.stdout)
}

/// Whether `dir` is the top of a git work tree (or a bare repository) that has at least one commit.
pub fn is_repository(dir: &Path) -> Result<bool, GitError> {
    if !dir.join(".git").exists() && !dir.join("HEAD").is_file() {
        return Ok(false);
    }
    match output(dir, &["rev-parse", "--verify", "--quiet", "HEAD"]) {
        Ok(_) => Ok(true),
        Err(GitError::Failed { .. }) => Ok(false),
        Err(err) => Err(err),
    }
}

/// A process whose standard output is read as a stream (`git log`), its errors kept for the end.
pub struct Reader {
    child: Child,
    what: String,
    /// Its standard output.
    pub stdout: BufReader<ChildStdout>,
}

impl Reader {
    /// Starts `git ARGS` in `dir`.
    pub fn start(dir: &Path, args: &[&str]) -> Result<Reader, GitError> {
        let mut child = start(dir, args, false, true, true)?;
        let stdout = pipe(child.stdout.take(), args)?;
        Ok(Reader {
            child,
            what: what(args),
            stdout: BufReader::with_capacity(1 << 16, stdout),
        })
    }

    /// Waits for the end; an error if git failed.
    pub fn finish(self) -> Result<(), GitError> {
        wait(self.child, &self.what)
    }
}

fn unexpected(args: &[&str], detail: &str) -> GitError {
    GitError::Unexpected {
        what: what(args),
        detail: detail.to_owned(),
    }
}

/// `git cat-file --batch`: any number of objects read through one process.
pub struct Objects {
    child: Child,
    stdin: BufWriter<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

impl Objects {
    /// Starts the process in the repository `dir`.
    pub fn start(dir: &Path) -> Result<Objects, GitError> {
        let args = ["cat-file", "--batch"];
        let mut child = start(dir, &args, true, true, false)?;
        let stdin = pipe(child.stdin.take(), &args)?;
        let stdout = pipe(child.stdout.take(), &args)?;
        Ok(Objects {
            child,
            stdin: BufWriter::new(stdin),
            stdout: BufReader::with_capacity(1 << 16, stdout),
        })
    }

    /// The bytes of object `id` (a full hex id), or `None` if the repository lacks it.
    pub fn read(&mut self, id: &str) -> Result<Option<Vec<u8>>, GitError> {
        let io = |source| GitError::Io {
            what: "cat-file".to_owned(),
            source,
        };
        writeln!(self.stdin, "{id}").map_err(io)?;
        self.stdin.flush().map_err(io)?;
        let mut header = String::new();
        self.stdout.read_line(&mut header).map_err(io)?;
        let header = header.trim_end();
        if header.ends_with(" missing") || header.is_empty() {
            return Ok(None);
        }
        let size = header
            .rsplit(' ')
            .next()
            .and_then(|size| size.parse::<usize>().ok())
            .ok_or_else(|| unexpected(&["cat-file"], header))?;
        let mut bytes = vec![0; size + 1];
        self.stdout.read_exact(&mut bytes).map_err(io)?;
        bytes.pop();
        Ok(Some(bytes))
    }
}

impl Drop for Objects {
    fn drop(&mut self) {
        // Closing stdin ends cat-file; wait so no zombie is left.
        let _ = self.stdin.flush();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
