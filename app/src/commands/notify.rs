//! `quire notify`: one round of the mail queue, for a wiki no long-running server drains (CGI
//! from cron).

use anyhow::Context;

use super::Setup;
use crate::notifier::{self, Wake};
use crate::wiki::Lifetime;

/// Queues the mail new changes owe, sends what is due, prints what it did on stdout, and fails
/// (exit status 1) when mail is off or some mail could not be sent (it is tried again later).
pub fn run(setup: &Setup) -> anyhow::Result<()> {
    let mailer = setup.mailer()?.context(
        "mail is off: add a [mail] table with host and from to quire.toml (see docs/deploy.md, \"Mail\")",
    )?;
    let wiki = setup.wiki(Lifetime::OneRequest, false, Wake::none())?;
    let round = notifier::run_once(&wiki, &mailer)?;
    println!(
        "mail: {} queued, {} sent, {} to try again, {} given up, {} dropped (no longer readable), {} left for the next run (the mail server was slow)",
        round.queued, round.sent, round.failed, round.gave_up, round.dropped, round.left
    );
    if round.failed + round.gave_up > 0 {
        anyhow::bail!(
            "{} mail(s) could not be sent (the log says why); those not given up are tried again by the next run",
            round.failed + round.gave_up
        );
    }
    Ok(())
}
