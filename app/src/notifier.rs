//! Draining the mail queue: a worker thread in the long-running servers, and `quire notify` for
//! the rest.
//!
//! - `serve`, `fastcgi`, `scgi` (and `quire` started by a web server with a socket): when
//!   `[mail]` names a host, [`start`] runs one worker thread. Every change this process makes
//!   wakes it through [`Wake::changed`] (the change never waits for mail); it also looks every
//!   [`POLL`] for changes other processes made (a CGI request, another server on the same data
//!   directory), and wakes for the next retry or digest that falls due. Each round queues what the
//!   new revisions owe and sends what is due (`Wiki::send_mail`).
//! - CGI: a process answers one request and must not leave a thread behind, so it sends nothing.
//!   Its changes are in the revision log, and the next round of any worker on the data directory
//!   mails them; a wiki served by CGI alone runs `quire notify` from cron, which does one round and
//!   exits (`run_once`).
//!
//! Several workers on one data directory do not send a mail twice: rows are claimed in a write
//! transaction (`storage::Storage::due_mail`).

use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

use crate::mail::Mailer;
use crate::wiki::watching::letters::MailRound;
use crate::wiki::Wiki;

/// How often the worker looks for changes other processes made.
pub const POLL: Duration = Duration::from_secs(2);
/// The longest wait after a round that failed as a whole (the database unwritable, say).
const MAX_FAILURE_WAIT: Duration = Duration::from_secs(60);

/// What wakes the worker, or nothing (CGI, and servers without mail).
#[derive(Debug, Clone, Default)]
pub struct Wake(Option<Arc<Signal>>);

#[derive(Debug, Default)]
struct Signal {
    woken: Mutex<bool>,
    ready: Condvar,
}

impl Wake {
    /// A handle that wakes nothing.
    pub fn none() -> Wake {
        Wake(None)
    }

    /// A handle for a worker to wait on.
    pub fn signal() -> Wake {
        Wake(Some(Arc::default()))
    }

    /// Tells the worker that a page changed; returns at once.
    pub fn changed(&self) {
        if let Some(signal) = &self.0 {
            *signal.woken.lock().unwrap_or_else(PoisonError::into_inner) = true;
            signal.ready.notify_one();
        }
    }

    /// Waits until woken or `timeout` passes.
    fn wait(&self, timeout: Duration) {
        let Some(signal) = &self.0 else {
            std::thread::sleep(timeout);
            return;
        };
        let woken = signal.woken.lock().unwrap_or_else(PoisonError::into_inner);
        let (mut woken, _) = signal
            .ready
            .wait_timeout_while(woken, timeout, |woken| !*woken)
            .unwrap_or_else(PoisonError::into_inner);
        *woken = false;
    }
}

/// Starts the worker that sends `wiki`'s mail through `mailer`, woken by `wake` (the handle the
/// wiki was built with). It holds the wiki only while it sends, and ends once the wiki is gone:
/// a wiki taken down (a test's, say) leaves no thread holding its database connections.
pub fn start(wiki: Arc<Wiki>, mailer: Mailer, wake: Wake) -> std::io::Result<()> {
    let wiki = Arc::downgrade(&wiki);
    std::thread::Builder::new()
        .name("quire-mail".to_owned())
        .spawn(move || {
            let mut failures: u32 = 0;
            loop {
                let Some(wiki) = wiki.upgrade() else {
                    return;
                };
                let wait = match round(&wiki, &mailer) {
                    Ok(_) => {
                        failures = 0;
                        until_next(&wiki)
                    }
                    Err(err) => {
                        failures = failures.saturating_add(1);
                        tracing::warn!(error = %err, "could not send the mail queue; trying again later");
                        POLL.saturating_mul(1 << failures.min(5))
                            .min(MAX_FAILURE_WAIT)
                    }
                };
                drop(wiki);
                wake.wait(wait);
            }
        })
        .map(drop)
}

/// One round: queue, write and send.
fn round(wiki: &Wiki, mailer: &Mailer) -> Result<MailRound, crate::wiki::WikiError> {
    wiki.send_mail(unix_now(), &mut |mail| mailer.send(mail))
}

/// How long to sleep: until the next row falls due, or [`POLL`] at most.
fn until_next(wiki: &Wiki) -> Duration {
    match wiki.next_mail_due() {
        Ok(Some(due)) => {
            let secs = u64::try_from(due.saturating_sub(unix_now())).unwrap_or(0);
            Duration::from_secs(secs).min(POLL)
        }
        Ok(None) | Err(_) => POLL,
    }
}

/// `quire notify`: one round, with what it did; the caller prints it.
pub fn run_once(wiki: &Wiki, mailer: &Mailer) -> anyhow::Result<MailRound> {
    round(wiki, mailer).map_err(|err| anyhow::anyhow!(err).context("while sending the mail queue"))
}

/// Now, in unix seconds.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX)
        })
}
