//! Middleware: wrappers that take an app and are themselves an app.
