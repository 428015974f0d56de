//! Sending mail through an SMTP server: `[mail]` in `quire.toml` made into lettre's synchronous
//! SMTP transport, and one composed mail made into a `multipart/alternative` message (plain text
//! and HTML).
//!
//! What a mail says and to whom is the wiki's (`wiki::watching`); when it is sent and retried is
//! the notifier's (`crate::notifier`). This module only speaks SMTP. The transport opens a
//! connection per mail (no pool): mail goes out a few at a time, and a connection left open
//! would only be closed by the server meanwhile.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{Message, SmtpTransport, Transport};

use crate::config::{MailSettings, MailTls};

/// How long one SMTP exchange may take before the attempt counts as failed (and is retried).
const TIMEOUT: Duration = Duration::from_secs(30);

/// One mail, ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    /// The recipient's name, as their mail program shows it.
    pub to_name: String,
    /// The recipient's address.
    pub to_address: String,
    /// The subject line.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML body.
    pub html: String,
}

/// The SMTP server `[mail]` names, with the sender's address.
pub struct Mailer {
    transport: SmtpTransport,
    from: Mailbox,
}

impl Mailer {
    /// The mailer `settings` describe, or `None` when they name no host (mail is off). A
    /// relative `password_file` is read from `data_root`.
    pub fn new(settings: &MailSettings, data_root: &Path) -> anyhow::Result<Option<Mailer>> {
        let Some(host) = &settings.host else {
            return Ok(None);
        };
        let from = settings
            .from
            .as_deref()
            .context("[mail] in quire.toml sets host but not from")?;
        let from: Mailbox = from.parse().with_context(|| {
            format!("[mail] from = {from:?} in quire.toml is not a mail address")
        })?;
        let tls = match settings.tls {
            MailTls::None => Tls::None,
            MailTls::Starttls => Tls::Required(tls_parameters(host)?),
            MailTls::Tls => Tls::Wrapper(tls_parameters(host)?),
        };
        let mut builder = SmtpTransport::builder_dangerous(host.as_str())
            .port(settings.port)
            .tls(tls)
            .timeout(Some(TIMEOUT));
        if let Some(user) = &settings.user {
            let password = match &settings.password_file {
                Some(file) => read_password(&data_root.join(file))?,
                None => String::new(),
            };
            builder = builder.credentials(Credentials::new(user.clone(), password));
        }
        Ok(Some(Mailer {
            transport: builder.build(),
            from,
        }))
    }

    /// Sends `mail`; the error says why the server or the connection refused it, for the log and
    /// the queue's `last_error`.
    pub fn send(&self, mail: &Mail) -> Result<(), MailError> {
        let to = Mailbox::new(
            Some(mail.to_name.clone()),
            mail.to_address.parse().map_err(|err| {
                MailError(format!(
                    "{:?} is not a mail address: {err}",
                    mail.to_address
                ))
            })?,
        );
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&mail.subject)
            .multipart(MultiPart::alternative_plain_html(
                mail.text.clone(),
                mail.html.clone(),
            ))
            .map_err(|err| MailError(format!("the message could not be built: {err}")))?;
        self.transport
            .send(&message)
            .map(drop)
            .map_err(|err| MailError(err.to_string()))
    }
}

/// Why a mail was not sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct MailError(pub String);

fn tls_parameters(host: &str) -> anyhow::Result<TlsParameters> {
    TlsParameters::new(host.to_owned())
        .with_context(|| format!("could not set up TLS for the SMTP server {host}"))
}

/// The first line of the password file.
fn read_password(path: &Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path).with_context(|| {
        format!(
            "could not read the SMTP password from {} ([mail] password_file in quire.toml)",
            path.display()
        )
    })?;
    Ok(text.lines().next().unwrap_or_default().to_owned())
}
