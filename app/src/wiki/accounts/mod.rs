//! Accounts: logging in and out and registering (`login`), the reader's preferences
//! (`prefs`), and the admin page (`admin`).

pub(crate) mod admin;
pub(crate) mod login;
pub(crate) mod prefs;
