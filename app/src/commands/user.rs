//! `quire user …` and `quire keys rotate`: accounts and session keys from the command line, for the
//! first admin account and for whoever runs the server.

use std::io::{BufRead, IsTerminal};

use anyhow::{bail, Context};
use storage::{NewApiToken, NewUser, PasswordState, Role, Storage, TokenScope, UserError};

use super::{KeysPlace, Setup, SESSION_KEYS_SECRET};
use crate::cli::{KeysCommand, UserCommand};

/// Runs one `quire user` command.
pub fn run(setup: &Setup, command: &UserCommand) -> anyhow::Result<()> {
    let storage = setup.storage()?;
    match command {
        UserCommand::Add {
            name,
            admin,
            email,
            display_name,
            password_stdin,
        } => {
            let password = read_password(*password_stdin, name)?;
            let role = if *admin { Role::Admin } else { Role::User };
            let policy = setup.settings.acl_policy();
            let user = storage
                .create_user(&NewUser {
                    name,
                    display_name: display_name.as_deref(),
                    email: email.as_deref().unwrap_or(""),
                    role,
                    password: &password,
                    invite: None,
                    reserved: &policy.reserved_names(),
                })
                .map_err(explain)?;
            println!("Created {} account {}.", role.as_str(), user.name);
        }
        UserCommand::Passwd {
            name,
            password_stdin,
        } => {
            let user = existing(&storage, name)?;
            let password = read_password(*password_stdin, &user.name)?;
            storage
                .set_password(&user.name, &password)
                .map_err(explain)?;
            println!("Changed the password of {}.", user.name);
        }
        UserCommand::Role { name, role } => {
            let role = Role::parse(role).context("the role must be admin or user")?;
            let user = existing(&storage, name)?;
            storage.set_role(&user.name, role).map_err(explain)?;
            println!("{} is now {}.", user.name, article(role));
        }
        UserCommand::List => list(&storage)?,
        UserCommand::Disable { name } => {
            let user = existing(&storage, name)?;
            storage.set_disabled(&user.name, true).map_err(explain)?;
            println!(
                "Disabled {}: it cannot log in, and its sessions end.",
                user.name
            );
        }
        UserCommand::Enable { name } => {
            let user = existing(&storage, name)?;
            storage.set_disabled(&user.name, false).map_err(explain)?;
            println!("Enabled {}.", user.name);
        }
        UserCommand::Token {
            name,
            read_only,
            expires,
            label,
        } => {
            let user = existing(&storage, name)?;
            let scope = if *read_only {
                TokenScope::Read
            } else {
                TokenScope::Write
            };
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |elapsed| {
                    i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX)
                });
            let made = storage
                .create_api_token(&NewApiToken {
                    user: &user.name,
                    label,
                    scope,
                    expires: expires.map(|days| now + i64::from(days) * 24 * 3600),
                })
                .context("could not make the token")?;
            println!("{}", made.secret);
            let lasts = match expires {
                Some(days) => format!("for {days} day(s)"),
                None => "until it is revoked".to_owned(),
            };
            eprintln!(
                "A token that may {} as {}, {lasts}. It is shown only now; revoke it on /+prefs.",
                match scope {
                    TokenScope::Read => "read",
                    TokenScope::Write => "read and write",
                },
                user.name
            );
        }
        UserCommand::Invite { days } => {
            let invite = storage
                .create_invite("quire user invite", i64::from(*days) * 24 * 3600)
                .context("could not store the invitation")?;
            println!("{}", invite.code);
            eprintln!(
                "Valid for {days} day(s); enter it on the registration page (registration = \"invite\" in quire.toml)."
            );
        }
    }
    Ok(())
}

