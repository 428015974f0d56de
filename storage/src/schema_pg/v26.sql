-- Version 26 (SQLite: migration 26 in crate::schema): secrets every node of one wiki shares.
CREATE TABLE secrets (
    name  TEXT COLLATE "C" PRIMARY KEY,
    value TEXT COLLATE "C" NOT NULL
);
