-- A database as schema version 1 wrote it (before the link graph, compact history and blame):
-- pages and plain revisions. Tests add their rows and open it to see it migrated.
CREATE TABLE pages (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, current_rev INTEGER NOT NULL);
CREATE TABLE revisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    page_id INTEGER NOT NULL REFERENCES pages (id), rev INTEGER NOT NULL,
    author TEXT NOT NULL, time INTEGER NOT NULL, comment TEXT NOT NULL,
    size INTEGER NOT NULL, size_delta INTEGER NOT NULL,
    format TEXT NOT NULL DEFAULT 'plain', body TEXT NOT NULL, UNIQUE (page_id, rev));
CREATE INDEX revisions_recent ON revisions (time DESC, id DESC);
PRAGMA application_id = 1903520114;
PRAGMA user_version = 1;