/// Runs one `quire keys` command.
pub fn keys(setup: &Setup, command: &KeysCommand) -> anyhow::Result<()> {
    match command {
        KeysCommand::Rotate => match KeysPlace::of(&setup.settings, &setup.data)? {
            KeysPlace::Database => {
                let storage = setup.storage()?;
                let mut keys = (*setup.session_keys).clone();
                keys.rotate().context("could not make a new session key")?;
                storage
                    .set_shared_secret(SESSION_KEYS_SECRET, &keys.to_file_text())
                    .context("could not store the new session keys in the database")?;
                println!(
                    "Made a new session key in the database, for every node. Cookies sealed with \
                     the previous key still work; rotate again to end every session. Restart \
                     every node to use it."
                );
            }
            KeysPlace::File(path) => {
                let mut keys =
                    gateway::session::SessionKeys::load_or_create(&path).with_context(|| {
                        format!("could not read the session keys in {}", path.display())
                    })?;
                keys.rotate().context("could not make a new session key")?;
                keys.save(&path)
                    .with_context(|| format!("could not write {}", path.display()))?;
                println!(
                    "Made a new session key in {}. Cookies sealed with the previous key still work; \
                     rotate again to end every session. Restart long-running servers to use it.",
                    path.display()
                );
            }
        },
    }
    Ok(())
}

fn existing(storage: &Storage, name: &str) -> anyhow::Result<storage::User> {
    storage
        .user(name)
        .context("could not read the accounts")?
        .with_context(|| {
            format!("there is no account called {name:?}; `quire user list` shows them all")
        })
}

fn list(storage: &Storage) -> anyhow::Result<()> {
    let users = storage
        .users_with_password_state()
        .context("could not read the accounts")?;
    if users.is_empty() {
        println!("No accounts yet. Create one with: quire user add NAME --admin");
        return Ok(());
    }
    let width = users
        .iter()
        .map(|(u, _)| u.name.chars().count())
        .max()
        .unwrap_or(4)
        .max(4);
    println!("{:width$}  ROLE   STATE        CREATED     EMAIL", "NAME");
    let mut passwordless = false;
    for (user, password) in users {
        let created = time::OffsetDateTime::from_unix_timestamp(user.created)
            .map(|t| t.date().to_string())
            .unwrap_or_default();
        // Disabled first: such an account logs in with no password anyway.
        let state = match (user.disabled, password) {
            (true, _) => "disabled",
            (false, PasswordState::Set) => "active",
            (false, PasswordState::Legacy) => "moin hash",
            (false, PasswordState::None) => {
                passwordless = true;
                "no password"
            }
        };
        println!(
            "{:width$}  {:5}  {:11}  {:10}  {}",
            user.name,
            user.role.as_str(),
            state,
            created,
            user.email
        );
    }
    if passwordless {
        eprintln!(
            "Accounts with no password were imported without a hash quire can check: \
             set one with `quire user passwd NAME`. A moin hash works, and becomes argon2id at its first login."
        );
    }
    Ok(())
}

fn article(role: Role) -> &'static str {
    match role {
        Role::Admin => "an admin",
        Role::User => "an ordinary user",
    }
}

/// Account errors are the user's to fix: their message is the whole story.
fn explain(err: UserError) -> anyhow::Error {
    match err {
        UserError::Storage(err) => anyhow::Error::new(err).context("the database failed"),
        other => anyhow::anyhow!("{other}"),
    }
}

/// The password: the first line of standard input with `--password-stdin`, else a prompt on the
/// terminal, asked twice. Never an argument (visible in `ps` and shell history).
fn read_password(from_stdin: bool, name: &str) -> anyhow::Result<String> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("could not read the password from standard input")?;
        let password = line.strip_suffix('\n').unwrap_or(&line);
        let password = password.strip_suffix('\r').unwrap_or(password);
        if password.is_empty() {
            bail!("standard input held no password (its first line is read)");
        }
        return Ok(password.to_owned());
    }
    if !std::io::stdin().is_terminal() {
        bail!("no terminal to ask for a password on; pass --password-stdin and send it on standard input");
    }
    let first = rpassword::prompt_password(format!("Password for {name}: "))
        .context("could not read the password")?;
    storage::users::check_password(&first).map_err(explain)?;
    let second =
        rpassword::prompt_password("Once more: ").context("could not read the password")?;
    if first != second {
        bail!("the two passwords differ; nothing was changed");
    }
    Ok(first)
}
