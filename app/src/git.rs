//! The git command line, the one place quire starts `git`: `quire export git` streams a whole
//! history into `git fast-import`, and `quire import markdown` reads one with `git log` and
//! `git cat-file --batch`.
//!
//! Why the command line and not a library (gix): `git fast-import` is git's own bulk path, one
//! process and one stream for any number of commits; `git log -M` is the rename detection every
//! forge shows; and git is on every machine that cloned quire. Each job is one long-running process
//! fed through a pipe, never one process per revision. A machine without git gets an error that
//! says to install it ([`GitError::Missing`]).

use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
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

/// A person and a time, as a commit names its author and committer.
#[derive(Debug, Clone)]
pub struct Signature<'a> {
    /// The name (`<`, `>` and line breaks are dropped: git allows none of them).
    pub name: &'a str,
    /// The e-mail address (likewise).
    pub email: &'a str,
    /// Unix seconds UTC.
    pub time: i64,
}

/// A change to a file in a [`FastImport::commit`].
#[derive(Debug, Clone)]
pub enum FileChange<'a> {
    /// The file at this path has the blob of this mark.
    Modify {
        /// `/`-separated path.
        path: &'a str,
        /// The mark of a blob written before.
        mark: u64,
    },
    /// The file at this path is removed.
    Delete {
        /// `/`-separated path.
        path: &'a str,
    },
    /// The file moves.
    Rename {
        /// From.
        from: &'a str,
        /// To.
        to: &'a str,
    },
}

/// `git fast-import` on a new repository: blobs and commits written as one stream onto one branch.
pub struct FastImport {
    child: Child,
    stdin: BufWriter<ChildStdin>,
    branch: String,
    dir: PathBuf,
}

impl FastImport {
    /// `git init` in `dir` (with `branch` as the initial branch), then starts `git fast-import`.
    pub fn start(dir: &Path, branch: &str) -> Result<FastImport, GitError> {
        output(dir, &["init", "--quiet", "--initial-branch", branch])?;
        let args = ["fast-import", "--quiet", "--done"];
        let mut child = start(dir, &args, true, false, true)?;
        let stdin = pipe(child.stdin.take(), &args)?;
        Ok(FastImport {
            child,
            stdin: BufWriter::with_capacity(1 << 16, stdin),
            branch: branch.to_owned(),
            dir: dir.to_owned(),
        })
    }

    fn io(&self) -> impl Fn(io::Error) -> GitError {
        |source| GitError::Io {
            what: "fast-import".to_owned(),
            source,
        }
    }

    /// Writes a blob with the bytes `content` read, under `mark` (1, 2, 3…; each once).
    pub fn blob(&mut self, mark: u64, content: &mut dyn Read, len: u64) -> Result<(), GitError> {
        let io = self.io();
        write!(self.stdin, "blob\nmark :{mark}\ndata {len}\n").map_err(&io)?;
        let copied = io::copy(&mut content.take(len), &mut self.stdin).map_err(&io)?;
        if copied != len {
            return Err(unexpected(
                &["fast-import"],
                "a blob was shorter than its length",
            ));
        }
        self.stdin.write_all(b"\n").map_err(&io)
    }

    /// Writes a commit on the branch, after the previous one.
    pub fn commit(
        &mut self,
        who: &Signature<'_>,
        message: &str,
        changes: &[FileChange<'_>],
    ) -> Result<(), GitError> {
        let io = self.io();
        let name = clean(who.name);
        let email = clean(who.email);
        let time = who.time;
        let out = &mut self.stdin;
        write!(
            out,
            "commit refs/heads/{}\nauthor {name} <{email}> {time} +0000\ncommitter {name} <{email}> {time} +0000\ndata {}\n{message}\n",
            self.branch,
            message.len()
        )
        .map_err(&io)?;
        for change in changes {
            match change {
                FileChange::Modify { path, mark } => {
                    writeln!(out, "M 100644 :{mark} {}", quote(path))
                }
                FileChange::Delete { path } => writeln!(out, "D {}", quote(path)),
                FileChange::Rename { from, to } => {
                    writeln!(out, "R {} {}", quote(from), quote(to))
                }
            }
            .map_err(&io)?;
        }
        out.write_all(b"\n").map_err(&io)
    }

    /// Ends the stream, waits for git, and checks out the branch into the work tree.
    pub fn finish(mut self) -> Result<(), GitError> {
        let io = self.io();
        self.stdin.write_all(b"done\n").map_err(&io)?;
        self.stdin.flush().map_err(&io)?;
        drop(self.stdin);
        wait(self.child, "fast-import")?;
        // An empty history has no branch to check out.
        if is_repository(&self.dir)? {
            output(&self.dir, &["reset", "--quiet", "--hard"])?;
        }
        Ok(())
    }
}

/// A name or address without the characters a commit header cannot hold.
fn clean(text: &str) -> String {
    text.chars()
        .filter(|c| !matches!(c, '<' | '>' | '\n' | '\r' | '\0'))
        .collect::<String>()
        .trim()
        .to_owned()
}

/// A path as fast-import takes it: always quoted, C-style, so spaces and any byte are safe.
fn quote(path: &str) -> String {
    let mut out = String::with_capacity(path.len() + 2);
    out.push('"');
    for c in path.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c.is_ascii_control() => out.push_str(&format!("\\{:03o}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_quoted_for_fast_import() {
        assert_eq!(quote("A/B c.md"), "\"A/B c.md\"");
        assert_eq!(quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(quote("é\u{1}"), "\"é\\001\"");
    }

    #[test]
    fn signatures_lose_what_git_refuses() {
        assert_eq!(clean(" a <b>\nc "), "a bc");
    }
}
