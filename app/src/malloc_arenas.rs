//! A cap on glibc's malloc arenas for the long-running modes, set the one way glibc allows from
//! safe code: in the environment the process starts with.
//!
//! glibc gives each new thread an arena of its own, up to eight per core, and keeps what a thread
//! frees in that thread's arena instead of returning it to the system. A `quire serve` process has
//! about fifteen threads (the HTTP workers, the search indexer, tantivy's writer with its merge
//! threads), so after a burst of work it held 16 arenas with 35 MB from the system and 11 MB in use
//! (`malloc_stats()` read through gdb after the scale benchmark at 100 000 pages), and its RSS
//! swung between 57 and 76 MB from run to run. With one arena per core the same run ends at
//! 45–52 MB, at the same speed (BENCHMARKS.md, "Memory after the run").
//!
//! The cap is `mallopt(M_ARENA_MAX)`, which takes `unsafe` (forbidden in this workspace), or the
//! `MALLOC_ARENA_MAX` variable, which glibc reads once, at start. So a server process that starts
//! without it executes itself again, at once, with it set: same program, arguments, process id
//! and open descriptors (a listening socket on standard input stays), before any thread, file or
//! log exists. A value the operator set, in `MALLOC_ARENA_MAX` or `GLIBC_TUNABLES`, is left
//! alone, and so is every other command (CGI above all, which would pay the second start on every
//! request and frees everything at exit anyway). Where the executable cannot be found or started
//! again, the process goes on as it is: the cap saves memory, it is not needed to serve.

use std::ffi::OsStr;

/// The variable glibc reads the cap from.
pub const VARIABLE: &str = "MALLOC_ARENA_MAX";

/// Whether the environment already says how many arenas glibc may make: our own earlier start, or
/// the operator's choice.
pub fn already_set(arena_max: Option<&OsStr>, tunables: Option<&OsStr>) -> bool {
    arena_max.is_some()
        || tunables.is_some_and(|tunables| {
            tunables
                .to_string_lossy()
                .split(':')
                .any(|tunable| tunable.starts_with("glibc.malloc.arena_max="))
        })
}

/// The cap for a machine with `cores` cores: one arena per core, so each worker thread running at
/// once can still have one, and at least two.
pub fn arenas_for(cores: usize) -> usize {
    cores.max(2)
}

/// Starts this process again with the cap set, if glibc is the allocator and nothing set it yet.
/// Returns only if it did not (or could not) start again; then the process carries on uncapped.
pub fn cap_by_starting_again() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use std::os::unix::process::CommandExt;

        if already_set(
            std::env::var_os(VARIABLE).as_deref(),
            std::env::var_os("GLIBC_TUNABLES").as_deref(),
        ) {
            return;
        }
        let Ok(program) = std::env::current_exe() else {
            return;
        };
        let cores = std::thread::available_parallelism().map_or(2, |cores| cores.get());
        let mut args = std::env::args_os();
        let arg0 = args
            .next()
            .unwrap_or_else(|| program.clone().into_os_string());
        // `exec` returns only on failure (the binary replaced or gone, no /proc): go on uncapped.
        let _failed = std::process::Command::new(&program)
            .arg0(arg0)
            .args(args)
            .env(VARIABLE, arenas_for(cores).to_string())
            .exec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_operators_setting_is_left_alone() {
        assert!(!already_set(None, None));
        assert!(already_set(Some(OsStr::new("4")), None));
        assert!(already_set(
            None,
            Some(OsStr::new("glibc.malloc.check=0:glibc.malloc.arena_max=8"))
        ));
        assert!(!already_set(
            None,
            Some(OsStr::new(
                "glibc.malloc.arena_test=8:glibc.malloc.tcache_count=0"
            ))
        ));
    }

    #[test]
    fn one_arena_a_core_and_never_fewer_than_two() {
        assert_eq!(arenas_for(1), 2);
        assert_eq!(arenas_for(2), 2);
        assert_eq!(arenas_for(16), 16);
    }
}
